//! The ledger with the real binary: journals written by kling-tui 0.1 (fixtures in
//! tests/fixtures/journal-0.1, made by the 0.1 binary against `kling-tui sim --seed 1`, then
//! damaged by hand as a crash or a bad disk would) are taken over on first start, and every
//! job in them is followed to the end, a damaged one included.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use kling_tui::kling::KlingRequest;
use kling_tui::sim::{SimConfig, SimHandle};

const GUARD: Duration = Duration::from_secs(120);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/journal-0.1")
        .join(name)
}

/// The simulator the fixtures were made against, holding the same jobs: ids follow the seed and
/// the order of creation.
fn sim_with_jobs(count: usize) -> (tokio::runtime::Runtime, SimHandle) {
    let (rt, sim) = sim_with(SimConfig {
        seed: 1,
        ..quick_config()
    });
    let client = client_for(&sim);
    rt.block_on(async {
        let mut ids = Vec::new();
        for n in 0..count {
            let prompt = format!("fixture {n}");
            ids.push(
                client
                    .generate(&KlingRequest::new(prompt))
                    .await
                    .unwrap()
                    .job
                    .job_id,
            );
        }
        // Finished, as they were when the fixtures were made.
        for id in ids {
            wait_final(&client, &id).await;
        }
    });
    (rt, sim)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The folder of the ledger for this simulator, made by a first `watch` with nothing to do.
fn ledger_dir(sim: &SimHandle, home: &Path) -> PathBuf {
    let out = against(sim, home)
        .args(["watch", "--out"])
        .arg(home.join("out"))
        .timeout(GUARD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let journals = home.join("data/kling-tui/journals");
    let dir = std::fs::read_dir(&journals)
        .unwrap()
        .next()
        .expect("a ledger folder")
        .unwrap()
        .path();
    assert!(dir.join("ledger.sqlite3").exists());
    dir
}

/// Takes over `name`, follows every job to its file, and returns watch's stderr.
fn take_over(name: &str, jobs: usize) -> (String, SimHandle, tempfile::TempDir) {
    let (rt, sim) = sim_with_jobs(jobs);
    std::mem::forget(rt);
    let home = tempfile::tempdir().unwrap();
    let dir = ledger_dir(&sim, home.path());
    std::fs::copy(fixture(name), dir.join("journal.jsonl")).unwrap();
    let posts = sim.stats().generate_posts;
    let out_dir = home.path().join("out");
    let out = against(&sim, home.path())
        .args(["watch", "--poll-interval", "0.1", "--out"])
        .arg(&out_dir)
        .timeout(GUARD)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{}\n{stderr}", text(&out.stdout));
    assert!(stderr.contains("took over the 0.1 journal"), "{stderr}");
    assert!(!dir.join("journal.jsonl").exists());
    assert_eq!(
        std::fs::read(dir.join("journal.jsonl.imported")).unwrap(),
        std::fs::read(fixture(name)).unwrap(),
        "the old file is kept as it was"
    );
    let files = files_in(&out_dir);
    assert_eq!(files.len(), jobs, "{files:?}");
    for file in &files {
        assert_eq!(
            std::fs::read(out_dir.join(file)).unwrap(),
            sim.video_bytes().unwrap()
        );
    }
    assert_eq!(sim.stats().generate_posts, posts, "nothing sent again");
    // Credentials never reach the ledger, in clear or encoded.
    let ledger = std::fs::read(dir.join("ledger.sqlite3")).unwrap();
    let encoded = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!(
            "{}:{}",
            kling_tui::sim::DEMO_API_KEY,
            kling_tui::sim::DEMO_API_SECRET
        ),
    );
    for secret in [kling_tui::sim::DEMO_API_SECRET, encoded.as_str()] {
        assert!(
            !ledger.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a credential in the ledger"
        );
    }
    // Said once: the next start is quiet about it.
    let again = against(&sim, home.path())
        .args(["watch", "--out"])
        .arg(&out_dir)
        .timeout(GUARD)
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(!text(&again.stderr).contains("took over"));
    assert_eq!(files_in(&out_dir).len(), jobs, "nothing fetched twice");
    (stderr, sim, home)
}

#[test]
fn an_uncompacted_0_1_journal_is_taken_over_and_followed() {
    let (stderr, _sim, _home) = take_over("uncompacted.jsonl", 3);
    assert!(stderr.contains("3 job(s)"), "{stderr}");
    assert!(!stderr.contains("damaged"), "{stderr}");
}

#[test]
fn a_compacted_0_1_journal_is_taken_over_and_its_finished_jobs_downloaded() {
    let (stderr, _sim, _home) = take_over("compacted.jsonl", 3);
    assert!(stderr.contains("3 job(s)"), "{stderr}");
}

#[test]
fn a_torn_tail_keeps_the_job_it_was_about() {
    let (stderr, _sim, _home) = take_over("torn-tail.jsonl", 4);
    assert!(
        stderr.contains("4 job(s)") && stderr.contains("1 damaged line"),
        "{stderr}"
    );
    assert!(
        stderr.contains("damaged record for #4 — recovered: server id known"),
        "{stderr}"
    );
}

#[test]
fn a_damaged_middle_line_loses_no_job() {
    let (stderr, sim, home) = take_over("damaged-middle.jsonl", 3);
    assert!(
        stderr.contains("damaged record for #2 — recovered: server id known"),
        "{stderr}"
    );
    // `jobs` says so too, and lists the job with its server id.
    let listed = against(&sim, home.path())
        .args(["jobs", "--json"])
        .output()
        .unwrap();
    let stderr = text(&listed.stderr);
    assert!(
        stderr.contains("damaged record for #2 — recovered: server id known"),
        "{stderr}"
    );
    let jobs = json_lines(&listed.stdout);
    assert_eq!(jobs.len(), 3);
    assert_eq!(jobs[1]["localId"], 2);
    assert!(jobs[1]["jobId"].as_str().unwrap().starts_with("job_"));
    assert_eq!(jobs[1]["status"], "success");
}

#[test]
fn a_damaged_ledger_file_stops_every_command_naming_the_file_and_the_cure() {
    let (rt, sim) = sim_with_jobs(0);
    std::mem::forget(rt);
    let home = tempfile::tempdir().unwrap();
    let dir = ledger_dir(&sim, home.path());
    for extra in ["ledger.sqlite3-wal", "ledger.sqlite3-shm"] {
        let _ = std::fs::remove_file(dir.join(extra));
    }
    std::fs::write(dir.join("ledger.sqlite3"), vec![0x5a; 8192]).unwrap();
    for args in [
        vec!["jobs"],
        vec!["watch"],
        vec!["submit", "--prompt", "a fox"],
    ] {
        let out = against(&sim, home.path())
            .args(&args)
            .timeout(GUARD)
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains("ledger.sqlite3")
                && stderr.contains("damaged")
                && stderr.contains(".recover"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(sim.stats().generate_posts, 0, "nothing sent");
}
