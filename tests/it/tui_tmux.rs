//! What only tmux can show: inside tmux the app wraps its OSC 52 copy in tmux's DCS
//! passthrough, and tmux hands the sequence on to the terminal it runs in. The app runs in a
//! tmux server of its own; a tmux client attached to it runs in a pseudo-terminal, which plays
//! the user's terminal. Without tmux on PATH the test says so and passes.

use crate::common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::pty::{HEIGHT, Key, PtyCommand, WIDTH};
use base64::Engine;

const PROMPT: &str = "a red fox in snow";

fn tmux_found() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// A tmux server of its own, on a socket no other test or user shares, with no user config;
/// killed when dropped, so a failing assertion never leaves the app running.
struct Server {
    socket: String,
    /// tmux leaves its socket file behind when the server is killed; removed on drop.
    socket_path: Option<PathBuf>,
}

impl Server {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Self {
            socket: format!("kling-tui-test-{}-{nanos}", std::process::id()),
            socket_path: None,
        }
    }

    fn args(&self) -> [&str; 4] {
        ["-L", &self.socket, "-f", "/dev/null"]
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        // No nesting into a tmux the tests themselves may run in.
        cmd.args(self.args()).env_remove("TMUX");
        cmd
    }

    fn run(&self, cmd: &mut Command) -> String {
        let out = cmd.output().expect("tmux runs");
        assert!(
            out.status.success(),
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stderr(std::process::Stdio::null())
            .status();
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
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
fn y_inside_tmux_reaches_the_outer_terminal() {
    if !tmux_found() {
        eprintln!(
            "skipped: tmux not found on PATH (this test checks OSC 52 passthrough inside tmux)"
        );
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let home = temp.path().join("home");
    let work = temp.path().join("work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    common::write_config(&home, "auto_download = false\n", 0o600);
    let bin = assert_cmd::cargo::cargo_bin("kling-tui");

    // The server takes its environment from the command that starts it; the app, in the
    // session's only pane, gets that and the `TMUX` variable tmux sets.
    let mut server = Server::new();
    let mut start = server.command();
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SCENARIO_") {
            start.env_remove(name);
        }
    }
    let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
    start
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        // No status line, so the pane is the whole terminal.
        .args(["set-option", "-g", "status", "off", ";"])
        .args(["new-session", "-d", "-s", "app", "-x", &w, "-y", &h, "-c"])
        .arg(&work)
        .arg(&bin)
        .arg("--demo");
    server.run(&mut start);
    let mut query = server.command();
    query.args(["display-message", "-p", "-t", "app", "#{socket_path}"]);
    server.socket_path = Some(PathBuf::from(server.run(&mut query)));
    // tmux 3.3 and later drop passthrough unless allowed; older ones know no such option and
    // always pass it on.
    let _ = server
        .command()
        .args(["set-option", "-g", "allow-passthrough", "on"])
        .output();

    // The user's terminal, with a tmux client in it; -u: it speaks UTF-8.
    let mut client = PtyCommand::new("tmux")
        .arg("-u")
        .args(server.args())
        .args(["attach-session", "-t", "app"])
        .spawn();
    client.wait_for("the app's first frame", |s| s.contains("No jobs yet"));
    client.type_text(PROMPT);
    client.wait_for("the prompt in the editor", |s| s.contains(PROMPT));
    client.press(Key::Ctrl('r'));
    client.wait_for("the job to succeed", |s| {
        s.lines()
            .any(|l| l.contains(" success") && l.contains("waiting"))
    });

    // Editor → parameters → queue; before any download, `y` copies the job id.
    client.keys(&[Key::Tab, Key::Tab]);
    client.type_text("y");
    let screen = client.wait_for("the app to say what it copied", |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.contains("copied") && job_id_in(l).is_some())
    });
    let id = job_id_in(screen.lines().last().unwrap_or_default())
        .unwrap()
        .to_string();
    let payload = base64::engine::general_purpose::STANDARD.encode(&id);
    let osc52 = format!("\x1b]52;c;{payload}\x07");
    // tmux hands the sequence on as it reads it from the pane, before the frame that reports
    // it, so it is in by now.
    let raw = client.raw();
    assert!(
        contains(&raw, osc52.as_bytes()),
        "tmux handed OSC 52 with {id} in base64 ({payload}) on to the terminal"
    );
    assert!(!contains(&raw, b"\x1bPtmux;"), "tmux took the wrapping off");

    // The queue has the focus, so `q` quits; the session ends with the app, and the client.
    client.type_text("q");
    assert_eq!(client.wait_exit(), 0, "{}", client.screen());
}
