//! The real binary under abuse: `watch` killed with SIGKILL at random moments, a full disk,
//! several processes on the same ledger. Nothing may be lost, sent twice or left half-written.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use kling_sim::{SimConfig, SimHandle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A generous guard so a hang fails the test instead of blocking CI; never a measurement.
const GUARD: Duration = Duration::from_secs(300);

fn submit(sim: &SimHandle, home: &Path, prompt: &str) {
    against(sim, home)
        .args(["submit", "--prompt", prompt])
        .assert()
        .success();
}

fn watch_args(out: &Path) -> Vec<String> {
    [
        "watch",
        "--poll-interval",
        "0.2",
        "--requests-per-second",
        "50",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([out.display().to_string()])
    .collect()
}

/// What was saved in `dir`, provenance sidecars aside.
fn files(dir: &Path) -> Vec<PathBuf> {
    if !dir.exists() {
        return Vec::new();
    }
    files_in(dir).into_iter().map(|n| dir.join(n)).collect()
}

#[test]
fn watch_killed_at_random_moments_loses_nothing_and_sends_nothing_twice() {
    let size = 6 * 1024 * 1024;
    let (_rt, sim) = sim_with(SimConfig {
        // Jobs take about three seconds: kills land while polling and while downloading.
        time_scale: 40.0,
        video_size: Some(size as u64),
        concurrency_limit: 100,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    // The engine starts downloading as soon as jobs finish, before any `watch --out`.
    write_config(
        home.path(),
        &format!("download_dir = {:?}\n", out.display().to_string()),
        0o600,
    );
    for n in 0..30 {
        submit(&sim, home.path(), &format!("a red fox in snow, take {n}"));
    }
    assert_eq!(sim.stats().generate_posts, 30);

    let mut rng = StdRng::seed_from_u64(7);
    let mut killed = 0;
    for _ in 0..6 {
        let mut child = process(Some(&sim), home.path())
            .args(watch_args(&out))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(300..1500)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL: no chance to clean up
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(killed >= 3, "watch finished before it could be killed");

    against(&sim, home.path())
        .args(watch_args(&out))
        .timeout(GUARD)
        .assert()
        .success();

    let stats = sim.stats();
    assert_eq!(stats.generate_posts, 30, "a submission was sent twice");
    assert_eq!(stats.jobs_created, 30);
    let written = files(&out);
    assert_eq!(written.len(), 30, "{written:?}");
    let expected = SimHandle::synthetic_bytes(0, size);
    for file in &written {
        assert!(
            file.extension().is_some_and(|e| e == "mp4"),
            "{}",
            file.display()
        );
        assert!(
            std::fs::read(file).unwrap() == expected,
            "{} differs",
            file.display()
        );
    }
}

#[test]
fn a_full_disk_keeps_the_part_file_and_a_later_run_finishes() {
    let size = 3 * 1024 * 1024;
    let (_rt, sim) = sim_with(SimConfig {
        video_size: Some(size as u64),
        ..quick_config()
    });
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    // Not downloaded by the engine `submit` starts...
    write_config(home.path(), "auto_download = false\n", 0o600);
    submit(&sim, home.path(), "a red fox in snow");
    stop_engine(&sim, home.path());
    // ...but by the one the limited `watch` below starts: the background engine does the
    // writing, under the limits of the process that started it.
    write_config(home.path(), "", 0o600);
    // A 1 MiB file-size limit stands in for a full disk; SIGXFSZ is ignored so writes fail
    // with an error instead of killing the process.
    let program = process(Some(&sim), home.path());
    let mut limited = std::process::Command::new("bash");
    limited
        .arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 1024; exec "$0" "$@""#)
        .arg(program.get_program())
        .args(watch_args(&out))
        .current_dir(home.path());
    for (key, value) in program.get_envs() {
        match value {
            Some(v) => limited.env(key, v),
            None => limited.env_remove(key),
        };
    }
    let output = limited.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    stop_engine(&sim, home.path());
    let left = files(&out);
    assert_eq!(left.len(), 1, "{left:?}");
    let name = left[0].to_string_lossy();
    assert!(name.contains(".mp4.") && name.ends_with(".part"), "{name}");
    let kept = std::fs::metadata(&left[0]).unwrap().len();
    assert!(kept > 0 && kept <= 1024 * 1024, "{kept}");

    // Room again: the next run resumes from what is on disk.
    let ranges_before = sim.stats().cdn_ranges.len();
    against(&sim, home.path())
        .args(watch_args(&out))
        .timeout(GUARD)
        .assert()
        .success();
    let done = files(&out);
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(std::fs::read(&done[0]).unwrap() == SimHandle::synthetic_bytes(0, size));
    let resumed = &sim.stats().cdn_ranges[ranges_before..];
    assert!(
        resumed
            .iter()
            .any(|r| r.as_deref() == Some(&format!("bytes={kept}-")[..])),
        "{resumed:?}"
    );
}

fn stop_engine(sim: &SimHandle, home: &Path) {
    against(sim, home)
        .args(["engine", "stop"])
        .timeout(GUARD)
        .assert()
        .success();
}

#[test]
fn processes_on_one_ledger_share_its_engine() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 1.0, // jobs stay running while we look
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    submit(&sim, home.path(), "a red fox in snow");
    let mut first = process(Some(&sim), home.path())
        .args(watch_args(&out))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(first.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    assert!(line.starts_with("#1"), "{line}");

    // With `watch` attached, another process submits through the same engine...
    against(&sim, home.path())
        .args(["submit", "--prompt", "another"])
        .timeout(GUARD)
        .assert()
        .success();
    // ...and `watch` hears of the new job.
    loop {
        line.clear();
        let read = std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
        assert!(read > 0, "watch ended without hearing of #2");
        if line.starts_with("#2") {
            break;
        }
    }
    let listed = against(&sim, home.path())
        .args(["jobs", "--json"])
        .assert()
        .success();
    assert_eq!(json_lines(&listed.get_output().stdout).len(), 2);
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(sim.stats().generate_posts, 2);
    stop_engine(&sim, home.path());
}
