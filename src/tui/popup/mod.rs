//! Popups as components, as in gitui's `popups/` and helix's compositor: each owns its state,
//! turns keys into an [`Outcome`] through the popups' key table, and draws itself. The app
//! holds at most one and turns outcomes into its effects, so popups stay pure.

mod batch_file;
mod batch_plan;
mod compare;
mod confirm;
mod cut_to;
mod field_input;
mod help;
mod hero;
mod history_search;
mod notice;
mod path_input;
mod picture;
mod reasons;
mod sequence_name;
mod shots;

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

pub use batch_file::BatchFile;
pub use compare::Compare;
pub use confirm::{Confirm, Confirmed};
pub use cut_to::CutTo;
pub use field_input::FieldInput;
pub use help::Help;
pub use hero::{HERO_SEQ, Hero, modes_above};
pub use notice::Problems;
pub use path_input::PathInput;
pub use reasons::{NO_REASON, Reasons};
pub use sequence_name::SequenceName;
pub use shots::Shots;

use super::batch::BatchPlan;
use super::form::Field;
use super::history::PromptSearch;
use super::keys::Keymap;
use super::picture::Pictures;
use super::render::Theme;
use crate::engine::{Command, JobRecord, LocalId, Overview, PromptEntry};
use crate::kling::{KlingRequest, Problem};
use crate::sanitize::sanitize;

/// The popup open over the panes: it takes every key while it is open.
pub enum Popup {
    /// The keys, scrolled.
    Help(Help),
    /// Why submit was refused, one problem a line.
    Problems(Problems),
    Confirm(Confirm),
    /// Editing a reference field: its files or asset ids.
    Input(FieldInput),
    /// The multi-shot editor.
    Shots(Shots),
    /// The path of a batch file to open.
    BatchFile(BatchFile),
    /// A batch's plan: its requests and their cost, sent once confirmed.
    BatchPlan(Box<BatchPlan>),
    /// The fuzzy search over every prompt used before.
    History(Box<PromptSearch>),
    /// Marked jobs side by side.
    Compare(Compare),
    /// A job's picture, as large as the screen allows.
    Picture(LocalId),
    /// Why a take is rejected.
    Reasons(Reasons),
    /// The name of a new sequence.
    SequenceName(SequenceName),
    CutTo(CutTo),
    /// A kept take's re-render at a higher mode, priced, to confirm.
    Hero(Hero),
}

/// What a key did in a popup, for the app to carry out.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// The popup stays open (its own state may have changed).
    Stay,
    Close,
    /// Closes, and quits as Ctrl+C does anywhere (asking first when work is in flight).
    ForceQuit,
    /// Closes and quits at once: the answer to the quit question.
    Quit,
    /// Closes; the question was answered yes.
    Confirmed(Confirmed),
    /// Stays open, the request's shots or duration changed.
    Changed,
    /// The reference field takes these files or asset ids; closes when `close`.
    SetValues {
        field: Field,
        values: Vec<String>,
        close: bool,
    },
    /// Closes; multi-shot goes off (its shots kept to come back).
    MultiShotOff,
    /// Closes, and opens the batch file at this path.
    OpenBatch(String),
    /// Closes, and sends the batch's requests.
    SendBatch {
        commands: Vec<Command>,
        message: String,
    },
    /// Closes, telling why.
    Say(String),
    /// Stays open, warning why.
    Warn(String),
    /// Closes, the marks cleared.
    ClearMarks,
    /// Closes, the editor takes this prompt (and its parameters).
    Fill {
        entry: PromptEntry,
        with_parameters: bool,
    },
    /// Closes; job `job` is rejected, for `reason` if one was picked.
    Reject {
        job: LocalId,
        reason: Option<String>,
    },
    /// Closes; a sequence of this name is made.
    NewSequence(String),
    /// Closes; the chosen takes of `sequence` are cut into `out`.
    Cut {
        sequence: String,
        out: std::path::PathBuf,
    },
    /// Stays open; the request changed and is to be priced again.
    Requote,
    /// Closes; `request`, the hero of `parent`, is sent at the price shown.
    SendHero {
        parent: LocalId,
        request: KlingRequest,
        quote: f64,
    },
}

/// What popups read of the app to draw themselves.
pub struct DrawContext<'a> {
    pub keymap: &'a Keymap,
    pub request: &'a KlingRequest,
    pub problems: &'a [Problem],
    pub pictures: &'a mut Pictures,
    pub jobs: &'a BTreeMap<LocalId, JobRecord>,
    pub overview: Option<&'a Overview>,
}

impl Popup {
    /// A key for the open popup; `request` is what the multi-shot editor changes.
    pub fn handle_key(&mut self, key: KeyEvent, request: &mut KlingRequest) -> Outcome {
        match self {
            Popup::Help(help) => help.handle_key(key),
            Popup::Problems(_) | Popup::Picture(_) => notice::handle_key(key),
            Popup::Confirm(confirm) => confirm.handle_key(key),
            Popup::Input(input) => input.handle_key(key),
            Popup::Shots(shots) => shots.handle_key(key, request),
            Popup::BatchFile(input) => input.handle_key(key),
            Popup::BatchPlan(plan) => plan.handle_key(key),
            Popup::History(search) => search.handle_key(key),
            Popup::Compare(compare) => compare.handle_key(key),
            Popup::Reasons(reasons) => reasons.handle_key(key),
            Popup::SequenceName(name) => name.handle_key(key),
            Popup::CutTo(cut) => cut.handle_key(key),
            Popup::Hero(hero) => hero.handle_key(key),
        }
    }

    /// Pasted text, for the popups that take typing.
    pub fn paste(&mut self, text: &str) {
        match self {
            Popup::Input(input) => input.paste(text),
            Popup::BatchFile(input) => input.input.paste(text),
            Popup::History(search) => {
                let query = format!("{}{}", search.query, sanitize(text));
                search.set_query(query);
            }
            Popup::Shots(shots) => shots.paste(text),
            Popup::SequenceName(name) => name.input.paste(text),
            Popup::CutTo(cut) => cut.input.paste(text),
            _ => {}
        }
    }

    pub fn draw(&mut self, frame: &mut Frame, area: Rect, theme: &Theme, cx: DrawContext) {
        match self {
            Popup::Help(help) => help.draw(frame, area, theme, cx.keymap),
            Popup::Problems(problems) => problems.draw(frame, area, theme),
            Popup::Confirm(confirm) => confirm.draw(frame, area, theme),
            Popup::Input(input) => input.draw(frame, area, theme),
            Popup::Shots(shots) => shots.draw(frame, area, theme, cx.request, cx.problems),
            Popup::BatchFile(input) => input.draw(frame, area, theme),
            Popup::BatchPlan(plan) => plan.draw(frame, area, theme, cx.overview),
            Popup::History(search) => search.draw(frame, area, theme),
            Popup::Compare(compare) => compare.draw(frame, area, theme, cx.jobs, cx.pictures),
            Popup::Picture(id) => picture::draw(frame, area, theme, *id, cx.pictures),
            Popup::Reasons(reasons) => reasons.draw(frame, area, theme),
            Popup::SequenceName(name) => name.draw(frame, area, theme),
            Popup::CutTo(cut) => cut.draw(frame, area, theme),
            Popup::Hero(hero) => hero.draw(frame, area, theme),
        }
    }
}

#[cfg(test)]
mod tests;

/// A full-screen overlay over `area` (every pane; the status bar is not in it): what it
/// covers cleared, a titled border drawn; the area inside the border, to draw into. Edge to
/// edge, so no sliver of a pane shows beside it.
pub(super) fn full_screen(frame: &mut Frame, area: Rect, theme: &Theme, title: &str) -> Rect {
    use ratatui::style::Color;
    crate::tui::render::popup_frame(frame, area, title, theme.fg(Color::Cyan))
}
