//! `kling-tui status` and `kling-tui cancel`.

use super::outln;
use crate::cli::Cli;
use crate::sanitize::sanitize;

use super::report::JobReport;
use super::submit::final_code;
use super::{CliError, Session, exit};

pub async fn status(cli: &Cli, jobs: &[String], json: bool) -> Result<i32, CliError> {
    let session = Session::open(cli).await?;
    let client = session.client_telling_retries()?;
    let mut code = exit::OK;
    for job_id in jobs {
        match client.get_job(job_id).await {
            Ok(job) => {
                JobReport::new(&job, None, vec![]).print(json);
                code = code.max(final_code(&job));
            }
            Err(e) => {
                eprintln!("error: {}: {e}", sanitize(job_id));
                code = code.max(CliError::from(e).exit_code());
            }
        }
    }
    Ok(code)
}

pub async fn cancel(cli: &Cli, job_id: &str) -> Result<i32, CliError> {
    let session = Session::open(cli).await?;
    session.client.cancel_job(job_id).await?;
    outln!("cancel requested for {}", sanitize(job_id));
    Ok(exit::OK)
}
