//! Selects and sequences from scripts, with the real binary against the simulator: six takes
//! made and saved, three kept and three rejected with reasons, a sequence of three shots of
//! two takes each with one chosen per shot, what a kept clip cost, and the provenance written
//! beside each marked video.

use std::path::Path;

use crate::common::*;
use serde_json::Value;

fn run(sim: &kling_sim::SimHandle, home: &Path, args: &[&str]) -> Vec<Value> {
    let out = against(sim, home).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Plain lines for people are not JSON: only the commands given --json are read.
    if args.contains(&"--json") {
        json_lines(&out.stdout)
    } else {
        Vec::new()
    }
}

#[test]
fn three_shots_two_takes_each_marks_with_reasons_and_cost_per_kept_clip() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("takes");
    let out_arg = out.to_str().unwrap();
    for n in 1..=6 {
        let prompt = format!("take {n} of the pier at dusk");
        run(
            &sim,
            home.path(),
            &[
                "submit",
                "--prompt",
                &prompt,
                "--wait",
                "--json",
                "--poll-interval",
                "0.1",
                "--download",
                out_arg,
            ],
        );
    }
    let h = home.path();
    let saved: std::collections::BTreeMap<_, _> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .map(|p| {
            // Provenance is there as soon as the video is.
            let sidecar = format!("{}.json", p.display());
            let side: Value = serde_json::from_slice(&std::fs::read(&sidecar).unwrap()).unwrap();
            assert_eq!(side["mark"], Value::Null);
            assert!(
                side["video"]["lastFrame"]
                    .as_str()
                    .is_some_and(|f| !f.is_empty())
            );
            assert!(side["video"]["duration"].as_f64().is_some_and(|d| d > 0.0));
            assert_eq!(side["video"]["size"], std::fs::metadata(&p).unwrap().len());
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    assert_eq!(saved.len(), 6);
    run(&sim, h, &["seq", "new", "pier"]);
    run(&sim, h, &["seq", "add", "pier", "1", "--json"]);
    run(&sim, h, &["seq", "take", "pier", "1", "#2"]);
    // One past the last shot makes the next.
    run(&sim, h, &["seq", "choose", "pier", "2", "4"]);
    run(&sim, h, &["seq", "take", "pier", "2", "3"]);
    run(&sim, h, &["seq", "take", "pier", "3", "6"]);
    run(&sim, h, &["seq", "choose", "pier", "3", "5"]);
    for (job, mark, reason) in [
        ("1", "keep", None),
        ("4", "keep", None),
        ("5", "keep", None),
        ("2", "reject", Some("motion")),
        ("3", "reject", Some("Face Drift")),
        ("6", "reject", None),
    ] {
        let mut args = vec!["mark", job, mark, "--json"];
        if let Some(reason) = reason {
            args.extend(["--reason", reason]);
        }
        let said = run(&sim, h, &args);
        assert_eq!(said[0]["mark"], mark, "{said:?}");
    }
    // A reason not on the list is refused with the list, and changes nothing.
    let refused = against(&sim, h)
        .args(["mark", "6", "reject", "--reason", "wobble"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("not one of: face drift, motion, off prompt"),
        "{err}"
    );

    let shown = &run(&sim, h, &["seq", "show", "pier", "--json"])[0];
    let shots = shown["shots"].as_array().unwrap();
    assert_eq!(shots.len(), 3);
    let chosen: Vec<u64> = shots
        .iter()
        .map(|s| s["chosen"].as_u64().unwrap())
        .collect();
    assert_eq!(chosen, [1, 4, 5]);
    for shot in shots {
        assert_eq!(shot["takes"].as_array().unwrap().len(), 2, "{shot}");
    }
    // The length of the chosen takes as the server measured their videos.
    let chosen_seconds: f64 = shots
        .iter()
        .flat_map(|s| s["takes"].as_array().unwrap())
        .filter(|t| t["chosen"] == true)
        .map(|t| t["duration"].as_f64().unwrap())
        .sum();
    assert!(chosen_seconds > 0.0);
    assert_eq!(shown["duration"].as_f64().unwrap(), chosen_seconds);
    assert_eq!(shown["kept"], 3);

    let plain = against(&sim, h)
        .args(["seq", "show", "pier"])
        .output()
        .unwrap();
    let plain = String::from_utf8_lossy(&plain.stdout);
    let head = format!("pier: 3 shots, {chosen_seconds:.1} s chosen\n");
    assert!(plain.starts_with(&head), "{plain}");
    assert!(
        plain.contains("3 kept of 6, ")
            && plain.contains("CU per kept clip; rejected: face drift 1, motion 1, no reason 1"),
        "{plain}"
    );
    let kept: Vec<u64> = run(&sim, h, &["jobs", "--kept", "--json"])
        .iter()
        .map(|j| j["localId"].as_u64().unwrap())
        .collect();
    assert_eq!(kept, [1, 4, 5]);
    assert_eq!(run(&sim, h, &["jobs", "--rejected", "--json"]).len(), 3);

    let spend = &run(&sim, h, &["spend", "--json"])[0];
    let units = spend["creativeUnits"].as_f64().unwrap();
    assert!(units > 0.0, "{spend}");
    assert_eq!(spend["kept"], 3);
    assert_eq!(spend["rejected"], 3);
    assert!((spend["perKeptClip"].as_f64().unwrap() - units / 3.0).abs() < 1e-9);
    let reasons: Vec<(Value, u64)> = spend["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["reason"].clone(), r["jobs"].as_u64().unwrap()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons.contains(&(Value::from("face drift"), 1)));
    assert!(reasons.contains(&(Value::Null, 1)));
    let plain = against(&sim, h).arg("spend").output().unwrap();
    let plain = String::from_utf8_lossy(&plain.stdout);
    assert!(
        plain.contains("3 kept,") && plain.contains("CU per kept clip"),
        "{plain}"
    );
    assert!(plain.contains("rejected: "), "{plain}");

    // Provenance beside each marked video, valid JSON, the video itself as the server sent it.
    let videos: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    assert_eq!(videos.len(), 6);
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/sidecar.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(schema_path).unwrap()).unwrap();
    let sidecar_schema = jsonschema::validator_for(&schema).expect("schemas/sidecar.json compiles");
    for video in &videos {
        let sidecar = video.with_file_name(format!(
            "{}.json",
            video.file_name().unwrap().to_string_lossy()
        ));
        let text = std::fs::read_to_string(&sidecar)
            .unwrap_or_else(|e| panic!("{}: {e}", sidecar.display()));
        let side: Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = sidecar_schema
            .iter_errors(&side)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", sidecar.display());
        assert_eq!(side["model"], "model_kling-v3-omni-video");
        assert!(
            side["request"]["prompt"]
                .as_str()
                .unwrap()
                .contains("of the pier")
        );
        assert!(side["job"]["id"].as_str().unwrap().starts_with("job_"));
        assert!(!side["job"]["serverTimes"].as_array().unwrap().is_empty());
        assert!(side["job"]["creativeUnits"].as_f64().unwrap() > 0.0);
        assert_eq!(side["sequences"][0]["sequence"], "pier");
        let number = side["job"]["localId"].as_u64().unwrap();
        let mark = if [1, 4, 5].contains(&number) {
            "keep"
        } else {
            "reject"
        };
        assert_eq!(side["mark"], mark, "{side}");
        assert_eq!(side["sequences"][0]["chosen"], mark == "keep");
        assert!(
            std::fs::read(video).unwrap() == saved[video],
            "{} changed",
            video.display()
        );
    }
}

#[test]
fn a_sequence_refuses_what_it_cannot_do_and_says_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let err = bin(h).args(["seq", "show", "nope"]).output().unwrap();
    assert_eq!(err.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&err.stderr).contains("kling-tui seq new \"nope\""));
    bin(h).args(["seq", "new", "a"]).assert().success();
    let again = bin(h).args(["seq", "new", "a"]).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    let no_job = bin(h).args(["seq", "add", "a", "#9"]).output().unwrap();
    assert_eq!(no_job.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_job.stderr).contains("no job #9"));
    let list = bin(h).args(["seq", "list", "--json"]).output().unwrap();
    let list = json_lines(&list.stdout);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["shots"], 0);
}

#[test]
fn sidecars_off_in_the_config_leave_the_video_alone() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    write_config(home.path(), "sidecars = false\n", 0o600);
    let out = home.path().join("v");
    run(
        &sim,
        home.path(),
        &[
            "submit",
            "--prompt",
            "no provenance",
            "--wait",
            "--json",
            "--poll-interval",
            "0.1",
            "--download",
            out.to_str().unwrap(),
        ],
    );
    run(&sim, home.path(), &["mark", "1", "keep"]);
    let names = files_in(&out);
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].ends_with(".mp4"), "{names:?}");
}

#[test]
fn a_sequence_grows_by_continuing_its_chosen_takes() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let out = h.join("film");
    let out = out.to_str().unwrap();
    let wait = [
        "--wait",
        "--json",
        "--poll-interval",
        "0.1",
        "--download",
        out,
    ];
    run(&sim, h, &["seq", "new", "film"]);
    let mut first = vec![
        "submit",
        "--prompt",
        "a door opens",
        "--mode",
        "standard",
        "--seq",
        "film",
    ];
    first.extend(wait);
    run(&sim, h, &first);
    run(&sim, h, &["seq", "choose", "film", "1", "1"]);
    // The continuation of shot 1's chosen take is a take of shot 2, by itself.
    let mut next = vec!["submit", "--after", "1", "--prompt", "she steps inside"];
    next.extend(wait);
    run(&sim, h, &next);
    // A shot past the end is refused before anything is sent.
    let sent = sim.stats().generate_bodies.len();
    let refused = against(&sim, h)
        .args(["submit", "--prompt", "x", "--seq", "film", "--shot", "9"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("a new take goes to shots 1 to 3"), "{err}");
    assert_eq!(sim.stats().generate_bodies.len(), sent);
    // A hero goes beside its draft.
    run(&sim, h, &["mark", "1", "keep"]);
    let mut hero = vec!["submit", "--hero", "1", "--yes"];
    hero.extend(wait);
    run(&sim, h, &hero);
    let shown = &run(&sim, h, &["seq", "show", "film", "--json"])[0];
    let takes: Vec<Vec<u64>> = shown["shots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["takes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["localId"].as_u64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(takes, [vec![1, 3], vec![2]]);
    // The draft's provenance names both jobs that came from it.
    let side = std::fs::read_dir(h.join("film"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".json"))
        .map(|p| serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap())
        .find(|side| side["job"]["localId"] == 1)
        .expect("the draft's sidecar");
    let children: Vec<(u64, String)> = side["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["localId"].as_u64().unwrap(),
                c["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(children, [(2, "continues".into()), (3, "hero".into())]);
}
