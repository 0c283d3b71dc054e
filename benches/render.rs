//! Time to draw one full frame of the app at 160×48 with 1,000 jobs in the queue, on ratatui's
//! TestBackend (the drawing itself, without the terminal), and to rank 10,000 prompts of the
//! prompt history against a query at each key typed. `cargo bench --bench render`.

use std::hint::black_box;
use std::time::Instant;

use kling_tui::api::types::JobStatus;
use kling_tui::engine::{Event, JobRecord, Submission};
use kling_tui::kling::KlingRequest;
use kling_tui::tui::app::App;
use kling_tui::tui::render;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    let now: jiff::Timestamp = "2026-11-24T12:00:00Z".parse().expect("a timestamp");
    let mut app = App::new("demo".into(), now);
    let statuses = [
        JobStatus::Pending,
        JobStatus::InProgress,
        JobStatus::Finalizing,
        JobStatus::Success,
        JobStatus::Failure,
    ];
    for id in 1..=1_000u64 {
        let created = now - jiff::SignedDuration::from_secs(id as i64);
        let mut job = JobRecord::new(
            id,
            created.to_string(),
            KlingRequest::new(format!(
                "a red fox in snow, take {id}, slow dolly shot at dawn"
            )),
        );
        job.submission = Submission::Accepted;
        job.job_id = Some(format!("job_{id:024}"));
        job.status = Some(statuses[id as usize % statuses.len()].clone());
        job.progress = (id % 100) as f64 / 100.0;
        app.on_engine(Event::Job(Box::new(job)));
    }
    app.queue.selected = Some(kling_tui::tui::queue::RowKey::Job(500));
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("a test terminal");
    // Warm up, then time each frame; the spinner tick changes so no frame is a no-op.
    for _ in 0..50 {
        terminal.draw(|f| render::draw(f, &mut app)).expect("draws");
    }
    let mut samples = Vec::new();
    for i in 0..500 {
        app.tick = i;
        let start = Instant::now();
        terminal.draw(|f| render::draw(f, &mut app)).expect("draws");
        samples.push(start.elapsed());
        black_box(terminal.backend().buffer());
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    let p95 = samples[samples.len() * 95 / 100];
    println!(
        "render 160x48 with 1000 jobs: median {:.3} ms, p95 {:.3} ms over {} frames",
        median.as_secs_f64() * 1000.0,
        p95.as_secs_f64() * 1000.0,
        samples.len()
    );
    history_search();
}

/// The prompt history's search: 10,000 prompts ranked again at each key of a query typed
/// with its words out of order and a letter left out.
fn history_search() {
    let subjects = [
        "fox",
        "lighthouse",
        "paper boat",
        "tram",
        "glacier",
        "koi pond",
    ];
    let times = ["dawn", "dusk", "night", "noon"];
    let entries: Vec<kling_tui::engine::PromptEntry> = (0..10_000usize)
        .map(|i| kling_tui::engine::PromptEntry {
            local_id: (10_000 - i) as u64,
            request: KlingRequest::new(format!(
                "take {i}: a {} at {}, slow dolly shot, shallow focus, film grain",
                subjects[i % subjects.len()],
                times[i % times.len()]
            )),
            created_at: "2026-11-30T10:00:00Z".into(),
            state: "success".into(),
        })
        .collect();
    let query = "dsk lghthouse grain";
    let mut samples = Vec::new();
    for _ in 0..20 {
        let mut search = kling_tui::tui::history::PromptSearch::new(1);
        search.fill(entries.clone());
        for end in 1..=query.len() {
            let start = Instant::now();
            search.set_query(query[..end].to_string());
            samples.push(start.elapsed());
            black_box(search.matches.len());
        }
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    let worst = samples[samples.len() - 1];
    println!(
        "prompt history, 10000 prompts: median {:.3} ms, worst {:.3} ms per key over {} keys",
        median.as_secs_f64() * 1000.0,
        worst.as_secs_f64() * 1000.0,
        samples.len()
    );
}
