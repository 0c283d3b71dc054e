//! The app in a real terminal when the API keeps failing: failing polls are told in the status
//! bar as they happen, the job is given up after the bound, and refused credentials stop every
//! request with the reason held on screen.

use crate::common::pty::{Key, Pty, PtyCommand};
use crate::common::*;
use kling_sim::{self as sim, Fault, Route};

/// The status bar: the screen's last line that says anything.
fn status_bar(screen: &str) -> String {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string()
}

#[test]
fn failing_polls_are_told_given_up_and_refused_credentials_stop_everything() {
    let (_rt, sim) = sim_with(quick_config());
    sim.inject(Fault::ApiStatus {
        route: Route::GetJob,
        status: 500,
        count: 1_000_000,
    });
    let temp = tempfile::tempdir().unwrap();
    let home = temp.path();
    write_config(home, "auto_download = false\n", 0o600);
    let app: Pty = PtyCommand::app()
        .args(["--give-up-after", "12s"])
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("SCENARIO_API_URL", &sim.api_url)
        .env("SCENARIO_API_KEY", sim::DEMO_API_KEY)
        .env("SCENARIO_API_SECRET", sim::DEMO_API_SECRET)
        .cwd(home)
        .spawn();
    app.wait_for("the app's first frame", |s| s.contains("No jobs yet"));
    app.type_text("a red fox in snow");
    app.wait_for("the prompt in the editor", |s| {
        s.contains("a red fox in snow")
    });
    app.press(Key::Ctrl('r'));

    let screen = app.wait_for("failing polls to be told", |s| {
        status_bar(s).contains("polls failing for")
    });
    let bar = status_bar(&screen);
    assert!(
        bar.contains("#1: polls failing for") && bar.contains("HTTP 500"),
        "{screen}"
    );

    let screen = app.wait_for("the job to be given up", |s| {
        status_bar(s).contains("gave up polling")
    });
    assert!(
        status_bar(&screen).contains("#1: gave up polling after"),
        "{screen}"
    );
    assert_eq!(sim.stats().generate_posts, 1, "nothing sent twice");

    // The server now refuses the credentials: a refresh polls once, is refused, and stops.
    sim.clear_faults();
    sim.inject(Fault::ApiStatus {
        route: Route::GetJob,
        status: 401,
        count: 1_000_000,
    });
    let before = sim.stats().get_job;
    // From the editor to the queue, where `r` is a key rather than text.
    app.keys(&[Key::Tab, Key::Tab]);
    app.type_text("r");
    let screen = app.wait_for("the refusal to be shown", |s| {
        status_bar(s).contains("refused the credentials")
    });
    assert!(status_bar(&screen).contains("HTTP 401"), "{screen}");
    // Still held after more time and input: nothing more is asked of the API.
    app.press(Key::Down);
    let screen = app.wait_for("the reason to stay", |s| {
        status_bar(s).contains("refused the credentials")
    });
    assert!(
        status_bar(&screen).contains("⛔ the API refused the credentials"),
        "{screen}"
    );
    assert_eq!(sim.stats().get_job - before, 1, "one poll, then nothing");
}
