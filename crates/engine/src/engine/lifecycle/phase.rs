//! Where each job stands in this run of the engine, as one state machine. The ledger keeps what
//! must outlive the process (the [`Submission`] and the server's status); a phase adds what
//! only the running engine knows: what it has in flight for the job, and what it counts.
//!
//! A phase is taken from the job's record at start-up ([`Phase::of`]) and then only moves by
//! [`Phase::apply`], which takes one [`Step`] and answers with the next phase and the record
//! the ledger must get, or refuses a step that makes no sense from where the job is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::job::{JobRecord, LocalId, Submission};
use super::record::Record;

/// A download that failed for a passing reason is tried again this many times by itself.
pub(crate) const DOWNLOAD_RETRIES: u32 = 6;
/// A download that failed for want of a local resource is tried again this often, for as
/// long as it takes.
pub(crate) const LOCAL_RETRY: Duration = Duration::from_secs(30);
/// An upload that failed for a passing reason is tried again this many times by itself.
pub(crate) const UPLOAD_RETRIES: u32 = 6;

/// Where one job stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Phase {
    /// The intent is recorded and nothing is under way yet: its files are to be uploaded or
    /// its POST sent (or, at start-up, a POST the last run may have sent).
    Preparing,
    /// Its local files are going up, one after the other.
    Uploading {
        /// Passing failures so far, for the automatic retries.
        failures: u32,
        /// No upload runs or waits: held while the credentials are refused.
        held: bool,
    },
    /// The POST is in flight.
    Sending,
    /// The POST may have reached the server but no answer came: it is looked for in the
    /// server's job list (`searching`), or will be once requests may go out again.
    Unconfirmed { searching: bool },
    /// Looked for and not found (or the search failed): it waits for the user, who may send
    /// it again or refresh to look once more. Never re-sent by itself.
    Unresolved,
    /// Held here, to be sent when the team is below its concurrency ceiling.
    Queued,
    /// On the server, not final: polled.
    Running,
    /// Final and successful, with files still to fetch.
    Downloading(Parts),
    /// Nothing left to do: final and downloaded, or final with nothing to fetch.
    Settled,
}

/// The files of a successful job on their way to disk.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Parts {
    /// Being fetched now (or waiting for a download slot).
    in_flight: BTreeSet<usize>,
    /// Failures so far of each part, for the automatic retries.
    failures: BTreeMap<usize, u32>,
    /// A retry of the failed parts is due to be started by a timer.
    retry_due: bool,
}

impl Parts {
    pub(crate) fn in_flight(&self, index: usize) -> bool {
        self.in_flight.contains(&index)
    }

    fn busy(&self) -> bool {
        !self.in_flight.is_empty() || self.retry_due
    }
}

/// What moves a job from one phase to the next.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// Start uploading its local files.
    Upload,
    /// One local file is now an asset.
    Uploaded { file: String, asset_id: String },
    /// An upload failed; a passing failure is tried again a few times.
    UploadFailed { error: String, passing: bool },
    /// The wait after a passing upload failure is over.
    RetryUploads,
    /// Send the POST (or hold it, when nothing may be sent now).
    Send,
    /// Hold it here: the team is at its concurrency ceiling, or the POST provably never left.
    Queue,
    /// The server created it (told by the POST's answer, or found by a search).
    Accepted { job_id: String, cost: Option<f64> },
    /// The POST may have reached the server, but its answer did not say so.
    Unconfirmed { reason: String },
    /// The server refused the POST: nothing was created.
    Rejected { reason: String },
    /// Look for an unconfirmed submission in the server's job list.
    Search,
    /// The search found nothing (or could not be made).
    NotFound,
    /// The user asks to send an unresolved submission again.
    Resend,
    /// A poll found it final.
    Finished,
    /// Start fetching one part.
    Fetch { index: usize },
    /// One part is on disk.
    Fetched {
        index: usize,
        file: PathBuf,
        size: u64,
        /// The asset id of the video's last frame, where its asset named one.
        last_frame: Option<String>,
        /// The video's length in seconds, where its asset said.
        duration: Option<f64>,
    },
    /// One part failed; a passing failure is tried again a few times, a lasting one (a full
    /// disk, no file descriptors: it passes when the resource comes back) every
    /// [`LOCAL_RETRY`], with no bound.
    FetchFailed {
        index: usize,
        error: String,
        passing: bool,
        lasting: bool,
    },
    /// The wait after a passing download failure is over.
    RetryFetch,
    /// The user asks for the files: earlier failures no longer count against the retries.
    ClearFetchFailures,
}

/// What a step is judged against: the job as the ledger has it, and the engine's state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    /// `None` once the job has been forgotten.
    pub job: Option<&'a JobRecord>,
    /// The API refused the credentials: no request goes out.
    pub halted: bool,
    /// Asked to stop: nothing new is sent.
    pub stopping: bool,
}

/// A step taken: the phase it leads to and what the ledger must get.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Next {
    pub phase: Phase,
    pub record: Option<Record>,
    /// The step only happens once its record is on disk (the intent to send, a resend).
    pub record_first: bool,
    /// A passing failure: the step to take again is due after this wait.
    pub retry_in: Option<Duration>,
}

impl Next {
    fn to(phase: Phase) -> Self {
        Self {
            phase,
            record: None,
            record_first: false,
            retry_in: None,
        }
    }

    fn with(mut self, record: Record) -> Self {
        self.record = Some(record);
        self
    }

    fn first(mut self) -> Self {
        self.record_first = true;
        self
    }
}

/// A step that makes no sense from where the job is; nothing changed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refused {
    pub from: &'static str,
    pub step: &'static str,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} refused while {}", self.step, self.from)
    }
}

/// The wait before the `failures`-th retry: longer each time, capped.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(500 * (1 << failures.min(6)))
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Upload => "upload",
            Step::Uploaded { .. } => "uploaded",
            Step::UploadFailed { .. } => "upload-failed",
            Step::RetryUploads => "retry-uploads",
            Step::Send => "send",
            Step::Queue => "queue",
            Step::Accepted { .. } => "accepted",
            Step::Unconfirmed { .. } => "unconfirmed",
            Step::Rejected { .. } => "rejected",
            Step::Search => "search",
            Step::NotFound => "not-found",
            Step::Resend => "resend",
            Step::Finished => "finished",
            Step::Fetch { .. } => "fetch",
            Step::Fetched { .. } => "fetched",
            Step::FetchFailed { .. } => "fetch-failed",
            Step::RetryFetch => "retry-fetch",
            Step::ClearFetchFailures => "clear-fetch-failures",
        }
    }
}

impl Phase {
    /// The phase of a job read from the ledger, with nothing in flight for it yet.
    pub(crate) fn of(job: &JobRecord) -> Self {
        match &job.submission {
            Submission::Uploading | Submission::Sending => Phase::Preparing,
            Submission::Queued => Phase::Queued,
            Submission::Unconfirmed { .. } => Phase::Unconfirmed { searching: false },
            Submission::Rejected { .. } => Phase::Settled,
            Submission::Accepted if !job.is_final() => Phase::Running,
            Submission::Accepted => Self::after_success(job),
        }
    }

    /// A final job's phase: files to fetch, or nothing left.
    fn after_success(job: &JobRecord) -> Self {
        if job.succeeded() && !job.fully_downloaded() {
            Phase::Downloading(Parts::default())
        } else {
            Phase::Settled
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Phase::Preparing => "preparing",
            Phase::Uploading { .. } => "uploading",
            Phase::Sending => "sending",
            Phase::Unconfirmed { .. } => "unconfirmed",
            Phase::Unresolved => "unresolved",
            Phase::Queued => "queued",
            Phase::Running => "running",
            Phase::Downloading(_) => "downloading",
            Phase::Settled => "settled",
        }
    }

    /// Something runs (or waits on a timer) for this job: an answer is still to come.
    pub(crate) fn busy(&self) -> bool {
        match self {
            Phase::Uploading { held, .. } => !held,
            Phase::Sending | Phase::Unconfirmed { searching: true } => true,
            Phase::Downloading(parts) => parts.busy(),
            _ => false,
        }
    }

    /// Counts against the team's concurrency ceiling: on the server, or on its way there.
    pub(crate) fn counts_at_ceiling(&self) -> bool {
        matches!(self, Phase::Sending | Phase::Running)
    }

    /// The phase `step` leads to, with the record to write; refused when it makes no sense
    /// from here.
    pub(crate) fn apply(&self, id: LocalId, step: Step, at: &Context) -> Result<Next, Refused> {
        let refused = Refused {
            from: self.name(),
            step: step.name(),
        };
        let submission = at.job.map(|j| &j.submission);
        let next = match (self, step) {
            (Phase::Preparing, Step::Upload) if !at.halted && at.job.is_some() => {
                Next::to(Phase::Uploading {
                    failures: 0,
                    held: false,
                })
            }
            (
                Phase::Uploading {
                    failures,
                    held: true,
                },
                Step::Upload,
            ) if !at.halted && at.job.is_some() => Next::to(Phase::Uploading {
                failures: *failures,
                held: false,
            }),
            (Phase::Uploading { .. }, Step::Uploaded { .. } | Step::UploadFailed { .. })
                if at.job.is_none() =>
            {
                // Forgotten while its files went up: nothing is left to do for it, and an
                // engine that waits on it would never come to rest.
                Next::to(Phase::Settled)
            }
            (Phase::Uploading { .. }, Step::Uploaded { file, asset_id }) => Next::to(self.clone())
                .with(Record::Uploaded {
                    local_id: id,
                    file,
                    asset_id,
                }),
            (Phase::Uploading { failures, held }, Step::UploadFailed { passing: true, .. })
                if *failures < UPLOAD_RETRIES =>
            {
                // The network or the server: keep it and try again a little later.
                let failures = failures + 1;
                Next {
                    retry_in: Some(backoff(failures)),
                    ..Next::to(Phase::Uploading {
                        failures,
                        held: *held,
                    })
                }
            }
            (Phase::Uploading { .. }, Step::UploadFailed { error, .. }) => {
                // Nothing was sent to generate, so nothing is charged.
                Next::to(Phase::Settled).with(Record::Rejected {
                    local_id: id,
                    reason: error,
                })
            }
            (Phase::Uploading { failures, .. }, Step::RetryUploads) => Next::to(Phase::Uploading {
                failures: *failures,
                held: at.halted || at.job.is_none(),
            }),
            (Phase::Preparing | Phase::Uploading { .. } | Phase::Queued, Step::Send)
                if at.halted || at.stopping =>
            {
                // Never sent with refused credentials (a refresh sends it), nor half-sent
                // while stopping (the next start does); a POST the ledger may already think
                // on its way is left as it is while stopping.
                match submission {
                    None => return Err(refused),
                    Some(Submission::Queued) => Next::to(Phase::Queued),
                    Some(Submission::Sending) if !at.halted => Next::to(self.clone()),
                    Some(_) => Next::to(Phase::Queued).with(Record::Queued { local_id: id }),
                }
            }
            (Phase::Preparing | Phase::Uploading { .. } | Phase::Queued, Step::Send) => {
                // Never sent unless the ledger knows it may have been: a crash would send
                // it again.
                match submission {
                    None => return Err(refused),
                    Some(Submission::Sending) => Next::to(Phase::Sending),
                    Some(_) => Next::to(Phase::Sending)
                        .with(Record::Sending { local_id: id })
                        .first(),
                }
            }
            (Phase::Preparing | Phase::Uploading { .. } | Phase::Sending, Step::Queue) => {
                Next::to(Phase::Queued).with(Record::Queued { local_id: id })
            }
            (
                Phase::Sending | Phase::Unconfirmed { searching: true },
                Step::Accepted { job_id, cost },
            ) => Next::to(Phase::Running).with(Record::Accepted {
                local_id: id,
                job_id,
                cost,
            }),
            // From preparing: the last run stopped between the intent and the answer.
            (Phase::Sending | Phase::Preparing, Step::Unconfirmed { reason }) => {
                Next::to(Phase::Unconfirmed { searching: false }).with(Record::Unconfirmed {
                    local_id: id,
                    reason,
                })
            }
            (Phase::Sending, Step::Rejected { reason }) => {
                Next::to(Phase::Settled).with(Record::Rejected {
                    local_id: id,
                    reason,
                })
            }
            (Phase::Unconfirmed { searching: false } | Phase::Unresolved, Step::Search)
                if !at.halted && at.job.is_some() =>
            {
                Next::to(Phase::Unconfirmed { searching: true })
            }
            (Phase::Unconfirmed { searching: true }, Step::NotFound) => Next::to(Phase::Unresolved),
            // Only what is not being looked for right now: a search may still find it.
            (Phase::Unconfirmed { searching: false } | Phase::Unresolved, Step::Resend)
                if at.job.is_some() =>
            {
                Next::to(Phase::Queued)
                    .with(Record::Resend { local_id: id })
                    .first()
            }
            (Phase::Running, Step::Finished) => match at.job {
                Some(job) => Next::to(Self::after_success(job)),
                None => Next::to(Phase::Settled),
            },
            (Phase::Downloading(parts), Step::Fetch { index })
                if !at.halted && !parts.in_flight(index) =>
            {
                let mut parts = parts.clone();
                parts.in_flight.insert(index);
                Next::to(Phase::Downloading(parts))
            }
            // The record says it succeeded: the phase catches up with it.
            (Phase::Running | Phase::Settled, Step::Fetch { index })
                if !at.halted && at.job.is_some_and(JobRecord::succeeded) =>
            {
                let mut parts = Parts::default();
                parts.in_flight.insert(index);
                Next::to(Phase::Downloading(parts))
            }
            (
                Phase::Downloading(parts),
                Step::Fetched {
                    index,
                    file,
                    size,
                    last_frame,
                    duration,
                },
            ) if parts.in_flight(index) => {
                let mut parts = parts.clone();
                parts.in_flight.remove(&index);
                parts.failures.remove(&index);
                let rest_done = at.job.is_none_or(|j| {
                    j.downloads
                        .iter()
                        .enumerate()
                        .all(|(i, d)| i == index || d.is_done())
                });
                let phase = if rest_done && !parts.busy() {
                    Phase::Settled
                } else {
                    Phase::Downloading(parts)
                };
                Next::to(phase).with(Record::Downloaded {
                    local_id: id,
                    index,
                    file,
                    size: Some(size),
                    last_frame,
                    duration,
                })
            }
            (
                Phase::Downloading(parts),
                Step::FetchFailed {
                    index,
                    error,
                    passing,
                    lasting,
                },
            ) if parts.in_flight(index) => {
                let mut parts = parts.clone();
                parts.in_flight.remove(&index);
                let failures = parts.failures.entry(index).or_default();
                *failures += 1;
                // The link expires: keep trying by ourselves, a little later each time. A full
                // disk: until there is room again.
                let retry_in = if lasting {
                    Some(LOCAL_RETRY)
                } else {
                    (passing && *failures <= DOWNLOAD_RETRIES).then(|| backoff(*failures))
                };
                parts.retry_due |= retry_in.is_some();
                Next {
                    retry_in,
                    ..Next::to(Phase::Downloading(parts)).with(Record::DownloadFailed {
                        local_id: id,
                        index,
                        error,
                    })
                }
            }
            (Phase::Downloading(parts), Step::RetryFetch) => {
                let mut parts = parts.clone();
                parts.retry_due = false;
                Next::to(Phase::Downloading(parts))
            }
            (Phase::Downloading(parts), Step::ClearFetchFailures) => {
                let mut parts = parts.clone();
                parts.failures.clear();
                Next::to(Phase::Downloading(parts))
            }
            _ => return Err(refused),
        };
        Ok(next)
    }
}

/// Every job's phase, in the order of their numbers.
#[derive(Debug, Default)]
pub(crate) struct Phases {
    jobs: BTreeMap<LocalId, Phase>,
    /// How many are queued, kept as they change: asked after every event.
    queued: usize,
}

impl Phases {
    /// The phases of the jobs the ledger holds at start-up.
    pub(crate) fn of<'a>(jobs: impl IntoIterator<Item = &'a JobRecord>) -> Self {
        let jobs: BTreeMap<LocalId, Phase> = jobs
            .into_iter()
            .map(|j| (j.local_id, Phase::of(j)))
            .collect();
        let queued = jobs.values().filter(|p| **p == Phase::Queued).count();
        Self { jobs, queued }
    }

    fn counted(&mut self, phase: Option<&Phase>, by: isize) {
        if phase == Some(&Phase::Queued) {
            self.queued = self.queued.saturating_add_signed(by);
        }
    }

    /// Jobs waiting to be sent.
    pub(crate) fn queued(&self) -> usize {
        self.queued
    }

    pub(crate) fn get(&self, id: LocalId) -> Option<&Phase> {
        self.jobs.get(&id)
    }

    /// Jobs with a phase.
    pub(crate) fn len(&self) -> usize {
        self.jobs.len()
    }

    pub(crate) fn set(&mut self, id: LocalId, phase: Phase) {
        self.counted(Some(&phase), 1);
        let before = self.jobs.insert(id, phase);
        self.counted(before.as_ref(), -1);
    }

    /// How many jobs are in a phase that `is`.
    pub(crate) fn count_in(&self, is: impl Fn(&Phase) -> bool) -> usize {
        self.jobs.values().filter(|p| is(p)).count()
    }

    /// The jobs in a phase that `is`, in order.
    pub(crate) fn ids_in(&self, is: impl Fn(&Phase) -> bool) -> Vec<LocalId> {
        self.jobs
            .iter()
            .filter(|(_, p)| is(p))
            .map(|(id, _)| *id)
            .collect()
    }

    /// POSTs in flight.
    pub(crate) fn sending(&self) -> usize {
        self.count_in(|p| *p == Phase::Sending)
    }

    /// What counts against the team's concurrency ceiling.
    pub(crate) fn running(&self) -> u64 {
        self.count_in(Phase::counts_at_ceiling) as u64
    }

    /// Something is in flight for some job.
    pub(crate) fn busy(&self) -> bool {
        self.jobs.values().any(Phase::busy)
    }

    /// The job is gone: its phase goes too, unless an answer is still to come for it (which
    /// is then taken, and lets it go).
    pub(crate) fn forget(&mut self, id: LocalId) {
        if self.jobs.get(&id).is_some_and(|p| !p.busy()) {
            let gone = self.jobs.remove(&id);
            self.counted(gone.as_ref(), -1);
        }
    }

    /// Lets go of the phases of jobs no longer held (`held` says which are) with nothing in
    /// flight: a job read back later starts again from its record.
    pub(crate) fn prune(&mut self, held: impl Fn(LocalId) -> bool) {
        self.jobs.retain(|id, p| held(*id) || p.busy());
        self.queued = self.count_in(|p| *p == Phase::Queued);
    }
}

#[cfg(test)]
mod tests;
