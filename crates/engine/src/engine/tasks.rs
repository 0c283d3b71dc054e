//! Every background task the engine starts, held by its handle under what it is for (a job, a
//! client's question, the engine itself): forgetting a job aborts what is in flight for it,
//! so a forgotten upload or download stops at once instead of running to its end; a client
//! that leaves stops its listing; a stop aborts everything. A generate POST or a cancel is
//! never aborted: its answer, whatever it is, must reach the ledger (a job may exist and
//! cost).

use std::collections::HashMap;
use std::future::Future;

use tokio::task::JoinHandle;

use super::job::LocalId;

/// What a task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Quote,
    Submit,
    Cancel,
    Upload,
    Reconcile,
    Poll,
    Download,
    /// A wait before a retry.
    Timer,
    /// A client's own questions: a price, a file to upload, the team's jobs, an import, a
    /// picture.
    Estimate,
    FileUpload,
    Listing,
    Import,
    Picture,
    /// The model's description and the team's limits.
    Model,
}

impl Kind {
    /// Whether it may be stopped before its end.
    fn abortable(self) -> bool {
        !matches!(self, Kind::Submit | Kind::Cancel)
    }
}

/// Whom a task works for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Owner {
    Job(LocalId),
    /// A client's question, by its number.
    Question(u64),
    Engine,
}

/// The tasks in flight, by owner.
#[derive(Default)]
pub(crate) struct Tasks {
    by_owner: HashMap<Owner, Vec<(Kind, JoinHandle<()>)>>,
}

impl Tasks {
    /// Runs `task` for job `id`, keeping its handle (and letting go of the finished ones).
    pub(crate) fn spawn<F>(&mut self, id: LocalId, kind: Kind, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn_for(Owner::Job(id), kind, task);
    }

    /// Runs `task` for `owner`, keeping its handle (and letting go of the finished ones).
    pub(crate) fn spawn_for<F>(&mut self, owner: Owner, kind: Kind, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(task);
        let held = self.by_owner.entry(owner).or_default();
        held.retain(|(_, h)| !h.is_finished());
        held.push((kind, handle));
        if held.len() == 1 && self.by_owner.len() > 64 {
            // Owners whose tasks all ended (a client's answered questions) go now and then.
            self.by_owner
                .retain(|_, held| held.iter().any(|(_, h)| !h.is_finished()));
        }
    }

    /// Aborts every task of job `id` that may be stopped; the handles of those aborted, to
    /// wait on (an aborted task ends at its next await, not at once).
    pub(crate) fn abort_job(&mut self, id: LocalId) -> Vec<(Kind, JoinHandle<()>)> {
        self.abort(Owner::Job(id))
    }

    /// Aborts what may be stopped of `owner`'s tasks; the handles of those aborted.
    pub(crate) fn abort(&mut self, owner: Owner) -> Vec<(Kind, JoinHandle<()>)> {
        let Some(held) = self.by_owner.remove(&owner) else {
            return Vec::new();
        };
        let (stop, keep): (Vec<_>, Vec<_>) = held
            .into_iter()
            .filter(|(_, h)| !h.is_finished())
            .partition(|(kind, _)| kind.abortable());
        if !keep.is_empty() {
            self.by_owner.insert(owner, keep);
        }
        for (_, handle) in &stop {
            handle.abort();
        }
        stop
    }

    /// Aborts everything that may be stopped, for a stop of the engine; how many were.
    pub(crate) fn abort_all(&mut self) -> usize {
        let owners: Vec<Owner> = self.by_owner.keys().copied().collect();
        owners.into_iter().map(|o| self.abort(o).len()).sum()
    }

    /// Whether a task of `kind` runs for `owner`.
    pub(crate) fn runs(&self, owner: Owner, kind: Kind) -> bool {
        self.by_owner
            .get(&owner)
            .is_some_and(|held| held.iter().any(|(k, h)| *k == kind && !h.is_finished()))
    }

    /// How many tasks of `kind` are still running, over all jobs.
    #[cfg(test)]
    pub(crate) fn running(&self, kind: Kind) -> usize {
        self.by_owner
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

    #[tokio::test]
    async fn a_question_is_stopped_alone_and_a_stop_ends_all_but_posts() {
        let mut tasks = Tasks::default();
        let forever = || async { tokio::time::sleep(Duration::from_secs(3600)).await };
        tasks.spawn_for(Owner::Question(7), Kind::Listing, forever());
        tasks.spawn_for(Owner::Question(8), Kind::Listing, forever());
        tasks.spawn_for(Owner::Engine, Kind::Model, forever());
        tasks.spawn(1, Kind::Submit, forever());
        tasks.spawn(1, Kind::Cancel, forever());
        assert_eq!(tasks.abort(Owner::Question(7)).len(), 1);
        assert!(!tasks.runs(Owner::Question(7), Kind::Listing));
        assert!(tasks.runs(Owner::Question(8), Kind::Listing));
        assert_eq!(tasks.abort_all(), 2, "the other listing and the model read");
        assert!(!tasks.runs(Owner::Engine, Kind::Model));
        assert_eq!(tasks.running(Kind::Submit), 1, "a POST runs to its answer");
        assert_eq!(tasks.running(Kind::Cancel), 1);
    }
}
