//! The server's own description of the model (`GET /v1/models/{id}`) wins over the built-in
//! table: a value it newly allows is accepted, a rule it adds is enforced, each difference is
//! told once; its performance stats give queued and running jobs an expected finish; the
//! team's plan limits give the concurrency ceiling.

use crate::common;

use std::path::Path;
use std::time::Duration;

use crate::common::{against, engine_log, json_lines, sim_with, wait_for_log};
use kling_sim::{ModelSchema, SimConfig, SimHandle};

fn stop_engine(sim: &SimHandle, home: &Path) {
    against(sim, home)
        .args(["engine", "stop"])
        .assert()
        .success();
}

const WIDER: &str = "the server now allows durations of 2 to 10 s (this version knew 3 to 15)";

#[test]
fn the_servers_rules_win_over_the_built_in_table_and_each_change_is_told_once() {
    let (_rt, sim) = sim_with(SimConfig {
        // Slow enough that a job is still running when it is looked at.
        time_scale: 1.0,
        model_schema: ModelSchema::Extended,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    against(&sim, home.path())
        .args(["engine", "start"])
        .assert()
        .success();
    wait_for_log(home.path(), WIDER);
    assert_eq!(sim.stats().get_model, 1);

    // 2 s: the built-in table refuses it, the server allows it.
    let sent = against(&sim, home.path())
        .args([
            "submit",
            "--prompt",
            "a short fox",
            "--duration",
            "2",
            "--json",
        ])
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    let report = &json_lines(&sent.get_output().stdout)[0];
    assert_eq!(sim.stats().generate_posts, 1);
    // The server's typical time gives it an expected finish, after it was made.
    let expected: jiff::Timestamp = report["expectedAt"]
        .as_str()
        .unwrap_or_else(|| panic!("no expectedAt: {report}"))
        .parse()
        .unwrap();
    assert!(expected > jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60));

    // 12 s: the built-in table allows it, the server's new rule does not; nothing is sent.
    let refused = against(&sim, home.path())
        .args(["submit", "--prompt", "a long fox", "--duration", "12"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr);
    assert!(
        stderr.contains("duration: must be between 2 and 10 seconds, got 12"),
        "{stderr}"
    );
    assert_eq!(sim.stats().generate_posts, 1);

    // Told once: a new engine (the description is kept for a day) says nothing again.
    stop_engine(&sim, home.path());
    against(&sim, home.path())
        .args(["engine", "start"])
        .assert()
        .success();
    against(&sim, home.path())
        .args(["submit", "--prompt", "again", "--duration", "2"])
        .assert()
        .success();
    assert_eq!(engine_log(home.path()).matches(WIDER).count(), 1);
    assert_eq!(sim.stats().get_model, 1, "kept for a day: not asked again");
    stop_engine(&sim, home.path());
}

#[test]
fn without_a_description_the_built_in_table_applies_and_says_so_once() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        model_schema: ModelSchema::Missing,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    against(&sim, home.path())
        .args(["submit", "--prompt", "a fox", "--duration", "15"])
        .assert()
        .success();
    against(&sim, home.path())
        .args(["submit", "--prompt", "a fox", "--duration", "2"])
        .assert()
        .code(2);
    wait_for_log(home.path(), "the built-in rules apply");
    assert_eq!(
        engine_log(home.path())
            .matches("the built-in rules apply")
            .count(),
        1
    );
    stop_engine(&sim, home.path());
}

#[test]
fn the_teams_plan_limits_give_the_ceiling_before_any_429() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 1.0,
        concurrency_limit: 2,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    common::write_config(home.path(), "team_id = \"team_demo\"\n", 0o600);
    for n in 0..3 {
        against(&sim, home.path())
            .args(["submit", "--prompt", &format!("take {n}")])
            .assert()
            .success();
        if n == 0 {
            wait_for_log(home.path(), "the team runs at most 2 jobs at once");
        }
    }
    assert_eq!(sim.stats().team_limits, 1);
    // The third waits here for a slot: it was never refused by the server.
    assert_eq!(sim.stats().generate_posts, 2);
    let jobs = against(&sim, home.path())
        .args(["jobs", "--json"])
        .assert()
        .success();
    let rows = json_lines(&jobs.get_output().stdout);
    assert_eq!(
        rows.iter()
            .filter(|r| r["status"] == "queued-locally")
            .count(),
        1,
        "{rows:?}"
    );
    stop_engine(&sim, home.path());
}
