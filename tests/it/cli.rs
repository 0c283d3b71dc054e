//! The real binary against the simulator: exit codes, `--json` shape, no overwrite, and no
//! request sent for bad input.

use crate::common::*;
use kling_sim::{self as sim, Fault, Route, SimConfig};
use predicates::prelude::*;

#[test]
fn submit_wait_download_json_exits_0_with_the_file() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let assert = against(&sim, home.path())
        .args([
            "submit",
            "--prompt",
            "a red fox in snow",
            "--wait",
            "--json",
        ])
        .args(["--poll-interval", "0.1", "--download"])
        .arg(&out)
        .assert()
        .success();
    let lines = json_lines(&assert.get_output().stdout);
    assert_eq!(lines.len(), 1);
    let report = &lines[0];
    let mut keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "assetIds",
            "createdAt",
            "creativeUnits",
            "duration",
            "files",
            "jobId",
            "localId",
            "mode",
            "progress",
            "prompt",
            "status"
        ]
    );
    assert_eq!(report["status"], "success");
    assert_eq!(report["progress"], 1.0);
    let job_id = report["jobId"].as_str().unwrap();
    let file = out.join(format!("{job_id}_1.mp4"));
    assert_eq!(report["files"][0].as_str().unwrap(), file.to_str().unwrap());
    assert_eq!(std::fs::read(&file).unwrap(), sim.video_bytes().unwrap());
    assert_eq!(sim.stats().generate_posts, 1);
    assert_eq!(sim.stats().cdn_with_authorization, 0);
}

#[test]
fn submit_without_wait_prints_the_job_id_and_returns() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let assert = against(&sim, home.path())
        .args(["submit", "--prompt", "a red fox in snow"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.starts_with("job_"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1);
}

#[test]
fn invalid_input_exits_2_naming_every_field_and_sends_nothing() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    against(&sim, home.path())
        .args([
            "submit",
            "--prompt",
            "",
            "--duration",
            "20",
            "--end-image",
            "asset_e",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("prompt: must not be empty"))
        .stderr(predicate::str::contains(
            "duration: must be between 3 and 15",
        ))
        .stderr(predicate::str::contains("endImage: needs a startImage"));
    against(&sim, home.path())
        .args([
            "submit",
            "--prompt",
            "x",
            "--multi-prompt",
            "[{\"prompt\": 1}]",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("multiPrompt"));
    against(&sim, home.path())
        .args(["submit", "--prompt", "x", "--mode", "8k"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("mode"));
    let stats = sim.stats();
    assert_eq!(stats.requests.len(), 0, "a request was sent for bad input");
}

#[test]
fn multi_prompt_without_duration_takes_the_shots_total() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    against(&sim, home.path())
        .args(["submit", "--prompt", "two shots", "--multi-prompt"])
        .arg(r#"[{"prompt":"A cat jumps","duration":3},{"prompt":"It lands","duration":4}]"#)
        .assert()
        .success();
    let body = sim.stats().last_generate_body.unwrap();
    assert_eq!(body["duration"], 7);
    assert!(body["multiPrompt"].is_string());
}

#[test]
fn missing_credentials_exit_2_naming_the_variables_and_config_path() {
    let home = tempfile::tempdir().unwrap();
    bin(home.path())
        .args(["status", "job_x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SCENARIO_API_KEY"))
        .stderr(predicate::str::contains("SCENARIO_API_SECRET"))
        .stderr(predicate::str::contains("kling-tui/config.toml"));
}

#[test]
fn a_config_file_others_can_read_is_refused() {
    let home = tempfile::tempdir().unwrap();
    write_config(home.path(), "api_key = \"k\"\napi_secret = \"s\"\n", 0o644);
    bin(home.path())
        .args(["status", "job_x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("chmod 600"));
}

#[test]
fn credentials_from_the_config_file_work() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let text = format!(
        "api_key = \"{}\"\napi_secret = \"{}\"\napi_url = \"{}\"\n",
        sim::DEMO_API_KEY,
        sim::DEMO_API_SECRET,
        sim.api_url
    );
    write_config(home.path(), &text, 0o600);
    bin(home.path())
        .args(["submit", "--prompt", "from config"])
        .assert()
        .success();
    assert_eq!(sim.stats().jobs_created, 1);
}

#[test]
fn plain_http_off_loopback_is_refused_before_sending() {
    let home = tempfile::tempdir().unwrap();
    bin(home.path())
        .env("SCENARIO_API_KEY", "k")
        .env("SCENARIO_API_SECRET", "s")
        .args(["--api-url", "http://api.example.com/v1", "status", "job_x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("loopback"));
}

/// Submits `prompt` without waiting; the server's job id, the first word `submit` prints.
fn submitted(sim: &sim::SimHandle, home: &std::path::Path, prompt: &str) -> String {
    let out = against(sim, home)
        .args(["submit", "--prompt", prompt])
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn api_errors_exit_3_with_the_servers_reason() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let job_id = submitted(&sim, home.path(), "to cancel");
    against(&sim, home.path())
        .args(["cancel", &job_id])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("Cannot cancel this type of job"))
        .stderr(predicate::str::contains("trace id"));
    against(&sim, home.path())
        .env("SCENARIO_API_SECRET", "wrong")
        .args(["status", &job_id])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("401"));
}

#[test]
fn a_5xx_on_submit_is_not_re_sent_but_found_in_the_job_list() {
    let (_rt, sim) = sim_with(quick_config());
    sim.inject(Fault::GenerateErrorAfterCreate {
        status: 502,
        count: 1,
    });
    let home = tempfile::tempdir().unwrap();
    let out = against(&sim, home.path())
        .args(["submit", "--prompt", "a red fox in snow"])
        .assert()
        .success()
        .stderr(predicate::str::contains("submission outcome unknown"));
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.starts_with("job_"), "{stdout}");
    let stats = sim.stats();
    assert_eq!((stats.generate_posts, stats.jobs_created), (1, 1));
    assert!(stats.list_jobs >= 1, "the job list was never searched");
    // Searched from shortly before the submission, not through the whole history.
    let after: jiff::Timestamp = stats
        .last_created_after
        .expect("the search names createdAfter")
        .parse()
        .unwrap();
    let ago = jiff::Timestamp::now().duration_since(after).as_secs();
    assert!(
        (0..3600).contains(&ago),
        "createdAfter {after} is {ago} s ago"
    );
}

#[test]
fn a_5xx_before_creating_exits_3_as_outcome_unknown_and_is_not_re_sent() {
    let (_rt, sim) = sim_with(quick_config());
    sim.inject(Fault::ApiStatus {
        route: Route::Generate,
        status: 503,
        count: 1,
    });
    let home = tempfile::tempdir().unwrap();
    against(&sim, home.path())
        .args(["submit", "--prompt", "a red fox in snow"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("submission outcome unknown"));
    let stats = sim.stats();
    assert_eq!((stats.generate_posts, stats.jobs_created), (1, 0));
    // It stays in the journal as unconfirmed, never re-sent.
    let listed = against(&sim, home.path())
        .args(["jobs", "--json"])
        .assert()
        .success();
    let lines = json_lines(&listed.get_output().stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["status"], "unconfirmed");
    assert_eq!(sim.stats().generate_posts, 1);
}

#[test]
fn a_failed_job_exits_4_with_its_error() {
    let (_rt, sim) = sim_with(SimConfig {
        failure_rate: 1.0,
        ..quick_config()
    });
    let home = tempfile::tempdir().unwrap();
    let assert = against(&sim, home.path())
        .args([
            "submit",
            "--prompt",
            "doomed",
            "--wait",
            "--json",
            "--poll-interval",
            "0.1",
        ])
        .assert()
        .code(4);
    let lines = json_lines(&assert.get_output().stdout);
    assert_eq!(lines[0]["status"], "failure");
    assert!(lines[0]["error"].as_str().is_some_and(|e| !e.is_empty()));
    let job_id = lines[0]["jobId"].as_str().unwrap().to_string();
    against(&sim, home.path())
        .args(["status", &job_id])
        .assert()
        .code(4);
    against(&sim, home.path())
        .args(["download", &job_id])
        .assert()
        .code(4);
}

#[test]
fn download_twice_never_overwrites() {
    let (rt, sim) = sim_with(quick_config());
    let client = client_for(&sim);
    let job_id = rt.block_on(async {
        let job = client
            .generate(&kling_tui::kling::KlingRequest::new("fox"))
            .await
            .unwrap()
            .job;
        wait_final(&client, &job.job_id).await.job_id
    });
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("videos");
    for _ in 0..2 {
        against(&sim, home.path())
            .args(["download", &job_id, "--out"])
            .arg(&out)
            .assert()
            .success();
    }
    let first = out.join(format!("{job_id}_1.mp4"));
    let second = out.join(format!("{job_id}_1_1.mp4"));
    assert_eq!(std::fs::read(first).unwrap(), sim.video_bytes().unwrap());
    assert_eq!(std::fs::read(second).unwrap(), sim.video_bytes().unwrap());
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);
}

#[test]
fn status_json_has_one_object_per_job() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let out = against(&sim, home.path())
            .args(["submit", "--prompt", "fox"])
            .assert()
            .success();
        ids.push(
            String::from_utf8_lossy(&out.get_output().stdout)
                .split_whitespace()
                .next()
                .unwrap()
                .to_string(),
        );
    }
    let assert = against(&sim, home.path())
        .args(["status", "--json", &ids[0], &ids[1]])
        .assert()
        .success();
    let lines = json_lines(&assert.get_output().stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["jobId"], ids[0].as_str());
    assert_eq!(lines[1]["jobId"], ids[1].as_str());
    assert!(
        lines
            .iter()
            .all(|l| l["assetIds"].is_array() && l["files"].is_array())
    );
}

#[test]
fn dry_run_prints_the_cost_and_submits_nothing() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let expected = sim::cost(&kling_tui::kling::KlingRequest::new("fox"));
    against(&sim, home.path())
        .args(["submit", "--prompt", "fox", "--dry-run"])
        .assert()
        .success()
        .stdout(format!("{expected} creative units\n"));
    let stats = sim.stats();
    assert_eq!((stats.dry_runs, stats.generate_posts), (1, 0));
}

#[test]
fn gets_are_retried_by_the_binary_too() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let out = against(&sim, home.path())
        .args(["submit", "--prompt", "fox"])
        .assert()
        .success();
    let job_id = String::from_utf8_lossy(&out.get_output().stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    sim.inject(Fault::ApiStatus {
        route: Route::GetJob,
        status: 503,
        count: 1,
    });
    against(&sim, home.path())
        .args(["status", &job_id])
        .assert()
        .success();
    assert_eq!(sim.stats().get_job, 2);
}

#[test]
fn demo_needs_no_credentials() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let assert = bin(home.path())
        .current_dir(home.path())
        .args([
            "--demo",
            "submit",
            "--prompt",
            "a red fox in snow",
            "--wait",
            "--poll-interval",
            "0.5",
            "--download",
        ])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("success"), "{stdout}");
    let files = files_in(&out);
    assert_eq!(files.len(), 1, "{files:?}");
}

#[test]
fn an_invalid_config_stops_the_app_naming_the_key() {
    let home = tempfile::tempdir().unwrap();
    for (text, expected) in [
        ("[keys]\nsumbit = \"f6\"\n", "keys.sumbit: no such action"),
        (
            "[keys]\nsubmit = \"ctrl+\"\n",
            "keys.submit: \"ctrl+\" is not a key",
        ),
        ("theme = \"neon\"\n", "theme"),
        ("auto_download = \"yes\"\n", "auto_download"),
    ] {
        write_config(home.path(), text, 0o600);
        bin(home.path())
            .arg("--demo")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(expected))
            .stderr(predicate::str::contains("config.toml"));
    }
}

#[test]
fn help_and_errors_never_echo_a_password_in_the_api_url() {
    let home = tempfile::tempdir().unwrap();
    let url = "http://someone:hunter2@127.0.0.1:9/v1";
    let help = bin(home.path())
        .env("SCENARIO_API_URL", url)
        .arg("--help")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&help.stdout);
    assert!(shown.contains("SCENARIO_API_URL"), "{shown}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("someone"),
        "{shown}"
    );
    let refused = bin(home.path())
        .env("SCENARIO_API_URL", url)
        .env("SCENARIO_API_KEY", "k")
        .env("SCENARIO_API_SECRET", "s")
        .args(["status", "job_1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(
        err.contains("must not contain a user name or password"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && !err.contains("someone"),
        "{err}"
    );
}

#[test]
fn completions_and_the_man_page_come_from_the_same_flags() {
    let home = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kling-tui"),
        ("fish", "complete -c kling-tui"),
    ] {
        let out = bin(home.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: {text}");
        assert!(
            text.contains("give-up-after") && text.contains("watch"),
            "{shell}"
        );
    }
    let bad = bin(home.path())
        .args(["completions", "nosh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let man = bin(home.path()).arg("man").output().unwrap();
    assert!(man.status.success());
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH kling-tui"),
        "{page}"
    );
    assert!(
        page.contains("give\\-up\\-after") && page.contains("SCENARIO_API_URL"),
        "{page}"
    );
}

#[test]
fn download_fetches_again_a_saved_file_that_was_removed() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    write_config(home.path(), "auto_download = false\n", 0o600);
    let out = home.path().join("videos");
    let submitted = against(&sim, home.path())
        .args(["submit", "--prompt", "a red fox in snow", "--wait"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&submitted.get_output().stdout).to_string();
    let job_id = stdout.split_whitespace().next().unwrap().to_string();
    let fetch = || {
        against(&sim, home.path())
            .args(["download", &job_id, "--out"])
            .arg(&out)
            .assert()
            .success()
    };
    fetch();
    let file = out.join(format!("{job_id}_1.mp4"));
    assert_eq!(std::fs::read(&file).unwrap(), sim.video_bytes().unwrap());
    // Saved, so asked again it is reported, not fetched.
    let again = fetch();
    let said = String::from_utf8_lossy(&again.get_output().stderr).to_string();
    assert!(said.contains("already saved as"), "{said}");
    let cdn = sim.stats().cdn_requests;
    // Removed by hand: asked again, it is fetched again, not reported as saved.
    std::fs::remove_file(&file).unwrap();
    let after = fetch();
    let said = String::from_utf8_lossy(&after.get_output().stderr).to_string();
    assert!(!said.contains("already saved"), "{said}");
    assert_eq!(std::fs::read(&file).unwrap(), sim.video_bytes().unwrap());
    assert!(sim.stats().cdn_requests > cdn);
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}

#[test]
fn a_job_is_named_by_its_ledger_number_or_its_server_id() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let job_id = submitted(&sim, home.path(), "a red fox in snow");
    // `jobs` calls it #1; every command takes that, with or without the `#`, or the server's id.
    for name in ["1", "#1", job_id.as_str()] {
        let asked = against(&sim, home.path())
            .args(["status", name, "--json"])
            .assert()
            .success();
        let lines = json_lines(&asked.get_output().stdout);
        assert_eq!(lines[0]["jobId"], job_id.as_str(), "status {name}");
    }
    // Once the engine has it finished, fetched again by its number.
    against(&sim, home.path())
        .args(["watch", "--poll-interval", "0.1"])
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .success();
    let fetched = against(&sim, home.path())
        .args(["download", "#1", "--json"])
        .assert()
        .success();
    let lines = json_lines(&fetched.get_output().stdout);
    assert_eq!(lines[0]["jobId"], job_id.as_str(), "{lines:?}");
    assert_eq!(
        lines[0]["files"].as_array().map(Vec::len),
        Some(1),
        "{lines:?}"
    );
    // The cancel reaches the server for that job: its own refusal, not a 404 for "1".
    against(&sim, home.path())
        .args(["cancel", "1"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("Cannot cancel this type of job"));
    against(&sim, home.path())
        .args(["status", "9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no job #9 in the ledger"));
}

#[test]
fn an_unknown_status_is_refused_with_the_choices() {
    let home = tempfile::tempdir().unwrap();
    bin(home.path())
        .args(["jobs", "--status", "succes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("succes"))
        .stderr(predicate::str::contains("success"))
        .stderr(predicate::str::contains("in-progress"));
}

/// `watch` with `args`, its exit code and what it printed on stdout and stderr.
fn watched(sim: &sim::SimHandle, home: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = against(sim, home)
        .args(["watch", "--poll-interval", "0.1"])
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn watch_waits_for_the_jobs_not_final_and_its_exit_code_is_about_them_alone() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("videos");
    let out = out.to_str().unwrap();
    // An old job that failed: watched then, it ends the watch with 4.
    sim.inject(Fault::JobFails { count: 1 });
    submitted(&sim, home.path(), "an old take that fails");
    let (code, _, said) = watched(&sim, home.path(), &["--out", out]);
    assert_eq!(code, 4, "{said}");
    // A new job: `watch` follows it alone and ends with its outcome, not the old failure.
    submitted(&sim, home.path(), "a new take");
    let (code, printed, said) = watched(&sim, home.path(), &["--out", out]);
    assert_eq!(code, 0, "{printed}\n{said}");
    assert!(printed.contains("#2 "), "{printed}");
    assert!(
        !printed.contains("#1 "),
        "the old job is not listed again: {printed}"
    );
    assert!(said.contains("1 job: 1 done"), "{said}");
    // Nothing left to wait for: said, exit 0, at once.
    let (code, printed, said) = watched(&sim, home.path(), &[]);
    assert_eq!(code, 0, "{said}");
    assert!(printed.is_empty(), "{printed}");
    assert!(said.contains("no job to wait for"), "{said}");
    // Every job, or the ones named: the old failure counts again.
    let (code, printed, said) = watched(&sim, home.path(), &["--all"]);
    assert_eq!(code, 4, "{said}");
    assert!(
        printed.contains("#1 ") && printed.contains("#2 "),
        "{printed}"
    );
    assert_eq!(watched(&sim, home.path(), &["#1"]).0, 4);
    let (code, printed, _) = watched(&sim, home.path(), &["2"]);
    assert_eq!(code, 0);
    assert!(!printed.contains("#1 "), "{printed}");
    against(&sim, home.path())
        .args(["watch", "7"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no job #7 in the ledger"));
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}

#[test]
fn watch_without_downloads_ends_when_the_job_succeeds_not_when_its_file_is_saved() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("videos");
    // The engine saves videos by itself, but this one's download stalls half-way.
    sim.inject(Fault::CdnStall { count: 1 });
    submitted(&sim, home.path(), "a take whose download stalls");
    let (code, printed, said) = watched(
        &sim,
        home.path(),
        &["--no-download", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{printed}\n{said}");
    assert!(said.contains("1 job: 1 done"), "{said}");
    assert!(
        !printed.contains("downloaded"),
        "it did not wait for the file: {printed}"
    );
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}

#[test]
fn off_a_terminal_submit_download_tells_each_change_on_a_line_of_its_own() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 60.0,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let run = against(&sim, home.path())
        .args(["submit", "--prompt", "a kite", "--poll-interval", "0.1"])
        .arg("--download")
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    // stderr is a pipe here: never a line redrawn in place.
    assert!(!stderr.contains('\r'), "{stderr:?}");
    let told: Vec<&str> = stderr.lines().filter(|l| l.starts_with("job_")).collect();
    // A line per change: the states it went through, and the download to its end.
    assert!(told.len() >= 3, "{stderr}");
    assert!(told.windows(2).all(|w| w[0] != w[1]), "{stderr}");
    let states: Vec<&str> = told
        .iter()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(states.last(), Some(&"success"), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("download  downloading 100%")),
        "{stderr}"
    );
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}
