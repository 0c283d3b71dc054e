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
