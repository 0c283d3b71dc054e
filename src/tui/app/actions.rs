//! What the app does for an action of the key table or a popup's outcome.

use crossterm::event::KeyEvent;

use super::{App, Confirmed, Effect, Focus, Opener, Popup, new_editor};
use crate::engine::{Command, LocalId, Submission};
use crate::kling::{KlingRequest, PromptRef, prompt_references};
use crate::sanitize::sanitize;
use crate::tui::batch::BatchPlan;
use crate::tui::form::{self, FIELDS, Field};
use crate::tui::history::{PROMPTS_ASKED, PromptSearch};
use crate::tui::keys::Action;
use crate::tui::popup::{BatchFile, Compare, Confirm, FieldInput, Outcome, Problems, Shots};
use crate::tui::queue::RowKey;
use crate::units::count;

impl App {
    pub(super) fn act(&mut self, action: Action, effects: &mut Vec<Effect>) {
        if self.server.is_some() && self.focus == Focus::Queue && self.server_act(action, effects) {
            return;
        }
        match action {
            Action::Submit => self.submit(effects, false),
            Action::FocusNext | Action::FocusPrev => {
                let order = [Focus::Editor, Focus::Sidebar, Focus::Queue];
                let i = order.iter().position(|f| *f == self.focus).unwrap_or(0);
                let step = if action == Action::FocusNext { 1 } else { 2 };
                self.focus = order[(i + step) % 3];
            }
            Action::Help | Action::HelpAnywhere => {
                self.popup = Some(Popup::Help(Default::default()))
            }
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
            Action::Undo
            | Action::Redo
            | Action::KillToStart
            | Action::KillToEnd
            | Action::KillWord
            | Action::PasteKilled
            | Action::ClearPrompt => {
                let edited = match action {
                    Action::Undo => self.editor.undo(),
                    Action::Redo => self.editor.redo(),
                    Action::KillToStart => self.editor.delete_line_by_head(),
                    Action::KillToEnd => self.editor.delete_line_by_end(),
                    Action::KillWord => self.editor.delete_word(),
                    Action::PasteKilled => self.editor.paste(),
                    _ => self.editor.clear(),
                };
                if edited {
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
                    Focus::Queue => {
                        self.history.to_end = false;
                        self.queue.move_selection(delta);
                    }
                    Focus::Editor => {}
                }
            }
            Action::Top => {
                self.history.to_end = false;
                self.queue.select_first();
            }
            Action::Bottom => {
                self.queue.select_last();
                // The true end: older finished jobs are read from the ledger until the last.
                self.history.to_end = !self.history.exhausted;
                self.follow_history(effects);
            }
            Action::PageUp | Action::PageDown | Action::HalfPageUp | Action::HalfPageDown => {
                self.history.to_end = false;
                let rows = self.page(action);
                self.queue.move_selection(rows);
            }
            Action::Open => self.open_video(effects),
            Action::Decrease | Action::Increase => {
                let field = FIELDS[self.field];
                if field == Field::MultiShot {
                    let on = self.request.multi_prompt.is_none();
                    self.set_multi_shot(on, effects);
                    if on {
                        self.say("multi-shot on: Enter edits the shots");
                    }
                } else if !field.is_text() {
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
                match ids.len() {
                    0 if self.queue.jobs.values().any(|j| j.succeeded()) => {
                        self.say("nothing to download: every succeeded job is on disk")
                    }
                    0 => self.say("nothing to download yet: no job has succeeded"),
                    n => self.say(format!("downloading {}", count(n, "job"))),
                }
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
                    self.server = Some(crate::tui::server::ServerView::new(self.remote_asks));
                    self.focus = Focus::Queue;
                }
            }
            Action::Import => self.warn("i imports in the Server view (S opens it)"),
            Action::Picture => match self.queue.selected_id() {
                Some(id)
                    if matches!(
                        self.pictures.by_job.get(&id),
                        Some(crate::tui::picture::Picture::Ready(_))
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
                    .take(crate::tui::compare::MAX_COMPARED)
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
                        .find_map(|d| {
                            d.file
                                .as_ref()
                                .map(|f| self.absolute(f).display().to_string())
                        })
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
            Action::Filter => {
                // A new filter, as in k9s: the old one goes.
                self.queue.filter.clear();
                self.filtering = true;
            }
            Action::Sort => {
                self.queue.sort = self.queue.sort.next();
                self.say(format!("sorted by {}", self.queue.sort.label()));
            }
            Action::Sequences => self.open_sequences(effects),
            Action::SequenceBack
            | Action::ToList
            | Action::ToShots
            | Action::NewSequence
            | Action::AddShot
            | Action::AddTake
            | Action::ChooseTake
            | Action::ShotEarlier
            | Action::ShotLater
            | Action::RemoveShot
            | Action::CutFilm => {}
            Action::Hero => {
                if let Some(id) = self.queue.selected_id() {
                    self.hero_of(id, effects);
                }
            }
            Action::Continue => {
                if let Some(id) = self.queue.selected_id() {
                    self.continue_from(id, effects);
                }
            }
            Action::Keep => self.mark_selected(crate::takes::Mark::Keep, effects),
            Action::Reject => self.mark_selected(crate::takes::Mark::Reject, effects),
            Action::Refresh => {
                self.halted = None;
                effects.push(Effect::Engine(Command::Refresh));
                // Marks may have been set from the command line meanwhile.
                effects.push(Effect::Takes(crate::tui::takes::TakesOp::LoadMarks));
                self.takes.stale();
                self.say("refreshing");
            }
        }
    }

    /// Rows a page key moves: the list's height as last drawn, or half of it.
    fn page(&self, action: Action) -> isize {
        let rows = self.list_rows.max(2) as isize;
        match action {
            Action::PageUp => 1 - rows,
            Action::PageDown => rows - 1,
            Action::HalfPageUp => -rows / 2,
            _ => rows / 2,
        }
    }

    /// `o`: the selected job's video, opened with the user's opener, or (with no display
    /// here) its path copied and shown.
    fn open_video(&mut self, effects: &mut Vec<Effect>) {
        let Some(job) = self.queue.selected_job() else {
            return;
        };
        let id = job.local_id;
        let file = job
            .downloads
            .iter()
            .find_map(|d| d.file.as_deref())
            .map(|f| self.absolute(f));
        let Some(file) = file else {
            if job.succeeded() {
                self.warn(format!("#{id} is not on disk yet: d downloads it"));
            } else {
                let state = job.state_word();
                self.warn(format!("#{id} has no video ({state})"));
            }
            return;
        };
        let shown = file.display().to_string();
        match self.opener.clone() {
            Opener::Program(command) => {
                let program = command.first().cloned().unwrap_or_default();
                self.say(format!("opening {shown} with {program}"));
                effects.push(Effect::Open { command, file });
            }
            Opener::Copy => {
                self.say(format!("no display here: copied {shown}"));
                effects.push(Effect::Clipboard(shown));
            }
        }
    }

    /// Sends the editor's request; `again`: the user said yes to sending a repeat.
    fn submit(&mut self, effects: &mut Vec<Effect>, again: bool) {
        let request = self.current_request();
        // Files may have changed since they were chosen: look at them again.
        self.recheck_files();
        let mut problems: Vec<_> = request.validate().into_iter().map(form::labelled).collect();
        problems.extend(self.file_problems.iter().cloned());
        if !problems.is_empty() {
            self.problems = problems.clone();
            self.popup = Some(Popup::Problems(Problems(
                problems
                    .iter()
                    .map(|p| sanitize(&form::describe(p)))
                    .collect(),
            )));
            return;
        }
        if !again && let Some(question) = self.repeat_question(&request) {
            self.popup = Some(Popup::Confirm(Confirm::new(
                question,
                Confirmed::SubmitAgain,
            )));
            return;
        }
        let seq = self.send_to_engine(&request, None, effects);
        self.sending(seq, &request);
        self.last_submit = Some(super::editing::LastSubmit {
            request,
            at: self.now,
            seq,
            local_id: None,
        });
        self.say("sent to the engine");
    }

    /// One request sent to the engine, numbered (`quote`: what a dry run priced it at);
    /// returns its number, by which the engine names its job.
    pub(super) fn send_to_engine(
        &mut self,
        request: &crate::kling::KlingRequest,
        quote: Option<f64>,
        effects: &mut Vec<Effect>,
    ) -> u64 {
        self.submits += 1;
        effects.push(Effect::Engine(Command::Submit {
            seq: self.submits,
            token: None,
            request: request.clone(),
            download_dir: self.download_dir.clone(),
            batch: None,
            quote,
        }));
        self.submits
    }

    fn activate_field(&mut self, effects: &mut Vec<Effect>) {
        let field = FIELDS[self.field];
        if field.is_text() {
            let items = form::values_of(&self.request, field);
            self.popup = Some(Popup::Input(FieldInput::new(field, items)));
        } else if field == Field::MultiShot {
            self.set_multi_shot(true, effects);
            self.popup = Some(Popup::Shots(Shots::default()));
        } else {
            form::step(&mut self.request, field, true);
            self.changed(effects);
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
            Action::Top => view.select_first(),
            Action::Bottom => view.select_last(),
            Action::PageUp | Action::PageDown | Action::HalfPageUp | Action::HalfPageDown => {
                let rows = self.page(action);
                if let Some(view) = &mut self.server {
                    view.move_by(rows);
                }
            }
            Action::Filter => {
                view.filter.clear();
                self.filtering = true;
            }
            Action::Sort => {
                view.sort = view.sort.next();
                let label = view.sort.label();
                self.say(format!("sorted by {label}"));
            }
            Action::Open => self.warn("o opens a video of the ledger: i imports the job first"),
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
            | Action::Keep
            | Action::Reject
            | Action::Hero
            | Action::Continue
            | Action::DownloadAll => {
                self.warn("not in the Server view: i imports a job, S goes back");
            }
            _ => return false,
        }
        true
    }

    /// A key for the open popup: it says what happened, the app carries it out.
    pub(super) fn popup_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
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
            Outcome::SetValues {
                field,
                values,
                close,
            } => {
                form::set_values(&mut self.request, field, &values);
                self.recheck_files();
                self.changed(effects);
                if !close {
                    self.popup = Some(popup);
                }
            }
            Outcome::MultiShotOff => self.set_multi_shot(false, effects),
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
            Outcome::Reject { job, reason } => {
                self.set_mark(job, Some(crate::takes::Mark::Reject), reason, effects)
            }
            Outcome::NewSequence(name) => self.new_sequence(name, effects),
            Outcome::Cut { sequence, out } => self.cut_film(sequence, out, effects),
            Outcome::Requote => {
                if let Popup::Hero(hero) = &mut popup {
                    self.requote_hero(hero, effects);
                }
                self.popup = Some(popup);
            }
            Outcome::SendHero {
                parent,
                request,
                quote,
            } => self.send_hero(parent, request, quote, effects),
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
            Confirmed::SubmitAgain => self.submit(effects, true),
            Confirmed::RemoveShot { sequence, shot } => {
                effects.push(Effect::Takes(crate::tui::takes::TakesOp::RemoveShot {
                    sequence,
                    shot,
                }));
                self.reload_sequence(effects);
            }
            Confirmed::Quit => effects.push(Effect::Quit),
        }
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

    /// Puts a prompt from the history in the editor (and its parameters, when asked); what
    /// was there comes back with undo.
    fn fill_from_history(
        &mut self,
        entry: crate::engine::PromptEntry,
        with_parameters: bool,
        effects: &mut Vec<Effect>,
    ) {
        let text = entry.request.prompt.clone();
        let undo = self
            .keymap
            .bindings_for(crate::tui::keys::Scope::Editor)
            .find(|b| b.action == Action::Undo)
            .map_or_else(|| "undo".into(), |b| b.label());
        self.before_fill = Some((self.editor.clone(), self.request.clone(), text.clone()));
        self.editor = new_editor(&text);
        if with_parameters {
            self.request = KlingRequest {
                prompt: String::new(),
                ..entry.request
            };
            self.recheck_files();
            self.say(format!(
                "prompt and parameters of #{} in the editor ({undo} undoes)",
                entry.local_id
            ));
        } else {
            self.say(format!(
                "prompt of #{} in the editor ({undo} undoes)",
                entry.local_id
            ));
        }
        self.focus = Focus::Editor;
        self.changed(effects);
    }
}
