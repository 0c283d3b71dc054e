//! `--demo`: an in-process simulator and a throw-away ledger, swept when a demo is killed.

use std::path::Path;

use super::CliError;
use super::{Session, tune};
use crate::api::{ClientOptions, Credentials, ScenarioClient, parse_api_url};
use crate::cli::Cli;
use crate::config::{self, Dirs};
use crate::sim::{self, SimConfig};

/// Jobs run this many times faster than real time in `--demo`: a two-minute job takes ~5 s.
const DEMO_TIME_SCALE: f64 = 24.0;
/// Jobs the demo's team made before, in the web app as it were.
const DEMO_TEAM_JOBS: usize = 12;

impl Session {
    pub(super) async fn demo(cli: &Cli) -> Result<Self, CliError> {
        let handle = sim::start(SimConfig {
            time_scale: DEMO_TIME_SCALE,
            // A fresh seed per run, so two demo sessions never show the same job ids.
            seed: rand::random(),
            // A team's earlier jobs, some with other models, for `jobs --remote` and import.
            seed_jobs: DEMO_TEAM_JOBS,
            seed_other_models: 0.25,
            ..SimConfig::default()
        })
        .await
        .map_err(|e| CliError::Local(format!("cannot start the demo simulator: {e}")))?;
        let mut options = ClientOptions::new(
            parse_api_url(&handle.api_url)?,
            Credentials::new(sim::DEMO_API_KEY, sim::DEMO_API_SECRET),
        );
        options.project_id = cli.connection.project_id.clone();
        // Preferences apply in the demo too, and the file is read as strictly as anywhere:
        // what the demo accepts, a real run accepts.
        let config = match Dirs::locate() {
            Ok(dirs) => config::load(&dirs.config_file)?,
            Err(_) => None,
        };
        tune(&mut options, config.as_ref(), cli);
        // The simulator lives only as long as this process, and so do its jobs.
        sweep_stale_demos(&std::env::temp_dir());
        let demo_dir = tempfile::Builder::new()
            .prefix("kling-tui-demo-")
            .tempdir()
            .map_err(|e| CliError::Local(format!("cannot make a demo ledger folder: {e}")))?;
        Ok(Self {
            client: ScenarioClient::new(options.clone())?,
            options,
            config,
            ledger_dir: demo_dir.path().to_path_buf(),
            engine_log: demo_dir.path().join("engine.log"),
            config_file: None,
            demo: true,
            requests_per_second: cli.connection.requests_per_second,
            give_up_after: cli.connection.give_up_after,
            _sim: Some(handle),
            _demo_dir: Some(demo_dir),
        })
    }
}

/// The prefix of a demo's throw-away folder in the temp folder.
const DEMO_DIR_PREFIX: &str = "kling-tui-demo-";

/// Removes the folders of demos that were killed (a `kill -9` skips their clean-up): this
/// user's, older than a minute, whose ledger no process holds. A running demo holds its
/// ledger's lock for as long as it runs, so it is never touched.
fn sweep_stale_demos(temp: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    let me = unsafe { libc::geteuid() };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(DEMO_DIR_PREFIX)
        {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(60));
        if !meta.is_dir() || meta.uid() != me || !old {
            continue;
        }
        let unheld = std::fs::File::open(path.join("ledger.lock"))
            .map(|lock| lock.try_lock().is_ok())
            // No lock at all: a demo killed before it made its ledger.
            .unwrap_or(true);
        if unheld && std::fs::remove_dir_all(&path).is_ok() {
            tracing::info!("removed a killed demo's folder {}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_killed_demos_folders_are_swept() {
        let root = tempfile::tempdir().unwrap();
        let make = |name: &str, lock: bool, age_secs: u64| {
            let dir = root.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("ledger.sqlite3"), b"x").unwrap();
            let held = lock.then(|| {
                let file = std::fs::File::create(dir.join("ledger.lock")).unwrap();
                file.lock().unwrap();
                file
            });
            let when = std::time::SystemTime::now() - std::time::Duration::from_secs(age_secs);
            std::fs::File::open(&dir)
                .unwrap()
                .set_modified(when)
                .unwrap();
            (dir, held)
        };
        let (killed, _) = make("kling-tui-demo-killed", false, 600);
        let (running, _held) = make("kling-tui-demo-running", true, 600);
        let (starting, _) = make("kling-tui-demo-starting", false, 0);
        let (other, _) = make("something-else", false, 600);
        sweep_stale_demos(root.path());
        assert!(!killed.exists(), "a killed demo's folder goes");
        assert!(running.exists() && starting.exists() && other.exists());
    }
}
