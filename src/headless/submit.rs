//! `kling-tui submit`: validate, then dry-run or submit, then optionally wait and download.

use std::time::Duration;

use crate::api::types::{Job, JobStatus};
use crate::api::{ApiError, ScenarioClient};
use crate::cli::{Cli, SubmitArgs};
use crate::kling::{AssetId, KlingRequest, Shot};
use crate::sanitize::sanitize;

use super::download::{download_job, report_downloads};
use super::report::{JobReport, ProgressLine, format_units};
use super::{CliError, Session, exit};

/// Polls that may fail in a row (each already retried) before waiting gives up.
const MAX_FAILED_POLLS: u32 = 10;

pub async fn run(cli: &Cli, args: &SubmitArgs) -> Result<i32, CliError> {
    // Input is checked before credentials or network: bad input never costs a request.
    let request = build_request(args)?;
    let session = Session::open(cli).await?;
    let client = &session.client;

    if args.dry_run {
        let cost = client.dry_run(&request).await?;
        if args.json {
            let body = serde_json::json!({
                "creativeUnitsCost": cost.creative_units_cost,
                "creativeUnitsDiscount": cost.creative_units_discount,
            });
            println!("{body}");
        } else {
            match cost.creative_units_cost {
                Some(units) => println!("{} creative units", format_units(units)),
                None => println!("the server gave no cost"),
            }
        }
        return Ok(exit::OK);
    }

    let answer = client.generate(&request).await?;
    let cost = answer.creative_units_cost;
    let job_id = answer.job.job_id.clone();
    let wait = args.wait || args.download.is_some();
    if !wait {
        JobReport::new(&answer.job, cost, vec![]).print(args.json);
        return Ok(exit::OK);
    }
    // The id goes to stderr at once, so it is never lost even if waiting is interrupted.
    eprintln!("submitted {}", sanitize(&job_id));

    let default_interval = if cli.demo { 1.0 } else { 3.0 };
    let interval = Duration::from_secs_f64(args.poll_interval.unwrap_or(default_interval));
    let job = tokio::select! {
        job = wait_for(client, &job_id, interval) => job?,
        _ = tokio::signal::ctrl_c() => {
            eprintln!(
                "\ninterrupted: job {0} keeps running on the server; see `kling-tui status {0}`",
                sanitize(&job_id)
            );
            return Ok(exit::INTERRUPTED);
        }
    };

    if job.status == JobStatus::Success {
        if let Some(dir) = &args.download {
            let (files, failed) = download_job(client, &job, dir).await;
            return report_downloads(&job, cost, files, failed, args.json);
        }
    }
    JobReport::new(&job, cost, vec![]).print(args.json);
    Ok(final_code(&job))
}

pub fn final_code(job: &Job) -> i32 {
    match job.status {
        JobStatus::Failure | JobStatus::Canceled => exit::JOB_FAILED,
        _ => exit::OK,
    }
}

/// Polls until the job is final, showing progress on stderr.
pub async fn wait_for(
    client: &ScenarioClient,
    job_id: &str,
    interval: Duration,
) -> Result<Job, CliError> {
    let mut progress = ProgressLine::new();
    let mut failed = 0;
    loop {
        match client.get_job(job_id).await {
            Ok(job) => {
                failed = 0;
                progress.job(&job);
                if job.status.is_final() {
                    progress.finish();
                    return Ok(job);
                }
            }
            Err(
                e @ ApiError::Http {
                    status: 401 | 403 | 404,
                    ..
                },
            ) => return Err(e.into()),
            Err(e) => {
                failed += 1;
                progress.finish();
                tracing::warn!("polling {job_id} failed: {e}");
                if failed >= MAX_FAILED_POLLS {
                    return Err(CliError::Local(format!(
                        "{e}; job {} may still be running: see `kling-tui status {}` later",
                        sanitize(job_id),
                        sanitize(job_id)
                    )));
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// The request the flags describe, or every problem with it.
pub fn build_request(args: &SubmitArgs) -> Result<KlingRequest, CliError> {
    let mut problems = Vec::new();
    let mut request = KlingRequest::new(args.prompt.clone());
    if let Some(mode) = args.mode {
        request.mode = mode;
    }
    let editing = args.reference_video.is_some()
        && args.video_reference_type == Some(crate::kling::VideoReferenceType::Base);
    request.aspect_ratio = match args.aspect_ratio {
        Some(ratio) => Some(ratio),
        // A start frame or the edited video sets the frame shape; don't impose the default.
        None if args.start_image.is_some() || editing => None,
        None => request.aspect_ratio,
    };
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
    request.video_reference_type = args.video_reference_type;
    request.start_image = args.start_image.clone().map(AssetId);
    request.end_image = args.end_image.clone().map(AssetId);
    request.reference_images = args.reference_images.iter().cloned().map(AssetId).collect();
    request.reference_video = args.reference_video.clone().map(AssetId);

    problems.extend(request.validate().iter().map(|p| sanitize(&p.to_string())));
    if problems.is_empty() {
        Ok(request)
    } else {
        Err(CliError::Invalid(problems))
    }
}
