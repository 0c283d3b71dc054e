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
                    let files = download_job(&session.client, &job, &dir).await?;
                    JobReport::new(&job, None, files).print(json);
                    Ok(exit::OK)
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

/// Downloads every asset of a successful job as `<jobId>_<n>.<ext>` into `dir`.
pub async fn download_job(
    client: &ScenarioClient,
    job: &Job,
    dir: &Path,
) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    let mut progress = ProgressLine::new();
    for (i, asset_id) in job.metadata.asset_ids.iter().enumerate() {
        let stem = job_file_stem(&job.job_id, i + 1);
        let label = stem.clone();
        let path = client
            .download_asset(asset_id, dir, &stem, &mut |p| progress.download(&label, p))
            .await?;
        progress.finish();
        files.push(path);
    }
    Ok(files)
}
