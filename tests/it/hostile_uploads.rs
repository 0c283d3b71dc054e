//! Reference uploads against a hostile server and an unlucky user: a file replaced while it
//! goes up, asset ids carrying escape sequences or `../`, a FIFO where a file was.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use crate::common::{against, json_lines, process, sim_with};
use kling_sim::{Fault, Faults, Route, SimConfig};

#[test]
fn a_file_replaced_while_it_uploads_is_never_reused_for_its_old_bytes() {
    let (_rt, sim) = sim_with(SimConfig {
        time_scale: 600.0,
        // Time enough to change the file while the upload is being created.
        faults: Faults {
            latency: Duration::from_millis(1500),
            ..Faults::default()
        },
        ..SimConfig::default()
    });
    let home = tempfile::tempdir().unwrap();
    let video = common::mp4(home.path(), "camera.mp4", 6 * 1024 * 1024);
    let original = std::fs::read(&video).unwrap();
    let child = process(Some(&sim), home.path())
        .args(["upload", "--json"])
        .arg(&video)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let creating = || {
        sim.stats()
            .requests
            .iter()
            .any(|(_, route)| *route == Route::CreateUpload)
    };
    for _ in 0..600 {
        if creating() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(creating(), "the upload was never created");
    // Same size, other bytes: replaced while the server is still answering.
    let mut changed = original.clone();
    let len = changed.len();
    changed[len - 4096..].iter_mut().for_each(|b| *b ^= 0xff);
    std::fs::write(&video, &changed).unwrap();
    let first = child.wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let first = json_lines(&first.stdout);
    let changed_asset = first[0]["assetId"].as_str().unwrap().to_string();
    // The original bytes, uploaded now: a new upload, never the asset of the other bytes.
    let again = home.path().join("again.mp4");
    std::fs::write(&again, &original).unwrap();
    let second = against(&sim, home.path())
        .args(["upload", "--json"])
        .arg(&again)
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let second = json_lines(&second.get_output().stdout);
    assert_eq!(second[0]["reused"], false, "{second:?}");
    assert_ne!(second[0]["assetId"], changed_asset.as_str());
    assert_eq!(sim.stats().uploads_created, 2);
    // The changed bytes, uploaded again: those are the ones reused.
    let third = home.path().join("changed.mp4");
    std::fs::write(&third, &changed).unwrap();
    let reused = against(&sim, home.path())
        .args(["upload", "--json"])
        .arg(&third)
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let reused = json_lines(&reused.get_output().stdout);
    assert_eq!(reused[0]["reused"], true, "{reused:?}");
    assert_eq!(reused[0]["assetId"], changed_asset.as_str());
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}

#[test]
fn an_asset_id_with_escapes_or_a_path_is_refused_and_nothing_raw_is_printed() {
    let (_rt, sim) = sim_with(common::quick_config());
    let home = tempfile::tempdir().unwrap();
    for (hostile, file) in [
        // OSC 52 writes the user's clipboard; CSI moves the cursor.
        (
            "asset_\u{1b}]52;c;aGFja2Vk\u{7}\u{1b}[2J",
            common::png(home.path(), "frame.png", 640, 480),
        ),
        (
            "../../etc/asset_\u{202e}x",
            common::mp4(home.path(), "camera.mp4", 6 * 1024 * 1024),
        ),
    ] {
        sim.inject(Fault::NextAssetId {
            id: hostile.to_string(),
        });
        for json in [false, true] {
            let mut cmd = against(&sim, home.path());
            cmd.arg("upload");
            if json {
                cmd.arg("--json");
            }
            let out = cmd
                .arg(&file)
                .timeout(Duration::from_secs(120))
                .output()
                .unwrap();
            let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
            assert!(
                !all.contains(&0x1b),
                "an escape reached the terminal: {all:?}"
            );
            assert!(
                !String::from_utf8_lossy(&all).contains('\u{202e}'),
                "a bidi control reached the terminal"
            );
            if !json {
                // Refused once; the second run uploads anew and gets a plain id.
                assert_ne!(out.status.code(), Some(0));
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains("is not an identifier"), "{stderr}");
            } else {
                assert_eq!(out.status.code(), Some(0));
                let lines = json_lines(&out.stdout);
                let id = lines[0]["assetId"].as_str().unwrap();
                assert!(id.starts_with("asset_") && !id.contains(".."), "{id}");
            }
        }
    }
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}

#[test]
fn a_fifo_where_a_file_was_is_refused_at_once() {
    let (_rt, sim) = sim_with(common::quick_config());
    let home = tempfile::tempdir().unwrap();
    let fifo = home.path().join("frame.png");
    let path = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a plain call with a valid, NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    for args in [
        vec!["upload".to_string(), fifo.display().to_string()],
        vec![
            "submit".to_string(),
            "--prompt".into(),
            "a fox".into(),
            "--start-image".into(),
            fifo.display().to_string(),
        ],
    ] {
        // A guard, not a measure: a FIFO opened for reading would block until then.
        let out = against(&sim, home.path())
            .args(&args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("frame.png"), "{stderr}");
        assert!(
            stderr.contains("not a file") || stderr.contains("not a regular file"),
            "{stderr}"
        );
    }
    assert_eq!(sim.stats().generate_posts, 0);
}

#[test]
fn a_job_id_with_escapes_is_refused_and_the_job_is_not_called_missing() {
    let (_rt, sim) = sim_with(common::quick_config());
    let home = tempfile::tempdir().unwrap();
    sim.inject(Fault::NextJobId {
        id: "job_\u{1b}]52;c;aGFja2Vk\u{7}/../x".to_string(),
    });
    let out = against(&sim, home.path())
        .args([
            "submit",
            "--prompt",
            "a red fox in snow",
            "--json",
            "--wait",
        ])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
    assert!(!all.contains(&0x1b), "an escape reached the terminal");
    assert_ne!(out.status.code(), Some(0));
    let lines = json_lines(&out.stdout);
    let report = lines.last().unwrap_or_else(|| {
        panic!(
            "no report; exit {:?}, stderr {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["status"], "unconfirmed", "{report}");
    let reason = report["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("is not an identifier"), "{reason}");
    // Searched for in the job list, where the same id is left out: said, not "not created".
    let listed = against(&sim, home.path())
        .args(["jobs", "--json"])
        .output()
        .unwrap();
    assert!(!listed.stdout.contains(&0x1b));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("probably not created"), "{stderr}");
    against(&sim, home.path())
        .args(["engine", "stop"])
        .assert()
        .success();
}
