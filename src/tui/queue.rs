//! The job queue's state: every job the engine reported, the download progress it sent, the
//! filter, the sort order, and a selection that follows its job when rows move.

use std::collections::{BTreeMap, HashMap};

use crate::api::types::JobStatus;
use crate::engine::{JobRecord, LocalId, Submission};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Newest,
    Oldest,
    Status,
    Progress,
}

impl SortKey {
    pub fn next(self) -> Self {
        match self {
            SortKey::Newest => SortKey::Oldest,
            SortKey::Oldest => SortKey::Status,
            SortKey::Status => SortKey::Progress,
            SortKey::Progress => SortKey::Newest,
        }
    }

    /// The same order, for the finished jobs the ledger pages.
    pub fn history_order(self) -> crate::engine::HistoryOrder {
        use crate::engine::HistoryOrder;
        match self {
            SortKey::Newest => HistoryOrder::Newest,
            SortKey::Oldest => HistoryOrder::Oldest,
            SortKey::Status => HistoryOrder::Status,
            SortKey::Progress => HistoryOrder::Progress,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Newest => "newest",
            SortKey::Oldest => "oldest",
            SortKey::Status => "status",
            SortKey::Progress => "progress",
        }
    }
}

/// Bytes so far and total of one file being downloaded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transfer {
    pub bytes: u64,
    pub total: Option<u64>,
    pub rate: f64,
}

#[derive(Debug)]
pub struct Queue {
    pub jobs: BTreeMap<LocalId, JobRecord>,
    pub transfers: HashMap<(LocalId, usize), Transfer>,
    pub selected: Option<LocalId>,
    pub filter: String,
    pub sort: SortKey,
}

/// Order of states for the status sort: what needs attention first.
fn status_rank(job: &JobRecord) -> u8 {
    match (&job.submission, &job.status) {
        (Submission::Unconfirmed { .. }, _) => 0,
        (Submission::Rejected { .. }, _) | (_, Some(JobStatus::Failure)) => 1,
        (_, Some(JobStatus::InProgress | JobStatus::Finalizing | JobStatus::WarmingUp)) => 2,
        (Submission::Queued | Submission::Sending, _) => 3,
        (_, Some(JobStatus::Pending | JobStatus::Queued | JobStatus::Unknown(_)) | None) => 4,
        (_, Some(JobStatus::Success)) => 5,
        (_, Some(JobStatus::Canceled)) => 6,
    }
}

impl Queue {
    pub fn new() -> Self {
        Self {
            jobs: BTreeMap::new(),
            transfers: HashMap::new(),
            selected: None,
            filter: String::new(),
            sort: SortKey::Newest,
        }
    }

    /// Adds or replaces a job. Until the user moves, the selection is the top row.
    pub fn upsert(&mut self, job: JobRecord) {
        self.jobs.insert(job.local_id, job);
    }

    /// The selected job's id: the one chosen, or the top row while none is.
    pub fn selected_id(&self) -> Option<LocalId> {
        let order = self.visible();
        self.selected
            .filter(|id| order.contains(id))
            .or_else(|| order.first().copied())
    }

    pub fn remove(&mut self, id: LocalId) {
        let order = self.visible();
        let at = order.iter().position(|j| *j == id);
        self.jobs.remove(&id);
        self.transfers.retain(|(job, _), _| *job != id);
        if self.selected == Some(id) {
            // The row below takes its place (or the one above, at the bottom).
            let order = self.visible();
            self.selected =
                at.and_then(|i| order.get(i.min(order.len().saturating_sub(1))).copied());
        }
    }

    fn matches(&self, job: &JobRecord) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        let needle = self.filter.to_lowercase();
        job.request.prompt.to_lowercase().contains(&needle)
            || job
                .job_id
                .as_deref()
                .is_some_and(|id| id.to_lowercase().contains(&needle))
            || job.state_word().contains(&needle)
    }

    /// The jobs shown, in display order.
    pub fn visible(&self) -> Vec<LocalId> {
        let mut rows: Vec<&JobRecord> = self.jobs.values().filter(|j| self.matches(j)).collect();
        match self.sort {
            SortKey::Newest => rows.sort_by_key(|j| std::cmp::Reverse(j.local_id)),
            SortKey::Oldest => rows.sort_by_key(|j| j.local_id),
            SortKey::Status => {
                rows.sort_by_key(|j| (status_rank(j), std::cmp::Reverse(j.local_id)))
            }
            SortKey::Progress => rows.sort_by(|a, b| {
                b.progress
                    .partial_cmp(&a.progress)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(b.local_id.cmp(&a.local_id))
            }),
        }
        rows.into_iter().map(|j| j.local_id).collect()
    }

    /// Moves the selection by `delta` rows in the current order.
    pub fn move_selection(&mut self, delta: isize) {
        let order = self.visible();
        if order.is_empty() {
            return;
        }
        let current = self
            .selected_id()
            .and_then(|id| order.iter().position(|j| *j == id))
            .unwrap_or(0);
        let next = (current as isize + delta).clamp(0, order.len() as isize - 1) as usize;
        self.selected = Some(order[next]);
    }

    /// The selected job, if it is shown.
    pub fn selected_job(&self) -> Option<&JobRecord> {
        self.jobs.get(&self.selected_id()?)
    }
}

impl Default for Queue {
    fn default() -> Self {
        Self::new()
    }
}
