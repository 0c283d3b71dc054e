//! The `on_finish` hook: the user's program run by the engine for each job that comes to rest,
//! with the job in its environment, no shell anywhere (text that a shell would run is passed
//! as it is), no credentials, stdin closed and output in the engine's log.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;
use kling_sim::{self as sim, SimConfig};
use kling_tui::api::{ClientOptions, Credentials, parse_api_url};
use kling_tui::engine::{self, Command, EngineConfig, Event, Ledger};
use kling_tui::kling::KlingRequest;

/// A hook that writes what it was given into `dir`: its environment (`env-ID`), its arguments
/// (`args-ID`) and its stdin (`stdin-ID`), each NUL-separated, then says so on stdout.
fn recording_hook(home: &Path) -> PathBuf {
    let script = home.join("hook.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\n\
         out=\"$1\"; id=\"$KLING_TUI_LOCAL_ID\"\n\
         printf '%s\\0' \"$@\" > \"$out/args-$id\"\n\
         cat > \"$out/stdin-$id\"\n\
         env -0 > \"$out/env-$id.tmp\" && mv \"$out/env-$id.tmp\" \"$out/env-$id\"\n\
         echo \"hook saw $KLING_TUI_JOB_ID\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    script
}

/// What the hook wrote for job `id`, once it has; bounded by a count of short waits.
fn recorded(dir: &Path, id: u64) -> (HashMap<String, String>, Vec<String>, Vec<u8>) {
    let env_file = dir.join(format!("env-{id}"));
    for _ in 0..600 {
        if env_file.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let split = |bytes: Vec<u8>| -> Vec<String> {
        bytes
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    };
    let env = split(std::fs::read(&env_file).expect("the hook ran"))
        .into_iter()
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect();
    let args = split(std::fs::read(dir.join(format!("args-{id}"))).unwrap());
    let stdin = std::fs::read(dir.join(format!("stdin-{id}"))).unwrap();
    (env, args, stdin)
}

#[test]
fn the_hook_gets_the_job_in_its_environment_and_no_shell_runs_anything() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let seen = home.path().join("seen");
    std::fs::create_dir(&seen).unwrap();
    let script = recording_hook(home.path());
    let trap = home.path().join("trap");
    let arg_trap = home.path().join("arg-trap");
    let sneaky_arg = format!("$(touch {}) ; `touch {0}`", arg_trap.display());
    let config = format!(
        "on_finish = [{:?}, {:?}, {:?}]\n",
        script.display().to_string(),
        seen.display().to_string(),
        sneaky_arg
    );
    write_config(home.path(), &config, 0o600);
    let prompt = format!(
        "a fox $(touch {}) `touch {0}` \"quoted\" 'single' ; & | > <\nsecond line",
        trap.display()
    );
    let out = home.path().join("out");
    let assert = against(&sim, home.path())
        .args(["submit", "--prompt", &prompt, "--json", "--download"])
        .arg(&out)
        .args(["--poll-interval", "0.1"])
        .assert()
        .success();
    let report = &json_lines(&assert.get_output().stdout)[0];
    let job_id = report["jobId"].as_str().unwrap();
    let file = report["files"][0].as_str().unwrap().to_string();

    let (env, args, stdin) = recorded(&seen, 1);
    assert_eq!(env["KLING_TUI_LOCAL_ID"], "1");
    assert_eq!(env["KLING_TUI_JOB_ID"], job_id);
    assert_eq!(env["KLING_TUI_STATUS"], "success");
    assert_eq!(env["KLING_TUI_FILES"], file);
    assert!(Path::new(&env["KLING_TUI_FILES"]).is_absolute());
    assert_eq!(env["KLING_TUI_PROMPT"], prompt);
    assert_eq!(args, [seen.display().to_string(), sneaky_arg]);
    assert!(stdin.is_empty());
    assert!(
        !trap.exists() && !arg_trap.exists(),
        "a shell ran something"
    );
    // The engine was started with the simulator's URL and keys in its environment: none of
    // it reaches the hook.
    let leaked: Vec<&String> = env.keys().filter(|k| k.starts_with("SCENARIO_")).collect();
    assert!(leaked.is_empty(), "{leaked:?}");
    assert!(!env.values().any(|v| v.contains(sim::DEMO_API_SECRET)));

    // Its output is in the engine's log.
    let mut logged = String::new();
    for _ in 0..200 {
        let logs = against(&sim, home.path())
            .args(["engine", "logs", "-n", "200"])
            .assert()
            .success();
        logged = String::from_utf8_lossy(&logs.get_output().stdout).to_string();
        if logged.contains(&format!("hook saw {job_id}")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(logged.contains(&format!("hook saw {job_id}")), "{logged}");
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_run_the_hook_too_and_a_slow_or_broken_hook_holds_nothing_up() {
    let sim = start(SimConfig {
        failure_rate: 1.0,
        ..quick_config()
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let seen = home.path().join("seen");
    std::fs::create_dir(&seen).unwrap();
    // Records, then stays a while: the engine must not wait for it.
    let script = home.path().join("slow.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\"{}\" \"$@\"\nexec sleep 30\n",
            recording_hook(home.path()).display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut options = ClientOptions::new(
        parse_api_url(&sim.api_url).unwrap(),
        Credentials::new(sim::DEMO_API_KEY, sim::DEMO_API_SECRET),
    );
    options.retry = fast_retry();
    let config = EngineConfig {
        download_dir: home.path().join("out"),
        requests_per_second: 100.0,
        poll_initial: Duration::from_millis(50),
        poll_max: Duration::from_millis(200),
        on_finish: vec![script.display().to_string(), seen.display().to_string()],
        ..EngineConfig::default()
    };
    let ledger = Ledger::open(&home.path().join("ledger")).unwrap();
    let mut engine = engine::start(options, ledger, config).unwrap();
    for n in 0..3 {
        let request = KlingRequest::new(format!("take {n}"));
        engine.commands.send(Command::submit(request)).unwrap();
    }
    let mut failed = std::collections::HashSet::new();
    while failed.len() < 3 {
        match engine.events.recv().await {
            Some(Event::Job(job)) if job.is_final() => {
                failed.insert(job.local_id);
            }
            Some(_) => {}
            None => panic!("the engine stopped"),
        }
    }
    let seen_dir = seen.clone();
    let records = tokio::task::spawn_blocking(move || {
        (1..=3)
            .map(|id| recorded(&seen_dir, id))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (env, _, _) in &records {
        assert_eq!(env["KLING_TUI_STATUS"], "failure");
        assert_eq!(env["KLING_TUI_FILES"], "");
        assert!(env["KLING_TUI_JOB_ID"].starts_with("job_"));
    }
    // The hooks still run (sleeping); the engine answers at once all the same.
    engine.commands.send(Command::Overview { seq: 9 }).unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Event::Overview { seq: 9, .. }) = engine.events.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(answered.is_ok(), "the engine waited for its hooks");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_cannot_start_is_only_logged() {
    let sim = start(quick_config()).await;
    let home = tempfile::tempdir().unwrap();
    let mut options = ClientOptions::new(
        parse_api_url(&sim.api_url).unwrap(),
        Credentials::new(sim::DEMO_API_KEY, sim::DEMO_API_SECRET),
    );
    options.retry = fast_retry();
    let config = EngineConfig {
        download_dir: home.path().join("out"),
        poll_initial: Duration::from_millis(50),
        on_finish: vec!["/nonexistent/kling-tui-hook".into()],
        ..EngineConfig::default()
    };
    let ledger = Ledger::open(&home.path().join("ledger")).unwrap();
    let mut engine = engine::start(options, ledger, config).unwrap();
    for n in 0..2 {
        let request = KlingRequest::new(format!("take {n}"));
        engine.commands.send(Command::submit(request)).unwrap();
    }
    let mut done = std::collections::HashSet::new();
    while done.len() < 2 {
        match engine.events.recv().await {
            Some(Event::Job(job)) if job.fully_downloaded() => {
                done.insert(job.local_id);
            }
            Some(Event::Error { error, .. }) => panic!("told as an error: {error}"),
            Some(_) => {}
            None => panic!("the engine stopped"),
        }
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_job_runs_the_hook_once_it_is_at_rest() {
    let sim = start(SimConfig {
        seed_jobs: 2,
        seed: 2,
        failure_rate: 0.5,
        ..quick_config()
    })
    .await;
    let listed = client_for(&sim).list_jobs(10, None, None).await.unwrap();
    let ids: Vec<String> = listed.jobs.iter().map(|j| j.job_id.clone()).collect();
    let statuses: Vec<String> = listed
        .jobs
        .iter()
        .map(|j| j.status.as_str().to_string())
        .collect();
    // One of each, with this seed: failed on the server before, and succeeded (to download).
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, ["failure", "success"]);
    let home = tempfile::tempdir().unwrap();
    let seen = home.path().join("seen");
    std::fs::create_dir(&seen).unwrap();
    let mut options = ClientOptions::new(
        parse_api_url(&sim.api_url).unwrap(),
        Credentials::new(sim::DEMO_API_KEY, sim::DEMO_API_SECRET),
    );
    options.retry = fast_retry();
    let config = EngineConfig {
        download_dir: home.path().join("out"),
        on_finish: vec![
            recording_hook(home.path()).display().to_string(),
            seen.display().to_string(),
        ],
        ..EngineConfig::default()
    };
    let ledger = Ledger::open(&home.path().join("ledger")).unwrap();
    let mut engine = engine::start(options, ledger, config).unwrap();
    engine
        .commands
        .send(Command::Import {
            seq: 4,
            job_ids: ids.clone(),
            download_dir: None,
        })
        .unwrap();
    let results = loop {
        match engine.events.recv().await {
            Some(Event::Imported { seq: 4, results }) => break results,
            Some(_) => {}
            None => panic!("the engine stopped"),
        }
    };
    let seen_dir = seen.clone();
    let local: Vec<u64> = results.iter().map(|(_, r)| *r.as_ref().unwrap()).collect();
    let records = tokio::task::spawn_blocking(move || {
        local
            .iter()
            .map(|id| recorded(&seen_dir, *id).0)
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for ((env, id), status) in records.iter().zip(&ids).zip(&statuses) {
        assert_eq!(&env["KLING_TUI_JOB_ID"], id);
        assert_eq!(&env["KLING_TUI_STATUS"], status);
        assert_eq!(env["KLING_TUI_FILES"].is_empty(), status != "success");
    }
    engine.shutdown().await;
}
