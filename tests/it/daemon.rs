//! One background engine per ledger, shared by every client: real processes against the
//! simulator. The app in a pseudo-terminal and scripts at once, a hung-up terminal, an engine
//! killed under its clients, twenty clients racing to start it, and hostile or stale things
//! where the engine is looked for.

use crate::common;

use std::io::{BufRead, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::pty::{Key, Pty, PtyCommand};
use crate::common::{against, files_in, json_lines, process, sim_with, write_config};
use kling_sim::{self as sim, SimConfig, SimHandle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const GUARD: Duration = Duration::from_secs(300);
/// Flags that make the engine a client starts poll quickly.
const QUICK: [&str; 4] = ["--requests-per-second", "50", "--poll-interval", "0.2"];

/// Jobs that run about `seconds` of real time each.
fn sim_running(seconds: f64, limit: usize) -> (tokio::runtime::Runtime, SimHandle) {
    sim_with(SimConfig {
        // A job takes about two minutes of simulated time.
        time_scale: 120.0 / seconds,
        concurrency_limit: limit,
        ..SimConfig::default()
    })
}

/// Waits, a bounded number of times, for `done`; panics naming `what` if it never holds.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("gave up waiting for {what}");
}

fn submit(sim: &SimHandle, home: &Path, prompt: &str) {
    against(sim, home)
        .args(["submit", "--prompt", prompt])
        .args(QUICK)
        .timeout(GUARD)
        .assert()
        .success();
}

/// `engine status --json`, as the user would read it.
fn status(sim: &SimHandle, home: &Path) -> Value {
    let out = against(sim, home)
        .args(["engine", "status", "--json"])
        .timeout(GUARD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn engine_pid(sim: &SimHandle, home: &Path) -> Option<u32> {
    let status = status(sim, home);
    (status["running"] == true).then(|| status["pid"].as_u64().unwrap() as u32)
}

fn stop_engine(sim: &SimHandle, home: &Path) {
    against(sim, home)
        .args(["engine", "stop"])
        .timeout(GUARD)
        .assert()
        .success();
}

/// The one ledger folder under `home`.
fn ledger_dir(home: &Path) -> PathBuf {
    let journals = home.join("data/kling-tui/journals");
    let found: Vec<PathBuf> = std::fs::read_dir(&journals)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

fn alive(pid: u32) -> bool {
    // Signal 0 only asks whether the process exists; a zombie of ours still counts as gone
    // once it has been reaped by whoever started it.
    let exists = unsafe { libc::kill(pid as i32, 0) } == 0;
    exists
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

/// Processes running `engine serve` for the data folder of `home`.
fn engines_of(home: &Path) -> Vec<u32> {
    let data = format!("XDG_DATA_HOME={}", home.join("data").display());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let serving = cmdline.split(|b| *b == 0).any(|a| a == b"serve");
        let ours = environ.split(|b| *b == 0).any(|v| v == data.as_bytes());
        if serving && ours && alive(pid) {
            found.push(pid);
        }
    }
    found
}

/// The app against the simulator, in a pseudo-terminal of its own, with `home`'s folders.
fn app(sim: &SimHandle, home: &Path) -> Pty {
    PtyCommand::app()
        // The app takes no poll interval: the engine's first client sets it.
        .args(&QUICK[..2])
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("SCENARIO_API_URL", &sim.api_url)
        .env("SCENARIO_API_KEY", sim::DEMO_API_KEY)
        .env("SCENARIO_API_SECRET", sim::DEMO_API_SECRET)
        .cwd(home)
        .size(160, 48)
        .spawn()
}

fn first_frame(app: &Pty) {
    // Keys sent before the app is in raw mode would be eaten by the line discipline.
    app.wait_for("the app's first frame", |s| s.contains("Parameters"));
}

fn submit_in_app(app: &Pty, prompt: &str) {
    app.type_text(prompt);
    app.wait_for("the prompt in the editor", |s| s.contains(prompt));
    app.press(Key::Ctrl('r'));
    app.wait_for("the submission to be taken", |s| s.contains("submitted"));
}

/// `watch` running in the background, its stdout read line by line.
struct Watch {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Watch {
    fn start(sim: &SimHandle, home: &Path, out: &Path) -> Self {
        let mut child = process(Some(sim), home)
            .arg("watch")
            .args(QUICK)
            .arg("--out")
            .arg(out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self {
            child,
            lines,
            stderr,
        }
    }

    /// Reads lines until one holds `needle`.
    fn wait_line(&self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(GUARD) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!(
                    "watch never printed {needle:?} ({e}); its stderr:\n{}",
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Its exit code, once it ends by itself.
    fn wait(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        // Let the readers drain.
        std::thread::sleep(Duration::from_millis(200));
        (status.code().unwrap_or(-1), self.stderr())
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_script_submits_while_the_app_is_open_and_the_app_shows_it() {
    let (_rt, sim) = sim_running(60.0, 100);
    let home = tempfile::tempdir().unwrap();
    let app = app(&sim, home.path());
    first_frame(&app);
    app.wait_for("the app attached to its engine", |s| {
        s.contains("No jobs yet")
    });

    let started = Instant::now();
    against(&sim, home.path())
        .args(["submit", "--prompt", "sent from a script"])
        .timeout(GUARD)
        .assert()
        .success();
    app.wait_for("the script's job in the app", |s| {
        s.contains("sent from a script")
    });
    // The figure for the README; shared machines make it no assertion.
    eprintln!(
        "the script's job showed in the app {} ms after the submit started",
        started.elapsed().as_millis()
    );
    assert_eq!(engines_of(home.path()).len(), 1);
    assert_eq!(sim.stats().generate_posts, 1);
    stop_engine(&sim, home.path());
}

#[test]
fn two_apps_and_watch_share_one_engine() {
    // Jobs outlast the test: watch stays until it is stopped.
    let (_rt, sim) = sim_running(60.0, 100);
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    submit(&sim, home.path(), "the first job, for watch");
    let watch = Watch::start(&sim, home.path(), &out);
    watch.wait_line("#1");

    // The app opens while watch runs, and a second one beside it (two SSH sessions).
    let one = app(&sim, home.path());
    let two = app(&sim, home.path());
    for app in [&one, &two] {
        first_frame(app);
        app.wait_for("the first job", |s| s.contains("the first job"));
    }
    submit_in_app(&one, "typed in the first app");
    two.wait_for("the first app's job in the second", |s| {
        s.contains("typed in the first app")
    });
    watch.wait_line("#2");
    assert_eq!(engines_of(home.path()).len(), 1);
    let status = status(&sim, home.path());
    assert_eq!(status["clients"], 3, "{status}");
    assert_eq!(sim.stats().generate_posts, 2);
    drop(watch);
    stop_engine(&sim, home.path());
}

#[test]
fn a_hung_up_app_leaves_its_five_jobs_to_the_engine_which_then_leaves() {
    let (_rt, sim) = sim_running(8.0, 100);
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("videos");
    write_config(
        home.path(),
        &format!(
            "download_dir = {:?}\nengine_idle_exit = \"2s\"\n",
            out.display().to_string()
        ),
        0o600,
    );
    let mut app = app(&sim, home.path());
    first_frame(&app);
    for n in 1..=5 {
        submit_in_app(&app, &format!("shot {n} of five"));
    }
    app.wait_for("five jobs on the server", |s| {
        s.matches("shot ").count() >= 5 && !s.contains("submitting")
    });
    let engine = engine_pid(&sim, home.path()).expect("the app started an engine");
    assert!(files_in_or_none(&out).is_empty(), "too late: already done");

    // The SSH connection drops: the terminal hangs up on the app.
    app.signal(libc::SIGHUP);
    app.wait_exit();
    wait_until("five videos on disk", || files_in_or_none(&out).len() == 5);
    for name in files_in(&out) {
        assert_eq!(
            std::fs::read(out.join(&name)).unwrap(),
            sim.video_bytes().unwrap(),
            "{name}"
        );
    }
    // Nothing left to do and nobody attached: it leaves after its idle time.
    wait_until("the engine to leave once idle", || !alive(engine));
    assert_eq!(engine_pid(&sim, home.path()), None);
    let log = std::fs::read_to_string(
        std::fs::read_dir(home.path().join("state/kling-tui"))
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(".log"))
            .unwrap()
            .path(),
    )
    .unwrap();
    assert!(log.contains("stopping: idle for 2 s"), "{log}");
    assert_eq!(sim.stats().generate_posts, 5);
}

fn files_in_or_none(dir: &Path) -> Vec<String> {
    if dir.exists() {
        files_in(dir)
            .into_iter()
            .filter(|f| !f.ends_with(".part"))
            .collect()
    } else {
        Vec::new()
    }
}

#[test]
fn five_submits_at_a_ceiling_of_two_each_make_one_job_and_every_video_lands() {
    let (_rt, sim) = sim_running(1.5, 2);
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    write_config(
        home.path(),
        &format!("download_dir = {:?}\n", out.display().to_string()),
        0o600,
    );
    for n in 1..=5 {
        // Each returns once its job is in the engine's ledger: sent, or queued locally.
        submit(&sim, home.path(), &format!("ceiling take {n}"));
    }
    let watch = Watch::start(&sim, home.path(), &out);
    let (code, stderr) = watch.wait();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(files_in(&out).len(), 5, "{:?}", files_in(&out));
    let stats = sim.stats();
    assert_eq!(stats.jobs_created, 5, "a job was made twice or not at all");
    let client = common::client_for(&sim);
    let listed = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(client.list_jobs(100, None, None))
        .unwrap();
    let mut prompts: Vec<String> = listed
        .jobs
        .iter()
        .filter_map(|j| {
            j.metadata.input.as_ref()?["prompt"]
                .as_str()
                .map(String::from)
        })
        .collect();
    prompts.sort();
    let expected: Vec<String> = (1..=5).map(|n| format!("ceiling take {n}")).collect();
    assert_eq!(prompts, expected);
    stop_engine(&sim, home.path());
}

#[test]
fn the_engine_killed_five_times_under_a_client_loses_nothing_and_sends_nothing_twice() {
    let size = 4 * 1024 * 1024;
    let (_rt, sim) = sim_with(SimConfig {
        // Jobs take about twelve seconds: the kills land while they run, whatever the load of
        // the machine, and the first downloads may be under way at the last ones.
        time_scale: 10.0,
        video_size: Some(size as u64),
        concurrency_limit: 100,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    write_config(
        home.path(),
        &format!("download_dir = {:?}\n", out.display().to_string()),
        0o600,
    );
    for n in 0..30 {
        submit(&sim, home.path(), &format!("a red fox in snow, take {n}"));
    }
    let mut watch = Watch::start(&sim, home.path(), &out);
    watch.wait_line("#30");
    let mut rng = StdRng::seed_from_u64(11);
    let mut killed = Vec::new();
    for round in 1..=5 {
        std::thread::sleep(Duration::from_millis(rng.random_range(200..1500)));
        let mut pid = None;
        wait_until("an engine to kill", || {
            pid = engine_pid(&sim, home.path());
            pid.is_some()
        });
        let pid = pid.unwrap_or_default();
        assert!(!killed.contains(&pid), "round {round}: the same engine");
        assert!(
            watch.running(),
            "round {round}: watch ended before the engine could be killed under it"
        );
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        killed.push(pid);
        let told = killed.len();
        wait_until("watch to reattach", || {
            watch
                .stderr()
                .matches("engine restarted — reattached")
                .count()
                >= told
        });
    }
    assert_eq!(killed.len(), 5, "an engine was not there to kill");
    let (code, stderr) = watch.wait();
    assert_eq!(code, 0, "{stderr}");
    let stats = sim.stats();
    assert_eq!(stats.generate_posts, 30, "a submission was sent twice");
    assert_eq!(stats.jobs_created, 30);
    let written = files_in(&out);
    assert_eq!(written.len(), 30, "{written:?}");
    let expected = SimHandle::synthetic_bytes(0, size);
    for name in &written {
        assert!(
            std::fs::read(out.join(name)).unwrap() == expected,
            "{name} differs"
        );
    }
    stop_engine(&sim, home.path());
}

#[test]
fn twenty_clients_started_at_once_leave_exactly_one_engine() {
    let (_rt, sim) = sim_running(1.0, 100);
    let home = tempfile::tempdir().unwrap();
    let children: Vec<Child> = (0..20)
        .map(|n| {
            process(Some(&sim), home.path())
                .args(["submit", "--prompt", &format!("racer {n}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(engines_of(home.path()).len(), 1);
    let log = std::fs::read_to_string(engine_log(home.path())).unwrap();
    assert_eq!(log.matches(") started, pid").count(), 1, "{log}");
    assert_eq!(sim.stats().generate_posts, 20);
    let listed = against(&sim, home.path())
        .args(["jobs", "--json"])
        .assert()
        .success();
    assert_eq!(json_lines(&listed.get_output().stdout).len(), 20);
    stop_engine(&sim, home.path());
    assert!(engines_of(home.path()).is_empty());
}

fn engine_log(home: &Path) -> PathBuf {
    std::fs::read_dir(home.join("state/kling-tui"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .expect("the engine's log")
        .path()
}

#[test]
fn the_stale_socket_of_a_killed_engine_is_replaced() {
    let (_rt, sim) = sim_running(1.0, 100);
    let home = tempfile::tempdir().unwrap();
    submit(&sim, home.path(), "before the crash");
    let first = status(&sim, home.path());
    let socket = PathBuf::from(first["socket"].as_str().unwrap());
    let pid = first["pid"].as_u64().unwrap() as u32;
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_until("the engine to die", || !alive(pid));
    assert!(socket.exists(), "the dead engine's socket is left behind");

    submit(&sim, home.path(), "after the crash");
    let second = status(&sim, home.path());
    assert_ne!(second["pid"], first["pid"]);
    assert_eq!(second["socket"], first["socket"]);
    // The job the dead engine held is followed by the new one.
    let listed = against(&sim, home.path())
        .args(["jobs", "--json"])
        .assert()
        .success();
    assert_eq!(json_lines(&listed.get_output().stdout).len(), 2);
    assert_eq!(sim.stats().generate_posts, 2);
    stop_engine(&sim, home.path());
}

#[test]
fn a_socket_folder_open_to_others_or_owned_by_another_user_is_refused() {
    let (_rt, sim) = sim_running(1.0, 100);
    let home = tempfile::tempdir().unwrap();
    let open = home.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let refused = against(&sim, home.path())
        .env("KLING_TUI_SOCKET_DIR", &open)
        .args(["submit", "--prompt", "never sent"])
        .timeout(GUARD)
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        stderr.contains(&format!("the socket folder {}", open.display()))
            && stderr.contains("is open to others (mode 0755)"),
        "{stderr}"
    );

    let theirs = home.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
    let me = unsafe { libc::geteuid() };
    if me == 0 {
        // Only root can give a folder away; elsewhere the mode case above stands alone.
        std::os::unix::fs::chown(&theirs, Some(4242), None).unwrap();
        let refused = against(&sim, home.path())
            .env("KLING_TUI_SOCKET_DIR", &theirs)
            .args(["submit", "--prompt", "never sent"])
            .timeout(GUARD)
            .assert()
            .failure();
        let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
        assert!(stderr.contains("belongs to uid 4242"), "{stderr}");
    }
    assert_eq!(sim.stats().generate_posts, 0);
    // An engine that could not start has gone (it may take a moment to exit).
    wait_until("the engine that could not start to exit", || {
        engines_of(home.path()).is_empty()
    });
}

/// A process posing as an engine: it holds the ledger's engine lock, names a socket in a
/// private folder, and greets every client with `protocol`. `busy`: it says it has work in
/// flight. Told to stop, it lets go of the lock.
struct FakeEngine {
    _dir: tempfile::TempDir,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FakeEngine {
    fn start(ledger_dir: &Path, protocol: u32, busy: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let socket = dir.path().join("fake.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let mut lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(ledger_dir.join("engine.lock"))
            .unwrap();
        lock.try_lock().expect("no engine holds the ledger");
        let info = serde_json::json!({
            "pid": std::process::id(), "version": "9.9.9", "protocol": protocol,
            "socket": socket, "startedAt": "2026-01-01T00:00:00Z", "log": "/dev/null",
        });
        lock.set_len(0).unwrap();
        lock.write_all(info.to_string().as_bytes()).unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        std::thread::spawn(move || {
            let mut lock = Some(lock);
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let hello = serde_json::json!({
                    "kind": "hello", "protocol": protocol, "build": "9.9.9",
                    "pid": std::process::id(), "nonce": "n", "busy": busy,
                });
                let _ = write_frame(&mut stream, &hello.to_string());
                // Reads what the client says; a stop lets the lock go.
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                while let Some(frame) = read_frame(&mut stream) {
                    if frame.contains(r#""kind":"stop""#) {
                        lock.take();
                        flag.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            }
        });
        Self { _dir: dir, done }
    }

    fn was_stopped(&self) -> bool {
        self.done.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn write_frame(stream: &mut std::os::unix::net::UnixStream, text: &str) -> std::io::Result<()> {
    stream.write_all(&(text.len() as u32).to_be_bytes())?;
    stream.write_all(text.as_bytes())
}

fn read_frame(stream: &mut std::os::unix::net::UnixStream) -> Option<String> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).ok()?;
    Some(String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn an_engine_of_another_protocol_with_work_in_flight_is_named_and_left_alone() {
    let (_rt, sim) = sim_running(1.0, 100);
    let home = tempfile::tempdir().unwrap();
    submit(&sim, home.path(), "made the ledger");
    stop_engine(&sim, home.path());
    let fake = FakeEngine::start(&ledger_dir(home.path()), 99, true);
    let refused = against(&sim, home.path())
        .args(["submit", "--prompt", "not sent"])
        .timeout(GUARD)
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        stderr.contains("the running engine is kling-tui 9.9.9 (protocol 99)")
            && stderr.contains(&format!(
                "this is kling-tui {} (protocol {})",
                env!("CARGO_PKG_VERSION"),
                kling_tui::daemon::PROTOCOL
            ))
            && stderr.contains("work in flight"),
        "{stderr}"
    );
    assert!(!fake.was_stopped());
    assert_eq!(sim.stats().generate_posts, 1);
}

#[test]
fn an_idle_engine_of_another_protocol_is_replaced() {
    let (_rt, sim) = sim_running(1.0, 100);
    let home = tempfile::tempdir().unwrap();
    submit(&sim, home.path(), "made the ledger");
    stop_engine(&sim, home.path());
    let fake = FakeEngine::start(&ledger_dir(home.path()), 0, false);
    submit(&sim, home.path(), "sent through the new engine");
    assert!(fake.was_stopped(), "the old engine was not asked to stop");
    let status = status(&sim, home.path());
    assert_eq!(status["protocol"], kling_tui::daemon::PROTOCOL);
    assert_eq!(sim.stats().generate_posts, 2);
    stop_engine(&sim, home.path());
}

#[test]
fn a_post_in_flight_when_the_engine_is_stopped_has_its_answer_recorded() {
    let (_rt, sim) = sim_running(1.0, 100);
    let home = tempfile::tempdir().unwrap();
    let out_dir = home.path().join("out");
    write_config(
        home.path(),
        &format!("download_dir = {:?}\n", out_dir.display().to_string()),
        0o600,
    );
    submit(&sim, home.path(), "an engine to stop");
    let engine = engine_pid(&sim, home.path()).unwrap();
    sim.inject(kling_sim::Fault::GenerateSlowAnswer {
        millis: 1500,
        count: 1,
    });
    let slow = process(Some(&sim), home.path())
        .args(["submit", "--prompt", "answered late"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the POST to reach the server", || {
        sim.stats().generate_posts == 2
    });
    // The server has made the job; its answer is still on the way.
    unsafe { libc::kill(engine as i32, libc::SIGTERM) };
    let out = slow.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let job_id = stdout.split_whitespace().next().unwrap_or_default();
    assert!(
        out.status.success() && job_id.starts_with("job_"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until("the engine to stop", || !alive(engine));
    let log = std::fs::read_to_string(engine_log(home.path())).unwrap();
    assert!(log.contains("stopping: SIGTERM"), "{log}");
    let listed = against(&sim, home.path())
        .args(["jobs", "--json"])
        .assert()
        .success();
    let jobs = json_lines(&listed.get_output().stdout);
    let late = jobs
        .iter()
        .find(|j| j["prompt"] == "answered late")
        .expect("the job is in the ledger");
    assert_eq!(late["jobId"].as_str(), Some(job_id), "{late}");
    assert_ne!(late["status"], "unconfirmed", "{late}");
    // The next engine follows it; nothing is sent again.
    against(&sim, home.path())
        .args(["watch", "--out"])
        .arg(&out_dir)
        .args(QUICK)
        .timeout(GUARD)
        .assert()
        .success();
    assert_eq!(sim.stats().generate_posts, 2);
    assert_eq!(files_in(&out_dir).len(), 2);
    stop_engine(&sim, home.path());
}

#[test]
fn a_removed_socket_is_bound_again() {
    let (_rt, sim) = sim_running(1.0, 100);
    let home = tempfile::tempdir().unwrap();
    submit(&sim, home.path(), "before the cleaner");
    let before = status(&sim, home.path());
    let socket = PathBuf::from(before["socket"].as_str().unwrap());
    // A temp cleaner removes it while the engine runs.
    std::fs::remove_file(&socket).unwrap();
    submit(&sim, home.path(), "after the cleaner");
    let after = status(&sim, home.path());
    assert_eq!(after["pid"], before["pid"], "the same engine answers");
    assert!(socket.exists());
    let log = std::fs::read_to_string(engine_log(home.path())).unwrap();
    assert!(
        log.contains("disappeared or was replaced: bound it again"),
        "{log}"
    );
    stop_engine(&sim, home.path());
}

#[test]
fn a_client_with_other_credentials_is_refused_and_sends_nothing() {
    let (_rt, sim) = sim_running(1.0, 100);
    let home = tempfile::tempdir().unwrap();
    submit(&sim, home.path(), "with the right keys");
    let refused = against(&sim, home.path())
        .env("SCENARIO_API_SECRET", "another_secret")
        .args(["submit", "--prompt", "with other keys"])
        .timeout(GUARD)
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        stderr.contains("runs with other credentials than yours")
            && stderr.contains("kling-tui engine stop"),
        "{stderr}"
    );
    assert!(!stderr.contains("another_secret"), "{stderr}");
    assert_eq!(sim.stats().generate_posts, 1);
    stop_engine(&sim, home.path());
}

#[test]
fn resend_sends_a_lost_submission_again_only_when_told_to() {
    let (_rt, sim) = sim_running(1.0, 100);
    sim.inject(kling_sim::Fault::ApiStatus {
        route: kling_sim::Route::Generate,
        status: 503,
        count: 1,
    });
    let home = tempfile::tempdir().unwrap();
    let lost = against(&sim, home.path())
        .args(["submit", "--prompt", "lost on the way"])
        .args(QUICK)
        .timeout(GUARD)
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&lost.get_output().stderr).to_string();
    assert!(stderr.contains("kling-tui resend 1"), "{stderr}");
    assert_eq!(
        (sim.stats().generate_posts, sim.stats().jobs_created),
        (1, 0)
    );

    // Off a terminal, without --yes: refused, nothing sent.
    let refused = against(&sim, home.path())
        .args(["resend", "1"])
        .timeout(GUARD)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        stderr.contains("may charge twice") && stderr.contains("--yes"),
        "{stderr}"
    );
    assert_eq!(sim.stats().generate_posts, 1);

    against(&sim, home.path())
        .args(["resend", "#1", "--yes"])
        .timeout(GUARD)
        .assert()
        .success();
    let out = home.path().join("out");
    against(&sim, home.path())
        .args(["watch", "--out"])
        .arg(&out)
        .timeout(GUARD)
        .assert()
        .success();
    let stats = sim.stats();
    assert_eq!((stats.generate_posts, stats.jobs_created), (2, 1));
    assert_eq!(files_in(&out).len(), 1);
    // A job that was confirmed is never sent again.
    let again = against(&sim, home.path())
        .args(["resend", "1", "--yes"])
        .timeout(GUARD)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&again.get_output().stderr).to_string();
    assert!(
        stderr.contains("only a submission never confirmed"),
        "{stderr}"
    );
    assert_eq!(sim.stats().generate_posts, 2);
    stop_engine(&sim, home.path());
}

#[test]
fn the_app_reattaches_to_a_killed_engine_and_quitting_leaves_the_work_going() {
    let (_rt, sim) = sim_running(60.0, 100);
    let home = tempfile::tempdir().unwrap();
    let mut app = app(&sim, home.path());
    first_frame(&app);
    submit_in_app(&app, "still running when the app quits");
    let engine = engine_pid(&sim, home.path()).unwrap();
    unsafe { libc::kill(engine as i32, libc::SIGKILL) };
    app.wait_for("the app to say it reattached", |s| {
        s.contains("engine restarted — reattached")
    });
    app.wait_for("the job still there", |s| {
        s.contains("still running when the app quits")
    });
    let second = engine_pid(&sim, home.path()).expect("a new engine");
    assert_ne!(second, engine);
    // The engine goes on without the app: it leaves without asking.
    app.press(Key::Ctrl('c'));
    app.wait_exit();
    let said = String::from_utf8_lossy(&app.raw()).to_string();
    assert!(
        said.contains("goes on in the background with 1 unfinished job"),
        "{said}"
    );
    assert_eq!(engine_pid(&sim, home.path()), Some(second));
    assert_eq!(sim.stats().generate_posts, 1);
    stop_engine(&sim, home.path());
}

#[test]
fn engine_logs_prints_the_log_made_safe_for_the_terminal() {
    let (_rt, sim) = sim_running(1.0, 100);
    let home = tempfile::tempdir().unwrap();
    submit(&sim, home.path(), "for a log");
    stop_engine(&sim, home.path());
    // Something hostile in the log (a server's words are logged) never reaches the terminal.
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(engine_log(home.path()))
        .unwrap();
    log.write_all(b"a reason with \x1b]52;c;aGk=\x07 an escape\n")
        .unwrap();
    let out = against(&sim, home.path())
        .args(["engine", "logs", "-n", "3"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("stopped; the ledger is free"), "{text}");
    assert!(
        text.contains("a reason with") && !text.contains('\x1b'),
        "{text}"
    );
}

#[test]
fn a_hostile_client_is_dropped_and_the_engine_goes_on() {
    let (_rt, sim) = sim_running(1.0, 100);
    let home = tempfile::tempdir().unwrap();
    submit(&sim, home.path(), "before the attack");
    let first = status(&sim, home.path());
    let socket = PathBuf::from(first["socket"].as_str().unwrap());
    let connect = || {
        let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let hello = read_frame(&mut stream).expect("the engine greets first");
        assert!(hello.contains(r#""kind":"hello""#), "{hello}");
        stream
    };
    // A frame that says it is 4 GiB long: refused, never allocated.
    let mut huge = connect();
    huge.write_all(&u32::MAX.to_be_bytes()).unwrap();
    assert!(read_frame(&mut huge).is_none(), "the connection is closed");
    // Not JSON at all, then a hello with a made-up proof of the credentials.
    let mut liar = connect();
    write_frame(&mut liar, "\u{1b}[2J not json").unwrap();
    let hello = r#"{"kind":"hello","protocol":1,"build":"x","proof":"00","attach":true}"#;
    write_frame(&mut liar, hello).unwrap();
    let answer = read_frame(&mut liar).expect("an answer");
    assert!(
        answer.contains(r#""kind":"refused""#) && answer.contains("other credentials"),
        "{answer}"
    );
    assert!(read_frame(&mut liar).is_none(), "nothing more for it");
    // The engine is the same, and still works for everyone else.
    submit(&sim, home.path(), "after the attack");
    assert_eq!(status(&sim, home.path())["pid"], first["pid"]);
    assert_eq!(sim.stats().generate_posts, 2);
    stop_engine(&sim, home.path());
}

#[test]
fn paths_and_folders_mean_what_they_meant_where_the_command_ran() {
    let (_rt, sim) = sim_running(1.0, 100);
    let home = tempfile::tempdir().unwrap();
    // The engine is started ahead of time from another folder.
    let elsewhere = home.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let started = against(&sim, home.path())
        .current_dir(&elsewhere)
        .args(["engine", "start"])
        .args(&QUICK[..2])
        .assert()
        .success();
    let said = String::from_utf8_lossy(&started.get_output().stdout).to_string();
    assert!(said.starts_with("engine started: pid "), "{said}");
    let again = against(&sim, home.path())
        .args(["engine", "start"])
        .assert()
        .success();
    let said = String::from_utf8_lossy(&again.get_output().stdout).to_string();
    assert!(said.starts_with("engine already running: pid "), "{said}");

    // A relative path to a reference image, from the folder the command runs in.
    let work = home.path().join("work");
    std::fs::create_dir(&work).unwrap();
    common::png(&work, "frame.png", 640, 640);
    against(&sim, home.path())
        .current_dir(&work)
        .args([
            "submit",
            "--prompt",
            "from a frame",
            "--start-image",
            "frame.png",
        ])
        .args(QUICK)
        .timeout(GUARD)
        .assert()
        .success();
    assert_eq!(sim.stats().asset_uploads, 1);
    // Its video lands where that command ran, not where the engine was started.
    wait_until("the video in the submitting command's folder", || {
        files_in(&work).iter().any(|f| f.ends_with(".mp4"))
    });
    assert!(
        files_in(&elsewhere).is_empty(),
        "{:?}",
        files_in(&elsewhere)
    );
    stop_engine(&sim, home.path());
}

#[test]
fn the_unsent_prompt_and_parameters_survive_a_hung_up_session() {
    let (_rt, sim) = sim_running(2.0, 10);
    let home = tempfile::tempdir().unwrap();
    let mut first = app(&sim, home.path());
    first_frame(&first);
    first.type_text("a koi pond seen from above, leaves drifting");
    // The mode, one step along in the parameters.
    first.keys(&[Key::Tab, Key::Left, Key::BackTab]);
    first.wait_for("the prompt and the mode", |s| {
        s.contains("a koi pond seen from above") && s.contains("Mode            standard")
    });
    // As a dropped SSH session does it.
    first.signal(libc::SIGHUP);
    first.wait_exit();
    let second = app(&sim, home.path());
    let screen = second.wait_for("the draft back", |s| {
        s.contains("a koi pond seen from above, leaves drifting")
    });
    assert!(screen.contains("Mode            standard"), "{screen}");
    drop(second);
    stop_engine(&sim, home.path());
}

#[test]
fn an_engine_whose_ledger_was_removed_stops_and_every_post_is_in_the_ledger_on_disk() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        concurrency_limit: 100,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    against(&sim, home.path())
        .args(["submit", "--prompt", "before"])
        .timeout(GUARD)
        .assert()
        .success();
    let first = engine_pid(&sim, home.path()).expect("an engine runs");
    // The whole data folder goes, under the running engine.
    std::fs::remove_dir_all(home.path().join("data")).unwrap();
    for n in 0..10 {
        // Each either is sent by an engine whose ledger is the one on disk, or is refused
        // with nothing sent; none is sent from the orphaned ledger.
        let _ = against(&sim, home.path())
            .args(["submit", "--prompt", &format!("after {n}")])
            .timeout(GUARD)
            .output()
            .unwrap();
    }
    let listed = against(&sim, home.path())
        .args(["jobs", "--json"])
        .timeout(GUARD)
        .assert()
        .success();
    let on_disk: std::collections::BTreeSet<String> = json_lines(&listed.get_output().stdout)
        .iter()
        .filter_map(|j| {
            j["jobId"]
                .as_str()
                .filter(|id| !id.is_empty())
                .map(String::from)
        })
        .collect();
    // Every job the server made after the removal is in the ledger on disk: the first (made
    // before) lives only in the removed folder, as the user asked.
    let made = sim.stats().jobs_created;
    assert_eq!(on_disk.len() as u64, made - 1, "{on_disk:?}");
    assert!(
        made >= 2,
        "at least one submission after the removal went through"
    );
    assert!(!alive(first), "the orphaned engine stopped");
    assert_eq!(engines_of(home.path()).len(), 1, "one engine remains");
    stop_engine(&sim, home.path());
}

#[test]
fn a_flood_of_connections_that_never_prove_themselves_leaves_real_clients_served() {
    // This test holds 1,100 sockets itself.
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    if limit.rlim_cur < 2048 {
        eprintln!(
            "skipped: this process may open only {} files",
            limit.rlim_cur
        );
        return;
    }
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    against(&sim, home.path())
        .args(["engine", "start"])
        .timeout(GUARD)
        .assert()
        .success();
    let socket = PathBuf::from(status(&sim, home.path())["socket"].as_str().unwrap());
    let mut flood = Vec::new();
    for _ in 0..1100 {
        if let Ok(mut stream) = std::os::unix::net::UnixStream::connect(&socket) {
            // A hello with no proof, then nothing more.
            let hello = br#"{"kind":"hello","protocol":1,"build":"x","proof":null,"attach":false}"#;
            let mut frame = (hello.len() as u32).to_be_bytes().to_vec();
            frame.extend_from_slice(hello);
            let _ = stream.write_all(&frame);
            flood.push(stream);
        }
    }
    assert!(flood.len() > 1000, "{} connections made", flood.len());
    let out = home.path().join("out");
    against(&sim, home.path())
        .args([
            "submit",
            "--prompt",
            "through the flood",
            "--wait",
            "--download",
        ])
        .arg(&out)
        .timeout(GUARD)
        .assert()
        .success();
    assert_eq!(files_in(&out).len(), 1);
    assert_eq!(engines_of(home.path()).len(), 1, "still the one engine");
    drop(flood);
    stop_engine(&sim, home.path());
}

#[test]
fn the_app_ended_by_sigterm_or_sighup_leaves_the_terminal_cooked_and_off_the_alternate_screen() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    });
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let home = tempfile::tempdir().unwrap();
        let mut app = app(&sim, home.path());
        first_frame(&app);
        assert!(
            app.alternate_screen() && !app.cooked(),
            "the app runs full screen, raw"
        );
        app.signal(signal);
        app.wait_exit();
        assert!(
            !app.alternate_screen(),
            "signal {signal}: still on the alternate screen"
        );
        assert!(app.cooked(), "signal {signal}: the terminal was left raw");
        stop_engine(&sim, home.path());
    }
}

#[test]
fn engine_stop_also_stops_an_engine_found_on_the_socket_path_with_no_lock_naming_it() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    against(&sim, home.path())
        .args(["engine", "start"])
        .timeout(GUARD)
        .assert()
        .success();
    let pid = engine_pid(&sim, home.path()).expect("an engine runs");
    std::fs::remove_file(ledger_dir(home.path()).join("engine.lock")).unwrap();
    let out = against(&sim, home.path())
        .args(["engine", "stop"])
        .timeout(GUARD)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout);
    assert!(
        stdout.contains(&format!("stopped the engine (pid {pid})")),
        "{stdout}"
    );
    assert!(!alive(pid));
}

#[test]
fn frames_announced_huge_before_a_proof_are_refused_without_holding_memory() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    against(&sim, home.path())
        .args(["engine", "start"])
        .timeout(GUARD)
        .assert()
        .success();
    let engine = status(&sim, home.path());
    let socket = PathBuf::from(engine["socket"].as_str().unwrap());
    let pid = engine["pid"].as_u64().unwrap() as u32;
    let mut held = Vec::new();
    let body = vec![b'{'; 32 << 20];
    for _ in 0..8 {
        let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        // A frame of 256 MiB announced, and 32 MiB of it sent (8 of them: 256 MiB an engine
        // that took them would hold).
        let _ = stream.write_all(&((256u32 << 20) - 1).to_be_bytes());
        let _ = stream.write_all(&body);
        held.push(stream);
    }
    // Still serving, and never held what the frames announced.
    let again = status(&sim, home.path());
    assert_eq!(again["pid"], engine["pid"]);
    let peak = common::peak_mb(pid);
    assert!(peak > 0 && peak < 200, "the engine peaked at {peak} MB");
    drop(held);
    stop_engine(&sim, home.path());
}

#[test]
fn engine_status_says_which_jobs_it_keeps_in_memory_not_that_they_are_held() {
    let (_rt, sim) = sim_with(common::quick_config());
    let home = tempfile::tempdir().unwrap();
    against(&sim, home.path())
        .args(["engine", "start"])
        .timeout(GUARD)
        .assert()
        .success();
    let out = against(&sim, home.path())
        .args(["engine", "status"])
        .timeout(GUARD)
        .assert()
        .success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let jobs = said
        .lines()
        .find(|l| l.starts_with("jobs "))
        .unwrap_or_else(|| panic!("{said}"));
    // "held" is the word for a spend cap's hold, and these are not.
    assert!(jobs.ends_with("in memory"), "{said}");
    assert!(!jobs.contains("held"), "{said}");
    stop_engine(&sim, home.path());
}
