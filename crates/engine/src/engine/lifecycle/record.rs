//! The records of what happens to a job, and how each changes what is known of it. The ledger
//! stores their result; the 0.1 journal stored the records themselves, one JSON line each.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::job::{DownloadRecord, JobRecord, LocalId, Submission};
use crate::api::types::{Job, JobStatus, StatusChange};
use crate::kling::KlingRequest;

/// One change to a job: what the engine records, in order, and what the 0.1 journal held one
/// of per line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Record {
    Intent {
        local_id: LocalId,
        created_at: String,
        request: KlingRequest,
        /// Local files to upload before the request can be sent.
        #[serde(default)]
        uploads: usize,
        /// The client's name for this submission: sent again, it finds this job.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        batch: Option<super::job::BatchTag>,
    },
    /// One local file is now an asset: every place the request names it gets the id.
    Uploaded {
        local_id: LocalId,
        file: String,
        asset_id: String,
    },
    Sending {
        local_id: LocalId,
    },
    Queued {
        local_id: LocalId,
    },
    Accepted {
        local_id: LocalId,
        job_id: String,
        cost: Option<f64>,
    },
    Unconfirmed {
        local_id: LocalId,
        reason: String,
    },
    Rejected {
        local_id: LocalId,
        reason: String,
    },
    Status {
        local_id: LocalId,
        status: JobStatus,
        progress: f64,
        #[serde(default)]
        asset_ids: Vec<String>,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        cost: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        history: Vec<StatusChange>,
    },
    /// A verified file is about to be given this name: written before the move, so a stop
    /// right after it still knows the file is ours.
    Placing {
        local_id: LocalId,
        index: usize,
        file: PathBuf,
        size: u64,
    },
    Downloaded {
        local_id: LocalId,
        index: usize,
        file: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        /// The asset id of the video's last frame, where its asset named one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_frame: Option<String>,
        /// The video's length in seconds, where its asset said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<f64>,
    },
    DownloadFailed {
        local_id: LocalId,
        index: usize,
        error: String,
    },
    Forgotten {
        local_id: LocalId,
    },
    /// A saved file is no longer on disk as it was written (removed, or changed in size):
    /// the download is to be made again.
    FileGone {
        local_id: LocalId,
        index: usize,
    },
    /// What a dry run quoted for the job before it was sent.
    Quoted {
        local_id: LocalId,
        cost: f64,
    },
    /// The most the job's batch may spend, from now on.
    BatchCap {
        local_id: LocalId,
        max: Option<f64>,
    },
    /// Where the job's videos go from now on.
    Destination {
        local_id: LocalId,
        dir: PathBuf,
    },
    /// The user chose to send an unconfirmed submission again, knowing it may charge twice.
    Resend {
        local_id: LocalId,
    },
    /// What the server billed beside the job's own cost; each `None` leaves what is known.
    Charges {
        local_id: LocalId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        add_ons: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ip_detection: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        no_refund: Option<bool>,
    },
    /// A whole job, as written by compaction.
    Job {
        job: Box<JobRecord>,
    },
}

impl Record {
    /// The record of what the server says of a job now, its text made safe to show.
    pub fn status_of(local_id: LocalId, job: &Job) -> Self {
        use crate::sanitize::sanitize;
        Record::Status {
            local_id,
            status: JobStatus::parse(&sanitize(job.status.as_str())),
            progress: job.progress_fraction(),
            asset_ids: job.metadata.asset_ids.clone(),
            error: job.metadata.error.as_deref().map(sanitize),
            cost: job.billing.as_ref().and_then(|b| b.cu_cost),
            hint: job.metadata.hint.as_deref().map(sanitize),
            history: job
                .status_history
                .iter()
                .map(|h| StatusChange {
                    date: sanitize(&h.date),
                    status: JobStatus::parse(&sanitize(h.status.as_str())),
                })
                .collect(),
        }
    }
}

/// Applies one record to the set of jobs. Records about unknown jobs are ignored.
pub(crate) fn apply(jobs: &mut BTreeMap<LocalId, JobRecord>, record: Record) {
    match record {
        Record::Intent {
            local_id,
            created_at,
            request,
            uploads,
            token,
            batch,
        } => {
            let mut record = JobRecord::new(local_id, created_at, request);
            record.upload_total = uploads;
            record.token = token;
            record.batch = batch;
            record.submission = if uploads > 0 {
                Submission::Uploading
            } else {
                Submission::Sending
            };
            jobs.insert(local_id, record);
        }
        Record::Uploaded {
            local_id,
            file,
            asset_id,
        } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                let r = &mut j.request;
                let swap = |a: &mut crate::kling::AssetId| {
                    if a.as_str() == file {
                        *a = crate::kling::AssetId::new(asset_id.clone());
                    }
                };
                r.start_image.iter_mut().for_each(swap);
                r.end_image.iter_mut().for_each(swap);
                r.reference_images.iter_mut().for_each(swap);
                r.reference_video.iter_mut().for_each(swap);
            }
        }
        Record::Job { job } => {
            jobs.insert(job.local_id, *job);
        }
        Record::Sending { local_id } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.submission = Submission::Sending;
            }
        }
        Record::Queued { local_id } | Record::Resend { local_id } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.submission = Submission::Queued;
            }
        }
        Record::Destination { local_id, dir } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.download_dir = Some(dir);
            }
        }
        Record::Accepted {
            local_id,
            job_id,
            cost,
        } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.submission = Submission::Accepted;
                j.job_id = Some(job_id);
                j.cost = cost.or(j.cost);
                j.status.get_or_insert(JobStatus::Pending);
            }
        }
        Record::Unconfirmed { local_id, reason } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.submission = Submission::Unconfirmed { reason };
            }
        }
        Record::Rejected { local_id, reason } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.submission = Submission::Rejected { reason };
            }
        }
        Record::Status {
            local_id,
            status,
            progress,
            asset_ids,
            error,
            cost,
            hint,
            history,
        } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.status = Some(status);
                j.progress = progress;
                j.error = error;
                j.hint = hint;
                if !history.is_empty() {
                    j.history = history;
                }
                j.cost = cost.or(j.cost);
                if j.downloads.is_empty() || j.downloads.len() != asset_ids.len() {
                    j.downloads = asset_ids
                        .into_iter()
                        .map(|asset_id| DownloadRecord {
                            asset_id,
                            file: None,
                            size: None,
                            placing: None,
                            error: None,
                            last_frame: None,
                            duration: None,
                        })
                        .collect();
                }
            }
        }
        Record::Placing {
            local_id,
            index,
            file,
            size,
        } => {
            if let Some(d) = download_mut(jobs, local_id, index) {
                d.placing = Some(file);
                d.size = Some(size);
            }
        }
        Record::Downloaded {
            local_id,
            index,
            file,
            size,
            last_frame,
            duration,
        } => {
            if let Some(d) = download_mut(jobs, local_id, index) {
                d.file = Some(file);
                d.size = size.or(d.size);
                d.last_frame = last_frame.or(d.last_frame.take());
                d.duration = duration.or(d.duration);
                d.placing = None;
                d.error = None;
            }
        }
        Record::DownloadFailed {
            local_id,
            index,
            error,
        } => {
            if let Some(d) = download_mut(jobs, local_id, index) {
                d.error = Some(error);
            }
        }
        Record::Forgotten { local_id } => {
            jobs.remove(&local_id);
        }
        Record::Charges {
            local_id,
            add_ons,
            ip_detection,
            no_refund,
        } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.add_on_cost = add_ons.or(j.add_on_cost);
                j.ip_detection_cost = ip_detection.or(j.ip_detection_cost);
                j.no_refund = no_refund.unwrap_or(j.no_refund);
            }
        }
        Record::Quoted { local_id, cost } => {
            if let Some(j) = jobs.get_mut(&local_id) {
                j.quote = Some(cost);
            }
        }
        Record::BatchCap { local_id, max } => {
            if let Some(b) = jobs.get_mut(&local_id).and_then(|j| j.batch.as_mut()) {
                b.max_cost = max;
            }
        }
        Record::FileGone { local_id, index } => {
            if let Some(d) = download_mut(jobs, local_id, index) {
                d.file = None;
                d.placing = None;
                d.size = None;
                d.error = None;
            }
        }
    }
}

pub(crate) fn record_id(record: &Record) -> LocalId {
    match record {
        Record::Intent { local_id, .. }
        | Record::Uploaded { local_id, .. }
        | Record::Sending { local_id }
        | Record::Queued { local_id }
        | Record::Accepted { local_id, .. }
        | Record::Unconfirmed { local_id, .. }
        | Record::Rejected { local_id, .. }
        | Record::Status { local_id, .. }
        | Record::Charges { local_id, .. }
        | Record::Placing { local_id, .. }
        | Record::Downloaded { local_id, .. }
        | Record::DownloadFailed { local_id, .. }
        | Record::Forgotten { local_id }
        | Record::FileGone { local_id, .. }
        | Record::Quoted { local_id, .. }
        | Record::BatchCap { local_id, .. }
        | Record::Destination { local_id, .. }
        | Record::Resend { local_id } => *local_id,
        Record::Job { job } => job.local_id,
    }
}

/// The `index`-th download of job `local_id`, when both exist.
fn download_mut(
    jobs: &mut BTreeMap<LocalId, JobRecord>,
    local_id: LocalId,
    index: usize,
) -> Option<&mut DownloadRecord> {
    jobs.get_mut(&local_id)?.downloads.get_mut(index)
}
