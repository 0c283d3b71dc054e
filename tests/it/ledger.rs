//! The ledger with the real binary: journals written by kling-tui 0.1 (fixtures in
//! tests/fixtures/journal-0.1, made by the 0.1 binary against `kling-tui sim --seed 1`, then
//! damaged by hand as a crash or a bad disk would) are taken over on first start, and every
//! job in them is followed to the end, a damaged one included.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;
use kling_sim::{SimConfig, SimHandle};
use kling_tui::kling::KlingRequest;

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
    // The engine it started lets go of the ledger: the test puts files there.
    against(sim, home)
        .args(["engine", "stop"])
        .assert()
        .success();
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
        format!("{}:{}", kling_sim::DEMO_API_KEY, kling_sim::DEMO_API_SECRET),
    );
    for secret in [kling_sim::DEMO_API_SECRET, encoded.as_str()] {
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

/// A ledger holding five jobs with known dates, modes, states and costs.
fn known_history() -> (SimHandle, tempfile::TempDir) {
    use kling_tui::api::types::JobStatus;
    use kling_tui::engine::{Ledger, Record};
    let (rt, sim) = sim_with_jobs(0);
    std::mem::forget(rt);
    let home = tempfile::tempdir().unwrap();
    let dir = ledger_dir(&sim, home.path());
    let mut ledger = Ledger::open(&dir).unwrap();
    let jobs = [
        (
            "2026-11-01T10:00:00Z",
            "a red fox in snow",
            "pro",
            Some((75.0, "success")),
        ),
        (
            "2026-11-02T10:00:00Z",
            "a lighthouse in a storm",
            "standard",
            Some((30.0, "failure")),
        ),
        (
            "2026-11-02T12:00:00.5Z",
            "Red kites over a beach",
            "standard",
            Some((40.0, "in-progress")),
        ),
        ("2026-11-03T09:00:00Z", "a fox cub", "pro", None),
        (
            "2026-11-03T10:00:00Z",
            "100% snow_fall",
            "4k",
            Some((150.0, "success")),
        ),
    ];
    for (created, prompt, mode, outcome) in jobs {
        let mut request = KlingRequest::new(prompt);
        request.mode = mode.parse().unwrap();
        let id = ledger
            .record_intent(created.into(), request, None, None)
            .unwrap();
        let record = match outcome {
            Some((cost, status)) => {
                ledger
                    .append(
                        Record::Accepted {
                            local_id: id,
                            job_id: format!("job_{id}"),
                            cost: Some(cost),
                        },
                        true,
                    )
                    .unwrap();
                Record::Status {
                    local_id: id,
                    status: JobStatus::parse(status),
                    progress: 0.5,
                    // A success names its video (one that names none is waiting for it).
                    asset_ids: if status == "success" {
                        vec![format!("asset_{id}")]
                    } else {
                        vec![]
                    },
                    error: None,
                    cost: Some(cost),
                    hint: None,
                    history: vec![],
                }
            }
            None => Record::Rejected {
                local_id: id,
                reason: "HTTP 400".into(),
            },
        };
        ledger.append(record, true).unwrap();
    }
    (sim, home)
}

fn listed(sim: &SimHandle, home: &Path, args: &[&str]) -> Vec<u64> {
    let out = against(sim, home)
        .arg("jobs")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    json_lines(&out.stdout)
        .iter()
        .map(|j| j["localId"].as_u64().unwrap())
        .collect()
}

#[test]
fn jobs_are_filtered_by_status_time_and_prompt_text() {
    let (sim, home) = known_history();
    let h = home.path();
    assert_eq!(listed(&sim, h, &[]), [1, 2, 3, 4, 5]);
    assert_eq!(listed(&sim, h, &["--status", "success"]), [1, 5]);
    assert_eq!(listed(&sim, h, &["--status", "rejected"]), [4]);
    assert!(listed(&sim, h, &["--status", "queued-locally"]).is_empty());
    assert_eq!(listed(&sim, h, &["--search", "fox"]), [1, 4]);
    assert_eq!(listed(&sim, h, &["--search", "RED"]), [1, 3]);
    // Wildcards of SQL are plain characters here.
    assert_eq!(listed(&sim, h, &["--search", "100%"]), [5]);
    assert_eq!(listed(&sim, h, &["--search", "_"]), [5]);
    assert_eq!(listed(&sim, h, &["--since", "2026-11-03"]), [4, 5]);
    assert_eq!(
        listed(&sim, h, &["--since", "2026-11-02T12:00:00.2Z"]),
        [3, 4, 5],
        "compared as times, not text"
    );
    assert_eq!(listed(&sim, h, &["--limit", "2"]), [4, 5]);
    assert_eq!(
        listed(
            &sim,
            h,
            &["--search", "o", "--status", "success", "--limit", "1"]
        ),
        [5]
    );
    let bad = against(&sim, h)
        .args(["jobs", "--since", "last tuesday"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("is not a date"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn spend_counts_confirmed_costs_and_leaves_refunds_out() {
    let (sim, home) = known_history();
    let spend = |args: &[&str]| {
        let out = against(&sim, home.path())
            .arg("spend")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let total = spend(&[]);
    assert_eq!(
        total.trim(),
        format!("{:<12} {:>6} jobs  {:>10} CU", "total", 3, 265)
    );
    let by_day = spend(&["--by", "day", "--json"]);
    let rows: Vec<(String, u64, f64)> = json_lines(by_day.as_bytes())
        .iter()
        .map(|r| {
            (
                r["group"].as_str().unwrap().to_string(),
                r["jobs"].as_u64().unwrap(),
                r["creativeUnits"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("2026-11-01".to_string(), 1, 75.0),
            ("2026-11-02".to_string(), 1, 40.0),
            ("2026-11-03".to_string(), 1, 150.0)
        ]
    );
    let by_mode = spend(&["--by", "mode"]);
    let lines: Vec<&str> = by_mode.lines().collect();
    assert_eq!(lines.len(), 4, "{by_mode}");
    assert!(
        lines[0].starts_with("4k") && lines[0].ends_with("150 CU"),
        "{by_mode}"
    );
    assert!(
        lines[1].starts_with("pro") && lines[1].ends_with("75 CU"),
        "{by_mode}"
    );
    assert!(
        lines[2].starts_with("standard") && lines[2].ends_with("40 CU"),
        "{by_mode}"
    );
    let since = spend(&["--since", "2026-11-02"]);
    assert!(
        since.contains("     2 jobs") && since.trim_end().ends_with("190 CU"),
        "{since}"
    );
}

#[test]
fn before_the_take_over_jobs_and_spend_read_the_0_1_journal_as_it_is() {
    let (rt, sim) = sim_with_jobs(0);
    std::mem::forget(rt);
    let home = tempfile::tempdir().unwrap();
    let dir = ledger_dir(&sim, home.path());
    for name in ["ledger.sqlite3", "ledger.sqlite3-wal", "ledger.sqlite3-shm"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    std::fs::copy(fixture("compacted.jsonl"), dir.join("journal.jsonl")).unwrap();
    assert_eq!(
        listed(&sim, home.path(), &["--status", "success"]),
        [1, 2, 3]
    );
    assert_eq!(listed(&sim, home.path(), &["--search", "TWO"]), [2]);
    let out = against(&sim, home.path()).arg("spend").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).trim_end().ends_with("225 CU"),
        "{}",
        text(&out.stdout)
    );
    // Read as it is: nothing was written or taken over.
    assert!(dir.join("journal.jsonl").exists());
    assert!(!dir.join("ledger.sqlite3").exists());
}
