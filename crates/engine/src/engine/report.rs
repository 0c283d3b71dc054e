//! The one JSON shape of a job, for every command that prints jobs (`jobs`, `jobs --remote`,
//! `status`, `submit`, `download`, `import`) and for each line of a batch's manifest. Scripts
//! read one set of names whatever printed it; `schemas/job.json` describes it, and the tests
//! hold every printer to that schema.

use std::path::PathBuf;

use serde::Serialize;

use super::{JobRecord, LocalId, RemoteJob, Submission};
use crate::api::types::{Job, JobStatus};
use crate::sanitize::sanitize;

/// A job as scripts see it. Fields the source does not know are left out, never guessed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobReport {
    /// Its number in the ledger (`#12`), where it is in the ledger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_id: Option<LocalId>,
    /// The server's id, once the server has the job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// One word scripts can branch on: one of [`super::STATUS_WORDS`] or the server's own.
    pub status: JobStatus,
    /// Why it stands there, where there is more to say (held by a cap, waiting for its video,
    /// refused, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// 0 to 1.
    pub progress: f64,
    /// When it was made (RFC 3339): recorded in the ledger, or as the server wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// `std`, `pro`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Seconds of video asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// The batch it was sent in, and its place there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchPlace>,
    /// Creative units the server charged (a failed job's are refunded unless `refunded` is
    /// false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creative_units: Option<f64>,
    /// For a failed or canceled job with a cost: whether that cost comes back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refunded: Option<bool>,
    pub asset_ids: Vec<String>,
    /// The videos on disk (absolute where the engine saved them).
    pub files: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When a queued or running job should be done, from the server's typical time for its
    /// mode (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_at: Option<String>,
    /// The server did not say which model made it (listed from the team's jobs).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub model_unknown: bool,
}

/// A job's batch and its place there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchPlace {
    pub name: String,
    /// Its request's number among the batch's expanded requests, from 0.
    pub index: usize,
}

fn refunded(status: &JobStatus, cost: Option<f64>, no_refund: bool) -> Option<bool> {
    let ended_badly = matches!(status, JobStatus::Failure | JobStatus::Canceled);
    (ended_badly && cost.is_some_and(|c| c > 0.0)).then_some(!no_refund)
}

impl JobReport {
    /// A job as the server answered it, not (or not yet) read from the ledger.
    pub fn from_server(job: &Job, files: Vec<PathBuf>) -> Self {
        let remote = RemoteJob::of(job, None);
        let no_video = job.status == JobStatus::Success && job.metadata.asset_ids.is_empty();
        let no_refund = job
            .billing
            .as_ref()
            .and_then(|b| b.disable_refund)
            .unwrap_or(false);
        let status = if no_video {
            JobStatus::Unknown("waiting-for-video".into())
        } else {
            remote.status.clone()
        };
        Self {
            local_id: None,
            job_id: Some(remote.job_id.clone()),
            refunded: refunded(&status, remote.cost, no_refund),
            status,
            reason: no_video
                .then(|| "the server says success but has not named the video yet".into()),
            progress: remote.progress,
            created_at: Some(remote.created_at).filter(|t| !t.is_empty()),
            prompt: Some(remote.prompt).filter(|p| !p.is_empty()),
            mode: remote.mode,
            duration: remote.duration,
            batch: None,
            creative_units: remote.cost,
            asset_ids: job.metadata.asset_ids.iter().map(|a| sanitize(a)).collect(),
            files,
            error: job.metadata.error.as_deref().map(sanitize),
            expected_at: None,
            model_unknown: remote.model_unknown,
        }
    }

    /// A batch's request the engine does not have yet.
    pub fn not_sent() -> Self {
        Self {
            local_id: None,
            job_id: None,
            status: JobStatus::Unknown("not-sent".into()),
            reason: None,
            progress: 0.0,
            created_at: None,
            prompt: None,
            mode: None,
            duration: None,
            batch: None,
            creative_units: None,
            refunded: None,
            asset_ids: Vec::new(),
            files: Vec::new(),
            error: None,
            expected_at: None,
            model_unknown: false,
        }
    }

    /// A job of the team's listing (`jobs --remote`).
    pub fn from_remote(job: &RemoteJob) -> Self {
        Self {
            local_id: job.local_id,
            job_id: Some(job.job_id.clone()),
            status: job.status.clone(),
            reason: None,
            progress: job.progress.clamp(0.0, 1.0),
            created_at: Some(job.created_at.clone()).filter(|t| !t.is_empty()),
            prompt: Some(job.prompt.clone()).filter(|p| !p.is_empty()),
            mode: job.mode.clone(),
            duration: job.duration,
            batch: None,
            creative_units: job.cost,
            refunded: refunded(&job.status, job.cost, false),
            asset_ids: Vec::new(),
            files: Vec::new(),
            error: None,
            expected_at: None,
            model_unknown: job.model_unknown,
        }
    }

    /// A job the ledger holds. A submission that never became a server job shows its local
    /// state (`queued-locally`, `unconfirmed`, `rejected`) as its status.
    pub fn from_record(job: &JobRecord) -> Self {
        let standing = job.standing();
        let error = match &job.submission {
            Submission::Unconfirmed { reason } | Submission::Rejected { reason } => {
                Some(sanitize(reason))
            }
            _ => job.error.as_deref().map(sanitize),
        };
        let status = JobStatus::parse(&standing.status);
        Self {
            local_id: Some(job.local_id),
            job_id: job.job_id.as_deref().map(sanitize),
            refunded: refunded(
                job.status.as_ref().unwrap_or(&status),
                job.cost,
                job.no_refund,
            ),
            status,
            reason: standing.reason,
            progress: job.progress.clamp(0.0, 1.0),
            created_at: Some(sanitize(&job.created_at)),
            prompt: Some(sanitize(&job.request.prompt)),
            mode: Some(job.request.mode.as_str().to_string()),
            duration: Some(job.request.duration),
            batch: job.batch.as_ref().map(|b| BatchPlace {
                name: sanitize(&b.name),
                index: b.index,
            }),
            creative_units: job.cost,
            asset_ids: job
                .downloads
                .iter()
                .map(|d| sanitize(&d.asset_id))
                .collect(),
            files: job
                .downloads
                .iter()
                .filter_map(|d| d.file.clone())
                .collect(),
            error,
            expected_at: job.expected_at.clone(),
            model_unknown: false,
        }
    }
}
