//! A sequence as the clips of its cut: each shot's chosen take's saved video, in order, titled
//! for its chapter. Checked before anything runs, so a shot that cannot be cut is named.

use std::path::{Path, PathBuf};

use super::Sequence;
use crate::cut::Clip;
use crate::engine::{JobQuery, JobRecord, Ledger, LocalId};
use crate::sanitize::sanitize;

/// How much of a prompt a chapter's title keeps.
const TITLE_PROMPT_CHARS: usize = 60;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilmError {
    /// The sequence is not ready to cut (no shots, a shot with no chosen take): the user's to
    /// decide.
    #[error("{0}")]
    Unready(String),
    /// A chosen take's video is not where it was saved, or its job is gone.
    #[error("{0}")]
    Missing(String),
}

/// Each shot's chosen take's video, in order, titled `Shot 2 · job 14 · <prompt>`.
pub fn clips(dir: &Path, sequence: &Sequence) -> Result<Vec<Clip>, FilmError> {
    let name = sanitize(&sequence.name);
    if sequence.shots.is_empty() {
        return Err(FilmError::Unready(format!(
            "sequence {name} has no shots: add one with `kling-tui seq add {name} JOB`"
        )));
    }
    let mut clips = Vec::with_capacity(sequence.shots.len());
    for shot in &sequence.shots {
        let n = shot.position;
        let Some(id) = shot.chosen else {
            return Err(FilmError::Unready(format!(
                "shot {n} of {name} has no chosen take: choose one with \
                 `kling-tui seq choose {name} {n} JOB`"
            )));
        };
        let job = job(dir, id)?.ok_or_else(|| {
            FilmError::Missing(format!("shot {n}: job #{id} is not in the ledger"))
        })?;
        let file = video_on_disk(&job).map_err(|why| {
            FilmError::Missing(format!(
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

fn job(dir: &Path, id: LocalId) -> Result<Option<JobRecord>, FilmError> {
    let query = JobQuery {
        local_id: Some(id),
        ..JobQuery::default()
    };
    let mut found = None;
    Ledger::query(dir, &query, |job| found = Some(job))
        .map_err(|e| FilmError::Missing(e.to_string()))?;
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
