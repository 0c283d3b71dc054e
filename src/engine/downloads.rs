//! One download as the engine runs it: progress reported a few times a second, and the final
//! name written to the ledger (through the worker, which owns it) before the file takes it.

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

impl DownloadTask {
    /// Runs the download once a slot is free and reports its end as [`Internal::Downloaded`].
    pub(crate) fn spawn(self, slots: Arc<Semaphore>, tx: mpsc::UnboundedSender<Internal>) {
        tokio::spawn(async move {
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
            let _ = tx.send(Internal::Downloaded {
                local_id: self.local_id,
                index: self.index,
                result,
            });
        });
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
}

impl DownloadObserver for Observer {
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
