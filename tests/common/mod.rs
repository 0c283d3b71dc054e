//! Shared set-up for tests that talk to the simulator over loopback HTTP.
#![allow(dead_code)]

use std::time::Duration;

use kling_tui::api::types::Job;
use kling_tui::api::{ClientOptions, Credentials, RetryPolicy, ScenarioClient, parse_api_url};
use kling_tui::sim::{self, SimConfig, SimHandle};

/// Fast retries, so fault tests finish quickly; the shape of the policy is unchanged.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_server_wait: Duration::from_secs(2),
        retry_submit_at_limit: true,
    }
}

/// Jobs finish in about 0.2 s at this scale.
pub fn quick_config() -> SimConfig {
    SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    }
}

pub async fn start(config: SimConfig) -> SimHandle {
    sim::start(config).await.expect("simulator starts")
}

pub fn client_for(sim: &SimHandle) -> ScenarioClient {
    client_with(
        sim,
        Credentials::new(sim::DEMO_API_KEY, sim::DEMO_API_SECRET),
    )
}

pub fn client_with(sim: &SimHandle, credentials: Credentials) -> ScenarioClient {
    let mut options = ClientOptions::new(parse_api_url(&sim.api_url).unwrap(), credentials);
    options.retry = fast_retry();
    ScenarioClient::new(options).unwrap()
}

/// Polls until the job is final; bounded in count, never timed.
pub async fn wait_final(client: &ScenarioClient, job_id: &str) -> Job {
    for _ in 0..2_000 {
        let job = client.get_job(job_id).await.expect("job can be read");
        if job.status.is_final() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {job_id} never reached a final state");
}
