//! Pictures of finished videos through an engine in this process, against the simulator over
//! loopback: the bytes the CDN serves end up on disk once, later asks make no request, and a
//! CDN that sends anything but a picture is refused with a message that says so.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;
use kling_sim::{self as sim, Fault, SimConfig, SimHandle};
use kling_tui::api::{ClientOptions, Credentials, parse_api_url};
use kling_tui::engine::{self, Command, EngineConfig, EngineHandle, Event, Ledger, LocalId};
use kling_tui::kling::KlingRequest;

struct Setup {
    sim: SimHandle,
    engine: EngineHandle,
    home: tempfile::TempDir,
    seq: u64,
}

async fn setup(config: SimConfig) -> Setup {
    let sim = start(config).await;
    let home = tempfile::tempdir().unwrap();
    let mut options = ClientOptions::new(
        parse_api_url(&sim.api_url).unwrap(),
        Credentials::new(sim::DEMO_API_KEY, sim::DEMO_API_SECRET),
    );
    options.retry = fast_retry();
    let ledger = Ledger::open(&home.path().join("ledger")).unwrap();
    let config = EngineConfig {
        download_dir: home.path().join("out"),
        requests_per_second: 100.0,
        poll_initial: Duration::from_millis(50),
        poll_max: Duration::from_millis(200),
        ..EngineConfig::default()
    };
    let engine = engine::start(options, ledger, config).unwrap();
    Setup {
        sim,
        engine,
        home,
        seq: 0,
    }
}

impl Setup {
    fn thumbnails(&self) -> PathBuf {
        self.home.path().join("ledger/thumbnails")
    }

    /// Submits a job and waits until it is final and saved: its number and video asset id.
    async fn finished_job(&mut self, prompt: &str) -> (LocalId, String) {
        self.engine
            .commands
            .send(Command::submit(KlingRequest::new(prompt)))
            .unwrap();
        let mut ours: Option<LocalId> = None;
        for _ in 0..100_000 {
            match self.engine.events.recv().await {
                Some(Event::Job(job))
                    if ours.is_none_or(|id| id == job.local_id) && job.fully_downloaded() =>
                {
                    return (job.local_id, job.downloads[0].asset_id.clone());
                }
                Some(Event::Job(job)) if ours.is_none() && job.request.prompt == prompt => {
                    ours = Some(job.local_id);
                }
                Some(_) => {}
                None => panic!("the engine stopped"),
            }
        }
        panic!("the job never finished");
    }

    /// Asks for job `id`'s picture and waits for the answer.
    async fn picture(&mut self, id: LocalId) -> Result<PathBuf, String> {
        self.seq += 1;
        let seq = self.seq;
        self.engine
            .commands
            .send(Command::Thumbnail { seq, local_id: id })
            .unwrap();
        for _ in 0..100_000 {
            match self.engine.events.recv().await {
                Some(Event::Thumbnail {
                    seq: s,
                    local_id,
                    result,
                }) if s == seq => {
                    assert_eq!(local_id, id);
                    return result.map_err(|e| e.message);
                }
                Some(_) => {}
                None => panic!("the engine stopped"),
            }
        }
        panic!("no answer");
    }
}

/// Requests to the API and the CDN so far.
fn requests(sim: &SimHandle) -> (u64, u64) {
    let stats = sim.stats();
    (stats.get_asset, stats.cdn_requests)
}

fn names_in(dir: &Path) -> Vec<String> {
    if !dir.exists() {
        return Vec::new();
    }
    files_in(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picture_is_fetched_once_then_read_from_disk() {
    let mut s = setup(quick_config()).await;
    let (id, asset) = s.finished_job("a lighthouse at dusk").await;
    let before = requests(&s.sim);
    let path = s.picture(id).await.unwrap();
    assert_eq!(path, s.thumbnails().join(format!("{asset}.png")));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        SimHandle::thumbnail_bytes(&asset)
    );
    let after = requests(&s.sim);
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1));
    assert_eq!(s.sim.stats().cdn_with_authorization, 0);

    // Asked again: from disk, with no request of any kind.
    assert_eq!(s.picture(id).await.unwrap(), path);
    assert_eq!(requests(&s.sim), after);
    assert_eq!(names_in(&s.thumbnails()), [format!("{asset}.png")]);
    s.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_thumbnail_the_first_frame_is_taken_and_without_either_it_says_so() {
    let mut s = setup(quick_config()).await;
    let (first, asset) = s.finished_job("a paper boat").await;
    s.sim.inject(Fault::AssetWithoutThumbnail { count: 1 });
    let path = s.picture(first).await.unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        SimHandle::first_frame_bytes(&asset)
    );
    let (second, _) = s.finished_job("a bee on lavender").await;
    s.sim.inject(Fault::AssetWithoutPictures { count: 1 });
    let err = s.picture(second).await.unwrap_err();
    assert!(err.contains("no picture"), "{err}");
    // Not a video yet, not in the ledger: said at once.
    let err = s.picture(999).await.unwrap_err();
    assert!(err.contains("#999"), "{err}");
    s.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cdn_that_sends_anything_but_a_picture_is_refused() {
    let mut s = setup(quick_config()).await;
    let (id, _) = s.finished_job("a fox in snow").await;
    let cases: [(Fault, &str); 5] = [
        (Fault::CdnHtmlPage { count: 1 }, "text/html"),
        (
            Fault::CdnLonger {
                count: 1,
                extra: 9 << 20,
            },
            "too big for a picture",
        ),
        (Fault::CdnEndless { count: 1 }, "too big for a picture"),
        (
            Fault::CdnForeignFile { count: 1 },
            "not a PNG, JPEG or WebP",
        ),
        (Fault::CdnGzip { count: 1 }, "gzip-encoded"),
    ];
    for (fault, expected) in cases {
        s.sim.inject(fault.clone());
        let err = s.picture(id).await.unwrap_err();
        assert!(err.contains(expected), "{fault:?}: {err}");
        assert!(!err.contains('\u{1b}'));
        // Nothing under the picture's name, and no temporary file left behind.
        assert_eq!(names_in(&s.thumbnails()), Vec::<String>::new(), "{fault:?}");
    }
    // Refusals are not remembered: the next ask, to a healthy CDN, gets the picture.
    assert!(s.picture(id).await.is_ok());
    s.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asks_at_the_same_time_share_one_fetch() {
    let mut s = setup(quick_config()).await;
    let (id, asset) = s.finished_job("neon street in rain").await;
    let before = requests(&s.sim);
    for seq in [101, 102, 103] {
        s.engine
            .commands
            .send(Command::Thumbnail { seq, local_id: id })
            .unwrap();
    }
    let mut answered = Vec::new();
    while answered.len() < 3 {
        match s.engine.events.recv().await {
            Some(Event::Thumbnail { seq, result, .. }) => {
                let path = result.unwrap();
                assert_eq!(
                    std::fs::read(path).unwrap(),
                    SimHandle::thumbnail_bytes(&asset)
                );
                answered.push(seq);
            }
            Some(_) => {}
            None => panic!("the engine stopped"),
        }
    }
    answered.sort();
    assert_eq!(answered, [101, 102, 103]);
    let after = requests(&s.sim);
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1));
    s.engine.shutdown().await;
}
