//! One job as the engine knows it: what was asked, where the submission stands, what the server
//! last said, and where its files are. This is what the journal persists and the UIs show.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::place::Place;
use crate::api::types::{JobStatus, StatusChange};
use crate::kling::KlingRequest;

/// A job's number in this journal, given before anything is sent.
pub type LocalId = u64;

/// Where the submission itself stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "kebab-case")]
pub enum Submission {
    /// Waiting locally: the team is at its concurrency ceiling.
    Queued,
    /// Local files the request names are being uploaded; nothing is sent to generate yet.
    Uploading,
    /// The intent is on disk and the POST is (or was, before a crash) on its way.
    Sending,
    /// The POST may have reached the server, but no answer came back. Never re-sent
    /// automatically; reconciled against the server's job list.
    Unconfirmed { reason: String },
    /// The server refused it (4xx): nothing was created or charged.
    Rejected { reason: String },
    /// The server created it; see `job_id` and `status`.
    Accepted,
}

/// One asset of a finished job and its way to disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DownloadRecord {
    pub asset_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The size written, once known (absent in journals of 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The name a verified file was being given when last heard of: if the process stopped
    /// before `file` was recorded, a file there of `size` bytes is this download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placing: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The asset id of the video's last frame, as the server named it when the file was
    /// saved: the start image of a shot that continues this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_frame: Option<String>,
    /// The video's length in seconds, as the server measured it when the file was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
}

impl DownloadRecord {
    pub fn is_done(&self) -> bool {
        self.file.is_some()
    }

    /// The file this journal knows it wrote (or was writing) for the asset, and its size.
    pub fn recorded(&self) -> Option<(&std::path::Path, u64)> {
        let path = self.file.as_deref().or(self.placing.as_deref())?;
        Some((path, self.size?))
    }
}

/// Why a job is held and not sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    pub reason: String,
    /// The cap that holds it, in creative units; none while its cost is being asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<f64>,
    /// When it goes by itself (RFC 3339): the next day (UTC) for `max_spend_per_day`, whose
    /// count starts again at midnight. `None`: it waits for a person to raise a cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// A job's place in a batch: the batch's name, the request's place in the expanded batch
/// (from 0), and the line of the batch file it comes from (from 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchTag {
    pub name: String,
    pub index: usize,
    pub row: usize,
    /// The most the batch may spend, in creative units (`--max-cost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    pub local_id: LocalId,
    /// When the intent was recorded (RFC 3339).
    pub created_at: String,
    pub request: KlingRequest,
    pub submission: Submission,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<JobStatus>,
    #[serde(default)]
    pub progress: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The server's advice next to an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Each status the server reported, with its time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<StatusChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub downloads: Vec<DownloadRecord>,
    /// Polls of it keep failing; shown, never dropped. A fact of the engine's run: not
    /// persisted, but told to clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trouble: Option<PollTrouble>,
    /// The submitting client's name for it, so a submission sent twice over a broken
    /// connection is one job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Where its videos go, when the client that sent it said (an absolute path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_dir: Option<PathBuf>,
    /// The batch it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchTag>,
    /// What a free dry run said it would cost, before it was sent: counted against a spend
    /// cap while its own cost is not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<f64>,
    /// Why it is not sent now (a spend cap): a fact of the engine's run, told to clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Hold>,
    /// How many local files the request named when it was made.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub upload_total: usize,
    /// Part of what was recorded of this job could not be read: what was recovered, to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damage: Option<String>,
    /// Add-on fees the server billed beside `cost` (the sum of `billing.cuCostDetails`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_on_cost: Option<f64>,
    /// What IP detection charged for the request, outside the job (from the generate answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_detection_cost: Option<f64>,
    /// The server said a failure of this job is not refunded (`billing.disableRefund`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_refund: bool,
    /// When a queued or running job should be done (RFC 3339), from the server's typical
    /// time for its mode: a fact of the engine's run, told to clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_at: Option<String>,
    /// Where it is, as the engine last judged it (see [`Place::of`]): what every reader asks
    /// instead of judging the record itself.
    #[serde(default)]
    pub place: Place,
}

/// Where a job stands, as scripts read it: a status word that never changes meaning, and why,
/// where there is more to say. `success` means the video is known (and, where asked, on disk);
/// a success whose video the server has not named is `waiting-for-video`, then `no-video`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub status: String,
    pub reason: Option<String>,
}

/// Every word [`JobRecord::standing`] may say, in the order of a job's life: what `jobs
/// --status` takes (and completes).
pub const STATUS_WORDS: &[&str] = &[
    "held",
    "queued-locally",
    "uploading",
    "submitting",
    "unconfirmed",
    "rejected",
    "pending",
    "queued",
    "warming-up",
    "in-progress",
    "finalizing",
    "waiting-for-video",
    "no-video",
    "success",
    "failure",
    "canceled",
];

/// Polls of a job that have failed since its last good answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollTrouble {
    /// When the first of them failed (RFC 3339).
    pub since: String,
    pub failures: u32,
    /// The last failure, ready to show.
    pub error: String,
    /// Polling stopped after the give-up bound; the job waits for a refresh or a restart.
    pub gave_up: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Whether a reference value is a local file rather than an asset id.
pub fn is_local_file(value: &str) -> bool {
    !value.starts_with("asset_") || std::path::Path::new(value).exists()
}

/// The request with every local file it names made absolute against this process's working
/// folder: the engine runs elsewhere, in a folder of its own.
pub fn with_absolute_files(mut request: KlingRequest) -> KlingRequest {
    let absolute = |id: &mut crate::kling::AssetId| {
        let path = std::path::Path::new(id.as_str());
        if is_local_file(id.as_str())
            && path.is_relative()
            && let Ok(full) = std::path::absolute(path)
        {
            *id = crate::kling::AssetId::new(full.to_string_lossy().into_owned());
        }
    };
    request.start_image.iter_mut().for_each(absolute);
    request.end_image.iter_mut().for_each(absolute);
    request.reference_images.iter_mut().for_each(absolute);
    request.reference_video.iter_mut().for_each(absolute);
    request
}

/// A request's references that are local files, each with its role.
pub fn local_files(request: &KlingRequest) -> Vec<(String, crate::media::Role)> {
    use crate::media::Role;
    let mut files: Vec<(String, Role)> = Vec::new();
    let images = request
        .start_image
        .iter()
        .chain(request.end_image.iter())
        .chain(request.reference_images.iter());
    for id in images {
        if is_local_file(id.as_str()) {
            files.push((id.as_str().to_string(), Role::Image));
        }
    }
    for id in request.reference_video.iter() {
        if is_local_file(id.as_str()) {
            files.push((id.as_str().to_string(), Role::Video));
        }
    }
    files.dedup();
    files
}

impl JobRecord {
    pub fn new(local_id: LocalId, created_at: String, request: KlingRequest) -> Self {
        Self {
            local_id,
            created_at,
            request,
            submission: Submission::Queued,
            job_id: None,
            status: None,
            progress: 0.0,
            cost: None,
            error: None,
            hint: None,
            history: Vec::new(),
            downloads: Vec::new(),
            trouble: None,
            download_dir: None,
            batch: None,
            quote: None,
            held: None,
            token: None,
            upload_total: 0,
            damage: None,
            add_on_cost: None,
            ip_detection_cost: None,
            no_refund: false,
            expected_at: None,
            place: Place::default(),
        }
    }

    /// The request's references that are still local files, with the role each plays.
    pub fn local_files(&self) -> Vec<(String, crate::media::Role)> {
        local_files(&self.request)
    }

    /// The server will not change this job any more (or it never reached the server). A
    /// success that names no video is not final: its video is still to be named, and it is
    /// polled until it is (or the wait for it is given up).
    pub fn is_final(&self) -> bool {
        match &self.submission {
            Submission::Rejected { .. } => true,
            Submission::Accepted => {
                self.status.as_ref().is_some_and(JobStatus::is_final) && !self.awaits_video()
            }
            _ => false,
        }
    }

    /// The server says `success` but has named no video file (yet): nothing to download.
    pub fn awaits_video(&self) -> bool {
        self.submission == Submission::Accepted && self.succeeded() && self.downloads.is_empty()
    }

    /// How long its video is, in seconds: the server's measure of its first saved video where
    /// known (what a cut adds up), else the length it asked for.
    pub fn seconds(&self) -> f64 {
        self.downloads
            .first()
            .and_then(|d| d.duration)
            .filter(|d| d.is_finite() && *d > 0.0)
            .unwrap_or_else(|| f64::from(self.request.duration))
    }

    /// What the job cost, as the SDK counts it: `cuCost` plus the add-ons, unless it failed
    /// (or was canceled) and was refunded; plus any IP-detection charge, billed outside the
    /// job. `None` while its cost is not known (a quote stands for it then).
    pub fn charged(&self) -> Option<f64> {
        let refunded = matches!(self.status, Some(JobStatus::Failure | JobStatus::Canceled))
            && !self.no_refund;
        let ip = self.ip_detection_cost.unwrap_or(0.0);
        if refunded {
            return Some(ip);
        }
        self.cost.map(|c| c + self.add_on_cost.unwrap_or(0.0) + ip)
    }

    pub fn needs_poll(&self) -> bool {
        self.submission == Submission::Accepted && !self.is_final()
    }

    /// Its progress in whole percent: the one figure every front-end shows.
    pub fn percent(&self) -> u8 {
        (self.progress.clamp(0.0, 1.0) * 100.0).round() as u8
    }

    pub fn succeeded(&self) -> bool {
        self.status == Some(JobStatus::Success)
    }

    /// Succeeded, named its video, and every asset is on disk.
    pub fn fully_downloaded(&self) -> bool {
        self.succeeded()
            && !self.downloads.is_empty()
            && self.downloads.iter().all(DownloadRecord::is_done)
    }

    /// A short word for where the job is, for lists.
    pub fn state_word(&self) -> String {
        match &self.submission {
            Submission::Queued => match &self.held {
                Some(hold) => format!("held: {}", hold.reason),
                None => "queued-locally".into(),
            },
            Submission::Uploading => {
                let left = self.local_files().len();
                let total = self.upload_total.max(left);
                format!("uploading {}/{total}", total - left)
            }
            Submission::Sending => "submitting".into(),
            Submission::Unconfirmed { .. } => "unconfirmed".into(),
            Submission::Rejected { .. } => "rejected".into(),
            Submission::Accepted if self.awaits_video() => match &self.trouble {
                Some(t) if t.gave_up => "success without a video".into(),
                _ => "success, waiting for the video".into(),
            },
            Submission::Accepted => {
                let status = self
                    .status
                    .as_ref()
                    .map_or("pending".to_string(), |s| s.to_string());
                match &self.trouble {
                    Some(t) if t.gave_up => format!("{status} (gave up polling)"),
                    Some(_) => format!("{status} (polls failing)"),
                    None => status,
                }
            }
        }
    }
}

impl JobRecord {
    /// Where the job stands, for `--json` output and manifests: one status word and its
    /// reason. Local states (`held`, `queued-locally`, `uploading`, `submitting`,
    /// `unconfirmed`, `rejected`) before the server has it; then the server's status, with
    /// `waiting-for-video` and `no-video` for a success that has named no video file.
    pub fn standing(&self) -> Standing {
        let (status, reason): (String, Option<String>) = match &self.submission {
            Submission::Queued => match &self.held {
                Some(hold) => ("held".into(), Some(hold.reason.clone())),
                None => (
                    "queued-locally".into(),
                    Some("the team is at its concurrency ceiling".into()),
                ),
            },
            Submission::Uploading => ("uploading".into(), None),
            Submission::Sending => ("submitting".into(), None),
            Submission::Unconfirmed { reason } => ("unconfirmed".into(), Some(reason.clone())),
            Submission::Rejected { reason } => ("rejected".into(), Some(reason.clone())),
            Submission::Accepted if self.awaits_video() => match &self.trouble {
                Some(t) if t.gave_up => ("no-video".into(), Some(t.error.clone())),
                _ => (
                    "waiting-for-video".into(),
                    Some("the server says success but has not named the video yet".into()),
                ),
            },
            Submission::Accepted => {
                let status = self
                    .status
                    .as_ref()
                    .map_or("pending".to_string(), |s| s.as_str().to_string());
                let reason = match &self.trouble {
                    Some(t) if t.gave_up => Some(format!("gave up polling: {}", t.error)),
                    Some(t) => Some(format!("polls failing: {}", t.error)),
                    None => self.error.clone(),
                };
                (status, reason)
            }
        };
        Standing {
            status: crate::sanitize::sanitize(&status),
            reason: reason.map(|r| crate::sanitize::sanitize(&r)),
        }
    }
}
