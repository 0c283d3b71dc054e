//! The engine's one task: owns the ledger and the schedule, turns commands and the results of
//! its background requests into ledger records and events. Here: its state, its loop, and
//! how a job is stepped and told of. Beside it, one module per kind of work: what clients ask
//! (`commands`), what its tasks answer (`internal`), sending (`submit`), files (`transfers`),
//! following the server (`poll`), the model and limits (`model`), the team's jobs (`team`).

mod commands;
mod internal;
mod model;
mod poll;
mod provenance;
mod submit;
mod team;
mod transfers;

pub(crate) use internal::Internal;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::downloads::DownloadTask;
use super::file_names::job_file_stem;
use super::job::{JobRecord, LocalId, Submission};
use super::ledger::Ledger;
use super::lifecycle::place::Place;
use super::phase::{Context, Phase, Phases, Step};
use super::record::Record;
use super::schedule::Schedule;
use super::tasks::{Kind, Owner};
use super::trouble::{Troubles, Verdict};
use super::upload_cache::{UploadCache, UploadError, upload_with_cache};
use super::{Command, EngineConfig, Event, Failure, FailureKind, reconcile};
use crate::api::types::{GenerateResponse, Job, JobStatus};
use crate::api::{
    ApiError, ClientOptions, DownloadProgress, RetryEvent, RetryNotice, Saved, ScenarioClient,
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
        // What is left in flight stops here, not whenever the runtime goes: a transfer cut
        // now is resumed by the next start.
        let stopped = self.tasks.abort_all();
        if stopped > 0 {
            tracing::info!("stopped {stopped} task(s) in flight");
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

    fn error(&self, local_id: Option<LocalId>, error: Failure) {
        match local_id {
            Some(id) => tracing::warn!("job {id}: {error}"),
            None => tracing::warn!("{error}"),
        }
        self.emit(Event::Error { local_id, error });
    }

    /// Records and tells whether it is on disk; a failure is reported here.
    fn record(&mut self, record: Record, durable: bool) -> bool {
        match self.ledger.append(record, durable) {
            Ok(()) => true,
            Err(e) => {
                self.error(None, Failure::from(e).context("cannot write the ledger"));
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

/// What a free dry run says `request` costs, or why there is no figure.
async fn dry_run_cost(
    client: &ScenarioClient,
    request: &crate::kling::KlingRequest,
) -> Result<f64, Failure> {
    match client.dry_run(request).await {
        Ok(answer) => answer
            .creative_units_cost
            .ok_or_else(|| Failure::new(FailureKind::Network, "the server gave no cost")),
        Err(e) => Err(Failure::from(&e)),
    }
}
