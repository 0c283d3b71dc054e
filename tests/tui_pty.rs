//! The full-screen app in a real terminal: the binary runs inside tmux against `--demo`, keys
//! go in with `send-keys` and the screen comes back with `capture-pane`, as a person would see it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 36;
/// Polling guard: a stuck app fails the test after 600 × 100 ms instead of hanging it.
const POLLS: u32 = 600;
const POLL_EVERY: Duration = Duration::from_millis(100);
const SESSION: &str = "app";
const EXIT_MARK: &str = "kling-tui exited with status ";

/// A tmux server of its own, on a socket no other test or user shares; killed when dropped, so
/// a failing assertion never leaves the app running.
struct Tmux {
    socket: String,
    /// tmux leaves its socket file behind when the server is killed; removed on drop.
    socket_path: Option<PathBuf>,
}

impl Tmux {
    fn new() -> Self {
        match Command::new("tmux").arg("-V").output() {
            Ok(out) if out.status.success() => {}
            other => panic!(
                "tmux is needed to drive the full-screen app in a real terminal, and it is not \
                 usable here ({other:?}); install it, e.g. `apt-get install tmux`"
            ),
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Self {
            socket: format!("kling-tui-test-{}-{nanos}", std::process::id()),
            socket_path: None,
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        // No user config (-f), and no nesting into a tmux the tests themselves may run in.
        cmd.args(["-L", &self.socket, "-f", "/dev/null"])
            .env_remove("TMUX");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.command().args(args).output().expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Starts `sh script` in a detached session of a fixed size, with `env` as its environment
    /// on top of this process's (less every SCENARIO_* variable).
    fn start(&mut self, script: &Path, env: &[(&str, &Path)]) {
        let mut cmd = self.command();
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SCENARIO_") {
                cmd.env_remove(name);
            }
        }
        for (name, value) in env {
            cmd.env(name, value);
        }
        let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
        let shell = format!("sh '{}'", script.display());
        cmd.args([
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            &w,
            "-y",
            &h,
            &shell,
        ]);
        let out = cmd.output().expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.socket_path = Some(PathBuf::from(self.format("#{socket_path}")));
    }

    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", SESSION, "-l", text]);
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", SESSION]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn format(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", SESSION, format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Polls the screen until `done` holds; panics with the last screen if it never does.
    fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let mut screen = String::new();
        for _ in 0..POLLS {
            screen = self.screen();
            if done(&screen) {
                return screen;
            }
            std::thread::sleep(POLL_EVERY);
        }
        panic!("gave up waiting for {what}; the screen was:\n{screen}");
    }
}

impl Drop for Tmux {
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

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The queue's rows: the lines below the "Jobs" title down to the bottom of that box, each cut
/// at the box's right edge so the panes beside it are left out.
fn queue_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip_while(|l| !l.contains(" Jobs "))
        .skip(1)
        .take_while(|l| l.starts_with('│'))
        .map(|l| {
            l['│'.len_utf8()..]
                .split('│')
                .next()
                .unwrap_or("")
                .to_string()
        })
        .filter(|row| !row.trim().is_empty())
        .collect()
}

fn write_script(dir: &Path, bin: &Path, work: &Path) -> PathBuf {
    // After the app, the shell reports the terminal's modes and then the exit status, last, so
    // the status line on screen means everything is there; then it stays so the pane can be read.
    let script = format!(
        "cd '{work}' || exit 1\n\
         '{bin}' --demo\n\
         status=$?\n\
         stty -a\n\
         echo \"{EXIT_MARK}$status\"\n\
         exec sleep 3600\n",
        work = work.display(),
        bin = bin.display(),
    );
    let path = dir.join("run.sh");
    std::fs::write(&path, script).unwrap();
    path
}

#[test]
fn submit_download_and_quit_in_a_real_terminal() {
    let mut tmux = Tmux::new();
    let temp = tempfile::tempdir().unwrap();
    let home = temp.path().join("home");
    let work = temp.path().join("work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("kling-tui");
    let script = write_script(temp.path(), &bin, &work);
    let config = home.join("config");
    let data = home.join("data");
    // Downloads on request only, so `d` is what puts the file on disk.
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = config.join("kling-tui");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("config.toml");
        std::fs::write(&file, "auto_download = false\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    tmux.start(
        &script,
        &[
            ("HOME", home.as_path()),
            ("XDG_CONFIG_HOME", config.as_path()),
            ("XDG_DATA_HOME", data.as_path()),
        ],
    );

    // Keys sent before the app is in raw mode would be eaten by the line discipline.
    tmux.wait_for("the app's first frame", |s| s.contains("No jobs yet"));
    assert_eq!(
        tmux.format("#{alternate_on}"),
        "1",
        "the app draws on the alternate screen"
    );

    tmux.type_text("a red fox in snow");
    tmux.wait_for("the prompt in the editor", |s| {
        s.contains("a red fox in snow")
    });
    tmux.keys(&["C-r"]);
    let screen = tmux.wait_for("the job to succeed", |s| {
        queue_rows(s).iter().any(|r| r.contains("success"))
    });
    let rows = queue_rows(&screen);
    assert_eq!(rows.len(), 1, "one job in the queue:\n{screen}");
    assert!(rows[0].contains("a red fox in snow"), "{screen}");
    assert!(rows[0].contains("waiting"), "not downloaded yet:\n{screen}");
    assert!(files_in(&work).is_empty(), "{:?}", files_in(&work));

    // Editor → parameters → queue, then `d` on the selected (only) job.
    tmux.keys(&["Tab", "Tab", "d"]);
    let screen = tmux.wait_for("the download", |s| {
        queue_rows(s).iter().any(|r| r.contains("✓ saved"))
    });
    let files = files_in(&work);
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
    let bytes = std::fs::read(work.join(&first)).unwrap();
    assert!(bytes.len() > 8, "{} bytes", bytes.len());
    assert_eq!(&bytes[4..8], b"ftyp", "an MP4 file");

    // `d` again: the file is already there, and no second copy is made.
    tmux.keys(&["d"]);
    tmux.wait_for("the app to say it is on disk", |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.contains("already on disk"))
    });
    assert_eq!(files_in(&work), vec![first]);

    // The queue has the focus, so `q` quits rather than typing into the prompt.
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("the app to exit", |s| s.contains(EXIT_MARK));
    let status = screen
        .lines()
        .find_map(|l| l.trim().strip_prefix(EXIT_MARK))
        .unwrap();
    assert_eq!(status, "0", "{screen}");

    // The terminal is given back as it was: main screen, cursor shown, cooked mode with echo.
    assert_eq!(
        tmux.format("#{alternate_on}"),
        "0",
        "left the alternate screen"
    );
    assert_eq!(tmux.format("#{cursor_flag}"), "1", "the cursor is visible");
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
