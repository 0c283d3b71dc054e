//! The popups' keys through the app: one path input everywhere, the key table's order, and
//! the help listing every popup's keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::Popup;
use crate::tui::app::{App, Effect};
use crate::tui::form::{FIELDS, Field};
use crate::tui::keys::{POPUP_BINDINGS, PopupAction, PopupScope, popup_action};

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn app() -> App {
    App::new("demo".into(), jiff::Timestamp::UNIX_EPOCH)
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
}

/// The app with the start image's input open.
fn field_input() -> App {
    let mut app = app();
    app.on_key(key(KeyCode::Tab));
    while FIELDS[app.field] != Field::StartImage {
        app.on_key(key(KeyCode::Char('j')));
    }
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(app.popup, Some(Popup::Input(_))));
    app
}

/// The app with the batch file's input open.
fn batch_file() -> App {
    let mut app = app();
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Char('b')));
    assert!(matches!(app.popup, Some(Popup::BatchFile(_))));
    app
}

#[test]
fn ctrl_c_drops_a_path_as_esc_does_in_every_path_input() {
    for open in [field_input, batch_file] {
        for drop in [key(KeyCode::Esc), ctrl('c')] {
            let mut app = open();
            type_text(&mut app, "some/where.png");
            let effects = app.on_key(drop);
            assert!(app.popup.is_none(), "{drop:?} closes the input");
            assert!(!effects.contains(&Effect::Quit), "{drop:?} does not quit");
            assert!(app.request.start_image.is_none(), "{drop:?} keeps nothing");
        }
    }
}

#[test]
fn enter_keeps_the_typed_path_in_the_field() {
    let mut app = field_input();
    type_text(&mut app, "asset_start");
    app.on_key(key(KeyCode::Enter));
    assert!(app.popup.is_none());
    assert_eq!(
        crate::tui::form::text_of(&app.request, Field::StartImage),
        "asset_start"
    );
}

#[test]
fn tab_lists_the_paths_that_complete_the_text_in_both_inputs() {
    let dir = tempfile::tempdir().unwrap();
    // Pictures, which the start image's input offers too.
    for name in ["shot_a.png", "shot_b.png"] {
        std::fs::write(dir.path().join(name), "").unwrap();
    }
    let typed = format!("{}/sh", dir.path().display());
    for open in [field_input, batch_file] {
        let mut app = open();
        type_text(&mut app, &typed);
        app.on_key(key(KeyCode::Tab));
        let input = match &app.popup {
            Some(Popup::Input(field)) => &field.input,
            Some(Popup::BatchFile(batch)) => &batch.input,
            _ => panic!("the input closed"),
        };
        assert_eq!(input.text(), format!("{}/shot_", dir.path().display()));
        assert_eq!(input.candidates(), ["shot_a.png", "shot_b.png"]);
        // Typing again drops the choices.
        app.on_key(key(KeyCode::Char('a')));
        let Some(
            Popup::BatchFile(super::BatchFile { input })
            | Popup::Input(super::FieldInput { input, .. }),
        ) = &app.popup
        else {
            panic!("the input closed");
        };
        assert!(input.candidates().is_empty());
    }
}

#[test]
fn the_more_specific_binding_wins_and_unnamed_modifiers_are_ignored() {
    let shift_up = KeyEvent::new(KeyCode::Up, KeyModifiers::SHIFT);
    assert_eq!(
        popup_action(PopupScope::Shots, &shift_up),
        Some(PopupAction::MoveEarlier)
    );
    assert_eq!(
        popup_action(PopupScope::Shots, &key(KeyCode::Up)),
        Some(PopupAction::Prev)
    );
    let alt_enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT);
    assert_eq!(
        popup_action(PopupScope::History, &alt_enter),
        Some(PopupAction::FillWithParameters)
    );
    assert_eq!(
        popup_action(PopupScope::Confirm, &ctrl('y')),
        Some(PopupAction::Yes)
    );
    assert_eq!(
        popup_action(PopupScope::Notice, &key(KeyCode::Char('x'))),
        Some(PopupAction::Close)
    );
    assert_eq!(
        popup_action(PopupScope::History, &key(KeyCode::Char('x'))),
        None
    );
}

#[test]
fn every_popup_has_keys_in_the_table() {
    for scope in PopupScope::ALL {
        assert!(
            POPUP_BINDINGS.iter().any(|b| b.scope == scope),
            "{scope:?} has no keys"
        );
    }
}

#[test]
fn the_help_lists_every_popups_keys_as_it_scrolls() {
    let mut app = app();
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Char('?')));
    assert!(matches!(app.popup, Some(Popup::Help(_))));
    let mut seen = String::new();
    for _ in 0..20 {
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
        terminal
            .draw(|frame| crate::tui::render::draw(frame, &mut app))
            .unwrap();
        let buffer = terminal.backend().buffer();
        let screen: String = buffer
            .content()
            .chunks(160)
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
            .collect();
        seen.push_str(&screen);
        // Paging stays in the help.
        app.on_key(key(KeyCode::PageDown));
        assert!(matches!(app.popup, Some(Popup::Help(_))));
    }
    for scope in PopupScope::ALL {
        assert!(
            seen.contains(scope.title()),
            "{} missing:\n{seen}",
            scope.title()
        );
    }
    assert!(
        seen.lines()
            .any(|l| l.contains("Esc/Ctrl+C") && l.contains("drop the text")),
        "{seen}"
    );
}
