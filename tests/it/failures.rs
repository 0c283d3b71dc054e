//! The real binary when things keep going wrong: failing polls are told as they happen and
//! given up after a bound, refused credentials stop every request, a wait asked by the server
//! is shown, and files on disk are only ever the journal's own.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use kling_sim::{Fault, Route};

/// A guard against a hung binary, not a measurement: every case here ends in seconds.
const GUARD: Duration = Duration::from_secs(120);

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Submits one job (no waiting) and returns its server id.
fn submitted(sim: &kling_sim::SimHandle, home: &std::path::Path) -> String {
    let out = without_engine_downloads(sim, home, || {
        against(sim, home)
            .args(["submit", "--prompt", "a red fox in snow", "--json"])
            .timeout(GUARD)
            .output()
            .unwrap()
    });
    assert!(out.status.success(), "{}", text(&out.stderr));
    json_lines(&out.stdout)[0]["jobId"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Runs `f` with an engine that downloads nothing by itself, then stops that engine: the
/// next command starts one with the test's own settings.
fn without_engine_downloads<T>(
    sim: &kling_sim::SimHandle,
    home: &std::path::Path,
    f: impl FnOnce() -> T,
) -> T {
    write_config(home, "auto_download = false\n", 0o600);
    let result = f();
    against(sim, home)
        .args(["engine", "stop"])
        .assert()
        .success();
    write_config(home, "", 0o600);
    result
}

/// Submits one job, waits for it to finish (without downloading) and returns its server id.
fn finished(sim: &kling_sim::SimHandle, home: &std::path::Path) -> String {
    let out = without_engine_downloads(sim, home, || {
        against(sim, home)
            .args([
                "submit",
                "--prompt",
                "a red fox in snow",
                "--wait",
                "--json",
            ])
            .args(["--poll-interval", "0.1"])
            .timeout(GUARD)
            .output()
            .unwrap()
    });
    assert!(out.status.success(), "{}", text(&out.stderr));
    json_lines(&out.stdout)[0]["jobId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn submit_wait_tells_failing_polls_and_gives_up_at_the_bound() {
    let (_rt, sim) = sim_with(quick_config());
    sim.inject(Fault::ApiStatus {
        route: Route::GetJob,
        status: 500,
        count: 1_000_000,
    });
    let home = tempfile::tempdir().unwrap();
    let out = against(&sim, home.path())
        .args(["submit", "--prompt", "a red fox in snow", "--wait"])
        .args(["--poll-interval", "0.1", "--give-up-after", "3s"])
        .timeout(GUARD)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("polls failing for"), "{stderr}");
    assert!(
        stderr.contains("HTTP 500 Internal Server Error"),
        "{stderr}"
    );
    assert!(stderr.contains("trace id trace_"), "{stderr}");
    assert!(stderr.contains("gave up"), "{stderr}");
    // The journal still holds the job, server id and all, for a later `watch`.
    let listed = against(&sim, home.path())
        .args(["jobs", "--json"])
        .timeout(GUARD)
        .output()
        .unwrap();
    let jobs = json_lines(&listed.stdout);
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0]["jobId"].as_str().unwrap().starts_with("job_"));
    assert_eq!(sim.stats().generate_posts, 1);
}

#[test]
fn watch_tells_failing_polls_gives_up_and_a_later_watch_finishes() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let job_id = submitted(&sim, home.path());
    sim.inject(Fault::ApiStatus {
        route: Route::GetJob,
        status: 502,
        count: 1_000_000,
    });
    let out = against(&sim, home.path())
        .args(["watch", "--poll-interval", "0.1", "--give-up-after", "3s"])
        .timeout(GUARD)
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("polls failing for"), "{stderr}");
    assert!(stderr.contains("HTTP 502"), "{stderr}");
    assert!(stderr.contains("gave up polling"), "{stderr}");
    assert!(stdout.contains("(gave up polling)"), "{stdout}");
    assert!(stderr.contains("1 need attention"), "{stderr}");

    // The server recovers: the next watch follows the same job to its file.
    sim.clear_faults();
    let out_dir = home.path().join("out");
    let again = against(&sim, home.path())
        .args(["watch", "--poll-interval", "0.1", "--out"])
        .arg(&out_dir)
        .timeout(GUARD)
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again.stderr));
    let file = out_dir.join(format!("{job_id}_1.mp4"));
    assert_eq!(std::fs::read(file).unwrap(), sim.video_bytes().unwrap());
}

#[test]
fn refused_credentials_stop_all_polling_at_once_and_say_why() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    submitted(&sim, home.path());
    submitted(&sim, home.path());
    sim.inject(Fault::ApiStatus {
        route: Route::GetJob,
        status: 401,
        count: 1_000_000,
    });
    let before = sim.stats().get_job;
    let out = against(&sim, home.path())
        .args(["watch", "--poll-interval", "0.1"])
        .timeout(GUARD)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("refused the credentials"), "{stderr}");
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    // One poll per job may already be on its way; nothing after the first refusal.
    let polls = sim.stats().get_job - before;
    assert!((1..=2).contains(&polls), "{polls} polls after a 401");
}

#[test]
fn a_wait_asked_by_the_server_is_shown_with_its_length() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let job_id = submitted(&sim, home.path());
    sim.inject(Fault::ApiWait {
        route: Route::GetJob,
        seconds: 999_999_999,
        count: 1_000_000,
    });
    let mut child = process(Some(&sim), home.path())
        .args(["status", &job_id])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let first = BufReader::new(stderr).lines().next();
    let _ = child.kill();
    let _ = child.wait();
    let line = first.expect("status says something").unwrap();
    assert!(
        line.contains("the server asked to wait 11574 d") && line.contains("HTTP 429"),
        "{line}"
    );
    assert!(line.contains("trying again in 2 min"), "{line}");
}

#[test]
fn a_wait_longer_than_the_bound_ends_the_command_with_the_reason() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let job_id = submitted(&sim, home.path());
    sim.inject(Fault::ApiWait {
        route: Route::GetJob,
        seconds: 999_999_999,
        count: 1_000_000,
    });
    let out = against(&sim, home.path())
        .args(["status", &job_id, "--give-up-after", "30s"])
        .timeout(GUARD)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("would pass the give-up bound"), "{stderr}");
    assert!(stderr.contains("HTTP 429"), "{stderr}");
}

#[test]
fn download_of_a_saved_job_reports_its_file_and_watch_fetches_nothing_more() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let out_dir = home.path().join("out");
    let out = against(&sim, home.path())
        .args(["submit", "--prompt", "a red fox in snow", "--json"])
        .args(["--poll-interval", "0.1", "--download"])
        .arg(&out_dir)
        .timeout(GUARD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job_id = json_lines(&out.stdout)[0]["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    let file = out_dir.join(format!("{job_id}_1.mp4"));
    let cdn = sim.stats().cdn_requests;

    let again = against(&sim, home.path())
        .args(["download", &job_id, "--json", "--out"])
        .arg(&out_dir)
        .timeout(GUARD)
        .output()
        .unwrap();
    let stderr = text(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(stderr.contains("already saved as"), "{stderr}");
    let report = &json_lines(&again.stdout)[0];
    assert_eq!(report["files"][0].as_str().unwrap(), file.to_str().unwrap());
    assert_eq!(files_in(&out_dir).len(), 1, "no second copy");
    assert_eq!(sim.stats().cdn_requests, cdn, "nothing fetched");

    let watched = against(&sim, home.path())
        .args(["watch", "--out"])
        .arg(&out_dir)
        .timeout(GUARD)
        .output()
        .unwrap();
    assert!(watched.status.success(), "{}", text(&watched.stderr));
    assert_eq!(files_in(&out_dir).len(), 1);
    assert_eq!(sim.stats().cdn_requests, cdn);
}

#[test]
fn download_records_its_file_so_watch_does_not_fetch_it_again() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let out_dir = home.path().join("out");
    let job_id = finished(&sim, home.path());
    against(&sim, home.path())
        .args(["download", &job_id, "--out"])
        .arg(&out_dir)
        .timeout(GUARD)
        .assert()
        .success();
    let cdn = sim.stats().cdn_requests;
    against(&sim, home.path())
        .args(["watch", "--out"])
        .arg(&out_dir)
        .timeout(GUARD)
        .assert()
        .success();
    assert_eq!(
        sim.stats().cdn_requests,
        cdn,
        "watch took the recorded file"
    );
    assert_eq!(files_in(&out_dir).len(), 1);
}

#[test]
fn watch_never_takes_a_planted_file_at_the_final_name() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let out_dir = home.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let job_id = finished(&sim, home.path());
    let video = sim.video_bytes().unwrap();
    let planted = vec![0u8; video.len()];
    let final_name = out_dir.join(format!("{job_id}_1.mp4"));
    std::fs::write(&final_name, &planted).unwrap();
    let watched = against(&sim, home.path())
        .args(["watch", "--out"])
        .arg(&out_dir)
        .timeout(GUARD)
        .output()
        .unwrap();
    let stdout = text(&watched.stdout);
    assert!(watched.status.success(), "{}", text(&watched.stderr));
    let saved = out_dir.join(format!("{job_id}_1_1.mp4"));
    assert!(stdout.contains(&format!("{job_id}_1_1.mp4")), "{stdout}");
    assert_eq!(std::fs::read(&saved).unwrap(), video);
    assert_eq!(std::fs::read(&final_name).unwrap(), planted, "left alone");
}
