//! `kling-tui submit`: validate, then dry-run, or record and send through the engine, then
//! optionally wait and download.

use super::outln;
use std::collections::HashMap;
use std::time::Duration;

use crate::api::ScenarioClient;
use crate::api::types::{Job, JobStatus};
use crate::cli::{Cli, SubmitArgs};
use crate::engine::{Command, Event, JobRecord, LocalId, Outcome, Place, Submission, Wait, Work};
use crate::kling::{AssetId, KlingRequest, Shot};
use crate::sanitize::sanitize;
use crate::takes::LinkKind;

use super::report::{JobReport, Print, ProgressLine, format_units};
use super::{CliError, Session, exit};

pub async fn run(cli: &Cli, args: &SubmitArgs) -> Result<i32, CliError> {
    // Input is checked before credentials or network: bad input never costs a request.
    // The server's rules where the engine has read them (kept in the ledger), else the
    // built-in table: a value the server newly allows is not refused here.
    let rules = match cli.connection.demo {
        true => crate::kling::Rules::builtin(),
        false => crate::engine::Ledger::rules(&Session::ledger_dir_for(cli)?),
    };
    // `--after` and `--hero` start from a job of the ledger, as it was sent.
    let mut derived = super::lineage::derive(cli, args, &rules)?;
    let mut request = match &derived {
        Some(derived) => derived.request.clone(),
        None => build_request(args, &rules)?,
    };
    super::media::check_request_files(&request)?;
    if args.seq.is_some() && cli.connection.demo {
        return Err(CliError::Invalid(vec![
            "--seq: --demo keeps no ledger from one command to the next; run `kling-tui sim` \
             and point every command at it instead"
                .into(),
        ]));
    }
    let placing = match (&args.seq, &derived) {
        (None, None) => Vec::new(),
        _ => super::lineage::placing(
            &Session::ledger_dir_for(cli)?,
            args.seq.as_deref(),
            args.shot,
            derived.as_ref(),
        )?,
    };
    let session = Session::open(cli).await?;
    if let Some(derived) = &mut derived {
        super::lineage::settle(&session, derived).await?;
        request = derived.request.clone();
    }
    if args.dry_run {
        // A dry run needs asset ids: upload (or reuse) the files first; it charges nothing.
        super::media::resolve(&session, &mut request).await?;
        return dry_run(&session.client, &request, args.json).await;
    }
    let mut quote = None;
    if let Some(derived) = derived.as_ref().filter(|d| d.kind == LinkKind::Hero) {
        // A hero costs more than its draft: quoted first, sent once the user says so. (A file
        // its draft named that never became an asset is uploaded first, as for any quote.)
        super::media::resolve(&session, &mut request).await?;
        let cost = session.client.dry_run(&request).await?;
        quote = cost.creative_units_cost;
        eprintln!(
            "{}",
            super::lineage::hero_quote(derived, cost.creative_units_cost)
        );
        let question = format!("Send the hero of #{}?", derived.parent);
        if !super::confirm(&question, args.yes)? {
            return Ok(exit::INVALID);
        }
    }

    let wait = args.wait || args.download.is_some();
    let mut config = session.engine_config(args.download.as_deref());
    if session.demo {
        // The demo's engine lives in this process: only this job is its business.
        config.auto_download = false;
        config.resume = false;
    }
    let default_interval = if session.demo { 1.0 } else { 3.0 };
    // Applies to an engine this command starts; a running one keeps its own pace.
    config.poll_initial = Duration::from_secs_f64(args.poll_interval.unwrap_or(default_interval));
    let auto_download = config.auto_download;
    // This job's folder, when it is to be downloaded: `--download DIR`, else download_dir of
    // config.toml, else the folder this command runs in (not that of whichever command
    // started the engine). Without downloads it has none: a later `download --out` or
    // `watch --out` names it.
    let dir = session.download_dir(args.download.as_deref());
    let download_dir = if auto_download || args.download.is_some() {
        Some(
            std::path::absolute(&dir)
                .map_err(|e| CliError::Local(format!("cannot resolve {}: {e}", dir.display())))?,
        )
    } else {
        None
    };
    let (mut engine, _) = session.engine(config).await?;
    let _ = engine.commands.send(Command::Submit {
        seq: 1,
        token: None,
        request,
        download_dir,
        batch: None,
        quote,
    });

    let mut ours: Option<LocalId> = None;
    // Changes may come before the engine's answer says which job is ours.
    let mut early: HashMap<LocalId, JobRecord> = HashMap::new();
    let mut progress = ProgressLine::new();
    let mut announced = false;
    let mut download_asked = false;
    let mut unconfirmed = false;
    // The last word on ours, reported (to scripts too) when the ending is an error.
    let mut latest: Option<JobRecord> = None;
    let outcome = loop {
        let event = tokio::select! {
            event = engine.events.recv() => event,
            _ = tokio::signal::ctrl_c() => {
                progress.finish();
                eprintln!(
                    "interrupted: the job is in the ledger and the engine goes on with it; \
                     `kling-tui watch` follows it"
                );
                break Ok(exit::INTERRUPTED);
            }
        };
        let Some(event) = event else {
            break Err(CliError::Local("the engine stopped unexpectedly".into()));
        };
        let job = match event {
            Event::Submitted { seq: 1, local_id } => {
                ours = Some(local_id);
                if let Some(derived) = &derived {
                    super::lineage::record_link(&session.ledger_dir, local_id, derived);
                }
                if !placing.is_empty() || derived.is_some() {
                    let parent = derived.as_ref().map(|d| d.parent);
                    super::lineage::place(&session.ledger_dir, local_id, &placing, parent);
                }
                match early.remove(&local_id) {
                    Some(job) => Box::new(job),
                    None => continue,
                }
            }
            Event::NotSubmitted { seq: 1, error } => {
                break Err(CliError::Engine(error));
            }
            Event::Job(job) if ours.is_none() => {
                early.insert(job.local_id, *job);
                continue;
            }
            Event::Job(job) if Some(job.local_id) == ours => job,
            Event::Attached { jobs, .. } => {
                match jobs.into_iter().find(|j| Some(j.local_id) == ours) {
                    Some(job) => Box::new(job),
                    None => continue,
                }
            }
            Event::Detached { reason, stopped } => {
                progress.finish();
                if stopped && ours.is_some() {
                    break Err(CliError::Local(format!(
                        "{reason}; the job is in the ledger: `kling-tui watch` starts the \
                         engine again and follows it"
                    )));
                }
                eprintln!("warning: engine unreachable — retrying ({reason})");
                continue;
            }
            Event::Error {
                local_id,
                error: message,
            } => {
                if local_id.is_some() && local_id == ours {
                    progress.finish();
                    if unconfirmed {
                        // Searched for on the server and not found: the user's call.
                        if let Some(job) = &latest {
                            JobReport::from_record(job).print(args.json);
                        }
                        break Err(CliError::Local(format!(
                            "submission outcome unknown: {message}; `kling-tui resend {}` \
                             sends it again (it may charge twice)",
                            ours.unwrap_or_default()
                        )));
                    }
                    eprintln!("{message}");
                } else if local_id.is_none() {
                    eprintln!("warning: {message}");
                }
                continue;
            }
            Event::Notice { message } => {
                eprintln!("{message}");
                continue;
            }
            Event::Halted { reason } => {
                progress.finish();
                break Err(CliError::Local(reason));
            }
            Event::DownloadProgress {
                local_id,
                bytes,
                total,
                ..
            } if Some(local_id) == ours => {
                progress.download("download", crate::api::DownloadProgress { bytes, total });
                continue;
            }
            _ => continue,
        };
        unconfirmed = matches!(job.submission, Submission::Unconfirmed { .. });
        latest = Some((*job).clone());
        match &job.submission {
            Submission::Sending => {}
            Submission::Uploading => progress.record(&job),
            Submission::Unconfirmed { .. } => {
                // The engine is searching the server's job list for it.
            }
            Submission::Rejected { reason } => {
                JobReport::from_record(&job).print(args.json);
                break Err(CliError::Local(format!("not submitted: {reason}")));
            }
            Submission::Queued if job.held.as_ref().is_some_and(|h| h.cap.is_some()) => {
                JobReport::from_record(&job).print(args.json);
                let (reason, until) = job
                    .held
                    .as_ref()
                    .map(|h| (h.reason.clone(), h.until.clone()))
                    .unwrap_or_default();
                let tomorrow = match until {
                    Some(at) => format!(
                        ", or from {} when a new day's count starts, while the engine runs",
                        sanitize(&at)
                    ),
                    None => String::new(),
                };
                eprintln!(
                    "held: {reason}: it is in the ledger and is sent, in order, once \
                     max_spend_per_day allows it (raise it in config.toml, then any \
                     command){tomorrow}"
                );
                break Ok(exit::HELD);
            }
            Submission::Queued if !wait && job.held.is_none() => {
                JobReport::from_record(&job).print(args.json);
                eprintln!(
                    "queued locally: the team is at its concurrency ceiling; the engine sends \
                     it when a slot frees up"
                );
                break Ok(exit::OK);
            }
            Submission::Queued => progress.record(&job),
            Submission::Accepted if !wait => {
                JobReport::from_record(&job).print(args.json);
                break Ok(exit::OK);
            }
            Submission::Accepted if job.awaits_video() && job.trouble.is_some() => {
                progress.finish();
                JobReport::from_record(&job).print(args.json);
                break Err(CliError::Local(format!(
                    "#{}: {}",
                    job.local_id,
                    job.trouble
                        .as_ref()
                        .map(|t| t.error.as_str())
                        .unwrap_or("")
                        .to_string()
                        + "; nothing was saved. `kling-tui download` looks again"
                )));
            }
            Submission::Accepted if job.trouble.as_ref().is_some_and(|t| t.gave_up) => {
                progress.finish();
                JobReport::from_record(&job).print(args.json);
                break Err(CliError::Local(format!(
                    "gave up waiting: polls kept failing ({}); the job is in the \
                     ledger, and `kling-tui watch` follows it",
                    job.trouble.as_ref().map(|t| t.error.as_str()).unwrap_or("")
                )));
            }
            Submission::Accepted => {
                if !announced {
                    eprintln!(
                        "submitted {}",
                        job.job_id.as_deref().map(sanitize).unwrap_or_default()
                    );
                    announced = true;
                }
                progress.record(&job);
                if let Some(code) = finished(&job, args.download.is_some()) {
                    progress.finish();
                    JobReport::from_record(&job).print(args.json);
                    break code;
                }
                if job.succeeded() && args.download.is_some() && !auto_download && !download_asked {
                    download_asked = true;
                    let _ = engine.commands.send(Command::Download(job.local_id));
                }
            }
        }
    };
    progress.finish();
    engine.shutdown().await;
    outcome
}

/// The exit code once this job needs nothing more, or `None` while it does: the engine's
/// answer, where the command asked for the videos even when the engine would not fetch them.
pub(super) fn finished(job: &JobRecord, download: bool) -> Option<Result<i32, CliError>> {
    match &job.place {
        Place::Done {
            how: Outcome::Saved,
        } => Some(Ok(exit::OK)),
        Place::Done {
            how: Outcome::Succeeded,
        }
        | Place::Working {
            on: Work::Downloading,
        } if !download => Some(Ok(exit::OK)),
        Place::Done {
            how: Outcome::Failed | Outcome::Canceled | Outcome::Rejected,
        } => Some(Ok(exit::JOB_FAILED)),
        Place::Waits {
            why: Wait::DownloadFailed,
        } => {
            let error = job
                .downloads
                .iter()
                .find_map(|d| d.error.clone())
                .unwrap_or_default();
            Some(Err(CliError::Local(format!("download failed: {error}"))))
        }
        _ => None,
    }
}

async fn dry_run(
    client: &ScenarioClient,
    request: &KlingRequest,
    json: bool,
) -> Result<i32, CliError> {
    let cost = client.dry_run(request).await?;
    if json {
        let body = serde_json::json!({
            "creativeUnitsCost": cost.creative_units_cost,
            "creativeUnitsDiscount": cost.creative_units_discount,
        });
        outln!("{body}");
    } else {
        match cost.creative_units_cost {
            Some(units) => outln!("{} creative units", format_units(units)),
            None => outln!("the server gave no cost"),
        }
    }
    Ok(exit::OK)
}

pub fn final_code(job: &Job) -> i32 {
    match job.status {
        JobStatus::Failure | JobStatus::Canceled => exit::JOB_FAILED,
        _ => exit::OK,
    }
}

/// The request the flags describe, or every problem with it.
pub fn build_request(
    args: &SubmitArgs,
    rules: &crate::kling::Rules,
) -> Result<KlingRequest, CliError> {
    let mut request = KlingRequest::new(args.prompt.clone().unwrap_or_default());
    let editing = args.reference_video.is_some()
        && args.video_reference_type == Some(crate::kling::VideoReferenceType::Base);
    if args.start_image.is_some() || editing {
        // A start frame or the edited video sets the frame shape; don't impose the default.
        request.aspect_ratio = None;
    }
    let problems = apply_flags(args, &mut request);
    checked(request, problems, rules)
}

/// Sets on `request` every parameter a flag gives, leaving the others as they are; returns
/// what could not be read.
pub(super) fn apply_flags(args: &SubmitArgs, request: &mut KlingRequest) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(mode) = args.mode {
        request.mode = mode;
    }
    if let Some(ratio) = args.aspect_ratio {
        request.aspect_ratio = Some(ratio);
    }
    if let Some(text) = &args.multi_prompt {
        match serde_json::from_str::<Vec<Shot>>(text) {
            Ok(shots) => {
                if args.duration.is_none() {
                    // Without --duration, the shots say how long the video is.
                    let total: u64 = shots.iter().map(|s| u64::from(s.duration)).sum();
                    request.duration = u32::try_from(total).unwrap_or(u32::MAX);
                }
                request.multi_prompt = Some(shots);
            }
            Err(e) => problems.push(format!(
                "multiPrompt: --multi-prompt must be a JSON array of {{\"prompt\": \"...\", \"duration\": N}}: {e}"
            )),
        }
    }
    if let Some(duration) = args.duration {
        request.duration = duration;
    }
    if args.generate_audio {
        request.generate_audio = Some(true);
    }
    if args.no_original_sound {
        request.keep_original_sound = Some(false);
    }
    if let Some(kind) = args.video_reference_type {
        request.video_reference_type = Some(kind);
    }
    if let Some(image) = &args.start_image {
        request.start_image = Some(AssetId(image.clone()));
    }
    if let Some(image) = &args.end_image {
        request.end_image = Some(AssetId(image.clone()));
    }
    if !args.reference_images.is_empty() {
        request.reference_images = args.reference_images.iter().cloned().map(AssetId).collect();
    }
    if let Some(video) = &args.reference_video {
        request.reference_video = Some(AssetId(video.clone()));
    }
    problems
}

/// `request` once the rules pass it, else every problem with it, `problems` first.
pub(super) fn checked(
    request: KlingRequest,
    mut problems: Vec<String>,
    rules: &crate::kling::Rules,
) -> Result<KlingRequest, CliError> {
    problems.extend(
        request
            .validate_with(rules)
            .iter()
            .map(|p| sanitize(&p.to_string())),
    );
    if problems.is_empty() {
        Ok(request)
    } else {
        Err(CliError::Invalid(problems))
    }
}
