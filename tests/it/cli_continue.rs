//! `submit --after JOB` and `submit --hero JOB`, the real binary against the simulator: the
//! next shot starts from the frame the server names as the parent video's last, and a hero is
//! the draft's request as sent, at a higher mode, quoted by a dry run before it goes.

use std::path::Path;

use crate::common::*;
use kling_sim::{self as sim, Fault, Route, SimHandle};
use kling_tui::takes::{LinkKind, Takes};
use predicates::prelude::*;
use serde_json::Value;

fn stop_engine(sim: &SimHandle, home: &Path) {
    against(sim, home)
        .args(["engine", "stop"])
        .assert()
        .success();
}

/// The one JSON report a command printed.
fn report(output: &std::process::Output) -> Value {
    let lines = json_lines(&output.stdout);
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.into_iter().next().unwrap()
}

/// The asset as the simulator shows it to anyone who asks, not as the client read it.
fn asset_on_server(rt: &tokio::runtime::Runtime, sim: &SimHandle, id: &str) -> Value {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/assets/{id}", sim.api_url);
    rt.block_on(async {
        let response = client
            .get(url)
            .basic_auth(sim::DEMO_API_KEY, Some(sim::DEMO_API_SECRET))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let body: Value = response.json().await.unwrap();
        body["asset"].clone()
    })
}

/// The generate bodies the simulator received, dry runs marked.
fn bodies(sim: &SimHandle) -> Vec<(Route, Value)> {
    sim.stats().generate_bodies
}

/// Every field of `a` and `b` but those in `except`, compared one by one.
fn same_but(a: &Value, b: &Value, except: &[&str]) {
    let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
    let keys = |o: &serde_json::Map<String, Value>| -> Vec<String> {
        let mut k: Vec<String> = o
            .keys()
            .filter(|k| !except.contains(&k.as_str()))
            .cloned()
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(a), keys(b));
    for key in keys(a) {
        assert_eq!(a[&key], b[&key], "{key}");
    }
}

#[test]
fn after_starts_the_next_shot_from_the_last_frame_the_server_names() {
    let (rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let ledger = ledger_dir(Some(&sim), home.path());
    let out = home.path().join("shots");
    let parent = against(&sim, home.path())
        .args(["submit", "--prompt", "a red fox crosses a frozen river"])
        .args([
            "--mode",
            "standard",
            "--aspect-ratio",
            "9:16",
            "--duration",
            "8",
        ])
        .args(["--json", "--poll-interval", "0.1", "--download"])
        .arg(&out)
        .assert()
        .success();
    let parent = report(parent.get_output());
    assert_eq!(parent["status"], "success");
    let parent_id = parent["localId"].as_u64().unwrap();
    let video = parent["assetIds"][0].as_str().unwrap();
    let last_frame = asset_on_server(&rt, &sim, video)["lastFrame"]["assetId"]
        .as_str()
        .unwrap()
        .to_string();
    let sent = bodies(&sim);
    assert_eq!(sent.len(), 1);
    let parent_body = sent[0].1.clone();

    let child = against(&sim, home.path())
        .args(["submit", "--after", &format!("#{parent_id}")])
        .args([
            "--prompt",
            "the fox runs into the pines",
            "--duration",
            "5",
            "--json",
        ])
        .assert()
        .success();
    let child = report(child.get_output());
    // The simulator took it: only its own pictures pass as a start image.
    assert!(child["jobId"].as_str().is_some(), "{child}");
    let sent = bodies(&sim);
    assert_eq!(sent.len(), 2, "{sent:?}");
    let (route, body) = &sent[1];
    assert_eq!(*route, Route::Generate);
    assert_eq!(body["startImage"], last_frame.as_str());
    assert_eq!(body["prompt"], "the fox runs into the pines");
    assert_eq!(body["duration"], 5);
    assert!(body.get("endImage").is_none(), "{body}");
    // Everything else is the parent's, as it was sent.
    same_but(body, &parent_body, &["startImage", "prompt", "duration"]);
    assert_eq!(body["mode"], "standard");
    assert_eq!(body["aspectRatio"], "9:16");
    assert_eq!(sim.stats().jobs_created, 2);

    let child_id = child["localId"].as_u64().unwrap();
    let takes = Takes::open(&ledger).unwrap();
    assert_eq!(
        takes.parent_of(child_id).unwrap(),
        Some((parent_id, LinkKind::Continues))
    );
    stop_engine(&sim, home.path());
}

#[test]
fn after_a_job_with_no_saved_video_says_what_to_do_and_sends_nothing() {
    let (rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    write_config(home.path(), "auto_download = false\n", 0o600);
    let parent = against(&sim, home.path())
        .args([
            "submit",
            "--prompt",
            "a kite over the dunes",
            "--wait",
            "--json",
        ])
        .args(["--poll-interval", "0.1"])
        .assert()
        .success();
    let parent = report(parent.get_output());
    assert_eq!(parent["status"], "success");
    assert_eq!(parent["files"], serde_json::json!([]));
    let n = parent["localId"].as_u64().unwrap().to_string();
    let before = sim.stats();

    against(&sim, home.path())
        .args(["submit", "--after", &n, "--prompt", "the kite falls"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "#{n} has no finished download"
        )))
        .stderr(predicate::str::contains(format!(
            "`kling-tui download {n}`"
        )));
    // No prompt: said so, before anything else.
    against(&sim, home.path())
        .args(["submit", "--after", &n])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--after needs --prompt"));
    // A job the ledger does not have.
    against(&sim, home.path())
        .args(["submit", "--after", "#99", "--prompt", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no job #99 in the ledger"));
    // (The engine of the first command may still poll: only what these would send counts.)
    let after = sim.stats();
    assert_eq!(after.generate_bodies.len(), 1, "something was sent");
    assert_eq!(
        (after.asset_uploads, after.get_asset),
        (before.asset_uploads, before.get_asset)
    );

    // Saved by `download`, its last frame is recorded, and the next shot can start from it.
    let out = home.path().join("saved");
    against(&sim, home.path())
        .args(["download", &n, "--out"])
        .arg(&out)
        .assert()
        .success();
    let video = parent["assetIds"][0].as_str().unwrap();
    let last_frame = asset_on_server(&rt, &sim, video)["lastFrame"]["assetId"].clone();
    against(&sim, home.path())
        .args(["submit", "--after", &n, "--prompt", "the kite falls"])
        .assert()
        .success();
    let sent = bodies(&sim);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].1["startImage"], last_frame);
    stop_engine(&sim, home.path());
}

#[test]
fn a_video_saved_without_a_last_frame_is_continued_from_the_one_the_server_names_now() {
    let (rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let ledger = ledger_dir(Some(&sim), home.path());
    let out = home.path().join("shots");
    // Every asset read while this runs names no pictures at all.
    sim.inject(Fault::AssetWithoutPictures { count: 1000 });
    let parent = against(&sim, home.path())
        .args(["submit", "--prompt", "a heron on one leg", "--json"])
        .args(["--poll-interval", "0.1", "--download"])
        .arg(&out)
        .assert()
        .success();
    let parent = report(parent.get_output());
    assert_eq!(parent["files"].as_array().unwrap().len(), 1, "{parent}");
    let n = parent["localId"].as_u64().unwrap();
    let mut recorded = None;
    kling_tui::engine::Ledger::query(
        &ledger,
        &kling_tui::engine::JobQuery {
            local_id: Some(n),
            ..Default::default()
        },
        |job| recorded = Some(job.downloads[0].clone()),
    )
    .unwrap();
    let recorded = recorded.unwrap();
    assert!(recorded.is_done());
    assert_eq!(recorded.last_frame, None, "{recorded:?}");

    // The server still names none: refused, saying what to do instead; nothing is sent.
    against(&sim, home.path())
        .args([
            "submit",
            "--after",
            &n.to_string(),
            "--prompt",
            "it flies off",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "the server names no last frame for the video of #{n}"
        )))
        .stderr(predicate::str::contains("--start-image"));
    assert_eq!(bodies(&sim).len(), 1);

    // Now it names one: that is where the next shot starts.
    sim.clear_faults();
    let video = parent["assetIds"][0].as_str().unwrap();
    let last_frame = asset_on_server(&rt, &sim, video)["lastFrame"]["assetId"].clone();
    assert!(last_frame.is_string());
    against(&sim, home.path())
        .args([
            "submit",
            "--after",
            &n.to_string(),
            "--prompt",
            "it flies off",
        ])
        .assert()
        .success();
    let sent = bodies(&sim);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].1["startImage"], last_frame);
    stop_engine(&sim, home.path());
}

#[test]
fn hero_is_the_kept_drafts_request_at_pro_quoted_then_confirmed() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let ledger = ledger_dir(Some(&sim), home.path());
    png(home.path(), "frame.png", 640, 640);
    png(home.path(), "coat.png", 512, 512);
    let draft = against(&sim, home.path())
        .args(["submit", "--prompt", "a fox in a coat like <<<image_1>>>"])
        .args(["--mode", "standard", "--duration", "8", "--generate-audio"])
        .args([
            "--start-image",
            "frame.png",
            "--reference-image",
            "coat.png",
        ])
        .args(["--wait", "--json", "--poll-interval", "0.1"])
        .assert()
        .success();
    let draft = report(draft.get_output());
    let n = draft["localId"].as_u64().unwrap();
    let draft_body = bodies(&sim)[0].1.clone();
    assert!(draft_body["startImage"].is_string(), "{draft_body}");
    let hero = || {
        let mut cmd = against(&sim, home.path());
        cmd.args(["submit", "--hero", &n.to_string()])
            .write_stdin("");
        cmd
    };

    // Not kept yet: refused, naming the command that keeps it; nothing is sent.
    hero()
        .arg("--yes")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("#{n} is not marked kept")))
        .stderr(predicate::str::contains(format!("kling-tui mark {n} keep")));
    assert_eq!(bodies(&sim).len(), 1, "something was sent");
    // As the refusal says.
    against(&sim, home.path())
        .args(["mark", &n.to_string(), "keep"])
        .assert()
        .success();

    // Off a terminal without --yes: quoted, then refused; only the free dry run went.
    hero()
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("hero of #{n} at pro: ")))
        .stderr(predicate::str::contains("creative units"))
        .stderr(predicate::str::contains("--yes"));
    let sent = bodies(&sim);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].0, Route::DryRun);
    assert_eq!(sim.stats().jobs_created, 1);

    let made = hero().args(["--yes", "--json"]).assert().success();
    let made = report(made.get_output());
    let sent = bodies(&sim);
    assert_eq!(sent.len(), 4, "{sent:?}");
    let (quote, real) = (&sent[2], &sent[3]);
    assert_eq!((quote.0, real.0), (Route::DryRun, Route::Generate));
    // The dry run priced exactly what was then sent.
    assert_eq!(quote.1, real.1);
    // The draft's request as sent, start image and references included, at pro.
    assert_eq!(real.1["mode"], "pro");
    assert_eq!(draft_body["mode"], "standard");
    same_but(&real.1, &draft_body, &["mode"]);
    assert_eq!(sim.stats().jobs_created, 2);
    let child = made["localId"].as_u64().unwrap();
    assert_eq!(
        Takes::open(&ledger).unwrap().parent_of(child).unwrap(),
        Some((n, LinkKind::Hero))
    );
    // A 4k hero of the draft may follow; a standard one is no hero.
    hero()
        .args(["--mode", "standard", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a hero is rendered at pro or 4k"));
    stop_engine(&sim, home.path());
}
