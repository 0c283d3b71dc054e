//! The "Server" view: the team's Kling V3 Omni jobs as the server lists them (made in the web
//! app, by a teammate, or by another client), those already in the ledger marked, and any of
//! them taken into the ledger with a key, to be followed and downloaded like the app's own.

use crate::engine::RemoteJob;

pub struct ServerView {
    /// Of the last listing asked; `None` once answered.
    pub pending: Option<u64>,
    pub jobs: Vec<RemoteJob>,
    pub selected: usize,
    /// Why the last listing failed.
    pub error: Option<String>,
}

impl ServerView {
    pub fn new(seq: u64) -> Self {
        Self {
            pending: Some(seq),
            jobs: Vec::new(),
            selected: 0,
            error: None,
        }
    }

    pub fn answered(&mut self, result: Result<Vec<RemoteJob>, String>) {
        self.pending = None;
        match result {
            Ok(jobs) => {
                // The selection stays on its job when the list comes again.
                let was = self.selected_job().map(|j| j.job_id.clone());
                self.jobs = jobs;
                self.error = None;
                self.selected = was
                    .and_then(|id| self.jobs.iter().position(|j| j.job_id == id))
                    .unwrap_or(0);
            }
            Err(e) => self.error = Some(e),
        }
    }

    pub fn selected_job(&self) -> Option<&RemoteJob> {
        self.jobs.get(self.selected)
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.jobs.is_empty() {
            return;
        }
        let last = self.jobs.len() as isize - 1;
        self.selected = (self.selected as isize + delta).clamp(0, last) as usize;
    }

    /// Marks a job taken into the ledger under `local_id`.
    pub fn imported(&mut self, job_id: &str, local_id: crate::engine::LocalId) {
        if let Some(job) = self.jobs.iter_mut().find(|j| j.job_id == job_id) {
            job.local_id = Some(local_id);
        }
    }
}
