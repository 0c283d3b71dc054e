//! `submit --after JOB` and `submit --hero JOB`: a new request made from one the ledger holds
//! as it was sent. A continuation starts from the parent's last frame (the image asset the
//! server names as its video's `lastFrame`, recorded when the video was saved, else asked of
//! the server: nothing is decoded here); a hero is the same request at a higher mode. Either
//! way the new job records where it came from.

use std::path::Path;

use crate::cli::{Cli, SubmitArgs};
use crate::engine::{DownloadRecord, JobRecord, LocalId};
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
    /// A continuation of a video saved with no last frame recorded (saved by an older
    /// version, or while the server named none): the video's asset, to ask the server for its
    /// `lastFrame` before anything is sent.
    pub ask_last_frame: Option<String>,
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
             start from; run `kling-tui sim` and point every command at it instead"
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
    let (request, ask_last_frame) = match kind {
        LinkKind::Continues => continued(args, &parent, rules)?,
        LinkKind::Hero => (hero(args, &parent, &ledger_dir, rules)?, None),
    };
    Ok(Some(Derived {
        request,
        parent: parent.local_id,
        kind,
        ask_last_frame,
    }))
}

/// Where the ledger has no last frame for the video a continuation starts from, the one the
/// server names for it now; refused, saying what to do instead, when it names none.
pub(super) async fn settle(session: &Session, derived: &mut Derived) -> Result<(), CliError> {
    let Some(video) = derived.ask_last_frame.take() else {
        return Ok(());
    };
    let asset = session.client_telling_retries()?.get_asset(&video).await?;
    match asset.last_frame_id() {
        Some(frame) => {
            derived.request.start_image = Some(AssetId::new(frame));
            Ok(())
        }
        None => Err(CliError::Invalid(vec![format!(
            "--after: the server names no last frame for the video of #{} ({}), so the next \
             shot cannot start from it; start from an image of your own instead: \
             `kling-tui submit --start-image FRAME --prompt ...`",
            derived.parent,
            sanitize(&video)
        )])),
    }
}

/// The next shot: the parent's request with its last frame as the start image, no end image,
/// the new prompt, and every flag given replacing the parent's value. With it, the video's
/// asset when its last frame is to be asked of the server (see [`settle`]).
fn continued(
    args: &SubmitArgs,
    parent: &JobRecord,
    rules: &Rules,
) -> Result<(KlingRequest, Option<String>), CliError> {
    let n = parent.local_id;
    let Some(prompt) = &args.prompt else {
        return Err(CliError::Invalid(vec![format!(
            "prompt: --after needs --prompt, what happens in the shot that continues #{n}"
        )]));
    };
    let video = saved_video(parent)?;
    let mut request = parent.request.clone();
    request.prompt = prompt.clone();
    // Until the server is asked, the video's id holds the place (checked as any id is).
    let (start, ask) = match &video.last_frame {
        Some(frame) => (frame.clone(), None),
        None => (video.asset_id.clone(), Some(video.asset_id.clone())),
    };
    request.start_image = Some(AssetId::new(start));
    request.end_image = None;
    // The parent's shots describe the parent: the new prompt replaces them (its length stays,
    // unless --duration or new shots say otherwise).
    request.multi_prompt = None;
    let problems = apply_flags(args, &mut request);
    Ok((checked(request, problems, rules)?, ask))
}

/// The parent's first video, saved.
fn saved_video(parent: &JobRecord) -> Result<&DownloadRecord, CliError> {
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
    Ok(video)
}

/// The parent's request as it was sent, at the mode asked (else one up from the parent's, as
/// the app's `H` does: standard to pro, pro to 4k), for a take the user keeps.
fn hero(
    args: &SubmitArgs,
    parent: &JobRecord,
    ledger_dir: &Path,
    rules: &Rules,
) -> Result<KlingRequest, CliError> {
    let n = parent.local_id;
    let mode = args.mode.unwrap_or(match parent.request.mode {
        Mode::Standard => Mode::Pro,
        _ => Mode::FourK,
    });
    if mode == Mode::Standard {
        return Err(CliError::Invalid(vec![
            "mode: a hero is rendered at pro or 4k; --mode standard is a draft's".into(),
        ]));
    }
    if parent.request.mode == mode {
        return Err(CliError::Invalid(vec![format!(
            "--hero: #{n} is already {mode}; a hero renders it at a higher mode"
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

/// Where a new job goes among the sequences, decided before anything is sent so a wrong name
/// costs nothing: `--seq NAME [--shot N]`, else wherever its parent stands.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Placing {
    /// A take of shot `shot` of `sequence` (one past the last: a new shot).
    Take { sequence: String, shot: u32 },
}

pub(super) fn placing(
    ledger_dir: &Path,
    seq: Option<&str>,
    shot: Option<u32>,
    derived: Option<&Derived>,
) -> Result<Vec<Placing>, CliError> {
    let takes = Takes::open(ledger_dir).map_err(|e| CliError::Local(e.to_string()))?;
    let refused = |e: crate::takes::TakesError| CliError::Invalid(vec![format!("--seq: {e}")]);
    // Where the parent is, in every sequence (or the one named).
    let parent_at: Vec<(String, u32, bool)> = match derived {
        Some(d) => takes
            .placements(d.parent)
            .map_err(|e| CliError::Local(e.to_string()))?
            .into_iter()
            .filter(|p| seq.is_none_or(|name| name.trim() == p.sequence))
            .map(|p| (p.sequence, p.shot, p.chosen))
            .collect(),
        None => Vec::new(),
    };
    let next_to_parent = |at: u32| match derived.map(|d| d.kind) {
        Some(LinkKind::Continues) => at + 1,
        _ => at,
    };
    let Some(name) = seq else {
        // Unnamed: a continuation of a chosen take goes to the shot after it, a hero beside
        // its draft wherever that is.
        return Ok(parent_at
            .into_iter()
            .filter(|(_, _, chosen)| *chosen || derived.is_some_and(|d| d.kind == LinkKind::Hero))
            .map(|(sequence, at, _)| Placing::Take {
                shot: next_to_parent(at),
                sequence,
            })
            .collect());
    };
    let sequence = takes.sequence(name).map_err(refused)?;
    let count = sequence.shots.len() as u32;
    let shot = match (shot, parent_at.first()) {
        (Some(n), _) => n,
        (None, Some((_, at, _))) => next_to_parent(*at),
        (None, None) => count + 1,
    };
    if shot == 0 || shot > count + 1 {
        return Err(CliError::Invalid(vec![format!(
            "--shot: {:?} has {}; a new take goes to shots 1 to {}",
            sequence.name,
            crate::units::count(count as usize, "shot"),
            count + 1
        )]));
    }
    Ok(vec![Placing::Take {
        sequence: sequence.name,
        shot,
    }])
}

/// Puts the sent job `child` where `placing` says, and brings the provenance of it and its
/// parent up to date. The job is already sent: a failure is told, not fatal.
pub(super) fn place(
    ledger_dir: &Path,
    child: LocalId,
    placing: &[Placing],
    parent: Option<LocalId>,
) {
    let Ok(takes) = Takes::open(ledger_dir) else {
        return;
    };
    for Placing::Take { sequence, shot } in placing {
        match takes.add_take(sequence, *shot, child) {
            Ok(()) => eprintln!(
                "#{child} is a take of shot {shot} of {:?}",
                sanitize(sequence)
            ),
            Err(e) => eprintln!(
                "warning: #{child} is sent, but could not be made a take of shot {shot} of \
                 {:?}: {}",
                sanitize(sequence),
                sanitize(&e.to_string())
            ),
        }
    }
    // The parent's provenance names its children.
    if let Some(parent) = parent
        && let Ok(Some(record)) = super::takes::record_of(ledger_dir, parent)
    {
        super::takes::refresh(&takes, &record);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::JobStatus;
    use crate::cli::Command;
    use crate::engine::{DownloadRecord, Submission};
    use crate::kling::{AspectRatio, Shot};
    use clap::Parser;

    fn args(line: &[&str]) -> SubmitArgs {
        let cli = Cli::try_parse_from([&["kling-tui", "submit"], line].concat()).unwrap();
        match cli.command {
            Some(Command::Submit(args)) => args,
            other => panic!("{other:?}"),
        }
    }

    /// A finished draft: standard, 9:16, two shots, an end frame, a reference and audio; its
    /// video saved with `last_frame` recorded (or not).
    fn draft(last_frame: Option<&str>) -> JobRecord {
        let mut request = KlingRequest::new("a fox");
        request.mode = Mode::Standard;
        request.aspect_ratio = Some(AspectRatio::Portrait);
        request.duration = 8;
        request.multi_prompt = Some(vec![
            Shot {
                prompt: "it sits".into(),
                duration: 3,
            },
            Shot {
                prompt: "it stands".into(),
                duration: 5,
            },
        ]);
        request.start_image = Some(AssetId::new("asset_first"));
        request.end_image = Some(AssetId::new("asset_end"));
        request.reference_images = vec![AssetId::new("asset_coat")];
        request.generate_audio = Some(true);
        let mut job = JobRecord::new(1, "2026-12-01T10:00:00Z".into(), request);
        job.submission = Submission::Accepted;
        job.status = Some(JobStatus::Success);
        job.downloads = vec![DownloadRecord {
            asset_id: "asset_v".into(),
            file: Some("v.mp4".into()),
            size: Some(10),
            last_frame: last_frame.map(Into::into),
            duration: Some(8.0),
            ..DownloadRecord::default()
        }];
        job
    }

    #[test]
    fn a_hero_goes_one_mode_up_unless_told_and_never_stays_where_it_is() {
        let rules = Rules::builtin();
        let dir = tempfile::tempdir().unwrap();
        Takes::open(dir.path())
            .unwrap()
            .mark(1, Some(Mark::Keep), None)
            .unwrap();
        let mut parent = draft(Some("asset_v_last"));
        let plain = args(&["--hero", "1"]);
        let request = hero(&plain, &parent, dir.path(), &rules).unwrap();
        assert_eq!(request.mode, Mode::Pro);
        let told = args(&["--hero", "1", "--mode", "4k"]);
        assert_eq!(
            hero(&told, &parent, dir.path(), &rules).unwrap().mode,
            Mode::FourK
        );
        parent.request.mode = Mode::Pro;
        let request = hero(&plain, &parent, dir.path(), &rules).unwrap();
        assert_eq!(request.mode, Mode::FourK);
        parent.request.mode = Mode::FourK;
        let said = refusal(hero(&plain, &parent, dir.path(), &rules));
        assert!(said.contains("#1 is already 4k"), "{said}");
    }

    fn refusal<T: std::fmt::Debug>(result: Result<T, CliError>) -> String {
        match result {
            Err(CliError::Invalid(problems)) => problems.join("\n"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_continuation_is_the_parents_request_from_its_last_frame() {
        let rules = Rules::builtin();
        let parent = draft(Some("asset_v_last"));
        let (request, ask) = continued(
            &args(&["--after", "1", "--prompt", "it runs", "--mode", "pro"]),
            &parent,
            &rules,
        )
        .unwrap();
        assert_eq!(ask, None);
        assert_eq!(request.start_image, Some(AssetId::new("asset_v_last")));
        assert_eq!(request.end_image, None);
        assert_eq!(request.prompt, "it runs");
        assert_eq!(request.multi_prompt, None);
        // A flag given replaces the parent's value; the others are carried over.
        assert_eq!(request.mode, Mode::Pro);
        assert_eq!(request.aspect_ratio, Some(AspectRatio::Portrait));
        assert_eq!(request.duration, 8);
        assert_eq!(request.reference_images, [AssetId::new("asset_coat")]);
        assert_eq!(request.generate_audio, Some(true));
        let (request, _) = continued(
            &args(&[
                "--after",
                "1",
                "--prompt",
                "x",
                "--reference-image",
                "asset_b",
            ]),
            &parent,
            &rules,
        )
        .unwrap();
        assert_eq!(request.reference_images, [AssetId::new("asset_b")]);
        assert_eq!(request.mode, Mode::Standard);
    }

    #[test]
    fn what_a_continuation_lacks_is_named_with_what_to_do() {
        let rules = Rules::builtin();
        let with_prompt = args(&["--after", "1", "--prompt", "it runs"]);
        let said = refusal(continued(&args(&["--after", "1"]), &draft(None), &rules));
        assert!(said.contains("--after needs --prompt"), "{said}");
        // No last frame recorded: the server is to be asked for the video's.
        let (_, ask) = continued(&with_prompt, &draft(None), &rules).unwrap();
        assert_eq!(ask.as_deref(), Some("asset_v"));
        let mut unsaved = draft(Some("asset_v_last"));
        unsaved.downloads[0].file = None;
        let said = refusal(continued(&with_prompt, &unsaved, &rules));
        assert!(said.contains("#1 has no finished download"), "{said}");
        unsaved.downloads.clear();
        let said = refusal(continued(&with_prompt, &unsaved, &rules));
        assert!(said.contains("#1 has no finished download"), "{said}");
        let mut running = draft(Some("asset_v_last"));
        running.status = Some(JobStatus::InProgress);
        let said = refusal(continued(&with_prompt, &running, &rules));
        assert!(
            said.contains("#1 is in-progress, not a finished video"),
            "{said}"
        );
    }

    #[test]
    fn a_demo_has_no_job_to_start_from() {
        for line in [
            ["--demo", "submit", "--after", "1", "--prompt", "x"],
            ["submit", "--hero", "1", "--demo", "--yes", "--json"],
        ] {
            let cli = Cli::try_parse_from([&["kling-tui"], &line[..]].concat())
                .unwrap()
                .merged(|_| None);
            let Some(Command::Submit(args)) = &cli.command else {
                panic!("{line:?}");
            };
            let said = match derive(&cli, args, &Rules::builtin()) {
                Err(CliError::Invalid(problems)) => problems.join("\n"),
                other => panic!("{other:?}"),
            };
            assert!(said.contains("--demo keeps no ledger"), "{said}");
        }
    }

    #[test]
    fn hero_and_after_exclude_what_they_would_contradict() {
        let parse = |line: &[&str]| Cli::try_parse_from([&["kling-tui", "submit"], line].concat());
        assert!(parse(&["--hero", "1", "--prompt", "x"]).is_err());
        assert!(parse(&["--hero", "1", "--duration", "5"]).is_err());
        assert!(parse(&["--after", "1", "--start-image", "asset_s", "--prompt", "x"]).is_err());
        assert!(parse(&["--after", "1", "--hero", "2"]).is_err());
        assert!(parse(&["--duration", "5"]).is_err());
        assert!(parse(&["--hero", "1", "--mode", "4k", "--yes"]).is_ok());
        assert!(parse(&["--after", "1"]).is_ok());
    }
}
