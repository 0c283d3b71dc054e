//! Jobs the team made before the simulator started, with this model and with others, as a
//! real team's job list holds them: all finished, an hour to days old, newest last.

use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::time::Instant;

use super::SimConfig;
use super::cost::cost;
use super::jobs::{FAILURES, JobStore, SimJob};
use super::state::hex24;
use kling::{KlingRequest, MODEL_ID, Mode};

/// Models other than this one that a team uses too.
const OTHER_MODELS: [&str; 3] = [
    "model_kling-v3-t2v-4k",
    "model_flux-1-dev",
    "model_veo-3-video",
];

const PROMPTS: [&str; 6] = [
    "a lighthouse in a storm at dusk, waves breaking",
    "a paper boat drifting down a rain gutter",
    "a fox trotting across fresh snow, slow motion",
    "neon city street at night, rain reflections, dolly shot",
    "a hot air balloon rising over misty hills at sunrise",
    "macro shot of a bee landing on a lavender flower",
];

/// The newest seeded job is this old (real seconds); each older one ten minutes more.
const NEWEST_AGE: i64 = 3600;
const SPACING: i64 = 600;
/// Simulated seconds a seeded job has run at least: well past any job's end.
const LONG_FINISHED: f64 = 10_000.0;

/// Adds `config.seed_jobs` finished jobs to an empty store, oldest first.
pub(crate) fn seed(jobs: &mut JobStore, config: &SimConfig) {
    let n = config.seed_jobs;
    // A stream of its own, so seeding never changes the ids of jobs made later.
    let mut rng = StdRng::seed_from_u64(config.seed ^ 0x05ee_d10b);
    let share = config.seed_other_models.clamp(0.0, 1.0);
    let now = Timestamp::now();
    let started = Instant::now();
    let scale = config.effective_time_scale();
    for i in 0..n {
        let age = NEWEST_AGE + SPACING * (n - 1 - i) as i64;
        // Exactly floor(n * share) others, spread evenly through the list.
        let other = ((i + 1) as f64 * share).floor() > (i as f64 * share).floor();
        let prompt = PROMPTS[i % PROMPTS.len()];
        let mut request = KlingRequest::new(format!("{prompt} (take {})", i + 1));
        request.mode = [Mode::Standard, Mode::Pro, Mode::FourK][i % 3];
        request.duration = [5, 10, 8][i % 3];
        let model_id = if other {
            OTHER_MODELS[i % OTHER_MODELS.len()]
        } else {
            MODEL_ID
        };
        let input = if other {
            json!({"modelId": model_id, "prompt": request.prompt})
        } else {
            let mut input = request.to_json();
            input["modelId"] = model_id.into();
            input
        };
        let fails = rng.random::<f64>() < config.failure_rate;
        let fail_at = rng.random_range(0.2..0.8);
        let which = rng.random_range(0..FAILURES.len());
        let job = SimJob {
            seq: jobs.next_seq(),
            id: format!("job_{}", hex24(&mut rng)),
            asset_id: format!("asset_{}", hex24(&mut rng)),
            created: started,
            head_start: (age as f64 * scale).max(LONG_FINISHED),
            created_at: now
                .checked_sub(SignedDuration::from_secs(age))
                .unwrap_or(now),
            cost: cost(&request),
            input,
            request,
            failure: fails.then_some((fail_at, which)),
        };
        jobs.insert(job);
    }
}
