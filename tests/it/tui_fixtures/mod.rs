//! Jobs in every state, at fixed times, for the app's state and snapshot tests.
#![allow(dead_code)]

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use kling_tui::api::types::JobStatus;
use kling_tui::engine::{DownloadRecord, Event, JobRecord, Submission};
use kling_tui::kling::{KlingRequest, Mode};
use kling_tui::tui::app::App;

pub const NOW: &str = "2026-11-24T12:10:00Z";

pub fn now() -> jiff::Timestamp {
    NOW.parse().unwrap()
}

pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

pub fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
}

/// A job `minutes_ago` minutes old, in the given submission phase and server status.
pub fn job(
    id: u64,
    prompt: &str,
    submission: Submission,
    status: Option<JobStatus>,
    progress: f64,
) -> JobRecord {
    let created = now() - jiff::SignedDuration::from_secs(60 * id as i64 + 7);
    let mut request = KlingRequest::new(prompt);
    if id.is_multiple_of(3) {
        request.mode = Mode::Standard;
        request.duration = 10;
    }
    let mut job = JobRecord::new(id, created.to_string(), request);
    job.submission = submission.clone();
    if submission == Submission::Accepted {
        job.job_id = Some(format!("job_{id:04}deadbeefcafe{id:08}"));
        job.cost = Some(75.0);
    }
    // A success has named its video, and it is saved.
    if status == Some(JobStatus::Success) {
        job.downloads = vec![kling_tui::engine::DownloadRecord {
            asset_id: format!("asset_{id}"),
            file: Some(format!("job_{id:04}_1.mp4").into()),
            size: Some(4_000_000),
            ..Default::default()
        }];
    }
    job.status = status;
    job.progress = progress;
    // Where it is, as the engine would send it.
    job.place = kling_tui::engine::Place::judge(&job, true);
    job
}

/// One job in each state the queue can show.
pub fn jobs_in_every_state() -> Vec<JobRecord> {
    use JobStatus::*;
    let accepted = Submission::Accepted;
    let mut jobs = vec![
        job(1, "a red fox in snow", accepted.clone(), Some(Pending), 0.0),
        job(
            2,
            "a lighthouse in a storm, waves crashing",
            accepted.clone(),
            Some(Queued),
            0.0,
        ),
        job(
            3,
            "time-lapse of a city at night",
            accepted.clone(),
            Some(WarmingUp),
            0.0,
        ),
        job(
            4,
            "a cat jumps onto a piano",
            accepted.clone(),
            Some(InProgress),
            0.42,
        ),
        job(
            5,
            "slow dolly shot through a forest",
            accepted.clone(),
            Some(Finalizing),
            1.0,
        ),
        job(
            6,
            "drone over a glacier",
            accepted.clone(),
            Some(Success),
            1.0,
        ),
        job(
            7,
            "a robot paints a portrait",
            accepted.clone(),
            Some(Success),
            1.0,
        ),
        job(
            8,
            "an explosion of colour",
            accepted.clone(),
            Some(Failure),
            0.63,
        ),
        job(
            9,
            "kites over a beach",
            accepted.clone(),
            Some(Canceled),
            0.2,
        ),
        job(
            10,
            "狐狸在雪中奔跑 — wide and combining: é",
            accepted.clone(),
            Some(InProgress),
            0.9,
        ),
        job(11, "waiting for a free slot", Submission::Queued, None, 0.0),
        job(12, "sent, no answer yet", Submission::Sending, None, 0.0),
        job(
            13,
            "answer lost on the way",
            Submission::Unconfirmed {
                reason: "submission outcome unknown (request timed out)".into(),
            },
            None,
            0.0,
        ),
        job(
            14,
            "refused by the server",
            Submission::Rejected {
                reason: "HTTP 400 Bad Request: duration: too long".into(),
            },
            None,
            0.0,
        ),
    ];
    jobs[5].downloads = vec![DownloadRecord {
        asset_id: "asset_6".into(),
        file: Some(PathBuf::from("videos/job_0006deadbeefcafe00000006_1.mp4")),
        ..DownloadRecord::default()
    }];
    jobs[6].downloads = vec![DownloadRecord {
        asset_id: "asset_7".into(),
        ..DownloadRecord::default()
    }];
    jobs[7].error = Some("The generation failed: content moderation flagged the prompt".into());
    jobs[7].hint = Some("Rephrase the prompt and submit again; failed jobs are refunded.".into());
    jobs[7].history = ["pending", "queued", "warming-up", "in-progress", "failure"]
        .iter()
        .enumerate()
        .map(|(i, s)| kling_tui::api::types::StatusChange {
            date: format!("2026-11-24T12:0{i}:1{i}.000Z"),
            status: JobStatus::parse(s),
        })
        .collect();
    jobs[9].trouble = Some(kling_tui::engine::PollTrouble {
        since: "2026-11-24T12:08:00Z".into(),
        failures: 3,
        error: "HTTP 503 Service Unavailable: Service Unavailable (trace id trace_1)".into(),
        gave_up: false,
    });
    jobs
}

/// An app at 12:10 holding `jobs`, with job 7's file half downloaded.
pub fn app_with(jobs: Vec<JobRecord>) -> App {
    let mut app = App::new("demo".into(), now());
    app.started_at = "2026-11-24T11:00:00Z".parse().unwrap();
    let downloading = jobs.iter().any(|j| j.local_id == 7);
    for job in jobs {
        app.on_engine(Event::Job(Box::new(job)));
    }
    if downloading {
        app.on_engine(Event::DownloadProgress {
            local_id: 7,
            index: 0,
            bytes: 12 << 20,
            total: Some(24 << 20),
            rate: 8.0 * 1024.0 * 1024.0,
        });
    }
    app.message = None;
    app
}

/// Batch `shots` of six requests (two done, one failed, one running, two held by its cap)
/// beside two jobs of its own, and the engine's overview of the day and the batch.
pub fn batch_jobs() -> (Vec<JobRecord>, kling_tui::engine::Overview) {
    use JobStatus::*;
    use kling_tui::engine::{BatchSummary, BatchTag, Hold, Overview};
    let accepted = Submission::Accepted;
    let tag = |index: usize| BatchTag {
        name: "shots".into(),
        index,
        row: 1 + index / 3,
        max_cost: Some(400.0),
    };
    let mut jobs = vec![
        job(
            1,
            "a lighthouse at dusk, watercolour",
            accepted.clone(),
            Some(Success),
            1.0,
        ),
        job(
            2,
            "a lighthouse at dusk, noir",
            accepted.clone(),
            Some(Success),
            1.0,
        ),
        job(
            3,
            "a lighthouse at dusk, anime",
            accepted.clone(),
            Some(Failure),
            0.4,
        ),
        job(
            4,
            "the keeper climbs the stairs",
            accepted.clone(),
            Some(InProgress),
            0.5,
        ),
        job(
            5,
            "the keeper lights the lamp",
            Submission::Queued,
            None,
            0.0,
        ),
        job(
            6,
            "the lamp turns over the sea",
            Submission::Queued,
            None,
            0.0,
        ),
    ];
    for (index, job) in jobs.iter_mut().enumerate() {
        job.batch = Some(tag(index));
    }
    for job in &mut jobs[4..] {
        job.held = Some(Hold {
            reason: "spend cap (375 of 400 CU for the batch, this one 75)".into(),
            cap: Some(400.0),
            until: None,
        });
    }
    jobs.push(job(
        9,
        "a single job of its own",
        accepted.clone(),
        Some(InProgress),
        0.2,
    ));
    jobs.push(job(10, "an older single job", accepted, Some(Success), 1.0));
    let overview = Overview {
        today: 450.0,
        day_cap: Some(500.0),
        batches: vec![BatchSummary {
            name: "shots".into(),
            total: 6,
            succeeded: 2,
            failed: 1,
            canceled: 0,
            held: 2,
            spent: 225.0,
            max_cost: Some(400.0),
            created_at: "2026-11-24T12:00:00Z".into(),
        }],
    };
    (jobs, overview)
}
