//! The work: a journal of jobs on disk, a scheduler that polls every unfinished job within one
//! shared request budget, and a download manager. Takes [`Command`]s on one channel and emits
//! [`Event`]s on another; it draws nothing, so the CLI and the full-screen app are both just
//! clients of these two channels.

mod ceiling;
pub mod config_file;
mod downloads;
mod failure;
mod file_names;
mod filter;
mod hook;
mod ledger;
mod lifecycle;
mod pacer;
mod reconcile;
mod remote;
mod report;
mod schedule;
mod spend;
mod tasks;
mod thumbnail;
mod trouble;
pub mod upload_cache;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use failure::{Failure, FailureKind};
pub use file_names::job_file_stem;
pub use filter::{JobFilter, PLACE_WORDS, state_words};
pub use hook::HOOK_TIMEOUT;
pub use job::{
    BatchTag, DownloadRecord, Hold, JobRecord, LocalId, PollTrouble, STATUS_WORDS, Standing,
    Submission, is_local_file, local_files, with_absolute_files,
};
pub use ledger::{
    BatchSummary, HistoryOrder, JobQuery, Ledger, LedgerError, PromptEntry, Rejections, Spend,
    SpendBy, file_identity, per_kept,
};
pub use lifecycle::place::{Outcome, Place, Wait, Work};
use lifecycle::{job, phase, record};
pub use pacer::Pacer;

/// A file that is now an asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadedAsset {
    pub asset_id: String,
    /// Found in the upload cache: nothing was sent.
    pub reused: bool,
}
pub use record::Record;
pub use remote::RemoteJob;
pub use report::{BatchPlace, JobReport};

use crate::api::{ApiError, ClientOptions, Gate};
use crate::kling::KlingRequest;

/// How long a job's polls may fail before it is given up, unless set otherwise.
pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(30 * 60);

/// How the engine works; the defaults are what a user gets without configuration.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The most all jobs made in a day (UTC) may spend, in creative units.
    pub max_spend_per_day: Option<f64>,
    /// Where finished videos go.
    pub download_dir: PathBuf,
    /// Download every successful job at once: its links expire.
    pub auto_download: bool,
    /// Downloads running at the same time.
    pub max_downloads: usize,
    /// API requests per second, shared by every poll, lookup and submission.
    pub requests_per_second: f64,
    /// First wait between two polls of a job, and the wait after any change.
    pub poll_initial: Duration,
    /// Longest wait between two polls of an unchanged job.
    pub poll_max: Duration,
    /// Polls failing in a row before the failure is reported (then again every minute).
    pub report_after: u32,
    /// A job whose polls have failed for this long, with no good answer between, is no
    /// longer polled (it stays in the journal for a refresh or the next start).
    pub give_up_after: Option<Duration>,
    /// Take up the journal's unfinished work on start (polls, downloads, unconfirmed
    /// submissions). Off for a one-shot `submit`, which must not wait behind them.
    pub resume: bool,
    /// A program and its arguments (no shell) run for each job that comes to rest: failed,
    /// canceled, or succeeded and downloaded. Empty: none.
    pub on_finish: Vec<String>,
    /// How long a job the server calls a success is polled for while it names no video, before
    /// it is shown as a success without a video.
    pub video_wait: Duration,
    /// The team whose plan limits give the concurrency ceiling, where known.
    pub team_id: Option<String>,
    /// config.toml, which the engine reads again when asked ([`Command::ReadConfig`]).
    pub config_file: Option<PathBuf>,
}

/// How long a success without its video is waited for, unless `video_wait` says otherwise.
pub const DEFAULT_VIDEO_WAIT: Duration = Duration::from_secs(600);

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_spend_per_day: None,
            download_dir: PathBuf::from("."),
            auto_download: true,
            max_downloads: 3,
            requests_per_second: 5.0,
            poll_initial: Duration::from_secs(3),
            poll_max: Duration::from_secs(30),
            report_after: 2,
            give_up_after: Some(DEFAULT_GIVE_UP_AFTER),
            resume: true,
            on_finish: Vec::new(),
            video_wait: DEFAULT_VIDEO_WAIT,
            team_id: None,
            config_file: None,
        }
    }
}

/// What a client asks of the engine. Commands and events cross the engine's socket as JSON:
/// variants are only ever added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Command {
    /// Ledger the request, then send it (or queue it at the team's concurrency ceiling);
    /// answered by [`Event::Submitted`] or [`Event::NotSubmitted`] with the same `seq`. Its
    /// videos go to `download_dir` (an absolute path), else the engine's download folder.
    Submit {
        seq: u64,
        /// The client's name for this submission: the same token sent again (after a lost
        /// connection) answers with the job it already made.
        #[serde(default)]
        token: Option<String>,
        request: KlingRequest,
        #[serde(default)]
        download_dir: Option<PathBuf>,
        /// Its place in a batch, recorded with the intent.
        #[serde(default)]
        batch: Option<Box<BatchTag>>,
        /// What a dry run quoted for it, when the client asked one (a batch's plan).
        #[serde(default)]
        quote: Option<f64>,
    },
    /// The most all jobs made today (UTC) may spend, from the client's config.toml; `None`:
    /// no such cap. Held requests that now fit are sent, in order.
    DailyCap(Option<f64>),
    /// config.toml as it reads now, from the engine's own watch on it: its money settings
    /// apply at once. With `problem`, the file cannot be read: nothing is sent until it can.
    /// The client that asked these questions (by `seq`) has gone: work done only to answer
    /// them (a listing of the team's jobs) is stopped.
    Abandoned { seqs: Vec<u64> },
    /// Read config.toml again now (the engine reads it itself: a client's reading may be
    /// older). Sent by the engine's own watch on the file and by every client that attaches.
    ReadConfig,
    ConfigFile {
        #[serde(default)]
        max_spend_per_day: Option<f64>,
        #[serde(default)]
        video_wait_secs: Option<f64>,
        #[serde(default)]
        problem: Option<String>,
    },
    /// The most batch `name` may spend; held requests that now fit are sent, in order.
    BatchCap { name: String, max: Option<f64> },
    /// Ask the server to cancel; its refusal comes back as an [`Event::Error`].
    Cancel(LocalId),
    /// Download every asset of a finished job that is not on disk yet.
    Download(LocalId),
    /// Where the job's videos go from now on (every unsaved job's, without an id); files
    /// already saved stay where they are.
    Destination {
        local_id: Option<LocalId>,
        dir: PathBuf,
    },
    /// Send again a submission that was searched for on the server and not found. The
    /// user's explicit call: it may charge twice if the first did reach the server.
    Resend(LocalId),
    /// Drop a job from the journal (the job on the server is untouched).
    Forget(LocalId),
    /// Poll everything now, retry failed downloads and unconfirmed submissions.
    Refresh,
    /// Ask the server what `request` would cost (a free dry run); answered by
    /// [`Event::Estimate`] with the same `seq`.
    Estimate { seq: u64, request: KlingRequest },
    /// Upload a local file (an absolute path) as `role`, or find it in the upload cache;
    /// answered by [`Event::UploadProgress`] while it goes and [`Event::UploadDone`], with the
    /// same `seq`.
    Upload {
        seq: u64,
        file: PathBuf,
        role: crate::media::Role,
    },
    /// A page of finished jobs from the ledger whose prompt holds `search`, in `order`, from
    /// the `offset`-th; answered by [`Event::History`] with the same `seq`.
    History {
        seq: u64,
        search: Option<String>,
        order: HistoryOrder,
        offset: usize,
        limit: usize,
    },
    /// Today's spend against the daily cap, and where every batch stands; answered by
    /// [`Event::Overview`] with the same `seq`.
    Overview { seq: u64 },
    /// Every distinct prompt of the ledger with its latest use, newest first, at most
    /// `limit`; answered by [`Event::Prompts`] with the same `seq`.
    Prompts { seq: u64, limit: usize },
    /// Send again, as new paid submissions, the requests of batch `name` whose latest attempt
    /// failed or was refused. The user's explicit, confirmed call.
    RetryBatch { name: String },
    /// The picture of a finished job: its first output's `thumbnail` (else `firstFrame`)
    /// image, fetched once and kept on disk by asset id; answered by [`Event::Thumbnail`]
    /// with the same `seq`.
    Thumbnail { seq: u64, local_id: LocalId },
    /// The team's Kling V3 Omni jobs on the server, newest first, made after `since` (ISO
    /// 8601) if given; answered by [`Event::Remote`] with the same `seq`.
    Remote {
        seq: u64,
        #[serde(default)]
        since: Option<String>,
    },
    /// Add jobs made elsewhere (the web app, another client) to the ledger by their server id
    /// and follow them like any job; answered by [`Event::Imported`] with the same `seq`.
    /// Their videos go to `download_dir` (an absolute path), else the engine's folder.
    Import {
        seq: u64,
        job_ids: Vec<String>,
        #[serde(default)]
        download_dir: Option<PathBuf>,
    },
    /// Stop: finish writing the ledger and end the event stream.
    Shutdown,
}

impl Command {
    /// The number of a command that is answered (by the event of the same number), for
    /// whoever relays it to number it in its own sequence.
    pub fn seq_mut(&mut self) -> Option<&mut u64> {
        match self {
            Command::Submit { seq, .. }
            | Command::Estimate { seq, .. }
            | Command::Upload { seq, .. }
            | Command::History { seq, .. }
            | Command::Overview { seq }
            | Command::Prompts { seq, .. }
            | Command::Thumbnail { seq, .. }
            | Command::Remote { seq, .. }
            | Command::Import { seq, .. } => Some(seq),
            _ => None,
        }
    }

    /// A submission whose answer nobody waits for, to the engine's download folder.
    pub fn submit(request: KlingRequest) -> Self {
        Command::Submit {
            seq: 0,
            token: None,
            request,
            download_dir: None,
            batch: None,
            quote: None,
        }
    }
}

/// What the engine reports. Text in it is already sanitized.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// A job was added or changed: the whole record, to replace what the client had.
    Job(Box<JobRecord>),
    Forgotten(LocalId),
    DownloadProgress {
        local_id: LocalId,
        index: usize,
        bytes: u64,
        total: Option<u64>,
        /// Bytes per second since this attempt started.
        rate: f64,
    },
    DownloadFinished {
        local_id: LocalId,
        index: usize,
        path: PathBuf,
    },
    /// Something went wrong, of a job or of the engine: what kind, and the message to show.
    Error {
        local_id: Option<LocalId>,
        error: Failure,
    },
    /// Bytes of a [`Command::Upload`] sent so far.
    UploadProgress {
        seq: u64,
        sent: u64,
        total: u64,
    },
    /// The answer to [`Command::Upload`]: the asset id and whether the cache had it.
    UploadDone {
        seq: u64,
        result: Result<UploadedAsset, upload_cache::UploadError>,
    },
    /// The answer to [`Command::Estimate`]: creative units, or why there is no figure.
    Estimate {
        seq: u64,
        cost: Result<f64, Failure>,
    },
    /// The answer to [`Command::History`]: the page, and how many finished jobs match in all.
    History {
        seq: u64,
        jobs: Vec<JobRecord>,
        total: u64,
    },
    /// Something to tell the user once, not an error: the 0.1 journal taken over, a damaged
    /// record recovered.
    Notice {
        message: String,
    },
    /// The API refused the credentials (401 or 403 on a poll): every request has stopped.
    /// A [`Command::Refresh`] tries once more; new credentials need a restart.
    Halted {
        reason: String,
    },
    /// The answer to [`Command::Submit`]: the job's number in the ledger.
    Submitted {
        seq: u64,
        local_id: LocalId,
    },
    /// The answer to [`Command::Submit`] when nothing was recorded or sent, and why.
    NotSubmitted {
        seq: u64,
        error: Failure,
    },
    /// A connection to the engine (re)opened: every job it holds now, replacing what the
    /// client had. `restarted` when the engine is not the one attached to before.
    Attached {
        jobs: Vec<JobRecord>,
        halted: Option<String>,
        /// Nothing is in flight: as if [`Event::Settled`] was the last word.
        at_rest: bool,
        restarted: bool,
    },
    /// The connection to the engine was lost (it stopped, or was killed): the client tries
    /// again and reports [`Event::Attached`] once it is back.
    Detached {
        reason: String,
        /// It was stopped on purpose (`engine stop`, a signal): it is not started again
        /// until the client sends a command.
        stopped: bool,
    },
    /// The answer to [`Command::Overview`].
    Overview {
        seq: u64,
        overview: Overview,
    },
    /// The answer to [`Command::Prompts`].
    Prompts {
        seq: u64,
        prompts: Vec<PromptEntry>,
    },
    /// The answer to [`Command::Thumbnail`]: the picture's file on disk (PNG, JPEG or
    /// WebP), or why there is none.
    Thumbnail {
        seq: u64,
        local_id: LocalId,
        result: Result<PathBuf, Failure>,
    },
    /// The answer to [`Command::Remote`]: the team's Kling V3 Omni jobs, newest first.
    Remote {
        seq: u64,
        result: Result<Vec<RemoteJob>, Failure>,
        /// The listing stopped at its bound: why the list may be incomplete.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incomplete: Option<String>,
    },
    /// The answer to [`Command::Import`]: per server id, in the order asked, the job's
    /// number in the ledger (the one it already had, if any) or why it was not imported.
    Imported {
        seq: u64,
        results: Vec<(String, Result<LocalId, Failure>)>,
    },
    /// Work started again after [`Event::Settled`].
    Busy,
    /// Every job is final and, where it succeeded, downloaded (or its download failed and
    /// waits for a retry); nothing more will happen without a new command.
    Settled,
}

impl Event {
    /// An answer's number (that of the command it answers), and whether it is the last word
    /// on that command (upload progress is followed by more); `None` for everything else.
    pub fn answer_mut(&mut self) -> Option<(&mut u64, bool)> {
        match self {
            Event::Estimate { seq, .. }
            | Event::History { seq, .. }
            | Event::Submitted { seq, .. }
            | Event::NotSubmitted { seq, .. }
            | Event::UploadDone { seq, .. }
            | Event::Overview { seq, .. }
            | Event::Prompts { seq, .. }
            | Event::Thumbnail { seq, .. }
            | Event::Remote { seq, .. }
            | Event::Imported { seq, .. } => Some((seq, true)),
            Event::UploadProgress { seq, .. } => Some((seq, false)),
            _ => None,
        }
    }
}

/// What was spent today against the cap, and where every batch stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// What counts against `max_spend_per_day` now: confirmed costs of today's jobs (UTC),
    /// refunded ones left out, and quotes of those in flight.
    pub today: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_cap: Option<f64>,
    #[serde(default)]
    pub batches: Vec<BatchSummary>,
}

/// The two channels of a running engine: one in this process, or one reached over its socket.
pub struct EngineHandle {
    pub commands: mpsc::UnboundedSender<Command>,
    pub events: mpsc::UnboundedReceiver<Event>,
    task: JoinHandle<()>,
    /// The engine runs elsewhere: letting go of it never stops it.
    remote: bool,
}

impl EngineHandle {
    /// The channels of an engine in another process, relayed by `task`.
    pub fn remote(
        commands: mpsc::UnboundedSender<Command>,
        events: mpsc::UnboundedReceiver<Event>,
        task: JoinHandle<()>,
    ) -> Self {
        Self {
            commands,
            events,
            task,
            remote: true,
        }
    }

    /// Whether the engine runs in another process (and goes on after this one).
    pub fn is_remote(&self) -> bool {
        self.remote
    }

    /// An in-process engine stops and writes its ledger; a remote one is let go of, and
    /// goes on.
    pub async fn shutdown(self) {
        if !self.remote {
            let _ = self.commands.send(Command::Shutdown);
        }
        drop(self.commands);
        let _ = self.task.await;
    }

    /// The parts, for the engine process that relays them to its clients.
    pub fn into_parts(
        self,
    ) -> (
        mpsc::UnboundedSender<Command>,
        mpsc::UnboundedReceiver<Event>,
        JoinHandle<()>,
    ) {
        (self.commands, self.events, self.task)
    }
}

/// Starts the engine on the current tokio runtime. Every API request it makes passes through
/// one shared [`Pacer`]; submissions refused at the concurrency ceiling are queued, not retried.
pub fn start(
    mut options: ClientOptions,
    journal: Ledger,
    config: EngineConfig,
) -> Result<EngineHandle, ApiError> {
    let pacer = Arc::new(Pacer::new(config.requests_per_second));
    options.gate = Some(Gate(pacer));
    options.retry.retry_submit_at_limit = false;
    // The scheduler backs off per job; a couple of quick retries per poll is enough.
    options.retry.retries = options.retry.retries.min(2);
    let (command_tx, command_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let worker = worker::Worker::new(options, journal, config, event_tx)?;
    let task = tokio::spawn(worker.run(command_rx));
    Ok(EngineHandle {
        commands: command_tx,
        events: event_rx,
        task,
        remote: false,
    })
}
