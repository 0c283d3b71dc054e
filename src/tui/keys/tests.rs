//! The key table: dispatch by scope, overrides from config.toml and their errors.

use super::*;
use std::collections::BTreeMap;

fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

#[test]
fn typing_keys_stay_in_the_editor() {
    let map = Keymap::default();
    assert_eq!(map.lookup(Scope::Editor, &key(Char('q'), NONE)), None);
    assert_eq!(map.lookup(Scope::Editor, &key(Char('?'), NONE)), None);
    assert_eq!(
        map.lookup(Scope::Queue, &key(Char('q'), NONE)),
        Some(Action::Quit)
    );
}

#[test]
fn submit_works_from_anywhere_and_shift_letters_differ() {
    let map = Keymap::default();
    for scope in [Scope::Editor, Scope::Sidebar, Scope::Queue] {
        assert_eq!(
            map.lookup(scope, &key(Char('r'), CTRL)),
            Some(Action::Submit)
        );
        assert_eq!(map.lookup(scope, &key(F(5), NONE)), Some(Action::Submit));
    }
    assert_eq!(
        map.lookup(Scope::Queue, &key(Char('d'), NONE)),
        Some(Action::Download)
    );
    assert_eq!(
        map.lookup(Scope::Queue, &key(Char('D'), SHIFT)),
        Some(Action::DownloadAll)
    );
    assert_eq!(
        map.lookup(Scope::Queue, &key(BackTab, NONE)),
        Some(Action::FocusPrev)
    );
}

#[test]
fn the_built_in_table_has_no_clash() {
    assert!(Keymap::with_overrides(&BTreeMap::new()).is_ok());
}

#[test]
fn overrides_replace_keys_and_show_in_labels() {
    let overrides: BTreeMap<String, String> =
        [("submit".to_string(), "ctrl+s, f6".to_string())].into();
    let map = Keymap::with_overrides(&overrides).unwrap();
    assert_eq!(
        map.lookup(Scope::Editor, &key(Char('s'), CTRL)),
        Some(Action::Submit)
    );
    assert_eq!(map.lookup(Scope::Editor, &key(Char('r'), CTRL)), None);
    let label = map.bindings_for(Scope::Anywhere).next().unwrap().label();
    assert_eq!(label, "Ctrl+S/F6");
}

#[test]
fn bad_overrides_name_the_entry_and_the_rule() {
    let err = |k: &str, v: &str| {
        let o: BTreeMap<String, String> = [(k.to_string(), v.to_string())].into();
        Keymap::with_overrides(&o).unwrap_err()
    };
    assert!(err("sumbit", "f6").starts_with("keys.sumbit: no such action"));
    assert!(err("submit", "ctrl+").starts_with("keys.submit: \"ctrl+\" is not a key"));
    assert_eq!(
        err("download", "c"),
        "keys: c is bound to both download and cancel"
    );
    assert!(err("submit", "esc").contains("cannot be bound"));
}

#[test]
fn keys_parse_as_written() {
    assert_eq!(parse_key("Ctrl+R"), Ok((Char('r'), CTRL)));
    assert_eq!(parse_key("shift+tab"), Ok((BackTab, SHIFT)));
    assert_eq!(parse_key("F12"), Ok((F(12), NONE)));
    assert_eq!(parse_key("D"), Ok((Char('D'), NONE)));
    assert!(parse_key("f99").is_err());
}

#[test]
fn the_status_bar_names_no_two_keys_of_a_pane_alike() {
    let map = Keymap::default();
    for scope in [Scope::Editor, Scope::Sidebar, Scope::Queue] {
        let mut seen = std::collections::HashMap::new();
        let applies = [scope, Scope::Anywhere, Scope::OutsideEditor]
            .into_iter()
            .filter(|s| *s != Scope::OutsideEditor || scope != Scope::Editor);
        for b in applies.flat_map(|s| map.bindings_for(s)) {
            let hint = b.action.hint();
            if hint.is_empty() || b.help_action() {
                continue;
            }
            if let Some(other) = seen.insert(hint, b.label()) {
                panic!("{} and {} are both \"{hint}\"", other, b.label());
            }
        }
    }
    // The help opens from the editor with a key that types nothing.
    assert_eq!(
        map.lookup(Scope::Editor, &key(F(1), NONE)),
        Some(Action::HelpAnywhere)
    );
    assert_eq!(map.lookup(Scope::Editor, &key(Char('?'), NONE)), None);
}
