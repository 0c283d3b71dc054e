//! The app's state and how keys and engine events change it. Pure: no terminal, no network;
//! what must happen outside comes back as [`Effect`]s for the runner, so every behaviour here
//! is testable by feeding keys and events.

use std::collections::HashSet;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{TextArea, WrapMode};

use super::batch::BatchPlan;
use super::form::{self, FIELDS, Field};
use super::history::{PROMPTS_ASKED, PromptSearch};
use super::keys::{Action, Keymap, PopupAction, PopupScope, Scope, popup_action};
use super::queue::{Queue, RowKey, Transfer};
use crate::engine::{Command, Event, JobRecord, LocalId, Overview, Submission};
use crate::kling::{KlingRequest, Problem, PromptRef, Shot, prompt_references};
use crate::media::{Role, check_file};
use crate::sanitize::{sanitize, sanitize_multiline};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Editor,
    Sidebar,
    Queue,
}

impl Focus {
    fn scope(self) -> Scope {
        match self {
            Focus::Editor => Scope::Editor,
            Focus::Sidebar => Scope::Sidebar,
            Focus::Queue => Scope::Queue,
        }
    }
}

use super::popup::{BatchFile, Compare, Confirm, FieldInput, Outcome, Problems, Shots};
pub use super::popup::{Confirmed, Popup};

/// Finished jobs asked of the ledger at a time.
pub const HISTORY_PAGE: usize = 200;

/// Where the app stands in reading finished jobs from the ledger.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct History {
    /// Of the last request; older answers are dropped.
    pub seq: u64,
    pub pending: bool,
    /// Every older finished job (for the current search) is loaded.
    pub exhausted: bool,
    /// Finished jobs loaded in the current order and search: the next page starts there.
    pub loaded: usize,
    /// How many finished jobs match in all, once known.
    pub total: Option<u64>,
}

/// What the runner must do for the app.
#[derive(Debug, Clone, PartialEq)]
// A few effects live for one key press each: boxing the command would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Effect {
    Engine(Command),
    /// The parameters changed: ask for a cost estimate once typing pauses.
    EstimateLater,
    Clipboard(String),
    Quit,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cost {
    Unknown,
    Pending,
    Known(f64),
    Failed(String),
}

pub struct App {
    pub focus: Focus,
    pub editor: TextArea<'static>,
    /// Every parameter but the prompt, which lives in the editor until it is read.
    pub request: KlingRequest,
    pub field: usize,
    pub queue: Queue,
    pub popup: Option<Popup>,
    pub filtering: bool,
    /// The last thing worth telling, and whether it is an error.
    pub message: Option<(String, bool)>,
    /// Why the engine stopped every request (refused credentials), until a refresh.
    pub halted: Option<String>,
    /// Finished jobs come from the ledger a page at a time, as the list is scrolled or filtered.
    pub history: History,
    pub cost: Cost,
    pub estimate_seq: u64,
    /// The API host, or "demo".
    pub host: String,
    /// Jobs created at or after this moment count towards the session's spend.
    pub started_at: jiff::Timestamp,
    pub now: jiff::Timestamp,
    pub problems: Vec<Problem>,
    /// What is wrong with the local files the request names.
    file_problems: Vec<Problem>,
    /// Spinner frame, advanced only while something runs.
    pub tick: u64,
    pub no_color: bool,
    pub keymap: Keymap,
    pub dirty: bool,
    /// Where this app's submissions put their videos (absolute); `None`: the engine's folder.
    pub download_dir: Option<std::path::PathBuf>,
    /// Why the engine cannot be reached, while it cannot.
    pub detached: Option<String>,
    /// The engine runs in the background and goes on after the app quits.
    pub engine_shared: bool,
    /// Today's spend against the daily cap and where each batch stands, as last asked.
    pub overview: Option<Overview>,
    /// Something changed that the overview counts: ask it again (the runner paces this).
    pub overview_due: bool,
    /// Batch plans opened, so a late answer for an earlier plan is told apart.
    plans: u64,
    /// Prompt searches opened, likewise.
    searches: u64,
    /// How to tell of what happened while the user looked elsewhere.
    pub notify: crate::config::NotifyMode,
    /// Notifications (title, body) for the runner to write to the terminal.
    pub notifications: Vec<(String, String)>,
    /// Pictures of finished jobs, asked of the engine for the selected job only.
    pub pictures: super::picture::Pictures,
    /// The team's jobs on the server, shown in place of the ledger's while open.
    pub server: Option<super::server::ServerView>,
    /// Listings and imports asked, numbered.
    remote_asks: u64,
    /// What the editor held before a prompt from the history replaced it, and the text put
    /// there: Ctrl+U, with that text untouched, brings it back in one step.
    before_fill: Option<(TextArea<'static>, KlingRequest, String)>,
}

fn new_editor(text: &str) -> TextArea<'static> {
    let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut editor = TextArea::new(lines);
    editor.set_wrap_mode(WrapMode::WordOrGlyph);
    editor.set_placeholder_text("Describe the video… (<<<image_N>>> names a reference image)");
    editor
}

impl App {
    pub fn new(host: String, now: jiff::Timestamp) -> Self {
        let mut app = Self {
            focus: Focus::Editor,
            editor: new_editor(""),
            request: KlingRequest::default(),
            field: 0,
            queue: Queue::new(),
            popup: None,
            filtering: false,
            message: None,
            halted: None,
            history: History::default(),
            cost: Cost::Unknown,
            estimate_seq: 0,
            host,
            started_at: now,
            now,
            problems: Vec::new(),
            file_problems: Vec::new(),
            tick: 0,
            no_color: false,
            keymap: Keymap::default(),
            dirty: true,
            download_dir: None,
            detached: None,
            engine_shared: false,
            overview: None,
            overview_due: true,
            plans: 0,
            searches: 0,
            notify: crate::config::NotifyMode::Auto,
            notifications: Vec::new(),
            pictures: super::picture::Pictures::new(crate::config::PreviewMode::Auto),
            server: None,
            remote_asks: 0,
            before_fill: None,
        };
        app.revalidate();
        app
    }

    pub fn prompt(&self) -> String {
        self.editor.lines().join("\n")
    }

    /// The request as it would be sent now.
    pub fn current_request(&self) -> KlingRequest {
        KlingRequest {
            prompt: self.prompt(),
            ..self.request.clone()
        }
    }

    /// Checks the request again; call after changing `request` from outside.
    pub fn revalidate(&mut self) {
        let request = self.current_request();
        // An empty prompt is not worth shouting about before anything was typed.
        self.problems = request
            .validate()
            .into_iter()
            .filter(|p| !(p.field == "prompt" && request.prompt.trim().is_empty()))
            .collect();
        self.problems.extend(self.file_problems.iter().cloned());
    }

    /// Checks the local files the request names (type, size, dimensions, duration) and keeps
    /// what is wrong for the sidebar. Only when references change: it reads the files.
    pub fn recheck_files(&mut self) {
        self.file_problems.clear();
        for field in FIELDS.iter().filter(|f| f.is_text()) {
            let role = if *field == Field::ReferenceVideo {
                Role::Video
            } else {
                Role::Image
            };
            for value in form::values_of(&self.request, *field) {
                if !crate::engine::is_local_file(&value) {
                    continue;
                }
                if let Err(problems) = check_file(std::path::Path::new(&value), role) {
                    self.file_problems
                        .extend(problems.into_iter().map(|message| Problem {
                            field: field.api_name().to_string(),
                            message,
                        }));
                }
            }
        }
        self.revalidate();
    }

    fn changed(&mut self, effects: &mut Vec<Effect>) {
        self.revalidate();
        self.cost = Cost::Pending;
        effects.push(Effect::EstimateLater);
    }

    /// The estimate request to send now, tagged so a late answer for old parameters is ignored.
    pub fn estimate_command(&mut self) -> Option<Command> {
        let request = self.current_request();
        if !request.validate().is_empty() {
            self.cost = Cost::Unknown;
            return None;
        }
        if !crate::engine::local_files(&request).is_empty() {
            // The API prices asset ids, not paths; the files are uploaded on submit.
            self.cost = Cost::Failed("after the upload".into());
            return None;
        }
        self.estimate_seq += 1;
        Some(Command::Estimate {
            seq: self.estimate_seq,
            request,
        })
    }

    /// True while a job runs or a file downloads: only then do spinners and clocks move.
    pub fn animating(&self) -> bool {
        !self.queue.transfers.is_empty() || self.queue.jobs.values().any(|j| !j.is_final())
    }

    /// Creative units of the jobs made in this session; failed jobs are refunded.
    pub fn spent(&self) -> f64 {
        self.queue
            .jobs
            .values()
            .filter(|j| j.submission == Submission::Accepted)
            .filter(|j| j.status != Some(crate::api::types::JobStatus::Failure))
            .filter(|j| {
                j.created_at
                    .parse::<jiff::Timestamp>()
                    .is_ok_and(|t| t >= self.started_at)
            })
            .filter_map(|j| j.cost)
            .sum()
    }

    fn say(&mut self, text: impl Into<String>) {
        self.message = Some((sanitize(&text.into()), false));
    }

    fn warn(&mut self, text: impl Into<String>) {
        self.message = Some((sanitize(&text.into()), true));
    }

    /// Downloads running, or submissions whose outcome is not known yet: quitting now would
    /// leave them to the next start.
    fn work_in_flight(&self) -> bool {
        !self.queue.transfers.is_empty()
            || self.queue.jobs.values().any(|j| {
                matches!(
                    j.submission,
                    Submission::Sending | Submission::Uploading | Submission::Unconfirmed { .. }
                )
            })
    }

    pub fn on_engine(&mut self, event: Event) {
        self.dirty = true;
        match event {
            Event::Job(job) => {
                // A batch's counts and today's spend come from the engine: ask again.
                let old = self.queue.jobs.get(&job.local_id);
                if job.batch.is_some()
                    || job.held.is_some()
                    || old.is_none_or(|o| o.cost != job.cost || o.status != job.status)
                {
                    self.overview_due = true;
                }
                // Only a change seen live is news: not what a snapshot or the ledger says.
                let finished_now = old.is_some_and(|o| !o.is_final()) && job.is_final();
                let held_now = job.held.as_ref().is_some_and(|h| h.cap.is_some())
                    && old.is_some_and(|o| o.held.as_ref().is_none_or(|h| h.cap.is_none()));
                if held_now && let Some(hold) = &job.held {
                    self.warn(format!(
                        "#{} held: {}",
                        job.local_id,
                        sanitize(&hold.reason)
                    ));
                }
                self.queue.upsert(*job.clone());
                if finished_now {
                    self.tell_finished(&job);
                }
            }
            Event::Prompts { seq, prompts } => {
                if let Some(Popup::History(search)) = &mut self.popup
                    && search.pending == Some(seq)
                {
                    search.fill(prompts);
                }
            }
            Event::Overview { overview, .. } => {
                self.queue.batches = overview
                    .batches
                    .iter()
                    .map(|b| (b.name.clone(), b.clone()))
                    .collect();
                self.overview = Some(overview);
            }
            Event::Forgotten(id) => self.queue.remove(id),
            Event::DownloadProgress {
                local_id,
                index,
                bytes,
                total,
                rate,
            } => {
                self.queue
                    .transfers
                    .insert((local_id, index), Transfer { bytes, total, rate });
            }
            Event::DownloadFinished {
                local_id,
                index,
                path,
            } => {
                self.queue.transfers.remove(&(local_id, index));
                self.say(format!("saved {}", path.display()));
            }
            Event::Error { local_id, message } => {
                if let Some(id) = local_id {
                    self.queue.transfers.retain(|(job, _), _| *job != id);
                    self.warn(format!("#{id}: {message}"));
                } else {
                    self.warn(message);
                }
            }
            Event::Estimate { seq, cost } => {
                if let Some(Popup::BatchPlan(plan)) = &mut self.popup
                    && plan.on_estimate(seq, cost.clone())
                {
                } else if seq == self.estimate_seq {
                    self.cost = match cost {
                        Ok(units) => Cost::Known(units),
                        Err(e) => Cost::Failed(e),
                    };
                }
            }
            Event::Notice { message } => self.say(message),
            Event::History { seq, jobs, total } => {
                if seq == self.history.seq {
                    self.history.pending = false;
                    self.history.total = Some(total);
                    self.history.exhausted = jobs.len() < HISTORY_PAGE;
                    self.history.loaded += jobs.len();
                    for job in jobs {
                        // What the engine says of a job it holds is newer than the ledger.
                        self.queue.jobs.entry(job.local_id).or_insert(job);
                    }
                }
            }
            Event::Halted { reason } => self.halted = Some(sanitize(&reason)),
            // The engine's answer says what became of it: sent, or held by a cap.
            Event::Submitted { local_id, .. } => {
                let hold = self.queue.jobs.get(&local_id).and_then(|j| j.held.clone());
                match hold {
                    Some(hold) => {
                        self.warn(format!("#{local_id} held: {}", sanitize(&hold.reason)))
                    }
                    None => self.say(format!("#{local_id} submitted")),
                }
            }
            // Answers to a client's own upload: the app uploads through its submissions.
            Event::Settled
            | Event::Busy
            | Event::UploadProgress { .. }
            | Event::UploadDone { .. } => {}
            Event::NotSubmitted { message, .. } => self.warn(message),
            Event::Thumbnail {
                local_id, result, ..
            } => match result {
                Ok(file) => self.pictures.load(local_id, &file),
                Err(e) => {
                    self.pictures
                        .by_job
                        .insert(local_id, super::picture::Picture::Failed(sanitize(&e)));
                }
            },
            Event::Remote {
                seq,
                result,
                incomplete,
            } => {
                if let Some(message) = incomplete {
                    self.warn(message);
                }
                if let Some(view) = &mut self.server
                    && view.pending == Some(seq)
                {
                    view.answered(result.map_err(|e| sanitize(&e)));
                }
            }
            Event::Imported { results, .. } => {
                for (job_id, result) in results {
                    let shown = sanitize(&job_id);
                    match result {
                        Ok(local_id) => {
                            if let Some(view) = &mut self.server {
                                view.imported(&job_id, local_id);
                            }
                            self.say(format!(
                                "{shown} is #{local_id} in the ledger: followed and downloaded"
                            ));
                        }
                        Err(e) => self.warn(format!("{shown} not imported: {}", sanitize(&e))),
                    }
                }
            }
            Event::Attached {
                jobs,
                halted,
                restarted,
                ..
            } => {
                // The engine's word replaces everything: what finished while away is read
                // again from the ledger.
                self.queue.jobs = jobs.into_iter().map(|j| (j.local_id, j)).collect();
                self.queue.transfers.clear();
                self.halted = halted;
                self.history = History {
                    seq: self.history.seq,
                    ..History::default()
                };
                self.overview_due = true;
                if restarted {
                    self.warn("engine restarted — reattached");
                } else if self.detached.take().is_some() {
                    self.say("engine reachable again — reattached");
                }
                self.detached = None;
            }
            Event::Detached { reason, .. } => {
                self.warn(format!("engine unreachable — retrying ({reason})"));
                self.detached = Some(reason);
            }
        }
    }

    pub fn on_paste(&mut self, text: &str) -> Vec<Effect> {
        self.dirty = true;
        let mut effects = Vec::new();
        match &mut self.popup {
            Some(popup) => popup.paste(text),
            None if self.filtering => self.queue.filter.push_str(&sanitize(text)),
            None if self.focus == Focus::Editor => {
                self.editor.insert_str(sanitize_multiline(text));
                self.changed(&mut effects);
            }
            None => {}
        }
        effects
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let (filter, sort) = (self.queue.filter.clone(), self.queue.sort);
        let mut effects = self.on_key_inner(key);
        if self.queue.filter != filter || self.queue.sort != sort {
            // Another search or order: history from its start again.
            self.history = History {
                seq: self.history.seq,
                ..History::default()
            };
            self.ask_history(&mut effects);
        } else {
            self.more_history(&mut effects);
        }
        effects
    }

    /// Asks for the newest page of finished jobs: at start, and for each new search.
    pub fn ask_history(&mut self, effects: &mut Vec<Effect>) {
        self.history.seq += 1;
        self.history.pending = true;
        let search = self.queue.filter.trim().to_string();
        effects.push(Effect::Engine(Command::History {
            seq: self.history.seq,
            search: (!search.is_empty()).then_some(search),
            order: self.queue.sort.history_order(),
            offset: self.history.loaded,
            limit: HISTORY_PAGE,
        }));
    }

    /// Asks for the next page of finished jobs when the selection nears the end of what is
    /// loaded.
    pub fn more_history(&mut self, effects: &mut Vec<Effect>) {
        if self.history.pending || self.history.exhausted || self.history.total.is_none() {
            return;
        }
        let order = self.queue.visible();
        let at = self
            .queue
            .selected_id()
            .and_then(|id| order.iter().position(|j| *j == id))
            .unwrap_or(0);
        if order.len().saturating_sub(at) <= HISTORY_PAGE / 4 {
            self.ask_history(effects);
        }
    }

    // Guards with side effects (typing into the editor) read worse than a nested `if`.
    #[allow(clippy::collapsible_match)]
    fn on_key_inner(&mut self, key: KeyEvent) -> Vec<Effect> {
        self.dirty = true;
        let mut effects = Vec::new();
        if self.popup.is_some() {
            self.popup_key(key, &mut effects);
            return effects;
        }
        if self.filtering {
            match popup_action(PopupScope::Filter, &key) {
                Some(PopupAction::Accept) => self.filtering = false,
                Some(PopupAction::Close) => {
                    self.filtering = false;
                    self.queue.filter.clear();
                }
                Some(PopupAction::DeleteChar) => {
                    self.queue.filter.pop();
                }
                _ => {
                    if let KeyCode::Char(c) = key.code
                        && !key.modifiers.contains(KeyModifiers::CONTROL)
                    {
                        self.queue.filter.push(c);
                    }
                }
            }
            return effects;
        }
        let undo = key.code == KeyCode::Char('u') && key.modifiers == KeyModifiers::CONTROL;
        // Once the filled text is edited, its undo is the editor's own again.
        if undo
            && self.focus == Focus::Editor
            && let Some((editor, request, filled)) = self.before_fill.take()
            && self.prompt() == filled
        {
            self.editor = editor;
            self.request = request;
            self.recheck_files();
            self.say("prompt from the history undone");
            self.changed(&mut effects);
            return effects;
        }
        match self.keymap.lookup(self.focus.scope(), &key) {
            Some(action) => self.act(action, &mut effects),
            None if self.focus == Focus::Editor => {
                if self.editor.input(key) {
                    self.changed(&mut effects);
                }
            }
            None => {}
        }
        effects
    }

    fn act(&mut self, action: Action, effects: &mut Vec<Effect>) {
        if self.server.is_some() && self.focus == Focus::Queue && self.server_act(action, effects) {
            return;
        }
        match action {
            Action::Submit => self.submit(effects),
            Action::FocusNext | Action::FocusPrev => {
                let order = [Focus::Editor, Focus::Sidebar, Focus::Queue];
                let i = order.iter().position(|f| *f == self.focus).unwrap_or(0);
                let step = if action == Action::FocusNext { 1 } else { 2 };
                self.focus = order[(i + step) % 3];
            }
            Action::Help => self.popup = Some(Popup::Help),
            Action::Quit | Action::ForceQuit => {
                // A background engine goes on when the app leaves: nothing to ask.
                if self.work_in_flight() && !self.engine_shared {
                    self.popup = Some(Popup::Confirm(Confirm::new(
                        "Downloads or unconfirmed submissions are in flight; they \
                         resume at the next start. Quit now?",
                        Confirmed::Quit,
                    )));
                } else {
                    effects.push(Effect::Quit);
                }
            }
            Action::Redo => {
                if self.editor.redo() {
                    self.changed(effects);
                }
            }
            Action::InsertImageRef => {
                let next = prompt_references(&self.prompt())
                    .into_iter()
                    .filter_map(|r| match r {
                        PromptRef::Image(n) => Some(n),
                        PromptRef::Video(_) => None,
                    })
                    .max()
                    .unwrap_or(0)
                    + 1;
                self.editor.insert_str(format!("<<<image_{next}>>>"));
                self.changed(effects);
            }
            Action::InsertVideoRef => {
                self.editor.insert_str("<<<video_1>>>");
                self.changed(effects);
            }
            Action::Up | Action::Down => {
                let delta = if action == Action::Up { -1 } else { 1 };
                match self.focus {
                    Focus::Sidebar => {
                        self.field = (self.field as isize + delta)
                            .clamp(0, FIELDS.len() as isize - 1)
                            as usize;
                    }
                    Focus::Queue => self.queue.move_selection(delta),
                    Focus::Editor => {}
                }
            }
            Action::Decrease | Action::Increase => {
                let field = FIELDS[self.field];
                if !field.is_text() && field != Field::MultiShot {
                    form::step(&mut self.request, field, action == Action::Increase);
                    self.changed(effects);
                }
            }
            Action::Activate => self.activate_field(effects),
            Action::Download => match self.queue.selected_job() {
                Some(job) if job.fully_downloaded() => {
                    let files: Vec<String> = job
                        .downloads
                        .iter()
                        .filter_map(|d| d.file.as_ref().map(|f| f.display().to_string()))
                        .collect();
                    self.say(format!("already on disk: {}", files.join(", ")));
                }
                Some(job) if job.succeeded() => {
                    effects.push(Effect::Engine(Command::Download(job.local_id)));
                    self.say(format!("downloading #{}", job.local_id));
                }
                Some(job) => {
                    let id = job.local_id;
                    let state = job.state_word();
                    self.warn(format!("#{id} has nothing to download yet ({state})"));
                }
                None => {}
            },
            Action::DownloadAll => {
                let ids: Vec<LocalId> = self
                    .queue
                    .jobs
                    .values()
                    .filter(|j| j.succeeded() && !j.fully_downloaded())
                    .map(|j| j.local_id)
                    .collect();
                self.say(format!("downloading {} jobs", ids.len()));
                effects.extend(
                    ids.into_iter()
                        .map(|id| Effect::Engine(Command::Download(id))),
                );
            }
            Action::Cancel => match self.queue.selected_job() {
                Some(job) if job.job_id.is_some() && !job.is_final() => {
                    self.popup = Some(Popup::Confirm(Confirm::new(
                        format!(
                            "Ask the server to cancel #{}? Most Kling jobs refuse.",
                            job.local_id
                        ),
                        Confirmed::Cancel(job.local_id),
                    )));
                }
                Some(_) => self.warn("only a running job can be canceled"),
                None => {}
            },
            Action::Reuse if matches!(self.queue.selected_row(), Some(RowKey::Batch(_))) => {
                self.queue.toggle_fold();
            }
            Action::Fold => {
                if !self.queue.toggle_fold() {
                    self.warn("the selected job is not part of a batch");
                }
            }
            Action::Server => {
                if self.server.take().is_none() {
                    self.remote_asks += 1;
                    effects.push(Effect::Engine(Command::Remote {
                        seq: self.remote_asks,
                        since: None,
                    }));
                    self.server = Some(super::server::ServerView::new(self.remote_asks));
                    self.focus = Focus::Queue;
                }
            }
            Action::Import => self.warn("i imports in the Server view (S opens it)"),
            Action::Picture => match self.queue.selected_id() {
                Some(id)
                    if matches!(
                        self.pictures.by_job.get(&id),
                        Some(super::picture::Picture::Ready(_))
                    ) =>
                {
                    self.popup = Some(Popup::Picture(id));
                }
                Some(id) => self.warn(format!("#{id} has no picture to show")),
                None => {}
            },
            Action::Mark => {
                if let Some(id) = self.queue.selected_id() {
                    if let Some(at) = self.queue.marked.iter().position(|m| *m == id) {
                        self.queue.marked.remove(at);
                    } else {
                        self.queue.marked.push(id);
                    }
                    // On to the next row, as in mutt and ranger.
                    self.queue.move_selection(1);
                    self.say(format!(
                        "{} marked: = compares them",
                        self.queue.marked.len()
                    ));
                }
            }
            Action::Compare => {
                let jobs: Vec<LocalId> = self
                    .queue
                    .marked
                    .iter()
                    .copied()
                    .filter(|id| self.queue.jobs.contains_key(id))
                    .take(super::compare::MAX_COMPARED)
                    .collect();
                if jobs.len() < 2 {
                    self.warn("mark two jobs or more with Space, then = compares them");
                } else {
                    self.popup = Some(Popup::Compare(Compare { jobs }));
                }
            }
            Action::History => {
                self.searches += 1;
                effects.push(Effect::Engine(Command::Prompts {
                    seq: self.searches,
                    limit: PROMPTS_ASKED,
                }));
                self.popup = Some(Popup::History(Box::new(PromptSearch::new(self.searches))));
            }
            Action::OpenBatch => {
                self.popup = Some(Popup::BatchFile(BatchFile::new()));
            }
            Action::Resend if matches!(self.queue.selected_row(), Some(RowKey::Batch(_))) => {
                let Some(name) = self.queue.selected_batch() else {
                    return;
                };
                let summary = self.queue.batch_summary(&name);
                if summary.failed == 0 {
                    self.warn(format!(
                        "batch {} has no failed request to send again",
                        sanitize(&name)
                    ));
                } else {
                    self.popup = Some(Popup::Confirm(Confirm::new(
                        format!(
                            "Send again the {} failed request(s) of batch {}? Each is a new, \
                             paid submission.",
                            summary.failed,
                            sanitize(&name)
                        ),
                        Confirmed::RetryBatch(name),
                    )));
                }
            }
            Action::Reuse => {
                if let Some(job) = self.queue.selected_job() {
                    let request = job.request.clone();
                    let id = job.local_id;
                    self.editor = new_editor(&request.prompt);
                    self.request = KlingRequest {
                        prompt: String::new(),
                        ..request
                    };
                    self.focus = Focus::Editor;
                    self.recheck_files();
                    self.say(format!("parameters of #{id} copied into the editor"));
                    self.changed(effects);
                }
            }
            Action::Yank => {
                if let Some(job) = self.queue.selected_job() {
                    let text = job
                        .downloads
                        .iter()
                        .find_map(|d| d.file.as_ref().map(|f| f.display().to_string()))
                        .or_else(|| job.job_id.clone());
                    if let Some(text) = text {
                        self.say(format!("copied {text}"));
                        effects.push(Effect::Clipboard(text));
                    }
                }
            }
            Action::Forget => {
                if let Some(job) = self.queue.selected_job() {
                    self.popup = Some(Popup::Confirm(Confirm::new(
                        format!(
                            "Forget #{}? It leaves the ledger; the job on the server and any \
                             files stay.",
                            job.local_id
                        ),
                        Confirmed::Forget(job.local_id),
                    )));
                }
            }
            Action::Resend => match self.queue.selected_job() {
                Some(job) if matches!(job.submission, Submission::Unconfirmed { .. }) => {
                    self.popup = Some(Popup::Confirm(Confirm::new(
                        format!(
                            "#{} was sent once and never confirmed, and was not found on the \
                             server. Send it again? It may charge twice if the first did \
                             reach the server.",
                            job.local_id
                        ),
                        Confirmed::Resend(job.local_id),
                    )));
                }
                Some(_) => self.warn("only an unconfirmed submission can be sent again"),
                None => {}
            },
            Action::Filter => self.filtering = true,
            Action::Sort => {
                self.queue.sort = self.queue.sort.next();
                self.say(format!("sorted by {}", self.queue.sort.label()));
            }
            Action::Refresh => {
                self.halted = None;
                effects.push(Effect::Engine(Command::Refresh));
                self.say("refreshing");
            }
        }
    }

    fn submit(&mut self, effects: &mut Vec<Effect>) {
        let request = self.current_request();
        // Files may have changed since they were chosen: look at them again.
        self.recheck_files();
        let mut problems = request.validate();
        problems.extend(self.file_problems.iter().cloned());
        if problems.is_empty() {
            effects.push(Effect::Engine(Command::Submit {
                seq: 0,
                token: None,
                request,
                download_dir: self.download_dir.clone(),
                batch: None,
                quote: None,
            }));
            self.say("sent to the engine");
        } else {
            self.problems = problems.clone();
            self.popup = Some(Popup::Problems(Problems(
                problems.iter().map(|p| sanitize(&p.to_string())).collect(),
            )));
        }
    }

    fn activate_field(&mut self, effects: &mut Vec<Effect>) {
        let field = FIELDS[self.field];
        if field.is_text() {
            let text = form::text_of(&self.request, field);
            self.popup = Some(Popup::Input(FieldInput::new(field, &text)));
        } else if field == Field::MultiShot {
            if self.request.multi_prompt.is_none() {
                self.request.multi_prompt = Some(vec![Shot {
                    prompt: String::new(),
                    duration: self.request.duration,
                }]);
                self.changed(effects);
            }
            self.popup = Some(Popup::Shots(Shots::default()));
        } else {
            form::step(&mut self.request, field, true);
            self.changed(effects);
        }
    }

    /// A key for the open popup: it says what happened, the app carries it out.
    fn popup_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let Some(mut popup) = self.popup.take() else {
            return;
        };
        match popup.handle_key(key, &mut self.request) {
            Outcome::Stay => self.popup = Some(popup),
            Outcome::Close => {}
            Outcome::ForceQuit => self.act(Action::ForceQuit, effects),
            Outcome::Quit => effects.push(Effect::Quit),
            Outcome::Confirmed(action) => self.confirmed(action, effects),
            Outcome::Changed => {
                self.changed(effects);
                self.popup = Some(popup);
            }
            Outcome::SetField(field, text) => {
                form::set_text(&mut self.request, field, &text);
                self.recheck_files();
                self.changed(effects);
            }
            Outcome::OpenBatch(path) => self.popup = self.open_batch(&path, effects),
            Outcome::SendBatch { commands, message } => {
                self.say(message);
                effects.extend(commands.into_iter().map(Effect::Engine));
                self.overview_due = true;
            }
            Outcome::Say(text) => self.say(text),
            Outcome::Warn(text) => {
                self.warn(text);
                self.popup = Some(popup);
            }
            Outcome::ClearMarks => {
                self.queue.marked.clear();
                self.say("marks cleared");
            }
            Outcome::Fill {
                entry,
                with_parameters,
            } => self.fill_from_history(entry, with_parameters, effects),
        }
    }

    /// Notifications for a job that just became final: its failure, its batch finished, the
    /// queue gone idle.
    fn tell_finished(&mut self, job: &JobRecord) {
        let id = job.local_id;
        if !job.succeeded() && job.status != Some(crate::api::types::JobStatus::Canceled) {
            let why = job
                .error
                .clone()
                .or_else(|| match &job.submission {
                    Submission::Rejected { reason } => Some(reason.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| job.state_word());
            self.notifications
                .push(("kling-tui".into(), format!("#{id} failed: {why}")));
        }
        let resting =
            |j: &JobRecord| j.is_final() || j.held.as_ref().is_some_and(|h| h.cap.is_some());
        if let Some(tag) = &job.batch {
            let ours: Vec<&JobRecord> = self
                .queue
                .jobs
                .values()
                .filter(|j| j.batch.as_ref().is_some_and(|b| b.name == tag.name))
                .collect();
            // Every request the engine counted, not only those loaded here.
            let total = self
                .queue
                .batches
                .get(&tag.name)
                .map_or(ours.len() as u64, |b| b.total.max(ours.len() as u64));
            if ours.iter().all(|j| resting(j)) && ours.len() as u64 >= total {
                let done = ours.iter().filter(|j| j.succeeded()).count();
                let held = ours.iter().filter(|j| !j.is_final()).count();
                let mut body = format!(
                    "batch {} finished: {done} of {} succeeded",
                    tag.name,
                    ours.len()
                );
                if held > 0 {
                    body.push_str(&format!(", {held} held by a spend cap"));
                }
                self.notifications.push(("kling-tui".into(), body));
            }
        }
        if self.queue.jobs.values().all(resting) {
            self.notifications.push((
                "kling-tui".into(),
                format!("all jobs finished (the last: #{id} {})", job.state_word()),
            ));
        }
    }

    /// The job list's keys in the Server view; whether `action` was one of them.
    fn server_act(&mut self, action: Action, effects: &mut Vec<Effect>) -> bool {
        let Some(view) = &mut self.server else {
            return false;
        };
        match action {
            Action::Up => view.move_by(-1),
            Action::Down => view.move_by(1),
            Action::Refresh => {
                self.remote_asks += 1;
                view.pending = Some(self.remote_asks);
                effects.push(Effect::Engine(Command::Remote {
                    seq: self.remote_asks,
                    since: None,
                }));
            }
            Action::Import | Action::Download | Action::Reuse => {
                let Some(job) = view.selected_job() else {
                    return true;
                };
                if let Some(id) = job.local_id {
                    let text = format!("{} is #{id} in the ledger already", job.job_id);
                    self.say(text);
                } else {
                    let job_id = job.job_id.clone();
                    self.remote_asks += 1;
                    effects.push(Effect::Engine(Command::Import {
                        seq: self.remote_asks,
                        job_ids: vec![job_id.clone()],
                        download_dir: self.download_dir.clone(),
                    }));
                    self.say(format!("importing {job_id}"));
                }
            }
            Action::Yank => {
                if let Some(job) = view.selected_job() {
                    let id = job.job_id.clone();
                    self.say(format!("copied {id}"));
                    effects.push(Effect::Clipboard(id));
                }
            }
            Action::Cancel
            | Action::Forget
            | Action::Resend
            | Action::Fold
            | Action::Mark
            | Action::Compare
            | Action::Picture
            | Action::DownloadAll
            | Action::Sort
            | Action::Filter => {
                self.warn("not in the Server view: i imports a job, S goes back");
            }
            _ => return false,
        }
        true
    }

    /// The picture to ask of the engine now: the selected finished job's (and the marked
    /// ones' while they are compared), once; nothing for jobs not looked at.
    pub fn picture_wanted(&mut self) -> Option<Command> {
        if self.pictures.mode == crate::config::PreviewMode::Off || self.server.is_some() {
            return None;
        }
        let mut looked_at: Vec<LocalId> = self.queue.selected_id().into_iter().collect();
        if let Some(Popup::Compare(compare)) = &self.popup {
            looked_at.extend(compare.jobs.iter().copied());
        }
        let id = looked_at.into_iter().find(|id| {
            !self.pictures.by_job.contains_key(id)
                && self.queue.jobs.get(id).is_some_and(JobRecord::succeeded)
        })?;
        self.pictures
            .by_job
            .insert(id, super::picture::Picture::Loading);
        self.pictures.asked += 1;
        self.dirty = true;
        Some(Command::Thumbnail {
            seq: self.pictures.asked,
            local_id: id,
        })
    }

    /// Takes up the draft left when the app last closed.
    pub fn restore_draft(&mut self, request: KlingRequest) {
        self.editor = new_editor(&request.prompt);
        self.request = KlingRequest {
            prompt: String::new(),
            ..request
        };
        self.recheck_files();
        self.revalidate();
    }

    /// Puts a prompt from the history in the editor (and its parameters, when asked); what
    /// was there comes back with Ctrl+U.
    fn fill_from_history(
        &mut self,
        entry: crate::engine::PromptEntry,
        with_parameters: bool,
        effects: &mut Vec<Effect>,
    ) {
        let text = entry.request.prompt.clone();
        self.before_fill = Some((self.editor.clone(), self.request.clone(), text.clone()));
        self.editor = new_editor(&text);
        if with_parameters {
            self.request = KlingRequest {
                prompt: String::new(),
                ..entry.request
            };
            self.recheck_files();
            self.say(format!(
                "prompt and parameters of #{} in the editor (Ctrl+U undoes)",
                entry.local_id
            ));
        } else {
            self.say(format!(
                "prompt of #{} in the editor (Ctrl+U undoes)",
                entry.local_id
            ));
        }
        self.focus = Focus::Editor;
        self.changed(effects);
    }

    /// Reads batch file `path` and asks the engine to price it; every problem if it does not
    /// pass (nothing is asked or sent then).
    fn open_batch(&mut self, path: &str, effects: &mut Vec<Effect>) -> Option<Popup> {
        if path.is_empty() {
            return None;
        }
        self.plans += 1;
        match BatchPlan::open(std::path::Path::new(path), self.plans) {
            Ok(plan) => {
                effects.extend(plan.quote_commands().into_iter().map(Effect::Engine));
                Some(Popup::BatchPlan(Box::new(plan)))
            }
            Err(problems) => Some(Popup::Problems(Problems(
                problems.iter().map(|p| sanitize(p)).collect(),
            ))),
        }
    }

    fn confirmed(&mut self, action: Confirmed, effects: &mut Vec<Effect>) {
        match action {
            Confirmed::Cancel(id) => {
                effects.push(Effect::Engine(Command::Cancel(id)));
                self.say(format!("cancel requested for #{id}"));
            }
            Confirmed::Forget(id) => {
                effects.push(Effect::Engine(Command::Forget(id)));
            }
            Confirmed::Resend(id) => {
                effects.push(Effect::Engine(Command::Resend(id)));
                self.say(format!("#{id} sent again at your request"));
            }
            Confirmed::RetryBatch(name) => {
                self.say(format!(
                    "sending the failed requests of {} again",
                    sanitize(&name)
                ));
                effects.push(Effect::Engine(Command::RetryBatch { name }));
            }
            Confirmed::Quit => effects.push(Effect::Quit),
        }
    }

    /// Ids of jobs in the queue, for tests and the runner.
    pub fn job_ids(&self) -> HashSet<LocalId> {
        self.queue.jobs.keys().copied().collect()
    }

    pub fn selected(&self) -> Option<&JobRecord> {
        self.queue.selected_job()
    }
}
