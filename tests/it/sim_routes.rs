//! The simulator over real loopback HTTP: auth, the job lifecycle, dry runs, validation,
//! cancel, pagination, and the CDN's ranges, expiry and credential check.

use std::collections::HashSet;
use std::time::Duration;

use kling_sim::{self as sim, Fault, SimConfig, SimHandle};
use kling_tui::api::types::{
    AssetEnvelope, DryRunResponse, GenerateResponse, Job, JobEnvelope, JobList,
};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, ETAG, IF_RANGE, RANGE};
use serde_json::{Value, json};

const GENERATE: &str = "generate/custom/model_kling-v3-omni-video";

fn client() -> reqwest::Client {
    // Plain HTTP needs no TLS, but building a client needs a provider installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn start(config: SimConfig) -> (SimHandle, reqwest::Client) {
    let sim = sim::start(SimConfig {
        time_scale: 2000.0,
        ..config
    })
    .await
    .unwrap();
    (sim, client())
}

fn body() -> Value {
    json!({"prompt": "A fox in snow", "mode": "pro", "aspectRatio": "16:9", "duration": 5})
}

async fn post(c: &reqwest::Client, sim: &SimHandle, path: &str, body: &Value) -> reqwest::Response {
    c.post(format!("{}/{path}", sim.api_url))
        .basic_auth(sim::DEMO_API_KEY, Some(sim::DEMO_API_SECRET))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn get(c: &reqwest::Client, sim: &SimHandle, path: &str) -> reqwest::Response {
    c.get(format!("{}/{path}", sim.api_url))
        .basic_auth(sim::DEMO_API_KEY, Some(sim::DEMO_API_SECRET))
        .send()
        .await
        .unwrap()
}

async fn reason(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    assert!(
        body["trace_id"].as_str().unwrap().starts_with("trace_"),
        "{body}"
    );
    body["reason"].as_str().unwrap().to_string()
}

async fn create_job(c: &reqwest::Client, sim: &SimHandle) -> Job {
    let response = post(c, sim, GENERATE, &body()).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<GenerateResponse>().await.unwrap().job
}

/// Polls until the job is final; bounded by a number of polls, not by time.
async fn wait_final(c: &reqwest::Client, sim: &SimHandle, job_id: &str) -> Job {
    for _ in 0..2000 {
        let job = get(c, sim, &format!("jobs/{job_id}"))
            .await
            .json::<JobEnvelope>()
            .await
            .unwrap()
            .job;
        if job.status.is_final() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("job {job_id} never finished");
}

/// The signed link of a finished job's video.
async fn video_url(c: &reqwest::Client, sim: &SimHandle) -> (String, u64) {
    let job = create_job(c, sim).await;
    let job = wait_final(c, sim, &job.job_id).await;
    let asset_id = &job.metadata.asset_ids[0];
    let asset = get(c, sim, &format!("assets/{asset_id}"))
        .await
        .json::<AssetEnvelope>()
        .await
        .unwrap()
        .asset;
    (asset.url.unwrap(), asset.metadata.size.unwrap())
}

#[tokio::test]
async fn requests_without_the_right_credentials_get_401() {
    let (sim, c) = start(SimConfig::default()).await;
    let none = c
        .get(format!("{}/jobs?projectId=proj_1", sim.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(reason(none).await, "Unauthorized");
    let wrong = c
        .post(format!("{}/{GENERATE}", sim.api_url))
        .basic_auth(sim::DEMO_API_KEY, Some("nope"))
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let stats = sim.stats();
    assert_eq!(stats.unauthorized, 2);
    assert_eq!(
        (stats.generate_posts, stats.jobs_created, stats.list_jobs),
        (0, 0, 0)
    );
    assert_eq!(stats.last_project_id.as_deref(), Some("proj_1"));
}

#[tokio::test]
async fn a_job_runs_to_success_and_its_video_downloads() {
    let (sim, c) = start(SimConfig::default()).await;
    let response = post(&c, &sim, GENERATE, &body()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let created: GenerateResponse = response.json().await.unwrap();
    assert_eq!(created.creative_units_cost, Some(75.0));
    assert!(created.job.job_id.starts_with("job_") && created.job.job_id.len() == 28);

    let job = wait_final(&c, &sim, &created.job.job_id).await;
    let statuses: Vec<&str> = job
        .status_history
        .iter()
        .map(|s| s.status.as_str())
        .collect();
    assert_eq!(
        statuses,
        [
            "pending",
            "queued",
            "warming-up",
            "in-progress",
            "finalizing",
            "success"
        ]
    );
    let dates: Vec<jiff::Timestamp> = job
        .status_history
        .iter()
        .map(|s| s.date.parse().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
    assert_eq!(
        job.updated_at.as_deref(),
        Some(job.status_history[5].date.as_str())
    );
    assert_eq!(job.progress, Some(1.0));
    // The input as sent, plus the model that ran it (as the real service records it).
    let mut input = body();
    input["modelId"] = json!("model_kling-v3-omni-video");
    assert_eq!(job.metadata.input, Some(input));
    assert_eq!(job.billing.unwrap().cu_cost, Some(75.0));
    assert_eq!(job.metadata.asset_ids.len(), 1);

    let asset_id = &job.metadata.asset_ids[0];
    let asset = get(&c, &sim, &format!("assets/{asset_id}"))
        .await
        .json::<AssetEnvelope>()
        .await
        .unwrap()
        .asset;
    let url = asset.url.unwrap();
    assert!(url.starts_with(&sim.cdn_base), "{url}");
    let video = c.get(&url).send().await.unwrap();
    assert_eq!(video.status(), StatusCode::OK);
    assert_eq!(video.headers()["content-type"], "video/mp4");
    let bytes = video.bytes().await.unwrap();
    assert_eq!(Some(&bytes[..]), sim.video_bytes());
    assert_eq!(asset.metadata.size, Some(bytes.len() as u64));
    assert_eq!(sim.stats().cdn_with_authorization, 0);
}

#[tokio::test]
async fn a_dry_run_answers_269_and_creates_nothing() {
    let (sim, c) = start(SimConfig::default()).await;
    let mut request = body();
    request["generateAudio"] = json!(true);
    let response = post(&c, &sim, &format!("{GENERATE}?dryRun=true"), &request).await;
    assert_eq!(response.status().as_u16(), 269);
    let cost: DryRunResponse = response.json().await.unwrap();
    assert_eq!(cost.creative_units_cost, Some(100.0));
    let stats = sim.stats();
    assert_eq!(
        (stats.dry_runs, stats.generate_posts, stats.jobs_created),
        (1, 0, 0)
    );
    let list: JobList = get(&c, &sim, "jobs").await.json().await.unwrap();
    assert!(list.jobs.is_empty());
}

#[tokio::test]
async fn invalid_requests_get_400_naming_the_field() {
    let (sim, c) = start(SimConfig::default()).await;
    let mut too_long = body();
    too_long["duration"] = json!(20);
    let response = post(&c, &sim, GENERATE, &too_long).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(reason(response).await.starts_with("duration: "));

    let mut wrong_type = body();
    wrong_type["duration"] = json!("five");
    let response = post(&c, &sim, GENERATE, &wrong_type).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(reason(response).await.starts_with("duration: "));

    // A bare string referenceImages is dropped, so the prompt's reference points nowhere.
    let mut bare = body();
    bare["prompt"] = json!("<<<image_1>>> runs");
    bare["referenceImages"] = json!("asset_1");
    let response = post(&c, &sim, GENERATE, &bare).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(reason(response).await.contains("<<<image_1>>>"));
    let stats = sim.stats();
    assert_eq!(stats.last_generate_body, Some(bare));
    assert_eq!((stats.generate_posts, stats.jobs_created), (3, 0));
}

#[tokio::test]
async fn cancel_is_refused_like_the_real_service() {
    let (sim, c) = start(SimConfig::default()).await;
    let job = create_job(&c, &sim).await;
    let cancel = json!({"action": "cancel"});
    let response = post(&c, &sim, &format!("jobs/{}/action", job.job_id), &cancel).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        reason(response).await,
        "Cannot cancel this type of job. Action not permitted."
    );
    let unknown = post(&c, &sim, "jobs/job_nope/action", &cancel).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(sim.stats().cancels, 2);
}

#[tokio::test]
async fn pages_cover_every_job_exactly_once_newest_first() {
    let (sim, c) = start(SimConfig {
        concurrency_limit: 100,
        ..SimConfig::default()
    })
    .await;
    let mut created = Vec::new();
    for _ in 0..23 {
        created.push(create_job(&c, &sim).await.job_id);
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "jobs?pageSize=10".to_string();
        if let Some(token) = &token {
            path.push_str(&format!("&paginationToken={token}"));
        }
        let page: JobList = get(&c, &sim, &path).await.json().await.unwrap();
        pages += 1;
        seen.extend(page.jobs.into_iter().map(|j| j.job_id));
        match page.next_pagination_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    created.reverse();
    assert_eq!(seen, created);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 23);

    let bad = get(&c, &sim, "jobs?paginationToken=garbage").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_cdn_serves_exact_byte_ranges() {
    let (sim, c) = start(SimConfig {
        video_size: Some(1_000_000),
        ..SimConfig::default()
    })
    .await;
    let (url, size) = video_url(&c, &sim).await;
    assert_eq!(size, 1_000_000);

    let part = c
        .get(&url)
        .header(RANGE, "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()[CONTENT_RANGE], "bytes 1000-1999/1000000");
    let etag = part.headers()[ETAG].clone();
    assert_eq!(
        part.bytes().await.unwrap(),
        SimHandle::synthetic_bytes(1000, 1000)
    );

    let tail = c
        .get(&url)
        .header(RANGE, "bytes=999990-")
        .header(IF_RANGE, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        tail.bytes().await.unwrap(),
        SimHandle::synthetic_bytes(999_990, 10)
    );

    let stale = c
        .get(&url)
        .header(RANGE, "bytes=10-")
        .header(IF_RANGE, "\"old\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.content_length(), Some(1_000_000));

    let beyond = c
        .get(&url)
        .header(RANGE, "bytes=1000000-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn expired_links_get_403_and_fresh_ones_work() {
    let (born_expired, c) = start(SimConfig {
        link_ttl: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let (url, _) = video_url(&c, &born_expired).await;
    let response = c.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );

    let (sim, c) = start(SimConfig::default()).await;
    let (url, _) = video_url(&c, &sim).await;
    assert_eq!(c.get(&url).send().await.unwrap().status(), StatusCode::OK);
    let tampered = url.replace("Signature=", "Signature=0");
    assert_eq!(
        c.get(&tampered).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    sim.inject(Fault::ExpireAllLinks);
    assert_eq!(
        c.get(&url).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let asset_id = url.rsplit('/').next().unwrap().split('.').next().unwrap();
    let fresh = get(&c, &sim, &format!("assets/{asset_id}"))
        .await
        .json::<AssetEnvelope>()
        .await
        .unwrap();
    let fresh = c.get(fresh.asset.url.unwrap()).send().await.unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
}

#[tokio::test]
async fn credentials_sent_to_the_cdn_are_counted_and_refused() {
    let (sim, c) = start(SimConfig::default()).await;
    let (url, _) = video_url(&c, &sim).await;
    let response = c
        .get(&url)
        .basic_auth(sim::DEMO_API_KEY, Some(sim::DEMO_API_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sim.stats().cdn_with_authorization, 1);
}

#[tokio::test]
async fn generate_faults_and_the_concurrency_ceiling() {
    let (sim, c) = start(SimConfig {
        time_scale: 1.0,
        concurrency_limit: 1,
        ..SimConfig::default()
    })
    .await;
    sim.inject(Fault::GenerateErrorAfterCreate {
        status: 502,
        count: 1,
    });
    let response = post(&c, &sim, GENERATE, &body()).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(sim.stats().jobs_created, 1);

    // The job made above still runs, so the ceiling of one is reached.
    let response = post(&c, &sim, GENERATE, &body()).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["details"]["actionLimit"], 1);
    assert_eq!(error["details"]["actionName"], "generate");
    let stats = sim.stats();
    assert_eq!((stats.generate_posts, stats.jobs_created), (2, 1));
}

#[tokio::test]
async fn a_reset_after_create_leaves_a_job_the_client_never_saw() {
    let (sim, c) = start(SimConfig::default()).await;
    sim.inject(Fault::GenerateResetAfterCreate { count: 1 });
    let response = post(&c, &sim, GENERATE, &body()).await;
    assert!(response.json::<GenerateResponse>().await.is_err());
    assert_eq!(sim.stats().jobs_created, 1);
    let list: JobList = get(&c, &sim, "jobs").await.json().await.unwrap();
    assert_eq!(list.jobs.len(), 1);
}

/// Bytes read before the body broke; panics if it ends cleanly.
async fn received_before_break(mut response: reqwest::Response) -> usize {
    let mut received = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => panic!("the body ended cleanly after {received} bytes"),
            Err(_) => return received,
        }
    }
}

#[tokio::test]
async fn cdn_faults_break_downloads() {
    let (sim, c) = start(SimConfig {
        video_size: Some(300_000),
        ..SimConfig::default()
    })
    .await;
    let (url, _) = video_url(&c, &sim).await;
    sim.inject(Fault::CdnTruncate { count: 1 });
    sim.inject(Fault::CdnIgnoreRange { count: 1 });
    let truncated = c.get(&url).send().await.unwrap();
    assert_eq!(truncated.content_length(), Some(300_000));
    let received = received_before_break(truncated).await;
    assert!(received > 0 && received < 300_000, "{received}");

    let ignored = c
        .get(&url)
        .header(RANGE, "bytes=100-")
        .send()
        .await
        .unwrap();
    assert_eq!(ignored.status(), StatusCode::OK);
    assert_eq!(
        ignored.bytes().await.unwrap(),
        SimHandle::synthetic_bytes(0, 300_000)
    );

    sim.inject(Fault::CdnReset { count: 1 });
    let reset = c.get(&url).send().await.unwrap();
    assert_eq!(reset.status(), StatusCode::OK);
    assert_eq!(received_before_break(reset).await, 0);
    assert_eq!(
        c.get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len(),
        300_000
    );
}

#[tokio::test]
async fn jobs_picked_to_fail_end_in_failure_with_a_reason() {
    let (sim, c) = start(SimConfig {
        failure_rate: 1.0,
        ..SimConfig::default()
    })
    .await;
    let job = create_job(&c, &sim).await;
    let job = wait_final(&c, &sim, &job.job_id).await;
    assert_eq!(job.status.as_str(), "failure");
    let last = job.status_history.last().unwrap();
    assert_eq!(last.status.as_str(), "failure");
    assert!(
        job.metadata
            .error
            .unwrap()
            .starts_with("The generation failed")
    );
    assert!(job.metadata.hint.is_some());
    // Billed as the SDK shows a failure: the original charge, add-ons refunded to 0.
    assert!(job.metadata.asset_ids.is_empty());
    assert_eq!(job.billing.unwrap().cu_cost, Some(75.0));
}

#[tokio::test]
async fn the_job_list_leaves_out_jobs_created_before_created_after() {
    let (sim, c) = start(SimConfig::default()).await;
    assert_eq!(
        post(&c, &sim, GENERATE, &body()).await.status(),
        StatusCode::OK
    );
    let count = |list: Value| list["jobs"].as_array().map(Vec::len).unwrap_or(99);
    let past = get(&c, &sim, "jobs?createdAfter=2020-01-01T00:00:00Z").await;
    assert_eq!(count(past.json().await.unwrap()), 1);
    let future = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let later = get(&c, &sim, &format!("jobs?createdAfter={future}")).await;
    assert_eq!(count(later.json().await.unwrap()), 0);
    let bad = get(&c, &sim, "jobs?createdAfter=yesterday").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(reason(bad).await.contains("createdAfter"));
    let both = get(
        &c,
        &sim,
        "jobs?createdAfter=2020-01-01T00:00:00Z&status=success",
    )
    .await;
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn seeded_jobs_of_several_models_page_newest_first_before_new_ones() {
    let (sim, c) = start(SimConfig {
        seed_jobs: 25,
        seed_other_models: 0.2,
        ..SimConfig::default()
    })
    .await;
    let made = create_job(&c, &sim).await;
    let list: JobList = get(&c, &sim, "jobs?pageSize=100")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.jobs.len(), 26);
    assert_eq!(list.jobs[0].job_id, made.job_id);
    let model = |job: &Job| {
        job.metadata.input.as_ref().unwrap()["modelId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Jobs made here name their model in their input, as on the real service.
    assert_eq!(model(&list.jobs[0]), "model_kling-v3-omni-video");
    let others = list
        .jobs
        .iter()
        .filter(|j| model(j) != "model_kling-v3-omni-video")
        .count();
    assert_eq!(others, 5);
    let created: Vec<jiff::Timestamp> = list
        .jobs
        .iter()
        .map(|j| j.created_at.as_deref().unwrap().parse().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] > w[1]), "{created:?}");
    assert!(list.jobs[1..].iter().all(|j| j.status.is_final()));
    // The seeded jobs are an hour to days old: a day back leaves the older ones out.
    let day = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(3);
    let recent: JobList = get(&c, &sim, &format!("jobs?pageSize=100&createdAfter={day}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(recent.jobs.len(), 1 + 12);
}

#[tokio::test]
async fn a_finished_video_has_a_thumbnail_and_first_frame_served_as_png() {
    let (sim, c) = start(SimConfig::default()).await;
    let job = create_job(&c, &sim).await;
    let job = wait_final(&c, &sim, &job.job_id).await;
    let asset_id = &job.metadata.asset_ids[0];
    let asset: Value = get(&c, &sim, &format!("assets/{asset_id}"))
        .await
        .json()
        .await
        .unwrap();
    let asset = &asset["asset"];
    for (field, expected) in [
        ("thumbnail", SimHandle::thumbnail_bytes(asset_id)),
        ("firstFrame", SimHandle::first_frame_bytes(asset_id)),
    ] {
        let url = asset[field]["url"].as_str().unwrap();
        assert!(url.starts_with(&sim.cdn_base), "{url}");
        let still_id = asset[field]["assetId"].as_str().unwrap();
        // Without credentials, as every CDN link.
        let served = c.get(url).send().await.unwrap();
        assert_eq!(served.status(), StatusCode::OK);
        assert_eq!(served.headers()["content-type"], "image/png");
        let bytes = served.bytes().await.unwrap();
        assert_eq!(bytes.as_ref(), expected.as_slice());
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        // The still is an asset of its own, too.
        let still: AssetEnvelope = get(&c, &sim, &format!("assets/{still_id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(still.asset.mime_type.as_deref(), Some("image/png"));
        assert_eq!(still.asset.expected_size(), Some(expected.len() as u64));
    }
    assert_ne!(
        SimHandle::thumbnail_bytes(asset_id),
        SimHandle::first_frame_bytes(asset_id)
    );
    assert_eq!(sim.stats().cdn_with_authorization, 0);

    sim.inject(Fault::AssetWithoutThumbnail { count: 1 });
    let asset: Value = get(&c, &sim, &format!("assets/{asset_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(asset["asset"].get("thumbnail").is_none());
    assert!(asset["asset"]["firstFrame"]["url"].is_string());
    sim.inject(Fault::AssetWithoutPictures { count: 1 });
    let asset: Value = get(&c, &sim, &format!("assets/{asset_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(asset["asset"].get("firstFrame").is_none());
}
