//! One JSON shape for a job, whatever printed it: every `--json` printer of jobs is held to
//! `schemas/job.json`, which forbids any field it does not name, so a printer that names a
//! field differently (or adds one the README does not document) fails here.

use crate::common::*;
use kling_sim::{Fault, SimConfig};
use serde_json::Value;

fn schema() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/job.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema()).expect("schemas/job.json compiles")
}

/// Every line of `args --json`'s stdout, each checked against the schema; the lines.
fn printed(sim: &kling_sim::SimHandle, home: &std::path::Path, args: &[&str]) -> Vec<Value> {
    let out = against(sim, home)
        .args(args)
        .arg("--json")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let lines = json_lines(&out.stdout);
    assert!(
        !lines.is_empty(),
        "{args:?} printed no JSON: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let validator = validator();
    for line in &lines {
        let errors: Vec<String> = validator.iter_errors(line).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{args:?} printed {line}: {errors:?}");
    }
    lines
}

#[test]
fn the_schema_refuses_what_it_does_not_name_and_documents_every_status_word() {
    let validator = validator();
    let good =
        serde_json::json!({"status": "success", "progress": 1.0, "assetIds": [], "files": []});
    assert!(validator.is_valid(&good));
    // The name `jobs --json` once used for the cost, beside `jobs --remote`'s `cost`.
    let mut old = good.clone();
    old["creativeUnitsCost"] = 75.into();
    assert!(!validator.is_valid(&old));
    let mut out_of_range = good.clone();
    out_of_range["progress"] = 29.into();
    assert!(!validator.is_valid(&out_of_range));
    let described = schema()["properties"]["status"]["description"]
        .as_str()
        .unwrap()
        .to_string();
    for word in kling_tui::engine::STATUS_WORDS {
        assert!(described.contains(word), "{word} is not documented");
    }
}

#[test]
fn every_command_prints_a_job_in_the_one_shape() {
    let (_rt, sim) = sim_with(SimConfig {
        seed_jobs: 3,
        ..quick_config()
    });
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("videos");
    let out = out.to_str().unwrap();
    let submitted = printed(
        &sim,
        home.path(),
        &["submit", "--prompt", "a red fox in snow", "--download", out],
    );
    let job_id = submitted.last().unwrap()["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    sim.inject(Fault::JobFails { count: 1 });
    printed(
        &sim,
        home.path(),
        &["submit", "--prompt", "a take that fails"],
    );
    against(&sim, home.path())
        .args(["watch", "--poll-interval", "0.1"])
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .code(4);
    let listed = printed(&sim, home.path(), &["jobs"]);
    assert_eq!(listed.len(), 2, "{listed:?}");
    let saved = listed
        .iter()
        .find(|j| j["jobId"] == job_id.as_str())
        .unwrap();
    for field in [
        "localId",
        "createdAt",
        "prompt",
        "mode",
        "duration",
        "creativeUnits",
    ] {
        assert!(
            saved.get(field).is_some(),
            "jobs --json lacks {field}: {saved}"
        );
    }
    assert_eq!(saved["files"].as_array().map(Vec::len), Some(1), "{saved}");
    let failed = listed.iter().find(|j| j["status"] == "failure").unwrap();
    // Charged, then given back: said so beside the cost.
    assert!(
        failed["creativeUnits"].as_f64().is_some_and(|c| c > 0.0),
        "{failed}"
    );
    assert_eq!(failed["refunded"], true, "{failed}");
    assert!(saved.get("refunded").is_none(), "{saved}");
    let status = printed(&sim, home.path(), &["status", "1", "2"]);
    assert_eq!(status[0]["jobId"], job_id.as_str());
    printed(&sim, home.path(), &["download", "#1", "--out", out]);
    let remote = printed(&sim, home.path(), &["jobs", "--remote"]);
    // The team's seeded jobs and this ledger's two, the latter with their numbers.
    assert!(remote.len() >= 2, "{remote:?}");
    let ours = remote
        .iter()
        .find(|j| j["jobId"] == job_id.as_str())
        .unwrap();
    assert_eq!(ours["localId"], 1, "{ours}");
    // The same job, listed from the ledger and from the server, in the same words.
    for field in [
        "jobId",
        "status",
        "mode",
        "duration",
        "prompt",
        "creativeUnits",
    ] {
        assert_eq!(ours[field], saved[field], "{field}: {ours} vs {saved}");
    }
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}

/// The job part of a manifest line (all but where its request came from), checked against
/// the schema.
fn manifest_job(line: &Value) -> Value {
    let mut job = line.clone();
    let fields = job.as_object_mut().unwrap();
    for key in ["row", "index", "request"] {
        assert!(fields.remove(key).is_some(), "no {key} in {line}");
    }
    let errors: Vec<String> = validator()
        .iter_errors(&job)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "manifest line {line}: {errors:?}");
    job
}

#[test]
fn a_batch_manifest_names_each_job_in_the_one_shape() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("takes.jsonl");
    // Two requests of 75 CU under a cap of 100: one sent, one held (never sent).
    std::fs::write(
        &file,
        "{\"prompt\": \"{take one|take two}\", \"mode\": \"pro\", \"duration\": 5}\n",
    )
    .unwrap();
    let out = home.path().join("takes");
    let run = against(&sim, home.path())
        .args(["batch", "--yes", "--max-cost", "100", "--out"])
        .arg(&out)
        .arg(&file)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stderr).to_string();
    assert_eq!(run.status.code(), Some(5), "{said}");
    let lines = json_lines(&std::fs::read(out.join("manifest.jsonl")).unwrap());
    assert_eq!(lines.len(), 2, "{lines:?}");
    let sent = manifest_job(&lines[0]);
    assert_eq!(sent["status"], "success", "{sent}");
    assert_eq!(sent["batch"]["name"], "takes", "{sent}");
    assert_eq!(sent["files"].as_array().map(Vec::len), Some(1), "{sent}");
    let held = manifest_job(&lines[1]);
    assert_eq!(held["status"], "held", "{held}");
    assert!(held.get("jobId").is_none(), "{held}");
    // `batch status --json` prints the same lines.
    let status = against(&sim, home.path())
        .args(["batch", "status", "takes", "--json"])
        .output()
        .unwrap();
    let listed = json_lines(&status.stdout);
    assert_eq!(
        listed.len(),
        2,
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    for line in &listed {
        manifest_job(line);
    }
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}
