//! `batch FILE --plan`: a batch file expanded, checked whole and priced by free dry runs,
//! against the simulator; nothing paid is ever sent.

mod common;

use common::{against, json_lines, sim_with};
use kling_tui::sim::SimConfig;

const SHOTS: &str = r#"# the opening, in three styles, at two lengths
{"prompt": "A lighthouse at dusk, {watercolour|noir|anime} style", "duration": [5, 10], "mode": "standard"}

{"prompt": "The keeper climbs the stairs, handheld", "mode": ["standard", "pro"], "aspectRatio": "9:16"}
{"prompt": "The keeper climbs the stairs, handheld", "mode": "pro", "aspectRatio": "9:16"}
"#;

fn stop_engine(sim: &kling_tui::sim::SimHandle, home: &std::path::Path) {
    against(sim, home)
        .args(["engine", "stop"])
        .assert()
        .success();
}

#[test]
fn a_plan_prices_every_expanded_request_with_dry_runs_only() {
    let (_rt, sim) = sim_with(SimConfig::default());
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("shots.jsonl");
    std::fs::write(&file, SHOTS).unwrap();
    let out = against(&sim, home.path())
        .args(["batch", "--plan", "--json"])
        .arg(&file)
        .assert()
        .success();
    let lines = json_lines(&out.get_output().stdout);
    // 3 styles × 2 lengths, 2 modes, and one more: 9 requests and a total.
    assert_eq!(lines.len(), 10, "{lines:?}");
    let (requests, total) = lines.split_at(9);
    let rows: Vec<u64> = requests
        .iter()
        .map(|l| l["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [2, 2, 2, 2, 2, 2, 4, 4, 5]);
    let indexes: Vec<u64> = requests
        .iter()
        .map(|l| l["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, (0..9).collect::<Vec<u64>>());
    assert_eq!(
        requests[1]["request"]["prompt"],
        "A lighthouse at dusk, watercolour style"
    );
    assert_eq!(requests[1]["request"]["duration"], 10);
    assert_eq!(
        requests[2]["request"]["prompt"],
        "A lighthouse at dusk, noir style"
    );
    // Each quote is the simulator's price for that request, and the total their sum.
    let mut sum = 0.0;
    for line in requests {
        let request: kling_tui::kling::KlingRequest =
            serde_json::from_value(line["request"].clone()).unwrap();
        let cost = line["creativeUnitsCost"].as_f64().unwrap();
        assert_eq!(cost, kling_tui::sim::cost(&request) as f64, "{line}");
        sum += cost;
    }
    assert_eq!(total[0]["creativeUnitsCost"].as_f64(), Some(sum));
    assert_eq!(total[0]["requests"], 9);
    assert_eq!(total[0]["batch"], "shots");
    let stats = sim.stats();
    // The last line repeats the one before it in pro: quoted once.
    assert_eq!((stats.generate_posts, stats.dry_runs), (0, 8));
    stop_engine(&sim, home.path());
}

#[test]
fn a_bad_line_is_refused_by_number_and_nothing_is_asked_of_the_server() {
    let (_rt, sim) = sim_with(SimConfig::default());
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"prompt\": \"fine\"}\n{\"prompt\": \"{a|b}\", \"duration\": 20}\n{\"prompt\": \"x\", \"mdoe\": \"pro\"}\n",
    )
    .unwrap();
    let out = against(&sim, home.path())
        .args(["batch", "--plan"])
        .arg(&file)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("line 2: duration: must be between 3 and 15 seconds, got 20"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 3: unknown field \"mdoe\""),
        "{stderr}"
    );
    assert!(out.get_output().stdout.is_empty());
    let stats = sim.stats();
    assert_eq!((stats.generate_posts, stats.dry_runs), (0, 0));
}

#[test]
fn without_plan_nothing_is_done() {
    let (_rt, sim) = sim_with(SimConfig::default());
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("shots.jsonl");
    std::fs::write(&file, SHOTS).unwrap();
    let out = against(&sim, home.path())
        .arg("batch")
        .arg(&file)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("--plan"), "{stderr}");
    let stats = sim.stats();
    assert_eq!((stats.generate_posts, stats.dry_runs), (0, 0));
}
