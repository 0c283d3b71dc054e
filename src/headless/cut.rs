//! `kling-tui seq cut NAME --out FILE`: the sequence's chosen takes, shot by shot, joined into
//! one MP4 by ffmpeg with a chapter per shot (the engine's `cut`). Refused before anything
//! runs when a shot has no chosen take or its video is not on disk, naming the shot.

use std::io::{IsTerminal, Write};
use std::path::Path;

use super::report::bar;
use super::{CliError, exit, outln};
use crate::cut::{Clip, CutError, CutOutcome, CutProgress};
use crate::sanitize::sanitize;
use crate::takes::Sequence;
use crate::takes::film::FilmError;

pub async fn run(dir: &Path, sequence: &Sequence, out: &Path, json: bool) -> Result<i32, CliError> {
    let clips = clips(dir, sequence)?;
    let mut shown = Shown::new(&sequence.name);
    let result = {
        let mut on_progress = |p| shown.show(p);
        let cutting = crate::cut::cut(&clips, out, &mut on_progress);
        tokio::select! {
            result = cutting => Some(result),
            // The cut is dropped: ffmpeg is stopped and its unfinished file removed.
            _ = tokio::signal::ctrl_c() => None,
        }
    };
    shown.finish();
    let Some(result) = result else {
        eprintln!("interrupted: nothing written");
        return Ok(exit::INTERRUPTED);
    };
    let outcome = result.map_err(cut_error)?;
    if json {
        outln!("{}", report(&sequence.name, &outcome));
    } else {
        let how = match &outcome.why_reencoded {
            None => "stream copy".to_string(),
            Some(why) => format!("re-encoded: {why}"),
        };
        outln!(
            "{}  {:.1} s  {} chapters  {how}",
            sanitize(&outcome.out.display().to_string()),
            outcome.duration_s,
            outcome.chapters
        );
    }
    Ok(exit::OK)
}

/// Each shot's chosen take's video, in order; a shot without one is refused, naming it.
fn clips(dir: &Path, sequence: &Sequence) -> Result<Vec<Clip>, CliError> {
    crate::takes::film::clips(dir, sequence).map_err(|e| match e {
        FilmError::Unready(why) => CliError::Invalid(vec![why]),
        FilmError::Missing(why) => CliError::Local(why),
    })
}

/// Missing ffmpeg is the user's to fix before anything can run, as a missing credential is:
/// exit 2. A clip ffmpeg cannot read, or ffmpeg failing, is a file error: exit 3.
fn cut_error(e: CutError) -> CliError {
    match e {
        CutError::MissingTools { .. }
        | CutError::NoClips
        | CutError::OutIsInput { .. }
        | CutError::Output { .. } => CliError::Invalid(vec![e.to_string()]),
        CutError::Clip { .. } | CutError::Ffmpeg { .. } => CliError::Local(e.to_string()),
    }
}

fn report(sequence: &str, outcome: &CutOutcome) -> serde_json::Value {
    serde_json::json!({
        "sequence": sequence,
        "out": outcome.out,
        "durationSeconds": (outcome.duration_s * 1000.0).round() / 1000.0,
        "chapters": outcome.chapters,
        "streamCopy": outcome.stream_copy,
        "whyReencoded": outcome.why_reencoded,
    })
}

/// The cut's progress on stderr: redrawn in place on a terminal, a line per tenth off one.
struct Shown {
    label: String,
    tty: bool,
    last_tenth: Option<u32>,
    drawn: bool,
}

impl Shown {
    fn new(sequence: &str) -> Self {
        Self {
            label: format!("cutting {}", sanitize(sequence)),
            tty: std::io::stderr().is_terminal(),
            last_tenth: None,
            drawn: false,
        }
    }

    fn show(&mut self, p: CutProgress) {
        let percent = (p.fraction() * 100.0).floor() as u32;
        if self.tty {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[2K{}  {} {percent:>3}%",
                self.label,
                bar(p.fraction(), 20)
            );
            let _ = err.flush();
            self.drawn = true;
        } else if self.last_tenth != Some(percent / 10) {
            self.last_tenth = Some(percent / 10);
            eprintln!("{}  {:>3}%", self.label, percent / 10 * 10);
        }
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}
