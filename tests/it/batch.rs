//! `batch FILE --plan`: a batch file expanded, checked whole and priced by free dry runs,
//! against the simulator; nothing paid is ever sent.

use crate::common;

use crate::common::{against, json_lines, sim_with};
use kling_sim::SimConfig;

const SHOTS: &str = r#"# the opening, in three styles, at two lengths
{"prompt": "A lighthouse at dusk, {watercolour|noir|anime} style", "duration": [5, 10], "mode": "standard"}

{"prompt": "The keeper climbs the stairs, handheld", "mode": ["standard", "pro"], "aspectRatio": "9:16"}
{"prompt": "The keeper climbs the stairs, handheld", "mode": "pro", "aspectRatio": "9:16"}
"#;

fn stop_engine(sim: &kling_sim::SimHandle, home: &std::path::Path) {
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
        assert_eq!(cost, kling_sim::cost(&request) as f64, "{line}");
        sum += cost;
    }
    assert_eq!(total[0]["creativeUnitsCost"].as_f64(), Some(sum));
    assert_eq!(total[0]["requests"], 9);
    assert_eq!(total[0]["batch"], "shots");
    let stats = sim.stats();
    // The last line repeats the one before it in pro: quoted once.
    assert_eq!((stats.generate_posts, stats.dry_runs), (0, 8));
    stop_engine(&sim, home.path());

    // Planned again by a new engine: the same prices, from the ledger, with no dry run.
    let again = against(&sim, home.path())
        .args(["batch", "--plan", "--json"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(json_lines(&again.get_output().stdout), lines);
    let stats = sim.stats();
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

fn batch_file(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

/// Ten by ten alternatives on one line: 100 distinct requests.
fn hundred() -> String {
    let digits: Vec<String> = (0..10).map(|n| n.to_string()).collect();
    format!(
        "{{\"prompt\": \"shot {{{}}} take {{{}}}\", \"mode\": \"standard\"}}\n",
        digits.join("|"),
        digits.join("|")
    )
}

#[test]
fn a_hundred_request_batch_makes_a_hundred_jobs_whose_files_and_manifest_follow_the_file() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        concurrency_limit: 100,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let file = batch_file(home.path(), "takes.jsonl", &hundred());
    let out = home.path().join("takes-out");
    let run = against(&sim, home.path())
        .args(["batch", "--yes", "--requests-per-second", "50", "--out"])
        .arg(&out)
        .arg(&file)
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    assert!(
        stderr.contains("done 100/100  failed 0  held 0"),
        "{stderr}"
    );
    let stats = sim.stats();
    assert_eq!((stats.generate_posts, stats.jobs_created), (100, 100));
    assert_eq!(stats.dry_runs, 100);

    let manifest = std::fs::read(out.join("manifest.jsonl")).unwrap();
    let lines = json_lines(&manifest);
    assert_eq!(lines.len(), 100);
    let mut names = common::files_in(&out);
    names.retain(|n| n != "manifest.jsonl");
    assert_eq!(names.len(), 100, "{names:?}");
    for (n, (line, name)) in lines.iter().zip(&names).enumerate() {
        assert_eq!(line["index"], n);
        assert_eq!(line["row"], 1);
        assert_eq!(line["status"], "success", "{line}");
        assert_eq!(
            line["request"]["prompt"],
            format!("shot {} take {}", n / 10, n % 10)
        );
        let job_id = line["jobId"].as_str().unwrap();
        // Sorted by name, the files are in the order of the requests.
        assert_eq!(name, &format!("{n:04}_{job_id}_1.mp4"));
        assert_eq!(line["files"][0], out.join(name).display().to_string());
        assert_eq!(
            std::fs::read(out.join(name)).unwrap(),
            sim.video_bytes().unwrap()
        );
    }
    stop_engine(&sim, home.path());
}

#[test]
fn off_a_terminal_a_batch_needs_yes_and_sends_nothing_without_it() {
    let (_rt, sim) = sim_with(SimConfig::default());
    let home = tempfile::tempdir().unwrap();
    let file = batch_file(home.path(), "shots.jsonl", SHOTS);
    let out = against(&sim, home.path())
        .arg("batch")
        .arg(&file)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("send 9 requests for") && stderr.contains("confirm with --yes"),
        "{stderr}"
    );
    assert_eq!(sim.stats().generate_posts, 0);
    stop_engine(&sim, home.path());
}

#[test]
fn a_batch_killed_in_the_middle_resumes_without_sending_anything_twice() {
    let (_rt, sim) = sim_with(SimConfig {
        // About two seconds a job: the kill lands while requests are going out and running.
        time_scale: 60.0,
        concurrency_limit: 100,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let digits: Vec<String> = (0..20).map(|n| n.to_string()).collect();
    let text = format!(
        "{{\"prompt\": \"take {{{}}}\", \"mode\": \"standard\"}}\n",
        digits.join("|")
    );
    let file = batch_file(home.path(), "takes.jsonl", &text);
    let out = home.path().join("takes-out");
    let mut first = common::process(Some(&sim), home.path())
        .args(["batch", "--yes", "--requests-per-second", "8", "--out"])
        .arg(&out)
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if sim.stats().generate_posts >= 5 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    first.kill().unwrap(); // SIGKILL: no chance to clean up
    first.wait().unwrap();
    let sent = sim.stats().generate_posts;
    assert!(sent >= 5, "the batch was killed before it sent anything");

    let again = against(&sim, home.path())
        .args(["batch", "--yes", "--out"])
        .arg(&out)
        .arg(&file)
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&again.get_output().stderr).to_string();
    assert!(stderr.contains("done 20/20"), "{stderr}");
    let stats = sim.stats();
    assert_eq!(
        stats.generate_posts, 20,
        "a request was sent twice, or lost"
    );
    assert_eq!(stats.jobs_created, 20);
    let lines = json_lines(&std::fs::read(out.join("manifest.jsonl")).unwrap());
    assert_eq!(lines.len(), 20);
    assert!(lines.iter().all(|l| l["status"] == "success"), "{lines:?}");
    assert_eq!(common::files_in(&out).len(), 21);
    stop_engine(&sim, home.path());
}

/// `count` standard 5 s requests (50 CU each in the simulator), one line.
fn takes(count: usize, word: &str) -> String {
    let alternatives: Vec<String> = (0..count).map(|n| format!("{word} {n}")).collect();
    format!(
        "{{\"prompt\": \"{{{}}}\", \"mode\": \"standard\", \"duration\": 5}}\n",
        alternatives.join("|")
    )
}

fn run_batch(
    sim: &kling_sim::SimHandle,
    home: &std::path::Path,
    file: &std::path::Path,
    extra: &[&str],
) -> (Option<i32>, String) {
    let out = against(sim, home)
        .args(["batch", "--yes", "--requests-per-second", "50"])
        .args(extra)
        .arg(file)
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_cap_that_fits_three_of_five_holds_two_and_raising_it_sends_exactly_those() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        concurrency_limit: 100,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let file = batch_file(home.path(), "five.jsonl", &takes(5, "take"));
    let (code, stderr) = run_batch(&sim, home.path(), &file, &["--max-cost", "150"]);
    assert_eq!(code, Some(5), "{stderr}");
    assert!(stderr.contains("done 3/5  failed 0  held 2"), "{stderr}");
    assert!(stderr.contains("2 held by a spend cap"), "{stderr}");
    assert_eq!(sim.stats().generate_posts, 3);
    let manifest = home.path().join("five/manifest.jsonl");
    let lines = json_lines(&std::fs::read(&manifest).unwrap());
    let statuses: Vec<&str> = lines
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(&statuses[..3], ["success", "success", "success"]);
    for line in &lines[3..] {
        assert_eq!(line["status"], "held", "{lines:?}");
        assert!(
            line["reason"]
                .as_str()
                .unwrap()
                .starts_with("spend cap (150 of 150 CU for the batch"),
            "{lines:?}"
        );
    }
    assert!(lines[3]["jobId"].is_null());
    // The ledger lists the batch's jobs, held ones included.
    let listed = against(&sim, home.path())
        .args(["jobs", "--batch", "five", "--json"])
        .assert()
        .success();
    let listed = json_lines(&listed.get_output().stdout);
    assert_eq!(listed.len(), 5, "{listed:?}");
    let held = listed.iter().filter(|j| j["status"] == "held").count();
    assert_eq!(held, 2, "{listed:?}");

    // Raised: the two held are sent, in order, and nothing else.
    let (code, stderr) = run_batch(&sim, home.path(), &file, &["--max-cost", "250"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(sim.stats().generate_posts, 5);
    assert_eq!(sim.stats().jobs_created, 5);
    let lines = json_lines(&std::fs::read(&manifest).unwrap());
    assert!(lines.iter().all(|l| l["status"] == "success"), "{lines:?}");
    stop_engine(&sim, home.path());
}

#[test]
fn max_spend_per_day_holds_across_batches() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        concurrency_limit: 100,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    common::write_config(home.path(), "max_spend_per_day = 200\n", 0o600);
    let first = batch_file(home.path(), "first.jsonl", &takes(3, "first"));
    let second = batch_file(home.path(), "second.jsonl", &takes(2, "second"));
    let (code, stderr) = run_batch(&sim, home.path(), &first, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(sim.stats().generate_posts, 3);
    // 150 CU spent today: one more of 50 fits under 200, the next does not.
    let (code, stderr) = run_batch(&sim, home.path(), &second, &[]);
    assert_eq!(code, Some(5), "{stderr}");
    assert!(stderr.contains("done 1/2  failed 0  held 1"), "{stderr}");
    assert_eq!(sim.stats().generate_posts, 4);
    let lines = json_lines(&std::fs::read(home.path().join("second/manifest.jsonl")).unwrap());
    assert_eq!(lines[1]["status"], "held", "{lines:?}");
    assert!(
        lines[1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("spend cap (200 of 200 CU today"),
        "{lines:?}"
    );
    stop_engine(&sim, home.path());
}

#[test]
fn a_single_submit_past_max_spend_per_day_is_held_and_not_sent() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    common::write_config(home.path(), "max_spend_per_day = 100\n", 0o600);
    // 75 CU: fits.
    against(&sim, home.path())
        .args(["submit", "--prompt", "the first", "--mode", "pro"])
        .assert()
        .success();
    // 75 more would make 150: held, exit 5, nothing sent.
    let held = against(&sim, home.path())
        .args(["submit", "--prompt", "the second", "--mode", "pro"])
        .assert()
        .code(5);
    let stderr = String::from_utf8_lossy(&held.get_output().stderr).to_string();
    assert!(
        stderr.contains("held: spend cap (75 of 100 CU today, this one 75)"),
        "{stderr}"
    );
    // The day's count starts again at midnight (UTC): then it goes by itself.
    let tomorrow = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .tomorrow()
        .unwrap();
    assert!(
        stderr.contains(&format!(
            "or from {tomorrow}T00:00:00Z when a new day's count starts"
        )),
        "{stderr}"
    );
    assert_eq!(sim.stats().generate_posts, 1);
    // Raised in config.toml: the next command releases it.
    common::write_config(home.path(), "max_spend_per_day = 200\n", 0o600);
    let out = home.path().join("out");
    against(&sim, home.path())
        .args(["watch", "--out"])
        .arg(&out)
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .success();
    assert_eq!(sim.stats().generate_posts, 2);
    stop_engine(&sim, home.path());
}

#[test]
fn a_local_reference_file_named_by_every_request_is_uploaded_once() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        concurrency_limit: 100,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    common::png(home.path(), "frame.png", 640, 640);
    let file = batch_file(
        home.path(),
        "framed.jsonl",
        "{\"prompt\": \"from the frame, {dawn|noon|dusk|night}\", \"startImage\": \"frame.png\", \"mode\": \"standard\"}\n",
    );
    let (code, stderr) = run_batch(&sim, home.path(), &file, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let stats = sim.stats();
    assert_eq!(stats.generate_posts, 4);
    assert_eq!(
        stats.asset_uploads + stats.uploads_created,
        1,
        "the frame was uploaded more than once"
    );
    stop_engine(&sim, home.path());
}

#[test]
fn failed_requests_are_shown_by_batch_status_and_sent_again_by_retry_exactly_once() {
    use kling_sim::{Fault, Route};
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        concurrency_limit: 100,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let file = batch_file(home.path(), "five.jsonl", &takes(5, "take"));
    // The first two requests are refused by the server: nothing made, nothing charged.
    sim.inject(Fault::ApiStatus {
        route: Route::Generate,
        status: 400,
        count: 2,
    });
    let (code, stderr) = run_batch(&sim, home.path(), &file, &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("done 3/5  failed 2  held 0"), "{stderr}");
    assert_eq!(sim.stats().jobs_created, 3);
    let posts = sim.stats().generate_posts;

    let status = against(&sim, home.path())
        .args(["batch", "status", "five"])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(4));
    let stdout = String::from_utf8_lossy(&status.stdout);
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert_eq!(stdout.lines().count(), 5, "{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.contains("rejected")).count(),
        2,
        "{stdout}"
    );
    assert!(
        stderr.contains("batch five: done 3/5  failed 2  held 0"),
        "{stderr}"
    );

    // Off a terminal, retry needs --yes and sends nothing without it.
    let refused = against(&sim, home.path())
        .args(["batch", "retry", "five"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert_eq!(sim.stats().generate_posts, posts);

    let retried = against(&sim, home.path())
        .args(["batch", "retry", "five", "--yes"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&retried.stderr);
    assert_eq!(retried.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("2 failed request(s) sent again"),
        "{stderr}"
    );

    // `watch --batch` follows the batch until every request is final and on disk.
    let watched = against(&sim, home.path())
        .args(["watch", "--batch", "five"])
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&watched.stderr);
    assert_eq!(watched.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("batch five: 5 jobs: 5 done"), "{stderr}");
    assert_eq!(sim.stats().generate_posts, posts + 2);
    assert_eq!(sim.stats().jobs_created, 5);

    // Retried again: nothing failed is left, nothing is sent.
    let again = against(&sim, home.path())
        .args(["batch", "retry", "five", "--yes"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no failed request"));
    let status = against(&sim, home.path())
        .args(["batch", "status", "five", "--json"])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0));
    let lines = json_lines(&status.stdout);
    let indexes: Vec<u64> = lines.iter().map(|l| l["index"].as_u64().unwrap()).collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4]);
    assert!(lines.iter().all(|l| l["status"] == "success"), "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l["files"].as_array().unwrap().len() == 1),
        "{lines:?}"
    );
    assert_eq!(sim.stats().generate_posts, posts + 2);

    let unknown = against(&sim, home.path())
        .args(["batch", "status", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no batch named nosuch"));
    stop_engine(&sim, home.path());
}

#[test]
fn off_a_terminal_a_batch_tells_each_change_on_a_line_of_its_own() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 120.0,
        concurrency_limit: 100,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let file = batch_file(
        home.path(),
        "three.jsonl",
        "{\"prompt\": \"a kite {red|green|blue}\", \"mode\": \"standard\"}\n",
    );
    let run = against(&sim, home.path())
        .args(["batch", "--yes", "--requests-per-second", "50"])
        .arg(&file)
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    // Never a line redrawn in place: stderr is a pipe here.
    assert!(!stderr.contains('\r'), "{stderr:?}");
    let lines: Vec<&str> = stderr.lines().collect();
    // Each job's changes, as they came, each on its own line.
    for id in 1..=3 {
        let told: Vec<&&str> = lines
            .iter()
            .filter(|l| l.starts_with(&format!("#{id}  ")))
            .collect();
        assert!(told.len() >= 2, "#{id}: {stderr}");
        assert!(told.last().unwrap().contains("files 1/1"), "{stderr}");
        assert!(told.windows(2).all(|w| w[0] != w[1]), "{stderr}");
    }
    // The totals whenever they change: from nothing done to all of it.
    let totals: Vec<&&str> = lines.iter().filter(|l| l.starts_with("done ")).collect();
    assert!(totals.first().unwrap().starts_with("done 0/3"), "{stderr}");
    assert!(totals.iter().any(|l| l.starts_with("done 3/3")), "{stderr}");
    stop_engine(&sim, home.path());
}

#[test]
fn failed_requests_are_refunded_in_the_batchs_spend_and_its_status() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        concurrency_limit: 100,
        failure_rate: 1.0,
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let file = batch_file(home.path(), "doomed.jsonl", &takes(2, "take"));
    let (code, stderr) = run_batch(&sim, home.path(), &file, &[]);
    assert_eq!(code, Some(4), "{stderr}");
    // Failed jobs are refunded: nothing was spent.
    assert!(
        stderr.contains("done 0/2  failed 2  held 0  running 0  spent 0 CU"),
        "{stderr}"
    );
    let status = against(&sim, home.path())
        .args(["batch", "status", "doomed"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    for line in stdout.lines() {
        assert!(
            line.contains("     0 CU  failure  (50 CU refunded)"),
            "{stdout}"
        );
    }
    assert!(
        String::from_utf8_lossy(&status.stderr).contains("spent 0 CU"),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    stop_engine(&sim, home.path());
}
