//! The app's state and how keys and engine events change it. Pure: no terminal, no network;
//! what must happen outside comes back as [`Effect`]s for the runner, so every behaviour here
//! is testable by feeding keys and events.

mod actions;
mod editing;
mod events;
mod selects;
mod sequences;
pub use sequences::CutNews;

use std::collections::HashSet;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{TextArea, WrapMode};

use super::form::{self, FIELDS, Field};
use super::keys::{Action, Keymap, PopupAction, PopupScope, Scope, popup_action};
use super::queue::Queue;
use crate::engine::{Command, JobRecord, LocalId, Overview, Submission};
use crate::kling::{KlingRequest, Problem};
use crate::media::{Role, check_file};
use crate::sanitize::{sanitize, sanitize_multiline};

pub use super::popup::{Confirmed, Popup};

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

/// Finished jobs asked of the ledger at a time.
pub const HISTORY_PAGE: usize = 200;
/// Finished jobs asked at a time on the way to the end of the list (G).
pub const HISTORY_TO_END: usize = 2_000;

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
    /// How many the last request asked for: a shorter answer is the end.
    pub asked: usize,
    /// The selection goes to the last row as pages come, until the end is loaded (G).
    pub to_end: bool,
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
    /// Open `file` (an absolute path) with `command` (a program and its first arguments),
    /// detached, never through a shell.
    Open {
        command: Vec<String>,
        file: std::path::PathBuf,
    },
    /// Read or write the takes tables (marks, links, sequences) of the ledger.
    Takes(super::takes::TakesOp),
    /// Cut the chosen takes of `sequence` into the film `out` (an absolute path), in the
    /// background; its progress comes back through [`App::on_cut`].
    Cut {
        sequence: String,
        out: std::path::PathBuf,
    },
    Quit,
}

/// How a finished video is opened here, as the runner found out from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opener {
    /// A program (and its first arguments) that takes the file's path.
    Program(Vec<String>),
    /// No display here (over SSH): the path goes to the clipboard, and on screen.
    Copy,
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
    /// The last thing worth telling, and whether it is an error. The runner takes news away
    /// after a few seconds; an error stays until the next key.
    pub message: Option<(String, bool)>,
    /// Counts the messages told, so the runner's timer takes away only the one it timed.
    pub message_seq: u64,
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
    /// The folder the app runs in, against which relative file paths are made absolute.
    pub cwd: Option<std::path::PathBuf>,
    /// How `o` opens a video here.
    pub opener: Opener,
    /// Rows the job list showed at the last draw: the size of a page for PgUp and PgDn.
    pub list_rows: usize,
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
    /// there: undo, with that text untouched, brings it back in one step.
    before_fill: Option<(TextArea<'static>, KlingRequest, String)>,
    /// The shots of a multi-shot request turned off, to come back when it is turned on.
    pub shelved_shots: Vec<crate::kling::Shot>,
    /// What this app submitted last, and when: the same again soon after is asked about.
    last_submit: Option<editing::LastSubmit>,
    /// Submissions sent, numbered, so the engine's answer names the job of the last.
    submits: u64,
    /// Marks, lineage and sequences, as read from the ledger.
    pub takes: super::takes::TakesState,
    /// The reasons a reject may give.
    pub reject_reasons: Vec<String>,
    /// The Sequence view, in place of the panes while open.
    pub sequences: Option<super::sequences::SequenceView>,
}

fn new_editor(text: &str) -> TextArea<'static> {
    let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut editor = TextArea::new(lines);
    editor.set_wrap_mode(WrapMode::WordOrGlyph);
    editor.set_placeholder_text(crate::tui::render::PLACEHOLDER);
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
            cwd: None,
            opener: Opener::Copy,
            list_rows: 10,
            message_seq: 0,
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
            shelved_shots: Vec::new(),
            last_submit: None,
            submits: 0,
            takes: Default::default(),
            // The built-in list until config.toml's own reasons are added (the runner does).
            reject_reasons: crate::takes::RejectReasons::new(&[]).all().to_vec(),
            sequences: None,
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
            .map(form::labelled)
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

    /// True while a job is working or a file downloads: only then do spinners and clocks move.
    pub fn animating(&self) -> bool {
        !self.queue.transfers.is_empty() || self.queue.jobs.values().any(|j| j.place.is_working())
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
        self.message_seq += 1;
    }

    fn warn(&mut self, text: impl Into<String>) {
        self.message = Some((sanitize(&text.into()), true));
        self.message_seq += 1;
    }

    /// News `seq` has been shown long enough: the key hints come back (errors stay until
    /// a key is pressed).
    pub fn message_expired(&mut self, seq: u64) {
        if seq == self.message_seq && matches!(self.message, Some((_, false))) {
            self.message = None;
            self.dirty = true;
        }
    }

    /// The runner could not open a video.
    /// A batch's manifest could not be written.
    pub fn manifest_failed(&mut self, why: &str) {
        self.warn(why.to_string());
        self.dirty = true;
    }

    pub fn open_failed(&mut self, why: &str) {
        self.warn(format!("cannot open the video: {why}"));
        self.dirty = true;
    }

    /// `file` as an absolute path: relative ones are the app's folder's.
    pub fn absolute(&self, file: &std::path::Path) -> std::path::PathBuf {
        match &self.cwd {
            Some(cwd) if file.is_relative() => cwd.join(
                file.components()
                    .filter(|c| *c != std::path::Component::CurDir)
                    .collect::<std::path::PathBuf>(),
            ),
            _ => file.to_path_buf(),
        }
    }

    /// The filter being typed or in force: the Server view's while it is open.
    fn filter_mut(&mut self) -> &mut String {
        match &mut self.server {
            Some(view) => &mut view.filter,
            None => &mut self.queue.filter,
        }
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

    pub fn on_paste(&mut self, text: &str) -> Vec<Effect> {
        self.dirty = true;
        let mut effects = Vec::new();
        match &mut self.popup {
            Some(popup) => popup.paste(text),
            None if self.filtering => self.filter_mut().push_str(&sanitize(text)),
            None if self.focus == Focus::Editor => {
                // Line breaks stay: a prompt pasted in paragraphs keeps them.
                self.editor.insert_str(sanitize_multiline(text));
                self.changed(&mut effects);
            }
            None => {}
        }
        effects
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        // An error stays until it is read: the next key says it was.
        if matches!(self.message, Some((_, true))) {
            self.message = None;
        }
        let (filter, sort) = (self.queue.filter.clone(), self.queue.sort);
        let server_was = self.server.as_ref().map(|v| {
            let selected = v.selected_job().map(|j| j.job_id.clone());
            (v.filter.clone(), v.sort, selected)
        });
        let mut effects = self.on_key_inner(key);
        if let (Some(view), Some((was_filter, was_sort, selected))) = (&mut self.server, server_was)
            && (view.filter != was_filter || view.sort != was_sort)
        {
            view.reordered(selected);
        }
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
        self.ask_history_page(HISTORY_PAGE, effects);
    }

    fn ask_history_page(&mut self, limit: usize, effects: &mut Vec<Effect>) {
        self.history.seq += 1;
        self.history.pending = true;
        self.history.asked = limit;
        let search = self.queue.filter.trim().to_string();
        effects.push(Effect::Engine(Command::History {
            seq: self.history.seq,
            search: (!search.is_empty()).then_some(search),
            order: self.queue.sort.history_order(),
            offset: self.history.loaded,
            limit,
        }));
    }

    /// On the way to the end of the list (G): the next pages, large, until the last.
    pub fn follow_history(&mut self, effects: &mut Vec<Effect>) {
        let h = &self.history;
        if h.to_end && !h.pending && !h.exhausted && h.total.is_some() {
            self.ask_history_page(HISTORY_TO_END, effects);
        }
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
        if self.sequences.is_some() {
            if let Some(action) = self.keymap.lookup(Scope::Sequences, &key) {
                self.sequence_act(action, &mut effects);
            }
            return effects;
        }
        if self.filtering {
            match popup_action(PopupScope::Filter, &key) {
                Some(PopupAction::Accept) => {
                    self.filtering = false;
                    let unknown: Vec<String> = crate::engine::JobFilter::parse(self.filter_mut())
                        .unknown_states()
                        .iter()
                        .map(|w| format!("status:{w}"))
                        .collect();
                    if !unknown.is_empty() {
                        self.warn(format!(
                            "{} names no state: try failed, success, canceled, running, \
                             waiting, done, held, saved",
                            unknown.join(", ")
                        ));
                    }
                }
                Some(PopupAction::Close) => {
                    self.filtering = false;
                    self.filter_mut().clear();
                }
                Some(PopupAction::DeleteChar) => {
                    self.filter_mut().pop();
                }
                _ => {
                    if let KeyCode::Char(c) = key.code
                        && !key.modifiers.contains(KeyModifiers::CONTROL)
                    {
                        self.filter_mut().push(c);
                    }
                }
            }
            return effects;
        }
        // Esc in the list drops the filter in force, as in k9s.
        if key.code == KeyCode::Esc && self.focus == Focus::Queue && !self.filter_mut().is_empty() {
            self.filter_mut().clear();
            self.say("filter cleared");
            return effects;
        }
        let action = self.keymap.lookup(self.focus.scope(), &key);
        // Once the filled text is edited, its undo is the editor's own again.
        if action == Some(Action::Undo)
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
        match action {
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

    /// The picture to ask of the engine now: the selected finished job's (and the marked
    /// ones' while they are compared), once; nothing for jobs not looked at.
    pub fn picture_wanted(&mut self) -> Option<Command> {
        if self.pictures.mode == crate::config::PreviewMode::Off || self.server.is_some() {
            return None;
        }
        let mut looked_at: Vec<LocalId> = match &self.sequences {
            // The Sequence view's selected take, which the job list may not hold.
            Some(view) => view.selected_take().into_iter().collect(),
            None => self.queue.selected_id().into_iter().collect(),
        };
        if let Some(Popup::Compare(compare)) = &self.popup {
            looked_at.extend(compare.jobs.iter().copied());
        }
        let id = looked_at.into_iter().find(|id| {
            !self.pictures.by_job.contains_key(id)
                && self.take_record(*id).is_some_and(JobRecord::succeeded)
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

    /// Takes up the draft left when the app last closed; a draft that may be sent is priced
    /// at once, as an edit would be.
    pub fn restore_draft(&mut self, request: KlingRequest) -> Vec<Effect> {
        self.editor = new_editor(&request.prompt);
        self.request = KlingRequest {
            prompt: String::new(),
            ..request
        };
        self.recheck_files();
        let mut effects = Vec::new();
        if self.current_request().validate().is_empty() && self.file_problems.is_empty() {
            self.changed(&mut effects);
        }
        effects
    }

    /// Ids of jobs in the queue, for tests and the runner.
    pub fn job_ids(&self) -> HashSet<LocalId> {
        self.queue.jobs.keys().copied().collect()
    }

    pub fn selected(&self) -> Option<&JobRecord> {
        self.queue.selected_job()
    }
}
