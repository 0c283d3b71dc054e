//! Editing in a real terminal against `--demo`: multi-shot turned off and on, and a repeated
//! submission that asks first.

use crate::common::pty::{AppDirs, Key, Pty, queue_rows};

const PROMPT: &str = "a red fox in snow";
const QUESTION: &str = "Submit the same request again?";

/// What the Parameters pane shows for Multi-shot (not the multi-shot editor's title).
fn multi_shot(screen: &str) -> Option<String> {
    screen.lines().find_map(|line| {
        let (_, after) = line.split_once("Multi-shot")?;
        // A problem with the field puts ⚠ before its value.
        let value = after.trim_start_matches([' ', '⚠']);
        value
            .starts_with(|c: char| c.is_alphanumeric())
            .then(|| value.split('│').next().unwrap_or("").trim().to_string())
    })
}

#[test]
fn multi_shot_turned_off_and_on_and_a_single_prompt_is_sent() {
    let dirs = AppDirs::new("auto_download = false\n");
    let app = app_with_prompt(&dirs);
    // To the Parameters pane and down to Multi-shot, the last field.
    app.press(Key::Tab);
    app.type_text(&"j".repeat(12));
    app.wait_for("multi-shot off at first", |s| {
        multi_shot(s).is_some_and(|v| v.starts_with("off"))
    });
    // Enter opens the editor with one shot; removing it turns multi-shot off.
    app.press(Key::Enter);
    app.wait_for("the multi-shot editor", |s| s.contains("(1 shot of 6)"));
    app.type_text("x");
    app.wait_for("multi-shot off again", |s| {
        !s.contains("J/K move") && multi_shot(s).is_some_and(|v| v.starts_with("off"))
    });
    // → turns it on, ← off.
    app.press(Key::Right);
    app.wait_for("multi-shot on", |s| {
        multi_shot(s).is_some_and(|v| v.starts_with("1 shot, 5/5 s"))
    });
    app.press(Key::Left);
    app.wait_for("multi-shot off", |s| {
        multi_shot(s).is_some_and(|v| v.starts_with("off"))
    });
    // Off, the prompt alone goes, and the job succeeds.
    app.press(Key::Ctrl('r'));
    let screen = app.wait_for("the job to succeed", |s| {
        queue_rows(s).iter().any(|r| r.contains("success"))
    });
    assert_eq!(queue_rows(&screen).len(), 1, "{screen}");
    assert!(!screen.contains("must have 1 to 6"), "{screen}");
}

#[test]
fn a_repeated_submission_asks_first() {
    let dirs = AppDirs::new("auto_download = false\n");
    let app = app_with_prompt(&dirs);
    app.press(Key::Ctrl('r'));
    app.wait_for("the first job", |s| queue_rows(s).len() == 1);
    // The same request again: a question, and `n` sends nothing.
    app.press(Key::Ctrl('r'));
    app.wait_for("the question", |s| s.contains(QUESTION));
    app.type_text("n");
    let screen = app.wait_for("the first job to succeed, the question gone", |s| {
        !s.contains(QUESTION) && queue_rows(s).iter().any(|r| r.contains("success"))
    });
    assert_eq!(queue_rows(&screen).len(), 1, "no second job:\n{screen}");
    // Asked again, `y` sends it.
    app.press(Key::Ctrl('r'));
    app.wait_for("the question again", |s| s.contains(QUESTION));
    app.type_text("y");
    let screen = app.wait_for("a second job", |s| queue_rows(s).len() == 2);
    assert!(!screen.contains(QUESTION), "{screen}");
}

/// The app against the simulator, in its first frame, the prompt typed.
fn app_with_prompt(dirs: &AppDirs) -> Pty {
    let app = dirs.demo_app();
    app.type_text(PROMPT);
    app.wait_for("the prompt in the editor", |s| s.contains(PROMPT));
    app
}
