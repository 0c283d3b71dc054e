//! `kling-tui sim`: the local Scenario simulator, standalone.

use super::outln;
use crate::cli::SimArgs;
use crate::sim::{self, SimConfig};

use super::{CliError, exit};

pub async fn run(args: &SimArgs) -> Result<i32, CliError> {
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        return Err(CliError::Invalid(vec![format!(
            "--time-scale: must be a positive number, got {}",
            args.time_scale
        )]));
    }
    if !(0.0..=1.0).contains(&args.failure_rate) {
        return Err(CliError::Invalid(vec![format!(
            "--failure-rate: must be between 0 and 1, got {}",
            args.failure_rate
        )]));
    }
    if !(0.0..=1.0).contains(&args.seed_other_models) {
        return Err(CliError::Invalid(vec![format!(
            "--seed-other-models: must be between 0 and 1, got {}",
            args.seed_other_models
        )]));
    }
    let handle = sim::start(SimConfig {
        api_addr: args.addr,
        time_scale: args.time_scale,
        failure_rate: args.failure_rate,
        seed: args.seed,
        concurrency_limit: args.concurrency_limit,
        video_size: args.video_size,
        seed_jobs: args.seed_jobs,
        seed_other_models: args.seed_other_models,
        ..SimConfig::default()
    })
    .await
    .map_err(|e| CliError::Local(format!("cannot listen on {}: {e}", args.addr)))?;
    outln!("Scenario simulator running (Ctrl+C to stop)");
    outln!("  API URL     {}", handle.api_url);
    outln!("  CDN         {}", handle.cdn_base);
    outln!("  API key     {}", sim::DEMO_API_KEY);
    outln!("  API secret  {}", sim::DEMO_API_SECRET);
    outln!();
    outln!("Use it from another terminal:");
    outln!(
        "  export SCENARIO_API_URL={} SCENARIO_API_KEY={} SCENARIO_API_SECRET={}",
        handle.api_url,
        sim::DEMO_API_KEY,
        sim::DEMO_API_SECRET
    );
    outln!("  kling-tui submit --prompt \"a red fox in snow\" --wait --download ./out");
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown();
    Ok(exit::OK)
}
