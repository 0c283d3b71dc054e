//! The engine's one task: owns the ledger and the schedule, turns commands and the results of
//! its background requests into ledger records and events.

mod team;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::downloads::DownloadTask;
use super::job::{JobRecord, LocalId, Submission};
use super::ledger::Ledger;
use super::lifecycle::place::Place;
use super::phase::{Context, Phase, Phases, Step};
use super::record::Record;
use super::schedule::Schedule;
use super::tasks::Kind;
use super::trouble::{Troubles, Verdict};
use super::upload_cache::{UploadCache, UploadError, upload_with_cache};
use super::{Command, EngineConfig, Event, reconcile};
use crate::api::types::{GenerateResponse, Job, JobStatus};
use crate::api::{
    ApiError, ClientOptions, DownloadProgress, RetryEvent, RetryNotice, Saved, ScenarioClient,
    job_file_stem,
};
use crate::sanitize::sanitize;

/// Polls in flight at once; more would only queue at the pacer.
const MAX_POLLS_IN_FLIGHT: usize = 8;
/// How often a client's own upload tells its progress.
const UPLOAD_PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// How long a stop waits for the answers of POSTs already sent.
const STOP_GRACE: Duration = Duration::from_secs(8);
/// How long finished work stays in memory after it may have finished.
const SYNC_AFTER: Duration = Duration::from_millis(500);
/// How often queued submissions are looked at, while there are some.
const QUEUE_EVERY: Duration = Duration::from_secs(2);

/// Results of the background requests the worker starts.
pub(crate) enum Internal {
    /// The server's description of the model, or why it could not be read.
    Model(Result<serde_json::Value, ApiError>),
    /// The team's plan limits, or why they could not be read.
    TeamLimits(Result<serde_json::Value, ApiError>),
    Submitted {
        local_id: LocalId,
        result: Result<GenerateResponse, ApiError>,
    },
    Polled {
        local_id: LocalId,
        result: Result<Job, ApiError>,
    },
    Progress {
        local_id: LocalId,
        index: usize,
        progress: DownloadProgress,
        rate: f64,
    },
    /// A verified file is about to take this name; `ack` once that is journaled.
    Placing {
        local_id: LocalId,
        index: usize,
        file: PathBuf,
        size: u64,
        ack: tokio::sync::oneshot::Sender<Result<(), String>>,
    },
    Downloaded {
        local_id: LocalId,
        index: usize,
        result: Result<Saved, ApiError>,
    },
    Reconciled {
        local_id: LocalId,
        result: Result<Option<String>, ApiError>,
    },
    Canceled {
        local_id: LocalId,
        result: Result<(), ApiError>,
    },
    RetryDownloads {
        local_id: LocalId,
    },
    Uploaded {
        local_id: LocalId,
        file: String,
        asset_id: String,
    },
    UploadFailed {
        local_id: LocalId,
        error: String,
        /// The failure may pass: try again later instead of giving up.
        passing: bool,
    },
    RetryUploads {
        local_id: LocalId,
    },
    Estimated {
        seq: u64,
        request: Box<crate::kling::KlingRequest>,
        cost: Result<f64, String>,
    },
    /// Bytes of a file a client asked to upload on its own.
    FileProgress {
        seq: u64,
        sent: u64,
        total: u64,
    },
    /// A dry run for a job a spend cap must weigh before it is sent.
    Quoted {
        local_id: LocalId,
        cost: Result<f64, String>,
    },
    /// A file a client asked to upload on its own is an asset, or why not.
    FileUploaded {
        seq: u64,
        result: Result<super::UploadedAsset, UploadError>,
    },
    /// A video's picture is on disk, or why not.
    Pictured {
        asset_id: String,
        result: Result<PathBuf, String>,
    },
    /// The team's Kling V3 Omni jobs, newest first, for a [`Command::Remote`].
    Listed {
        seq: u64,
        result: Result<(Vec<Job>, Option<String>), String>,
    },
    /// The jobs a [`Command::Import`] named, in its order: fetched, or `None` for those the
    /// ledger had already.
    Fetched {
        seq: u64,
        download_dir: Option<PathBuf>,
        jobs: Vec<(String, Option<Result<Job, String>>)>,
    },
    /// The client is waiting before it tries a request again.
    Retrying {
        message: String,
        server_asked: bool,
    },
}

pub(crate) struct Worker {
    client: ScenarioClient,
    ledger: Ledger,
    config: EngineConfig,
    events: mpsc::UnboundedSender<Event>,
    schedule: Schedule,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    download_slots: Arc<Semaphore>,
    uploads: Arc<std::sync::Mutex<UploadCache>>,
    /// Files clients asked to upload on their own, still going.
    file_uploads: usize,
    /// Jobs whose cost is being asked (a dry run) before a spend cap lets them go.
    quoting: HashSet<LocalId>,
    /// Where each job stands in this run, and what is in flight for it.
    phases: Phases,
    /// The team's concurrency ceiling, once a 429 has told us.
    action_limit: super::ceiling::Ceiling,
    settled: Option<bool>,
    troubles: Troubles,
    /// Why every request has stopped: the API refused the credentials.
    halted: Option<String>,
    /// When a wait asked by the server was last told, so a storm of them is told once.
    last_wait_told: Option<Instant>,
    /// Asked to stop: nothing new is sent; answers of what was sent are still ledgered.
    stopping: bool,
    /// The user's `on_finish` program.
    hook: Option<super::hook::FinishHook>,
    /// Where each job told of in this run was when last told of: the hook runs when one
    /// comes to be done.
    told: HashMap<LocalId, Place>,
    /// Pictures being fetched, by video asset id, with everyone waiting for each.
    pictures: HashMap<String, Vec<(u64, LocalId)>>,
    /// config.toml cannot be read: no request is sent (it may have set a cap) until it can.
    config_problem: Option<String>,
    /// The rules requests are checked against: the server's description of the model over
    /// the built-in table.
    rules: crate::kling::Rules,
    /// A read of the model's description is under way.
    model_asked: bool,
    /// Listings of the team's jobs under way, by the question they answer.
    pub(super) listings: HashMap<u64, tokio::task::AbortHandle>,
    /// What is in flight for each job, by handle: forgetting the job stops it.
    tasks: super::tasks::Tasks,
    /// The `.part` files downloads are writing.
    parts: super::downloads::Parts,
}

impl Worker {
    /// The worker and its client, whose retries it is told of.
    pub(crate) fn new(
        mut options: ClientOptions,
        ledger: Ledger,
        config: EngineConfig,
        events: mpsc::UnboundedSender<Event>,
    ) -> Result<Self, ApiError> {
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let tx = internal_tx.clone();
        options.retry.notice = Some(RetryNotice(Arc::new(move |event: &RetryEvent<'_>| {
            let _ = tx.send(Internal::Retrying {
                message: sanitize(&event.to_string()),
                server_asked: event.error.server_wait().is_some(),
            });
        })));
        let client = ScenarioClient::new(options)?;
        let uploads = Arc::new(std::sync::Mutex::new(UploadCache::load(ledger.dir())));
        let troubles = Troubles::new(config.report_after, config.give_up_after);
        let phases = Phases::of(ledger.jobs().values());
        let hook = super::hook::FinishHook::new(&config.on_finish, super::HOOK_TIMEOUT);
        Ok(Self {
            client,
            ledger,
            schedule: Schedule::new(config.poll_initial, config.poll_max),
            download_slots: Arc::new(Semaphore::new(config.max_downloads.max(1))),
            config,
            events,
            internal_tx,
            internal_rx,
            uploads,
            file_uploads: 0,
            quoting: HashSet::new(),
            phases,
            action_limit: super::ceiling::Ceiling::default(),
            settled: None,
            troubles,
            halted: None,
            last_wait_told: None,
            stopping: false,
            hook,
            config_problem: None,
            rules: crate::kling::Rules::builtin(),
            model_asked: false,
            listings: HashMap::new(),
            tasks: super::tasks::Tasks::default(),
            parts: Default::default(),
            told: HashMap::new(),
            pictures: HashMap::new(),
        })
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        for message in self.ledger.take_notices() {
            tracing::info!("{message}");
            self.emit(Event::Notice {
                message: sanitize(&message),
            });
        }
        if let Some((_, model)) = self.ledger.model() {
            self.rules = crate::kling::Rules::from_model(&model);
        }
        self.ask_model();
        self.ask_team_limits();
        if self.config.resume {
            self.resume();
        }
        // Each clock runs only while it has something to do (both do at the start): ticking
        // regardless, they woke the engine for nothing several times a second.
        let mut sync_at = Some(Instant::now());
        let mut queue_at = Some(Instant::now());
        // Once asked to stop: POSTs already sent get their answers ledgered, within bounds.
        let mut stop_by: Option<Instant> = None;
        let mut commands_open = true;
        loop {
            if let Some(by) = stop_by
                && (self.phases.sending() == 0 || Instant::now() >= by)
            {
                break;
            }
            // With every poll slot taken, the next wake-up is a poll's answer, not the clock:
            // an overdue job must not spin this loop.
            let next_poll =
                if self.halted.is_none() && self.schedule.in_flight() < MAX_POLLS_IN_FLIGHT {
                    self.schedule.next_due()
                } else {
                    None
                };
            if sync_at.is_none() && (self.ledger.may_evict() || self.outlived()) {
                sync_at = Some(Instant::now() + SYNC_AFTER);
            }
            if queue_at.is_none() && self.phases.queued() > 0 {
                queue_at = Some(Instant::now() + QUEUE_EVERY);
            }
            let far = Instant::now() + Duration::from_secs(3600);
            tokio::select! {
                command = commands.recv(), if commands_open => match command {
                    None | Some(Command::Shutdown) => {
                        commands_open = command.is_some();
                        self.stopping = true;
                        stop_by.get_or_insert(Instant::now() + STOP_GRACE);
                    }
                    Some(command) => self.command(command),
                },
                _ = tokio::time::sleep_until(stop_by.unwrap_or(far)), if stop_by.is_some() => {}
                Some(message) = self.internal_rx.recv() => self.internal(message),
                _ = tokio::time::sleep_until(next_poll.unwrap_or(far)), if next_poll.is_some() => {
                    self.launch_polls();
                }
                _ = tokio::time::sleep_until(sync_at.unwrap_or(far)), if sync_at.is_some() => {
                    sync_at = None;
                    self.sync();
                }
                _ = tokio::time::sleep_until(queue_at.unwrap_or(far)), if queue_at.is_some() => {
                    queue_at = None;
                    self.drain_queue();
                }
            }
            self.check_settled();
        }
        let unanswered = self.phases.sending();
        if unanswered > 0 {
            tracing::warn!(
                "stopped with {unanswered} submission(s) unanswered: they are searched for on the \
                 next start"
            );
        }
        self.sync();
    }

    fn emit(&self, event: Event) {
        // A client that stopped listening is not an error for the engine.
        let _ = self.events.send(event);
    }

    /// The ledger's file is no longer the one on disk (its folder was removed, or replaced by
    /// another engine's): nothing more is sent, and the engine stops.
    fn ledger_gone(&mut self) -> bool {
        if self.ledger.on_disk() {
            return false;
        }
        if !self.stopping {
            tracing::error!(
                "the ledger {} was removed or replaced: nothing more is sent from here",
                self.ledger.path().display()
            );
            self.stopping = true;
        }
        true
    }

    /// Reads the server's description of the model, unless one read less than a day ago is
    /// kept (or a read is under way).
    fn ask_model(&mut self) {
        let fresh = self.ledger.model().is_some_and(|(at, _)| {
            at.parse::<jiff::Timestamp>()
                .is_ok_and(|t| jiff::Timestamp::now().duration_since(t).as_secs() < MODEL_KEPT_SECS)
        });
        if fresh || self.model_asked {
            return;
        }
        self.model_asked = true;
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let result = client.get_model(crate::kling::MODEL_ID).await;
            let _ = tx.send(Internal::Model(result));
        });
    }

    /// Reads the team's concurrency ceiling, when the team is known, rather than finding it
    /// by 429s.
    fn ask_team_limits(&mut self) {
        let Some(team) = self.config.team_id.clone() else {
            return;
        };
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let result = client.team_limits(&team).await;
            let _ = tx.send(Internal::TeamLimits(result));
        });
    }

    /// The server's description of the model: kept, its rules taken, and each way it differs
    /// from the built-in table told once (ever, per ledger).
    fn model_read(&mut self, result: Result<serde_json::Value, ApiError>) {
        self.model_asked = false;
        match result {
            Ok(model) => {
                self.ledger.keep_model(&model);
                self.rules = crate::kling::Rules::from_model(&model);
                let differences = self.rules.differences();
                let told = self.ledger.told_rules();
                for difference in differences.iter().filter(|d| !told.contains(d)) {
                    tracing::info!("{difference}");
                    self.emit(Event::Notice {
                        message: sanitize(difference),
                    });
                }
                if differences != told {
                    self.ledger.keep_told_rules(&differences);
                }
            }
            Err(e) => {
                let message = format!(
                    "the model's description could not be read ({}): the built-in rules apply",
                    sanitize(&e.to_string())
                );
                tracing::info!("{message}");
                self.emit(Event::Notice { message });
            }
        }
    }

    fn team_limits_read(&mut self, result: Result<serde_json::Value, ApiError>) {
        let ceiling = result
            .as_ref()
            .ok()
            .and_then(super::ceiling::Ceiling::from_limits);
        match (ceiling, result) {
            (Some(ceiling), _) => {
                let n = ceiling.limit().unwrap_or_default();
                tracing::info!("the team runs at most {n} jobs at once (its plan's limits)");
                self.action_limit = ceiling;
                self.drain_queue();
            }
            (_, Err(e)) => tracing::info!(
                "the team's limits could not be read ({}): its ceiling is learnt from 429s",
                sanitize(&e.to_string())
            ),
            _ => tracing::info!("the team's limits name no ceiling: it is learnt from 429s"),
        }
    }

    fn emit_job(&mut self, id: LocalId) {
        if let Some(job) = self.ledger.job(id) {
            let mut job = job.clone();
            job.expected_at = self.expected_at(&job);
            job.place = Place::of(&job, self.phases.get(id), self.config.auto_download);
            let before = self.told.insert(id, job.place.clone());
            if job.place.finished_since(before.as_ref()) {
                self.run_hook(&job);
            }
            self.emit(Event::Job(Box::new(job)));
        }
    }

    /// When a queued or running job should be done, from the server's typical time for its
    /// mode (queue included) counted from when it was made.
    fn expected_at(&self, job: &JobRecord) -> Option<String> {
        let waiting = matches!(job.submission, Submission::Queued | Submission::Sending)
            || (job.submission == Submission::Accepted && !job.is_final());
        // A request a cap holds has no finish to expect until a person raises the cap.
        if !waiting || job.succeeded() || job.held.is_some() {
            return None;
        }
        let secs = self.rules.expected_seconds(job.request.mode)?;
        let made = job.created_at.parse::<jiff::Timestamp>().ok()?;
        let span = jiff::SignedDuration::try_from_secs_f64(secs).ok()?;
        Some(made.checked_add(span).ok()?.to_string())
    }

    /// Runs the `on_finish` hook for a job that has just finished.
    fn run_hook(&self, job: &JobRecord) {
        if let Some(hook) = &self.hook {
            hook.run(super::hook::Finished {
                local_id: job.local_id,
                job_id: job.job_id.clone().unwrap_or_default(),
                status: job
                    .status
                    .as_ref()
                    .map_or_else(String::new, |s| s.as_str().to_string()),
                files: job
                    .downloads
                    .iter()
                    .filter_map(|d| d.file.clone())
                    .collect(),
                prompt: job.request.prompt.clone(),
            });
        }
    }

    fn error(&self, local_id: Option<LocalId>, message: String) {
        tracing::warn!("job {local_id:?}: {message}");
        self.emit(Event::Error {
            local_id,
            message: sanitize(&message),
        });
    }

    /// Records and tells whether it is on disk; a failure is reported here.
    fn record(&mut self, record: Record, durable: bool) -> bool {
        match self.ledger.append(record, durable) {
            Ok(()) => true,
            Err(e) => {
                self.error(None, format!("cannot write the ledger: {e}"));
                false
            }
        }
    }

    /// Takes job `id` one step from its phase: writes the step's record and keeps the phase
    /// it leads to. Clients are told of the job by the caller, once its whole change is made.
    fn step(&mut self, id: LocalId, step: Step) -> Result<Moved, Unmoved> {
        let Some(phase) = self
            .phases
            .get(id)
            .cloned()
            .or_else(|| self.ledger.job(id).map(Phase::of))
        else {
            return Err(Unmoved::Refused);
        };
        let at = Context {
            job: self.ledger.job(id),
            halted: self.halted.is_some(),
            stopping: self.stopping,
        };
        let next = phase.apply(id, step, &at).map_err(|refused| {
            tracing::debug!("job {id}: {refused}");
            Unmoved::Refused
        })?;
        let wrote = next.record.is_some();
        if let Some(record) = next.record
            && !self.record(record, true)
            && next.record_first
        {
            return Err(Unmoved::NotRecorded);
        }
        self.phases.set(id, next.phase);
        if self.ledger.job(id).is_none() {
            // Forgotten meanwhile: let go of it once nothing more is to come for it.
            self.phases.forget(id);
        }
        Ok(Moved {
            wrote,
            retry_in: next.retry_in,
        })
    }

    fn phase(&self, id: LocalId) -> Option<&Phase> {
        self.phases.get(id)
    }

    /// Finished work leaves memory a moment after its last event went out. (Records are
    /// committed as they are made: nothing else waits for this.)
    fn sync(&mut self) {
        // What is kept of jobs no longer held comes from evictions, or from a forgotten job
        // (whose phase goes with its last answer): looked through only when there may be some.
        let evicted = self.ledger.evict_settled();
        if evicted || self.outlived() {
            let ledger = &self.ledger;
            self.phases.prune(|id| ledger.job(id).is_some());
            self.told.retain(|id, _| ledger.job(*id).is_some());
        }
    }

    /// Phases or rest marks are kept of jobs no longer held.
    fn outlived(&self) -> bool {
        let held = self.ledger.jobs().len();
        self.phases.len() > held || self.told.len() > held
    }

    /// Picks up where the last run stopped: polls every unfinished job, resumes downloads,
    /// and looks for submissions whose answer never came.
    fn resume(&mut self) {
        let jobs: Vec<JobRecord> = self.ledger.jobs().values().cloned().collect();
        for job in jobs {
            let id = job.local_id;
            match &job.submission {
                Submission::Sending => {
                    // The process stopped between the intent and the answer: the POST may
                    // have been sent. Never re-send; look for it instead.
                    let _ = self.step(
                        id,
                        Step::Unconfirmed {
                            reason: "interrupted before the server answered".into(),
                        },
                    );
                    self.start_reconcile(id);
                }
                Submission::Unconfirmed { .. } => self.start_reconcile(id),
                // Every file may be up already (the stop came just before sending).
                Submission::Uploading if job.local_files().is_empty() => self.start_submit(id),
                Submission::Uploading => self.start_uploads(id),
                Submission::Accepted if !job.is_final() => self.schedule.add(id, true),
                Submission::Accepted if job.succeeded() && self.config.auto_download => {
                    self.start_downloads(id);
                }
                _ => {}
            }
            self.emit_job(id);
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Submit {
                seq,
                token,
                request,
                download_dir,
                batch,
                quote,
            } => match self.submit(request, download_dir, token, batch.map(|b| *b), quote) {
                Ok(local_id) => self.emit(Event::Submitted { seq, local_id }),
                Err(message) => {
                    tracing::warn!("{message}");
                    self.emit(Event::NotSubmitted {
                        seq,
                        message: sanitize(&message),
                    });
                }
            },
            Command::Destination { local_id, dir } => {
                let ids: Vec<LocalId> = match local_id {
                    Some(id) => {
                        self.ledger.admit(id);
                        vec![id]
                    }
                    None => self
                        .ledger
                        .jobs()
                        .values()
                        .filter(|j| !j.fully_downloaded())
                        .map(|j| j.local_id)
                        .collect(),
                };
                for id in ids {
                    if self.ledger.job(id).is_some() {
                        self.record(
                            Record::Destination {
                                local_id: id,
                                dir: dir.clone(),
                            },
                            true,
                        );
                        // Not told on its own: it changes only where files will go, and the
                        // job's next word carries it. (A client asking for a download takes
                        // the next word on the job as where it stands.)
                    }
                }
            }
            Command::Resend(id) => {
                self.ledger.admit(id);
                match self.step(id, Step::Resend) {
                    Ok(_) => {
                        tracing::warn!("job {id}: re-sent at the user's request");
                        self.emit_job(id);
                        self.drain_queue();
                    }
                    Err(Unmoved::Refused) => self.error(
                        Some(id),
                        "not re-sent: only an unconfirmed submission that was searched for \
                         can be sent again"
                            .into(),
                    ),
                    // Told by the ledger's error already.
                    Err(Unmoved::NotRecorded) => {}
                }
            }
            Command::Cancel(id) if self.halted.is_some() => {
                self.error(
                    Some(id),
                    "cancel not sent: the API refused the credentials; refresh first".into(),
                );
            }
            Command::Cancel(id) => {
                self.ledger.admit(id);
                let Some(job_id) = self.ledger.job(id).and_then(|j| j.job_id.clone()) else {
                    self.error(
                        Some(id),
                        "cannot cancel: the server has no id for it yet".into(),
                    );
                    return;
                };
                let client = self.client.clone();
                let tx = self.internal_tx.clone();
                tokio::spawn(async move {
                    let result = client.cancel_job(&job_id).await;
                    let _ = tx.send(Internal::Canceled {
                        local_id: id,
                        result,
                    });
                });
            }
            Command::History {
                seq,
                search,
                order,
                offset,
                limit,
            } => match self.ledger.history(search.as_deref(), order, offset, limit) {
                Ok((mut jobs, total)) => {
                    for job in &mut jobs {
                        job.place = Place::of(job, None, self.config.auto_download);
                    }
                    self.emit(Event::History { seq, jobs, total })
                }
                Err(e) => {
                    self.error(None, format!("cannot read the history: {e}"));
                    // Answered all the same, so the asker does not wait for it forever.
                    self.emit(Event::History {
                        seq,
                        jobs: Vec::new(),
                        total: 0,
                    });
                }
            },
            Command::Download(id) => {
                if !self.ledger.admit(id) {
                    self.error(Some(id), "not in the ledger".into());
                    return;
                }
                // Earlier failures no longer count against the retries; any phase but
                // downloading has none to clear.
                let _ = self.step(id, Step::ClearFetchFailures);
                // Asked for by a person: a saved file that is gone (or not as it was
                // written) is fetched again rather than reported as saved.
                self.forget_missing_files(id);
                if self.ledger.job(id).is_some_and(JobRecord::awaits_video) {
                    // Nothing to fetch yet: ask the server again now, with a new wait.
                    self.troubles.video_named(id);
                    self.ledger.set_trouble(id, None);
                    self.schedule.add(id, true);
                }
                // The asker first hears what the ledger holds now, then the download.
                self.emit_job(id);
                self.start_downloads(id);
            }
            Command::Forget(id) => {
                self.ledger.admit(id);
                if self.ledger.job(id).is_some() {
                    // Its uploads, polls and downloads stop now; a POST in flight still has
                    // its answer recorded.
                    let stopped = self.tasks.abort_job(id);
                    self.quoting.remove(&id);
                    if !stopped.is_empty() {
                        tracing::info!("job {id} forgotten: {} task(s) stopped", stopped.len());
                    }
                    let handles = stopped.into_iter().map(|(_, h)| h).collect();
                    tokio::spawn(super::downloads::remove_parts(
                        self.parts.clone(),
                        id,
                        handles,
                    ));
                    self.record(Record::Forgotten { local_id: id }, true);
                    self.schedule.remove(id);
                    self.phases.forget(id);
                    self.emit(Event::Forgotten(id));
                }
            }
            Command::Refresh => {
                // Whoever asked hears where things stand once this refresh has run.
                self.settled = None;
                if self.halted.take().is_some() {
                    self.release_held();
                }
                self.retry_given_up();
                self.schedule.all_now();
                let ids = self.phases.ids_in(|p| *p == Phase::Unresolved);
                for id in ids {
                    self.start_reconcile(id);
                }
                let retry: Vec<LocalId> = self
                    .ledger
                    .jobs()
                    .values()
                    .filter(|j| {
                        j.succeeded()
                            && (j.downloads.iter().any(|d| d.error.is_some())
                                || (self.config.auto_download && !j.fully_downloaded()))
                    })
                    .map(|j| j.local_id)
                    .collect();
                for id in retry {
                    self.start_downloads(id);
                }
            }
            Command::Estimate { seq, request } if self.halted.is_some() => {
                let reason = "the API refused the credentials".to_string();
                self.emit(Event::Estimate {
                    seq,
                    cost: Err(reason),
                });
                drop(request);
            }
            Command::Estimate { seq, request } => {
                // Asked before (a batch planned again): no request spent on it.
                if let Some(cost) = self.ledger.cached_quote(&request, QUOTE_KEPT) {
                    self.emit(Event::Estimate {
                        seq,
                        cost: Ok(cost),
                    });
                    return;
                }
                let client = self.client.clone();
                let tx = self.internal_tx.clone();
                tokio::spawn(async move {
                    let cost = dry_run_cost(&client, &request).await;
                    let request = Box::new(request);
                    let _ = tx.send(Internal::Estimated { seq, request, cost });
                });
            }
            Command::Upload { seq, .. } if self.halted.is_some() => {
                let reason = "not uploaded: the API refused the credentials".to_string();
                self.emit(Event::UploadDone {
                    seq,
                    result: Err(UploadError::Failed(reason)),
                });
            }
            Command::Upload { seq, file, role } => {
                self.file_uploads += 1;
                let client = self.client.clone();
                let tx = self.internal_tx.clone();
                let cache = self.uploads.clone();
                tokio::spawn(async move {
                    // Told a few times a second at most: it crosses sockets to the asker. Told
                    // through the worker, so that nothing outlives it holding its events.
                    let mut told = Instant::now();
                    let progress_tx = tx.clone();
                    let mut progress = |p: crate::api::UploadProgress| {
                        if p.sent == p.total || told.elapsed() >= UPLOAD_PROGRESS_EVERY {
                            told = Instant::now();
                            let _ = progress_tx.send(Internal::FileProgress {
                                seq,
                                sent: p.sent,
                                total: p.total,
                            });
                        }
                    };
                    let result = upload_with_cache(&client, &cache, &file, role, &mut progress)
                        .await
                        .map(|(asset_id, reused)| super::UploadedAsset { asset_id, reused });
                    let _ = tx.send(Internal::FileUploaded { seq, result });
                });
            }
            Command::DailyCap(cap) => {
                if self.config.max_spend_per_day != cap {
                    tracing::info!("spend cap per day: {cap:?} CU");
                    self.config.max_spend_per_day = cap;
                }
                self.drain_queue();
                // Whoever set it hears where each held job stands now.
                self.emit_held(|_| true);
            }
            Command::Abandoned { seqs } => {
                for seq in seqs {
                    if let Some(listing) = self.listings.remove(&seq) {
                        tracing::info!("a listing of the team's jobs stopped: its client left");
                        listing.abort();
                    }
                }
            }
            Command::ReadConfig => {
                if let Some(path) = self.config.config_file.clone() {
                    self.command(super::config_file::read(&path));
                }
            }
            Command::ConfigFile {
                max_spend_per_day,
                video_wait_secs,
                problem,
            } => {
                if problem != self.config_problem {
                    match &problem {
                        Some(p) => {
                            tracing::error!("config.toml: {p}; nothing is sent until it is fixed")
                        }
                        None if self.config_problem.is_some() => {
                            tracing::info!("config.toml reads again")
                        }
                        None => {}
                    }
                    self.config_problem = problem.clone();
                    if let Some(p) = problem {
                        self.emit(Event::Notice {
                            message: sanitize(&format!(
                                "config.toml cannot be read ({p}); nothing is sent until it is fixed"
                            )),
                        });
                        return;
                    }
                }
                if problem.is_none() {
                    if let Some(wait) =
                        video_wait_secs.and_then(|s| Duration::try_from_secs_f64(s).ok())
                    {
                        self.config.video_wait = wait;
                    }
                    self.command(Command::DailyCap(max_spend_per_day));
                }
            }
            Command::BatchCap { name, max } => {
                let ids: Vec<LocalId> = self
                    .ledger
                    .jobs()
                    .values()
                    .filter(|j| j.batch.as_ref().is_some_and(|b| b.name == name))
                    .filter(|j| j.batch.as_ref().and_then(|b| b.max_cost) != max)
                    .map(|j| j.local_id)
                    .collect();
                for id in ids {
                    self.record(Record::BatchCap { local_id: id, max }, true);
                }
                self.drain_queue();
                self.emit_held(|j| j.batch.as_ref().is_some_and(|b| b.name == name));
            }
            Command::Overview { seq } => {
                let overview = self.overview();
                self.emit(Event::Overview { seq, overview });
            }
            Command::RetryBatch { name } => self.retry_batch(&name),
            Command::Prompts { seq, limit } => {
                let prompts = self.ledger.prompts(limit).unwrap_or_else(|e| {
                    // Answered all the same, so the asker does not wait for it forever.
                    self.error(None, format!("cannot read the prompt history: {e}"));
                    Vec::new()
                });
                self.emit(Event::Prompts { seq, prompts });
            }
            Command::Thumbnail { seq, local_id } => self.picture(seq, local_id),
            Command::Remote { seq, since } => self.list_remote(seq, since),
            Command::Import {
                seq,
                job_ids,
                download_dir,
            } => self.import(seq, job_ids, download_dir),
            Command::Shutdown => {}
        }
    }

    /// Today's spend against the daily cap, and every batch with its held requests counted.
    fn overview(&self) -> super::Overview {
        let today = self
            .ledger
            .committed_spend(today_start().as_deref(), None, 0)
            .unwrap_or_else(|e| {
                tracing::warn!("cannot read today's spend: {e}");
                0.0
            });
        let mut batches = self.ledger.batches(None).unwrap_or_else(|e| {
            tracing::warn!("cannot read the batches: {e}");
            Vec::new()
        });
        for job in self.ledger.jobs().values() {
            if let (Some(_), Some(tag)) = (&job.held, &job.batch)
                && let Some(summary) = batches.iter_mut().find(|b| b.name == tag.name)
            {
                summary.held += 1;
            }
        }
        super::Overview {
            today,
            day_cap: self.config.max_spend_per_day,
            batches,
        }
    }

    /// Sends again, as new submissions in the batch's order, the requests of batch `name`
    /// whose latest attempt failed. Each new one is named after the attempt it replaces, so
    /// the command arriving twice (sent again over a new connection) sends each once.
    fn retry_batch(&mut self, name: &str) {
        let failed = match self.ledger.batch_failures(name) {
            Ok(jobs) => jobs,
            Err(e) => {
                self.error(None, format!("cannot read batch {}: {e}", sanitize(name)));
                return;
            }
        };
        if failed.is_empty() {
            self.emit(Event::Notice {
                message: format!("batch {}: no failed request to send again", sanitize(name)),
            });
            return;
        }
        let mut sent = 0;
        for job in failed {
            let token = format!("retry:{}", job.local_id);
            let quote = job.quote.or(job.cost);
            match self.submit(job.request, job.download_dir, Some(token), job.batch, quote) {
                Ok(_) => sent += 1,
                Err(message) => self.error(Some(job.local_id), sanitize(&message)),
            }
        }
        self.emit(Event::Notice {
            message: format!(
                "batch {}: {sent} failed request(s) sent again",
                sanitize(name)
            ),
        });
    }

    /// Checks, ledgers and starts one submission; why not, if it is refused.
    fn submit(
        &mut self,
        request: crate::kling::KlingRequest,
        download_dir: Option<PathBuf>,
        token: Option<String>,
        batch: Option<super::BatchTag>,
        quote: Option<f64>,
    ) -> Result<LocalId, String> {
        if let Some(id) = token.as_deref().and_then(|t| self.ledger.find_token(t)) {
            // Sent again over a new connection: it is already here.
            self.emit_job(id);
            return Ok(id);
        }
        if self.stopping {
            return Err("not submitted: the engine is stopping; submit again in a moment".into());
        }
        if let Some(problem) = &self.config_problem {
            return Err(format!(
                "not submitted: config.toml cannot be read ({problem}); fix it and submit again"
            ));
        }
        if self.ledger_gone() {
            return Err(
                "not submitted: this engine's ledger was removed or replaced, and it is \
                 stopping; submit again in a moment (a new engine takes it)"
                    .into(),
            );
        }
        // A description older than a day is read again; this request goes by the one held.
        self.ask_model();
        let problems = request.validate_with(&self.rules);
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(format!("not submitted: {}", list.join("; ")));
        }
        // Local files are checked before anything is journaled or sent.
        let mut problems = Vec::new();
        for (file, role) in super::job::local_files(&request) {
            if let Err(mut p) = crate::media::check_file(std::path::Path::new(&file), role) {
                problems.append(&mut p);
            }
        }
        if !problems.is_empty() {
            return Err(format!("not submitted: {}", problems.join("; ")));
        }
        let created_at = jiff::Timestamp::now().to_string();
        let id = self
            .ledger
            .record_intent(created_at, request, token, batch)
            .map_err(|e| format!("not submitted: cannot record it in the ledger: {e}"))?;
        if let Some(dir) = download_dir {
            self.record(Record::Destination { local_id: id, dir }, true);
        }
        if let Some(cost) = quote.filter(|c| c.is_finite() && *c >= 0.0) {
            self.record(Record::Quoted { local_id: id, cost }, true);
        }
        self.emit_job(id);
        if let Some(job) = self.ledger.job(id) {
            self.phases.set(id, Phase::of(job));
        }
        if self
            .ledger
            .job(id)
            .is_some_and(|j| j.submission == Submission::Uploading)
        {
            self.start_uploads(id);
        } else if self.at_ceiling() {
            let _ = self.step(id, Step::Queue);
            self.emit_job(id);
        } else {
            self.start_submit(id);
        }
        Ok(id)
    }

    /// Jobs on the server that are not final yet, plus submissions in flight.
    fn running(&self) -> u64 {
        self.phases.running()
    }

    fn at_ceiling(&self) -> bool {
        self.action_limit.reached(self.running())
    }

    /// Sends queued submissions while the team is below its ceiling, oldest first.
    fn drain_queue(&mut self) {
        if self.halted.is_some() || self.stopping || self.config_problem.is_some() {
            return;
        }
        for id in self.phases.ids_in(|p| *p == Phase::Queued) {
            if self.at_ceiling() {
                break;
            }
            self.start_submit(id);
            // In order: one held by a spend cap holds those after it.
            if self.phase(id) == Some(&Phase::Queued) {
                break;
            }
        }
    }

    /// Whether a spend cap lets job `id` be sent now; why not, if it does not. Every POST
    /// passes here (in [`Worker::start_submit`]), so none is sent past a cap: what counts is
    /// the cost of every job the server took or may have taken today (its quote until its
    /// cost is known), refunded ones left out, plus this one's quote.
    fn spend_allows(&mut self, id: LocalId) -> Result<(), super::Hold> {
        if let Some(problem) = &self.config_problem {
            return Err(super::Hold {
                reason: format!("config.toml cannot be read ({problem})"),
                cap: None,
                until: None,
            });
        }
        let Some(job) = self.ledger.job(id) else {
            return Ok(());
        };
        let batch_cap = job
            .batch
            .as_ref()
            .and_then(|b| b.max_cost.map(|max| (b.name.clone(), max)));
        let day_cap = self.config.max_spend_per_day;
        if day_cap.is_none() && batch_cap.is_none() {
            return Ok(());
        }
        let quote = match job.quote {
            Some(quote) => quote,
            None => match self.ledger.cached_quote(&job.request, QUOTE_KEPT) {
                Some(cost) => {
                    self.record(Record::Quoted { local_id: id, cost }, true);
                    cost
                }
                None => {
                    self.ask_quote(id);
                    return Err(super::Hold {
                        reason: "spend cap: asking what it costs".into(),
                        cap: None,
                        until: None,
                    });
                }
            },
        };
        let day = match day_cap {
            Some(cap) => Some(super::spend::Tally {
                cap,
                spent: self
                    .ledger
                    .committed_spend(today_start().as_deref(), None, id)
                    .map_err(|e| unreadable(&e))?,
            }),
            None => None,
        };
        let batch = match batch_cap {
            Some((name, cap)) => Some(super::spend::Tally {
                cap,
                spent: self
                    .ledger
                    .committed_spend(None, Some(&name), id)
                    .map_err(|e| unreadable(&e))?,
            }),
            None => None,
        };
        super::spend::weigh(quote, day, batch, tomorrow_start())
    }

    /// A job still queued once its price is known says why: over a cap (and which), behind
    /// an earlier job a cap holds, or at the team's ceiling. Never left at "asking what it
    /// costs", which a client waits on.
    fn explain_hold(&mut self, id: LocalId) {
        if self.phase(id) != Some(&Phase::Queued) {
            return;
        }
        let Some(job) = self.ledger.job(id) else {
            return;
        };
        if job.held.as_ref().is_some_and(|h| h.cap.is_some()) {
            return;
        }
        let hold = match self.spend_allows(id) {
            Err(hold) => Some(hold),
            Ok(()) => {
                // It fits: it waits its turn behind an earlier request a cap holds.
                let ahead = self
                    .phases
                    .ids_in(|p| *p == Phase::Queued)
                    .into_iter()
                    .take_while(|other| *other < id)
                    .find_map(|other| {
                        let held = self.ledger.job(other)?.held.clone()?;
                        held.cap.map(|_| (other, held))
                    });
                ahead.map(|(other, held)| super::Hold {
                    reason: format!("waiting behind #{other}, which {}", held.reason),
                    cap: held.cap,
                    until: held.until,
                })
            }
        };
        if self.ledger.set_held(id, hold) {
            self.emit_job(id);
        }
    }

    /// Tells every held job `pick` chooses as it stands.
    fn emit_held(&self, pick: impl Fn(&JobRecord) -> bool) {
        for job in self.ledger.jobs().values() {
            if job.held.is_some() && pick(job) {
                self.emit(Event::Job(Box::new(job.clone())));
            }
        }
    }

    /// A free dry run for a job a spend cap must weigh; answered as [`Internal::Quoted`].
    fn ask_quote(&mut self, id: LocalId) {
        if !self.quoting.insert(id) {
            return;
        }
        let Some(request) = self.ledger.job(id).map(|j| j.request.clone()) else {
            return;
        };
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        self.tasks.spawn(id, Kind::Quote, async move {
            let cost = dry_run_cost(&client, &request).await;
            let _ = tx.send(Internal::Quoted { local_id: id, cost });
        });
    }

    /// Sends the job's POST, or holds it while nothing may be sent (see [`Step::Send`]).
    fn start_submit(&mut self, id: LocalId) {
        let Some(request) = self.ledger.job(id).map(|j| j.request.clone()) else {
            return;
        };
        if let Err(hold) = self.spend_allows(id) {
            // Held, queued here in order: sent once a cap is raised or spend comes back.
            let queued = self.phase(id) == Some(&Phase::Queued);
            if !queued {
                let _ = self.step(id, Step::Queue);
            }
            let reason = hold.reason.clone();
            if self.ledger.set_held(id, Some(hold)) || !queued {
                tracing::info!("job {id}: held: {reason}");
                self.emit_job(id);
            }
            return;
        }
        if self.ledger_gone() {
            // Its record would reach no one: the next engine sends it, from the ledger on disk.
            return;
        }
        // Told together with the step it makes way for: a client never sees it queued with
        // no reason in between (it would take that for the team's ceiling).
        let cleared = self.ledger.set_held(id, None);
        let Ok(moved) = self.step(id, Step::Send) else {
            if cleared {
                self.emit_job(id);
            }
            return;
        };
        if self.phase(id) != Some(&Phase::Sending) {
            // Held: told only when that changed its record.
            if moved.wrote || cleared {
                self.emit_job(id);
            }
            return;
        }
        self.emit_job(id);
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        self.tasks.spawn(id, Kind::Submit, async move {
            let result = client.generate(&request).await;
            let _ = tx.send(Internal::Submitted {
                local_id: id,
                result,
            });
        });
    }

    /// Uploads the job's local files one after the other (each checked again: it may have
    /// changed since), reusing earlier uploads of the same content.
    fn start_uploads(&mut self, id: LocalId) {
        if self.step(id, Step::Upload).is_ok() {
            self.spawn_uploads(id);
        }
    }

    fn spawn_uploads(&mut self, id: LocalId) {
        let Some(files) = self.ledger.job(id).map(JobRecord::local_files) else {
            return;
        };
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        let cache = self.uploads.clone();
        self.tasks.spawn(id, Kind::Upload, async move {
            for (file, role) in files {
                let outcome = upload_with_cache(
                    &client,
                    &cache,
                    std::path::Path::new(&file),
                    role,
                    &mut |_| {},
                )
                .await;
                let message = match outcome {
                    Ok((asset_id, _)) => Internal::Uploaded {
                        local_id: id,
                        file,
                        asset_id,
                    },
                    Err(error) => {
                        let passing = matches!(error, UploadError::Passing(_));
                        let _ = tx.send(Internal::UploadFailed {
                            local_id: id,
                            error: error.to_string(),
                            passing,
                        });
                        return;
                    }
                };
                if tx.send(message).is_err() {
                    return;
                }
            }
        });
    }

    fn start_reconcile(&mut self, id: LocalId) {
        let Some((request, created_at)) = self
            .ledger
            .job(id)
            .map(|j| (j.request.clone(), j.created_at.clone()))
        else {
            return;
        };
        // Refused while halted: looked for once the credentials are taken again (see
        // `release_held`); and never twice at once.
        if self.step(id, Step::Search).is_err() {
            return;
        }
        // Looked for again (a refresh of an unresolved one): it is working once more.
        self.emit_job(id);
        let claimed: HashSet<String> = self.ledger.server_ids();
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        self.tasks.spawn(id, Kind::Reconcile, async move {
            let result = reconcile::find(&client, &request, &created_at, &claimed).await;
            let _ = tx.send(Internal::Reconciled {
                local_id: id,
                result,
            });
        });
    }

    fn launch_polls(&mut self) {
        if self.halted.is_some() {
            return;
        }
        let room = MAX_POLLS_IN_FLIGHT.saturating_sub(self.schedule.in_flight());
        for id in self.schedule.take_due(room) {
            let Some(job_id) = self.ledger.job(id).and_then(|j| j.job_id.clone()) else {
                self.schedule.remove(id);
                continue;
            };
            let client = self.client.clone();
            let tx = self.internal_tx.clone();
            self.tasks.spawn(id, Kind::Poll, async move {
                let result = client.get_job(&job_id).await;
                let _ = tx.send(Internal::Polled {
                    local_id: id,
                    result,
                });
            });
        }
    }

    fn forget_missing_files(&mut self, id: LocalId) {
        let gone: Vec<usize> = self
            .ledger
            .job(id)
            .map(|job| {
                job.downloads
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| match (&d.file, d.size) {
                        (Some(file), size) => !std::fs::symlink_metadata(file)
                            .is_ok_and(|m| m.is_file() && size.is_none_or(|s| s == m.len())),
                        (None, _) => false,
                    })
                    .map(|(index, _)| index)
                    .collect()
            })
            .unwrap_or_default();
        for index in gone {
            tracing::info!("job {id}: file {} is gone: downloading it again", index + 1);
            self.record(
                Record::FileGone {
                    local_id: id,
                    index,
                },
                true,
            );
        }
    }

    fn start_downloads(&mut self, id: LocalId) {
        let Some(job) = self.ledger.job(id) else {
            return;
        };
        if self.halted.is_some() {
            return;
        }
        let Some(job_id) = job.job_id.clone() else {
            return;
        };
        if !job.succeeded() {
            return;
        }
        let pending: Vec<DownloadTask> = job
            .downloads
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.is_done())
            .map(|(index, d)| DownloadTask {
                client: self.client.clone(),
                local_id: id,
                index,
                asset_id: d.asset_id.clone(),
                dir: job
                    .download_dir
                    .clone()
                    .unwrap_or_else(|| self.config.download_dir.clone()),
                // A batch's files sort in the order of its requests.
                stem: match &job.batch {
                    Some(b) => format!("{:04}_{}", b.index, job_file_stem(&job_id, index + 1)),
                    None => job_file_stem(&job_id, index + 1),
                },
                recorded: d.recorded().map(|(p, s)| (p.to_path_buf(), s)),
            })
            .collect();
        for task in pending {
            if self.step(id, Step::Fetch { index: task.index }).is_ok() {
                let run = task.run(
                    self.download_slots.clone(),
                    self.internal_tx.clone(),
                    self.parts.clone(),
                );
                self.tasks.spawn(id, Kind::Download, run);
            }
        }
    }

    fn internal(&mut self, message: Internal) {
        match message {
            Internal::Model(result) => self.model_read(result),
            Internal::TeamLimits(result) => self.team_limits_read(result),
            Internal::Submitted { local_id, result } => self.submitted(local_id, result),
            Internal::Polled { local_id, result } => self.polled(local_id, result),
            Internal::Progress {
                local_id,
                index,
                progress,
                rate,
            } => self.emit(Event::DownloadProgress {
                local_id,
                index,
                bytes: progress.bytes,
                total: progress.total,
                rate,
            }),
            Internal::Placing {
                local_id,
                index,
                file,
                size,
                ack,
            } => {
                let recorded = self
                    .ledger
                    .append(
                        Record::Placing {
                            local_id,
                            index,
                            file,
                            size,
                        },
                        true,
                    )
                    .map_err(|e| format!("cannot write the ledger: {e}"));
                let _ = ack.send(recorded);
            }
            Internal::Downloaded {
                local_id,
                index,
                result,
            } => {
                match result {
                    Ok(saved) => {
                        let _ = self.step(
                            local_id,
                            Step::Fetched {
                                index,
                                file: saved.path.clone(),
                                size: saved.size,
                            },
                        );
                        self.emit(Event::DownloadFinished {
                            local_id,
                            index,
                            path: saved.path,
                        });
                    }
                    Err(e) => {
                        let message = sanitize(&e.to_string());
                        let failed = Step::FetchFailed {
                            index,
                            error: message.clone(),
                            passing: passing(&e),
                            lasting: matches!(e, ApiError::LocalResource { .. }),
                        };
                        let retry_in = self.step(local_id, failed).ok().and_then(|m| m.retry_in);
                        if let Some(wait) = retry_in {
                            tracing::warn!(
                                "download of job {local_id} failed ({message}); again in {wait:?}"
                            );
                            let tx = self.internal_tx.clone();
                            tokio::spawn(async move {
                                tokio::time::sleep(wait).await;
                                let _ = tx.send(Internal::RetryDownloads { local_id });
                            });
                        } else {
                            self.error(Some(local_id), format!("download failed: {message}"));
                        }
                    }
                }
                self.emit_job(local_id);
            }
            Internal::Reconciled { local_id, result } => {
                match result {
                    Ok(Some(job_id)) => {
                        let found = Step::Accepted { job_id, cost: None };
                        let _ = self.step(local_id, found);
                        self.schedule.add(local_id, true);
                    }
                    Ok(None) => {
                        let _ = self.step(local_id, Step::NotFound);
                        self.error(
                            Some(local_id),
                            "unconfirmed submission not found on the server: it was probably \
                             not created; it is never re-sent automatically, submit it again \
                             if you want it"
                                .into(),
                        );
                    }
                    Err(e) => {
                        let _ = self.step(local_id, Step::NotFound);
                        self.error(
                            Some(local_id),
                            format!("cannot look for the unconfirmed submission yet: {e}"),
                        );
                    }
                }
                self.emit_job(local_id);
            }
            Internal::Estimated { seq, request, cost } => {
                if let Ok(units) = cost {
                    self.ledger.keep_quote(&request, units);
                }
                self.emit(Event::Estimate { seq, cost });
            }
            Internal::Quoted { local_id, cost } => {
                self.quoting.remove(&local_id);
                match cost {
                    Ok(cost) => {
                        if let Some(job) = self.ledger.job(local_id) {
                            self.ledger.keep_quote(&job.request, cost);
                        }
                        self.record(Record::Quoted { local_id, cost }, true);
                        self.drain_queue();
                        self.explain_hold(local_id);
                    }
                    Err(e) => {
                        // Held until a quote comes: tried again with the queue's next look.
                        let hold = super::Hold {
                            reason: format!("spend cap: its cost is not known yet ({e})"),
                            cap: None,
                            until: None,
                        };
                        if self.ledger.set_held(local_id, Some(hold)) {
                            self.emit_job(local_id);
                        }
                    }
                }
            }
            Internal::FileProgress { seq, sent, total } => {
                self.emit(Event::UploadProgress { seq, sent, total });
            }
            Internal::FileUploaded { seq, result } => {
                self.file_uploads = self.file_uploads.saturating_sub(1);
                self.emit(Event::UploadDone { seq, result });
            }
            Internal::Retrying {
                message,
                server_asked,
            } => {
                // Passing failures are told per job by the poll streaks; a wait the server
                // asks for holds everything, so it is told at once (and not in a storm).
                let quiet = self
                    .last_wait_told
                    .is_some_and(|at| at.elapsed() < Duration::from_secs(30));
                if server_asked && !quiet {
                    self.last_wait_told = Some(Instant::now());
                    self.error(None, message);
                }
            }
            Internal::Uploaded {
                local_id,
                file,
                asset_id,
            } => {
                let _ = self.step(local_id, Step::Uploaded { file, asset_id });
                self.emit_job(local_id);
                let done = self
                    .ledger
                    .job(local_id)
                    .is_some_and(|j| j.local_files().is_empty());
                if done {
                    if self.at_ceiling() {
                        let _ = self.step(local_id, Step::Queue);
                        self.emit_job(local_id);
                    } else {
                        self.start_submit(local_id);
                    }
                }
            }
            Internal::UploadFailed {
                local_id,
                error,
                passing,
            } => {
                let failed = Step::UploadFailed {
                    error: error.clone(),
                    passing,
                };
                match self.step(local_id, failed) {
                    Ok(Moved {
                        retry_in: Some(wait),
                        ..
                    }) => {
                        tracing::warn!(
                            "upload for job {local_id} failed ({error}); again in {wait:?}"
                        );
                        let tx = self.internal_tx.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(wait).await;
                            let _ = tx.send(Internal::RetryUploads { local_id });
                        });
                    }
                    _ => {
                        self.error(Some(local_id), error);
                        self.emit_job(local_id);
                    }
                }
            }
            Internal::RetryUploads { local_id } => {
                let again = self.step(local_id, Step::RetryUploads).is_ok()
                    && self.phase(local_id).is_some_and(Phase::busy);
                if again {
                    self.spawn_uploads(local_id);
                }
            }
            Internal::RetryDownloads { local_id } => {
                let _ = self.step(local_id, Step::RetryFetch);
                self.start_downloads(local_id);
            }
            Internal::Pictured { asset_id, result } => self.pictured(&asset_id, result),
            Internal::Listed { seq, result } => self.listed(seq, result),
            Internal::Fetched {
                seq,
                download_dir,
                jobs,
            } => self.fetched(seq, download_dir, jobs),
            Internal::Canceled { local_id, result } => match result {
                Ok(()) => {
                    self.schedule.all_now();
                }
                Err(e) => self.error(Some(local_id), format!("cancel refused: {e}")),
            },
        }
    }

    fn submitted(&mut self, id: LocalId, result: Result<GenerateResponse, ApiError>) {
        match result {
            Ok(answer) if !answer.job.job_id.trim().is_empty() => {
                let accepted = Step::Accepted {
                    job_id: answer.job.job_id.clone(),
                    cost: answer.creative_units_cost,
                };
                let _ = self.step(id, accepted);
                if let Some(charge) = answer.ip_detection_charge() {
                    let charges = Record::Charges {
                        local_id: id,
                        add_ons: None,
                        ip_detection: Some(charge),
                        no_refund: None,
                    };
                    self.record(charges, true);
                }
                self.schedule.add(id, false);
            }
            Ok(_) => {
                let reason = "the server answered without a job id".into();
                let _ = self.step(id, Step::Unconfirmed { reason });
                self.start_reconcile(id);
            }
            Err(ApiError::Http {
                status: 429,
                action_limit,
                ..
            }) => {
                // Nothing was created: keep it here and send it when a slot frees up. Counted
                // once it is no longer on its way.
                let _ = self.step(id, Step::Queue);
                self.action_limit =
                    super::ceiling::Ceiling::from_refusal(action_limit, self.running());
            }
            Err(e @ ApiError::SubmissionUnknown { .. }) => {
                let reason = sanitize(&e.to_string());
                let _ = self.step(id, Step::Unconfirmed { reason });
                self.error(Some(id), e.to_string());
                self.start_reconcile(id);
            }
            Err(e @ ApiError::Connect { .. }) => {
                // Provably never sent: safe to try again later.
                let _ = self.step(id, Step::Queue);
                self.error(Some(id), format!("not sent yet, will retry: {e}"));
            }
            Err(e) => {
                let reason = sanitize(&e.to_string());
                let _ = self.step(id, Step::Rejected { reason });
                self.error(Some(id), format!("rejected: {e}"));
            }
        }
        self.emit_job(id);
    }

    fn polled(&mut self, id: LocalId, result: Result<Job, ApiError>) {
        if self.ledger.job(id).is_none() {
            self.schedule.remove(id);
            return;
        }
        match result {
            Ok(job) => {
                let record = Record::status_of(id, &job);
                let Record::Status {
                    status,
                    progress,
                    asset_ids,
                    error,
                    history,
                    ..
                } = &record
                else {
                    return;
                };
                let status = status.clone();
                // Compared with the job as held: no copy of it for every poll.
                let changed = self.ledger.job(id).is_none_or(|known| {
                    known.status.as_ref() != Some(&status)
                        || (known.progress - progress).abs() >= 0.005
                        || known.error != *error
                        || known.history.len() != history.len()
                        || !known
                            .downloads
                            .iter()
                            .map(|d| &d.asset_id)
                            .eq(asset_ids.iter())
                });
                self.troubles.cleared(id);
                let was_stale = self.ledger.set_trouble(id, None);
                if changed {
                    self.record(record, status.is_final());
                    self.schedule.changed(id);
                } else {
                    self.schedule.unchanged(id);
                }
                let charged = self.note_charges(id, &job);
                if changed || was_stale || charged {
                    self.emit_job(id);
                }
                // A success that names no video is not done: polled on (with the schedule's
                // backoff) until it names one, for a bounded time.
                let awaits_video = self.ledger.job(id).is_some_and(JobRecord::awaits_video);
                if awaits_video {
                    if let Some((message, trouble)) =
                        self.troubles
                            .no_video(id, self.config.video_wait, Instant::now())
                    {
                        self.schedule.remove(id);
                        self.ledger.set_trouble(id, Some(trouble));
                        self.error(Some(id), message);
                        self.emit_job(id);
                    }
                    self.drain_queue();
                } else if status.is_final() {
                    self.troubles.video_named(id);
                    self.schedule.remove(id);
                    let _ = self.step(id, Step::Finished);
                    if status == JobStatus::Success && self.config.auto_download {
                        self.start_downloads(id);
                    }
                    self.drain_queue();
                }
            }
            Err(e) => {
                let failures = self.schedule.failed(id);
                tracing::warn!("poll of job {id} failed ({failures} in a row): {e}");
                if matches!(e.status(), Some(401 | 403)) {
                    self.halt(&e);
                    return;
                }
                let error = sanitize(&e.to_string());
                match self.troubles.failed(id, failures, &error, Instant::now()) {
                    Verdict::Quiet => {}
                    Verdict::Report(message, trouble) => {
                        self.ledger.set_trouble(id, Some(trouble));
                        self.error(Some(id), message);
                        self.emit_job(id);
                    }
                    Verdict::GiveUp(message, trouble) => {
                        self.schedule.remove(id);
                        self.ledger.set_trouble(id, Some(trouble));
                        self.error(Some(id), message);
                        self.emit_job(id);
                    }
                }
            }
        }
    }

    /// Records what the server billed beside the job's cost, when that changed; whether it
    /// did.
    fn note_charges(&mut self, id: LocalId, job: &Job) -> bool {
        let Some(billing) = &job.billing else {
            return false;
        };
        let add_ons = billing.add_ons();
        let no_refund = billing.disable_refund;
        let known = self.ledger.job(id);
        let new_add_ons = add_ons.filter(|a| known.is_none_or(|k| k.add_on_cost != Some(*a)));
        let new_refund = no_refund.filter(|n| known.is_none_or(|k| k.no_refund != *n));
        if new_add_ons.is_none() && new_refund.is_none() {
            return false;
        }
        let record = Record::Charges {
            local_id: id,
            add_ons: new_add_ons,
            ip_detection: None,
            no_refund: new_refund,
        };
        self.record(record, true)
    }

    /// Stops every request: the credentials were refused, and repeating them would only be
    /// refused again. Told once.
    fn halt(&mut self, err: &ApiError) {
        if self.halted.is_some() {
            return;
        }
        let reason = sanitize(&format!(
            "the API refused the credentials ({err}); every request has stopped. Check \
             SCENARIO_API_KEY and SCENARIO_API_SECRET (or config.toml) and start again, or \
             refresh to try once more"
        ));
        tracing::error!("{reason}");
        self.halted = Some(reason.clone());
        self.emit(Event::Halted { reason });
    }

    /// After a halt: sends what was held, in order, and takes up held uploads, searches for
    /// unconfirmed submissions, and downloads.
    fn release_held(&mut self) {
        let unconfirmed = self
            .phases
            .ids_in(|p| matches!(p, Phase::Unconfirmed { .. }));
        for id in unconfirmed {
            self.start_reconcile(id);
        }
        let held: Vec<(LocalId, bool)> = self
            .ledger
            .jobs()
            .values()
            .filter(|j| j.submission == Submission::Uploading)
            .map(|j| (j.local_id, j.local_files().is_empty()))
            .collect();
        for (id, ready) in held {
            if ready {
                self.start_submit(id);
            } else {
                // Refused for uploads already under way.
                self.start_uploads(id);
            }
        }
        self.drain_queue();
    }

    /// Jobs whose polling was given up are polled again, their streaks forgotten.
    fn retry_given_up(&mut self) {
        let given_up: Vec<LocalId> = self
            .ledger
            .jobs()
            .values()
            .filter(|j| j.trouble.as_ref().is_some_and(|t| t.gave_up) && j.needs_poll())
            .map(|j| j.local_id)
            .collect();
        for id in given_up {
            self.troubles.cleared(id);
            self.ledger.set_trouble(id, None);
            self.schedule.add(id, true);
            self.emit_job(id);
        }
    }

    /// Emits [`Event::Settled`] each time everything comes to rest.
    fn check_settled(&mut self) {
        // The jobs first: with any running, that answers at the first one, where the phases'
        // look goes through every job, after every turn of the loop.
        let settled = self.ledger.jobs().values().all(|j| {
            Place::of(j, self.phases.get(j.local_id), self.config.auto_download).at_rest()
        }) && self.file_uploads == 0
            && !self.phases.busy();
        if settled && self.settled != Some(true) {
            self.emit(Event::Settled);
        } else if !settled && self.settled != Some(false) {
            self.emit(Event::Busy);
        }
        self.settled = Some(settled);
    }
}

/// A step taken.
struct Moved {
    /// The step had a record to write (written, or reported as not).
    wrote: bool,
    /// A passing failure: the step is tried again after this wait.
    retry_in: Option<Duration>,
}

/// Why a step was not taken; the job stays where it was.
#[derive(Debug, PartialEq)]
enum Unmoved {
    /// It makes no sense from the job's phase, or not now (a halt, a stop, in flight already).
    Refused,
    /// Its record had to be on disk first and could not be written.
    NotRecorded,
}

/// A failure that may pass by itself (the network, the server, a link), as opposed to one on
/// our side (a full disk, a refused file) that needs the user.
/// The model's description is read again after a day.
const MODEL_KEPT_SECS: i64 = 24 * 60 * 60;

/// How long a dry run's price is trusted for the same request: a batch planned in the
/// evening and sent overnight is not priced twice, and a change of price is seen by the
/// next day.
const QUOTE_KEPT: Duration = Duration::from_secs(24 * 60 * 60);

/// The start of today (UTC), as the ledger writes times.
fn today_start() -> Option<String> {
    format!("{:.0}", jiff::Timestamp::now())
        .get(..10)
        .map(|day| format!("{day}T00:00:00Z"))
}

/// The start of tomorrow (UTC), when the daily cap's count starts again.
fn tomorrow_start() -> Option<String> {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let tomorrow = now.date().tomorrow().ok()?;
    Some(format!("{tomorrow}T00:00:00Z"))
}

fn passing(err: &ApiError) -> bool {
    // A refused download (not the asset) is not fetched again by itself: that would only
    // fetch the same wrong thing; a refresh or the next start tries again.
    // A 404 right after a success is the asset not yet visible everywhere: it passes too.
    err.is_transient()
        || matches!(
            err,
            ApiError::Download { .. } | ApiError::Decode { .. } | ApiError::LocalResource { .. }
        )
        || err.status() == Some(404)
}

/// A hold for a ledger that cannot be read: nothing is sent past a cap it cannot check.
fn unreadable(e: &super::LedgerError) -> super::Hold {
    super::Hold {
        reason: format!("spend cap: cannot read the ledger: {e}"),
        cap: None,
        until: None,
    }
}

/// What a free dry run says `request` costs, or why there is no figure.
async fn dry_run_cost(
    client: &ScenarioClient,
    request: &crate::kling::KlingRequest,
) -> Result<f64, String> {
    match client.dry_run(request).await {
        Ok(answer) => answer
            .creative_units_cost
            .ok_or_else(|| "the server gave no cost".to_string()),
        Err(e) => Err(sanitize(&e.to_string())),
    }
}
