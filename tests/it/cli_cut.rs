//! `seq cut` with the real binary and the real ffmpeg: a sequence's chosen takes joined into
//! one film with a chapter per shot, the list and the documented exit code without ffmpeg, and
//! the refusals that name the shot. The tests that need ffmpeg skip, saying so, without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use kling_tui::api::types::JobStatus;
use kling_tui::engine::{Ledger, Record};
use kling_tui::takes::Takes;
use serde_json::Value;

/// ffmpeg and ffprobe on this PATH, or a message that the test is skipped.
fn have_ffmpeg(test: &str) -> bool {
    let path = std::env::var_os("PATH");
    let found = ["ffmpeg", "ffprobe"]
        .iter()
        .all(|tool| kling_tui::cut::find_tool(tool, path.as_deref()).is_some());
    if !found {
        eprintln!("{test}: skipped, ffmpeg and ffprobe are not on the PATH");
    }
    found
}

fn make_clip(path: &Path, seconds: f64) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(["-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size=320x240:rate=25:duration={seconds}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=48000:duration={seconds}"
        ))
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-c:a", "aac", "-shortest"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A ledger with one finished, downloaded job per file (#1, #2, ...), and the sequence `pier`
/// of one shot per job, each chosen.
fn seed(home: &Path, files: &[PathBuf]) {
    let dir = ledger_dir(None, home);
    std::fs::create_dir_all(&dir).unwrap();
    let mut ledger = Ledger::open(&dir).unwrap();
    let mut ids = Vec::new();
    for (n, file) in files.iter().enumerate() {
        let request = kling_tui::kling::KlingRequest::new(format!("take {} of the pier", n + 1));
        let id = ledger
            .record_intent(format!("2026-11-2{}T10:00:00Z", n + 1), request, None, None)
            .unwrap();
        for record in [
            Record::Accepted {
                local_id: id,
                job_id: format!("job_{n}"),
                cost: Some(75.0),
            },
            Record::Status {
                local_id: id,
                status: JobStatus::Success,
                progress: 1.0,
                asset_ids: vec![format!("asset_{n}")],
                error: None,
                cost: Some(75.0),
                hint: None,
                history: vec![],
            },
            Record::Downloaded {
                local_id: id,
                index: 0,
                file: file.clone(),
                size: std::fs::metadata(file).ok().map(|m| m.len()),
                last_frame: None,
                duration: None,
            },
        ] {
            ledger.append(record, false).unwrap();
        }
        ids.push(id);
    }
    drop(ledger);
    let takes = Takes::open(&dir).unwrap();
    takes.new_sequence("pier").unwrap();
    for id in ids {
        takes.add_shot("pier", Some(id)).unwrap();
    }
}

fn clip_files(home: &Path, real: bool) -> Vec<PathBuf> {
    let folder = home.join("takes");
    std::fs::create_dir_all(&folder).unwrap();
    [1.0, 1.2, 2.0]
        .iter()
        .enumerate()
        .map(|(n, seconds)| {
            let file = folder.join(format!("000{}_job_{n}.mp4", n + 1));
            if real {
                make_clip(&file, *seconds);
            } else {
                std::fs::write(&file, b"a take").unwrap();
            }
            file
        })
        .collect()
}

#[test]
fn seq_cut_joins_the_chosen_takes_in_order_with_a_chapter_per_shot() {
    if !have_ffmpeg("seq_cut_joins_the_chosen_takes") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let files = clip_files(h, true);
    let sum: f64 = files.iter().map(|f| probe_film(f).0).sum();
    seed(h, &files);

    let out = bin(h)
        .args(["seq", "cut", "pier", "--out", "film.mp4"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    let film = h.join("film.mp4");
    assert!(
        stdout.starts_with(&format!("{}  ", film.display()))
            && stdout.contains(" s  3 chapters  stream copy"),
        "{stdout}"
    );
    // Off a terminal, a line per tenth, the last at 100 %.
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.first(), Some(&"cutting pier    0%"), "{stderr}");
    assert_eq!(lines.last(), Some(&"cutting pier  100%"), "{stderr}");
    let (duration, titles) = probe_film(&film);
    assert!((duration - sum).abs() <= 0.2, "{duration} against {sum}");
    assert_eq!(
        titles,
        [
            "Shot 1 · job 1 · take 1 of the pier",
            "Shot 2 · job 2 · take 2 of the pier",
            "Shot 3 · job 3 · take 3 of the pier",
        ]
    );

    let out = bin(h)
        .args(["seq", "cut", "pier", "--out", "again.mp4", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let said: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(said["sequence"], "pier");
    assert_eq!(said["out"], h.join("again.mp4").to_str().unwrap());
    assert_eq!(said["chapters"], 3);
    assert_eq!(said["streamCopy"], true);
    assert_eq!(said["whyReencoded"], Value::Null);
    assert!(
        (said["durationSeconds"].as_f64().unwrap() - sum).abs() <= 0.2,
        "{said}"
    );
}

#[test]
fn seq_cut_without_ffmpeg_writes_the_list_and_exits_2() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // Real clips where ffmpeg is at hand, stand-ins where it is not: the cut runs no ffmpeg.
    let real = kling_tui::cut::Tools::find(std::env::var_os("PATH").as_deref()).is_ok();
    let files = clip_files(h, real);
    seed(h, &files);
    let empty = tempfile::tempdir().unwrap();
    let out = bin(h)
        .env("PATH", empty.path())
        .args(["seq", "cut", "pier", "--out", "film.mp4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let list = h.join("film.mp4.ffconcat");
    for words in [
        "error: ffmpeg and ffprobe not found on the PATH",
        "apt-get install ffmpeg",
        "brew install ffmpeg",
        "https://ffmpeg.org/download.html",
        &format!("ffmpeg -f concat -safe 0 -i {} -c copy", list.display()),
    ] {
        assert!(stderr.contains(words), "{words:?} not in {stderr}");
    }
    let text = std::fs::read_to_string(&list).unwrap();
    let listed: Vec<&str> = text.lines().filter(|l| l.starts_with("file ")).collect();
    let wanted: Vec<String> = files
        .iter()
        .map(|f| format!("file '{}'", f.display()))
        .collect();
    assert_eq!(listed, wanted, "{text}");
    assert!(!h.join("film.mp4").exists());
}

#[test]
fn seq_cut_refuses_a_shot_without_a_chosen_take_or_a_video_on_disk_naming_it() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let files = clip_files(h, false);
    seed(h, &files);
    let cut = |out: &str| {
        bin(h)
            .args(["seq", "cut", "pier", "--out", out])
            .output()
            .unwrap()
    };

    let over = cut(files[1].to_str().unwrap());
    assert_eq!(over.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&over.stderr).contains("is one of the clips"));
    assert_eq!(std::fs::read(&files[1]).unwrap(), b"a take");

    std::fs::remove_file(&files[1]).unwrap();
    let gone = cut("film.mp4");
    assert_eq!(gone.status.code(), Some(3));
    let err = String::from_utf8_lossy(&gone.stderr);
    assert!(
        err.contains("shot 2: the video of job #2 is not at")
            && err.contains("`kling-tui download 2` fetches it"),
        "{err}"
    );

    std::fs::write(&files[1], b"a take").unwrap();
    Takes::open(&ledger_dir(None, h))
        .unwrap()
        .add_shot("pier", None)
        .unwrap();
    let unchosen = cut("film.mp4");
    assert_eq!(unchosen.status.code(), Some(2));
    let err = String::from_utf8_lossy(&unchosen.stderr);
    assert!(err.contains("shot 4 of pier has no chosen take"), "{err}");
    assert!(!h.join("film.mp4").exists());
}
