//! Money settings that cannot be lost: a config file that cannot be read stops every command,
//! a cap changed in the file reaches the running engine, a request a cap holds is told at
//! once, and spend counts what the SDK says a job cost.

use crate::common;

use std::path::Path;
use std::time::Duration;

use crate::common::{against, json_lines, sim_with, wait_for_log};
use kling_sim::{SimConfig, SimHandle};
use kling_tui::api::types::{JobStatus, StatusChange};
use kling_tui::engine::{Ledger, Record};
use kling_tui::kling::{KlingRequest, Mode};

fn stop_engine(sim: &SimHandle, home: &Path) {
    against(sim, home)
        .args(["engine", "stop"])
        .assert()
        .success();
}

/// Every command that reads the config, and the app (no subcommand).
const COMMANDS: &[&[&str]] = &[
    &["submit", "--prompt", "a fox"],
    &["submit", "--prompt", "a fox", "--dry-run"],
    &["jobs"],
    &["jobs", "--remote"],
    &["spend"],
    &["watch"],
    &["download", "job_x"],
    &["status", "job_x"],
    &["cancel", "job_x"],
    &["import", "job_x"],
    &["batch", "status", "some-batch"],
    &["engine", "status"],
    &["engine", "start"],
    &["--demo", "submit", "--prompt", "a fox"],
    &[],
];

#[test]
fn a_config_that_cannot_be_read_stops_every_command_and_the_app_with_exit_2() {
    let (_rt, sim) = sim_with(common::quick_config());
    // Comments only past its first line, but 2 MiB of them: refused unread.
    let huge = format!("max_spend_per_day = 100\n{}", "# pad\n".repeat(400_000));
    let cases: &[(&str, u32, &[&str])] = &[
        (
            "# caps\nmax_spend_per_dya = 100\n",
            0o600,
            &[
                "line 2",
                "max_spend_per_dya",
                "did you mean `max_spend_per_day`?",
            ],
        ),
        (
            "auto_download = true\nmax_spend_per_day = \"lots\"\n",
            0o600,
            &["line 2", "max_spend_per_day"],
        ),
        (
            "max_spend_per_day = 100\n",
            0o644,
            &["chmod 600", "mode 644"],
        ),
        (&huge, 0o600, &["at most 1048576 bytes"]),
    ];
    for (text, mode, expected) in cases {
        let home = tempfile::tempdir().unwrap();
        common::write_config(home.path(), text, *mode);
        for args in COMMANDS {
            let out = against(&sim, home.path())
                .args(*args)
                .timeout(Duration::from_secs(60))
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{args:?} with {text:?}: {stderr}"
            );
            for word in *expected {
                assert!(stderr.contains(word), "{args:?} with {text:?}: {stderr}");
            }
            assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        }
        // Nothing was sent, and no engine was started for any of them.
        assert_eq!(sim.stats().generate_posts, 0);
        assert!(
            !home.path().join("data/kling-tui/journals").exists()
                || std::fs::read_dir(home.path().join("data/kling-tui/journals"))
                    .unwrap()
                    .all(|e| !e.unwrap().path().join("ledger.sqlite3").exists()),
            "no ledger was made"
        );
    }
}

#[test]
fn a_cap_changed_in_the_file_applies_to_the_running_engine() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    common::write_config(home.path(), "max_spend_per_day = 1000\n", 0o600);
    against(&sim, home.path())
        .args(["submit", "--prompt", "the first", "--mode", "pro"])
        .assert()
        .success();
    assert_eq!(sim.stats().generate_posts, 1);
    // Lowered while the engine runs: it reads the file again by itself.
    common::write_config(home.path(), "max_spend_per_day = 100\n", 0o600);
    wait_for_log(home.path(), "spend cap per day: 100 CU");
    let held = against(&sim, home.path())
        .args([
            "submit",
            "--prompt",
            "the second",
            "--mode",
            "pro",
            "--json",
        ])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(5);
    let lines = json_lines(&held.get_output().stdout);
    assert_eq!(lines[0]["status"], "held", "{lines:?}");
    assert_eq!(sim.stats().generate_posts, 1);
    // Raised again: the held request goes by itself, with no command.
    common::write_config(home.path(), "max_spend_per_day = 200\n", 0o600);
    wait_for_log(home.path(), "spend cap per day: 200 CU");
    for _ in 0..300 {
        if sim.stats().generate_posts == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sim.stats().generate_posts, 2);
    // Broken while it runs: nothing more is sent until it reads again.
    common::write_config(
        home.path(),
        "max_spend_per_day = 200\nnonsense = 1\n",
        0o600,
    );
    wait_for_log(home.path(), "nothing is sent until it is fixed");
    common::write_config(home.path(), "max_spend_per_day = 200\n", 0o600);
    wait_for_log(home.path(), "config.toml reads again");
    stop_engine(&sim, home.path());
}

#[test]
fn submit_past_the_daily_cap_returns_at_once_with_exit_5_its_reason_and_local_id() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    common::write_config(home.path(), "max_spend_per_day = 100\n", 0o600);
    against(&sim, home.path())
        .args(["submit", "--prompt", "the first", "--mode", "pro"])
        .assert()
        .success();
    // Held by the cap at once (its price is known from the first).
    let second = against(&sim, home.path())
        .args([
            "submit",
            "--prompt",
            "the second",
            "--mode",
            "pro",
            "--json",
        ])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(5);
    let lines = json_lines(&second.get_output().stdout);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["status"], "held");
    assert_eq!(lines[0]["localId"], 2);
    assert!(
        lines[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("spend cap (75 of 100 CU today, this one 75)"),
        "{lines:?}"
    );
    // Another price, never asked before, behind the held one: its price is asked, and it is
    // told as held too, not left waiting on "asking what it costs".
    let third = against(&sim, home.path())
        .args([
            "submit",
            "--prompt",
            "the third",
            "--mode",
            "standard",
            "--duration",
            "3",
            "--json",
        ])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(5);
    let lines = json_lines(&third.get_output().stdout);
    assert_eq!(lines[0]["status"], "held", "{lines:?}");
    assert_eq!(lines[0]["localId"], 3);
    let reason = lines[0]["reason"].as_str().unwrap();
    assert!(reason.contains("spend cap"), "{reason}");
    let stderr = String::from_utf8_lossy(&third.get_output().stderr);
    assert!(stderr.contains("held: "), "{stderr}");
    assert_eq!(sim.stats().generate_posts, 1);
    // `jobs --json` says the same, in the same words.
    let jobs = against(&sim, home.path())
        .args(["jobs", "--json"])
        .assert()
        .success();
    let rows = json_lines(&jobs.get_output().stdout);
    let statuses: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"held"), "{rows:?}");
    assert!(
        rows.iter()
            .filter(|r| r["status"] == "held")
            .all(|r| r["reason"]
                .as_str()
                .is_some_and(|s| s.contains("spend cap"))),
        "{rows:?}"
    );
    stop_engine(&sim, home.path());
}

fn request(prompt: &str, mode: Mode) -> KlingRequest {
    let mut request = KlingRequest::new(prompt);
    request.mode = mode;
    request
}

#[test]
fn spend_counts_add_ons_unrefunded_failures_and_ip_detection() {
    let home = tempfile::tempdir().unwrap();
    // The ledger of the public API with no project: what `spend` reads with no flags.
    let dir = home.path().join("data/kling-tui/journals/default");
    std::fs::create_dir_all(&dir).unwrap();
    let mut ledger = Ledger::open(&dir).unwrap();
    let now = jiff::Timestamp::now().to_string();
    // (status, cuCost, add-ons, disableRefund, IP detection) → what it cost.
    type Bill = (JobStatus, f64, Option<f64>, Option<bool>, Option<f64>);
    let jobs: &[Bill] = &[
        (JobStatus::Success, 75.0, Some(7.5), None, None), // 82.5
        (JobStatus::Failure, 75.0, Some(0.0), None, None), // refunded: 0
        (JobStatus::Failure, 75.0, None, Some(true), None), // not refunded: 75
        (JobStatus::Success, 30.0, None, None, Some(3.0)), // 33
        (JobStatus::Failure, 30.0, None, Some(false), Some(3.0)), // refunded, IP billed: 3
        (JobStatus::Canceled, 30.0, None, None, None),     // refunded: 0
    ];
    for (i, (status, cost, add_ons, no_refund, ip)) in jobs.iter().enumerate() {
        let id = ledger
            .record_intent(
                now.clone(),
                request(&format!("take {i}"), Mode::Pro),
                None,
                None,
            )
            .unwrap();
        ledger
            .append(
                Record::Accepted {
                    local_id: id,
                    job_id: format!("job_{i}"),
                    cost: Some(*cost),
                },
                true,
            )
            .unwrap();
        ledger
            .append(
                Record::Charges {
                    local_id: id,
                    add_ons: *add_ons,
                    ip_detection: *ip,
                    no_refund: *no_refund,
                },
                true,
            )
            .unwrap();
        ledger
            .append(
                Record::Status {
                    local_id: id,
                    status: status.clone(),
                    progress: 1.0,
                    asset_ids: vec![],
                    error: None,
                    cost: Some(*cost),
                    hint: None,
                    history: vec![StatusChange {
                        date: now.clone(),
                        status: status.clone(),
                    }],
                },
                true,
            )
            .unwrap();
    }
    drop(ledger);
    let out = common::bin(home.path())
        .args(["spend", "--json"])
        .assert()
        .success();
    let lines = json_lines(&out.get_output().stdout);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["creativeUnits"], 193.5, "{lines:?}");
    assert_eq!(lines[0]["jobs"], 4, "{lines:?}");
    let plain = common::bin(home.path()).args(["spend"]).assert().success();
    let text = String::from_utf8_lossy(&plain.get_output().stdout);
    assert!(text.contains("193.50 CU"), "{text}");
}

#[test]
fn spend_counts_what_the_server_billed_add_ons_no_refund_and_ip_detection() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        failure_rate: 0.5,
        seed: 3,
        billing_extras: true,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let mut expected = 0.0;
    let (mut succeeded, mut failed) = (0, 0);
    for n in 0..6 {
        let run = against(&sim, home.path())
            .args([
                "submit",
                "--prompt",
                &format!("take {n}"),
                "--wait",
                "--json",
            ])
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        let report = json_lines(&run.stdout).pop().unwrap();
        let cost = report["creativeUnits"].as_f64().unwrap();
        let ip = kling_sim::BILLED_IP_DETECTION as f64;
        match report["status"].as_str().unwrap() {
            "success" => {
                succeeded += 1;
                expected += cost + kling_sim::BILLED_ADD_ON as f64 + ip;
            }
            "failure" => {
                failed += 1;
                // Not refunded: the server said so.
                expected += cost + ip;
            }
            other => panic!("{other}: {report}"),
        }
    }
    assert!(succeeded > 0 && failed > 0, "{succeeded} {failed}");
    stop_engine(&sim, home.path());
    let out = against(&sim, home.path())
        .args(["spend", "--json"])
        .assert()
        .success();
    let lines = json_lines(&out.get_output().stdout);
    assert_eq!(lines[0]["creativeUnits"], expected, "{lines:?}");
    assert_eq!(lines[0]["jobs"], 6, "{lines:?}");
}
