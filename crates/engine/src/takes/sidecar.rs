//! Provenance beside every saved video: `<video file>.json` with the model, the request as
//! sent, the job's ids, the server's times, its cost, where it came from and what came of
//! it, its place in sequences, and its mark. Written whole to a temporary name and renamed,
//! so a reader never sees half of one; rewritten when its marks or sequences change. The
//! video's own bytes are never touched.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{LinkKind, Takes};
use crate::engine::JobRecord;

/// The sidecar of the video at `video`.
pub fn path_for(video: &Path) -> PathBuf {
    let mut name = video.file_name().unwrap_or_default().to_os_string();
    name.push(".json");
    video.with_file_name(name)
}

/// What the sidecar of `job`'s `index`th video holds.
pub fn contents(takes: &Takes, job: &JobRecord, index: usize) -> Value {
    let download = job.downloads.get(index);
    let parent = takes.parent_of(job.local_id).ok().flatten();
    let children = takes.children_of(job.local_id).unwrap_or_default();
    let placements = takes.placements(job.local_id).unwrap_or_default();
    let mark = takes.mark_of(job.local_id).ok().flatten();
    let link = |(number, kind): (u64, LinkKind)| json!({"localId": number, "kind": kind});
    json!({
        "model": kling::MODEL_ID,
        "request": job.request,
        "job": {
            "localId": job.local_id,
            "id": job.job_id,
            "status": job.status.as_ref().map(|s| s.as_str()),
            "recordedAt": job.created_at,
            "serverTimes": job.history,
            "creativeUnits": job.charged(),
        },
        "video": download.map(|d| json!({
            "index": index,
            "file": d.file.as_ref().and_then(|f| f.file_name()).map(|n| n.to_string_lossy()),
            "size": d.size,
            "assetId": d.asset_id,
            "lastFrame": d.last_frame,
            "duration": d.duration,
        })),
        "parent": parent.map(link),
        "children": children.into_iter().map(link).collect::<Vec<_>>(),
        "sequences": placements,
        "mark": mark.as_ref().map(|m| m.mark),
        "reason": mark.as_ref().and_then(|m| m.reason.clone()),
        "markedAt": mark.as_ref().map(|m| m.marked_at.clone()),
    })
}

/// Writes the sidecar of every video of `job` that is on disk. Errors are returned, one line
/// per file, for the caller to tell; the videos are untouched either way.
pub fn write(takes: &Takes, job: &JobRecord) -> Result<usize, String> {
    let mut written = 0;
    let mut problems = Vec::new();
    for (index, download) in job.downloads.iter().enumerate() {
        let Some(video) = download.file.as_deref() else {
            continue;
        };
        if !video.is_file() {
            continue;
        }
        let target = path_for(video);
        match write_atomically(&target, &contents(takes, job, index)) {
            Ok(()) => written += 1,
            Err(e) => problems.push(format!("{}: {e}", target.display())),
        }
    }
    if problems.is_empty() {
        Ok(written)
    } else {
        Err(problems.join("; "))
    }
}

/// Written to `.<name>.part` beside it, synced and renamed: a reader sees the old file or the
/// new one. The temporary name is fixed, so one left by a process killed mid-write is
/// replaced by the next write rather than joined by another; whatever is found there (a
/// link planted to another file included) is removed, never written through, and the file
/// is made anew.
fn write_atomically(target: &Path, value: &Value) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let part = target.with_file_name(format!(".{name}.part"));
    let mut text = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    text.push(b'\n');
    let _ = std::fs::remove_file(&part);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o644)
        .open(&part)
        .and_then(|mut file| {
            file.write_all(&text)?;
            file.sync_all()
        });
    match written.and_then(|()| std::fs::rename(&part, target)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            Err(e)
        }
    }
}

/// Sidecars are on unless config.toml says `sidecars = false`.
pub fn enabled(config: Option<&crate::config::ConfigFile>) -> bool {
    config.and_then(|c| c.sidecars).unwrap_or(true)
}
