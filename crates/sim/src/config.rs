//! How a simulator behaves: credentials, pace, failure odds, limits and background faults.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The credentials `--demo` mode uses; the simulator accepts them by default.
pub const DEMO_API_KEY: &str = "demo_key";
pub const DEMO_API_SECRET: &str = "demo_secret";

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub api_key: String,
    pub api_secret: String,
    /// Seeds job ids, asset ids, failure picks and fault rolls, so runs repeat exactly.
    pub seed: u64,
    /// 1.0 is real time (a job takes about 120 s); 60.0 makes a job take about 2 s.
    pub time_scale: f64,
    /// Fraction (0 to 1) of jobs that end in `failure`.
    pub failure_rate: f64,
    /// Most jobs that may be unfinished at once; past it, generate answers 429.
    pub concurrency_limit: usize,
    /// Real-time lifetime of signed CDN links.
    pub link_ttl: Duration,
    /// `None`: serve the embedded demo video. `Some(n)`: a synthetic body of `n` bytes,
    /// generated as it streams, for tests of big downloads.
    pub video_size: Option<u64>,
    pub api_addr: SocketAddr,
    pub faults: Faults,
    /// Finished jobs the team made before the simulator started (in the web app, or with
    /// other clients), an hour to days ago, for listings: `GET /jobs` pages through them.
    pub seed_jobs: usize,
    /// Fraction (0 to 1) of the seeded jobs made with other models than Kling V3 Omni: exactly
    /// `floor(seed_jobs * share)` of them, spread evenly.
    pub seed_other_models: f64,
    /// `None` (the default): a job lists its `metadata.assetIds` as soon as it reads
    /// `success`. `Some`: it reads `success` without them for a while, as the SDK allows
    /// (`assetIds` is optional, nothing ties it to the status); see [`LateAssets`]. Job
    /// listings show the same.
    pub late_assets: Option<LateAssets>,
    /// `None` (the default): a video asset's `metadata.size` is its byte size, like
    /// `properties.size`. `Some(n)`: every video asset's `metadata.size` reads `n` (the SDK
    /// says it is a generation parameter, not the byte size), while `properties.size` stays
    /// the true byte size.
    pub asset_metadata_size: Option<u64>,
    /// The status a multipart upload ends at, with its `entityId` (default `imported`).
    pub upload_done_status: UploadDone,
    /// What `GET /v1/models/model_kling-v3-omni-video` describes (default: the rules the
    /// built-in client table knows).
    pub model_schema: ModelSchema,
    /// `None` (the default): answers as the simulator always wrote them. `Some`: every API
    /// answer is changed in one way that the SDK's schemas still accept; see [`Variation`].
    pub variation: Option<Variation>,
    /// `false` (the default): a job's bill is its `cuCost` alone. `true`: as the SDK allows,
    /// a success also bills add-ons ([`BILLED_ADD_ON`] CU of `quality-gate` in
    /// `cuCostDetails`), a failure says `disableRefund: true` (not refunded), and every
    /// generate answer carries `ipDetection.creativeUnitsCharged` ([`BILLED_IP_DETECTION`] CU,
    /// billed outside the job).
    pub billing_extras: bool,
    /// `true`: `GET /jobs` never ends: every page is full of Kling V3 Omni jobs made up for
    /// it, with a new `nextPaginationToken` each time, as a hostile or broken server would.
    pub endless_listing: bool,
}

/// The add-on fee a success bills with [`SimConfig::billing_extras`].
pub const BILLED_ADD_ON: u64 = 5;
/// What IP detection bills per generate request with [`SimConfig::billing_extras`].
pub const BILLED_IP_DETECTION: u64 = 2;

/// A job whose assets are listed late: at `success`, `metadata.assetIds` is `[]` (or, with
/// `key_absent`, not there at all) until `after` has passed in real time (never scaled) since
/// the job first read `success`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LateAssets {
    /// `None`: the ids never come.
    pub after: Option<Duration>,
    /// Leave the `assetIds` key out instead of answering `[]`.
    pub key_absent: bool,
}

/// The status a finished multipart upload ends at; it carries `entityId` only then. The
/// SDK's enum allows all three as "done" once `entityId` is there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UploadDone {
    /// `validating`, `validated`, then `imported` with `entityId` (the default).
    #[default]
    Imported,
    /// `complete` without `entityId` while the file is worked on, then `complete` with it.
    Complete,
    /// `validating`, `validated` without `entityId`, then `validated` with it.
    Validated,
}

/// What the models endpoint says about Kling V3 Omni.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ModelSchema {
    /// The inputs and rules the client's built-in table knows (the default).
    #[default]
    Builtin,
    /// A model that changed since the client was built: `mode` also allows `4k-hdr` (which
    /// the generate route then accepts, at 40 CU a second), and `duration` goes up to 10
    /// instead of 15 (the generate route refuses more with a 400).
    Extended,
    /// `GET /v1/models/{modelId}` answers 404 for every model.
    Missing,
}

/// One way to write every API answer that the official SDK still accepts, for clients that
/// must not depend on the simulator's habits. `progress` stays between 0 and 1 in each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variation {
    /// Every field its SDK schema does not require is left out, except where leaving it out
    /// makes no sense because a client cannot work without it:
    /// - a job's `metadata.assetIds` once it holds ids (a finished job with no outputs);
    /// - an upload's `entityId` once done (a finished upload with no asset), and `parts` in
    ///   the answer to `POST /uploads` (no part links, no upload);
    /// - a dry run's `creativeUnitsCost` (the estimate is the whole answer);
    /// - a model's `inputs` (what the models endpoint is for);
    /// - a job listing's `nextPaginationToken` (its page wrapper has no SDK schema; without
    ///   it, paging stops early).
    ///
    /// Everything else optional goes: error texts, billing, `metadata.input`, costs of a
    /// generate answer, an asset's pictures and media properties, an upload's sizes, the
    /// inputs' constraints, performance stats.
    OptionalAbsent,
    /// Every nullable field the answer carries is `null` (in the SDK's schemas, exactly the
    /// optional ones), except those kept by [`Variation::OptionalAbsent`].
    NullableNull,
    /// An extra field no client knows, in every object at every level (error bodies too).
    UnknownFields,
    /// Every whole number written as a float: `1.0`, sizes and part numbers too.
    FloatNumbers,
    /// Every time written with a `+02:00` offset and no fractional seconds.
    TimeOffsets,
    /// Each successful job has two video assets: distinct, real files, each with its own
    /// pictures.
    SeveralAssets,
    /// Video assets are `video/quicktime`, and the CDN serves them as such: the same clip with
    /// the QuickTime brand (`qt  `) in its `ftyp` box, at a `.mov` link.
    Quicktime,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            api_key: DEMO_API_KEY.to_string(),
            api_secret: DEMO_API_SECRET.to_string(),
            seed: 1,
            time_scale: 1.0,
            failure_rate: 0.0,
            concurrency_limit: 20,
            link_ttl: Duration::from_secs(600),
            video_size: None,
            api_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            faults: Faults::default(),
            seed_jobs: 0,
            seed_other_models: 0.0,
            late_assets: None,
            asset_metadata_size: None,
            upload_done_status: UploadDone::Imported,
            model_schema: ModelSchema::Builtin,
            variation: None,
            billing_extras: false,
            endless_listing: false,
        }
    }
}

impl SimConfig {
    /// The time scale actually used: a zero, negative or non-finite scale would freeze or
    /// reverse every job, so it falls back to real time.
    pub(crate) fn effective_time_scale(&self) -> f64 {
        if self.time_scale.is_finite() && self.time_scale > 0.0 {
            self.time_scale
        } else {
            1.0
        }
    }
}

/// Faults that happen all the time, at a rate, as opposed to the one-shot [`super::Fault`]s.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Chance (0 to 1) that a GET request (API or CDN) answers a 5xx, rolled per request.
    pub rate_5xx: f64,
    /// Added before every API request is answered.
    pub latency: Duration,
}
