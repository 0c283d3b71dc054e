//! The job engine against the simulator over loopback: many jobs at once within the request
//! budget, the concurrency ceiling, and faults on every path, with nothing lost.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::common::*;
use kling_sim::{self as sim, Fault, Route, SimConfig, SimHandle};
use kling_tui::api::types::JobStatus;
use kling_tui::api::{ClientOptions, Credentials, parse_api_url};
use kling_tui::engine::{
    self, Command, EngineConfig, EngineHandle, Event, JobRecord, Ledger, LocalId,
};
use kling_tui::kling::KlingRequest;

fn options(sim: &SimHandle) -> ClientOptions {
    let mut options = ClientOptions::new(
        parse_api_url(&sim.api_url).unwrap(),
        Credentials::new(sim::DEMO_API_KEY, sim::DEMO_API_SECRET),
    );
    options.retry = fast_retry();
    options
}

fn fast_engine(dir: &Path, rate: f64) -> EngineConfig {
    EngineConfig {
        download_dir: dir.to_path_buf(),
        requests_per_second: rate,
        poll_initial: Duration::from_millis(100),
        poll_max: Duration::from_millis(400),
        ..EngineConfig::default()
    }
}

/// Runs until `want` jobs are known and everything has settled; returns the last state of
/// every job. Bounded by event count, never by time.
async fn run_until_settled(engine: &mut EngineHandle, want: usize) -> BTreeMap<LocalId, JobRecord> {
    let mut jobs = BTreeMap::new();
    for _ in 0..2_000_000 {
        match engine.events.recv().await {
            Some(Event::Job(job)) => {
                jobs.insert(job.local_id, *job);
            }
            Some(Event::Settled) if jobs.len() >= want => return jobs,
            Some(_) => {}
            None => panic!("the engine stopped"),
        }
    }
    panic!("never settled");
}

fn request(n: usize) -> KlingRequest {
    KlingRequest::new(format!("a red fox in snow, take {n}"))
}

fn assert_all_downloaded(jobs: &BTreeMap<LocalId, JobRecord>, expected: &dyn Fn(usize) -> Vec<u8>) {
    for job in jobs.values() {
        assert!(
            job.is_final(),
            "job {} not final: {}",
            job.local_id,
            job.state_word()
        );
        if job.succeeded() {
            assert!(
                job.fully_downloaded(),
                "job {} not downloaded: {:?}",
                job.local_id,
                job.downloads
            );
            for d in &job.downloads {
                let path = d.file.as_ref().unwrap();
                let bytes = std::fs::read(path).unwrap();
                assert!(bytes == expected(bytes.len()), "{} differs", path.display());
            }
        }
    }
}

fn no_part_files(dir: &Path) {
    let parts: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(parts.is_empty(), "left behind: {parts:?}");
}

/// The most API requests (CDN excluded) the simulator saw in any one-second window.
fn peak_requests_per_second(sim: &SimHandle) -> usize {
    let times: Vec<Duration> = sim
        .stats()
        .requests
        .iter()
        .filter(|(_, route)| *route != Route::Cdn)
        .map(|(t, _)| *t)
        .collect();
    let mut peak = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= Duration::from_secs(1) {
            start += 1;
        }
        peak = peak.max(end - start + 1);
    }
    peak
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_jobs_all_finish_downloaded_within_the_budget() {
    let sim = start(SimConfig {
        time_scale: 600.0,
        failure_rate: 0.1,
        concurrency_limit: 1_000,
        ..SimConfig::default()
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let ledger = Ledger::open(&home.path().join("ledger")).unwrap();
    let rate = 100.0;
    let mut engine = engine::start(options(&sim), ledger, fast_engine(&out, rate)).unwrap();
    for n in 0..200 {
        engine.commands.send(Command::submit(request(n))).unwrap();
    }
    let jobs = run_until_settled(&mut engine, 200).await;
    engine.shutdown().await;

    assert_eq!(jobs.len(), 200);
    let fixture = sim.video_bytes().unwrap().to_vec();
    assert_all_downloaded(&jobs, &|_| fixture.clone());
    let failed = jobs
        .values()
        .filter(|j| j.status == Some(JobStatus::Failure))
        .count();
    assert!(failed > 0 && failed < 60, "{failed} failures at a 10% rate");
    assert!(
        jobs.values()
            .filter(|j| j.status == Some(JobStatus::Failure))
            .all(|j| j.error.is_some())
    );
    let stats = sim.stats();
    assert_eq!(stats.generate_posts, 200);
    assert_eq!(stats.cdn_with_authorization, 0);
    let peak = peak_requests_per_second(&sim);

    assert!(
        peak <= rate as usize + 1,
        "{peak} requests in one second, budget {rate}"
    );
    no_part_files(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrency_ceiling_queues_submissions_instead_of_failing_them() {
    let sim = start(SimConfig {
        time_scale: 600.0,
        concurrency_limit: 4,
        ..SimConfig::default()
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let ledger = Ledger::open(&home.path().join("ledger")).unwrap();
    let mut engine = engine::start(options(&sim), ledger, fast_engine(&out, 200.0)).unwrap();
    for n in 0..12 {
        engine.commands.send(Command::submit(request(n))).unwrap();
    }
    let jobs = run_until_settled(&mut engine, 12).await;
    engine.shutdown().await;
    assert!(jobs.values().all(|j| j.status == Some(JobStatus::Success)));
    let stats = sim.stats();
    assert_eq!(stats.jobs_created, 12);
    assert!(stats.generate_posts > 12, "the ceiling was never hit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_survive_truncation_resets_expired_links_and_ignored_ranges() {
    let size = 2 * 1024 * 1024 + 3;
    let sim = start(SimConfig {
        video_size: Some(size as u64),
        ..quick_config()
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let ledger = Ledger::open(&home.path().join("ledger")).unwrap();
    // Faults wait for the first downloads: truncated bodies, dropped connections, a link that
    // expires, a server that ignores Range.
    sim.inject(Fault::CdnTruncate { count: 3 });
    sim.inject(Fault::CdnReset { count: 2 });
    sim.inject(Fault::CdnIgnoreRange { count: 2 });
    let mut engine = engine::start(options(&sim), ledger, fast_engine(&out, 100.0)).unwrap();
    for n in 0..4 {
        engine.commands.send(Command::submit(request(n))).unwrap();
    }
    let mut jobs = BTreeMap::new();
    let mut expired = false;
    loop {
        match engine.events.recv().await {
            Some(Event::Job(job)) => {
                jobs.insert(job.local_id, *job);
            }
            Some(Event::DownloadProgress { bytes, .. }) if bytes > 0 && !expired => {
                sim.inject(Fault::ExpireAllLinks);
                sim.inject(Fault::CdnTruncate { count: 1 });
                expired = true;
            }
            Some(Event::Settled) if jobs.len() >= 4 => break,
            Some(_) => {}
            None => panic!("the engine stopped"),
        }
    }
    engine.shutdown().await;
    assert!(expired);
    assert_all_downloaded(&jobs, &|len| SimHandle::synthetic_bytes(0, len));
    assert!(jobs.values().all(|j| j.fully_downloaded()));
    for job in jobs.values() {
        let len = std::fs::metadata(job.downloads[0].file.as_ref().unwrap())
            .unwrap()
            .len();
        assert_eq!(len, size as u64);
    }
    no_part_files(&out);
    assert_eq!(sim.stats().cdn_with_authorization, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_remaining_seconds_and_503_bursts_lose_nothing() {
    let sim = start(quick_config()).await;
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let ledger = Ledger::open(&home.path().join("ledger")).unwrap();
    sim.inject(Fault::Generate429 {
        count: 2,
        remaining_seconds: 1,
    });
    sim.inject(Fault::ApiStatus {
        route: Route::GetJob,
        status: 503,
        count: 15,
    });
    sim.inject(Fault::ApiStatus {
        route: Route::GetAsset,
        status: 502,
        count: 3,
    });
    let mut engine = engine::start(options(&sim), ledger, fast_engine(&out, 100.0)).unwrap();
    for n in 0..5 {
        engine.commands.send(Command::submit(request(n))).unwrap();
    }
    let jobs = run_until_settled(&mut engine, 5).await;
    engine.shutdown().await;
    assert!(
        jobs.values().all(|j| j.status == Some(JobStatus::Success)),
        "{jobs:?}"
    );
    let fixture = sim.video_bytes().unwrap().to_vec();
    assert_all_downloaded(&jobs, &|_| fixture.clone());
    assert_eq!(sim.stats().jobs_created, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_polling_and_downloads_from_the_ledger() {
    let sim = start(SimConfig {
        time_scale: 120.0,
        ..SimConfig::default()
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let ledger_dir = home.path().join("ledger");
    {
        let ledger = Ledger::open(&ledger_dir).unwrap();
        let mut config = fast_engine(&out, 100.0);
        config.auto_download = false;
        let mut engine = engine::start(options(&sim), ledger, config).unwrap();
        for n in 0..3 {
            engine.commands.send(Command::submit(request(n))).unwrap();
        }
        // Stop as soon as all three have server ids: nothing is final yet.
        let mut accepted = 0;
        while accepted < 3 {
            if let Some(Event::Job(job)) = engine.events.recv().await
                && job.job_id.is_some()
                && job.submission == kling_tui::engine::Submission::Accepted
            {
                accepted += 1;
            }
        }
        engine.shutdown().await;
    }
    let ledger = Ledger::open(&ledger_dir).unwrap();
    assert_eq!(ledger.jobs().len(), 3);
    let mut engine = engine::start(options(&sim), ledger, fast_engine(&out, 100.0)).unwrap();
    let jobs = run_until_settled(&mut engine, 3).await;
    engine.shutdown().await;
    let fixture = sim.video_bytes().unwrap().to_vec();
    assert_all_downloaded(&jobs, &|_| fixture.clone());
    assert_eq!(sim.stats().generate_posts, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_interrupted_mid_upload_uploads_the_rest_and_is_sent_once() {
    let sim = start(quick_config()).await;
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let ledger_dir = home.path().join("ledger");
    let first = png(home.path(), "fox.png", 800, 800);
    let second = png(home.path(), "hat.png", 640, 960);
    // First life: the intent is recorded and the first file uploaded, then the process dies.
    let first_asset = {
        let mut ledger = Ledger::open(&ledger_dir).unwrap();
        let mut request = KlingRequest::new("<<<image_1>>> wears <<<image_2>>>");
        request.reference_images = vec![
            kling_tui::kling::AssetId::new(first.to_string_lossy()),
            kling_tui::kling::AssetId::new(second.to_string_lossy()),
        ];
        let id = ledger
            .record_intent("2026-11-24T12:00:00Z".into(), request, None, None)
            .unwrap();
        assert_eq!(ledger.job(id).unwrap().state_word(), "uploading 0/2");
        let asset = client_for(&sim)
            .upload_file(&first, "image/png", &mut |_| {}, Duration::from_millis(10))
            .await
            .unwrap()
            .0;
        ledger
            .append(
                kling_tui::engine::Record::Uploaded {
                    local_id: id,
                    file: first.to_string_lossy().into_owned(),
                    asset_id: asset.clone(),
                },
                true,
            )
            .unwrap();
        assert_eq!(ledger.job(id).unwrap().state_word(), "uploading 1/2");
        asset
    };
    assert_eq!(sim.stats().generate_posts, 0);

    // Second life: the rest is uploaded, then the request is sent, once.
    let ledger = Ledger::open(&ledger_dir).unwrap();
    let mut engine = engine::start(options(&sim), ledger, fast_engine(&out, 100.0)).unwrap();
    let jobs = run_until_settled(&mut engine, 1).await;
    engine.shutdown().await;
    let job = jobs.values().next().unwrap();
    assert_eq!(job.status, Some(JobStatus::Success), "{}", job.state_word());
    let stats = sim.stats();
    assert_eq!(stats.asset_uploads, 2, "each file uploaded once");
    assert_eq!(stats.generate_posts, 1);
    let body = stats.last_generate_body.unwrap();
    let refs: Vec<&str> = body["referenceImages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(refs.len(), 2);
    assert_eq!(refs[0], first_asset, "prompt order kept");
    assert!(refs[1].starts_with("asset_") && refs[1] != first_asset);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_stopped_after_its_last_upload_is_sent_once_on_restart() {
    let sim = start(quick_config()).await;
    let home = tempfile::tempdir().unwrap();
    let ledger_dir = home.path().join("ledger");
    let frame = png(home.path(), "frame.png", 1280, 720);
    {
        let mut ledger = Ledger::open(&ledger_dir).unwrap();
        let mut request = KlingRequest::new("a fox leaves the frame");
        request.start_image = Some(kling_tui::kling::AssetId::new(frame.to_string_lossy()));
        request.aspect_ratio = None;
        let id = ledger
            .record_intent("2026-11-24T12:00:00Z".into(), request, None, None)
            .unwrap();
        let asset = client_for(&sim)
            .upload_file(&frame, "image/png", &mut |_| {}, Duration::from_millis(10))
            .await
            .unwrap()
            .0;
        ledger
            .append(
                kling_tui::engine::Record::Uploaded {
                    local_id: id,
                    file: frame.to_string_lossy().into_owned(),
                    asset_id: asset,
                },
                true,
            )
            .unwrap();
    }
    let ledger = Ledger::open(&ledger_dir).unwrap();
    let out = home.path().join("out");
    let mut engine = engine::start(options(&sim), ledger, fast_engine(&out, 100.0)).unwrap();
    let jobs = run_until_settled(&mut engine, 1).await;
    engine.shutdown().await;
    assert_eq!(
        jobs.values().next().unwrap().status,
        Some(JobStatus::Success)
    );
    let stats = sim.stats();
    assert_eq!((stats.asset_uploads, stats.generate_posts), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_fails_for_a_while_is_tried_again_not_given_up() {
    let sim = start(quick_config()).await;
    let home = tempfile::tempdir().unwrap();
    let frame = png(home.path(), "frame.png", 1280, 720);
    // More 503s than one round of the client's own retries can ride out.
    sim.inject(Fault::ApiStatus {
        route: Route::CreateAsset,
        status: 503,
        count: 3,
    });
    let ledger = Ledger::open(&home.path().join("ledger")).unwrap();
    let out = home.path().join("out");
    let mut engine = engine::start(options(&sim), ledger, fast_engine(&out, 100.0)).unwrap();
    let mut request = KlingRequest::new("a fox leaves the frame");
    request.start_image = Some(kling_tui::kling::AssetId::new(frame.to_string_lossy()));
    engine.commands.send(Command::submit(request)).unwrap();
    let jobs = run_until_settled(&mut engine, 1).await;
    engine.shutdown().await;
    let job = jobs.values().next().unwrap();
    assert_eq!(job.status, Some(JobStatus::Success), "{}", job.state_word());
    let stats = sim.stats();
    assert_eq!(stats.asset_uploads, 4, "three refused, the fourth taken");
    assert_eq!(stats.generate_posts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgetting_a_job_stops_its_download_and_leaves_no_file() {
    let sim = start(SimConfig {
        video_size: Some(4 * 1024 * 1024),
        ..quick_config()
    })
    .await;
    // Half the file, then nothing on an open connection: without the forget, the transfer
    // would wait out the stall timeout.
    sim.inject(Fault::CdnStall { count: 1 });
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    let ledger = Ledger::open(&home.path().join("ledger")).unwrap();
    let mut patient = options(&sim);
    patient.read_timeout = Duration::from_secs(120);
    let mut engine = engine::start(patient, ledger, fast_engine(&out, 100.0)).unwrap();
    engine.commands.send(Command::submit(request(0))).unwrap();
    let mut forgotten = None;
    while forgotten.is_none() {
        match engine.events.recv().await {
            Some(Event::DownloadProgress { local_id, .. }) => {
                // Forgotten once the server is sending (half the file, then the stall).
                for _ in 0..200 {
                    if sim.open_downloads() == 1 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                assert_eq!(sim.open_downloads(), 1, "the download never started");
                engine.commands.send(Command::Forget(local_id)).unwrap();
                forgotten = Some(local_id);
            }
            Some(_) => {}
            None => panic!("the engine stopped"),
        }
    }
    loop {
        match engine.events.recv().await {
            Some(Event::Forgotten(id)) if Some(id) == forgotten => break,
            Some(_) => {}
            None => panic!("the engine stopped"),
        }
    }
    // The server sees the transfer end (polled, bounded by count), and no file is left.
    let mut open = sim.open_downloads();
    for _ in 0..200 {
        if open == 0 && std::fs::read_dir(&out).unwrap().next().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        open = sim.open_downloads();
    }
    assert_eq!(open, 0, "the download was not stopped");
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    engine.shutdown().await;
}
