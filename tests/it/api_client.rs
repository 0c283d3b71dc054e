//! The Scenario client against the simulator, over real loopback HTTP.

use crate::common::*;
use kling_sim::{Fault, Route, SimConfig, SimHandle};
use kling_tui::api::types::JobStatus;
use kling_tui::api::{ApiError, Credentials, Destination, DownloadProgress, OnProgress};
use kling_tui::kling::{KlingRequest, Mode};

fn fox() -> KlingRequest {
    KlingRequest::new("a red fox in snow")
}

/// The first request asks for the whole file, every later one resumes past byte 0.
fn assert_resumed(ranges: &[Option<String>]) {
    assert_eq!(ranges.first(), Some(&None), "{ranges:?}");
    for later in &ranges[1..] {
        let offset: u64 = later
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("not a resume: {ranges:?}"));
        assert!(offset > 0, "{ranges:?}");
    }
}

fn no_progress() -> OnProgress<impl FnMut(DownloadProgress) + Send> {
    OnProgress(|_| {})
}

/// A fresh download into `dir` as `<stem>.<ext>`, with no earlier file recorded.
fn into<'a>(dir: &'a std::path::Path, stem: &'a str) -> Destination<'a> {
    Destination {
        dir,
        stem,
        recorded: None,
    }
}

async fn finished_job(sim: &SimHandle) -> (kling_tui::api::ScenarioClient, String) {
    let client = client_for(sim);
    let job = client.generate(&fox()).await.unwrap().job;
    let done = wait_final(&client, &job.job_id).await;
    assert_eq!(done.status, JobStatus::Success);
    let asset = done.metadata.asset_ids[0].clone();
    (client, asset)
}

#[tokio::test]
async fn submit_poll_success_download_gives_the_fixture_bytes() {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let answer = client.generate(&fox()).await.unwrap();
    assert!(answer.job.job_id.starts_with("job_"));
    assert!(answer.creative_units_cost.unwrap() > 0.0);
    let job = wait_final(&client, &answer.job.job_id).await;
    assert_eq!(job.status, JobStatus::Success);
    assert_eq!(job.progress_fraction(), 1.0);
    let seen: Vec<_> = job
        .status_history
        .iter()
        .map(|h| h.status.clone())
        .collect();
    assert_eq!(seen.first(), Some(&JobStatus::Pending));
    assert_eq!(seen.last(), Some(&JobStatus::Success));

    let dir = tempfile::tempdir().unwrap();
    let mut last = None;
    let path = client
        .download_asset(
            &job.metadata.asset_ids[0],
            &into(dir.path(), "job_x_1"),
            &mut OnProgress(|p| last = Some(p)),
        )
        .await
        .unwrap()
        .path;
    assert_eq!(path, dir.path().join("job_x_1.mp4"));
    let fixture = sim.video_bytes().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), fixture);
    assert_eq!(last.unwrap().bytes, fixture.len() as u64);
    assert_eq!(files_in(dir.path()), ["job_x_1.mp4"]);
    assert_eq!(sim.stats().cdn_with_authorization, 0);
}

#[tokio::test]
async fn dry_run_answers_269_with_a_cost_and_creates_nothing() {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let mut request = fox();
    request.mode = Mode::Standard;
    let cost = client.dry_run(&request).await.unwrap();
    assert_eq!(
        cost.creative_units_cost,
        Some(kling_sim::cost(&request) as f64)
    );
    let stats = sim.stats();
    assert_eq!(
        (stats.dry_runs, stats.jobs_created, stats.generate_posts),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn wrong_credentials_get_401() {
    let sim = start(quick_config()).await;
    let client = client_with(&sim, Credentials::new("demo_key", "wrong"));
    let err = client.get_job("job_nope").await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    let err = client.generate(&fox()).await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert_eq!(sim.stats().jobs_created, 0);
}

#[tokio::test]
async fn the_servers_400_reason_is_surfaced() {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let mut request = fox();
    request.duration = 42; // the client sends what it is given; validation is the caller's
    let err = client.generate(&request).await.unwrap_err();
    match &err {
        ApiError::Http {
            status: 400,
            reason,
            trace_id,
            ..
        } => {
            assert!(reason.contains("duration"), "{reason}");
            assert!(trace_id.is_some());
        }
        other => panic!("expected a 400, got {other}"),
    }
    assert!(err.to_string().contains("trace id"), "{err}");
}

#[tokio::test]
async fn a_429_is_waited_out_then_the_submission_goes_through() {
    let sim = start(quick_config()).await;
    sim.inject(Fault::Generate429 {
        count: 1,
        remaining_seconds: 1,
    });
    let client = client_for(&sim);
    let answer = client.generate(&fox()).await.unwrap();
    assert!(answer.job.job_id.starts_with("job_"));
    let stats = sim.stats();
    assert_eq!((stats.generate_posts, stats.jobs_created), (2, 1));
}

#[tokio::test]
async fn a_5xx_on_get_is_retried() {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let job = client.generate(&fox()).await.unwrap().job;
    sim.inject(Fault::ApiStatus {
        route: Route::GetJob,
        status: 503,
        count: 2,
    });
    let again = client.get_job(&job.job_id).await.unwrap();
    assert_eq!(again.job_id, job.job_id);
    assert_eq!(sim.stats().get_job, 3);
}

#[tokio::test]
async fn gets_give_up_after_the_retries_run_out() {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    sim.inject(Fault::ApiStatus {
        route: Route::GetJob,
        status: 502,
        count: 100,
    });
    let err = client.get_job("job_x").await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(sim.stats().get_job, 1 + fast_retry().retries as u64);
}

#[tokio::test]
async fn a_5xx_on_generate_is_never_re_sent() {
    for fault in [
        Fault::GenerateErrorAfterCreate {
            status: 500,
            count: 1,
        },
        Fault::ApiStatus {
            route: Route::Generate,
            status: 503,
            count: 1,
        },
        Fault::GenerateResetAfterCreate { count: 1 },
    ] {
        let sim = start(quick_config()).await;
        sim.inject(fault);
        let client = client_for(&sim);
        let err = client.generate(&fox()).await.unwrap_err();
        assert!(matches!(err, ApiError::SubmissionUnknown { .. }), "{err}");
        assert!(err.to_string().contains("submission outcome unknown"));
        assert_eq!(sim.stats().generate_posts, 1, "the POST was sent again");
    }
}

#[tokio::test]
async fn a_generate_that_times_out_is_never_re_sent() {
    let sim = start(SimConfig {
        faults: kling_sim::Faults {
            latency: std::time::Duration::from_secs(2),
            ..Default::default()
        },
        ..quick_config()
    })
    .await;
    let mut options = kling_tui::api::ClientOptions::new(
        kling_tui::api::parse_api_url(&sim.api_url).unwrap(),
        Credentials::new(kling_sim::DEMO_API_KEY, kling_sim::DEMO_API_SECRET),
    );
    options.request_timeout = std::time::Duration::from_millis(200);
    options.retry = fast_retry();
    let client = kling_tui::api::ScenarioClient::new(options).unwrap();
    let err = client.generate(&fox()).await.unwrap_err();
    assert!(matches!(err, ApiError::SubmissionUnknown { .. }), "{err}");
    let posts = sim
        .stats()
        .requests
        .iter()
        .filter(|(_, r)| *r == Route::Generate)
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn a_generate_that_cannot_connect_is_reported_as_such() {
    // Bind then drop a listener: the port is closed, so the request provably never arrived.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut options = kling_tui::api::ClientOptions::new(
        kling_tui::api::parse_api_url(&format!("http://127.0.0.1:{port}/v1")).unwrap(),
        Credentials::new("k", "s"),
    );
    options.retry = fast_retry();
    let client = kling_tui::api::ScenarioClient::new(options).unwrap();
    let err = client.generate(&fox()).await.unwrap_err();
    assert!(matches!(err, ApiError::Connect { .. }), "{err}");
}

#[tokio::test]
async fn a_truncated_download_is_resumed_with_range() {
    let sim = start(SimConfig {
        video_size: Some(3 * 1024 * 1024 + 17),
        ..quick_config()
    })
    .await;
    let (client, asset) = finished_job(&sim).await;
    sim.inject(Fault::CdnTruncate { count: 2 });
    let dir = tempfile::tempdir().unwrap();
    let path = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap()
        .path;
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 3 * 1024 * 1024 + 17);
    assert!(
        bytes == SimHandle::synthetic_bytes(0, bytes.len()),
        "bytes differ"
    );
    let stats = sim.stats();
    assert_eq!(stats.cdn_requests, 3);
    assert_resumed(&stats.cdn_ranges);
    assert_eq!(stats.cdn_with_authorization, 0);
    assert_eq!(files_in(dir.path()), ["job_1.mp4"]);
}

#[tokio::test]
async fn a_download_that_keeps_breaking_leaves_no_final_file() {
    let sim = start(SimConfig {
        video_size: Some(1024 * 1024),
        ..quick_config()
    })
    .await;
    let (client, asset) = finished_job(&sim).await;
    // Half the file arrives, then every connection breaks.
    sim.inject(Fault::CdnTruncate { count: 1 });
    sim.inject(Fault::CdnReset { count: 1000 });
    let dir = tempfile::tempdir().unwrap();
    let err = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::Network { .. } | ApiError::Download { .. }),
        "{err}"
    );
    assert!(!dir.path().join("job_1.mp4").exists());
    // What arrived is kept for a later resume, under the .part name only.
    let part = kling_tui::api::part_path(&dir.path().join("job_1.mp4"), &asset);
    let part_name = part.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(files_in(dir.path()), [part_name]);
    let kept = std::fs::read(&part).unwrap();
    assert!(!kept.is_empty() && kept.len() < 1024 * 1024);
    assert!(
        kept == SimHandle::synthetic_bytes(0, kept.len()),
        "kept bytes differ"
    );
}

#[tokio::test]
async fn a_server_that_ignores_range_still_gives_exact_bytes() {
    let sim = start(SimConfig {
        video_size: Some(2 * 1024 * 1024),
        ..quick_config()
    })
    .await;
    let (client, asset) = finished_job(&sim).await;
    sim.inject(Fault::CdnTruncate { count: 1 });
    sim.inject(Fault::CdnIgnoreRange { count: 1 });
    let dir = tempfile::tempdir().unwrap();
    let path = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap()
        .path;
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes == SimHandle::synthetic_bytes(0, 2 * 1024 * 1024),
        "bytes differ"
    );
}

#[tokio::test]
async fn an_expired_link_is_refreshed_and_the_download_continues_from_disk() {
    let size = 4 * 1024 * 1024;
    let sim = start(SimConfig {
        video_size: Some(size as u64),
        ..quick_config()
    })
    .await;
    let (client, asset) = finished_job(&sim).await;
    let lookups_before = sim.stats().get_asset;
    // The first connection breaks part-way; while it streams, the link expires.
    sim.inject(Fault::CdnTruncate { count: 1 });
    let mut expired = false;
    let mut on_progress = OnProgress(|p: DownloadProgress| {
        if p.bytes > 0 && !expired {
            sim.inject(Fault::ExpireAllLinks);
            expired = true;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let path = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut on_progress)
        .await
        .unwrap()
        .path;
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes == SimHandle::synthetic_bytes(0, size), "bytes differ");
    let stats = sim.stats();
    // One lookup for the first link, one for a fresh link after its 403.
    assert_eq!(stats.get_asset - lookups_before, 2);
    // Broken first attempt, the 403, then the resumed range: never a fresh start.
    assert_eq!(stats.cdn_requests, 3);
    assert_resumed(&stats.cdn_ranges);
    assert_eq!(stats.cdn_with_authorization, 0);
}

#[tokio::test]
async fn downloads_never_overwrite() {
    let sim = start(quick_config()).await;
    let (client, asset) = finished_job(&sim).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("job_1.mp4"), b"mine").unwrap();
    let path = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap()
        .path;
    assert_eq!(path, dir.path().join("job_1_1.mp4"));
    assert_eq!(
        std::fs::read(dir.path().join("job_1.mp4")).unwrap(),
        b"mine"
    );
}

#[tokio::test]
async fn listing_pages_through_every_job_once() {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let mut created = Vec::new();
    for _ in 0..23 {
        created.push(client.generate(&fox()).await.unwrap().job.job_id);
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let page = client.list_jobs(10, token.as_deref(), None).await.unwrap();
        assert!(page.jobs.len() <= 10);
        seen.extend(page.jobs.into_iter().map(|j| j.job_id));
        token = page.next_pagination_token;
        if token.is_none() {
            break;
        }
    }
    created.reverse(); // newest first
    assert_eq!(seen, created);
}

#[tokio::test]
async fn cancel_refusal_carries_the_servers_reason() {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let job = client.generate(&fox()).await.unwrap().job;
    let err = client.cancel_job(&job.job_id).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(
        err.to_string().contains("Cannot cancel this type of job"),
        "{err}"
    );
}

#[tokio::test]
async fn the_project_id_rides_on_every_call() {
    let sim = start(quick_config()).await;
    let mut options = kling_tui::api::ClientOptions::new(
        kling_tui::api::parse_api_url(&sim.api_url).unwrap(),
        Credentials::new(kling_sim::DEMO_API_KEY, kling_sim::DEMO_API_SECRET),
    );
    options.project_id = Some("proj_42".into());
    let client = kling_tui::api::ScenarioClient::new(options).unwrap();
    let job = client.generate(&fox()).await.unwrap().job;
    assert_eq!(sim.stats().last_project_id.as_deref(), Some("proj_42"));
    // A read is counted (and its projectId recorded) only after the generate above.
    let reads_before = sim.stats().get_job;
    client.get_job(&job.job_id).await.unwrap();
    let stats = sim.stats();
    assert_eq!(stats.get_job, reads_before + 1);
    assert_eq!(stats.last_project_id.as_deref(), Some("proj_42"));
}

#[tokio::test]
async fn the_generate_body_is_the_wire_format() {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let mut request = fox();
    request.reference_images = vec![kling_tui::kling::AssetId::new("asset_a")];
    request.prompt = "<<<image_1>>> in snow".into();
    client.generate(&request).await.unwrap();
    let body = sim.stats().last_generate_body.unwrap();
    assert_eq!(body, request.to_json());
    assert!(body["referenceImages"].is_array());
}
