//! The cut: clips (a sequence's chosen takes) joined in order into one MP4 by ffmpeg, a
//! chapter per clip. A stream copy when the clips match, else a re-encode that says which clip
//! differs in what; progress from ffmpeg's own report; the output written atomically. Without
//! ffmpeg, the clips' `ffconcat` list is written beside the output with the command to run.

mod chapters;
mod command;
mod concat_list;
mod output;
mod plan;
mod probe;
mod progress;
mod run;
#[cfg(test)]
mod tests;
mod tools;

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub use chapters::ffmetadata;
pub use command::manual_command;
pub use concat_list::{ffconcat, shell_quote};
pub use plan::{Plan, Reencode, plan};
pub use probe::{AudioStream, Probe, Rate, VideoStream, parse as parse_probe};
pub use tools::{Tools, find_tool};

use crate::sanitize::sanitize;
use output::{Partial, write_atomically};
use progress::{Said, parse_line};

/// Where ffmpeg comes from, for the message that says it is missing.
pub const INSTALL_HINT: &str = "both come with ffmpeg: `apt-get install ffmpeg` (Debian, \
                                Ubuntu), `brew install ffmpeg` (macOS), or \
                                https://ffmpeg.org/download.html";

/// One clip of the cut, in order: its file and its chapter's title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    pub path: PathBuf,
    pub title: String,
}

/// How far ffmpeg has got, in seconds of the output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CutProgress {
    pub done_s: f64,
    pub total_s: f64,
}

impl CutProgress {
    /// From 0 to 1.
    pub fn fraction(&self) -> f64 {
        if self.total_s > 0.0 {
            (self.done_s / self.total_s).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CutOutcome {
    pub out: PathBuf,
    /// The written file's, as ffprobe reads it.
    pub duration_s: f64,
    pub stream_copy: bool,
    /// Which clip differs from the first, and in what, when it was re-encoded.
    pub why_reencoded: Option<String>,
    pub chapters: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CutError {
    #[error("nothing to cut: no clips")]
    NoClips,
    /// A clip is missing, unreadable, or not a video ffprobe can read.
    #[error("{}: {reason}", shown(.path))]
    Clip { path: PathBuf, reason: String },
    #[error("{}: {reason}", shown(.path))]
    Output { path: PathBuf, reason: String },
    #[error("{} is one of the clips: the cut would overwrite it; choose another output file", shown(.out))]
    OutIsInput { out: PathBuf },
    /// ffmpeg or ffprobe is not on the PATH; the clips' list was written to `list`.
    #[error(
        "{missing} not found on the PATH: the cut needs ffmpeg and ffprobe; {install}.\n\
         The list of clips is written to {}; where ffmpeg is, run:\n  {command}",
        shown(.list)
    )]
    MissingTools {
        missing: &'static str,
        install: &'static str,
        list: PathBuf,
        command: String,
    },
    /// ffmpeg ran and failed: its status and the last lines it wrote.
    #[error("ffmpeg failed ({status}){}", tail_lines(.tail))]
    Ffmpeg { status: String, tail: Vec<String> },
}

fn shown(path: &Path) -> String {
    sanitize(&path.display().to_string())
}

fn tail_lines(tail: &[String]) -> String {
    tail.iter().map(|line| format!("\n  {line}")).collect()
}

/// Joins `clips` into `out` with the ffmpeg and ffprobe found on this process's PATH.
pub async fn cut(
    clips: &[Clip],
    out: &Path,
    progress: &mut (dyn FnMut(CutProgress) + Send),
) -> Result<CutOutcome, CutError> {
    cut_with_path(clips, out, std::env::var_os("PATH").as_deref(), progress).await
}

/// [`cut`] with the tools looked up on `path` (a PATH value).
pub async fn cut_with_path(
    clips: &[Clip],
    out: &Path,
    path: Option<&OsStr>,
    progress: &mut (dyn FnMut(CutProgress) + Send),
) -> Result<CutOutcome, CutError> {
    if clips.is_empty() {
        return Err(CutError::NoClips);
    }
    let out = std::path::absolute(out).map_err(|e| CutError::Output {
        path: out.to_owned(),
        reason: e.to_string(),
    })?;
    let inputs = clips
        .iter()
        .map(|c| checked_clip(&c.path))
        .collect::<Result<Vec<_>, _>>()?;
    check_output(&out, &inputs)?;
    let tools = match Tools::find(path) {
        Ok(tools) => tools,
        Err(missing) => return Err(without_tools(missing, &inputs, &out)),
    };
    let mut probes = Vec::with_capacity(inputs.len());
    for input in &inputs {
        probes.push(probe::probe(&tools.ffprobe, input).await?);
    }
    let total_s: f64 = probes.iter().map(|p| p.duration_s).sum();
    let plan = plan::plan(&probes);

    // The list and the chapters live only while ffmpeg runs.
    let work = tempfile::tempdir().map_err(|e| CutError::Output {
        path: std::env::temp_dir(),
        reason: format!("cannot make a working folder: {e}"),
    })?;
    let titled: Vec<(&str, f64)> = clips
        .iter()
        .zip(&probes)
        .map(|(c, p)| (c.title.as_str(), p.duration_s))
        .collect();
    let meta = work.path().join("chapters.txt");
    write_work_file(&meta, ffmetadata(&titled).as_bytes())?;
    let partial = Partial::beside(&out).map_err(|e| CutError::Output {
        path: out.clone(),
        reason: format!("cannot make a working folder beside it: {e}"),
    })?;
    let args = match &plan {
        Plan::Copy => {
            let listed: Vec<(&Path, Option<f64>)> = inputs
                .iter()
                .zip(&probes)
                .map(|(i, p)| (i.as_path(), Some(p.duration_s)))
                .collect();
            let list = work.path().join("clips.ffconcat");
            write_work_file(&list, &listed_bytes(&listed)?)?;
            command::copy_args(&list, &meta, partial.path())
        }
        Plan::Reencode(how) => {
            let clips: Vec<(&Path, &Probe)> =
                inputs.iter().map(PathBuf::as_path).zip(&probes).collect();
            command::reencode_args(&clips, how, &meta, partial.path())
        }
    };

    progress(CutProgress {
        done_s: 0.0,
        total_s,
    });
    let finished = run::run_tool(&tools.ffmpeg, &args, |line| {
        let done_s = match parse_line(&String::from_utf8_lossy(line)) {
            Some(Said::At(s)) => s.min(total_s),
            Some(Said::End) => total_s,
            None => return,
        };
        progress(CutProgress { done_s, total_s });
    })
    .await
    .map_err(|e| CutError::Ffmpeg {
        status: format!("cannot run {}: {e}", shown(&tools.ffmpeg)),
        tail: Vec::new(),
    })?;
    if !finished.status.success() {
        // `partial` goes out of scope here, and its file with it.
        return Err(CutError::Ffmpeg {
            status: finished.status.to_string(),
            tail: finished.tail,
        });
    }
    partial.finish(&out).map_err(|e| CutError::Output {
        path: out.clone(),
        reason: e.to_string(),
    })?;
    let duration_s = probe::probe(&tools.ffprobe, &out)
        .await
        .map_or(total_s, |p| p.duration_s);
    let (stream_copy, why_reencoded) = match plan {
        Plan::Copy => (true, None),
        Plan::Reencode(how) => (false, Some(how.why)),
    };
    Ok(CutOutcome {
        out,
        duration_s,
        stream_copy,
        why_reencoded,
        chapters: clips.len(),
    })
}

/// The clip's absolute path, once it is known to be a regular file.
fn checked_clip(path: &Path) -> Result<PathBuf, CutError> {
    let failed = |reason: String| CutError::Clip {
        path: path.to_owned(),
        reason,
    };
    let absolute = std::path::absolute(path).map_err(|e| failed(e.to_string()))?;
    match std::fs::metadata(&absolute) {
        Ok(m) if m.is_file() => Ok(absolute),
        Ok(_) => Err(failed("not a regular file".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(failed("not found".into())),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// The output may not be a folder, nor any clip under another name (a link included).
fn check_output(out: &Path, inputs: &[PathBuf]) -> Result<(), CutError> {
    let failed = |reason: &str| CutError::Output {
        path: out.to_owned(),
        reason: reason.into(),
    };
    if out.file_name().is_none() {
        return Err(failed("not a file name"));
    }
    match out.parent().map(std::fs::metadata) {
        Some(Ok(m)) if m.is_dir() => {}
        _ => return Err(failed("its folder does not exist")),
    }
    let Ok(meta) = std::fs::metadata(out) else {
        return Ok(());
    };
    if meta.is_dir() {
        return Err(failed("is a folder"));
    }
    let same = |p: &PathBuf| {
        std::fs::metadata(p).is_ok_and(|m| (m.dev(), m.ino()) == (meta.dev(), meta.ino()))
    };
    if inputs.iter().any(|p| p == out || same(p)) {
        return Err(CutError::OutIsInput {
            out: out.to_owned(),
        });
    }
    Ok(())
}

/// With ffmpeg or ffprobe missing: the list, with the durations the clips' own headers give,
/// written to `OUT.ffconcat`, and the error that says what to do with it.
fn without_tools(missing: &'static str, inputs: &[PathBuf], out: &Path) -> CutError {
    let durations: Vec<Option<f64>> = inputs.iter().map(|p| header_duration(p)).collect();
    let listed: Vec<(&Path, Option<f64>)> =
        inputs.iter().map(PathBuf::as_path).zip(durations).collect();
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let list = out.with_file_name(format!("{name}.ffconcat"));
    let bytes = match listed_bytes(&listed) {
        Ok(bytes) => bytes,
        Err(e) => return e,
    };
    if let Err(e) = write_atomically(&list, &bytes) {
        return CutError::Output {
            path: list,
            reason: format!(
                "cannot write the list of clips ({missing} not found on the PATH): {e}"
            ),
        };
    }
    CutError::MissingTools {
        missing,
        install: INSTALL_HINT,
        command: manual_command(&list, out),
        list,
    }
}

/// An MP4's or MOV's duration from its own header, with no ffprobe.
fn header_duration(path: &Path) -> Option<f64> {
    let mut head = [0u8; 16];
    crate::media::open_regular(path)
        .ok()?
        .read_exact(&mut head)
        .ok()?;
    let kind = crate::media::MediaKind::sniff(&head)?;
    crate::media::video_facts(kind, path)
        .ok()?
        .duration_secs
        .filter(|d| d.is_finite() && *d > 0.0)
}

fn listed_bytes(listed: &[(&Path, Option<f64>)]) -> Result<Vec<u8>, CutError> {
    ffconcat(listed).map_err(|reason| CutError::Clip {
        path: listed
            .iter()
            .map(|(p, _)| *p)
            .find(|p| p.to_string_lossy().contains(['\n', '\r']))
            .unwrap_or(Path::new(""))
            .to_owned(),
        reason,
    })
}

fn write_work_file(path: &Path, bytes: &[u8]) -> Result<(), CutError> {
    std::fs::write(path, bytes).map_err(|e| CutError::Output {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}
