//! The simulator's jobs: what was asked, when, and how each renders as the API's `Job`.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::lifecycle::{self, Snapshot, Status};
use super::picture::fnv1a;
use super::state::{AUTHOR_ID, OWNER_ID, Sim, iso};
use kling::{AspectRatio, KlingRequest, Mode};

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

/// The id of a job's second video (when the simulator gives two), made from the first's so
/// that it never draws from the id stream.
pub(crate) fn second_asset_id(first: &str) -> String {
    let a = fnv1a(first.as_bytes());
    let b = fnv1a(format!("{first}#2").as_bytes());
    format!("asset_{:016x}{:08x}", a, b >> 32)
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

    /// The ids of this job's videos: one, or two when the simulator gives several.
    pub(crate) fn asset_ids(&self, count: usize) -> Vec<String> {
        let mut ids = vec![self.asset_id.clone()];
        if count > 1 {
            ids.push(second_asset_id(&self.asset_id));
        }
        ids
    }

    /// The moment `offset` simulated seconds after creation, by the wall clock.
    pub(crate) fn wall_time(&self, offset: f64, time_scale: f64) -> Timestamp {
        let real = SignedDuration::try_from_secs_f64(offset / time_scale).unwrap_or_default();
        self.created_at.checked_add(real).unwrap_or(self.created_at)
    }

    /// When the job read `success` (or will), by the wall clock.
    pub(crate) fn finished_at(&self, time_scale: f64) -> Timestamp {
        self.wall_time(lifecycle::success_at(), time_scale)
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

    /// What kind of generation this was, as assets name it in `source` and `metadata.type`.
    pub(crate) fn generation_type(&self) -> &'static str {
        if self.request.reference_video.is_some() {
            "video2video"
        } else if self.request.start_image.is_some() || !self.request.reference_images.is_empty() {
            "img2video"
        } else {
            "txt2video"
        }
    }

    /// Whether the asset ids are listed yet, `elapsed` simulated seconds after creation at a
    /// job that reads `success`.
    fn assets_listed(&self, sim: &Sim, elapsed: f64) -> bool {
        let Some(late) = &sim.config.late_assets else {
            return true;
        };
        let real_since = (elapsed - lifecycle::success_at()).max(0.0) / sim.time_scale;
        late.after
            .is_some_and(|after| real_since >= after.as_secs_f64())
    }

    /// The job as `GET /jobs/{id}` shows it at `now`.
    pub(crate) fn render(&self, sim: &Sim, now: Instant) -> Value {
        let time_scale = sim.time_scale;
        let elapsed = self.elapsed(now, time_scale);
        let snap = lifecycle::snapshot(elapsed, self.fail_at());
        let date = |offset: f64| iso(self.wall_time(offset, time_scale));
        let history: Vec<Value> = snap
            .history
            .iter()
            .map(|(status, offset)| json!({"date": date(*offset), "status": status.as_str()}))
            .collect();
        let updated_at = snap
            .history
            .last()
            .map_or_else(|| date(0.0), |(_, offset)| date(*offset));
        let success = snap.status == Status::Success;
        let failure = match (snap.status, self.failure) {
            (Status::Failure, Some((_, which))) => FAILURES.get(which).copied(),
            _ => None,
        };

        let mut metadata = Map::new();
        if success && !self.assets_listed(sim, elapsed) {
            let key_absent = sim
                .config
                .late_assets
                .as_ref()
                .is_some_and(|late| late.key_absent);
            if !key_absent {
                metadata.insert("assetIds".into(), json!([]));
            }
        } else if success {
            metadata.insert("assetIds".into(), json!(self.asset_ids(sim.video_count())));
        } else {
            metadata.insert("assetIds".into(), json!([]));
        }
        if let Some((error, hint)) = failure {
            metadata.insert("error".into(), error.into());
            metadata.insert("hint".into(), hint.into());
        }
        metadata.insert("input".into(), self.input.clone());

        let mut job = json!({
            "jobId": self.id,
            "jobType": "custom",
            "status": snap.status.as_str(),
            "progress": snap.progress,
            "createdAt": date(0.0),
            "updatedAt": updated_at,
            "statusHistory": history,
            "authorId": AUTHOR_ID,
            "ownerId": OWNER_ID,
            "metadata": metadata,
        });
        // What was charged: on failure `cuCost` still shows the original charge, and the
        // add-ons (none here) read 0 as refunded.
        let extras = sim.config.billing_extras;
        let billing = match snap.status {
            Status::Success if extras => Some(json!({
                "cuCost": self.cost,
                "cuDiscount": 0,
                "cuCostDetails": {"quality-gate": super::config::BILLED_ADD_ON},
            })),
            Status::Success => Some(json!({"cuCost": self.cost, "cuDiscount": 0})),
            Status::Failure if extras => Some(json!({
                "cuCost": self.cost,
                "cuDiscount": 0,
                "cuCostDetails": {"quality-gate": 0},
                "disableRefund": true,
            })),
            Status::Failure => Some(json!({
                "cuCost": self.cost,
                "cuDiscount": 0,
                "cuCostDetails": {"quality-gate": 0},
            })),
            _ => None,
        };
        if let (Some(billing), Some(fields)) = (billing, job.as_object_mut()) {
            fields.insert("billing".into(), billing);
        }
        job
    }
}

/// Every job, in creation order.
#[derive(Debug, Default)]
pub(crate) struct JobStore {
    jobs: Vec<SimJob>,
    by_id: HashMap<String, usize>,
    /// Every video's asset id (first and second), to its job and its place among the job's.
    by_asset: HashMap<String, (usize, usize)>,
}

impl JobStore {
    pub(crate) fn next_seq(&self) -> u64 {
        self.jobs.len() as u64
    }

    pub(crate) fn insert(&mut self, job: SimJob) -> &SimJob {
        let index = self.jobs.len();
        self.by_id.insert(job.id.clone(), index);
        self.by_asset.insert(job.asset_id.clone(), (index, 0));
        self.by_asset
            .insert(second_asset_id(&job.asset_id), (index, 1));
        self.jobs.push(job);
        &self.jobs[index]
    }

    pub(crate) fn get(&self, id: &str) -> Option<&SimJob> {
        self.by_id.get(id).and_then(|&i| self.jobs.get(i))
    }

    /// The job whose output is `asset_id`, and which of its `count` videos that is, if that
    /// output exists yet.
    pub(crate) fn finished_asset(
        &self,
        asset_id: &str,
        count: usize,
        now: Instant,
        time_scale: f64,
    ) -> Option<(&SimJob, usize)> {
        let (index, take) = *self.by_asset.get(asset_id)?;
        let job = self.jobs.get(index).filter(|_| take < count)?;
        (job.snapshot(now, time_scale).status == Status::Success).then_some((job, take))
    }

    /// Every job, oldest first.
    pub(crate) fn all(&self) -> &[SimJob] {
        &self.jobs
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
        sim: &Sim,
        now: Instant,
    ) -> (Vec<Value>, Option<u64>) {
        let mut matching = self
            .jobs
            .iter()
            .rev()
            .filter(|job| before.is_none_or(|b| job.seq < b))
            .filter(|job| filter.after.is_none_or(|a| job.created_at > a))
            .filter(|job| {
                filter
                    .status
                    .is_none_or(|s| job.snapshot(now, sim.time_scale).status.as_str() == s)
            })
            .map(|job| (job.seq, job.render(sim, now)));
        let page: Vec<(u64, Value)> = matching.by_ref().take(size).collect();
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
