//! The team's jobs on the server: every page of the job list read, jobs of other models left
//! out (the API has no model filter), each marked with its number when this ledger has it.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::LocalId;
use crate::api::types::{Job, JobStatus};
use crate::api::{ApiError, ScenarioClient};
use crate::kling::MODEL_ID;
use crate::sanitize::sanitize;

/// The most the API gives in one page.
const PAGE_SIZE: u32 = 100;
/// A bound on one listing: 20,000 jobs is more than anyone scrolls through, and a server
/// that hands out tokens forever must not keep the engine reading.
const MAX_PAGES: usize = 200;
/// The most jobs one listing keeps, however many a page holds.
pub(crate) const MAX_LISTED: usize = 20_000;

/// A Kling V3 Omni job on the server, as `GET /v1/jobs` lists it: a candidate, not a
/// snapshot (it is fetched again when imported). Text in it is already sanitized.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RemoteJob {
    pub job_id: String,
    pub status: JobStatus,
    /// 0 to 1.
    pub progress: f64,
    /// ISO 8601, as the server wrote it.
    pub created_at: String,
    pub prompt: String,
    pub mode: Option<String>,
    /// Seconds.
    pub duration: Option<u32>,
    /// Creative units, where the server says.
    pub cost: Option<f64>,
    /// Its number in this ledger, when it is already there.
    pub local_id: Option<LocalId>,
    /// The server did not say which model made it (the SDK defines no model id in a job's
    /// input): listed, shown as "model unknown", importable with a warning.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub model_unknown: bool,
}

impl RemoteJob {
    /// What a listing shows of `job`; `local_id` is its number in the ledger, if any.
    pub(crate) fn of(job: &Job, local_id: Option<LocalId>) -> Self {
        let input = job.metadata.input.as_ref();
        let text = |name: &str| {
            input
                .and_then(|i| i.get(name))
                .and_then(Value::as_str)
                .map(sanitize)
        };
        let duration = input.and_then(|i| i.get("duration")).and_then(|d| match d {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        Self {
            job_id: sanitize(&job.job_id),
            status: JobStatus::parse(&sanitize(job.status.as_str())),
            progress: job.progress_fraction(),
            created_at: job.created_at.as_deref().map(sanitize).unwrap_or_default(),
            prompt: text("prompt").unwrap_or_default(),
            mode: text("mode"),
            duration,
            cost: job
                .billing
                .as_ref()
                .and_then(|b| b.cu_cost)
                .filter(|c| c.is_finite()),
            local_id,
            model_unknown: model_of(job).is_none(),
        }
    }
}

/// The model a job ran, as its recorded input names it.
pub(crate) fn model_of(job: &Job) -> Option<&str> {
    let model = job.metadata.input.as_ref()?.get("modelId")?;
    // Named, but not as text: some model, not this one.
    Some(model.as_str().unwrap_or("(a model id that is not text)"))
}

/// Whether `job` may be a Kling V3 Omni job: it names that model, or names none (the SDK
/// does not promise a model id in a job's input, so such a job is listed, marked unknown).
pub(crate) fn is_kling(job: &Job) -> bool {
    model_of(job).is_none_or(|model| model == MODEL_ID)
}

/// Every Kling V3 Omni job of the team made after `since` (ISO 8601), newest first, each
/// once.
/// Every Kling V3 Omni job of the team made after `since`, newest first, each once, within
/// [`MAX_PAGES`] pages and [`MAX_LISTED`] jobs; with why it may be incomplete when it stopped
/// at a bound.
pub(crate) async fn list(
    client: &ScenarioClient,
    since: Option<&str>,
) -> Result<(Vec<Job>, Option<String>), ApiError> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut token: Option<String> = None;
    let mut incomplete = None;
    for page_number in 1..=MAX_PAGES {
        let page = client.list_jobs(PAGE_SIZE, token.as_deref(), since).await?;
        for job in page.jobs {
            // Jobs made while the pages are read shift them: one may come twice.
            if jobs.len() < MAX_LISTED && is_kling(&job) && seen.insert(job.job_id.clone()) {
                jobs.push(job);
            }
        }
        match page.next_pagination_token.filter(|t| !t.is_empty()) {
            // A token handed out again would only repeat the same page.
            Some(next) if token.as_deref() != Some(next.as_str()) => {
                if jobs.len() >= MAX_LISTED || page_number == MAX_PAGES {
                    incomplete = Some(format!(
                        "showing the newest {} jobs (the listing stops at {MAX_LISTED} jobs or \
                         {MAX_PAGES} pages); the list may be incomplete: --since narrows it",
                        jobs.len()
                    ));
                    break;
                }
                token = Some(next);
            }
            _ => break,
        }
    }
    // The server lists newest first; sorted all the same, since the pages were not read at
    // one instant. Jobs without a readable date go last, in the server's order.
    let when = |job: &Job| {
        job.created_at
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    };
    jobs.sort_by_key(|job| std::cmp::Reverse(when(job)));
    Ok((jobs, incomplete))
}

/// The listing's jobs as a client sees them, marked with their numbers in this ledger.
pub(crate) fn mark(jobs: &[Job], ledger: &HashMap<String, LocalId>) -> Vec<RemoteJob> {
    jobs.iter()
        .map(|job| RemoteJob::of(job, ledger.get(&job.job_id).copied()))
        .collect()
}

/// `since` as the API takes it, or why not.
pub(crate) fn check_since(since: &str) -> Result<String, String> {
    since
        .trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.to_string())
        .map_err(|_| {
            format!(
                "since: {:?} is not an ISO 8601 time (e.g. 2026-11-01T00:00:00Z)",
                sanitize(since)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(input: Value) -> Job {
        Job {
            job_id: "job_\u{1b}[31mx".into(),
            metadata: crate::api::types::JobMetadata {
                input: Some(input),
                ..Default::default()
            },
            ..Job::default()
        }
    }

    #[test]
    fn only_jobs_naming_this_model_count() {
        assert!(is_kling(&job(json!({"modelId": MODEL_ID}))));
        assert!(!is_kling(&job(json!({"modelId": "model_flux-1-dev"}))));
        assert!(!is_kling(&job(json!({"modelId": 7}))));
        // The SDK promises no model id: such a job is listed, marked unknown.
        assert!(is_kling(&job(json!({"prompt": "x"}))));
        assert!(RemoteJob::of(&job(json!({"prompt": "x"})), None).model_unknown);
        assert!(!RemoteJob::of(&job(json!({"modelId": MODEL_ID})), None).model_unknown);
    }

    #[test]
    fn a_listing_row_is_sanitized_and_lenient() {
        let row = RemoteJob::of(
            &job(json!({"prompt": "fox\u{202e}", "mode": "pro", "duration": "10"})),
            Some(3),
        );
        assert!(!row.job_id.contains('\u{1b}'));
        assert!(!row.prompt.contains('\u{202e}'));
        assert_eq!(row.duration, Some(10));
        assert_eq!(row.local_id, Some(3));
        let value = serde_json::to_value(&row).unwrap();
        assert_eq!(value["localId"], 3);
        let back: RemoteJob = serde_json::from_value(json!({"jobId": "j"})).unwrap();
        assert_eq!(back.local_id, None);
    }

    #[test]
    fn since_must_be_a_time() {
        assert!(check_since("2026-11-01T00:00:00Z").is_ok());
        assert!(check_since("yesterday").is_err());
    }
}
