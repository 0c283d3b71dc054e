//! The simulator's shared state: configuration, clocks, jobs, faults, stats and the seeded
//! random streams, behind one lock that is never held across an await.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::faults::PendingFaults;
use super::jobs::{FAILURES, JobStore, SimJob};
use super::signing::LinkSigner;
use super::stats::SimStats;
use super::uploads::UploadStore;
use super::variation::{self, Shape};
use super::video::{VideoFile, VideoSource};
use super::{Route, SimConfig, Variation};
use kling::{KlingRequest, MODEL_ID};

/// The user every job, asset and upload is made by, and the team that owns them.
pub(crate) const AUTHOR_ID: &str = "user_5b1f0c7e2d9a4e8f3c6b1a07";
pub(crate) const OWNER_ID: &str = "team_8c3d2e1f0a9b8c7d6e5f4a3b";

/// A time as the API writes it: UTC with milliseconds.
pub(crate) fn iso(at: jiff::Timestamp) -> String {
    format!("{at:.3}")
}

pub(crate) struct Sim {
    pub config: SimConfig,
    pub time_scale: f64,
    pub video: VideoSource,
    /// Where signed links point, e.g. `http://127.0.0.2:PORT/cdn`.
    pub cdn_base: String,
    /// The CDN host itself, e.g. `http://127.0.0.2:PORT`, where upload parts go.
    pub cdn_origin: String,
    pub started: Instant,
    pub started_wall: SystemTime,
    /// CDN bodies being sent now.
    pub(crate) open_bodies: std::sync::atomic::AtomicUsize,
    inner: Mutex<Inner>,
}

pub(crate) struct Inner {
    pub jobs: JobStore,
    pub stats: SimStats,
    pub faults: PendingFaults,
    pub links: LinkSigner,
    pub uploads: UploadStore,
    /// How answers are written (a copy of the configuration's), for error bodies too.
    pub variation: Option<Variation>,
    /// Separate streams so that, say, the number of errors seen never changes job ids.
    ids: StdRng,
    rolls: StdRng,
    traces: StdRng,
    upload_ids: StdRng,
}

impl Sim {
    pub(crate) fn new(config: SimConfig, cdn_base: String) -> Self {
        let mut ids = StdRng::seed_from_u64(config.seed);
        let links = LinkSigner::new(ids.random());
        let mut jobs = JobStore::default();
        super::seed::seed(&mut jobs, &config);
        let inner = Inner {
            jobs,
            stats: SimStats::default(),
            faults: PendingFaults::default(),
            links,
            uploads: UploadStore::default(),
            variation: config.variation,
            upload_ids: StdRng::seed_from_u64(config.seed ^ 0x0b10_ad5e),
            rolls: StdRng::seed_from_u64(config.seed ^ 0x5eed_f417),
            traces: StdRng::seed_from_u64(config.seed ^ 0x7ace_7ace),
            ids,
        };
        Self {
            time_scale: config.effective_time_scale(),
            video: VideoSource::new(config.video_size),
            config,
            cdn_origin: cdn_base
                .strip_suffix("/cdn")
                .unwrap_or(&cdn_base)
                .to_string(),
            cdn_base,
            started: Instant::now(),
            started_wall: SystemTime::now(),
            open_bodies: std::sync::atomic::AtomicUsize::new(0),
            inner: Mutex::new(inner),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves plain data behind; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::now()
    }

    /// Logs a request's arrival for rate checks.
    pub(crate) fn log_request(&self, inner: &mut Inner, route: Route) {
        let at = self.now().saturating_duration_since(self.started);
        inner.stats.requests.push((at, route));
    }

    /// How many videos a successful job has.
    pub(crate) fn video_count(&self) -> usize {
        if self.config.variation == Some(Variation::SeveralAssets) {
            2
        } else {
            1
        }
    }

    /// The file of a job's video number `take` (from 0).
    pub(crate) fn video_file(&self, take: usize) -> VideoFile {
        VideoFile {
            source: self.video,
            take,
            quicktime: self.config.variation == Some(Variation::Quicktime),
        }
    }

    /// A 200 answer with `body`, written as the configured variation says.
    pub(crate) fn reply(&self, shape: &Shape, body: Value) -> Response {
        self.reply_status(StatusCode::OK, shape, body)
    }

    /// An answer with `status` and `body`, written as the configured variation says.
    pub(crate) fn reply_status(&self, status: StatusCode, shape: &Shape, body: Value) -> Response {
        (status, Json(self.written(shape, body))).into_response()
    }

    /// `body` as the configured variation writes it.
    pub(crate) fn written(&self, shape: &Shape, mut body: Value) -> Value {
        if let Some(variation) = self.config.variation {
            variation::apply(variation, Some(shape), &mut body);
        }
        body
    }

    /// A signed CDN link to an asset whose file has the extension `ext`.
    pub(crate) fn signed_file_url(&self, inner: &Inner, asset_id: &str, ext: &str) -> String {
        let expires = unix_now().saturating_add(self.config.link_ttl).as_secs();
        let signature = inner.links.sign(asset_id, expires);
        format!(
            "{}/{asset_id}.{ext}?Expires={expires}&Key-Pair-Id=SIM&Signature={signature}",
            self.cdn_base
        )
    }

    /// The presigned link a part of an upload is PUT to, and when it expires.
    pub(crate) fn part_url(&self, inner: &Inner, upload_id: &str, number: u32) -> (String, String) {
        let lifetime = PART_LINK_TTL.max(self.config.link_ttl);
        let expires = unix_now().saturating_add(lifetime).as_secs();
        let signature = inner.links.sign(&part_key(upload_id, number), expires);
        let url = format!(
            "{}/upload/{upload_id}/{number}?Expires={expires}&Signature={signature}",
            self.cdn_origin
        );
        let at = i64::try_from(expires)
            .ok()
            .and_then(|secs| jiff::Timestamp::from_second(secs).ok())
            .unwrap_or_else(jiff::Timestamp::now);
        (url, format!("{at:.3}"))
    }

    /// Creates a job for a validated request.
    pub(crate) fn create_job<'a>(
        &self,
        inner: &'a mut Inner,
        request: KlingRequest,
        mut input: serde_json::Value,
        cost: u64,
    ) -> &'a SimJob {
        // As on the real service, the recorded input names its model.
        if let Some(fields) = input.as_object_mut() {
            fields.insert("modelId".into(), MODEL_ID.into());
        }
        // Draw every value whatever the failure rate, so ids do not depend on it.
        let id = format!("job_{}", hex24(&mut inner.ids));
        let id = inner.faults.next_job_id().unwrap_or(id);
        let asset_id = format!("asset_{}", hex24(&mut inner.ids));
        let fails = inner.ids.random::<f64>() < self.config.failure_rate;
        let fails = inner.faults.job_fails() || fails;
        let fail_at = inner.ids.random_range(0.2..0.8);
        let which = inner.ids.random_range(0..FAILURES.len());
        let job = SimJob {
            seq: inner.jobs.next_seq(),
            id,
            asset_id,
            created: self.now(),
            head_start: 0.0,
            created_at: jiff::Timestamp::now(),
            input,
            request,
            cost,
            failure: fails.then_some((fail_at, which)),
        };
        inner.stats.jobs_created += 1;
        inner.jobs.insert(job)
    }
}

/// What a part link's signature covers: the upload and the part number.
pub(crate) fn part_key(upload_id: &str, number: u32) -> String {
    format!("upload/{upload_id}/{number}")
}

/// Part links outlive download links: a big upload over a slow line takes a while.
const PART_LINK_TTL: Duration = Duration::from_secs(3600);

impl Inner {
    /// A fresh id for an uploaded asset or an upload, from a stream of its own so uploads
    /// never change job ids.
    pub(crate) fn upload_id(&mut self, prefix: &str) -> String {
        format!("{prefix}_{}", hex24(&mut self.upload_ids))
    }

    /// A roll against a rate, from the fault stream.
    pub(crate) fn roll(&mut self, rate: f64) -> bool {
        rate > 0.0 && self.rolls.random::<f64>() < rate
    }

    /// One of the 5xx statuses a struggling server answers.
    pub(crate) fn pick_5xx(&mut self) -> u16 {
        [500, 502, 503][self.rolls.random_range(0..3)]
    }

    pub(crate) fn trace_id(&mut self) -> String {
        format!("trace_{:016x}", self.traces.random::<u64>())
    }

    /// The API's error body: `{"reason", "trace_id"}`.
    pub(crate) fn error(&mut self, status: StatusCode, reason: &str) -> Response {
        let body = json!({"reason": reason, "trace_id": self.trace_id()});
        self.error_body(status, body)
    }

    /// An error answer with its body written as the configured variation says (error bodies
    /// have no SDK schema: only the changes that need none apply).
    pub(crate) fn error_body(&self, status: StatusCode, mut body: Value) -> Response {
        if let Some(variation) = self.variation {
            variation::apply(variation, None, &mut body);
        }
        (status, Json(body)).into_response()
    }

    /// An error with a status given as a number (from a fault); nonsense numbers become 500.
    pub(crate) fn error_code(&mut self, status: u16) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let reason = status.canonical_reason().unwrap_or("Simulated failure");
        self.error(status, reason)
    }
}

/// Time since the Unix epoch by the wall clock, which is what `Expires` is measured in.
pub(crate) fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

pub(crate) fn hex24(rng: &mut StdRng) -> String {
    let bytes: [u8; 12] = rng.random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
