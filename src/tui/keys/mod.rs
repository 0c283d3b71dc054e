//! The one table of key bindings: dispatch reads it, and the `?` help and the status bar's
//! hints are generated from it, so they can never disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

mod popups;

pub use popups::{
    POPUP_BINDINGS, PopupAction, PopupBinding, PopupScope, popup_action, popup_bindings,
};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere, even while typing a prompt (so only keys that type nothing).
    Anywhere,
    /// Everywhere but the prompt editor, where the key types a character.
    OutsideEditor,
    Editor,
    Sidebar,
    Queue,
    /// The Sequence view, while it is open.
    Sequences,
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Anywhere => "Anywhere",
            Scope::OutsideEditor => "Outside the editor",
            Scope::Editor => "Prompt editor",
            Scope::Sidebar => "Parameters",
            Scope::Queue => "Job queue",
            Scope::Sequences => "Sequence view",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Submit,
    FocusNext,
    FocusPrev,
    Help,
    Quit,
    ForceQuit,
    Up,
    Down,
    Decrease,
    Increase,
    Activate,
    Undo,
    Redo,
    KillToStart,
    KillToEnd,
    KillWord,
    PasteKilled,
    ClearPrompt,
    InsertImageRef,
    InsertVideoRef,
    Download,
    DownloadAll,
    Cancel,
    Reuse,
    Yank,
    Forget,
    Filter,
    Sort,
    Refresh,
    Resend,
    OpenBatch,
    Fold,
    History,
    Mark,
    Compare,
    Picture,
    Server,
    Import,
    Top,
    Bottom,
    PageUp,
    PageDown,
    HalfPageUp,
    HalfPageDown,
    Open,
    /// Help from a key that types nothing, so it works in the editor too.
    HelpAnywhere,
    /// Keep the selected take (again: clear the mark).
    Keep,
    /// Reject it, for a reason from a list (again: clear the mark).
    Reject,
    /// Open or close the Sequence view.
    Sequences,
    SequenceBack,
    ToList,
    ToShots,
    NewSequence,
    AddShot,
    AddTake,
    ChooseTake,
    ShotEarlier,
    ShotLater,
    RemoveShot,
    /// A new request from a finished job's last frame, its parameters carried over.
    Continue,
    /// A kept job again at a higher mode.
    Hero,
    /// The open sequence's chosen takes joined into one film.
    CutFilm,
}

/// One entry of the built-in table.
pub struct Binding {
    pub scope: Scope,
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub action: Action,
    pub help: &'static str,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const ALT: KeyModifiers = KeyModifiers::ALT;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

macro_rules! bind {
    ($scope:ident, [$(($code:expr, $mods:expr)),+], $action:ident, $help:literal) => {
        Binding {
            scope: Scope::$scope,
            keys: &[$(($code, $mods)),+],
            action: Action::$action,
            help: $help,
        }
    };
}

use KeyCode::{BackTab, Char, Down, End, Enter, F, Home, Left, PageDown, PageUp, Right, Tab, Up};

pub const BINDINGS: &[Binding] = &[
    bind!(
        Anywhere,
        [(Char('r'), CTRL), (F(5), NONE)],
        Submit,
        "submit the request"
    ),
    bind!(Anywhere, [(Tab, NONE)], FocusNext, "next pane"),
    bind!(Anywhere, [(BackTab, SHIFT)], FocusPrev, "previous pane"),
    bind!(Anywhere, [(Char('c'), CTRL)], ForceQuit, "quit"),
    bind!(
        Anywhere,
        [(Char('p'), CTRL)],
        History,
        "search every prompt used before (Enter fills, Alt+Enter with its parameters)"
    ),
    bind!(OutsideEditor, [(Char('?'), NONE)], Help, "this help"),
    bind!(
        Anywhere,
        [(F(1), NONE)],
        HelpAnywhere,
        "this help, from the editor too"
    ),
    bind!(OutsideEditor, [(Char('q'), NONE)], Quit, "quit"),
    // Readline's keys, as in every shell; undo and redo where a terminal can send them
    // (raw mode leaves Ctrl+Z to the app; Ctrl+Shift+Z arrives as Ctrl+Z).
    bind!(
        Editor,
        [(Char('z'), CTRL)],
        Undo,
        "undo (a prompt put here from the history too)"
    ),
    bind!(Editor, [(Char('z'), ALT)], Redo, "redo"),
    bind!(
        Editor,
        [(Char('u'), CTRL)],
        KillToStart,
        "cut to the start of the line"
    ),
    bind!(
        Editor,
        [(Char('k'), CTRL)],
        KillToEnd,
        "cut to the end of the line"
    ),
    bind!(
        Editor,
        [(Char('w'), CTRL)],
        KillWord,
        "cut the word before the cursor"
    ),
    bind!(
        Editor,
        [(Char('y'), CTRL)],
        PasteKilled,
        "paste what was cut last"
    ),
    bind!(
        Editor,
        [(Char('l'), CTRL)],
        ClearPrompt,
        "clear the prompt (undo brings it back)"
    ),
    bind!(
        Editor,
        [(Char('i'), ALT)],
        InsertImageRef,
        "insert <<<image_N>>> for the next reference image"
    ),
    bind!(
        Editor,
        [(Char('v'), ALT)],
        InsertVideoRef,
        "insert <<<video_1>>>"
    ),
    bind!(
        Sidebar,
        [(Up, NONE), (Char('k'), NONE)],
        Up,
        "previous field"
    ),
    bind!(
        Sidebar,
        [(Down, NONE), (Char('j'), NONE)],
        Down,
        "next field"
    ),
    bind!(
        Sidebar,
        [(Left, NONE), (Char('h'), NONE)],
        Decrease,
        "previous value"
    ),
    bind!(
        Sidebar,
        [(Right, NONE), (Char('l'), NONE)],
        Increase,
        "next value"
    ),
    bind!(
        Sidebar,
        [(Enter, NONE)],
        Activate,
        "change or edit the field"
    ),
    bind!(Queue, [(Up, NONE), (Char('k'), NONE)], Up, "previous job"),
    bind!(Queue, [(Down, NONE), (Char('j'), NONE)], Down, "next job"),
    bind!(
        Queue,
        [(Char('g'), NONE), (Home, NONE)],
        Top,
        "the first job"
    ),
    bind!(
        Queue,
        [(Char('G'), NONE), (End, NONE)],
        Bottom,
        "the last job (older ones are read from the ledger)"
    ),
    bind!(Queue, [(PageUp, NONE)], PageUp, "a page up"),
    bind!(Queue, [(PageDown, NONE)], PageDown, "a page down"),
    bind!(Queue, [(Char('u'), CTRL)], HalfPageUp, "half a page up"),
    bind!(Queue, [(Char('d'), CTRL)], HalfPageDown, "half a page down"),
    bind!(
        Queue,
        [(Char('d'), NONE)],
        Download,
        "download the selected job"
    ),
    bind!(
        Queue,
        [(Char('D'), NONE)],
        DownloadAll,
        "download every finished job"
    ),
    bind!(
        Queue,
        [(Char('c'), NONE)],
        Cancel,
        "cancel the selected job (asks first)"
    ),
    bind!(
        Queue,
        [(Char('e'), NONE), (Enter, NONE)],
        Reuse,
        "copy its parameters into the editor"
    ),
    bind!(
        Queue,
        [(Char('y'), NONE)],
        Yank,
        "copy the video's absolute path (or the job id) to the clipboard"
    ),
    bind!(
        Queue,
        [(Char('x'), NONE)],
        Forget,
        "forget the job (asks first)"
    ),
    bind!(
        Queue,
        [(Char('/'), NONE)],
        Filter,
        "a new filter: text, status:failed, mode:pro, batch:NAME (Esc clears)"
    ),
    bind!(Queue, [(Char('s'), NONE)], Sort, "cycle the sort order"),
    bind!(
        Queue,
        [(Char('r'), NONE)],
        Refresh,
        "poll everything now, retry failures"
    ),
    bind!(
        Queue,
        [(Char('R'), NONE)],
        Resend,
        "send again: a lost submission, or a batch's failed requests (asks)"
    ),
    bind!(
        Queue,
        [(Char(' '), NONE)],
        Mark,
        "mark or unmark the job, for a comparison"
    ),
    bind!(
        Queue,
        [(Char('o'), NONE)],
        Open,
        "open the video with $KLING_TUI_OPEN or the system's opener (over SSH: copy its path)"
    ),
    bind!(
        Queue,
        [(Char('p'), NONE)],
        Picture,
        "the selected job's picture, large"
    ),
    bind!(
        Queue,
        [(Char('='), NONE)],
        Compare,
        "the marked jobs side by side"
    ),
    bind!(
        Queue,
        [(Char('z'), NONE)],
        Fold,
        "fold or unfold the selected batch (Enter on its header too)"
    ),
    bind!(
        OutsideEditor,
        [(Char('S'), NONE)],
        Server,
        "the team's jobs on the server (again: this ledger's)"
    ),
    bind!(
        Queue,
        [(Char('i'), NONE)],
        Import,
        "in the Server view: take the job into the ledger and download it"
    ),
    bind!(
        OutsideEditor,
        [(Char('b'), NONE)],
        OpenBatch,
        "open a batch file: its plan and cost, then send it"
    ),
    bind!(
        Queue,
        [(Char('K'), NONE)],
        Keep,
        "keep the job: a take worth using (again: unmark)"
    ),
    bind!(
        Queue,
        [(Char('X'), NONE)],
        Reject,
        "reject the job, with a reason from a list (again: unmark)"
    ),
    bind!(
        Queue,
        [(Char('C'), NONE)],
        Continue,
        "continue the finished job: its last frame starts a new request, parameters kept"
    ),
    bind!(
        Queue,
        [(Char('H'), NONE)],
        Hero,
        "re-render a kept job at pro or 4k, same parameters (priced, asks)"
    ),
    bind!(
        OutsideEditor,
        [(Char('Q'), NONE)],
        Sequences,
        "the sequences of shots and their takes (again: back)"
    ),
    bind!(Sequences, [(KeyCode::Esc, NONE)], SequenceBack, "back"),
    bind!(
        Sequences,
        [(Up, NONE), (Char('k'), NONE)],
        Up,
        "previous sequence, shot or take"
    ),
    bind!(
        Sequences,
        [(Down, NONE), (Char('j'), NONE)],
        Down,
        "next sequence, shot or take"
    ),
    bind!(
        Sequences,
        [(Left, NONE), (Char('h'), NONE)],
        ToList,
        "to the list of sequences"
    ),
    bind!(
        Sequences,
        [(Right, NONE), (Char('l'), NONE)],
        ToShots,
        "to the selected sequence's shots"
    ),
    bind!(
        Sequences,
        [(Char('n'), NONE)],
        NewSequence,
        "a new sequence"
    ),
    bind!(
        Sequences,
        [(Char('a'), NONE)],
        AddShot,
        "the job selected in the list as a new last shot"
    ),
    bind!(
        Sequences,
        [(Char('t'), NONE)],
        AddTake,
        "the job selected in the list as a take of the selected shot"
    ),
    bind!(
        Sequences,
        [(Enter, NONE), (Char('c'), NONE)],
        ChooseTake,
        "choose the selected take for its shot"
    ),
    bind!(
        Sequences,
        [(Char('K'), NONE), (Up, ALT)],
        ShotEarlier,
        "move the selected shot earlier"
    ),
    bind!(
        Sequences,
        [(Char('J'), NONE), (Down, ALT)],
        ShotLater,
        "move the selected shot later"
    ),
    bind!(
        Sequences,
        [(KeyCode::Delete, NONE), (Char('x'), NONE)],
        RemoveShot,
        "remove the selected shot (asks; its jobs stay)"
    ),
    bind!(
        Sequences,
        [(Char('C'), NONE)],
        Continue,
        "continue the selected take into the next shot, in the editor"
    ),
    bind!(
        Sequences,
        [(Char('H'), NONE)],
        Hero,
        "re-render the selected take, if kept, at pro or 4k: a new take of its shot"
    ),
    bind!(
        Sequences,
        [(Char('E'), NONE)],
        CutFilm,
        "cut the film: the chosen takes joined into one MP4 with ffmpeg, a chapter per shot"
    ),
];

impl Action {
    /// The name used for this action under `[keys]` in config.toml.
    pub fn name(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::FocusNext => "focus_next",
            Action::FocusPrev => "focus_prev",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::ForceQuit => "force_quit",
            Action::Up => "up",
            Action::Down => "down",
            Action::Decrease => "decrease",
            Action::Increase => "increase",
            Action::Activate => "activate",
            Action::Undo => "undo",
            Action::Redo => "redo",
            Action::KillToStart => "kill_to_start",
            Action::KillToEnd => "kill_to_end",
            Action::KillWord => "kill_word",
            Action::PasteKilled => "paste_killed",
            Action::ClearPrompt => "clear_prompt",
            Action::InsertImageRef => "insert_image_ref",
            Action::InsertVideoRef => "insert_video_ref",
            Action::Download => "download",
            Action::DownloadAll => "download_all",
            Action::Cancel => "cancel",
            Action::Reuse => "reuse",
            Action::Yank => "yank",
            Action::Forget => "forget",
            Action::Filter => "filter",
            Action::Sort => "sort",
            Action::Refresh => "refresh",
            Action::Resend => "resend",
            Action::OpenBatch => "open_batch",
            Action::Fold => "fold",
            Action::History => "history",
            Action::Mark => "mark",
            Action::Compare => "compare",
            Action::Picture => "picture",
            Action::Server => "server",
            Action::Import => "import",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::HalfPageUp => "half_page_up",
            Action::HalfPageDown => "half_page_down",
            Action::Open => "open",
            Action::HelpAnywhere => "help_anywhere",
            Action::Keep => "keep",
            Action::Reject => "reject",
            Action::Sequences => "sequences",
            Action::SequenceBack => "sequence_back",
            Action::ToList => "to_list",
            Action::ToShots => "to_shots",
            Action::NewSequence => "new_sequence",
            Action::AddShot => "add_shot",
            Action::AddTake => "add_take",
            Action::ChooseTake => "choose_take",
            Action::ShotEarlier => "shot_earlier",
            Action::ShotLater => "shot_later",
            Action::RemoveShot => "remove_shot",
            Action::Continue => "continue",
            Action::Hero => "hero",
            Action::CutFilm => "cut_film",
        }
    }
}

/// What the status bar calls an action: a word or two, each told apart from its neighbours'
/// (the help has the whole sentence). Actions not here are left out of the status bar; the
/// status bar shows them in this order, the most used first.
const HINTS: &[(Action, &str)] = &[
    (Action::Submit, "submit"),
    (Action::FocusNext, "next pane"),
    (Action::Help, "help"),
    (Action::HelpAnywhere, "help"),
    (Action::Quit, "quit"),
    (Action::Decrease, "less"),
    (Action::Increase, "more"),
    (Action::Activate, "edit"),
    (Action::Redo, "redo"),
    (Action::InsertImageRef, "image ref"),
    (Action::InsertVideoRef, "video ref"),
    (Action::Download, "download"),
    (Action::DownloadAll, "download all"),
    (Action::Cancel, "cancel"),
    (Action::Reuse, "reuse"),
    (Action::Yank, "copy path"),
    (Action::Forget, "forget"),
    (Action::Filter, "filter"),
    (Action::Sort, "sort"),
    (Action::Refresh, "refresh"),
    (Action::Resend, "resend"),
    (Action::OpenBatch, "batch file"),
    (Action::Fold, "fold"),
    (Action::History, "history"),
    (Action::Mark, "mark"),
    (Action::Compare, "compare"),
    (Action::Picture, "picture"),
    (Action::Server, "server"),
    (Action::Import, "import"),
    (Action::Top, "first"),
    (Action::Bottom, "last"),
    (Action::Open, "open"),
    (Action::Keep, "keep"),
    (Action::Reject, "reject"),
    (Action::Sequences, "sequences"),
    (Action::ChooseTake, "choose"),
    (Action::AddShot, "add shot"),
    (Action::AddTake, "add take"),
    (Action::NewSequence, "new"),
    (Action::ShotEarlier, "earlier"),
    (Action::ShotLater, "later"),
    (Action::RemoveShot, "remove"),
    (Action::Continue, "continue"),
    (Action::Hero, "hero"),
    (Action::CutFilm, "cut"),
    (Action::SequenceBack, "back"),
];

impl Action {
    /// The status bar's name for it; empty if the status bar leaves it out.
    pub fn hint(self) -> &'static str {
        HINTS
            .iter()
            .find(|(action, _)| *action == self)
            .map_or("", |(_, hint)| hint)
    }

    /// Its place in the status bar's order: the most used first.
    pub fn hint_rank(self) -> usize {
        HINTS
            .iter()
            .position(|(action, _)| *action == self)
            .unwrap_or(HINTS.len())
    }
}

type Key = (KeyCode, KeyModifiers);

/// A key as people write it: `ctrl+r`, `alt+i`, `f5`, `shift+tab`, `enter`, `up`, `D`.
pub fn parse_key(spec: &str) -> Result<Key, String> {
    let spec = spec.trim();
    let mut mods = NONE;
    let mut rest = spec;
    loop {
        let lower = rest.to_ascii_lowercase();
        if let Some(r) = lower.strip_prefix("ctrl+") {
            mods |= CTRL;
            rest = &rest[rest.len() - r.len()..];
        } else if let Some(r) = lower.strip_prefix("alt+") {
            mods |= ALT;
            rest = &rest[rest.len() - r.len()..];
        } else if let Some(r) = lower.strip_prefix("shift+") {
            mods |= SHIFT;
            rest = &rest[rest.len() - r.len()..];
        } else {
            break;
        }
    }
    let code = match rest.to_ascii_lowercase().as_str() {
        "enter" | "return" => Enter,
        "tab" if mods.contains(SHIFT) => BackTab,
        "tab" => Tab,
        "backtab" => BackTab,
        "esc" | "escape" => KeyCode::Esc,
        "up" => Up,
        "down" => Down,
        "left" => Left,
        "right" => Right,
        "space" => Char(' '),
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" => KeyCode::PageUp,
        "pagedown" => KeyCode::PageDown,
        f if f.len() > 1
            && f.starts_with('f')
            && f[1..].parse::<u8>().is_ok_and(|n| (1..=24).contains(&n)) =>
        {
            F(f[1..].parse().unwrap_or(1))
        }
        _ => {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_control() => Char(if mods.contains(CTRL) {
                    c.to_ascii_lowercase()
                } else {
                    c
                }),
                _ => {
                    return Err(format!(
                        "{spec:?} is not a key (write e.g. \"ctrl+s\", \"f6\", \"alt+x\" or \"x\")"
                    ));
                }
            }
        }
    };
    if code == KeyCode::Esc {
        return Err(format!("{spec:?}: Esc closes popups and cannot be bound"));
    }
    Ok((code, mods))
}

/// How a key is shown in help and hints.
pub fn key_label((code, mods): Key) -> String {
    let mut label = String::new();
    if mods.contains(CTRL) {
        label.push_str("Ctrl+");
    }
    if mods.contains(ALT) {
        label.push_str("Alt+");
    }
    // A letter's case says Shift already, and Shift+Tab has its own name.
    if mods.contains(SHIFT) && !matches!(code, Char(_) | BackTab) {
        label.push_str("Shift+");
    }
    let name = match code {
        Char(' ') => "Space".to_string(),
        Char(c) if mods.contains(CTRL) || mods.contains(ALT) => c.to_ascii_uppercase().to_string(),
        Char(c) => c.to_string(),
        F(n) => format!("F{n}"),
        Enter => "Enter".into(),
        Tab => "Tab".into(),
        BackTab => "Shift+Tab".into(),
        Up => "↑".into(),
        Down => "↓".into(),
        Left => "←".into(),
        Right => "→".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        other => format!("{other:?}"),
    };
    label.push_str(&name);
    label
}

/// A binding in force: the built-in one, or its keys as config.toml set them.
#[derive(Debug, Clone)]
pub struct Bound {
    pub scope: Scope,
    pub keys: Vec<Key>,
    pub action: Action,
    pub help: &'static str,
}

impl Bound {
    /// Opens the help.
    pub fn help_action(&self) -> bool {
        matches!(self.action, Action::Help | Action::HelpAnywhere)
    }

    pub fn label(&self) -> String {
        self.keys
            .iter()
            .map(|k| key_label(*k))
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The key bindings in force. Dispatch, help and hints all read this one table.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<Bound>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self {
            bindings: BINDINGS
                .iter()
                .map(|b| Bound {
                    scope: b.scope,
                    keys: b.keys.to_vec(),
                    action: b.action,
                    help: b.help,
                })
                .collect(),
        }
    }
}

fn overlaps(a: Scope, b: Scope) -> bool {
    a == b
        || a == Scope::Anywhere
        || b == Scope::Anywhere
        || (a == Scope::OutsideEditor && b != Scope::Editor)
        || (b == Scope::OutsideEditor && a != Scope::Editor)
}

impl Keymap {
    /// The built-in keys with `[keys]` from config.toml laid over them: action name → keys,
    /// several separated by commas. Errors name the entry and the rule.
    pub fn with_overrides<'a>(
        overrides: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<Self, String> {
        let mut map = Self::default();
        for (name, spec) in overrides {
            let action = BINDINGS
                .iter()
                .map(|b| b.action)
                .find(|a| a.name() == name)
                .ok_or_else(|| {
                    let mut names: Vec<&str> = BINDINGS.iter().map(|b| b.action.name()).collect();
                    names.dedup();
                    format!("keys.{name}: no such action (one of: {})", names.join(", "))
                })?;
            let keys = spec
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(parse_key)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("keys.{name}: {e}"))?;
            if keys.is_empty() {
                return Err(format!("keys.{name}: give at least one key"));
            }
            for bound in map.bindings.iter_mut().filter(|b| b.action == action) {
                bound.keys = keys.clone();
            }
        }
        for (i, a) in map.bindings.iter().enumerate() {
            for b in &map.bindings[i + 1..] {
                if a.action != b.action
                    && overlaps(a.scope, b.scope)
                    && let Some(k) = a.keys.iter().find(|k| b.keys.contains(k))
                {
                    return Err(format!(
                        "keys: {} is bound to both {} and {}",
                        key_label(*k),
                        a.action.name(),
                        b.action.name()
                    ));
                }
            }
        }
        Ok(map)
    }

    /// The action bound to `key` where `scope` has the focus, if any.
    pub fn lookup(&self, scope: Scope, key: &KeyEvent) -> Option<Action> {
        let applies = |s: Scope| {
            s == scope
                || s == Scope::Anywhere
                || (s == Scope::OutsideEditor && scope != Scope::Editor)
        };
        self.bindings
            .iter()
            .find(|b| applies(b.scope) && b.keys.iter().any(|k| matches(*k, key)))
            .map(|b| b.action)
    }

    /// The bindings of one scope, for the help popup and the status bar.
    pub fn bindings_for(&self, scope: Scope) -> impl Iterator<Item = &Bound> {
        self.bindings.iter().filter(move |b| b.scope == scope)
    }
}

fn matches((code, mods): Key, key: &KeyEvent) -> bool {
    // Shift is part of the character itself ('D'), so only Ctrl and Alt are compared for
    // characters; other keys compare all modifiers (BackTab may or may not carry Shift).
    let relevant = |m: KeyModifiers| match key.code {
        Char(_) => m & (CTRL | ALT),
        BackTab => m & (CTRL | ALT),
        _ => m,
    };
    code == key.code && relevant(mods) == relevant(key.modifiers)
}

#[cfg(test)]
mod tests;
