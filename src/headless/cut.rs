//! `kling-tui seq cut NAME --out FILE`: the sequence's chosen takes, shot by shot, joined into
//! one MP4 by ffmpeg with a chapter per shot (the engine's `cut`). Refused before anything
//! runs when a shot has no chosen take or its video is not on disk, naming the shot.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::report::bar;
use super::{CliError, exit, outln};
use crate::cut::{Clip, CutError, CutOutcome, CutProgress};
use crate::engine::{JobQuery, JobRecord, Ledger, LocalId};
use crate::sanitize::sanitize;
use crate::takes::Sequence;

/// How much of a prompt a chapter's title keeps.
const TITLE_PROMPT_CHARS: usize = 60;

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

/// Each shot's chosen take's video, in order, titled for its chapter.
fn clips(dir: &Path, sequence: &Sequence) -> Result<Vec<Clip>, CliError> {
    let name = sanitize(&sequence.name);
    if sequence.shots.is_empty() {
        return Err(CliError::Invalid(vec![format!(
            "sequence {name} has no shots: add one with `kling-tui seq add {name} JOB`"
        )]));
    }
    let mut clips = Vec::with_capacity(sequence.shots.len());
    for shot in &sequence.shots {
        let n = shot.position;
        let Some(id) = shot.chosen else {
            return Err(CliError::Invalid(vec![format!(
                "shot {n} of {name} has no chosen take: choose one with \
                 `kling-tui seq choose {name} {n} JOB`"
            )]));
        };
        let job = job(dir, id)?
            .ok_or_else(|| CliError::Local(format!("shot {n}: job #{id} is not in the ledger")))?;
        let file = video_on_disk(&job).map_err(|why| {
            CliError::Local(format!(
                "shot {n}: the video of job #{id} {why}; `kling-tui download {id}` fetches it"
            ))
        })?;
        let prompt: String = sanitize(&job.request.prompt)
            .chars()
            .take(TITLE_PROMPT_CHARS)
            .collect();
        let title = if prompt.is_empty() {
            format!("Shot {n} · job {id}")
        } else {
            format!("Shot {n} · job {id} · {prompt}")
        };
        clips.push(Clip { path: file, title });
    }
    Ok(clips)
}

fn job(dir: &Path, id: LocalId) -> Result<Option<JobRecord>, CliError> {
    let query = JobQuery {
        local_id: Some(id),
        ..JobQuery::default()
    };
    let mut found = None;
    Ledger::query(dir, &query, |job| found = Some(job))
        .map_err(|e| CliError::Local(e.to_string()))?;
    Ok(found)
}

/// The job's downloaded video, if it is still where it was saved.
fn video_on_disk(job: &JobRecord) -> Result<PathBuf, String> {
    let file = job
        .downloads
        .iter()
        .find_map(|d| d.file.clone())
        .ok_or("is not downloaded")?;
    if file.is_file() {
        Ok(file)
    } else {
        Err(format!(
            "is not at {} any more",
            sanitize(&file.display().to_string())
        ))
    }
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
