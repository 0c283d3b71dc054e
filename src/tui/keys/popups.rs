//! The popups' keys: one table, looked up by the popups and listed in the help.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{ALT, CTRL, NONE, SHIFT, key_label};
use KeyCode::{
    BackTab, Backspace, Char, Delete, Down, End, Enter, Esc, Home, Insert, Left, PageDown, PageUp,
    Right, Tab, Up,
};

/// Where a popup's binding applies. A popup takes every key while it is open, so these never
/// clash with the panes' keys; they are fixed (not in config.toml) and listed in the help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopupScope {
    /// The keys (`?`): scrolled, any other key closes it.
    Help,
    /// The problems of a refused submission and a large picture.
    Notice,
    Confirm,
    /// Every field and popup that takes a path: the reference fields and the batch file.
    PathInput,
    /// A reference field's files or asset ids.
    References,
    Shots,
    ShotPrompt,
    BatchPlan,
    History,
    Compare,
    /// Typing a filter over the job list (`/`).
    Filter,
    /// Why a take is rejected.
    Reasons,
    /// A kept take's re-render, priced.
    Hero,
}

impl PopupScope {
    pub const ALL: [PopupScope; 13] = [
        PopupScope::Help,
        PopupScope::Notice,
        PopupScope::Confirm,
        PopupScope::PathInput,
        PopupScope::References,
        PopupScope::Shots,
        PopupScope::ShotPrompt,
        PopupScope::BatchPlan,
        PopupScope::History,
        PopupScope::Compare,
        PopupScope::Filter,
        PopupScope::Reasons,
        PopupScope::Hero,
    ];

    pub fn title(self) -> &'static str {
        match self {
            PopupScope::Help => "This help",
            PopupScope::Notice => "Problems and the large picture",
            PopupScope::Confirm => "A question",
            PopupScope::PathInput => "A path or asset id (reference fields, batch file)",
            PopupScope::References => "A reference field's files or asset ids",
            PopupScope::Shots => "Multi-shot editor",
            PopupScope::ShotPrompt => "A shot's prompt",
            PopupScope::BatchPlan => "A batch's plan",
            PopupScope::History => "Prompt history",
            PopupScope::Compare => "Compared jobs",
            PopupScope::Filter => "Filtering the jobs",
            PopupScope::Reasons => "Why a take is rejected",
            PopupScope::Hero => "A kept take re-rendered (hero)",
        }
    }
}

/// What a key does in a popup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopupAction {
    Close,
    /// As Ctrl+C anywhere: quit, asking first when work is in flight.
    ForceQuit,
    Yes,
    No,
    /// Keep what was typed.
    Accept,
    Complete,
    CompletePrev,
    Prev,
    Next,
    PagePrev,
    PageNext,
    First,
    Last,
    MoveEarlier,
    MoveLater,
    Shorter,
    Longer,
    Add,
    Remove,
    Edit,
    FitDuration,
    TurnOff,
    FillWithParameters,
    Fill,
    ClearQuery,
    DeleteChar,
    ClearMarks,
}

/// One entry of the popups' table. No keys: any key not bound otherwise in its scope.
pub struct PopupBinding {
    pub scope: PopupScope,
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub action: PopupAction,
    pub help: &'static str,
}

impl PopupBinding {
    pub fn label(&self) -> String {
        if self.keys.is_empty() {
            return "any key".into();
        }
        self.keys
            .iter()
            .map(|k| key_label(*k))
            .collect::<Vec<_>>()
            .join("/")
    }
}

macro_rules! popup_bind {
    ($scope:ident, [$(($code:expr, $mods:expr)),*], $action:ident, $help:literal) => {
        PopupBinding {
            scope: PopupScope::$scope,
            keys: &[$(($code, $mods)),*],
            action: PopupAction::$action,
            help: $help,
        }
    };
}

/// In each scope the first binding that matches wins, so the more specific keys (Shift+↑
/// before ↑, Alt+Enter before Enter) come first.
pub const POPUP_BINDINGS: &[PopupBinding] = &[
    popup_bind!(Help, [(Char('c'), CTRL)], ForceQuit, "quit"),
    popup_bind!(Help, [(Down, NONE), (Char('j'), NONE)], Next, "scroll down"),
    popup_bind!(Help, [(Up, NONE), (Char('k'), NONE)], Prev, "scroll up"),
    popup_bind!(
        Help,
        [(PageDown, NONE), (Char(' '), NONE), (Char('d'), CTRL)],
        PageNext,
        "a page down"
    ),
    popup_bind!(
        Help,
        [(PageUp, NONE), (Char('u'), CTRL)],
        PagePrev,
        "a page up"
    ),
    popup_bind!(Help, [(Char('g'), NONE), (Home, NONE)], First, "to the top"),
    popup_bind!(Help, [(Char('G'), NONE), (End, NONE)], Last, "to the end"),
    popup_bind!(Help, [], Close, "close"),
    popup_bind!(Notice, [(Char('c'), CTRL)], ForceQuit, "quit"),
    popup_bind!(Notice, [], Close, "close"),
    popup_bind!(
        Confirm,
        [(Char('y'), NONE), (Char('Y'), NONE), (Enter, NONE)],
        Yes,
        "yes"
    ),
    popup_bind!(
        Confirm,
        [(Char('c'), CTRL)],
        ForceQuit,
        "quit now, when the question is whether to quit"
    ),
    popup_bind!(
        Confirm,
        [(Char('n'), NONE), (Char('N'), NONE), (Esc, NONE)],
        No,
        "no"
    ),
    popup_bind!(PathInput, [(Enter, NONE)], Accept, "keep the text"),
    popup_bind!(
        PathInput,
        [(Esc, NONE), (Char('c'), CTRL)],
        Close,
        "drop the text"
    ),
    popup_bind!(
        PathInput,
        [(Tab, NONE)],
        Complete,
        "complete the path (a field's own kind of file); again: the next choice"
    ),
    popup_bind!(
        PathInput,
        [(BackTab, NONE)],
        CompletePrev,
        "the previous choice"
    ),
    popup_bind!(References, [(Esc, NONE), (Char('q'), NONE)], Close, "close"),
    popup_bind!(
        References,
        [(Up, SHIFT), (Char('K'), NONE)],
        MoveEarlier,
        "move it earlier"
    ),
    popup_bind!(
        References,
        [(Down, SHIFT), (Char('J'), NONE)],
        MoveLater,
        "move it later"
    ),
    popup_bind!(
        References,
        [(Up, NONE), (Char('k'), NONE)],
        Prev,
        "previous one"
    ),
    popup_bind!(
        References,
        [(Down, NONE), (Char('j'), NONE)],
        Next,
        "next one"
    ),
    popup_bind!(
        References,
        [(Char('a'), NONE), (Insert, NONE)],
        Add,
        "add a file or asset id"
    ),
    popup_bind!(
        References,
        [(Enter, NONE), (Char('e'), NONE)],
        Edit,
        "replace the selected one"
    ),
    popup_bind!(
        References,
        [(Char('x'), NONE), (Delete, NONE)],
        Remove,
        "remove the selected one"
    ),
    popup_bind!(Shots, [(Esc, NONE), (Char('q'), NONE)], Close, "close"),
    popup_bind!(
        Shots,
        [(Up, SHIFT), (Char('K'), NONE)],
        MoveEarlier,
        "move the shot earlier"
    ),
    popup_bind!(
        Shots,
        [(Down, SHIFT), (Char('J'), NONE)],
        MoveLater,
        "move the shot later"
    ),
    popup_bind!(
        Shots,
        [(Up, NONE), (Char('k'), NONE)],
        Prev,
        "previous shot"
    ),
    popup_bind!(Shots, [(Down, NONE), (Char('j'), NONE)], Next, "next shot"),
    popup_bind!(
        Shots,
        [(Left, NONE), (Char('h'), NONE), (Char('-'), NONE)],
        Shorter,
        "a second shorter"
    ),
    popup_bind!(
        Shots,
        [(Right, NONE), (Char('l'), NONE), (Char('+'), NONE)],
        Longer,
        "a second longer"
    ),
    popup_bind!(Shots, [(Char('a'), NONE)], Add, "add a shot (at most 6)"),
    popup_bind!(
        Shots,
        [(Char('x'), NONE), (Delete, NONE)],
        Remove,
        "remove the shot"
    ),
    popup_bind!(
        Shots,
        [(Enter, NONE), (Char('e'), NONE)],
        Edit,
        "edit the shot's prompt"
    ),
    popup_bind!(
        Shots,
        [(Char('='), NONE)],
        FitDuration,
        "make the video as long as the shots"
    ),
    popup_bind!(
        Shots,
        [(Char('o'), NONE)],
        TurnOff,
        "multi-shot off: one prompt again (the shots come back when it is on)"
    ),
    popup_bind!(ShotPrompt, [(Enter, NONE)], Accept, "keep the prompt"),
    popup_bind!(ShotPrompt, [(Esc, NONE)], Close, "drop the change"),
    popup_bind!(
        BatchPlan,
        [(Enter, NONE), (Char('y'), NONE), (Char('Y'), NONE)],
        Yes,
        "send the batch (paid), once it is priced"
    ),
    popup_bind!(
        BatchPlan,
        [
            (Esc, NONE),
            (Char('n'), NONE),
            (Char('N'), NONE),
            (Char('q'), NONE)
        ],
        No,
        "drop the batch"
    ),
    popup_bind!(
        BatchPlan,
        [(Down, NONE), (Char('j'), NONE)],
        Next,
        "scroll down"
    ),
    popup_bind!(
        BatchPlan,
        [(Up, NONE), (Char('k'), NONE)],
        Prev,
        "scroll up"
    ),
    popup_bind!(
        BatchPlan,
        [(PageDown, NONE)],
        PageNext,
        "scroll a page down"
    ),
    popup_bind!(BatchPlan, [(PageUp, NONE)], PagePrev, "scroll a page up"),
    popup_bind!(
        BatchPlan,
        [(Char('g'), NONE), (Home, NONE)],
        First,
        "the first request"
    ),
    popup_bind!(
        BatchPlan,
        [(Char('G'), NONE), (End, NONE)],
        Last,
        "the last request"
    ),
    popup_bind!(BatchPlan, [(Char('c'), CTRL)], ForceQuit, "quit"),
    popup_bind!(History, [(Esc, NONE)], Close, "close"),
    popup_bind!(History, [(Char('c'), CTRL)], ForceQuit, "quit"),
    popup_bind!(
        History,
        [(Enter, ALT)],
        FillWithParameters,
        "put the prompt and its parameters in the editor"
    ),
    popup_bind!(
        History,
        [(Enter, NONE)],
        Fill,
        "put the prompt in the editor (Ctrl+Z undoes)"
    ),
    popup_bind!(
        History,
        [(Up, NONE), (Char('p'), CTRL), (Char('k'), CTRL)],
        Prev,
        "previous match"
    ),
    popup_bind!(
        History,
        [(Down, NONE), (Char('n'), CTRL), (Char('j'), CTRL)],
        Next,
        "next match"
    ),
    popup_bind!(History, [(PageUp, NONE)], PagePrev, "a page of matches up"),
    popup_bind!(
        History,
        [(PageDown, NONE)],
        PageNext,
        "a page of matches down"
    ),
    popup_bind!(History, [(Home, NONE)], First, "the best match"),
    popup_bind!(History, [(End, NONE)], Last, "the last match"),
    popup_bind!(History, [(Char('u'), CTRL)], ClearQuery, "clear the search"),
    popup_bind!(
        History,
        [(Backspace, NONE)],
        DeleteChar,
        "delete a letter (other letters search)"
    ),
    popup_bind!(Compare, [(Char('c'), CTRL)], ForceQuit, "quit"),
    popup_bind!(
        Compare,
        [(Char(' '), NONE)],
        ClearMarks,
        "clear the marks and close"
    ),
    popup_bind!(
        Compare,
        [
            (Char('='), NONE),
            (Esc, NONE),
            (Char('q'), NONE),
            (Enter, NONE)
        ],
        Close,
        "close"
    ),
    popup_bind!(
        Filter,
        [(Enter, NONE)],
        Accept,
        "keep the filter (other letters filter)"
    ),
    popup_bind!(Filter, [(Esc, NONE)], Close, "clear the filter"),
    popup_bind!(Filter, [(Backspace, NONE)], DeleteChar, "delete a letter"),
    popup_bind!(Reasons, [(Char('c'), CTRL)], ForceQuit, "quit"),
    popup_bind!(
        Reasons,
        [(Up, NONE), (Char('k'), NONE)],
        Prev,
        "previous reason"
    ),
    popup_bind!(
        Reasons,
        [(Down, NONE), (Char('j'), NONE)],
        Next,
        "next reason"
    ),
    popup_bind!(Reasons, [(Enter, NONE)], Accept, "reject for this reason"),
    popup_bind!(
        Reasons,
        [(Esc, NONE), (Char('q'), NONE)],
        Close,
        "cancel: the job stays as it was"
    ),
    popup_bind!(
        Hero,
        [(Char('y'), NONE), (Char('Y'), NONE), (Enter, NONE)],
        Yes,
        "send it (paid), once it is priced"
    ),
    popup_bind!(
        Hero,
        [(Char('m'), NONE)],
        Next,
        "the other mode (pro or 4k), priced again"
    ),
    popup_bind!(Hero, [(Char('c'), CTRL)], ForceQuit, "quit"),
    popup_bind!(
        Hero,
        [(Char('n'), NONE), (Char('N'), NONE), (Esc, NONE)],
        No,
        "no"
    ),
];

/// The action of `key` in popup `scope`. Modifiers the binding does not name are ignored
/// (Ctrl+Y answers yes as y does), as the popups always did.
pub fn popup_action(scope: PopupScope, key: &KeyEvent) -> Option<PopupAction> {
    let ours = || POPUP_BINDINGS.iter().filter(move |b| b.scope == scope);
    ours()
        .find(|b| {
            b.keys
                .iter()
                .any(|(code, mods)| *code == key.code && key.modifiers.contains(*mods))
        })
        .or_else(|| ours().find(|b| b.keys.is_empty()))
        .map(|b| b.action)
}

/// The bindings of one popup, for the help.
pub fn popup_bindings(scope: PopupScope) -> impl Iterator<Item = &'static PopupBinding> {
    POPUP_BINDINGS.iter().filter(move |b| b.scope == scope)
}
