//! The full-screen app in a real terminal: the binary runs in a pseudo-terminal against
//! `--demo`, keys go in as a terminal sends them and the screen comes back through a VT100
//! emulator, as a person would see it.

use crate::common;
use crate::common::files_in;
use crate::common::pty::{AppDirs, Key, Pty, PtyCommand, queue_rows};
use base64::Engine;

const EXIT_MARK: &str = "kling-tui exited with status ";
const PROMPT: &str = "a red fox in snow";

/// Types the prompt, submits it with Ctrl+R and waits for the job to succeed; returns the screen.
fn submit_and_wait(app: &Pty) -> String {
    // Keys sent before the app is in raw mode would be eaten by the line discipline.
    app.wait_for("the app's first frame", |s| s.contains("No jobs yet"));
    app.type_text(PROMPT);
    app.wait_for("the prompt in the editor", |s| s.contains(PROMPT));
    app.press(Key::Ctrl('r'));
    app.wait_for("the job to succeed", |s| {
        queue_rows(s).iter().any(|r| r.contains("success"))
    })
}

/// The first `job_<24 hex>` in `text`.
fn job_id_in(text: &str) -> Option<&str> {
    text.match_indices("job_").find_map(|(at, _)| {
        let id = text.get(at..at + 28)?;
        id[4..].bytes().all(|b| b.is_ascii_hexdigit()).then_some(id)
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn submit_download_and_quit_in_a_real_terminal() {
    let dirs = AppDirs::new("auto_download = false\n");
    // After the app, the shell reports the terminal's modes and then the exit status, last, so
    // the status line on screen means everything is there.
    let script = format!("\"$1\" --demo; status=$?; stty -a; echo \"{EXIT_MARK}$status\"",);
    let mut app = dirs
        .command(PtyCommand::new("sh"))
        .args(["-c", &script, "sh"])
        .arg(assert_cmd::cargo::cargo_bin("kling-tui"))
        .spawn();

    app.wait_for("the app's first frame", |s| s.contains("No jobs yet"));
    assert!(
        app.alternate_screen(),
        "the app draws on the alternate screen"
    );

    let screen = submit_and_wait(&app);
    let rows = queue_rows(&screen);
    assert_eq!(rows.len(), 1, "one job in the queue:\n{screen}");
    assert!(rows[0].contains(PROMPT), "{screen}");
    assert!(rows[0].contains("waiting"), "not downloaded yet:\n{screen}");
    assert!(
        files_in(&dirs.work).is_empty(),
        "{:?}",
        files_in(&dirs.work)
    );

    // Editor → parameters → queue, then `d` on the selected (only) job.
    app.keys(&[Key::Tab, Key::Tab]);
    app.type_text("d");
    let screen = app.wait_for("the download", |s| {
        queue_rows(s).iter().any(|r| r.contains("✓ saved"))
    });
    let files = files_in(&dirs.work);
    assert_eq!(files.len(), 1, "one file after `d`: {files:?}");
    let first = files[0].clone();
    let job_id = first
        .strip_suffix("_1.mp4")
        .unwrap_or_else(|| panic!("named <jobId>_1.mp4: {first}"));
    assert!(job_id.starts_with("job_"), "{first}");
    assert!(
        screen.contains(job_id),
        "the details pane names the job:\n{screen}"
    );
    let bytes = std::fs::read(dirs.work.join(&first)).unwrap();
    assert!(bytes.len() > 8, "{} bytes", bytes.len());
    assert_eq!(&bytes[4..8], b"ftyp", "an MP4 file");

    // `d` again: the file is already there, and no second copy is made.
    app.type_text("d");
    app.wait_for("the app to say it is on disk", |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.contains("already on disk"))
    });
    assert_eq!(files_in(&dirs.work), vec![first]);

    // The queue has the focus, so `q` quits rather than typing into the prompt.
    app.type_text("q");
    let screen = app.wait_for("the app to exit", |s| s.contains(EXIT_MARK));
    let status = screen
        .lines()
        .find_map(|l| l.trim().strip_prefix(EXIT_MARK))
        .unwrap();
    assert_eq!(status, "0", "{screen}");
    assert_eq!(app.wait_exit(), 0, "the shell ran to its end");

    // The terminal is given back as it was: main screen, cursor shown, cooked mode with echo.
    assert!(!app.alternate_screen(), "left the alternate screen");
    assert!(!app.cursor_hidden(), "the cursor is visible");
    let modes: Vec<&str> = screen.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig", "icrnl", "opost"] {
        assert!(
            modes.contains(&mode),
            "`{mode}` is back on after raw mode:\n{screen}"
        );
    }
    assert!(
        !screen.contains("Prompt") && !screen.contains("Jobs"),
        "no frame of the app is left on the main screen:\n{screen}"
    );
}

/// Submits a job, waits for it, presses `y` in the queue and quits; returns the copied job id
/// and every byte the app wrote. `tmux` is the app's `TMUX` variable, if any.
fn copy_job_id(tmux: Option<&str>) -> (String, Vec<u8>) {
    let dirs = AppDirs::new("auto_download = false\n");
    let mut command = dirs.command(PtyCommand::app()).arg("--demo");
    if let Some(tmux) = tmux {
        command = command.env("TMUX", tmux);
    }
    let mut app = command.spawn();
    submit_and_wait(&app);
    // Before any download, `y` copies the job id rather than a file path.
    app.keys(&[Key::Tab, Key::Tab]);
    app.type_text("y");
    let screen = app.wait_for("the app to say what it copied", |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.contains("copied") && job_id_in(l).is_some())
    });
    let status = screen.lines().last().unwrap_or_default();
    let id = job_id_in(status).unwrap().to_string();
    // The sequence is written before the frame that reports it, so it is in by now.
    let raw = app.raw();
    app.type_text("q");
    assert_eq!(app.wait_exit(), 0);
    (id, raw)
}

#[test]
fn y_copies_the_job_id_with_osc52() {
    let (id, raw) = copy_job_id(None);
    let payload = base64::engine::general_purpose::STANDARD.encode(&id);
    let osc52 = format!("\x1b]52;c;{payload}\x07");
    assert!(
        contains(&raw, osc52.as_bytes()),
        "OSC 52 with {id} in base64 ({payload}) was written"
    );
    assert!(
        !contains(&raw, b"\x1bPtmux;"),
        "no tmux passthrough outside tmux"
    );
}

#[test]
fn y_inside_tmux_wraps_osc52_for_passthrough() {
    let (id, raw) = copy_job_id(Some("/tmp/fake,1,0"));
    let payload = base64::engine::general_purpose::STANDARD.encode(&id);
    // DCS passthrough: every ESC of the sequence inside is doubled.
    let wrapped = format!("\x1bPtmux;\x1b\x1b]52;c;{payload}\x07\x1b\\");
    assert!(
        contains(&raw, wrapped.as_bytes()),
        "OSC 52 with {id} in base64 ({payload}) was written, wrapped for tmux"
    );
}

#[test]
fn a_batch_file_opened_with_b_is_priced_confirmed_sent_and_saved_in_order() {
    let dirs = AppDirs::new("auto_download = false\n");
    common::write_config(&dirs.home, "auto_download = true\n", 0o600);
    std::fs::write(
        dirs.work.join("shots.jsonl"),
        "{\"prompt\": \"a lighthouse at dusk, {watercolour|noir|anime}\", \"mode\": \"standard\"}\n",
    )
    .unwrap();
    let mut app = dirs
        .command(PtyCommand::app())
        .args(["--demo"])
        // Wide enough for the requests' prompts, beside their ids and times, to show whole.
        .size(160, 32)
        .spawn();
    app.wait_for("the app's first frame", |s| s.contains("No jobs yet"));
    // Out of the editor, where b is a letter of the prompt.
    app.keys(&[Key::Tab, Key::Tab]);
    app.type_text("b");
    app.wait_for("the batch file question", |s| s.contains("Batch file"));
    // Tab completes the name from the work folder.
    app.type_text("sho");
    app.press(Key::Tab);
    app.wait_for("the completed name", |s| s.contains("shots.jsonl"));
    app.press(Key::Enter);
    let plan = app.wait_for("the priced plan", |s| {
        s.contains("total  3 requests") && !s.contains("pricing")
    });
    assert!(plan.contains("Batch shots — 3 requests"), "{plan}");
    assert!(
        files_in(&dirs.work).len() == 1,
        "nothing sent before the answer"
    );
    app.press(Key::Enter);
    let screen = app.wait_for("the batch done and saved", |s| {
        queue_rows(s).iter().any(|r| r.contains("shots  3/3 done"))
            && queue_rows(s)
                .iter()
                .filter(|r| r.contains("✓ saved"))
                .count()
                == 3
    });
    let rows = queue_rows(&screen);
    let order: Vec<usize> = ["watercolour", "noir", "anime"]
        .iter()
        .map(|w| rows.iter().position(|r| r.contains(w)).unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "in the file's order:\n{screen}"
    );
    let mut files = files_in(&dirs.work.join("shots"));
    files.retain(|f| f.ends_with(".mp4"));
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    for (n, file) in files.iter().enumerate() {
        assert!(file.starts_with(&format!("{n:04}_job_")), "{files:?}");
    }
    // Beside the videos, the manifest `batch` writes: every request, in order, with its file.
    let manifest = dirs.work.join("shots").join("manifest.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let lines = loop {
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&manifest)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let complete = lines.len() == 3
            && lines
                .iter()
                .all(|l| l["files"].as_array().is_some_and(|f| f.len() == 1));
        if complete || std::time::Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (n, (line, word)) in lines
        .iter()
        .zip(["watercolour", "noir", "anime"])
        .enumerate()
    {
        assert_eq!(line["index"], n, "{lines:?}");
        assert!(
            line["request"]["prompt"].as_str().unwrap().contains(word),
            "{lines:?}"
        );
        assert_eq!(line["status"], "success", "{lines:?}");
        let file = line["files"][0].as_str().unwrap_or_default();
        assert!(
            file.ends_with(&files[n]) && std::path::Path::new(file).is_file(),
            "{lines:?}"
        );
    }
    app.type_text("q");
    app.wait_exit();
}

/// Runs the app against a simulator whose every job fails, as WezTerm (inside tmux when
/// `tmux`), submits one job and returns every byte written once the failure is told.
fn failure_told(tmux: bool, expected: &[u8]) -> Vec<u8> {
    use kling_sim::{self as sim, SimConfig};
    let (_rt, sim) = common::sim_with(SimConfig {
        failure_rate: 1.0,
        time_scale: 240.0,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let mut command = PtyCommand::app()
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("SCENARIO_API_URL", &sim.api_url)
        .env("SCENARIO_API_KEY", sim::DEMO_API_KEY)
        .env("SCENARIO_API_SECRET", sim::DEMO_API_SECRET)
        // The terminal is WezTerm, whatever runs the tests.
        .env("TERM_PROGRAM", "WezTerm")
        .env("KITTY_WINDOW_ID", "")
        .env("VTE_VERSION", "")
        .cwd(home)
        .size(120, 32);
    if tmux {
        command = command.env("TMUX", "/tmp/tmux-1000/default,4242,0");
    }
    let mut app = command.spawn();
    app.wait_for("the app's first frame", |s| s.contains("No jobs yet"));
    app.type_text("a glass tipping over in zero gravity");
    app.press(Key::Ctrl('r'));
    app.wait_for("the failure", |s| {
        queue_rows(s).iter().any(|r| r.contains("failure"))
    });
    for _ in 0..100 {
        if contains(&app.raw(), expected) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let raw = app.raw();
    app.press(Key::Ctrl('c'));
    app.wait_exit();
    let _ = common::process(Some(&sim), home)
        .args(["engine", "stop"])
        .output();
    raw
}

#[test]
fn a_failed_job_is_told_with_a_desktop_notification_and_the_bell() {
    let expected = b"\x1b]9;kling-tui: #1 failed: ";
    let raw = failure_told(false, expected);
    let at = raw
        .windows(expected.len())
        .position(|w| w == expected)
        .unwrap_or_else(|| {
            panic!(
                "no OSC 9 notification in {:?}",
                String::from_utf8_lossy(&raw)
            )
        });
    let rest = &raw[at..];
    let end = rest.windows(2).position(|w| w == b"\x1b\\").unwrap();
    // The server's error is in it, then the string's end and the bell.
    assert!(end > expected.len(), "{:?}", String::from_utf8_lossy(rest));
    assert_eq!(&rest[end..end + 3], b"\x1b\\\x07");
    // And, the queue gone idle with it, that too.
    assert!(contains(
        &raw,
        b"\x1b]9;kling-tui: all jobs finished (the last: #1 failure)"
    ));
}

#[test]
fn inside_tmux_the_notification_is_wrapped_for_passthrough() {
    let expected = b"\x1bPtmux;\x1b\x1b]9;kling-tui: #1 failed: ";
    let raw = failure_told(true, expected);
    assert!(
        contains(&raw, expected),
        "no tmux passthrough in {:?}",
        String::from_utf8_lossy(&raw)
    );
    // Not unwrapped as well.
    assert!(!contains(&raw, b"\x07\x1b]9;"));
    assert!(contains(&raw, b"\x1b\x1b\\\x1b\\\x07"));
}

/// The demo app in a terminal that answers the picture query as kitty does (or stays silent),
/// one job made and selected; returns every byte written and the last screen.
fn picture_in_terminal(answer: Option<&'static [u8]>) -> (Vec<u8>, String) {
    let dirs = AppDirs::new("auto_download = false\n");
    let mut app = dirs
        .command(PtyCommand::app())
        .args(["--demo"])
        .env("KITTY_WINDOW_ID", "")
        .env("TERM_PROGRAM", "")
        .env("LC_TERMINAL", "")
        .size(140, 40)
        .spawn();
    if let Some(answer) = answer {
        // Answered as a terminal does, as soon as the query is seen.
        let asked = std::time::Instant::now();
        while !contains(&app.raw(), b"\x1b_Gi=31,s=1,v=1,a=q") {
            assert!(asked.elapsed().as_secs() < 10, "the app never asked");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        app.send(answer);
    }
    let screen = submit_and_wait(&app);
    assert!(queue_rows(&screen).len() == 1, "{screen}");
    app.keys(&[Key::Tab, Key::Tab]);
    let screen = app.wait_for("the picture", |s| s.contains("p: large"));
    let raw = app.raw();
    app.type_text("q");
    app.wait_exit();
    (raw, screen)
}

#[test]
fn a_terminal_that_answers_as_kitty_gets_the_picture_as_kitty_images() {
    let (raw, _) = picture_in_terminal(Some(b"\x1b_Gi=31;OK\x1b\\\x1b[6;20;10t\x1b[?62;22c"));
    assert!(contains(&raw, b"\x1b_Gq=2,i="), "no kitty image was sent");
    assert!(contains(&raw, b",a=T,"), "no kitty image was sent");
}

#[test]
fn a_silent_terminal_gets_half_blocks_after_the_deadline() {
    let (raw, screen) = picture_in_terminal(None);
    assert!(
        !contains(&raw, b"\x1b_Gq=2"),
        "a kitty image to a terminal that said nothing"
    );
    // The details pane's picture, in half-block characters.
    let pictured = screen.lines().filter(|l| l.contains("▀▀▀▀")).count();
    assert!(pictured > 0, "{screen}");
}
