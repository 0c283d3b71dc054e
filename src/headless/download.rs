//! `kling-tui download`, and the download step of `submit --download`.

use std::path::{Path, PathBuf};

use crate::api::types::{Job, JobStatus};
use crate::api::{ScenarioClient, job_file_stem};
use crate::cli::Cli;
use crate::sanitize::sanitize;

use super::report::{JobReport, ProgressLine};
use super::{CliError, Session, exit};

pub async fn run(
    cli: &Cli,
    jobs: &[String],
    out: Option<&Path>,
    json: bool,
) -> Result<i32, CliError> {
    let session = Session::open(cli).await?;
    let dir = session.download_dir(out);
    let mut code = exit::OK;
    for job_id in jobs {
        let outcome = async {
            let job = session.client.get_job(job_id).await?;
            match job.status {
                JobStatus::Success => {
                    let (files, failed) = download_job(&session.client, &job, &dir).await;
                    report_downloads(&job, None, files, failed, json)
                }
                JobStatus::Failure | JobStatus::Canceled => {
                    JobReport::new(&job, None, vec![]).print(json);
                    eprintln!(
                        "error: {}: the job ended in {}; nothing to download",
                        sanitize(job_id),
                        job.status
                    );
                    Ok(exit::JOB_FAILED)
                }
                _ => Err(CliError::Local(format!(
                    "{}: not finished yet ({}); nothing to download",
                    sanitize(job_id),
                    job.status
                ))),
            }
        }
        .await;
        code = match outcome {
            Ok(c) => code.max(c),
            Err(e) => {
                eprintln!("error: {e}");
                code.max(e.exit_code())
            }
        };
    }
    Ok(code)
}

/// Downloads every asset of a successful job as `<jobId>_<n>.<ext>` into `dir`. Returns the
/// files written, and the error that stopped it early, if one did.
pub async fn download_job(
    client: &ScenarioClient,
    job: &Job,
    dir: &Path,
) -> (Vec<PathBuf>, Option<CliError>) {
    let mut files = Vec::new();
    let mut progress = ProgressLine::new();
    for (i, asset_id) in job.metadata.asset_ids.iter().enumerate() {
        let stem = job_file_stem(&job.job_id, i + 1);
        let label = stem.clone();
        let result = client
            .download_asset(asset_id, dir, &stem, &mut |p| progress.download(&label, p))
            .await;
        progress.finish();
        match result {
            Ok(path) => files.push(path),
            Err(e) => return (files, Some(e.into())),
        }
    }
    (files, None)
}

/// Prints the job's line (with the files that did arrive, and the error if one stopped the
/// rest) and gives the exit code: a failed download is an error, printed once on stderr.
pub fn report_downloads(
    job: &Job,
    cost: Option<f64>,
    files: Vec<PathBuf>,
    failed: Option<CliError>,
    json: bool,
) -> Result<i32, CliError> {
    let mut report = JobReport::new(job, cost, files);
    match failed {
        None => {
            report.print(json);
            Ok(exit::OK)
        }
        Some(e) => {
            report.error = Some(format!("download failed: {e}"));
            report.print(json);
            Err(e)
        }
    }
}
