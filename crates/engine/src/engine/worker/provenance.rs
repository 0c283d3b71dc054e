//! The provenance file beside each saved video (`<video>.json`), written once the video is
//! placed and before it is told of, so whoever is told finds it there. A few milliseconds
//! of the engine's thread (a small file synced), once per video.

use super::Worker;
use crate::engine::LocalId;

impl Worker {
    pub(super) fn write_sidecars(&self, local_id: LocalId) {
        let Some(job) = self.ledger.job(local_id).cloned() else {
            return;
        };
        let dir = self.ledger.dir().to_path_buf();
        let config_file = self.config.config_file.clone();
        // Read each time: turning sidecars off in config.toml needs no restart.
        let config = config_file.and_then(|f| crate::config::load(&f).ok().flatten());
        if !crate::takes::sidecar::enabled(config.as_ref()) {
            return;
        }
        let written = crate::takes::Takes::open(&dir)
            .map_err(|e| e.to_string())
            .and_then(|takes| crate::takes::sidecar::write(&takes, &job));
        if let Err(e) = written {
            tracing::warn!(
                "job {local_id}: provenance not written: {}",
                crate::sanitize::sanitize(&e)
            );
        }
    }
}
