//! Downloads against a CDN that lies, stalls or answers with the wrong thing, and a download
//! folder with things planted in it: every case ends with no wrong file under a final name and
//! a message that says what happened.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use kling_sim::{self as sim, Fault, SimConfig, SimHandle};
use kling_tui::api::types::JobStatus;
use kling_tui::api::{
    ApiError, ClientOptions, Credentials, Destination, DownloadProgress, OnProgress,
    ScenarioClient, parse_api_url,
};
use kling_tui::kling::KlingRequest;

fn no_progress() -> OnProgress<impl FnMut(DownloadProgress) + Send> {
    OnProgress(|_| {})
}

fn into<'a>(dir: &'a Path, stem: &'a str) -> Destination<'a> {
    Destination {
        dir,
        stem,
        recorded: None,
    }
}

fn client_tuned(sim: &SimHandle, tune: impl FnOnce(&mut ClientOptions)) -> ScenarioClient {
    let mut options = ClientOptions::new(
        parse_api_url(&sim.api_url).unwrap(),
        Credentials::new(sim::DEMO_API_KEY, sim::DEMO_API_SECRET),
    );
    options.retry = fast_retry();
    tune(&mut options);
    ScenarioClient::new(options).unwrap()
}

/// A finished job's asset id.
async fn finished_asset(client: &ScenarioClient) -> String {
    let job = client
        .generate(&KlingRequest::new("a red fox in snow"))
        .await
        .unwrap()
        .job;
    let done = wait_final(client, &job.job_id).await;
    assert_eq!(done.status, JobStatus::Success);
    done.metadata.asset_ids[0].clone()
}

/// Downloads with `faults` injected and returns what was saved and the simulator.
async fn saved_despite(faults: &[Fault]) -> (kling_tui::api::Saved, SimHandle, tempfile::TempDir) {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let asset = finished_asset(&client).await;
    for fault in faults {
        sim.inject(fault.clone());
    }
    let dir = tempfile::tempdir().unwrap();
    let saved = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&saved.path).unwrap(),
        sim.video_bytes().unwrap()
    );
    (saved, sim, dir)
}

/// Downloads with `fault` injected and returns the error, checking nothing was left behind.
async fn refused(fault: Fault) -> String {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let asset = finished_asset(&client).await;
    sim.inject(fault);
    let dir = tempfile::tempdir().unwrap();
    let err = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::NotTheAsset { .. }), "{err:?}");
    assert_eq!(
        files_in(dir.path()),
        Vec::<String>::new(),
        "nothing saved, no .part of wrong bytes kept"
    );
    err.to_string()
}

#[tokio::test]
async fn a_shorter_file_with_consistent_headers_is_not_the_asset() {
    let err = refused(Fault::CdnShortFile { count: 1 }).await;
    let size = kling_sim::DEMO_VIDEO_LEN;
    assert!(
        err.contains(&format!("announces {} bytes", size / 2))
            && err.contains(&format!("the asset has {size}")),
        "{err}"
    );
}

#[tokio::test]
async fn an_html_page_sent_as_200_is_named_with_its_first_bytes() {
    let err = refused(Fault::CdnHtmlPage { count: 1 }).await;
    assert!(err.contains("200 OK") && err.contains("text/html"), "{err}");
    assert!(err.contains("<html><body>Service unavailable"), "{err}");
}

#[tokio::test]
async fn an_encoded_body_is_refused() {
    let err = refused(Fault::CdnGzip { count: 1 }).await;
    assert!(err.contains("gzip-encoded"), "{err}");
}

#[tokio::test]
async fn a_body_longer_than_the_asset_is_refused() {
    let err = refused(Fault::CdnLonger {
        count: 1,
        extra: 5000,
    })
    .await;
    assert!(err.contains("the asset has"), "{err}");
}

#[tokio::test]
async fn a_damaged_byte_is_caught_by_the_md5_etag_and_fetched_again() {
    let (_saved, sim, dir) = saved_despite(&[Fault::CdnCorrupt { count: 1 }]).await;
    assert_eq!(sim.stats().cdn_ranges, [None, None], "fetched whole, twice");
    assert_eq!(files_in(dir.path()), ["job_1.mp4"]);
}

#[tokio::test]
async fn damage_that_differs_each_time_is_refused() {
    let err = refused(Fault::CdnCorrupt { count: 2 }).await;
    assert!(err.contains("MD5 does not match"), "{err}");
}

#[tokio::test]
async fn an_etag_that_is_not_the_files_md5_costs_one_more_fetch_not_the_video() {
    let (_saved, sim, _dir) = saved_despite(&[Fault::CdnForeignEtag { count: 2 }]).await;
    assert_eq!(sim.stats().cdn_requests, 2);
}

#[tokio::test]
async fn an_asset_bigger_than_the_cap_is_refused_before_fetching() {
    let sim = start(SimConfig {
        video_size: Some(2 * 1024 * 1024),
        ..quick_config()
    })
    .await;
    let client = client_tuned(&sim, |o| o.max_download_bytes = 1024 * 1024);
    let asset = finished_asset(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let err = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::NotTheAsset { .. }), "{err:?}");
    let err = err.to_string();
    assert!(
        err.contains("2097152 bytes") && err.contains("max_download_bytes"),
        "{err}"
    );
    assert_eq!(sim.stats().cdn_requests, 0);
    assert!(files_in(dir.path()).is_empty());
}

#[tokio::test]
async fn two_downloads_of_one_file_never_share_its_part() {
    let sim = start(SimConfig {
        video_size: Some(2 * 1024 * 1024),
        ..quick_config()
    })
    .await;
    // The first transfer stalls half-way, holding its part open for the 10 s its client
    // waits on a silent transfer: time enough for the second to find it, however busy the
    // machine.
    let client = client_tuned(&sim, |o| o.read_timeout = Duration::from_secs(10));
    let asset = finished_asset(&client).await;
    sim.inject(Fault::CdnStall { count: 1 });
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let client = client.clone();
        let asset = asset.clone();
        let dir = dir.path().to_path_buf();
        tokio::spawn(async move {
            client
                .download_asset(&asset, &into(&dir, "job_1"), &mut no_progress())
                .await
        })
    };
    // Wait (bounded, not timed) until the stalled transfer has written its first bytes.
    let part = kling_tui::api::part_path(&dir.path().join("job_1.mp4"), &asset);
    for _ in 0..500 {
        if std::fs::metadata(&part).is_ok_and(|m| m.len() > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        second.contains("another kling-tui process is downloading"),
        "{second}"
    );
    let saved = first.await.unwrap().unwrap();
    assert_eq!(saved.path, dir.path().join("job_1.mp4"));
    let bytes = std::fs::read(&saved.path).unwrap();
    assert!(
        bytes == SimHandle::synthetic_bytes(0, 2 * 1024 * 1024),
        "bytes differ"
    );
    assert_eq!(files_in(dir.path()), ["job_1.mp4"]);
}

#[tokio::test]
async fn a_body_with_no_size_stops_at_the_cap() {
    let sim = start(quick_config()).await;
    let client = client_tuned(&sim, |o| o.max_download_bytes = 1024 * 1024);
    let asset = finished_asset(&client).await;
    sim.inject(Fault::AssetWithoutSize { count: 1 });
    sim.inject(Fault::CdnEndless { count: 1 });
    let dir = tempfile::tempdir().unwrap();
    let err = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no size was announced") && err.contains("max_download_bytes"),
        "{err}"
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

#[tokio::test]
async fn with_no_size_from_the_api_the_cdns_own_length_is_held_to() {
    let sim = start(SimConfig {
        video_size: Some(3 * 1024 * 1024),
        ..quick_config()
    })
    .await;
    let client = client_for(&sim);
    let asset = finished_asset(&client).await;
    sim.inject(Fault::AssetWithoutSize { count: 1 });
    sim.inject(Fault::CdnTruncate { count: 1 });
    let dir = tempfile::tempdir().unwrap();
    let saved = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap();
    assert_eq!(saved.size, 3 * 1024 * 1024);
    let bytes = std::fs::read(&saved.path).unwrap();
    assert!(
        bytes == SimHandle::synthetic_bytes(0, bytes.len()),
        "bytes differ"
    );
}

#[tokio::test]
async fn a_part_that_links_elsewhere_is_never_written_through() {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let asset = finished_asset(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("notes.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let part = kling_tui::api::part_path(&dir.path().join("job_1.mp4"), &asset);
    let part_name = part.file_name().unwrap().to_string_lossy().into_owned();
    std::os::unix::fs::symlink(&victim, &part).unwrap();
    let err = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&part_name) && err.contains("symbolic link"),
        "{err}"
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(
        files_in(dir.path()),
        [part_name],
        "nothing renamed into place"
    );
    assert!(
        std::fs::symlink_metadata(&part)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(sim.stats().cdn_requests, 0, "refused before fetching");
}

#[tokio::test]
async fn a_planted_file_at_the_final_name_is_neither_taken_nor_overwritten() {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let asset = finished_asset(&client).await;
    let video = sim.video_bytes().unwrap().to_vec();
    let dir = tempfile::tempdir().unwrap();
    // Same size as the asset, other bytes: only the journal's word makes a file ours.
    let planted = vec![b'x'; video.len()];
    let final_name = dir.path().join("job_1.mp4");
    std::fs::write(&final_name, &planted).unwrap();
    let saved = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap();
    assert!(!saved.existing);
    assert_eq!(saved.path, dir.path().join("job_1_1.mp4"));
    assert_eq!(std::fs::read(&saved.path).unwrap(), video);
    assert_eq!(std::fs::read(&final_name).unwrap(), planted);

    // Recorded by the caller with its size: taken as done, nothing fetched.
    let recorded = Destination {
        dir: dir.path(),
        stem: "job_1",
        recorded: Some((&saved.path, saved.size)),
    };
    let before = sim.stats().cdn_requests;
    let again = client
        .download_asset(&asset, &recorded, &mut no_progress())
        .await
        .unwrap();
    assert!(again.existing);
    assert_eq!(again.path, saved.path);
    assert_eq!(sim.stats().cdn_requests, before);

    // A recorded file whose size changed since is not the download any more.
    std::fs::write(&saved.path, b"edited").unwrap();
    let fresh = client
        .download_asset(&asset, &recorded, &mut no_progress())
        .await
        .unwrap();
    assert!(!fresh.existing);
    assert_eq!(fresh.path, dir.path().join("job_1_2.mp4"));
    assert_eq!(std::fs::read(&saved.path).unwrap(), b"edited");
}

#[tokio::test]
async fn a_part_of_other_bytes_is_started_over_not_resumed() {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let asset = finished_asset(&client).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        kling_tui::api::part_path(&dir.path().join("job_1.mp4"), &asset),
        b"<html>not a video</html>",
    )
    .unwrap();
    let saved = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&saved.path).unwrap(),
        sim.video_bytes().unwrap()
    );
    assert_eq!(sim.stats().cdn_ranges, [None], "fetched from byte 0");
}

#[tokio::test]
async fn a_stalled_transfer_is_resumed() {
    let size = 2 * 1024 * 1024;
    let sim = start(SimConfig {
        video_size: Some(size as u64),
        ..quick_config()
    })
    .await;
    let client = client_tuned(&sim, |o| o.read_timeout = Duration::from_millis(500));
    let asset = finished_asset(&client).await;
    sim.inject(Fault::CdnStall { count: 1 });
    let dir = tempfile::tempdir().unwrap();
    let saved = client
        .download_asset(&asset, &into(dir.path(), "job_1"), &mut no_progress())
        .await
        .unwrap();
    let bytes = std::fs::read(&saved.path).unwrap();
    assert!(bytes == SimHandle::synthetic_bytes(0, size), "bytes differ");
    let ranges = sim.stats().cdn_ranges;
    assert_eq!(ranges.len(), 2, "{ranges:?}");
    let resumed_at: u64 = ranges[1]
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
        .unwrap_or_else(|| panic!("not a resume: {ranges:?}"));
    assert!(resumed_at > 0, "{ranges:?}");
}

#[tokio::test]
async fn job_ids_that_collide_after_filtering_get_two_files() {
    let sim = start(quick_config()).await;
    let client = client_for(&sim);
    let mut saved = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    for id in ["job_abc", "job_a.bc"] {
        sim.inject(Fault::NextJobId { id: id.into() });
        let job = client
            .generate(&KlingRequest::new("a red fox in snow"))
            .await
            .unwrap()
            .job;
        assert_eq!(job.job_id, id);
        let done = wait_final(&client, id).await;
        let stem = kling_tui::engine::job_file_stem(id, 1);
        saved.push(
            client
                .download_asset(
                    &done.metadata.asset_ids[0],
                    &into(dir.path(), &stem),
                    &mut no_progress(),
                )
                .await
                .unwrap(),
        );
    }
    assert_ne!(saved[0].path, saved[1].path);
    assert_eq!(saved[0].path, dir.path().join("job_abc_1.mp4"));
    let second = saved[1]
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        second.starts_with("job_abc.") && second.ends_with("_1.mp4"),
        "{second}"
    );
    for s in &saved {
        assert_eq!(std::fs::read(&s.path).unwrap(), sim.video_bytes().unwrap());
    }
}
