//! The client against answers the official SDK calls valid, served by the simulator: videos
//! named late or never, a `metadata.size` that is not the file's size, uploads done at
//! `complete`, an asset that answers 404 once, and every systematic variation of the answers
//! (optional fields absent, nulls, unknown fields, floats, offsets, several assets,
//! QuickTime). Each ends with the exact video on disk and the documented exit code.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{against, json_lines, sim_with};
use kling_sim::{Fault, LateAssets, Route, SimConfig, SimHandle, UploadDone, Variation};
use serde_json::Value;

fn stop_engine(sim: &SimHandle, home: &Path) {
    against(sim, home)
        .args(["engine", "stop"])
        .assert()
        .success();
}

fn quick(tune: impl FnOnce(&mut SimConfig)) -> SimConfig {
    let mut config = SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    };
    tune(&mut config);
    config
}

/// The bytes the CDN serves for `asset_id`, fetched here as a plain client would.
fn served(rt: &tokio::runtime::Runtime, sim: &SimHandle, asset_id: &str) -> Vec<u8> {
    let client = common::client_for(sim);
    rt.block_on(async {
        let asset = client.get_asset(asset_id).await.expect("asset");
        let url = asset.url.expect("a link");
        reqwest::get(url)
            .await
            .expect("cdn")
            .bytes()
            .await
            .expect("body")
            .to_vec()
    })
}

/// Every file a `--json` report names is on disk with exactly the bytes its asset serves,
/// and there is one per asset.
fn assert_exact(rt: &tokio::runtime::Runtime, sim: &SimHandle, report: &Value, want: usize) {
    let assets: Vec<&str> = report["assetIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let files: Vec<PathBuf> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| PathBuf::from(f.as_str().unwrap()))
        .collect();
    assert_eq!(assets.len(), want, "{report}");
    assert_eq!(files.len(), want, "{report}");
    for (asset, file) in assets.iter().zip(&files) {
        let on_disk = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(!on_disk.is_empty());
        assert!(
            on_disk == served(rt, sim, asset),
            "{} differs from {asset}",
            file.display()
        );
    }
}

fn submit_and_download(sim: &SimHandle, home: &Path, prompt: &str) -> (Option<i32>, Value, String) {
    let out = home.join("out");
    let run = against(sim, home)
        .args([
            "submit",
            "--prompt",
            prompt,
            "--wait",
            "--json",
            "--download",
        ])
        .arg(&out)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).to_string();
    let lines = json_lines(&run.stdout);
    let last = lines.last().cloned().unwrap_or(Value::Null);
    (run.status.code(), last, stderr)
}

#[test]
fn a_video_named_seconds_after_success_is_waited_for_and_saved() {
    for key_absent in [false, true] {
        let (rt, sim) = sim_with(quick(|c| {
            c.late_assets = Some(LateAssets {
                after: Some(Duration::from_secs(5)),
                key_absent,
            })
        }));
        let home = tempfile::tempdir().unwrap();
        let (code, report, stderr) = submit_and_download(&sim, home.path(), "a late fox");
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(report["status"], "success", "{report}");
        assert_exact(&rt, &sim, &report, 1);
        stop_engine(&sim, home.path());
    }
}

#[test]
fn a_video_never_named_is_a_success_without_a_video_and_every_command_says_so() {
    let (_rt, sim) = sim_with(quick(|c| {
        c.late_assets = Some(LateAssets {
            after: None,
            key_absent: false,
        })
    }));
    let home = tempfile::tempdir().unwrap();
    common::write_config(home.path(), "video_wait = \"3s\"\n", 0o600);
    let (code, report, stderr) = submit_and_download(&sim, home.path(), "a fox never seen");
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(report["status"], "no-video", "{report}");
    assert_eq!(report["localId"], 1, "{report}");
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("success without a video"),
        "{report}"
    );
    assert!(stderr.contains("success without a video"), "{stderr}");
    assert!(stderr.contains("nothing was saved"), "{stderr}");
    assert!(
        !home.path().join("out").exists() || common::files_in(&home.path().join("out")).is_empty()
    );
    let job_id = report["jobId"].as_str().unwrap().to_string();
    // `watch` follows it to the same end and exits non-zero.
    let watch = against(&sim, home.path())
        .args(["watch"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&watch.stderr);
    assert_eq!(watch.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("1 need attention"), "{stderr}");
    let stdout = String::from_utf8_lossy(&watch.stdout);
    assert!(stdout.contains("success without a video"), "{stdout}");
    // `download` looks again (a new wait), then says so.
    let download = against(&sim, home.path())
        .args(["download", &job_id, "--json"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&download.stderr);
    assert_eq!(download.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("waiting for it"), "{stderr}");
    assert!(stderr.contains("success without a video"), "{stderr}");
    // `jobs --json` tells it in the same words.
    let jobs = against(&sim, home.path())
        .args(["jobs", "--json"])
        .assert()
        .success();
    let rows = json_lines(&jobs.get_output().stdout);
    assert!(
        ["no-video", "waiting-for-video"].contains(&rows[0]["status"].as_str().unwrap()),
        "{rows:?}"
    );
    stop_engine(&sim, home.path());
}

#[test]
fn a_success_without_asset_ids_outside_the_ledger_is_never_an_empty_success() {
    let (rt, sim) = sim_with(quick(|c| {
        c.late_assets = Some(LateAssets {
            after: None,
            key_absent: true,
        })
    }));
    let client = common::client_for(&sim);
    let job_id = rt.block_on(async {
        let answer = client
            .generate(&kling_tui::kling::KlingRequest::new("made elsewhere"))
            .await
            .unwrap();
        common::wait_final(&client, &answer.job.job_id).await.job_id
    });
    let home = tempfile::tempdir().unwrap();
    let run = against(&sim, home.path())
        .args(["download", &job_id, "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("success without a video"), "{stderr}");
    let lines = json_lines(&run.stdout);
    assert_eq!(lines[0]["status"], "waiting-for-video", "{lines:?}");
}

#[test]
fn metadata_size_is_never_taken_for_the_files_size() {
    let (rt, sim) = sim_with(quick(|c| c.asset_metadata_size = Some(1024)));
    let home = tempfile::tempdir().unwrap();
    let (code, report, stderr) = submit_and_download(&sim, home.path(), "a fox of any size");
    assert_eq!(code, Some(0), "{stderr}");
    assert_exact(&rt, &sim, &report, 1);
    stop_engine(&sim, home.path());
}

#[test]
fn an_asset_that_answers_404_once_after_success_is_fetched_again() {
    let (rt, sim) = sim_with(quick(|_| {}));
    sim.inject(Fault::ApiStatus {
        route: Route::GetAsset,
        status: 404,
        count: 1,
    });
    let home = tempfile::tempdir().unwrap();
    let (code, report, stderr) = submit_and_download(&sim, home.path(), "a shy fox");
    assert_eq!(code, Some(0), "{stderr}");
    assert_exact(&rt, &sim, &report, 1);
    stop_engine(&sim, home.path());
}

#[test]
fn an_upload_done_at_complete_or_validated_names_its_asset() {
    for done in [UploadDone::Complete, UploadDone::Validated] {
        let (_rt, sim) = sim_with(quick(|c| c.upload_done_status = done));
        let home = tempfile::tempdir().unwrap();
        let video = common::mp4(home.path(), "camera.mp4", 6 * 1024 * 1024);
        let run = against(&sim, home.path())
            .args(["upload", "--json"])
            .arg(&video)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{done:?}: {stderr}");
        // Off a terminal, the upload still says how far it got, in lines.
        assert!(
            stderr.contains("uploading") && stderr.contains("6.0 MiB/6.0 MiB"),
            "{stderr}"
        );
        let lines = json_lines(&run.stdout);
        let id = lines[0]["assetId"].as_str().unwrap_or_default();
        assert!(id.starts_with("asset_"), "{lines:?}");
        // Polled until it named its asset, not until a poll limit.
        assert!(sim.stats().get_upload < 50, "{:?}", sim.stats());
    }
}

/// One variation end to end: `submit --wait --download`, `submit` then `watch`, `import` and
/// `download` of jobs made elsewhere; exact files and exit 0 each time.
fn through_every_command(variation: Variation) {
    let want = if variation == Variation::SeveralAssets {
        2
    } else {
        1
    };
    let (rt, sim) = sim_with(quick(|c| c.variation = Some(variation)));
    let home = tempfile::tempdir().unwrap();
    let (code, report, stderr) = submit_and_download(&sim, home.path(), "a fox, varied");
    assert_eq!(code, Some(0), "{variation:?}: {stderr}");
    assert_exact(&rt, &sim, &report, want);

    against(&sim, home.path())
        .args(["submit", "--prompt", "another fox"])
        .assert()
        .success();
    let watched = home.path().join("watched");
    let watch = against(&sim, home.path())
        .args(["watch", "--out"])
        .arg(&watched)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(
        watch.status.code(),
        Some(0),
        "{variation:?}: {}",
        String::from_utf8_lossy(&watch.stderr)
    );
    let jobs = against(&sim, home.path())
        .args(["jobs", "--json"])
        .assert()
        .success();
    for row in json_lines(&jobs.get_output().stdout) {
        assert_eq!(row["status"], "success", "{variation:?}: {row}");
        assert_exact(&rt, &sim, &row, want);
    }

    // Jobs made elsewhere: imported, and downloaded without the ledger.
    let client = common::client_for(&sim);
    let made: Vec<String> = rt.block_on(async {
        let mut ids = Vec::new();
        for prompt in ["made in the web app", "made by a script"] {
            let answer = client
                .generate(&kling_tui::kling::KlingRequest::new(prompt))
                .await
                .unwrap();
            ids.push(common::wait_final(&client, &answer.job.job_id).await.job_id);
        }
        ids
    });
    let import = against(&sim, home.path())
        .args(["import", &made[0], "--json", "--out"])
        .arg(home.path().join("imported"))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(
        import.status.code(),
        Some(0),
        "{variation:?}: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    let lines = json_lines(&import.stdout);
    assert_exact(&rt, &sim, lines.last().unwrap(), want);
    stop_engine(&sim, home.path());

    let other = tempfile::tempdir().unwrap();
    let download = against(&sim, other.path())
        .args(["download", &made[1], "--json", "--out"])
        .arg(other.path().join("fetched"))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(
        download.status.code(),
        Some(0),
        "{variation:?}: {}",
        String::from_utf8_lossy(&download.stderr)
    );
    let lines = json_lines(&download.stdout);
    assert_exact(&rt, &sim, lines.last().unwrap(), want);
}

#[test]
fn optional_fields_absent() {
    through_every_command(Variation::OptionalAbsent);
}

#[test]
fn nullable_fields_null() {
    through_every_command(Variation::NullableNull);
}

#[test]
fn unknown_fields_at_every_level() {
    through_every_command(Variation::UnknownFields);
}

#[test]
fn numbers_as_floats() {
    through_every_command(Variation::FloatNumbers);
}

#[test]
fn times_with_offsets_and_no_fractions() {
    through_every_command(Variation::TimeOffsets);
}

#[test]
fn several_assets() {
    through_every_command(Variation::SeveralAssets);
}

#[test]
fn a_quicktime_asset() {
    through_every_command(Variation::Quicktime);
}
