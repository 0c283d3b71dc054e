//! `submit --after JOB` and `submit --hero JOB`: a new request made from one the ledger holds
//! as it was sent. A continuation starts from the parent's last frame (the asset the server
//! named for it, recorded when its video was saved: nothing is decoded here); a hero is the
//! same request at a higher mode. Either way the new job records where it came from.

use std::path::Path;

use crate::cli::{Cli, SubmitArgs};
use crate::engine::{JobRecord, LocalId};
use crate::kling::{AssetId, KlingRequest, Mode, Rules};
use crate::sanitize::sanitize;
use crate::takes::{LinkKind, Mark, Takes};

use super::address;
use super::submit::{apply_flags, checked};
use super::{CliError, Session};

/// A request made from a job of the ledger, and what the new job is to it.
#[derive(Debug, Clone)]
pub(super) struct Derived {
    pub request: KlingRequest,
    pub parent: LocalId,
    pub kind: LinkKind,
}

/// The request `--after` or `--hero` asks for, or `None` when neither is given.
pub(super) fn derive(
    cli: &Cli,
    args: &SubmitArgs,
    rules: &Rules,
) -> Result<Option<Derived>, CliError> {
    let (text, kind) = match (&args.after, &args.hero) {
        (Some(text), _) => (text, LinkKind::Continues),
        (None, Some(text)) => (text, LinkKind::Hero),
        (None, None) => return Ok(None),
    };
    let flag = match kind {
        LinkKind::Continues => "--after",
        LinkKind::Hero => "--hero",
    };
    if cli.connection.demo {
        return Err(CliError::Invalid(vec![format!(
            "{flag}: --demo keeps no ledger from one command to the next, so it has no job to \
             start from; use it in the app (`kling-tui --demo`) or against an API"
        )]));
    }
    let ledger_dir = Session::ledger_dir_for(cli)?;
    let found = address::resolve(&ledger_dir, text)?;
    let Some(parent) = found.record else {
        return Err(CliError::Invalid(vec![format!(
            "{flag}: {} is not in the ledger; `kling-tui import {}` adds it",
            found.shown, found.shown
        )]));
    };
    let request = match kind {
        LinkKind::Continues => continued(args, &parent, rules)?,
        LinkKind::Hero => hero(args, &parent, &ledger_dir, rules)?,
    };
    Ok(Some(Derived {
        request,
        parent: parent.local_id,
        kind,
    }))
}

/// The next shot: the parent's request with its last frame as the start image, no end image,
/// the new prompt, and every flag given replacing the parent's value.
fn continued(
    args: &SubmitArgs,
    parent: &JobRecord,
    rules: &Rules,
) -> Result<KlingRequest, CliError> {
    let n = parent.local_id;
    let Some(prompt) = &args.prompt else {
        return Err(CliError::Invalid(vec![format!(
            "prompt: --after needs --prompt, what happens in the shot that continues #{n}"
        )]));
    };
    let last_frame = last_frame_of(parent)?;
    let mut request = parent.request.clone();
    request.prompt = prompt.clone();
    request.start_image = Some(AssetId::new(last_frame));
    request.end_image = None;
    // The parent's shots describe the parent: the new prompt replaces them, unless new
    // shots are given.
    if request.multi_prompt.take().is_some() && args.duration.is_none() {
        request.duration = parent.request.duration;
    }
    let problems = apply_flags(args, &mut request);
    checked(request, problems, rules)
}

/// The asset id of the last frame of the parent's first video, as recorded when it was saved.
fn last_frame_of(parent: &JobRecord) -> Result<String, CliError> {
    let n = parent.local_id;
    let refuse = |why: String| Err(CliError::Invalid(vec![format!("--after: {why}")]));
    if !parent.succeeded() {
        let status = parent.standing().status;
        return refuse(format!(
            "#{n} is {status}, not a finished video: only a video that succeeded and is saved \
             can be continued (`kling-tui watch` follows it)"
        ));
    }
    let Some(video) = parent.downloads.first().filter(|d| d.is_done()) else {
        return refuse(format!(
            "#{n} has no finished download: its last frame is recorded when its video is saved; \
             `kling-tui download {n}` saves it"
        ));
    };
    match &video.last_frame {
        Some(id) => Ok(id.clone()),
        None => refuse(format!(
            "#{n}'s video was saved with no last frame recorded (the server named none, or it \
             was saved by an older version); `kling-tui download {n}` records it if the \
             server names one"
        )),
    }
}

/// The parent's request as it was sent, at the mode asked (`pro` unless `--mode` says), for
/// a take the user keeps.
fn hero(
    args: &SubmitArgs,
    parent: &JobRecord,
    ledger_dir: &Path,
    rules: &Rules,
) -> Result<KlingRequest, CliError> {
    let n = parent.local_id;
    let mode = args.mode.unwrap_or(Mode::Pro);
    if mode == Mode::Standard {
        return Err(CliError::Invalid(vec![
            "mode: a hero is rendered at pro or 4k; --mode standard is a draft's".into(),
        ]));
    }
    if parent.request.mode == mode {
        return Err(CliError::Invalid(vec![format!(
            "--hero: #{n} is already {mode}; --mode 4k renders it higher"
        )]));
    }
    let kept = Takes::open(ledger_dir)
        .and_then(|takes| takes.mark_of(n))
        .map_err(|e| CliError::Local(e.to_string()))?
        .is_some_and(|m| m.mark == Mark::Keep);
    if !kept {
        return Err(CliError::Invalid(vec![format!(
            "--hero: #{n} is not marked kept; a hero re-renders a take you keep: \
             `kling-tui mark {n} keep` first"
        )]));
    }
    let mut request = parent.request.clone();
    request.mode = mode;
    checked(request, Vec::new(), rules)
}

/// Records that `child` came from `derived`'s parent. The job is already sent: a failure is
/// told, not fatal.
pub(super) fn record_link(ledger_dir: &Path, child: LocalId, derived: &Derived) {
    let linked = Takes::open(ledger_dir).and_then(|t| t.link(child, derived.parent, derived.kind));
    if let Err(e) = linked {
        eprintln!(
            "warning: #{child} is sent, but that it comes from #{} could not be recorded: {}",
            derived.parent,
            sanitize(&e.to_string())
        );
    }
}

/// The line that introduces the quote of a hero.
pub(super) fn hero_quote(derived: &Derived, units: Option<f64>) -> String {
    let cost = match units {
        Some(units) => format!("{} creative units", super::report::format_units(units)),
        None => "a cost the server did not give".into(),
    };
    format!(
        "hero of #{} at {}: {cost}, quoted by a dry run",
        derived.parent, derived.request.mode
    )
}
