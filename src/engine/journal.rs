//! The journal: an append-only file of JSON lines, one record per change, so that no job is
//! ever lost. Intents are fsynced before their POST; a torn or corrupt line is skipped with a
//! warning and everything else kept; compaction rewrites the file through write-temp → fsync →
//! rename → fsync dir. A lock file keeps a second process from writing at the same time.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::job::{DownloadRecord, JobRecord, LocalId, PollTrouble, Submission};
use crate::api::types::{Job, JobStatus, StatusChange};
use crate::kling::KlingRequest;

const FILE_NAME: &str = "journal.jsonl";
const LOCK_NAME: &str = "journal.lock";
/// Compact once the log holds this many more lines than there are jobs.
const COMPACT_SLACK: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "{}: in use by another kling-tui process; wait for it to finish, or use `kling-tui jobs` to read it",
        path.display()
    )]
    Locked { path: PathBuf },
    #[error("{}: {detail}", path.display())]
    Io { path: PathBuf, detail: String },
}

fn io_err(path: &Path, e: &std::io::Error) -> JournalError {
    JournalError::Io {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Record {
    Intent {
        local_id: LocalId,
        created_at: String,
        request: KlingRequest,
        /// Local files to upload before the request can be sent.
        #[serde(default)]
        uploads: usize,
    },
    /// One local file is now an asset: every place the request names it gets the id.
    Uploaded {
        local_id: LocalId,
        file: String,
        asset_id: String,
    },
    Sending {
        local_id: LocalId,
    },
    Queued {
        local_id: LocalId,
    },
    Accepted {
        local_id: LocalId,
        job_id: String,
        cost: Option<f64>,
    },
    Unconfirmed {
        local_id: LocalId,
        reason: String,
    },
    Rejected {
        local_id: LocalId,
        reason: String,
    },
    Status {
        local_id: LocalId,
        status: JobStatus,
        progress: f64,
        #[serde(default)]
        asset_ids: Vec<String>,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        cost: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        history: Vec<StatusChange>,
    },
    /// A verified file is about to be given this name: written before the move, so a stop
    /// right after it still knows the file is ours.
    Placing {
        local_id: LocalId,
        index: usize,
        file: PathBuf,
        size: u64,
    },
    Downloaded {
        local_id: LocalId,
        index: usize,
        file: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
    },
    DownloadFailed {
        local_id: LocalId,
        index: usize,
        error: String,
    },
    Forgotten {
        local_id: LocalId,
    },
    /// A whole job, as written by compaction.
    Job {
        job: Box<JobRecord>,
    },
}

impl Record {
    /// The record of what the server says of a job now, its text made safe to show.
    pub fn status_of(local_id: LocalId, job: &Job) -> Self {
        use crate::sanitize::sanitize;
        Record::Status {
            local_id,
            status: JobStatus::parse(&sanitize(job.status.as_str())),
            progress: job.progress_fraction(),
            asset_ids: job.metadata.asset_ids.clone(),
            error: job.metadata.error.as_deref().map(sanitize),
            cost: job.billing.as_ref().and_then(|b| b.cu_cost),
            hint: job.metadata.hint.as_deref().map(sanitize),
            history: job
                .status_history
                .iter()
                .map(|h| StatusChange {
                    date: sanitize(&h.date),
                    status: JobStatus::parse(&sanitize(h.status.as_str())),
                })
                .collect(),
        }
    }
}

/// Applies one record to the set of jobs. Records about unknown jobs are ignored.
fn apply(jobs: &mut BTreeMap<LocalId, JobRecord>, record: Record) {
    match record {
        Record::Intent {
            local_id,
            created_at,
            request,
            uploads,
        } => {
            let mut record = JobRecord::new(local_id, created_at, request);
            record.upload_total = uploads;
            record.submission = if uploads > 0 {
                Submission::Uploading
            } else {
                Submission::Sending
            };
            jobs.insert(local_id, record);
        }
        Record::Uploaded {
            local_id,
            file,
            asset_id,
        } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                let r = &mut j.request;
                let swap = |a: &mut crate::kling::AssetId| {
                    if a.as_str() == file {
                        *a = crate::kling::AssetId::new(asset_id.clone());
                    }
                };
                r.start_image.iter_mut().for_each(swap);
                r.end_image.iter_mut().for_each(swap);
                r.reference_images.iter_mut().for_each(swap);
                r.reference_video.iter_mut().for_each(swap);
            }
        }
        Record::Job { job } => {
            jobs.insert(job.local_id, *job);
        }
        Record::Sending { local_id } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.submission = Submission::Sending;
            }
        }
        Record::Queued { local_id } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.submission = Submission::Queued;
            }
        }
        Record::Accepted {
            local_id,
            job_id,
            cost,
        } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.submission = Submission::Accepted;
                j.job_id = Some(job_id);
                j.cost = cost.or(j.cost);
                j.status.get_or_insert(JobStatus::Pending);
            }
        }
        Record::Unconfirmed { local_id, reason } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.submission = Submission::Unconfirmed { reason };
            }
        }
        Record::Rejected { local_id, reason } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.submission = Submission::Rejected { reason };
            }
        }
        Record::Status {
            local_id,
            status,
            progress,
            asset_ids,
            error,
            cost,
            hint,
            history,
        } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.status = Some(status);
                j.progress = progress;
                j.error = error;
                j.hint = hint;
                if !history.is_empty() {
                    j.history = history;
                }
                j.cost = cost.or(j.cost);
                if j.downloads.is_empty() || j.downloads.len() != asset_ids.len() {
                    j.downloads = asset_ids
                        .into_iter()
                        .map(|asset_id| DownloadRecord {
                            asset_id,
                            file: None,
                            size: None,
                            placing: None,
                            error: None,
                        })
                        .collect();
                }
            }
        }
        Record::Placing {
            local_id,
            index,
            file,
            size,
        } => {
            if let Some(d) = jobs
                .get_mut(&local_id)
                .and_then(|j| j.downloads.get_mut(index))
            {
                d.placing = Some(file);
                d.size = Some(size);
            }
        }
        Record::Downloaded {
            local_id,
            index,
            file,
            size,
        } => {
            if let Some(d) = jobs
                .get_mut(&local_id)
                .and_then(|j| j.downloads.get_mut(index))
            {
                d.file = Some(file);
                d.size = size.or(d.size);
                d.placing = None;
                d.error = None;
            }
        }
        Record::DownloadFailed {
            local_id,
            index,
            error,
        } => {
            if let Some(d) = jobs
                .get_mut(&local_id)
                .and_then(|j| j.downloads.get_mut(index))
            {
                d.error = Some(error);
            }
        }
        Record::Forgotten { local_id } => {
            jobs.remove(&local_id);
        }
    }
}

/// Reads every record that parses. Returns the jobs, the highest local id seen, the number of
/// lines, and whether any line had to be skipped.
fn replay(
    path: &Path,
) -> Result<(BTreeMap<LocalId, JobRecord>, LocalId, usize, bool), JournalError> {
    let mut jobs = BTreeMap::new();
    let mut max_id = 0;
    let mut lines = 0;
    let mut skipped = false;
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((jobs, 0, 0, false)),
        Err(e) => return Err(io_err(path, &e)),
    };
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| io_err(path, &e))?;
        if n == 0 {
            break;
        }
        lines += 1;
        let complete = buf.ends_with(b"\n");
        match serde_json::from_slice::<Record>(&buf) {
            Ok(record) if complete => {
                max_id = max_id.max(record_id(&record));
                apply(&mut jobs, record);
            }
            _ => {
                tracing::warn!(
                    "{}: skipping a torn or corrupt record at line {lines}",
                    path.display()
                );
                skipped = true;
            }
        }
    }
    Ok((jobs, max_id, lines, skipped))
}

fn record_id(record: &Record) -> LocalId {
    match record {
        Record::Intent { local_id, .. }
        | Record::Uploaded { local_id, .. }
        | Record::Sending { local_id }
        | Record::Queued { local_id }
        | Record::Accepted { local_id, .. }
        | Record::Unconfirmed { local_id, .. }
        | Record::Rejected { local_id, .. }
        | Record::Status { local_id, .. }
        | Record::Placing { local_id, .. }
        | Record::Downloaded { local_id, .. }
        | Record::DownloadFailed { local_id, .. }
        | Record::Forgotten { local_id } => *local_id,
        Record::Job { job } => job.local_id,
    }
}

pub struct Journal {
    dir: PathBuf,
    file: File,
    /// Held for the life of the journal: the OS lock goes with it.
    _lock: File,
    jobs: BTreeMap<LocalId, JobRecord>,
    /// `None` once every local id has been used (a journal written to its limit, or damaged
    /// to look that way): new intents are then refused rather than given an id twice.
    next_id: Option<LocalId>,
    lines: usize,
    unsynced: bool,
}

impl Journal {
    /// Opens (or creates) the journal in `dir` for writing, taking its lock.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, &e))?;
        let lock_path = dir.join(LOCK_NAME);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_err(&lock_path, &e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(JournalError::Locked {
                    path: dir.join(FILE_NAME),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(&lock_path, &e)),
        }
        let path = dir.join(FILE_NAME);
        let (jobs, max_id, lines, skipped) = replay(&path)?;
        let file = open_append(&path)?;
        let mut journal = Self {
            dir: dir.to_path_buf(),
            file,
            _lock: lock,
            jobs,
            next_id: max_id.checked_add(1),
            lines,
            unsynced: false,
        };
        if skipped {
            // Rewrite without the bad lines, so new records never follow a torn one.
            journal.compact()?;
        }
        Ok(journal)
    }

    /// Reads the journal without locking or writing, for listing while another process works.
    pub fn read_only(dir: &Path) -> Result<BTreeMap<LocalId, JobRecord>, JournalError> {
        Ok(replay(&dir.join(FILE_NAME))?.0)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    pub fn jobs(&self) -> &BTreeMap<LocalId, JobRecord> {
        &self.jobs
    }

    pub fn job(&self, id: LocalId) -> Option<&JobRecord> {
        self.jobs.get(&id)
    }

    /// Sets what is known of a job's failing polls, in memory only (a fact of this session);
    /// tells whether that changed anything.
    pub fn set_trouble(&mut self, id: LocalId, trouble: Option<PollTrouble>) -> bool {
        match self.jobs.get_mut(&id) {
            Some(job) if job.trouble != trouble => {
                job.trouble = trouble;
                true
            }
            _ => false,
        }
    }

    /// Records a new intent, fsynced, and returns its local id. Must precede the POST.
    pub fn record_intent(
        &mut self,
        created_at: String,
        request: KlingRequest,
    ) -> Result<LocalId, JournalError> {
        let local_id = self.next_id.ok_or_else(|| JournalError::Io {
            path: self.path(),
            detail: format!(
                "no local job number is left (the highest, {}, is in use); move this journal \
                 aside to start a new one",
                LocalId::MAX
            ),
        })?;
        self.next_id = local_id.checked_add(1);
        let uploads = super::job::local_files(&request).len();
        self.append(
            Record::Intent {
                local_id,
                created_at,
                request,
                uploads,
            },
            true,
        )?;
        Ok(local_id)
    }

    /// Appends one record; `durable` fsyncs it (and anything before it) now.
    pub fn append(&mut self, record: Record, durable: bool) -> Result<(), JournalError> {
        let path = self.path();
        let mut line = serde_json::to_vec(&record).map_err(|e| JournalError::Io {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(|e| io_err(&path, &e))?;
        apply(&mut self.jobs, record);
        self.lines += 1;
        self.unsynced = true;
        if durable {
            self.sync()?;
        }
        if self.lines > self.jobs.len() + COMPACT_SLACK {
            self.compact()?;
        }
        Ok(())
    }

    /// Makes every appended record durable.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        if self.unsynced {
            self.file
                .sync_data()
                .map_err(|e| io_err(&self.path(), &e))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Rewrites the journal as one record per job: temp file, fsync, rename, fsync dir.
    pub fn compact(&mut self) -> Result<(), JournalError> {
        let path = self.path();
        let tmp = self.dir.join(format!("{FILE_NAME}.tmp"));
        {
            let mut out =
                std::io::BufWriter::new(File::create(&tmp).map_err(|e| io_err(&tmp, &e))?);
            for job in self.jobs.values() {
                let record = Record::Job {
                    job: Box::new(job.clone()),
                };
                let line = serde_json::to_vec(&record).map_err(|e| JournalError::Io {
                    path: tmp.clone(),
                    detail: e.to_string(),
                })?;
                out.write_all(&line).map_err(|e| io_err(&tmp, &e))?;
                out.write_all(b"\n").map_err(|e| io_err(&tmp, &e))?;
            }
            let file = out.into_inner().map_err(|e| io_err(&tmp, e.error()))?;
            file.sync_all().map_err(|e| io_err(&tmp, &e))?;
        }
        std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, &e))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.file = open_append(&path)?;
        self.lines = self.jobs.len();
        self.unsynced = false;
        Ok(())
    }
}

fn open_append(path: &Path) -> Result<File, JournalError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_err(path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(j: &mut Journal, prompt: &str) -> LocalId {
        j.record_intent("2026-01-01T00:00:00Z".into(), KlingRequest::new(prompt))
            .unwrap()
    }

    #[test]
    fn records_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut j = Journal::open(dir.path()).unwrap();
            let a = intent(&mut j, "a");
            let b = intent(&mut j, "b");
            j.append(
                Record::Accepted {
                    local_id: a,
                    job_id: "job_a".into(),
                    cost: Some(5.0),
                },
                true,
            )
            .unwrap();
            j.append(
                Record::Unconfirmed {
                    local_id: b,
                    reason: "timeout".into(),
                },
                true,
            )
            .unwrap();
        }
        let j = Journal::open(dir.path()).unwrap();
        let jobs: Vec<_> = j.jobs().values().collect();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].job_id.as_deref(), Some("job_a"));
        assert!(matches!(jobs[1].submission, Submission::Unconfirmed { .. }));
        assert_eq!(j.next_id, Some(3));
    }

    #[test]
    fn the_last_local_id_is_never_given_twice() {
        let dir = tempfile::tempdir().unwrap();
        let line = format!(
            "{{\"type\":\"intent\",\"local_id\":{},\"created_at\":\"x\",\"request\":{}}}\n",
            LocalId::MAX - 1,
            serde_json::to_string(&KlingRequest::new("near the end")).unwrap()
        );
        std::fs::write(dir.path().join(FILE_NAME), line).unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        assert_eq!(intent(&mut j, "last"), LocalId::MAX);
        let err = j
            .record_intent("x".into(), KlingRequest::new("one too many"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no local job number is left"), "{err}");
        assert_eq!(j.jobs().len(), 2, "nothing recorded for the refused one");
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(
            j.jobs().keys().copied().collect::<Vec<_>>(),
            [LocalId::MAX - 1, LocalId::MAX]
        );
    }

    #[test]
    fn a_torn_tail_is_skipped_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut j = Journal::open(dir.path()).unwrap();
            intent(&mut j, "kept");
        }
        let path = dir.path().join(FILE_NAME);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"type":"intent","local_id":2,"created_at":"x","requ"#)
            .unwrap();
        drop(f);
        let mut j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.jobs().len(), 1);
        // The rewrite leaves a clean file: new records parse after a reopen.
        intent(&mut j, "after");
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        let prompts: Vec<_> = j
            .jobs()
            .values()
            .map(|r| r.request.prompt.clone())
            .collect();
        assert_eq!(prompts, ["kept", "after"]);
    }

    #[test]
    fn a_second_writer_is_refused_but_reading_works() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = Journal::open(dir.path()).unwrap();
        intent(&mut first, "a");
        let err = Journal::open(dir.path()).err().unwrap();
        assert!(
            err.to_string().contains("in use by another kling-tui"),
            "{err}"
        );
        assert_eq!(Journal::read_only(dir.path()).unwrap().len(), 1);
    }

    #[test]
    fn compaction_keeps_every_job() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let id = intent(&mut j, "a");
        for i in 0..(COMPACT_SLACK + 10) {
            j.append(
                Record::Status {
                    local_id: id,
                    status: JobStatus::InProgress,
                    progress: i as f64 / 10_000.0,
                    asset_ids: vec![],
                    error: None,
                    cost: None,
                    hint: None,
                    history: vec![],
                },
                false,
            )
            .unwrap();
        }
        let lines = std::fs::read_to_string(j.path()).unwrap().lines().count();
        assert!(lines < COMPACT_SLACK, "{lines} lines: never compacted");
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.job(id).unwrap().status, Some(JobStatus::InProgress));
        let secret_free = std::fs::read_to_string(j.path()).unwrap();
        assert!(!secret_free.contains("Basic"));
    }
}
