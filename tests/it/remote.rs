//! The team's jobs on the server through the real binary: `jobs --remote` reads every page
//! and leaves other models out, `import` saves exact bytes once and never adds a job twice.

use crate::common::*;
use kling_sim::{SimConfig, SimHandle};

const KLING: &str = "model_kling-v3-omni-video";

fn stop_engine(sim: &SimHandle, home: &std::path::Path) {
    against(sim, home)
        .args(["engine", "stop"])
        .assert()
        .success();
}

/// Every job the simulator lists, with the model its input names, newest first.
fn server_jobs(rt: &tokio::runtime::Runtime, sim: &SimHandle) -> Vec<(String, String)> {
    let client = client_for(sim);
    rt.block_on(async {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = client.list_jobs(100, token.as_deref(), None).await.unwrap();
            for job in page.jobs {
                let model = job.metadata.input.as_ref().unwrap()["modelId"]
                    .as_str()
                    .unwrap()
                    .to_string();
                all.push((job.job_id, model));
            }
            match page.next_pagination_token {
                Some(next) => token = Some(next),
                None => return all,
            }
        }
    })
}

#[test]
fn jobs_remote_reads_three_pages_and_lists_only_kling_v3_omni() {
    let (rt, sim) = sim_with(SimConfig {
        seed_jobs: 250,
        seed_other_models: 0.2,
        ..quick_config()
    });
    // Made straight on the API, as the web app or a script would.
    let direct = rt
        .block_on(client_for(&sim).generate(&kling_tui::kling::KlingRequest::new("made elsewhere")))
        .unwrap()
        .job
        .job_id;
    let listed = server_jobs(&rt, &sim);
    assert_eq!(listed.len(), 251);
    let kling: Vec<String> = listed
        .iter()
        .filter(|(_, model)| model == KLING)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(kling.len(), 201);
    let pages_before = sim.stats().list_jobs;

    let home = tempfile::tempdir().unwrap();
    let assert = against(&sim, home.path())
        .args(["jobs", "--remote", "--json"])
        .assert()
        .success();
    let lines = json_lines(&assert.get_output().stdout);
    // 251 jobs at 100 a page.
    assert_eq!(sim.stats().list_jobs - pages_before, 3);
    let ids: Vec<String> = lines
        .iter()
        .map(|l| l["jobId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, kling, "only Kling V3 Omni, newest first");
    assert_eq!(ids[0], direct);
    assert_eq!(lines[0]["prompt"], "made elsewhere");
    assert!(lines.iter().all(|l| l["localId"].is_null()));
    let seeded = &lines[1];
    assert_eq!(seeded["status"], "success");
    assert!(seeded["mode"].is_string() && seeded["duration"].is_u64());
    assert!(seeded["creativeUnits"].as_f64().unwrap() > 0.0);

    // Once imported, a job is marked with its number, in both shapes.
    against(&sim, home.path())
        .args(["import", &ids[1], "--out"])
        .arg(home.path().join("out"))
        .assert()
        .success();
    let assert = against(&sim, home.path())
        .args(["jobs", "--remote", "--json", "--limit", "3"])
        .assert()
        .success();
    let lines = json_lines(&assert.get_output().stdout);
    assert_eq!(lines.len(), 3);
    assert!(lines[0]["localId"].is_null());
    assert_eq!(lines[1]["localId"], 1);
    let assert = against(&sim, home.path())
        .args(["jobs", "--remote", "--limit", "2"])
        .assert()
        .success();
    let plain = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    let rows: Vec<&str> = plain.lines().collect();
    assert!(
        rows[0].starts_with("-     ") && rows[0].contains(&direct),
        "{plain}"
    );
    assert!(
        rows[1].starts_with("#1    ") && rows[1].contains(&ids[1]),
        "{plain}"
    );
    stop_engine(&sim, home.path());
}

#[test]
fn jobs_remote_since_asks_the_server_for_newer_jobs_only() {
    let (_rt, sim) = sim_with(SimConfig {
        seed_jobs: 30,
        ..quick_config()
    });
    let home = tempfile::tempdir().unwrap();
    // Seeded jobs are one hour old and older, ten minutes apart.
    let assert = against(&sim, home.path())
        .args(["jobs", "--remote", "--json", "--since", "105m"])
        .assert()
        .success();
    let lines = json_lines(&assert.get_output().stdout);
    assert_eq!(lines.len(), 5, "{lines:?}");
    let asked = sim.stats().last_created_after.unwrap();
    assert!(asked.parse::<jiff::Timestamp>().is_ok(), "{asked}");
    stop_engine(&sim, home.path());
}

#[test]
fn import_saves_exact_bytes_and_a_second_import_adds_nothing() {
    let (rt, sim) = sim_with(SimConfig {
        seed_jobs: 3,
        ..quick_config()
    });
    let ids: Vec<String> = server_jobs(&rt, &sim)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("videos");
    let import = || {
        against(&sim, home.path())
            .args(["import", &ids[0], &ids[2], "--json", "--out"])
            .arg(&out)
            .assert()
            .success()
    };
    let first = import();
    let reports = json_lines(&first.get_output().stdout);
    assert_eq!(reports.len(), 2);
    for (report, id) in reports.iter().zip([&ids[0], &ids[2]]) {
        assert_eq!(report["jobId"].as_str().unwrap(), id);
        assert_eq!(report["status"], "success");
        let file = out.join(format!("{id}_1.mp4"));
        assert_eq!(report["files"][0].as_str().unwrap(), file.to_str().unwrap());
        assert_eq!(std::fs::read(&file).unwrap(), sim.video_bytes().unwrap());
    }
    let said = String::from_utf8_lossy(&first.get_output().stderr).to_string();
    assert!(said.contains(&format!("{} is #1", ids[0])), "{said}");
    let (get_job, cdn) = (sim.stats().get_job, sim.stats().cdn_requests);

    let again = import();
    let said = String::from_utf8_lossy(&again.get_output().stderr).to_string();
    assert!(
        said.contains(&format!("{} is #1", ids[0])) && said.contains(&format!("{} is #2", ids[2])),
        "{said}"
    );
    assert_eq!(json_lines(&again.get_output().stdout).len(), 2);
    // Known jobs are answered from the ledger: nothing fetched again.
    assert_eq!(sim.stats().get_job, get_job);
    assert_eq!(sim.stats().cdn_requests, cdn);
    let listed = against(&sim, home.path())
        .args(["jobs", "--json"])
        .assert()
        .success();
    let rows = json_lines(&listed.get_output().stdout);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let mut names = files_in(&out);
    names.retain(|n| !n.starts_with('.'));
    assert_eq!(names.len(), 2, "{names:?}");
    // The request is read back from the server's record of it.
    let prompts: Vec<&str> = rows.iter().map(|r| r["prompt"].as_str().unwrap()).collect();
    assert!(prompts.iter().all(|p| p.contains("(take ")), "{prompts:?}");
    stop_engine(&sim, home.path());
}

#[test]
fn import_refuses_other_models_and_unknown_ids_with_exit_3() {
    let (rt, sim) = sim_with(SimConfig {
        seed_jobs: 4,
        seed_other_models: 0.5,
        ..quick_config()
    });
    let jobs = server_jobs(&rt, &sim);
    let other = &jobs.iter().find(|(_, m)| m != KLING).unwrap().0;
    let kling = &jobs.iter().find(|(_, m)| m == KLING).unwrap().0;
    let home = tempfile::tempdir().unwrap();
    let assert = against(&sim, home.path())
        .args(["import", other, "job_does_not_exist", kling, "--out"])
        .arg(home.path().join("out"))
        .assert()
        .code(3);
    let said = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(said.contains("not Kling V3 Omni"), "{said}");
    assert!(
        said.contains("job_does_not_exist") && said.contains("404"),
        "{said}"
    );
    // The good one is imported all the same.
    let reports = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert_eq!(reports.lines().count(), 1, "{reports}");
    assert!(reports.contains(kling.as_str()), "{reports}");
    let listed = against(&sim, home.path())
        .args(["jobs", "--json"])
        .assert()
        .success();
    assert_eq!(json_lines(&listed.get_output().stdout).len(), 1);

    let bad = against(&sim, home.path())
        .args(["import", ".."])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&bad.get_output().stderr).contains("not a job id"));
    stop_engine(&sim, home.path());
}

#[test]
fn importing_a_failed_job_exits_4() {
    let (rt, sim) = sim_with(SimConfig {
        seed_jobs: 1,
        failure_rate: 1.0,
        ..quick_config()
    });
    let id = server_jobs(&rt, &sim).remove(0).0;
    let home = tempfile::tempdir().unwrap();
    let assert = against(&sim, home.path())
        .args(["import", &id, "--json"])
        .assert()
        .code(4);
    let report = &json_lines(&assert.get_output().stdout)[0];
    assert_eq!(report["status"], "failure");
    assert!(report["error"].as_str().unwrap().contains("failed"));
    stop_engine(&sim, home.path());
}
