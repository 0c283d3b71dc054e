//! The "Server" view: the team's Kling V3 Omni jobs as the server lists them (made in the web
//! app, by a teammate, or by another client), those already in the ledger marked, and any of
//! them taken into the ledger with a key, to be followed and downloaded like the app's own.
//! Filtered and sorted as the job list is.

use crate::engine::{JobFilter, RemoteJob};

use super::queue::SortKey;

pub struct ServerView {
    /// Of the last listing asked; `None` once answered.
    pub pending: Option<u64>,
    pub jobs: Vec<RemoteJob>,
    /// The selected place in [`ServerView::rows`].
    pub selected: usize,
    /// Why the last listing failed.
    pub error: Option<String>,
    /// As typed after `/`: the job list's filter words (no `batch:` here).
    pub filter: String,
    pub sort: SortKey,
}

/// Order of states for the status sort: what needs attention first, as in the job list.
fn status_rank(job: &RemoteJob) -> u8 {
    use crate::api::types::JobStatus;
    match job.status {
        JobStatus::Failure => 1,
        JobStatus::InProgress | JobStatus::Finalizing | JobStatus::WarmingUp => 2,
        JobStatus::Pending | JobStatus::Queued | JobStatus::Unknown(_) => 4,
        JobStatus::Success => 5,
        JobStatus::Canceled => 6,
    }
}

impl ServerView {
    pub fn new(seq: u64) -> Self {
        Self {
            pending: Some(seq),
            jobs: Vec::new(),
            selected: 0,
            error: None,
            filter: String::new(),
            sort: SortKey::Newest,
        }
    }

    /// Places in `jobs` of the jobs shown: those that pass the filter, in the sort order.
    pub fn rows(&self) -> Vec<usize> {
        let filter = JobFilter::parse(&self.filter);
        let mut rows: Vec<usize> = (0..self.jobs.len())
            .filter(|i| filter.matches_remote(&self.jobs[*i]))
            .collect();
        let time = |i: &usize| self.jobs[*i].created_at.parse::<jiff::Timestamp>().ok();
        match self.sort {
            // The server lists newest first; a date it did not write keeps its place.
            SortKey::Newest => rows.sort_by_key(|i| std::cmp::Reverse(time(i))),
            SortKey::Oldest => rows.sort_by_key(time),
            SortKey::Status => rows.sort_by_key(|i| status_rank(&self.jobs[*i])),
            SortKey::Progress => rows.sort_by(|a, b| {
                self.jobs[*b]
                    .progress
                    .partial_cmp(&self.jobs[*a].progress)
                    .unwrap_or(std::cmp::Ordering::Equal)
            }),
        }
        rows
    }

    pub fn answered(&mut self, result: Result<Vec<RemoteJob>, String>) {
        self.pending = None;
        match result {
            Ok(jobs) => {
                // The selection stays on its job when the list comes again.
                let was = self.selected_job().map(|j| j.job_id.clone());
                self.jobs = jobs;
                self.error = None;
                self.select_job(was.as_deref());
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Selects the job of server id `job_id` if it is shown, else the top row.
    fn select_job(&mut self, job_id: Option<&str>) {
        let rows = self.rows();
        self.selected = job_id
            .and_then(|id| rows.iter().position(|i| self.jobs[*i].job_id == id))
            .unwrap_or(0);
    }

    pub fn selected_job(&self) -> Option<&RemoteJob> {
        self.jobs.get(*self.rows().get(self.selected)?)
    }

    pub fn move_by(&mut self, delta: isize) {
        let shown = self.rows().len();
        if shown == 0 {
            return;
        }
        let last = shown as isize - 1;
        self.selected = (self.selected as isize + delta).clamp(0, last) as usize;
    }

    pub fn select_first(&mut self) {
        self.selected = 0;
    }

    pub fn select_last(&mut self) {
        self.selected = self.rows().len().saturating_sub(1);
    }

    /// The filter or the order changed: the selection stays on its job if it is still shown.
    pub fn reordered(&mut self, was: Option<String>) {
        self.select_job(was.as_deref());
    }

    /// Marks a job taken into the ledger under `local_id`.
    pub fn imported(&mut self, job_id: &str, local_id: crate::engine::LocalId) {
        if let Some(job) = self.jobs.iter_mut().find(|j| j.job_id == job_id) {
            job.local_id = Some(local_id);
        }
    }
}
