//! Pictures of the app, drawn on ratatui's TestBackend and compared as text snapshots: the main
//! screen at 80×24 and 160×48 with jobs in every state, help, the multi-shot editor, a refused
//! submission, the too-small notice. Times are fixed by the fixtures, ids are made up.

use crate::tui_fixtures::*;
use crossterm::event::KeyCode;
use kling_tui::tui::app::{App, Focus};
use kling_tui::tui::queue::RowKey;
use kling_tui::tui::render;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub(crate) fn screen(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render::draw(frame, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut text = String::new();
    for y in 0..height {
        let mut line = String::new();
        let mut x = 0;
        while x < width {
            // A wide character fills two cells; its second cell is not a character of its own.
            let symbol = buffer[(x, y)].symbol();
            line.push_str(symbol);
            x += unicode_width::UnicodeWidthStr::width(symbol).max(1) as u16;
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

pub(crate) fn busy_app() -> App {
    let mut app = app_with(jobs_in_every_state());
    type_text(
        &mut app,
        "a red fox running through deep snow at dawn, <<<image_1>>> as the fox",
    );
    app.request.reference_images = vec![kling_tui::kling::AssetId::new("asset_fox")];
    app.revalidate();
    app.on_engine(kling_tui::engine::Event::Estimate {
        seq: app.estimate_seq,
        cost: Ok(75.0),
    });
    app.cost = kling_tui::tui::app::Cost::Known(75.0);
    while app.focus != Focus::Queue {
        app.on_key(key(KeyCode::Tab));
    }
    app.queue.selected = Some(RowKey::Job(8));
    app.dirty = false;
    app
}

#[test]
fn main_screen_80x24() {
    insta::assert_snapshot!(screen(&mut busy_app(), 80, 24));
}

#[test]
fn main_screen_160x48() {
    insta::assert_snapshot!(screen(&mut busy_app(), 160, 48));
}

#[test]
fn help_popup() {
    let mut app = busy_app();
    app.on_key(key(KeyCode::Char('?')));
    insta::assert_snapshot!(screen(&mut app, 160, 48));
}

#[test]
fn multi_shot_editor() {
    insta::assert_snapshot!(screen(&mut multi_shot_app(), 120, 36));
}

/// The multi-shot editor with three shots, the third being typed.
pub(crate) fn multi_shot_app() -> App {
    let mut app = app_with(vec![]);
    type_text(&mut app, "a cat, then its landing");
    app.on_key(key(KeyCode::Tab));
    while kling_tui::tui::form::FIELDS[app.field] != kling_tui::tui::form::Field::MultiShot {
        app.on_key(key(KeyCode::Char('j')));
    }
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Enter));
    type_text(&mut app, "A cat jumps");
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Left));
    app.on_key(key(KeyCode::Char('a')));
    type_text(&mut app, "It lands");
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('a')));
    type_text(&mut app, "and bows");
    app
}

#[test]
fn refused_submission_and_inline_problems() {
    insta::assert_snapshot!(screen(&mut refused_app(), 100, 30));
}

/// A submission refused for its problems, which are listed.
pub(crate) fn refused_app() -> App {
    let mut app = app_with(vec![]);
    type_text(&mut app, "<<<image_2>>> meets <<<video_1>>>");
    app.request.end_image = Some(kling_tui::kling::AssetId::new("asset_end"));
    app.request.generate_audio = Some(true);
    app.revalidate();
    app.on_key(ctrl('r'));
    app
}

#[test]
fn narrow_terminal_stacks_panes() {
    insta::assert_snapshot!(screen(&mut busy_app(), 60, 20));
}

#[test]
fn too_small() {
    insta::assert_snapshot!(screen(&mut busy_app(), 40, 10));
}

#[test]
fn no_color_draws_no_colors() {
    let mut app = busy_app();
    app.no_color = true;
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    terminal
        .draw(|frame| render::draw(frame, &mut app))
        .unwrap();
    let buffer = terminal.backend().buffer();
    let colored = buffer
        .content()
        .iter()
        .filter(|c| c.fg != ratatui::style::Color::Reset || c.bg != ratatui::style::Color::Reset)
        .count();
    assert_eq!(colored, 0);
}

#[test]
fn references_and_a_dangling_image_reference() {
    let mut app = app_with(vec![]);
    type_text(
        &mut app,
        "<<<image_1>>> and <<<image_2>>> meet <<<image_3>>>, then <<<image_4>>>",
    );
    app.request.start_image = Some(kling_tui::kling::AssetId::new("asset_start"));
    app.request.reference_images = ["asset_fox", "asset_hat", "asset_snow"]
        .into_iter()
        .map(kling_tui::kling::AssetId::new)
        .collect();
    app.request.aspect_ratio = None;
    app.revalidate();
    insta::assert_snapshot!(screen(&mut app, 120, 30));
}

#[test]
fn failing_polls_in_the_details_and_refused_credentials_in_the_status_bar() {
    let mut app = busy_app();
    let failing = app
        .queue
        .visible()
        .into_iter()
        .find(|id| app.queue.jobs[id].trouble.is_some())
        .expect("a job with failing polls");
    app.queue.selected = Some(RowKey::Job(failing));
    app.on_engine(kling_tui::engine::Event::Halted {
        reason: "the API refused the credentials (HTTP 401 Unauthorized: Invalid API key); \
                 every request has stopped"
            .into(),
    });
    insta::assert_snapshot!(screen(&mut app, 160, 30));
}

pub(crate) fn batch_app() -> App {
    let (jobs, overview) = batch_jobs();
    let mut app = app_with(jobs);
    app.on_engine(kling_tui::engine::Event::Overview { seq: 1, overview });
    while app.focus != Focus::Queue {
        app.on_key(key(KeyCode::Tab));
    }
    app.dirty = false;
    app
}

#[test]
fn a_batch_under_its_header_with_held_rows_and_the_days_spend() {
    let mut app = batch_app();
    // Rows: two jobs of their own, the header, then the batch's six requests in order; the
    // fifth request is held.
    for _ in 0..7 {
        app.on_key(key(KeyCode::Down));
    }
    insta::assert_snapshot!(screen(&mut app, 120, 30));
}

#[test]
fn a_folded_batch_is_its_header_alone() {
    let mut app = batch_app();
    for _ in 0..3 {
        app.on_key(key(KeyCode::Down));
    }
    // z on a request of the batch folds it and selects its header.
    app.on_key(key(KeyCode::Char('z')));
    assert_eq!(app.queue.selected, Some(RowKey::Batch("shots".into())));
    insta::assert_snapshot!(screen(&mut app, 120, 30));
}

#[test]
fn a_batch_plan_before_it_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    insta::assert_snapshot!(screen(&mut batch_plan_app(dir.path()), 120, 30));
}

/// A batch file's plan, priced, before it is sent.
pub(crate) fn batch_plan_app(dir: &std::path::Path) -> App {
    let file = dir.join("shots.jsonl");
    std::fs::write(
        &file,
        "{\"prompt\": \"A lighthouse at dusk, {watercolour|noir|anime} style\", \"duration\": [5, 10]}\n\
         {\"prompt\": \"The keeper climbs the stairs\", \"mode\": \"pro\"}\n",
    )
    .unwrap();
    let mut app = batch_app();
    app.on_key(key(KeyCode::Char('b')));
    type_text(&mut app, &file.display().to_string());
    let effects = app.on_key(key(KeyCode::Enter));
    let mut quotes = 0;
    for effect in effects {
        if let kling_tui::tui::app::Effect::Engine(kling_tui::engine::Command::Estimate {
            seq,
            request,
        }) = effect
        {
            quotes += 1;
            let cost = if request.duration == 10 { 150.0 } else { 75.0 };
            app.on_engine(kling_tui::engine::Event::Estimate {
                seq,
                cost: Ok(cost),
            });
        }
    }
    assert_eq!(quotes, 7, "one dry run per distinct request");
    if let Some(kling_tui::tui::app::Popup::BatchPlan(plan)) = &mut app.popup {
        // Where the videos go depends on the temporary folder: a fixed one for the picture.
        plan.out = std::path::PathBuf::from("/home/me/shots");
    } else {
        panic!("no plan shown");
    }
    app
}

#[test]
fn the_prompt_history_searched() {
    insta::assert_snapshot!(screen(&mut history_app(), 120, 30));
}

/// The prompt history, searched for "snow fx".
pub(crate) fn history_app() -> App {
    let mut app = busy_app();
    let effects = app.on_key(ctrl('p'));
    let seq = effects
        .iter()
        .find_map(|e| match e {
            kling_tui::tui::app::Effect::Engine(kling_tui::engine::Command::Prompts {
                seq,
                ..
            }) => Some(*seq),
            _ => None,
        })
        .expect("the prompts asked of the engine");
    let prompts = jobs_in_every_state()
        .into_iter()
        .rev()
        .map(|j| kling_tui::engine::PromptEntry {
            local_id: j.local_id,
            created_at: j.created_at.clone(),
            state: j.state_word(),
            request: j.request,
        })
        .collect();
    app.on_engine(kling_tui::engine::Event::Prompts { seq, prompts });
    type_text(&mut app, "snow fx");
    app
}

#[test]
fn three_marked_jobs_side_by_side() {
    insta::assert_snapshot!(screen(&mut compare_app(), 120, 30));
}

/// Three takes of one shot, marked and compared.
pub(crate) fn compare_app() -> App {
    let mut jobs = jobs_in_every_state();
    // Three takes of one shot: the same but for the mode, the length and one word.
    for (job, (mode, duration, word)) in jobs.iter_mut().skip(5).take(3).zip([
        (kling_tui::kling::Mode::Pro, 5, "dawn"),
        (kling_tui::kling::Mode::Standard, 5, "dawn"),
        (kling_tui::kling::Mode::Pro, 10, "dusk"),
    ]) {
        job.request.prompt = format!("drone over a glacier at {word}, slow push in");
        job.request.mode = mode;
        job.request.duration = duration;
        job.status = Some(kling_tui::api::types::JobStatus::Success);
        if job.downloads.is_empty() {
            job.downloads = vec![kling_tui::engine::DownloadRecord {
                asset_id: format!("asset_{}", job.local_id),
                ..Default::default()
            }];
        }
        job.history = vec![kling_tui::api::types::StatusChange {
            date: "2026-11-24T12:09:00Z".into(),
            status: kling_tui::api::types::JobStatus::Success,
        }];
    }
    let mut app = app_with(jobs);
    while app.focus != Focus::Queue {
        app.on_key(key(KeyCode::Tab));
    }
    for id in [6, 7, 8] {
        app.queue.selected = Some(RowKey::Job(id));
        app.on_key(key(KeyCode::Char(' ')));
    }
    app.on_key(key(KeyCode::Char('=')));
    app
}

/// A 320×180 picture: a gradient from blue to orange, left to right, with a dark band at the
/// bottom, as a video's first frame might be.
fn picture_file(dir: &std::path::Path) -> std::path::PathBuf {
    let image = image::RgbImage::from_fn(320, 180, |x, y| {
        if y > 140 {
            image::Rgb([20, 20, 30])
        } else {
            let t = x as f32 / 319.0;
            image::Rgb([
                (40.0 + 200.0 * t) as u8,
                (90.0 + 60.0 * t) as u8,
                (220.0 - 190.0 * t) as u8,
            ])
        }
    });
    let path = dir.join("asset_pic.png");
    image.save(&path).unwrap();
    path
}

/// The app with job #6 (finished) selected and its picture given by the engine.
pub(crate) fn app_with_picture(dir: &std::path::Path) -> App {
    let mut app = busy_app();
    app.queue.selected = Some(RowKey::Job(6));
    let asked = app.picture_wanted();
    assert!(
        matches!(
            asked,
            Some(kling_tui::engine::Command::Thumbnail { local_id: 6, .. })
        ),
        "{asked:?}"
    );
    // Asked once: not again while it loads.
    assert!(app.picture_wanted().is_none());
    app.on_engine(kling_tui::engine::Event::Thumbnail {
        seq: 1,
        local_id: 6,
        result: Ok(picture_file(dir)),
    });
    app
}

/// The colours of the half-blocks drawn, to tell a picture from blank cells.
pub(crate) fn picture_colours(
    app: &mut App,
    width: u16,
    height: u16,
) -> std::collections::HashSet<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render::draw(frame, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    buffer
        .content()
        .iter()
        .filter(|c| c.symbol() == "▀")
        .map(|c| format!("{:?}/{:?}", c.fg, c.bg))
        .collect()
}

#[test]
fn the_details_pane_with_a_half_block_picture() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app_with_picture(dir.path());
    // A gradient: many colours, not one.
    assert!(picture_colours(&mut app, 160, 48).len() > 20);
    insta::assert_snapshot!(screen(&mut app, 160, 48));
}

#[test]
fn the_large_picture() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app_with_picture(dir.path());
    app.on_key(key(KeyCode::Char('p')));
    assert!(matches!(
        app.popup,
        Some(kling_tui::tui::app::Popup::Picture(6))
    ));
    assert!(picture_colours(&mut app, 120, 40).len() > 20);
    insta::assert_snapshot!(screen(&mut app, 120, 40));
    app.on_key(key(KeyCode::Char('x')));
    assert!(app.popup.is_none(), "any key closes it");
}

pub(crate) fn remote_jobs() -> Vec<kling_tui::engine::RemoteJob> {
    use kling_tui::api::types::JobStatus;
    let made = |minutes: i64| (now() - jiff::SignedDuration::from_secs(60 * minutes)).to_string();
    vec![
        kling_tui::engine::RemoteJob {
            job_id: "job_7f3a9c0e5d2b4a18c6e1f093".into(),
            status: JobStatus::InProgress,
            progress: 0.4,
            created_at: made(3),
            prompt: "a teammate's shot: rain on a neon street, slow pan".into(),
            mode: Some("pro".into()),
            duration: Some(10),
            cost: Some(150.0),
            local_id: None,
            model_unknown: false,
        },
        kling_tui::engine::RemoteJob {
            job_id: "job_0006deadbeefcafe00000006".into(),
            status: JobStatus::Success,
            progress: 1.0,
            created_at: made(60 * 5),
            prompt: "drone over a glacier".into(),
            mode: Some("standard".into()),
            duration: Some(10),
            cost: Some(75.0),
            local_id: Some(6),
            model_unknown: false,
        },
        kling_tui::engine::RemoteJob {
            job_id: "job_52c1d0a9e87f6b3412ad9e77".into(),
            status: JobStatus::Failure,
            progress: 0.7,
            created_at: made(60 * 26),
            prompt: "made in the web app: a paper crane unfolding".into(),
            mode: Some("pro".into()),
            duration: Some(5),
            cost: None,
            local_id: None,
            model_unknown: false,
        },
    ]
}

#[test]
fn the_server_view() {
    insta::assert_snapshot!(screen(&mut server_app(), 160, 30));
}

/// The Server view, listed.
pub(crate) fn server_app() -> App {
    let mut app = busy_app();
    let effects = app.on_key(key(KeyCode::Char('S')));
    let seq = effects
        .iter()
        .find_map(|e| match e {
            kling_tui::tui::app::Effect::Engine(kling_tui::engine::Command::Remote {
                seq, ..
            }) => Some(*seq),
            _ => None,
        })
        .expect("the listing asked of the engine");
    app.on_engine(kling_tui::engine::Event::Remote {
        seq,
        result: Ok(remote_jobs()),
        incomplete: None,
    });
    app
}

#[test]
fn a_reference_fields_list_with_a_path_being_added() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "<<<image_1>>> and <<<image_2>>> in the snow");
    app.on_key(key(KeyCode::Tab));
    while kling_tui::tui::form::FIELDS[app.field] != kling_tui::tui::form::Field::ReferenceImages {
        app.on_key(key(KeyCode::Char('j')));
    }
    app.on_key(key(KeyCode::Enter));
    type_text(&mut app, "asset_fox");
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('a')));
    type_text(&mut app, "asset_hat");
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('a')));
    type_text(&mut app, "refs/sky");
    insta::assert_snapshot!(screen(&mut app, 120, 36));
}

#[test]
fn a_reference_fields_list_and_its_keys() {
    let mut app = app_with(vec![]);
    app.request.reference_images = ["asset_fox", "refs/hat.png"]
        .map(kling_tui::kling::AssetId::new)
        .to_vec();
    app.on_key(key(KeyCode::Tab));
    while kling_tui::tui::form::FIELDS[app.field] != kling_tui::tui::form::Field::ReferenceImages {
        app.on_key(key(KeyCode::Char('j')));
    }
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('j')));
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}
