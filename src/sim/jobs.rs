//! The simulator's jobs: what was asked, when, and how each renders as the API's `Job`.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use tokio::time::Instant;

use super::lifecycle::{self, Snapshot};
use crate::api::types::{Billing, Job, JobMetadata, JobStatus, StatusChange};
use crate::kling::{AspectRatio, KlingRequest, Mode};

/// Failures a job may end with: the error and the hint shown to the user.
pub(crate) const FAILURES: [(&str, &str); 3] = [
    (
        "The generation failed: content moderation flagged the prompt",
        "Rephrase the prompt and try again. Failed jobs are refunded.",
    ),
    (
        "The generation failed: the model provider timed out",
        "Try again in a few minutes. Failed jobs are refunded.",
    ),
    (
        "The generation failed: the reference image could not be processed",
        "Check the reference images and try again. Failed jobs are refunded.",
    ),
];

#[derive(Debug, Clone)]
pub(crate) struct SimJob {
    pub seq: u64,
    pub id: String,
    pub asset_id: String,
    pub created: Instant,
    /// Simulated seconds the job had already run when `created` was taken: a seeded job
    /// starts out long finished.
    pub head_start: f64,
    pub created_at: Timestamp,
    /// The body as received, after the server's own clean-up.
    pub input: Value,
    pub request: KlingRequest,
    pub cost: u64,
    /// For a job picked to fail: the fraction of `in-progress` it fails at, and which failure.
    pub failure: Option<(f64, usize)>,
}

impl SimJob {
    fn elapsed(&self, now: Instant, time_scale: f64) -> f64 {
        now.saturating_duration_since(self.created).as_secs_f64() * time_scale + self.head_start
    }

    pub(crate) fn snapshot(&self, now: Instant, time_scale: f64) -> Snapshot {
        lifecycle::snapshot(self.elapsed(now, time_scale), self.fail_at())
    }

    fn fail_at(&self) -> Option<f64> {
        self.failure.map(|(at, _)| at)
    }

    /// Real seconds until this job reaches a final status.
    pub(crate) fn seconds_left(&self, now: Instant, time_scale: f64) -> f64 {
        lifecycle::remaining(self.elapsed(now, time_scale), self.fail_at()) / time_scale
    }

    /// Width, height and seconds of the video this request asks for.
    pub(crate) fn requested_shape(&self) -> (u64, u64, f64) {
        let long = match self.request.mode {
            Mode::Standard => (1280, 720),
            Mode::Pro => (1920, 1080),
            Mode::FourK => (3840, 2160),
        };
        let (w, h) = match self.request.aspect_ratio {
            Some(AspectRatio::Portrait) => (long.1, long.0),
            Some(AspectRatio::Square) => (long.1, long.1),
            _ => long,
        };
        (w, h, f64::from(self.request.duration))
    }

    /// The job as `GET /jobs/{id}` shows it at `now`.
    pub(crate) fn render(&self, now: Instant, time_scale: f64) -> Job {
        let snap = self.snapshot(now, time_scale);
        let date = |offset: f64| {
            let real = SignedDuration::try_from_secs_f64(offset / time_scale).unwrap_or_default();
            let at = self.created_at.checked_add(real).unwrap_or(self.created_at);
            format!("{at:.3}")
        };
        let history: Vec<StatusChange> = snap
            .history
            .iter()
            .map(|(status, offset)| StatusChange {
                date: date(*offset),
                status: status.clone(),
            })
            .collect();
        let success = snap.status == JobStatus::Success;
        let failure = match (&snap.status, self.failure) {
            (JobStatus::Failure, Some((_, which))) => FAILURES.get(which).copied(),
            _ => None,
        };
        Job {
            job_id: self.id.clone(),
            job_type: Some("custom".to_string()),
            status: snap.status,
            progress: Some(snap.progress),
            created_at: Some(date(0.0)),
            updated_at: history.last().map(|change| change.date.clone()),
            status_history: history,
            metadata: JobMetadata {
                asset_ids: if success {
                    vec![self.asset_id.clone()]
                } else {
                    Vec::new()
                },
                error: failure.map(|(error, _)| error.to_string()),
                hint: failure.map(|(_, hint)| hint.to_string()),
                input: Some(self.input.clone()),
                output: None,
            },
            billing: success.then_some(Billing {
                cu_cost: Some(self.cost as f64),
                cu_discount: Some(0.0),
            }),
        }
    }
}

/// Every job, in creation order.
#[derive(Debug, Default)]
pub(crate) struct JobStore {
    jobs: Vec<SimJob>,
    by_id: HashMap<String, usize>,
    by_asset: HashMap<String, usize>,
}

impl JobStore {
    pub(crate) fn next_seq(&self) -> u64 {
        self.jobs.len() as u64
    }

    pub(crate) fn insert(&mut self, job: SimJob) -> &SimJob {
        let index = self.jobs.len();
        self.by_id.insert(job.id.clone(), index);
        self.by_asset.insert(job.asset_id.clone(), index);
        self.jobs.push(job);
        &self.jobs[index]
    }

    pub(crate) fn get(&self, id: &str) -> Option<&SimJob> {
        self.by_id.get(id).and_then(|&i| self.jobs.get(i))
    }

    /// The job whose output is `asset_id`, if that output exists yet.
    pub(crate) fn finished_asset(
        &self,
        asset_id: &str,
        now: Instant,
        time_scale: f64,
    ) -> Option<&SimJob> {
        let job = self
            .by_asset
            .get(asset_id)
            .and_then(|&i| self.jobs.get(i))?;
        (job.snapshot(now, time_scale).status == JobStatus::Success).then_some(job)
    }

    /// Jobs not yet final, and the real seconds until the first of them is.
    pub(crate) fn active(&self, now: Instant, time_scale: f64) -> (usize, f64) {
        self.jobs
            .iter()
            .filter(|job| !job.snapshot(now, time_scale).status.is_final())
            .fold((0, f64::INFINITY), |(n, soonest), job| {
                (n + 1, soonest.min(job.seconds_left(now, time_scale)))
            })
    }

    /// Newest first: up to `size` jobs created before `before` (a sequence number) whose
    /// status is `status`, and the sequence number to continue from when more remain.
    pub(crate) fn page(
        &self,
        before: Option<u64>,
        size: usize,
        filter: &PageFilter<'_>,
        now: Instant,
        time_scale: f64,
    ) -> (Vec<Job>, Option<u64>) {
        let mut matching = self
            .jobs
            .iter()
            .rev()
            .filter(|job| before.is_none_or(|b| job.seq < b))
            .filter(|job| filter.after.is_none_or(|a| job.created_at > a))
            .map(|job| (job.seq, job.render(now, time_scale)))
            .filter(|(_, job)| filter.status.is_none_or(|s| job.status.as_str() == s));
        let page: Vec<(u64, Job)> = matching.by_ref().take(size).collect();
        let more = matching.next().is_some();
        let next = if more {
            page.last().map(|(seq, _)| *seq)
        } else {
            None
        };
        (page.into_iter().map(|(_, job)| job).collect(), next)
    }
}

/// What a listing is narrowed to.
pub(crate) struct PageFilter<'a> {
    pub status: Option<&'a str>,
    /// Only jobs created after this moment.
    pub after: Option<Timestamp>,
}

/// An opaque pagination token for "jobs created before sequence number `seq`".
pub(crate) fn encode_token(seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("before:{seq}"))
}

pub(crate) fn decode_token(token: &str) -> Option<u64> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix("before:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_junk() {
        assert_eq!(decode_token(&encode_token(42)), Some(42));
        assert_eq!(decode_token("nonsense!"), None);
        assert_eq!(decode_token(&URL_SAFE_NO_PAD.encode("after:1")), None);
    }
}
