//! `kling-tui status` and `kling-tui cancel`.

use super::outln;
use crate::cli::Cli;
use crate::sanitize::sanitize;

use super::address;
use super::report::{JobReport, Print};
use super::submit::final_code;
use super::{CliError, Session, exit};

pub async fn status(cli: &Cli, jobs: &[String], json: bool) -> Result<i32, CliError> {
    let session = Session::open(cli).await?;
    let client = session.client_telling_retries()?;
    let mut code = exit::OK;
    for text in jobs {
        let job = match address::resolve(&session.ledger_dir, text) {
            Ok(job) => job,
            Err(e) => {
                eprintln!("error: {e}");
                code = code.max(e.exit_code());
                continue;
            }
        };
        let Some(server_id) = &job.server_id else {
            // Never reached the server (or its answer was lost): the ledger is all there is.
            if let Some(record) = &job.record {
                JobReport::from_record(record).print(json);
                eprintln!(
                    "{}: the server has no id for it ({}); nothing to ask it",
                    job.shown,
                    record.state_word()
                );
            }
            code = code.max(exit::API);
            continue;
        };
        match client.get_job(server_id).await {
            Ok(found) => {
                JobReport::from_server(&found, vec![]).print(json);
                code = code.max(final_code(&found));
            }
            Err(e) => {
                eprintln!("error: {}: {e}", job.shown);
                code = code.max(CliError::from(e).exit_code());
            }
        }
    }
    Ok(code)
}

pub async fn cancel(cli: &Cli, text: &str) -> Result<i32, CliError> {
    let session = Session::open(cli).await?;
    let job = address::resolve(&session.ledger_dir, text)?;
    let Some(server_id) = &job.server_id else {
        return Err(CliError::Local(format!(
            "{}: the server has no id for it yet; nothing to cancel",
            job.shown
        )));
    };
    session.client.cancel_job(server_id).await?;
    outln!("cancel requested for {}", sanitize(server_id));
    Ok(exit::OK)
}
