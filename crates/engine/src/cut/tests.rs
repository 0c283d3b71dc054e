//! The pure parts by tables; the cut itself with the real ffmpeg on clips it makes, skipped
//! with a message where ffmpeg or ffprobe is not on the PATH.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::output::Partial;
use super::progress::{Said, parse_line};
use super::*;

fn video(codec: &str, w: u32, h: u32, rate: &str, pix: &str) -> VideoStream {
    VideoStream {
        codec: codec.into(),
        width: w,
        height: h,
        frame_rate: Rate::parse(rate).expect("a rate"),
        pix_fmt: pix.into(),
    }
}

fn aac(rate: u32, channels: u32) -> Option<AudioStream> {
    Some(AudioStream {
        codec: "aac".into(),
        sample_rate: rate,
        channels,
    })
}

fn probe_of(video: VideoStream, audio: Option<AudioStream>) -> Probe {
    Probe {
        video,
        audio,
        duration_s: 1.0,
    }
}

#[test]
fn the_plan_copies_only_what_matches_in_everything() {
    let base = || probe_of(video("h264", 1280, 720, "24/1", "yuv420p"), aac(48000, 2));
    // (second clip, the words its reason must hold; none: a stream copy)
    let table: Vec<(Probe, Option<&[&str]>)> = vec![
        (base(), None),
        (
            probe_of(video("h264", 1280, 720, "48/2", "yuv420p"), aac(48000, 2)),
            None,
        ),
        (
            probe_of(video("hevc", 1280, 720, "24/1", "yuv420p"), aac(48000, 2)),
            Some(&["clip 2", "codec (hevc, not h264)"]),
        ),
        (
            probe_of(video("h264", 640, 360, "24/1", "yuv420p"), aac(48000, 2)),
            Some(&["size (640×360, not 1280×720)"]),
        ),
        (
            probe_of(
                video("h264", 1280, 720, "30000/1001", "yuv420p"),
                aac(48000, 2),
            ),
            Some(&["frame rate (30000/1001 fps, not 24 fps)"]),
        ),
        (
            probe_of(video("h264", 1280, 720, "24/1", "yuv444p"), aac(48000, 2)),
            Some(&["pixel format (yuv444p, not yuv420p)"]),
        ),
        (
            probe_of(video("h264", 1280, 720, "24/1", "yuv420p"), None),
            Some(&["sound (none, not aac 48000 Hz 2 ch)"]),
        ),
        (
            probe_of(video("h264", 1280, 720, "24/1", "yuv420p"), aac(44100, 2)),
            Some(&["sound (aac 44100 Hz 2 ch"]),
        ),
        (
            probe_of(video("h264", 640, 720, "25/1", "yuv420p"), aac(48000, 2)),
            Some(&["size (640×720", " and frame rate (25 fps"]),
        ),
    ];
    for (second, words) in table {
        let got = plan(&[base(), base(), second.clone()]);
        match (words, &got) {
            (None, Plan::Copy) => {}
            (Some(words), Plan::Reencode(how)) => {
                let why = how.why.replace("clip 3", "clip 2");
                for w in words {
                    assert!(why.contains(w), "{w:?} not in {:?}", how.why);
                }
                assert!(how.why.starts_with("clip 3 differs from clip 1 in "));
                assert_eq!((how.width, how.height), (1280, 720));
                assert_eq!(how.frame_rate, Rate { num: 24, den: 1 });
                assert!(how.audio);
            }
            (words, got) => panic!("{second:?}: wanted {words:?}, got {got:?}"),
        }
    }
}

#[test]
fn a_reencode_is_even_sized_and_silent_only_when_no_clip_has_sound() {
    let first = probe_of(video("h264", 721, 405, "25/1", "yuv420p"), None);
    let second = probe_of(video("h264", 640, 360, "25/1", "yuv420p"), None);
    let Plan::Reencode(how) = plan(&[first.clone(), second.clone()]) else {
        panic!("sizes differ");
    };
    assert_eq!((how.width, how.height), (722, 406));
    assert!(!how.audio);
    let with_sound = probe_of(video("h264", 640, 360, "25/1", "yuv420p"), aac(48000, 1));
    let Plan::Reencode(how) = plan(&[first, with_sound]) else {
        panic!("sizes differ");
    };
    assert!(how.audio);
    assert_eq!(plan(&[]), Plan::Copy);
}

#[test]
fn a_reencode_gives_each_silent_clip_its_own_silence() {
    let with = probe_of(video("h264", 320, 240, "25/1", "yuv420p"), aac(48000, 2));
    let mut without = probe_of(video("h264", 640, 480, "25/1", "yuv420p"), None);
    without.duration_s = 1.5;
    let Plan::Reencode(how) = plan(&[with.clone(), without.clone()]) else {
        panic!("they differ");
    };
    let (a, b) = (Path::new("/c/a.mp4"), Path::new("/c/b.mp4"));
    let args = command::reencode_args(
        &[(a, &with), (b, &without)],
        &how,
        Path::new("/w/meta.txt"),
        Path::new("/o/.x.cut-1/x"),
    );
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let joined = args.join(" ");
    assert!(
        joined.contains("-f lavfi -t 1.500000 -i anullsrc"),
        "{joined}"
    );
    let filter = &args[args
        .iter()
        .position(|a| a == "-filter_complex")
        .expect("a filter")
        + 1];
    assert!(filter.contains("[0:a:0]aresample"), "{filter}");
    assert!(filter.contains("[2:a:0]aresample"), "{filter}");
    assert!(
        filter.ends_with("[v0][a0][v1][a1]concat=n=2:v=1:a=1[v][a]"),
        "{filter}"
    );
    // Inputs: two clips, the silence, then the chapters.
    assert!(
        joined.contains("-map_metadata 3 -map_chapters 3"),
        "{joined}"
    );
    assert!(joined.ends_with("-f mp4 /o/.x.cut-1/x"), "{joined}");
}

#[test]
fn ffprobe_answers_are_read_for_what_the_plan_needs() {
    let json = br#"{"streams":[
        {"codec_name":"aac","codec_type":"audio","sample_rate":"44100","channels":1,
         "r_frame_rate":"0/0","avg_frame_rate":"0/0"},
        {"codec_name":"h264","codec_type":"video","width":1920,"height":1080,
         "pix_fmt":"yuv420p","r_frame_rate":"0/0","avg_frame_rate":"48000/2002"}],
        "format":{"duration":"5.041000"}}"#;
    let p = parse_probe(json).expect("a probe");
    assert_eq!(p.video, video("h264", 1920, 1080, "24000/1001", "yuv420p"));
    assert_eq!(p.audio, aac(44100, 1));
    assert!((p.duration_s - 5.041).abs() < 1e-9);

    let silent = br#"{"streams":[{"codec_type":"video","codec_name":"vp9","width":2,
        "height":2,"r_frame_rate":"25/1"}],"format":{"duration":"1"}}"#;
    assert_eq!(parse_probe(silent).expect("a probe").audio, None);

    for (json, says) in [
        (&br#"{"streams":[{"codec_type":"audio"}],"format":{"duration":"1"}}"#[..], "no video"),
        (br#"{"streams":[{"codec_type":"video","width":2,"height":2,"r_frame_rate":"25/1"}],"format":{}}"#, "no duration"),
        (br#"{"streams":[{"codec_type":"video","width":2,"height":2,"r_frame_rate":"0/0"}],"format":{"duration":"1"}}"#, "no frame rate"),
        (b"not json", "not JSON"),
    ] {
        let e = parse_probe(json).expect_err("refused");
        assert!(e.contains(says), "{e}");
    }
}

#[test]
fn the_list_quotes_every_path_as_the_demuxer_reads_it() {
    let list = ffconcat(&[
        (Path::new("/v/it's here.mp4"), Some(1.5)),
        (Path::new("/v/b.mp4"), None),
    ])
    .expect("a list");
    assert_eq!(
        String::from_utf8(list).expect("text"),
        "ffconcat version 1.0\nfile '/v/it'\\''s here.mp4'\nduration 1.500000\nfile '/v/b.mp4'\n"
    );
    assert!(ffconcat(&[(Path::new("/v/a\nb.mp4"), None)]).is_err());
    assert_eq!(shell_quote(Path::new("/v/b.mp4")), "/v/b.mp4");
    assert_eq!(shell_quote(Path::new("/v/it's.mp4")), r"'/v/it'\''s.mp4'");
}

#[test]
fn chapters_run_end_to_end_in_milliseconds_with_their_titles_escaped() {
    let meta = ffmetadata(&[
        ("Shot 1 · a=b; #1 \\", 1.0004),
        ("two\u{1b}[31m\nlines", 2.0002),
    ]);
    assert_eq!(
        meta,
        ";FFMETADATA1\n\
         [CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=Shot 1 · a\\=b\\; \\#1 \\\\\n\
         [CHAPTER]\nTIMEBASE=1/1000\nSTART=1000\nEND=3001\ntitle=two lines\n"
    );
}

#[test]
fn progress_lines_give_the_output_time_or_the_end() {
    assert_eq!(parse_line("out_time_us=1500000"), Some(Said::At(1.5)));
    assert_eq!(parse_line("out_time_ms=250000"), Some(Said::At(0.25)));
    assert_eq!(parse_line("out_time_us=N/A"), None);
    assert_eq!(parse_line("out_time_us=-5"), None);
    assert_eq!(parse_line("out_time=00:00:01.500000"), None);
    assert_eq!(parse_line("progress=continue"), None);
    assert_eq!(parse_line("progress=end"), Some(Said::End));
    let p = CutProgress {
        done_s: 3.0,
        total_s: 2.0,
    };
    assert_eq!(p.fraction(), 1.0);
}

#[test]
fn tools_are_found_only_as_executables_on_the_path_given() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("a folder");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    let ffmpeg = bin.join("ffmpeg");
    std::fs::write(&ffmpeg, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&ffmpeg, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(bin.join("ffprobe"), "").expect("write");
    let path = std::env::join_paths([dir.path(), &bin]).expect("a PATH");
    assert_eq!(find_tool("ffmpeg", Some(&path)), Some(ffmpeg.clone()));
    // Not executable: not a tool.
    assert_eq!(find_tool("ffprobe", Some(&path)), None);
    assert_eq!(Tools::find(Some(&path)), Err("ffprobe"));
    assert_eq!(Tools::find(Some(OsStr::new(""))), Err("ffmpeg and ffprobe"));
    assert_eq!(find_tool("ffmpeg", None), None);
}

#[test]
fn an_unfinished_output_is_removed_when_dropped() {
    let dir = tempfile::tempdir().expect("a folder");
    let out = dir.path().join("film.mp4");
    let partial = Partial::beside(&out).expect("a working folder");
    let private = partial.path().parent().expect("its folder").to_owned();
    assert_eq!(private.parent(), Some(dir.path()));
    assert!(
        private
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".film.mp4.cut-")
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&private)
        .expect("made")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    std::fs::write(partial.path(), b"half").expect("write");
    drop(partial);
    assert!(!private.exists());
    assert!(!out.exists());
}

#[test]
fn a_link_planted_where_a_film_was_written_before_is_never_followed() {
    // Where an earlier version wrote its unfinished film, a link to a file of the user's.
    let dir = tempfile::tempdir().expect("a folder");
    let victim = dir.path().join("notes.txt");
    std::fs::write(&victim, b"mine").expect("write");
    let out = dir.path().join("film.mp4");
    std::os::unix::fs::symlink(&victim, dir.path().join(".film.mp4.part.mp4")).expect("link");
    let partial = Partial::beside(&out).expect("a working folder");
    std::fs::write(partial.path(), b"film").expect("write");
    partial.finish(&out).expect("placed");
    assert_eq!(std::fs::read(&out).expect("the film"), b"film");
    assert_eq!(std::fs::read(&victim).expect("the victim"), b"mine");
}

// ---- With the real ffmpeg ----

/// ffmpeg and ffprobe from the PATH, or `None` after saying the test is skipped.
fn real_tools(test: &str) -> Option<Tools> {
    let found = Tools::find(std::env::var_os("PATH").as_deref());
    if found.is_err() {
        eprintln!("{test}: skipped, ffmpeg and ffprobe are not on the PATH");
    }
    found.ok()
}

/// A small H.264 clip from ffmpeg's test pattern, with a tone unless `sound` is false.
fn make_clip(tools: &Tools, path: &Path, size: &str, seconds: f64, sound: bool) {
    let mut command = Command::new(&tools.ffmpeg);
    command.args([
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        "-f",
        "lavfi",
        "-i",
    ]);
    command.arg(format!("testsrc2=size={size}:rate=25:duration={seconds}"));
    if sound {
        command.args(["-f", "lavfi", "-i"]);
        command.arg(format!(
            "sine=frequency=440:sample_rate=48000:duration={seconds}"
        ));
        command.args(["-c:a", "aac", "-shortest"]);
    }
    command.args([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
    ]);
    command.arg(path);
    let status = command.status().expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made no clip {}", path.display());
}

/// The file's duration and its chapters' titles, from ffprobe.
fn read_back(tools: &Tools, file: &Path) -> (f64, Vec<String>, usize) {
    let output = Command::new(&tools.ffprobe)
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_chapters",
            "-show_format",
        ])
        .args(["-show_streams", "-i"])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let duration = json["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("a duration");
    let titles = json["chapters"]
        .as_array()
        .expect("chapters")
        .iter()
        .map(|c| c["tags"]["title"].as_str().unwrap_or_default().to_owned())
        .collect();
    let audio_streams = json["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .filter(|s| s["codec_type"] == "audio")
        .count();
    (duration, titles, audio_streams)
}

fn clips_in(dir: &Path, names: &[&str]) -> Vec<Clip> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| Clip {
            path: dir.join(name),
            title: format!("Shot {} · job {} · a fox = runs; #{}", i + 1, 10 + i, i + 1),
        })
        .collect()
}

fn titles(clips: &[Clip]) -> Vec<String> {
    clips.iter().map(|c| c.title.clone()).collect()
}

/// Nothing in `dir` but the clips (no output, no part file, no list).
fn leftovers(dir: &Path, clips: &[Clip]) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("read")
        .flatten()
        .map(|e| e.path())
        .filter(|p| !clips.iter().any(|c| &c.path == p))
        .collect()
}

#[tokio::test]
async fn matching_clips_are_joined_by_stream_copy_with_a_chapter_each() {
    let Some(tools) = real_tools("matching_clips_are_joined_by_stream_copy") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a folder");
    let clips = clips_in(dir.path(), &["a.mp4", "b.mp4", "c d's.mp4"]);
    let mut sum = 0.0;
    for (clip, seconds) in clips.iter().zip([1.0, 2.0, 1.2]) {
        make_clip(&tools, &clip.path, "320x240", seconds, true);
        sum += read_back(&tools, &clip.path).0;
    }
    let out = dir.path().join("film.mp4");
    let mut seen = Vec::new();
    let outcome = cut(&clips, &out, &mut |p| seen.push(p.fraction()))
        .await
        .expect("a cut");
    assert!(outcome.stream_copy, "{outcome:?}");
    assert_eq!(outcome.why_reencoded, None);
    assert_eq!(outcome.chapters, 3);
    assert_eq!(outcome.out, out);
    let (duration, chapter_titles, audio) = read_back(&tools, &out);
    assert!((duration - sum).abs() <= 0.2, "{duration} against {sum}");
    assert!((outcome.duration_s - duration).abs() < 1e-6);
    assert_eq!(chapter_titles, titles(&clips));
    assert_eq!(audio, 1);
    assert_eq!(seen.first(), Some(&0.0));
    assert_eq!(seen.last(), Some(&1.0));
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(leftovers(dir.path(), &clips), vec![out]);
}

#[tokio::test]
async fn a_clip_of_another_size_is_reencoded_and_the_outcome_says_why() {
    let Some(tools) = real_tools("a_clip_of_another_size_is_reencoded") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a folder");
    let clips = clips_in(dir.path(), &["a.mp4", "b.mp4", "c.mp4"]);
    let mut sum = 0.0;
    for (clip, (size, sound)) in
        clips
            .iter()
            .zip([("320x240", true), ("160x120", true), ("320x240", false)])
    {
        make_clip(&tools, &clip.path, size, 1.0, sound);
        sum += read_back(&tools, &clip.path).0;
    }
    let out = dir.path().join("film.mp4");
    let outcome = cut(&clips, &out, &mut |_| {}).await.expect("a cut");
    assert!(!outcome.stream_copy);
    let why = outcome.why_reencoded.expect("a reason");
    assert!(
        why.contains("clip 2") && why.contains("size (160×120, not 320×240)"),
        "{why}"
    );
    let (duration, chapter_titles, audio) = read_back(&tools, &out);
    assert!((duration - sum).abs() <= 0.2, "{duration} against {sum}");
    assert_eq!(chapter_titles, titles(&clips));
    // The silent clip got silence: the film keeps its sound track throughout.
    assert_eq!(audio, 1);
    assert_eq!(leftovers(dir.path(), &clips), vec![out]);
}

#[tokio::test]
async fn without_ffmpeg_the_list_is_written_beside_the_output_with_the_command() {
    // With ffmpeg at hand the clips are real and the list is run; without, stand-ins.
    let tools = Tools::find(std::env::var_os("PATH").as_deref()).ok();
    let dir = tempfile::tempdir().expect("a folder");
    let clips = clips_in(dir.path(), &["a.mp4", "b.mp4", "it's.mp4"]);
    for clip in &clips {
        match &tools {
            Some(tools) => make_clip(tools, &clip.path, "160x120", 1.0, true),
            None => std::fs::write(&clip.path, b"not a video").expect("write"),
        }
    }
    let out = dir.path().join("film.mp4");
    let error = cut_with_path(&clips, &out, Some(OsStr::new("")), &mut |_| {})
        .await
        .expect_err("no ffmpeg");
    let CutError::MissingTools {
        missing,
        list,
        command,
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!(*missing, "ffmpeg and ffprobe");
    assert_eq!(list, &dir.path().join("film.mp4.ffconcat"));
    let text = std::fs::read_to_string(list).expect("the list");
    assert!(text.starts_with("ffconcat version 1.0\n"), "{text}");
    let files: Vec<&str> = text.lines().filter(|l| l.starts_with("file ")).collect();
    let quoted = |p: &Path| format!("file '{}'", p.display().to_string().replace('\'', r"'\''"));
    assert_eq!(
        files,
        clips.iter().map(|c| quoted(&c.path)).collect::<Vec<_>>()
    );
    let message = error.to_string();
    for words in [
        "apt-get install ffmpeg",
        "brew install ffmpeg",
        "https://ffmpeg.org/download.html",
    ] {
        assert!(message.contains(words), "{message}");
    }
    assert!(message.contains(command.as_str()), "{message}");
    assert!(
        command.starts_with("ffmpeg -f concat -safe 0 -i "),
        "{command}"
    );
    assert!(!out.exists());
    if let Some(tools) = tools {
        // Durations from the clips' own headers, and a list ffmpeg takes as it is.
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("duration 1.0"))
                .count(),
            3,
            "{text}"
        );
        let status = Command::new(&tools.ffmpeg)
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-nostdin",
                "-f",
                "concat",
                "-safe",
                "0",
            ])
            .arg("-i")
            .arg(list)
            .args(["-c", "copy"])
            .arg(&out)
            .status()
            .expect("ffmpeg runs");
        assert!(status.success());
        let (duration, _, _) = read_back(&tools, &out);
        assert!((duration - 3.0).abs() <= 0.2, "{duration}");
    }
}

#[tokio::test]
async fn an_output_that_is_one_of_the_clips_is_refused() {
    let dir = tempfile::tempdir().expect("a folder");
    let clips = clips_in(dir.path(), &["a.mp4", "b.mp4"]);
    for clip in &clips {
        std::fs::write(&clip.path, b"the user's take").expect("write");
    }
    let linked = dir.path().join("same.mp4");
    std::fs::hard_link(&clips[1].path, &linked).expect("a link");
    for out in [clips[1].path.clone(), linked] {
        let error = cut(&clips, &out, &mut |_| {}).await.expect_err("refused");
        assert!(matches!(error, CutError::OutIsInput { .. }), "{error}");
        assert!(error.to_string().contains("is one of the clips"), "{error}");
    }
    assert_eq!(
        std::fs::read(&clips[1].path).expect("kept"),
        b"the user's take"
    );
    let missing = dir.path().join("nowhere/film.mp4");
    let error = cut(&clips, &missing, &mut |_| {})
        .await
        .expect_err("refused");
    assert!(
        error.to_string().contains("its folder does not exist"),
        "{error}"
    );
    let error = cut(&[], &dir.path().join("f.mp4"), &mut |_| {})
        .await
        .expect_err("none");
    assert!(matches!(error, CutError::NoClips));
}

#[tokio::test]
async fn a_corrupt_clip_is_named_and_nothing_is_left_behind() {
    let Some(tools) = real_tools("a_corrupt_clip_is_named") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a folder");
    let clips = clips_in(dir.path(), &["a.mp4", "broken.mp4", "c.mp4"]);
    make_clip(&tools, &clips[0].path, "160x120", 1.0, true);
    make_clip(&tools, &clips[2].path, "160x120", 1.0, true);
    // A real clip's first bytes, then nothing: it looks like an MP4 and is not one.
    let whole = std::fs::read(&clips[0].path).expect("read");
    std::fs::write(&clips[1].path, &whole[..whole.len().min(200)]).expect("write");
    let out = dir.path().join("film.mp4");
    let error = cut(&clips, &out, &mut |_| {})
        .await
        .expect_err("a broken clip");
    let CutError::Clip { path, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(path, &clips[1].path);
    assert!(
        error
            .to_string()
            .starts_with(&clips[1].path.display().to_string()),
        "{error}"
    );
    assert_eq!(leftovers(dir.path(), &clips), Vec::<PathBuf>::new());

    let gone = clips_in(dir.path(), &["a.mp4", "missing.mp4"]);
    let error = cut(&gone, &out, &mut |_| {})
        .await
        .expect_err("a missing clip");
    assert!(
        error.to_string().ends_with("missing.mp4: not found"),
        "{error}"
    );
}

#[tokio::test]
async fn a_failing_ffmpeg_leaves_no_file_and_its_last_words_are_cleaned() {
    use std::os::unix::fs::PermissionsExt;
    let Some(tools) = real_tools("a_failing_ffmpeg_leaves_no_file") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a folder");
    let clips = clips_in(dir.path(), &["a.mp4", "b.mp4"]);
    for clip in &clips {
        make_clip(&tools, &clip.path, "160x120", 1.0, false);
    }
    // The real ffprobe beside an ffmpeg that writes half a file, says something hostile and
    // fails.
    let bin = tempfile::tempdir().expect("a folder");
    std::os::unix::fs::symlink(&tools.ffprobe, bin.path().join("ffprobe")).expect("a link");
    let fake = bin.path().join("ffmpeg");
    std::fs::write(
        &fake,
        "#!/bin/sh\nfor last; do :; done\nprintf half > \"$last\"\n\
         printf 'first words\\n\\033]0;retitled\\007disk full\\n' >&2\nexit 1\n",
    )
    .expect("write");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = dir.path().join("film.mp4");
    let error = cut_with_path(&clips, &out, Some(bin.path().as_os_str()), &mut |_| {})
        .await
        .expect_err("ffmpeg failed");
    let CutError::Ffmpeg { status, tail } = &error else {
        panic!("{error}");
    };
    assert!(status.contains('1'), "{status}");
    assert_eq!(tail, &["first words", "disk full"]);
    assert_eq!(leftovers(dir.path(), &clips), Vec::<PathBuf>::new());
}

/// Fake tools that answer without end: ffprobe floods its output, ffmpeg its errors. What is
/// read of either stays within its caps, and the cut ends with an error naming the clip.
#[tokio::test]
async fn tools_that_answer_without_end_are_read_within_their_caps() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("a folder");
    let clips = clips_in(dir.path(), &["a.mp4"]);
    std::fs::write(&clips[0].path, b"not really a film").expect("write");
    let bin = tempfile::tempdir().expect("a folder");
    let tool = |name: &str, script: &str| {
        let path = bin.path().join(name);
        std::fs::write(&path, script).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    };
    // 8 MiB in lines of 64 KiB, then a clean exit: far over the 1 MiB an answer may hold.
    tool(
        "ffprobe",
        "#!/bin/sh\ni=0\nwhile [ $i -lt 128 ]; do head -c 65536 /dev/zero | tr '\\0' x; echo; \
         i=$((i+1)); done\nexit 0\n",
    );
    tool("ffmpeg", "#!/bin/sh\nexit 0\n");
    let out = dir.path().join("film.mp4");
    let error = cut_with_path(&clips, &out, Some(bin.path().as_os_str()), &mut |_| {})
        .await
        .expect_err("no film from that");
    let CutError::Clip { path, reason } = &error else {
        panic!("{error}");
    };
    assert_eq!(path, &clips[0].path);
    assert!(reason.contains("over 1 MiB"), "{reason}");
    // A failing ffmpeg that writes 2,000 long lines of errors: its last twelve, each cut.
    tool(
        "ffprobe",
        "#!/bin/sh\necho '{\"streams\":[{\"codec_type\":\"video\",\"codec_name\":\"h264\",\
         \"width\":160,\"height\":120,\"r_frame_rate\":\"25/1\",\"pix_fmt\":\"yuv420p\"}],\
         \"format\":{\"duration\":\"1.0\"}}'\n",
    );
    tool(
        "ffmpeg",
        "#!/bin/sh\ni=0\nwhile [ $i -lt 2000 ]; do head -c 5000 /dev/zero | tr '\\0' e >&2; \
         echo >&2; i=$((i+1)); done\nexit 1\n",
    );
    let error = cut_with_path(&clips, &out, Some(bin.path().as_os_str()), &mut |_| {})
        .await
        .expect_err("ffmpeg failed");
    let CutError::Ffmpeg { tail, .. } = &error else {
        panic!("{error}");
    };
    assert!(tail.len() <= 12, "{}", tail.len());
    assert!(tail.iter().all(|l| l.chars().count() <= 301), "{tail:?}");
    assert_eq!(leftovers(dir.path(), &clips), Vec::<PathBuf>::new());
}
