//! One download as the engine runs it: progress reported a few times a second, and the final
//! name written to the ledger (through the worker, which owns it) before the file takes it.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::Instant;

use super::job::LocalId;
use super::worker::Internal;
use crate::api::{Destination, DownloadObserver, DownloadProgress, ScenarioClient};

/// Download progress is reported at most this often per file.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// What one download needs to know.
pub(crate) struct DownloadTask {
    pub client: ScenarioClient,
    pub local_id: LocalId,
    pub index: usize,
    pub asset_id: String,
    pub dir: PathBuf,
    pub stem: String,
    pub recorded: Option<(PathBuf, u64)>,
}

/// The `.part` each download writes, by job and file, until its file is placed: what
/// forgetting the job removes.
pub(crate) type Parts = Arc<std::sync::Mutex<HashMap<(LocalId, usize), PathBuf>>>;

impl DownloadTask {
    /// The download, once a slot is free, ending in [`Internal::Downloaded`].
    pub(crate) async fn run(
        self,
        slots: Arc<Semaphore>,
        tx: mpsc::UnboundedSender<Internal>,
        parts: Parts,
    ) {
        let Ok(_permit) = slots.acquire_owned().await else {
            return;
        };
        let mut observer = Observer {
            tx: tx.clone(),
            local_id: self.local_id,
            index: self.index,
            started: Instant::now(),
            last: Instant::now() - PROGRESS_EVERY,
            first_bytes: None,
            parts: parts.clone(),
        };
        let to = Destination {
            dir: &self.dir,
            stem: &self.stem,
            recorded: self.recorded.as_ref().map(|(p, s)| (p.as_path(), *s)),
        };
        let result = self
            .client
            .download_asset(&self.asset_id, &to, &mut observer)
            .await;
        if result.is_ok() {
            parts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&(self.local_id, self.index));
        }
        let _ = tx.send(Internal::Downloaded {
            local_id: self.local_id,
            index: self.index,
            result,
        });
    }
}

/// Removes the `.part` files of job `id`'s downloads, once `stopped` (its aborted tasks) have
/// ended: nothing of a forgotten job's download is left behind.
pub(crate) async fn remove_parts(
    parts: Parts,
    id: LocalId,
    stopped: Vec<tokio::task::JoinHandle<()>>,
) {
    for handle in stopped {
        let _ = handle.await;
    }
    let paths: Vec<PathBuf> = {
        let mut parts = parts.lock().unwrap_or_else(|e| e.into_inner());
        let keys: Vec<_> = parts
            .keys()
            .filter(|(job, _)| *job == id)
            .copied()
            .collect();
        keys.into_iter().filter_map(|k| parts.remove(&k)).collect()
    };
    for path in paths {
        match tokio::fs::remove_file(&path).await {
            Ok(()) => tracing::info!("job {id} forgotten: removed {}", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("job {id} forgotten: cannot remove {}: {e}", path.display()),
        }
    }
}

struct Observer {
    tx: mpsc::UnboundedSender<Internal>,
    local_id: LocalId,
    index: usize,
    started: Instant,
    last: Instant,
    /// Where this attempt began, so the rate counts only bytes fetched now.
    first_bytes: Option<u64>,
    parts: Parts,
}

impl DownloadObserver for Observer {
    fn writing(&mut self, part: &Path) {
        self.parts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((self.local_id, self.index), part.to_path_buf());
    }

    fn progress(&mut self, p: DownloadProgress) {
        let base = *self.first_bytes.get_or_insert(p.bytes);
        let done = p.total.is_some_and(|t| p.bytes >= t);
        if self.last.elapsed() >= PROGRESS_EVERY || done {
            self.last = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(1e-3);
            let _ = self.tx.send(Internal::Progress {
                local_id: self.local_id,
                index: self.index,
                progress: p,
                rate: p.bytes.saturating_sub(base) as f64 / secs,
            });
        }
    }

    fn placing<'a>(
        &'a mut self,
        path: &'a Path,
        size: u64,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let (ack, done) = oneshot::channel();
            self.tx
                .send(Internal::Placing {
                    local_id: self.local_id,
                    index: self.index,
                    file: path.to_path_buf(),
                    size,
                    ack,
                })
                .map_err(|_| "the engine stopped".to_string())?;
            // A worker that stops meanwhile drops the ack: the part then waits for the next run.
            done.await
                .unwrap_or_else(|_| Err("the engine stopped".to_string()))
        })
    }
}
