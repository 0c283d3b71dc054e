//! Every background task the engine starts for a job, held by its handle: forgetting the job
//! aborts what is in flight for it, so a forgotten upload or download stops at once instead
//! of running to its end. A generate POST is never aborted: its answer, whatever it is, must
//! reach the ledger (a job may exist and cost).

use std::collections::HashMap;
use std::future::Future;

use tokio::task::JoinHandle;

use super::job::LocalId;

/// What a task does for its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Quote,
    Submit,
    Upload,
    Reconcile,
    Poll,
    Download,
}

impl Kind {
    /// Whether forgetting the job may stop it.
    fn abortable(self) -> bool {
        self != Kind::Submit
    }
}

/// The tasks in flight, by job.
#[derive(Default)]
pub(crate) struct Tasks {
    by_job: HashMap<LocalId, Vec<(Kind, JoinHandle<()>)>>,
}

impl Tasks {
    /// Runs `task` for job `id`, keeping its handle (and letting go of the finished ones).
    pub(crate) fn spawn<F>(&mut self, id: LocalId, kind: Kind, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(task);
        let held = self.by_job.entry(id).or_default();
        held.retain(|(_, h)| !h.is_finished());
        held.push((kind, handle));
    }

    /// Aborts every task of job `id` that may be stopped; the handles of those aborted, to
    /// wait on (an aborted task ends at its next await, not at once).
    pub(crate) fn abort_job(&mut self, id: LocalId) -> Vec<(Kind, JoinHandle<()>)> {
        let Some(held) = self.by_job.remove(&id) else {
            return Vec::new();
        };
        let (stop, keep): (Vec<_>, Vec<_>) = held
            .into_iter()
            .filter(|(_, h)| !h.is_finished())
            .partition(|(kind, _)| kind.abortable());
        if !keep.is_empty() {
            self.by_job.insert(id, keep);
        }
        for (_, handle) in &stop {
            handle.abort();
        }
        stop
    }

    /// How many tasks of `kind` are still running, over all jobs.
    #[cfg(test)]
    pub(crate) fn running(&self, kind: Kind) -> usize {
        self.by_job
            .values()
            .flatten()
            .filter(|(k, h)| *k == kind && !h.is_finished())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn forgetting_a_job_aborts_its_transfers_but_never_its_post() {
        let mut tasks = Tasks::default();
        let forever = || async { tokio::time::sleep(Duration::from_secs(3600)).await };
        tasks.spawn(1, Kind::Download, forever());
        tasks.spawn(1, Kind::Upload, forever());
        tasks.spawn(1, Kind::Submit, forever());
        tasks.spawn(2, Kind::Download, forever());
        let aborted = tasks.abort_job(1);
        let kinds: Vec<Kind> = aborted.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [Kind::Download, Kind::Upload]);
        for (_, handle) in aborted {
            assert!(handle.await.unwrap_err().is_cancelled());
        }
        assert_eq!(tasks.running(Kind::Submit), 1);
        assert_eq!(tasks.running(Kind::Download), 1, "another job's goes on");
        assert!(tasks.abort_job(3).is_empty());
    }
}
