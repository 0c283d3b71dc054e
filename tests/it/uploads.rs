//! Reference media from local files, through the real binary against the simulator: checks
//! before anything is sent, both upload paths, reuse of what was uploaded, and faults.

use std::path::{Path, PathBuf};

use crate::common::*;
use kling_sim::{Fault, SimConfig};
use predicates::prelude::*;

struct Files {
    start: PathBuf,
    refs: Vec<PathBuf>,
    video: PathBuf,
}

fn files(dir: &Path) -> Files {
    Files {
        start: png(dir, "start.png", 1280, 720),
        refs: vec![
            png(dir, "fox.png", 800, 800),
            png(dir, "hat.png", 600, 900),
            png(dir, "snow.png", 1024, 576),
        ],
        video: mp4(dir, "camera.mp4", 11 * 1024 * 1024 + 123),
    }
}

fn submit_with(sim: &kling_sim::SimHandle, home: &Path, f: &Files) -> assert_cmd::assert::Assert {
    let mut cmd = against(sim, home);
    cmd.args([
        "submit",
        "--prompt",
        "<<<image_1>>> wears <<<image_2>>> in <<<image_3>>>, filmed like <<<video_1>>>",
        "--json",
        "--start-image",
    ])
    .arg(&f.start);
    for r in &f.refs {
        cmd.arg("--reference-image").arg(r);
    }
    cmd.arg("--reference-video").arg(&f.video);
    cmd.assert()
}

#[test]
fn local_files_become_asset_ids_in_the_right_fields_and_are_reused() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let f = files(home.path());
    submit_with(&sim, home.path(), &f).success();

    let stats = sim.stats();
    assert_eq!(stats.asset_uploads, 4, "four images inline");
    assert_eq!(
        stats.uploads_created, 1,
        "one multipart upload for the video"
    );
    assert_eq!(stats.upload_parts_put, 3, "11 MiB in 5 MiB parts");
    assert_eq!(stats.upload_put_with_authorization, 0);
    assert_eq!(stats.generate_posts, 1);
    let body = stats.last_generate_body.clone().unwrap();
    let id = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    assert!(id(&body["startImage"]).starts_with("asset_"), "{body}");
    assert!(id(&body["referenceVideo"]).starts_with("asset_"), "{body}");
    let refs = body["referenceImages"].as_array().expect("an array");
    assert_eq!(refs.len(), 3);
    let mut all: Vec<String> = refs.iter().map(id).collect();
    all.push(id(&body["startImage"]));
    all.push(id(&body["referenceVideo"]));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 5, "every file its own asset: {body}");
    // Each id holds the bytes of the file named in that place, references in prompt order.
    let bytes_of = |v: &serde_json::Value| sim.uploaded_bytes(&id(v)).expect("an uploaded asset");
    assert_eq!(
        bytes_of(&body["startImage"]),
        std::fs::read(&f.start).unwrap()
    );
    for (i, path) in f.refs.iter().enumerate() {
        assert_eq!(
            bytes_of(&refs[i]),
            std::fs::read(path).unwrap(),
            "image_{}",
            i + 1
        );
    }
    assert!(bytes_of(&body["referenceVideo"]) == std::fs::read(&f.video).unwrap());

    // The same files again: nothing is uploaded, the same ids are sent.
    submit_with(&sim, home.path(), &f).success();
    let again = sim.stats();
    assert_eq!(
        (
            again.asset_uploads,
            again.uploads_created,
            again.upload_parts_put
        ),
        (4, 1, 3)
    );
    assert_eq!(again.generate_posts, 2);
    assert_eq!(again.last_generate_body.unwrap(), body);
}

#[test]
fn a_failing_part_is_retried() {
    let (_rt, sim) = sim_with(quick_config());
    sim.inject(Fault::UploadPartFail { count: 1 });
    let home = tempfile::tempdir().unwrap();
    let video = mp4(home.path(), "camera.mp4", 6 * 1024 * 1024);
    let out = against(&sim, home.path())
        .args(["upload", "--json"])
        .arg(&video)
        .assert()
        .success();
    let lines = json_lines(&out.get_output().stdout);
    assert!(lines[0]["assetId"].as_str().unwrap().starts_with("asset_"));
    assert_eq!(lines[0]["reused"], false);
    assert_eq!(sim.stats().upload_parts_put, 3, "two parts, one sent twice");
}

#[test]
fn a_failed_import_is_reported_and_nothing_is_charged() {
    let (_rt, sim) = sim_with(quick_config());
    sim.inject(Fault::ImportFail { count: 1 });
    let home = tempfile::tempdir().unwrap();
    let f = files(home.path());
    submit_with(&sim, home.path(), &f)
        .code(3)
        .stderr(predicate::str::contains("camera.mp4: upload failed"));
    assert_eq!(sim.stats().generate_posts, 0);
}

#[test]
fn uploaded_before_a_crash_means_one_generate_after_it() {
    let (_rt, sim) = sim_with(quick_config());
    let home = tempfile::tempdir().unwrap();
    let f = files(home.path());
    // The uploads happen, then the process is gone before it submits.
    against(&sim, home.path())
        .arg("upload")
        .arg(&f.start)
        .args(&f.refs)
        .arg(&f.video)
        .assert()
        .success();
    assert_eq!(sim.stats().generate_posts, 0);
    submit_with(&sim, home.path(), &f).success();
    let stats = sim.stats();
    assert_eq!(stats.generate_posts, 1);
    assert_eq!(
        (stats.asset_uploads, stats.uploads_created),
        (4, 1),
        "nothing uploaded twice"
    );
}

/// An MP4 whose header says `secs` long at 1280×720.
fn long_mp4(dir: &Path, name: &str, secs: u32) -> PathBuf {
    let path = mp4(dir, name, 4096);
    let mut bytes = std::fs::read(&path).unwrap();
    // mvhd's duration (timescale 1000) sits 20 bytes into its body.
    let at = bytes.windows(4).position(|w| w == b"mvhd").unwrap() + 4 + 16;
    bytes[at..at + 4].copy_from_slice(&(secs * 1000).to_be_bytes());
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn bad_files_are_refused_before_anything_is_sent_each_naming_file_and_rule() {
    let (_rt, sim) = sim_with(SimConfig { ..quick_config() });
    let home = tempfile::tempdir().unwrap();
    let small = png(home.path(), "small.png", 200, 200);
    let gif = home.path().join("anim.png");
    std::fs::write(&gif, b"GIF89a\x01\0\x01\0").unwrap();
    let short = home.path().join("short.mp4");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/sim/assets/demo.mp4"),
        &short,
    )
    .unwrap();
    against(&sim, home.path())
        .args(["submit", "--prompt", "x", "--start-image"])
        .arg(&small)
        .arg("--reference-image")
        .arg(&gif)
        .arg("--reference-video")
        .arg(&short)
        .arg("--reference-image")
        .arg(home.path().join("missing.jpg"))
        .arg("--end-image")
        .arg(long_mp4(home.path(), "long.mp4", 12))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "small.png: 200×200 px: each side must be at least 300 px",
        ))
        .stderr(predicate::str::contains(
            "anim.png: is not a PNG, JPEG or WebP image",
        ))
        .stderr(predicate::str::contains("short.mp4: 2.0 s long"))
        .stderr(predicate::str::contains("short.mp4: 320×180 px"))
        .stderr(predicate::str::contains("missing.jpg: cannot read it"))
        .stderr(predicate::str::contains(
            "long.mp4: is a video (MP4), an image is needed",
        ));
    // A video too long for a reference, through `upload`.
    against(&sim, home.path())
        .arg("upload")
        .arg(long_mp4(home.path(), "twelve.mp4", 12))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "twelve.mp4: 12.0 s long: reference videos must last 3 to 10 s",
        ));
    assert!(sim.stats().requests.is_empty(), "a request was sent");
}
