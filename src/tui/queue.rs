//! The job queue's state: every job the engine reported, the download progress it sent, the
//! filter, the sort order, batches folded under their header rows, and a selection that
//! follows its row when rows move.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::api::types::JobStatus;
use crate::engine::{BatchSummary, JobFilter, JobRecord, LocalId, Submission};

/// One row of the list: a job, or the header of a batch its jobs are grouped under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowKey {
    Job(LocalId),
    Batch(String),
}

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
    pub selected: Option<RowKey>,
    pub filter: String,
    pub sort: SortKey,
    /// Batches shown as their header row only.
    pub folded: HashSet<String>,
    /// Jobs marked for a comparison, in the order they were marked.
    pub marked: Vec<LocalId>,
    /// Where each batch stands, as the engine last counted it from the ledger (the jobs
    /// loaded here may be only a page of a long batch).
    pub batches: HashMap<String, BatchSummary>,
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
            folded: HashSet::new(),
            marked: Vec::new(),
            batches: HashMap::new(),
        }
    }

    /// Adds or replaces a job. Until the user moves, the selection is the top row.
    pub fn upsert(&mut self, job: JobRecord) {
        self.jobs.insert(job.local_id, job);
    }

    /// The selected row: the one chosen, or the top row while none is (or it is gone).
    pub fn selected_row(&self) -> Option<RowKey> {
        let rows = self.rows();
        self.selected
            .clone()
            .filter(|key| rows.contains(key))
            .or_else(|| rows.first().cloned())
    }

    /// The selected job's id; `None` on a batch header.
    pub fn selected_id(&self) -> Option<LocalId> {
        match self.selected_row()? {
            RowKey::Job(id) => Some(id),
            RowKey::Batch(_) => None,
        }
    }

    /// The batch of the selected row: its header, or one of its jobs.
    pub fn selected_batch(&self) -> Option<String> {
        match self.selected_row()? {
            RowKey::Batch(name) => Some(name),
            RowKey::Job(id) => self.jobs.get(&id)?.batch.as_ref().map(|b| b.name.clone()),
        }
    }

    pub fn remove(&mut self, id: LocalId) {
        let rows = self.rows();
        let at = rows.iter().position(|key| *key == RowKey::Job(id));
        self.jobs.remove(&id);
        self.marked.retain(|m| *m != id);
        self.transfers.retain(|(job, _), _| *job != id);
        if self.selected == Some(RowKey::Job(id)) {
            // The row below takes its place (or the one above, at the bottom).
            let rows = self.rows();
            self.selected = at.and_then(|i| rows.get(i.min(rows.len().saturating_sub(1))).cloned());
        }
    }

    /// The filter as typed, parsed.
    pub fn parsed_filter(&self) -> JobFilter {
        JobFilter::parse(&self.filter)
    }

    /// How many jobs match the filter, folded or not.
    pub fn matching(&self) -> usize {
        let filter = self.parsed_filter();
        self.jobs.values().filter(|j| filter.matches(j)).count()
    }

    /// The jobs that match the filter, in the sort order, batches not grouped yet.
    fn sorted(&self) -> Vec<&JobRecord> {
        let filter = self.parsed_filter();
        let mut rows: Vec<&JobRecord> = self.jobs.values().filter(|j| filter.matches(j)).collect();
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
        rows
    }

    /// The rows shown, in display order: a batch's header where its first job would be in
    /// the sort order, then (unless folded) its jobs in the batch's own order.
    pub fn rows(&self) -> Vec<RowKey> {
        let sorted = self.sorted();
        let mut members: HashMap<&str, Vec<&JobRecord>> = HashMap::new();
        for job in &sorted {
            if let Some(tag) = &job.batch {
                members.entry(tag.name.as_str()).or_default().push(job);
            }
        }
        let mut rows = Vec::with_capacity(sorted.len());
        for job in &sorted {
            let Some(tag) = &job.batch else {
                rows.push(RowKey::Job(job.local_id));
                continue;
            };
            let Some(mut group) = members.remove(tag.name.as_str()) else {
                continue; // Its header and jobs are already placed.
            };
            rows.push(RowKey::Batch(tag.name.clone()));
            if !self.folded.contains(&tag.name) {
                group.sort_by_key(|j| (j.batch.as_ref().map_or(0, |b| b.index), j.local_id));
                rows.extend(group.into_iter().map(|j| RowKey::Job(j.local_id)));
            }
        }
        rows
    }

    /// The jobs shown, in display order (those of folded batches left out).
    pub fn visible(&self) -> Vec<LocalId> {
        self.rows()
            .into_iter()
            .filter_map(|key| match key {
                RowKey::Job(id) => Some(id),
                RowKey::Batch(_) => None,
            })
            .collect()
    }

    /// Moves the selection by `delta` rows in the current order.
    pub fn move_selection(&mut self, delta: isize) {
        let rows = self.rows();
        if rows.is_empty() {
            return;
        }
        let current = self
            .selected_row()
            .and_then(|key| rows.iter().position(|r| *r == key))
            .unwrap_or(0);
        let next = (current as isize + delta).clamp(0, rows.len() as isize - 1) as usize;
        self.selected = Some(rows[next].clone());
    }

    /// Selects the first row.
    pub fn select_first(&mut self) {
        self.selected = self.rows().first().cloned();
    }

    /// Selects the last row (of those loaded).
    pub fn select_last(&mut self) {
        self.selected = self.rows().last().cloned();
    }

    /// Folds the selected row's batch under its header (selecting the header), or unfolds it.
    pub fn toggle_fold(&mut self) -> bool {
        let Some(name) = self.selected_batch() else {
            return false;
        };
        if !self.folded.remove(&name) {
            self.folded.insert(name.clone());
        }
        self.selected = Some(RowKey::Batch(name));
        true
    }

    /// A batch's figures: the engine's count when it has one, else what is loaded here.
    pub fn batch_summary(&self, name: &str) -> BatchSummary {
        if let Some(summary) = self.batches.get(name) {
            return summary.clone();
        }
        let mut summary = BatchSummary {
            name: name.to_string(),
            ..BatchSummary::default()
        };
        for job in self.jobs.values() {
            if job.batch.as_ref().is_none_or(|b| b.name != name) {
                continue;
            }
            summary.total += 1;
            summary.max_cost = summary
                .max_cost
                .or(job.batch.as_ref().and_then(|b| b.max_cost));
            if job.held.is_some() {
                summary.held += 1;
            }
            match (&job.submission, &job.status) {
                (_, Some(JobStatus::Success)) => summary.succeeded += 1,
                (Submission::Rejected { .. }, _) | (_, Some(JobStatus::Failure)) => {
                    summary.failed += 1
                }
                (_, Some(JobStatus::Canceled)) => summary.canceled += 1,
                _ => {}
            }
            if !matches!(job.status, Some(JobStatus::Failure | JobStatus::Canceled)) {
                summary.spent += job.cost.unwrap_or(0.0);
            }
        }
        summary
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
