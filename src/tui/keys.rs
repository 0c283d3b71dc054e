//! The one table of key bindings: dispatch reads it, and the `?` help and the status bar's
//! hints are generated from it, so they can never disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Anywhere => "Anywhere",
            Scope::OutsideEditor => "Outside the editor",
            Scope::Editor => "Prompt editor",
            Scope::Sidebar => "Parameters",
            Scope::Queue => "Job queue",
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
    Redo,
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
}

pub struct Binding {
    pub scope: Scope,
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const ALT: KeyModifiers = KeyModifiers::ALT;

macro_rules! bind {
    ($scope:ident, [$(($code:expr, $mods:expr)),+], $label:literal, $action:ident, $help:literal) => {
        Binding {
            scope: Scope::$scope,
            keys: &[$(($code, $mods)),+],
            label: $label,
            action: Action::$action,
            help: $help,
        }
    };
}

use KeyCode::{BackTab, Char, Down, Enter, F, Left, Right, Tab, Up};

pub const BINDINGS: &[Binding] = &[
    bind!(
        Anywhere,
        [(Char('r'), CTRL), (F(5), NONE)],
        "Ctrl+R/F5",
        Submit,
        "submit the request"
    ),
    bind!(Anywhere, [(Tab, NONE)], "Tab", FocusNext, "next pane"),
    bind!(
        Anywhere,
        [(BackTab, NONE), (BackTab, KeyModifiers::SHIFT)],
        "Shift+Tab",
        FocusPrev,
        "previous pane"
    ),
    bind!(Anywhere, [(Char('c'), CTRL)], "Ctrl+C", ForceQuit, "quit"),
    bind!(OutsideEditor, [(Char('?'), NONE)], "?", Help, "this help"),
    bind!(OutsideEditor, [(Char('q'), NONE)], "q", Quit, "quit"),
    bind!(
        Editor,
        [(Char('y'), CTRL)],
        "Ctrl+Y",
        Redo,
        "redo (Ctrl+U undoes)"
    ),
    bind!(
        Editor,
        [(Char('i'), ALT)],
        "Alt+I",
        InsertImageRef,
        "insert <<<image_N>>> for the next reference image"
    ),
    bind!(
        Editor,
        [(Char('v'), ALT)],
        "Alt+V",
        InsertVideoRef,
        "insert <<<video_1>>>"
    ),
    bind!(
        Sidebar,
        [(Up, NONE), (Char('k'), NONE)],
        "↑/k",
        Up,
        "previous field"
    ),
    bind!(
        Sidebar,
        [(Down, NONE), (Char('j'), NONE)],
        "↓/j",
        Down,
        "next field"
    ),
    bind!(
        Sidebar,
        [(Left, NONE), (Char('h'), NONE)],
        "←/h",
        Decrease,
        "previous value"
    ),
    bind!(
        Sidebar,
        [(Right, NONE), (Char('l'), NONE)],
        "→/l",
        Increase,
        "next value"
    ),
    bind!(
        Sidebar,
        [(Enter, NONE)],
        "Enter",
        Activate,
        "change or edit the field"
    ),
    bind!(
        Queue,
        [(Up, NONE), (Char('k'), NONE)],
        "↑/k",
        Up,
        "previous job"
    ),
    bind!(
        Queue,
        [(Down, NONE), (Char('j'), NONE)],
        "↓/j",
        Down,
        "next job"
    ),
    bind!(
        Queue,
        [(Char('d'), NONE)],
        "d",
        Download,
        "download the selected job"
    ),
    bind!(
        Queue,
        [(Char('D'), NONE)],
        "D",
        DownloadAll,
        "download every finished job"
    ),
    bind!(
        Queue,
        [(Char('c'), NONE)],
        "c",
        Cancel,
        "cancel the selected job (asks first)"
    ),
    bind!(
        Queue,
        [(Char('e'), NONE), (Enter, NONE)],
        "e/Enter",
        Reuse,
        "copy its parameters into the editor"
    ),
    bind!(
        Queue,
        [(Char('y'), NONE)],
        "y",
        Yank,
        "copy the job id (or file path) to the clipboard"
    ),
    bind!(
        Queue,
        [(Char('x'), NONE)],
        "x",
        Forget,
        "forget the job (asks first)"
    ),
    bind!(Queue, [(Char('/'), NONE)], "/", Filter, "filter the jobs"),
    bind!(
        Queue,
        [(Char('s'), NONE)],
        "s",
        Sort,
        "cycle the sort order"
    ),
    bind!(
        Queue,
        [(Char('r'), NONE)],
        "r",
        Refresh,
        "poll everything now, retry failures"
    ),
];

fn matches(binding: &Binding, key: &KeyEvent) -> bool {
    // Shift is part of the character itself ('D'), so only Ctrl and Alt are compared for
    // characters; other keys compare all modifiers.
    let relevant = |m: KeyModifiers| match key.code {
        Char(_) => m & (CTRL | ALT),
        _ => m,
    };
    binding
        .keys
        .iter()
        .any(|(code, mods)| *code == key.code && relevant(*mods) == relevant(key.modifiers))
}

/// The action bound to `key` where `scope` has the focus, if any.
pub fn lookup(scope: Scope, key: &KeyEvent) -> Option<Action> {
    let applies = |s: Scope| {
        s == scope || s == Scope::Anywhere || (s == Scope::OutsideEditor && scope != Scope::Editor)
    };
    BINDINGS
        .iter()
        .find(|b| applies(b.scope) && matches(b, key))
        .map(|b| b.action)
}

/// The bindings of one scope, for the help popup and the status bar.
pub fn bindings_for(scope: Scope) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.scope == scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn typing_keys_stay_in_the_editor() {
        assert_eq!(lookup(Scope::Editor, &key(Char('q'), NONE)), None);
        assert_eq!(lookup(Scope::Editor, &key(Char('?'), NONE)), None);
        assert_eq!(
            lookup(Scope::Queue, &key(Char('q'), NONE)),
            Some(Action::Quit)
        );
    }

    #[test]
    fn submit_works_from_anywhere_and_shift_letters_differ() {
        for scope in [Scope::Editor, Scope::Sidebar, Scope::Queue] {
            assert_eq!(lookup(scope, &key(Char('r'), CTRL)), Some(Action::Submit));
            assert_eq!(lookup(scope, &key(F(5), NONE)), Some(Action::Submit));
        }
        assert_eq!(
            lookup(Scope::Queue, &key(Char('d'), NONE)),
            Some(Action::Download)
        );
        assert_eq!(
            lookup(Scope::Queue, &key(Char('D'), KeyModifiers::SHIFT)),
            Some(Action::DownloadAll)
        );
    }

    #[test]
    fn no_key_is_bound_twice_in_one_place() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                let overlap =
                    a.scope == b.scope || a.scope == Scope::Anywhere || b.scope == Scope::Anywhere;
                if overlap {
                    for k in a.keys {
                        assert!(
                            !b.keys.contains(k),
                            "{} and {} share {k:?}",
                            a.label,
                            b.label
                        );
                    }
                }
            }
        }
    }
}
