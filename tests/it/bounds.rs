//! Inputs from outside with hostile sizes: memory stays within a stated bound (the peak
//! resident size of the process, read from the kernel), the message names the cap, nothing is
//! lost. Its own test binary, so that the children's peak is only these commands'.

use crate::common;

use std::path::Path;
use std::time::Duration;

use crate::common::{against, peak_mb, sim_with};
use kling_sim::SimConfig;

/// The bound every process here must stay under.
const BOUND_MB: i64 = 200;

/// Runs `cmd` to its end (killed after `limit`) and returns what it printed, its exit code
/// and the largest resident size it reached, in MB, from its own rusage (other processes of
/// the test run do not count).
fn run_measured(mut cmd: std::process::Command, limit: Duration) -> (String, Option<i32>, i64) {
    use std::io::Read;
    // Reaped by wait4 below, which gives its rusage.
    #[allow(clippy::zombie_processes)]
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let pid = child.id() as i32;
    let deadline = std::time::Instant::now() + limit;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: asks after this test's own child, into a zeroed struct of the right type.
        let waited = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if waited == pid {
            break;
        }
        assert_eq!(waited, 0, "wait4 failed");
        if std::time::Instant::now() > deadline {
            // SAFETY: not reaped yet, so the pid is still this child's.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (reader.join().unwrap(), code, usage.ru_maxrss / 1024)
}

fn batch_file(dir: &Path, line: &str) -> std::path::PathBuf {
    let path = dir.join("hostile.jsonl");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    path
}

#[test]
fn a_batch_line_with_a_megabyte_prompt_or_long_alternatives_is_refused_in_bounded_memory() {
    let home = tempfile::tempdir().unwrap();
    // Plans `file` and returns what it said, having checked it was refused (exit 2).
    let mut peak = 0;
    let mut refused = |file: std::path::PathBuf| {
        let mut cmd = common::process(None, home.path());
        cmd.args(["batch", "--plan"]).arg(file);
        let (stderr, code, mb) = run_measured(cmd, Duration::from_secs(300));
        peak = peak.max(mb);
        assert_eq!(code, Some(2), "{stderr}");
        stderr
    };
    let with_prompt = |prompt: &str| {
        format!(
            r#"{{"prompt": "{prompt}", "duration": [3, 5, 8, 10], "mode": ["standard", "pro"]}}"#
        )
    };
    // A 1 MB prompt: refused by the line's cap, unparsed.
    let stderr = refused(batch_file(
        home.path(),
        &with_prompt(&"x".repeat(1024 * 1024)),
    ));
    assert!(
        stderr.contains("line 1") && stderr.contains("a line holds at most 262144"),
        "{stderr}"
    );
    // 200 KB, under the line's cap: refused for its length before it is multiplied.
    let stderr = refused(batch_file(
        home.path(),
        &with_prompt(&"x".repeat(200 * 1024)),
    ));
    assert!(
        stderr.contains("line 1") && stderr.contains("before any alternative is expanded"),
        "{stderr}"
    );
    // {long|short} thirteen times: 8,192 requests, most of them far too long.
    let group = format!("{{{}|y}} ", "x".repeat(3000));
    let line = format!(r#"{{"prompt": "{}"}}"#, group.repeat(13));
    let stderr = refused(batch_file(home.path(), &line));
    assert!(stderr.contains("at most 2500 characters"), "{stderr}");
    // A file too big for a batch is refused by its size, unread.
    let big = home.path().join("big.jsonl");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(kling_tui::batch::MAX_FILE_BYTES + 1).unwrap();
    let stderr = refused(big);
    assert!(stderr.contains("a batch file holds at most"), "{stderr}");
    assert!(peak > 0 && peak < BOUND_MB, "a command peaked at {peak} MB");
}

#[test]
fn a_hook_printing_a_huge_line_leaves_the_engine_within_bounds_and_its_log_short() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let done = home.path().join("hook-done");
    // 300 MB on one line, a byte that is not UTF-8, then a mark that it ran to its end.
    let script = format!(
        "head -c 300000000 /dev/zero | tr '\\0' x; printf '\\377 tail\\n'; touch {}",
        done.display()
    );
    common::write_config(
        home.path(),
        &format!("on_finish = [\"/bin/sh\", \"-c\", {script:?}]\n"),
        0o600,
    );
    against(&sim, home.path())
        .args(["submit", "--prompt", "a fox", "--wait", "--download"])
        .arg(home.path().join("out"))
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    for _ in 0..600 {
        if done.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        done.exists(),
        "the hook ran to its end: never stopped by a full pipe"
    );
    common::wait_for_log(home.path(), "[cut]");
    let status = against(&sim, home.path())
        .args(["engine", "status", "--json"])
        .assert()
        .success();
    let status: serde_json::Value = serde_json::from_slice(&status.get_output().stdout).unwrap();
    let pid = status["pid"].as_u64().unwrap() as u32;
    let peak = peak_mb(pid);
    assert!(
        peak > 0 && peak < BOUND_MB,
        "the engine peaked at {peak} MB"
    );
    let log = common::engine_log(home.path());
    assert!(
        log.len() < 1024 * 1024,
        "the log grew to {} bytes",
        log.len()
    );
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}

#[test]
fn a_job_list_that_never_ends_stops_at_its_bound_and_says_so() {
    let (_rt, sim) = sim_with(SimConfig {
        endless_listing: true,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    // Pages as fast as the server answers: the bound, not the pace, is under test.
    common::write_config(home.path(), "requests_per_second = 1000\n", 0o600);
    let out = against(&sim, home.path())
        .args(["jobs", "--remote", "--json", "--limit", "3"])
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("showing the newest 20000 jobs")
            && stderr.contains("the list may be incomplete"),
        "{stderr}"
    );
    assert_eq!(common::json_lines(&out.stdout).len(), 3);
    assert_eq!(sim.stats().list_jobs, 200);
    let status = against(&sim, home.path())
        .args(["engine", "status", "--json"])
        .assert()
        .success();
    let status: serde_json::Value = serde_json::from_slice(&status.get_output().stdout).unwrap();
    let peak = peak_mb(status["pid"].as_u64().unwrap() as u32);
    assert!(
        peak > 0 && peak < BOUND_MB,
        "the engine peaked at {peak} MB"
    );
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}

/// `jobs --remote` of an endless list at 10 pages a second (slow enough that the bound is far
/// off), once five pages have been asked for. Its output is piped, for the test to read.
fn slow_listing(sim: &kling_sim::SimHandle, home: &Path) -> std::process::Child {
    common::write_config(home, "requests_per_second = 10\n", 0o600);
    let client = common::process(Some(sim), home)
        .args(["jobs", "--remote"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if sim.stats().list_jobs >= 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(sim.stats().list_jobs >= 5, "the listing never started");
    client
}

#[test]
fn a_listing_stops_when_its_client_goes() {
    let (_rt, sim) = sim_with(SimConfig {
        endless_listing: true,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let mut client = slow_listing(&sim, home.path());
    client.kill().unwrap();
    client.wait().unwrap();
    common::wait_for_log(
        home.path(),
        "a listing of the team's jobs stopped: its client left",
    );
    let after = sim.stats().list_jobs;
    std::thread::sleep(Duration::from_millis(1500));
    // At most the page already asked for when it stopped.
    assert!(
        sim.stats().list_jobs <= after + 1,
        "{} then {}",
        after,
        sim.stats().list_jobs
    );
    assert!(after < 100, "{after} pages");
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}

#[test]
fn a_listing_is_not_asked_again_of_a_restarted_engine() {
    let (_rt, sim) = sim_with(SimConfig {
        endless_listing: true,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let client = slow_listing(&sim, home.path());
    let status = against(&sim, home.path())
        .args(["engine", "status", "--json"])
        .assert()
        .success();
    let status: serde_json::Value = serde_json::from_slice(&status.get_output().stdout).unwrap();
    let pid = status["pid"].as_i64().unwrap() as i32;
    // SAFETY: a signal to the engine this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let out = client.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("it was not asked again"), "{stderr}");
    // The client started a new engine to reattach; it lists nothing by itself.
    let after = sim.stats().list_jobs;
    std::thread::sleep(Duration::from_millis(2000));
    assert_eq!(sim.stats().list_jobs, after);
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}
