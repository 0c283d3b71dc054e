//! ffmpeg's arguments for each plan, and the command a person runs with the list alone.

use std::ffi::OsString;
use std::path::Path;

use super::concat_list::shell_quote;
use super::plan::Reencode;
use super::probe::Probe;

/// The sound of a re-encode: 48 kHz stereo AAC whatever each clip had.
const AUDIO_FILTER: &str = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo";

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// The start every run shares: quiet but for errors, never reading the terminal.
fn head() -> Vec<OsString> {
    os(&["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
}

/// The end every run shares: progress on stdout, the index at the front, MP4 whatever the
/// temporary file's name.
fn tail(out: &Path) -> Vec<OsString> {
    let mut args = os(&[
        "-movflags",
        "+faststart",
        "-progress",
        "pipe:1",
        "-nostats",
        "-f",
        "mp4",
    ]);
    args.push(out.as_os_str().to_owned());
    args
}

/// The clips' packets joined as they are, through the concat demuxer; chapters from `meta`.
pub(super) fn copy_args(list: &Path, meta: &Path, out: &Path) -> Vec<OsString> {
    let mut args = head();
    args.extend(os(&["-f", "concat", "-safe", "0", "-i"]));
    args.push(list.as_os_str().to_owned());
    args.extend(os(&["-f", "ffmetadata", "-i"]));
    args.push(meta.as_os_str().to_owned());
    args.extend(os(&[
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-map_metadata",
        "1",
        "-map_chapters",
        "1",
        "-c",
        "copy",
    ]));
    args.extend(tail(out));
    args
}

/// Each clip scaled into the first one's frame (padded, never stretched), at its frame rate,
/// joined by the concat filter; a clip without sound gets silence as long as itself when
/// another has sound.
pub(super) fn reencode_args(
    clips: &[(&Path, &Probe)],
    plan: &Reencode,
    meta: &Path,
    out: &Path,
) -> Vec<OsString> {
    let mut args = head();
    for (path, _) in clips {
        args.push("-i".into());
        args.push(path.as_os_str().to_owned());
    }
    let mut silent_inputs = 0;
    let mut filter = String::new();
    let mut joined = String::new();
    let (w, h, rate) = (plan.width, plan.height, plan.frame_rate);
    for (i, (_, probe)) in clips.iter().enumerate() {
        filter.push_str(&format!(
            "[{i}:v:0]scale={w}:{h}:force_original_aspect_ratio=decrease,\
             pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={rate},format=yuv420p[v{i}];"
        ));
        joined.push_str(&format!("[v{i}]"));
        if plan.audio {
            let source = if probe.audio.is_some() {
                format!("{i}:a:0")
            } else {
                let input = clips.len() + silent_inputs;
                silent_inputs += 1;
                args.extend(os(&["-f", "lavfi", "-t"]));
                args.push(format!("{:.6}", probe.duration_s).into());
                args.extend(os(&[
                    "-i",
                    "anullsrc=channel_layout=stereo:sample_rate=48000",
                ]));
                format!("{input}:a:0")
            };
            filter.push_str(&format!("[{source}]{AUDIO_FILTER}[a{i}];"));
            joined.push_str(&format!("[a{i}]"));
        }
    }
    let n = clips.len();
    let audio = u8::from(plan.audio);
    filter.push_str(&format!("{joined}concat=n={n}:v=1:a={audio}[v]"));
    if plan.audio {
        filter.push_str("[a]");
    }
    let meta_input = (clips.len() + silent_inputs).to_string();
    args.extend(os(&["-f", "ffmetadata", "-i"]));
    args.push(meta.as_os_str().to_owned());
    args.extend(os(&["-filter_complex", &filter, "-map", "[v]"]));
    if plan.audio {
        args.extend(os(&["-map", "[a]", "-c:a", "aac", "-b:a", "192k"]));
    }
    args.extend(os(&[
        "-map_metadata",
        &meta_input,
        "-map_chapters",
        &meta_input,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
    ]));
    args.extend(tail(out));
    args
}

/// What to run, where ffmpeg is, with the list written beside the output: a stream copy,
/// which is right when the clips match (takes of one model and mode do).
pub fn manual_command(list: &Path, out: &Path) -> String {
    format!(
        "ffmpeg -f concat -safe 0 -i {} -c copy -movflags +faststart {}",
        shell_quote(list),
        shell_quote(out)
    )
}
