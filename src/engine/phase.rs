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
            (Phase::Downloading(parts), Step::Fetched { index, file, size })
                if parts.in_flight(index) =>
            {
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
mod tests {
    use super::*;
    use crate::api::types::JobStatus;
    use crate::engine::job::DownloadRecord;
    use crate::kling::KlingRequest;

    const ID: LocalId = 7;

    fn job(submission: Submission) -> JobRecord {
        let mut job = JobRecord::new(ID, "2026-01-01T00:00:00Z".into(), KlingRequest::new("fox"));
        job.submission = submission;
        job
    }

    /// A successful job with two parts, the first of them on disk when `first_done`.
    fn succeeded(first_done: bool) -> JobRecord {
        let mut job = job(Submission::Accepted);
        job.job_id = Some("job_1".into());
        job.status = Some(JobStatus::Success);
        job.downloads = vec![
            DownloadRecord {
                asset_id: "asset_a".into(),
                file: first_done.then(|| PathBuf::from("a.mp4")),
                ..DownloadRecord::default()
            },
            DownloadRecord {
                asset_id: "asset_b".into(),
                ..DownloadRecord::default()
            },
        ];
        job
    }

    fn at(job: &JobRecord) -> Context<'_> {
        Context {
            job: Some(job),
            halted: false,
            stopping: false,
        }
    }

    fn go(from: Phase, step: Step, at: &Context) -> Next {
        match from.apply(ID, step.clone(), at) {
            Ok(next) => next,
            Err(e) => panic!("{step:?} from {from:?}: {e}"),
        }
    }

    fn refused(from: Phase, step: Step, at: &Context) -> bool {
        from.apply(ID, step, at).is_err()
    }

    fn uploading(failures: u32) -> Phase {
        Phase::Uploading {
            failures,
            held: false,
        }
    }

    fn downloading(in_flight: &[usize], retry_due: bool) -> Phase {
        Phase::Downloading(Parts {
            in_flight: in_flight.iter().copied().collect(),
            failures: BTreeMap::new(),
            retry_due,
        })
    }

    #[test]
    fn a_job_forgotten_while_uploading_comes_to_rest_when_its_upload_ends() {
        let gone = Context {
            job: None,
            halted: false,
            stopping: false,
        };
        let uploaded = Step::Uploaded {
            file: "a.png".into(),
            asset_id: "asset_a".into(),
        };
        let next = go(uploading(0), uploaded, &gone);
        assert_eq!((next.phase, next.record), (Phase::Settled, None));
        let failed = Step::UploadFailed {
            error: "HTTP 503".into(),
            passing: true,
        };
        let next = go(uploading(1), failed, &gone);
        assert_eq!((next.phase, next.record), (Phase::Settled, None));
        assert!(!Phase::Settled.busy());
    }

    #[test]
    fn start_up_phases_come_from_the_record() {
        assert_eq!(Phase::of(&job(Submission::Uploading)), Phase::Preparing);
        assert_eq!(Phase::of(&job(Submission::Sending)), Phase::Preparing);
        assert_eq!(Phase::of(&job(Submission::Queued)), Phase::Queued);
        assert_eq!(
            Phase::of(&job(Submission::Unconfirmed { reason: "x".into() })),
            Phase::Unconfirmed { searching: false }
        );
        assert_eq!(
            Phase::of(&job(Submission::Rejected { reason: "x".into() })),
            Phase::Settled
        );
        assert_eq!(Phase::of(&job(Submission::Accepted)), Phase::Running);
        assert_eq!(Phase::of(&succeeded(false)), downloading(&[], false));
        let mut done = succeeded(true);
        done.downloads[1].file = Some("b.mp4".into());
        assert_eq!(Phase::of(&done), Phase::Settled);
        let mut failed = job(Submission::Accepted);
        failed.status = Some(JobStatus::Failure);
        assert_eq!(Phase::of(&failed), Phase::Settled);
    }

    #[test]
    fn uploads_go_up_retry_and_give_up() {
        let record = job(Submission::Uploading);
        let at = at(&record);
        assert_eq!(go(Phase::Preparing, Step::Upload, &at).phase, uploading(0));
        let next = go(
            uploading(0),
            Step::Uploaded {
                file: "fox.png".into(),
                asset_id: "asset_1".into(),
            },
            &at,
        );
        assert_eq!(next.phase, uploading(0));
        assert!(matches!(next.record, Some(Record::Uploaded { .. })));
        let failed = |passing| Step::UploadFailed {
            error: "reset".into(),
            passing,
        };
        let next = go(uploading(0), failed(true), &at);
        assert_eq!(next.phase, uploading(1));
        assert_eq!(next.retry_in, Some(Duration::from_millis(1000)));
        assert_eq!(next.record, None);
        assert_eq!(
            go(uploading(1), Step::RetryUploads, &at).phase,
            uploading(1)
        );
        let next = go(uploading(UPLOAD_RETRIES), failed(true), &at);
        assert_eq!(next.phase, Phase::Settled);
        assert!(matches!(next.record, Some(Record::Rejected { .. })));
        let next = go(uploading(0), failed(false), &at);
        assert_eq!(next.phase, Phase::Settled);
        assert_eq!(next.retry_in, None);
    }

    #[test]
    fn uploads_are_held_while_halted_and_taken_up_after() {
        let record = job(Submission::Uploading);
        let halted = Context {
            halted: true,
            ..at(&record)
        };
        assert!(refused(Phase::Preparing, Step::Upload, &halted));
        let held = go(uploading(2), Step::RetryUploads, &halted).phase;
        assert_eq!(
            held,
            Phase::Uploading {
                failures: 2,
                held: true
            }
        );
        assert!(!held.busy());
        assert_eq!(go(held, Step::Upload, &at(&record)).phase, uploading(2));
        assert!(refused(uploading(0), Step::Upload, &at(&record)), "twice");
    }

    #[test]
    fn sending_writes_the_intent_first_unless_it_is_there() {
        let record = job(Submission::Uploading);
        let next = go(uploading(0), Step::Send, &at(&record));
        assert_eq!(next.phase, Phase::Sending);
        assert_eq!(next.record, Some(Record::Sending { local_id: ID }));
        assert!(next.record_first);
        let record = job(Submission::Sending);
        let next = go(Phase::Preparing, Step::Send, &at(&record));
        assert_eq!(next.phase, Phase::Sending);
        assert_eq!(next.record, None);
        let record = job(Submission::Queued);
        assert_eq!(
            go(Phase::Queued, Step::Send, &at(&record)).phase,
            Phase::Sending
        );
    }

    #[test]
    fn nothing_goes_to_sending_while_stopping_or_halted() {
        for (submission, from) in [
            (Submission::Sending, Phase::Preparing),
            (Submission::Uploading, Phase::Preparing),
            (Submission::Uploading, uploading(0)),
            (Submission::Queued, Phase::Queued),
        ] {
            let record = job(submission.clone());
            for (halted, stopping) in [(true, false), (false, true), (true, true)] {
                let at = Context {
                    job: Some(&record),
                    halted,
                    stopping,
                };
                let next = go(from.clone(), Step::Send, &at);
                assert_ne!(
                    next.phase,
                    Phase::Sending,
                    "{submission:?} {halted} {stopping}"
                );
                let leaves_it = submission == Submission::Queued
                    || (stopping && !halted && submission == Submission::Sending);
                assert_eq!(next.record.is_none(), leaves_it, "{submission:?}");
            }
        }
        // While stopping, a POST the ledger may think on its way stays as it is.
        let record = job(Submission::Sending);
        let stopping = Context {
            stopping: true,
            ..at(&record)
        };
        assert_eq!(
            go(Phase::Preparing, Step::Send, &stopping).phase,
            Phase::Preparing
        );
    }

    #[test]
    fn answers_to_a_post() {
        let record = job(Submission::Sending);
        let at = at(&record);
        let next = go(
            Phase::Sending,
            Step::Accepted {
                job_id: "job_1".into(),
                cost: Some(2.0),
            },
            &at,
        );
        assert_eq!(next.phase, Phase::Running);
        assert!(matches!(
            next.record,
            Some(Record::Accepted { cost: Some(_), .. })
        ));
        let next = go(
            Phase::Sending,
            Step::Unconfirmed { reason: "x".into() },
            &at,
        );
        assert_eq!(next.phase, Phase::Unconfirmed { searching: false });
        assert!(matches!(next.record, Some(Record::Unconfirmed { .. })));
        let next = go(Phase::Sending, Step::Queue, &at);
        assert_eq!(next.phase, Phase::Queued);
        assert_eq!(next.record, Some(Record::Queued { local_id: ID }));
        let next = go(Phase::Sending, Step::Rejected { reason: "x".into() }, &at);
        assert_eq!(next.phase, Phase::Settled);
        assert!(matches!(next.record, Some(Record::Rejected { .. })));
        assert_eq!(go(Phase::Preparing, Step::Queue, &at).phase, Phase::Queued);
        assert_eq!(go(uploading(0), Step::Queue, &at).phase, Phase::Queued);
    }

    #[test]
    fn unconfirmed_submissions_are_searched_for_and_resent_only_on_request() {
        let record = job(Submission::Unconfirmed { reason: "x".into() });
        let at = at(&record);
        // The last run stopped between the intent and the answer.
        let interrupted = go(
            Phase::Preparing,
            Step::Unconfirmed { reason: "x".into() },
            &at,
        );
        assert_eq!(interrupted.phase, Phase::Unconfirmed { searching: false });
        let searching = go(interrupted.phase, Step::Search, &at).phase;
        assert_eq!(searching, Phase::Unconfirmed { searching: true });
        assert!(searching.busy());
        assert!(
            refused(searching.clone(), Step::Search, &at),
            "searched twice"
        );
        assert!(
            refused(searching.clone(), Step::Resend, &at),
            "found meanwhile?"
        );
        let found = go(
            searching.clone(),
            Step::Accepted {
                job_id: "job_1".into(),
                cost: None,
            },
            &at,
        );
        assert_eq!(found.phase, Phase::Running);
        let lost = go(searching, Step::NotFound, &at).phase;
        assert_eq!(lost, Phase::Unresolved);
        assert!(!lost.busy());
        let resent = go(lost.clone(), Step::Resend, &at);
        assert_eq!(resent.phase, Phase::Queued);
        assert_eq!(resent.record, Some(Record::Resend { local_id: ID }));
        assert!(resent.record_first);
        assert_eq!(
            go(lost, Step::Search, &at).phase,
            Phase::Unconfirmed { searching: true }
        );
        let halted = Context { halted: true, ..at };
        assert!(refused(
            Phase::Unconfirmed { searching: false },
            Step::Search,
            &halted
        ));
        assert_eq!(
            go(Phase::Unconfirmed { searching: false }, Step::Resend, &at).phase,
            Phase::Queued
        );
    }

    #[test]
    fn a_final_job_settles_or_downloads() {
        let mut failed = job(Submission::Accepted);
        failed.status = Some(JobStatus::Failure);
        assert_eq!(
            go(Phase::Running, Step::Finished, &at(&failed)).phase,
            Phase::Settled
        );
        let record = succeeded(false);
        assert_eq!(
            go(Phase::Running, Step::Finished, &at(&record)).phase,
            downloading(&[], false)
        );
    }

    #[test]
    fn downloads_fetch_retry_and_settle() {
        let record = succeeded(true);
        let at = at(&record);
        let fetching = go(downloading(&[], false), Step::Fetch { index: 1 }, &at).phase;
        assert_eq!(fetching, downloading(&[1], false));
        assert!(fetching.busy());
        assert!(
            refused(fetching.clone(), Step::Fetch { index: 1 }, &at),
            "twice"
        );
        let failed = |passing| Step::FetchFailed {
            index: 1,
            error: "reset".into(),
            passing,
            lasting: false,
        };
        let next = go(fetching.clone(), failed(true), &at);
        assert_eq!(next.retry_in, Some(Duration::from_millis(1000)));
        assert!(matches!(next.record, Some(Record::DownloadFailed { .. })));
        assert!(next.phase.busy(), "a retry is due");
        let waiting = go(next.phase, Step::RetryFetch, &at).phase;
        assert!(!waiting.busy());
        let again = go(waiting, Step::Fetch { index: 1 }, &at).phase;
        let next = go(
            again,
            Step::Fetched {
                index: 1,
                file: "b.mp4".into(),
                size: 9,
            },
            &at,
        );
        assert_eq!(next.phase, Phase::Settled);
        assert!(matches!(next.record, Some(Record::Downloaded { .. })));
        // Refused for good: the part waits for the user.
        let next = go(fetching, failed(false), &at);
        assert_eq!(next.retry_in, None);
        assert_eq!(next.phase, downloading(&[], false).with_failure(1, 1));
    }

    #[test]
    fn download_retries_are_bounded_until_the_user_asks() {
        let record = succeeded(true);
        let at = at(&record);
        let mut phase = downloading(&[], false);
        let mut retries = 0;
        loop {
            phase = go(phase, Step::Fetch { index: 1 }, &at).phase;
            let next = go(
                phase,
                Step::FetchFailed {
                    index: 1,
                    error: "reset".into(),
                    passing: true,
                    lasting: false,
                },
                &at,
            );
            phase = next.phase;
            if next.retry_in.is_none() {
                break;
            }
            retries += 1;
            phase = go(phase, Step::RetryFetch, &at).phase;
        }
        assert_eq!(retries, DOWNLOAD_RETRIES);
        // A full disk: tried again, slowly, for as long as it lasts.
        let mut phase = downloading(&[], false);
        for _ in 0..DOWNLOAD_RETRIES * 3 {
            phase = go(phase, Step::Fetch { index: 1 }, &at).phase;
            let next = go(
                phase,
                Step::FetchFailed {
                    index: 1,
                    error: "no space left on device".into(),
                    passing: true,
                    lasting: true,
                },
                &at,
            );
            assert_eq!(next.retry_in, Some(LOCAL_RETRY));
            phase = go(next.phase, Step::RetryFetch, &at).phase;
        }
        let cleared = go(phase, Step::ClearFetchFailures, &at).phase;
        assert_eq!(cleared, downloading(&[], false));
    }

    #[test]
    fn a_download_that_is_not_the_last_keeps_the_job_downloading() {
        let record = succeeded(false);
        let at = at(&record);
        let phase = go(downloading(&[], false), Step::Fetch { index: 0 }, &at).phase;
        let phase = go(phase, Step::Fetch { index: 1 }, &at).phase;
        let fetched = |index| Step::Fetched {
            index,
            file: "x.mp4".into(),
            size: 1,
        };
        let phase = go(phase, fetched(0), &at).phase;
        assert_eq!(phase, downloading(&[1], false));
        // The record now has the first part on disk.
        let record = succeeded(true);
        assert_eq!(
            go(
                phase,
                fetched(1),
                &Context {
                    job: Some(&record),
                    ..at
                }
            )
            .phase,
            Phase::Settled
        );
    }

    #[test]
    fn steps_that_make_no_sense_are_refused() {
        let record = succeeded(true);
        let at = at(&record);
        assert!(refused(Phase::Settled, Step::Send, &at));
        assert!(refused(Phase::Running, Step::Send, &at));
        assert!(refused(Phase::Sending, Step::Send, &at));
        assert!(refused(Phase::Settled, Step::Resend, &at));
        assert!(refused(Phase::Running, Step::Resend, &at));
        assert!(refused(Phase::Queued, Step::Finished, &at));
        assert!(refused(Phase::Settled, Step::Upload, &at));
        assert!(refused(
            Phase::Running,
            Step::Rejected { reason: "x".into() },
            &at
        ));
        assert!(refused(Phase::Queued, Step::NotFound, &at));
        assert!(refused(
            downloading(&[], false),
            Step::Fetched {
                index: 0,
                file: "a.mp4".into(),
                size: 1
            },
            &at
        ));
        let mut pending = job(Submission::Accepted);
        pending.status = Some(JobStatus::InProgress);
        assert!(refused(
            Phase::Running,
            Step::Fetch { index: 0 },
            &Context {
                job: Some(&pending),
                ..at
            }
        ));
        let gone = Context { job: None, ..at };
        assert!(refused(Phase::Queued, Step::Send, &gone));
        assert!(refused(Phase::Preparing, Step::Upload, &gone));
    }

    #[test]
    fn the_table_counts_what_the_ceiling_and_the_stop_need() {
        let mut queued = job(Submission::Queued);
        queued.local_id = 1;
        let mut running = job(Submission::Accepted);
        running.local_id = 2;
        let mut done = succeeded(true);
        done.local_id = 3;
        done.downloads.truncate(1);
        let mut phases = Phases::of([&queued, &running, &done]);
        assert_eq!(phases.running(), 1);
        assert_eq!(phases.sending(), 0);
        assert!(!phases.busy());
        phases.set(1, Phase::Sending);
        phases.set(4, Phase::Sending);
        assert_eq!(phases.running(), 3);
        assert_eq!(phases.sending(), 2);
        assert!(phases.busy());
        assert_eq!(phases.ids_in(|p| *p == Phase::Sending), [1, 4]);
        assert_eq!(phases.count_in(|p| *p == Phase::Settled), 1);
        // A job forgotten with its POST in flight keeps its phase until the answer.
        phases.forget(4);
        phases.forget(3);
        assert_eq!(phases.get(4), Some(&Phase::Sending));
        assert_eq!(phases.get(3), None);
        phases.set(4, Phase::Running);
        phases.prune(|id| id != 4);
        assert_eq!(phases.get(4), None);
        assert_eq!(phases.running(), 2);
    }

    impl Phase {
        fn with_failure(self, index: usize, failures: u32) -> Self {
            match self {
                Phase::Downloading(mut parts) => {
                    parts.failures.insert(index, failures);
                    Phase::Downloading(parts)
                }
                other => other,
            }
        }
    }

    #[test]
    fn queued_jobs_are_counted_as_their_phases_change() {
        let mut phases = Phases::of([&job(Submission::Queued)]);
        assert_eq!(phases.queued(), 1);
        phases.set(8, Phase::Queued);
        phases.set(9, Phase::Queued);
        assert_eq!(phases.queued(), 3);
        phases.set(ID, Phase::Sending);
        phases.set(8, Phase::Queued);
        assert_eq!(phases.queued(), 2);
        phases.forget(8);
        assert_eq!(phases.queued(), 1);
        phases.set(8, Phase::Queued);
        phases.prune(|id| id != 9);
        assert_eq!(phases.queued(), 1);
        assert_eq!(phases.count_in(|p| *p == Phase::Queued), 1);
    }
}
