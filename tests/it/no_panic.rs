//! No command ends in a panic: not with its stdout closed by the reader (`| head -1`), not with
//! a log file that cannot be opened.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use crate::common::{process, sim_with};
use kling_sim::SimConfig;

/// Every subcommand that prints something and ends by itself.
fn printing_commands(job_id: &str) -> Vec<Vec<String>> {
    let lists: &[&[&str]] = &[
        &["jobs"],
        &["jobs", "--json"],
        &["jobs", "--remote"],
        &["spend"],
        &["spend", "--json", "--by", "day"],
        &["engine", "status"],
        &["engine", "status", "--json"],
        &["engine", "logs"],
        &["status", job_id],
        &["status", job_id, "--json"],
        &["download", job_id],
        &["download", job_id, "--json"],
        &["watch"],
        &["batch", "status", "nothing"],
        &["submit", "--prompt", "a fox", "--dry-run"],
        &["cancel", job_id],
        &["import", job_id, "--json"],
        &["upload", "frame.png"],
        &["completions", "bash"],
        &["man"],
        &["--help"],
        &["submit", "--help"],
    ];
    lists
        .iter()
        .map(|l| l.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn a_closed_stdout_or_an_unwritable_log_never_makes_a_command_panic() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let out = common::against(&sim, home.path())
        .args([
            "submit",
            "--prompt",
            "a fox",
            "--wait",
            "--json",
            "--download",
        ])
        .arg(home.path().join("out"))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let job_id = common::json_lines(&out.stdout)[0]["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    common::png(home.path(), "frame.png", 640, 480);
    for unwritable_log in [false, true] {
        if unwritable_log {
            // A folder where the log file should be: no one, root included, can open it.
            let log = home.path().join("data/kling-tui/kling-tui.log");
            let _ = std::fs::remove_file(&log);
            std::fs::create_dir_all(&log).unwrap();
        }
        for args in printing_commands(&job_id) {
            let mut child = process(Some(&sim), home.path())
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // The reader goes away before reading a byte.
            drop(child.stdout.take());
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_ne!(output.status.code(), Some(101), "{args:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            if unwritable_log {
                assert!(
                    stderr.matches("cannot write the log").count() <= 1,
                    "{args:?}: said once at most: {stderr}"
                );
            }
        }
    }
    common::against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}

#[test]
fn a_data_folder_the_user_cannot_write_never_makes_a_command_panic() {
    // Read-only for the command: folders of root's, the command run as nobody. Only root
    // can set that up; elsewhere, said and skipped.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run a command as another user");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    // A ledger with a job in it, made by root.
    let out = common::against(&sim, home.path())
        .args(["submit", "--prompt", "a fox", "--wait", "--json"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let job_id = common::json_lines(&out.stdout)[0]["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    common::against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
    // Everything readable, nothing writable, for anyone else.
    for entry in walk(home.path()) {
        let mode = if entry.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for args in printing_commands(&job_id) {
        let output = process(Some(&sim), home.path())
            .args(&args)
            .env("KLING_TUI_SOCKET_DIR", home.path().join("run"))
            .uid(65534)
            .gid(65534)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_ne!(output.status.code(), Some(101), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Every folder and file below `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}

#[test]
fn the_ledger_and_the_logs_are_private_files_in_private_folders() {
    use std::os::unix::fs::PermissionsExt;
    let (_rt, sim) = sim_with(common::quick_config());
    let home = tempfile::tempdir().unwrap();
    common::against(&sim, home.path())
        .args(["submit", "--prompt", "a private fox"])
        .assert()
        .success();
    common::against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let journals = home.path().join("data/kling-tui/journals");
    let ledger_dir = std::fs::read_dir(&journals)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for dir in [
        home.path().join("data/kling-tui"),
        journals.clone(),
        ledger_dir.clone(),
    ] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    assert_eq!(mode(&ledger_dir.join("ledger.sqlite3")), 0o600);
    assert_eq!(
        mode(&home.path().join("data/kling-tui/kling-tui.log")),
        0o600
    );
    for log in std::fs::read_dir(home.path().join("state/kling-tui")).unwrap() {
        let log = log.unwrap().path();
        assert_eq!(mode(&log), 0o600, "{}", log.display());
    }
    assert_eq!(mode(&home.path().join("state/kling-tui")), 0o700);
}
