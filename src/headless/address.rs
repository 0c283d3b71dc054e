//! How a command names a job: `#12` or `12`, its number in the ledger as `jobs` prints it, or
//! the server's id (`job_…`). A number is always the ledger's: the server's ids are never
//! bare digits.

use std::path::Path;

use crate::engine::{JobQuery, JobRecord, Ledger, LocalId};
use crate::sanitize::sanitize;

use super::CliError;

/// A job as a command named it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum JobRef {
    Local(LocalId),
    Server(String),
}

impl JobRef {
    pub(super) fn parse(text: &str) -> Result<Self, CliError> {
        let text = text.trim();
        let digits = text.strip_prefix('#').unwrap_or(text);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return digits.parse().map(JobRef::Local).map_err(|_| {
                CliError::Invalid(vec![format!("JOB: {text} is too large for a job number")])
            });
        }
        crate::api::server_id("JOB", text)
            .map(JobRef::Server)
            .map_err(|_| {
                CliError::Invalid(vec![format!(
                    "JOB: {:?} is neither a job number of the ledger (#12 or 12, as `kling-tui \
                     jobs` shows) nor a server job id",
                    sanitize(text)
                )])
            })
    }
}

/// A named job, with what the ledger knows of it.
#[derive(Debug, Clone)]
pub(super) struct Addressed {
    /// As the command was given it, made safe to print.
    pub shown: String,
    /// The server's id, where there is one.
    pub server_id: Option<String>,
    /// The ledger's record, where the ledger has the job.
    pub record: Option<JobRecord>,
}

impl Addressed {
    pub(super) fn local_id(&self) -> Option<LocalId> {
        self.record.as_ref().map(|r| r.local_id)
    }
}

/// Finds what `text` names. A number the ledger does not have is an error that says where the
/// numbers come from; a server id the ledger does not have is still the server's to answer.
pub(super) fn resolve(ledger_dir: &Path, text: &str) -> Result<Addressed, CliError> {
    let shown = sanitize(text.trim());
    let (query, server_id) = match JobRef::parse(text)? {
        JobRef::Local(id) => (
            JobQuery {
                local_id: Some(id),
                ..JobQuery::default()
            },
            None,
        ),
        JobRef::Server(id) => (
            JobQuery {
                server_id: Some(id.clone()),
                ..JobQuery::default()
            },
            Some(id),
        ),
    };
    let mut record = None;
    // No ledger yet (a first command given a server id) is a ledger without the job.
    if ledger_dir.exists() {
        Ledger::query(ledger_dir, &query, |job| record = Some(job))
            .map_err(|e| CliError::Local(e.to_string()))?;
    }
    if let (None, Some(id)) = (&record, query.local_id) {
        return Err(CliError::Invalid(vec![format!(
            "JOB: no job #{id} in the ledger (`kling-tui jobs` lists them)"
        )]));
    }
    let server_id = server_id.or_else(|| record.as_ref().and_then(|r| r.job_id.clone()));
    Ok(Addressed {
        shown,
        server_id,
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_the_ledgers_and_ids_the_servers() {
        assert_eq!(JobRef::parse("#12").ok(), Some(JobRef::Local(12)));
        assert_eq!(JobRef::parse(" 7 ").ok(), Some(JobRef::Local(7)));
        assert_eq!(
            JobRef::parse("job_ab12").ok(),
            Some(JobRef::Server("job_ab12".into()))
        );
        for bad in [
            "",
            "#",
            "#x1",
            "../job",
            "job\u{1b}[2J",
            "99999999999999999999999",
        ] {
            assert!(JobRef::parse(bad).is_err(), "{bad:?}");
        }
    }
}
