//! The runner's side of a cut: the sequence read, its clips checked, and ffmpeg run in a task
//! of its own while the app goes on; its news comes back to the loop. The app does no file
//! work itself.

use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::app::CutNews;
use crate::takes::Takes;

/// Cuts running, and the channel their news comes back on.
pub struct Cuts {
    tx: mpsc::UnboundedSender<CutNews>,
    pub news: mpsc::UnboundedReceiver<CutNews>,
    running: Vec<tokio::task::JoinHandle<()>>,
}

impl Cuts {
    pub fn new() -> Self {
        let (tx, news) = mpsc::unbounded_channel();
        Self {
            tx,
            news,
            running: Vec::new(),
        }
    }

    /// Starts the cut of `sequence` into `out`; what makes it impossible is told at once.
    pub fn start(&mut self, ledger_dir: &Path, sequence: String, out: PathBuf) {
        let clips = Takes::open(ledger_dir)
            .map_err(|e| e.to_string())
            .and_then(|takes| takes.sequence(&sequence).map_err(|e| e.to_string()))
            .and_then(|seq| crate::takes::film::clips(ledger_dir, &seq).map_err(|e| e.to_string()));
        let clips = match clips {
            Ok(clips) => clips,
            Err(why) => {
                let _ = self.tx.send(CutNews::Failed { sequence, why });
                return;
            }
        };
        let tx = self.tx.clone();
        self.running.retain(|task| !task.is_finished());
        self.running.push(tokio::spawn(async move {
            // A line of news per percent, not per line ffmpeg writes.
            let mut told = -1.0;
            let progress_tx = tx.clone();
            let name = sequence.clone();
            let mut on_progress = move |p: crate::cut::CutProgress| {
                let fraction = p.fraction();
                if fraction - told >= 0.01 {
                    told = fraction;
                    let _ = progress_tx.send(CutNews::Progress {
                        sequence: name.clone(),
                        fraction,
                    });
                }
            };
            let news = match crate::cut::cut(&clips, &out, &mut on_progress).await {
                Ok(outcome) => {
                    let how = match &outcome.why_reencoded {
                        None => "stream copy".to_string(),
                        Some(why) => format!("re-encoded: {why}"),
                    };
                    CutNews::Done {
                        sequence,
                        said: format!(
                            "{}  {:.1} s  {} chapters  {how}",
                            outcome.out.display(),
                            outcome.duration_s,
                            outcome.chapters
                        ),
                    }
                }
                Err(e) => CutNews::Failed {
                    sequence,
                    why: e.to_string(),
                },
            };
            let _ = tx.send(news);
        }));
    }
}

impl Drop for Cuts {
    /// Quitting stops a cut: ffmpeg is ended and its unfinished file removed (the cut's own
    /// drop does both).
    fn drop(&mut self) {
        for task in &self.running {
            task.abort();
        }
    }
}
