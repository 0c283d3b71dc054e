//! The app's behaviour, driven by key and engine events: what it sends to the engine and how
//! its state follows.

use crate::tui_fixtures;

use crate::tui_fixtures::*;
use crossterm::event::KeyCode;
use kling_tui::api::types::JobStatus;
use kling_tui::engine::{Command, Event, Place, Submission};
use kling_tui::tui::app::{App, Cost, Effect, Focus, Popup};
use kling_tui::tui::queue::RowKey;

fn focus_queue(app: &mut App) {
    while app.focus != Focus::Queue {
        app.on_key(key(KeyCode::Tab));
    }
}

#[test]
fn the_editor_has_focus_and_typing_q_types() {
    let mut app = app_with(vec![]);
    assert_eq!(app.focus, Focus::Editor);
    let effects = app.on_key(key(KeyCode::Char('q')));
    assert!(!effects.contains(&Effect::Quit));
    assert_eq!(app.prompt(), "q");
}

#[test]
fn submit_is_refused_with_every_problem_while_any_remain() {
    let mut app = app_with(vec![]);
    app.request.end_image = Some(kling_tui::kling::AssetId::new("asset_end"));
    let effects = app.on_key(ctrl('r'));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Engine(Command::Submit { .. }))),
        "{effects:?}"
    );
    match &app.popup {
        Some(Popup::Problems(problems)) => {
            // In the form's labels, not the API's names.
            assert!(
                problems.iter().any(|p| p.starts_with("Prompt:")),
                "{problems:?}"
            );
            assert!(
                problems
                    .iter()
                    .any(|p| p == "End image: needs a Start image"),
                "{problems:?}"
            );
        }
        _ => panic!("no list of problems shown"),
    }
}

#[test]
fn a_valid_request_is_submitted_with_ctrl_r_or_f5_from_anywhere() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "a red fox in snow");
    let effects = app.on_key(ctrl('r'));
    let sent: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Engine(Command::Submit { request: r, .. }) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].prompt, "a red fox in snow");
    focus_queue(&mut app);
    // A minute later, so the same request goes without a question.
    app.now += jiff::SignedDuration::from_secs(60);
    let effects = app.on_key(key(KeyCode::F(5)));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Engine(Command::Submit { .. })))
    );
}

#[test]
fn the_selection_stays_on_its_job_when_rows_move() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    // Newest first: #14 is at the top; go down to #11.
    for _ in 0..3 {
        app.on_key(key(KeyCode::Char('j')));
    }
    assert_eq!(app.queue.selected, Some(RowKey::Job(11)));
    for _ in 0..4 {
        app.on_key(key(KeyCode::Char('s')));
        assert_eq!(
            app.queue.selected,
            Some(RowKey::Job(11)),
            "sort {:?}",
            app.queue.sort
        );
    }
    // A new job arriving on top does not move the selection either.
    app.on_engine(Event::Job(Box::new(job(
        15,
        "new",
        Submission::Sending,
        None,
        0.0,
    ))));
    assert_eq!(app.queue.selected, Some(RowKey::Job(11)));
    assert_eq!(app.queue.visible()[0], 15);
}

#[test]
fn d_sends_a_download_for_the_selected_finished_job() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    app.queue.selected = Some(RowKey::Job(7));
    let effects = app.on_key(key(KeyCode::Char('d')));
    assert_eq!(effects, [Effect::Engine(Command::Download(7))]);
    // Not on a running job, nor on one already on disk.
    app.queue.selected = Some(RowKey::Job(4));
    assert!(app.on_key(key(KeyCode::Char('d'))).is_empty());
    app.queue.selected = Some(RowKey::Job(6));
    assert!(app.on_key(key(KeyCode::Char('d'))).is_empty());
    assert!(
        app.message
            .as_ref()
            .is_some_and(|(m, _)| m.starts_with("already on disk"))
    );
    // D: every finished job not yet on disk (#7 only; #6 is saved).
    let effects = app.on_key(key(KeyCode::Char('D')));
    assert_eq!(effects, [Effect::Engine(Command::Download(7))]);
}

#[test]
fn cancel_and_forget_ask_first() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    app.queue.selected = Some(RowKey::Job(4));
    assert!(app.on_key(key(KeyCode::Char('c'))).is_empty());
    assert!(matches!(app.popup, Some(Popup::Confirm(_))));
    assert!(app.on_key(key(KeyCode::Char('n'))).is_empty());
    assert!(app.popup.is_none());
    app.on_key(key(KeyCode::Char('c')));
    assert_eq!(
        app.on_key(key(KeyCode::Char('y'))),
        [Effect::Engine(Command::Cancel(4))]
    );
    app.on_key(key(KeyCode::Char('x')));
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        [Effect::Engine(Command::Forget(4))]
    );
    // The engine confirms; the row goes and the selection moves to a neighbour.
    app.on_engine(Event::Forgotten(4));
    assert!(!app.job_ids().contains(&4));
    assert!(app.queue.selected.is_some());
}

#[test]
fn r_sends_again_only_an_unconfirmed_submission_and_asks_first() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    let unconfirmed = app
        .queue
        .jobs
        .values()
        .find(|j| matches!(j.submission, Submission::Unconfirmed { .. }))
        .map(|j| j.local_id)
        .expect("the fixture has an unconfirmed submission");
    app.queue.selected = Some(RowKey::Job(4));
    assert!(app.on_key(key(KeyCode::Char('R'))).is_empty());
    assert!(app.popup.is_none(), "a running job is not sent again");
    app.queue.selected = Some(RowKey::Job(unconfirmed));
    assert!(app.on_key(key(KeyCode::Char('R'))).is_empty());
    match &app.popup {
        Some(Popup::Confirm(kling_tui::tui::popup::Confirm { question, .. })) => {
            assert!(question.contains("may charge twice"), "{question}")
        }
        _ => panic!("no confirmation asked"),
    }
    assert!(app.on_key(key(KeyCode::Char('n'))).is_empty());
    app.on_key(key(KeyCode::Char('R')));
    assert_eq!(
        app.on_key(key(KeyCode::Char('y'))),
        [Effect::Engine(Command::Resend(unconfirmed))]
    );
}

#[test]
fn y_copies_the_job_id_or_the_file() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    app.queue.selected = Some(RowKey::Job(4));
    assert_eq!(
        app.on_key(key(KeyCode::Char('y'))),
        [Effect::Clipboard("job_0004deadbeefcafe00000004".into())]
    );
    app.queue.selected = Some(RowKey::Job(6));
    assert_eq!(
        app.on_key(key(KeyCode::Char('y'))),
        [Effect::Clipboard(
            "videos/job_0006deadbeefcafe00000006_1.mp4".into()
        )]
    );
}

#[test]
fn e_copies_a_jobs_parameters_back_into_the_editor() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    app.queue.selected = Some(RowKey::Job(3));
    app.on_key(key(KeyCode::Char('e')));
    assert_eq!(app.focus, Focus::Editor);
    assert_eq!(app.prompt(), "time-lapse of a city at night");
    assert_eq!(app.request.duration, 10);
    assert_eq!(app.request.mode, kling_tui::kling::Mode::Standard);
}

#[test]
fn quitting_with_work_in_flight_asks_first() {
    let mut app = app_with(vec![]);
    focus_queue(&mut app);
    assert_eq!(app.on_key(key(KeyCode::Char('q'))), [Effect::Quit]);
    let mut busy = app_with(jobs_in_every_state()); // #12 is being sent, #7 downloading
    assert!(busy.on_key(ctrl('c')).is_empty());
    assert!(matches!(busy.popup, Some(Popup::Confirm(_))));
    assert_eq!(busy.on_key(ctrl('c')), [Effect::Quit]);
}

#[test]
fn pasted_text_loses_escape_sequences() {
    let mut app = app_with(vec![]);
    app.on_paste("a \u{1b}[31mred\u{1b}[0m fox\u{1b}]52;c;ZXZpbA==\u{7}\nin snow");
    assert_eq!(app.prompt(), "a red fox\nin snow");
}

#[test]
fn a_late_estimate_for_old_parameters_is_ignored() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "fox");
    let first = app.estimate_command().unwrap();
    let second = app.estimate_command().unwrap();
    let (Command::Estimate { seq: old, .. }, Command::Estimate { seq: new, .. }) = (first, second)
    else {
        panic!("not estimates");
    };
    app.on_engine(Event::Estimate {
        seq: old,
        cost: Ok(10.0),
    });
    assert_ne!(app.cost, Cost::Known(10.0));
    app.on_engine(Event::Estimate {
        seq: new,
        cost: Ok(75.0),
    });
    assert_eq!(app.cost, Cost::Known(75.0));
}

#[test]
fn the_sidebar_changes_values_and_flags_problems_inline() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "<<<image_1>>> walks");
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.focus, Focus::Sidebar);
    app.on_key(key(KeyCode::Right)); // mode pro → 4k
    assert_eq!(app.request.mode, kling_tui::kling::Mode::FourK);
    assert!(
        app.problems.iter().any(|p| p.field == "prompt"),
        "{:?}",
        app.problems
    );
}

#[test]
fn the_multi_shot_editor_adds_reorders_and_totals_shots() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "two shots");
    app.on_key(key(KeyCode::Tab));
    while kling_tui::tui::form::FIELDS[app.field] != kling_tui::tui::form::Field::MultiShot {
        app.on_key(key(KeyCode::Char('j')));
    }
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(app.popup, Some(Popup::Shots(_))));
    // The first shot exists with the whole duration; give it a prompt.
    app.on_key(key(KeyCode::Enter));
    type_text(&mut app, "A cat jumps");
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Left));
    app.on_key(key(KeyCode::Left)); // 5 → 3 s
    app.on_key(key(KeyCode::Char('a'))); // adds a 2 s shot, prompt open
    type_text(&mut app, "It lands");
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('K'))); // move it first
    let shots = app.request.multi_prompt.clone().unwrap();
    assert_eq!(shots.len(), 2);
    assert_eq!(
        (shots[0].prompt.as_str(), shots[0].duration),
        ("It lands", 2)
    );
    assert_eq!(
        (shots[1].prompt.as_str(), shots[1].duration),
        ("A cat jumps", 3)
    );
    assert!(app.current_request().validate().is_empty());
    app.on_key(key(KeyCode::Esc));
    assert!(app.popup.is_none());
}

#[test]
fn spent_counts_this_sessions_jobs_only() {
    let mut app = app_with(vec![]);
    app.started_at = now() - jiff::SignedDuration::from_secs(150);
    for j in tui_fixtures::jobs_in_every_state().into_iter().take(4) {
        app.on_engine(Event::Job(Box::new(j)));
    }
    // Jobs 1 and 2 were made 67 s and 127 s ago; 3 and 4 before the session.
    assert_eq!(app.spent(), 150.0);
    // A failed job is refunded.
    let mut failed = job(16, "x", Submission::Accepted, Some(JobStatus::Failure), 0.5);
    failed.created_at = now().to_string();
    app.on_engine(Event::Job(Box::new(failed)));
    assert_eq!(app.spent(), 150.0);
    let _ = JobStatus::Success;
}

#[test]
fn local_files_are_checked_inline_and_tab_completes_their_paths() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small_frame.png");
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&200u32.to_be_bytes());
    png.extend_from_slice(&200u32.to_be_bytes());
    png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    std::fs::write(&small, png).unwrap();
    let mut app = app_with(vec![]);
    type_text(&mut app, "a fox");
    app.on_key(key(KeyCode::Tab));
    while kling_tui::tui::form::FIELDS[app.field] != kling_tui::tui::form::Field::StartImage {
        app.on_key(key(KeyCode::Char('j')));
    }
    app.on_key(key(KeyCode::Enter));
    // Type the folder and the start of the name; Tab completes the rest.
    for c in format!("{}/sma", dir.path().display()).chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Enter));
    assert_eq!(
        app.request.start_image.as_ref().map(|a| a.to_string()),
        Some(small.display().to_string())
    );
    let problem = app
        .problems
        .iter()
        .find(|p| p.field == "startImage")
        .expect("flagged");
    assert!(
        problem
            .message
            .contains("each side must be at least 300 px"),
        "{problem:?}"
    );
    // Submitting is refused while the file breaks a rule.
    let effects = app.on_key(ctrl('r'));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Engine(Command::Submit { .. })))
    );
}

/// Finished jobs numbered `from` down to `to`, as the ledger pages them (oldest first).
fn finished(from: u64, to: u64) -> Vec<kling_tui::engine::JobRecord> {
    (to..=from)
        .map(|id| {
            job(
                id,
                "history",
                Submission::Accepted,
                Some(JobStatus::Success),
                1.0,
            )
        })
        .collect()
}

fn history_asked(
    effects: &[Effect],
) -> Vec<(u64, Option<String>, kling_tui::engine::HistoryOrder, usize)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Engine(Command::History {
                seq,
                search,
                order,
                offset,
                ..
            }) => Some((*seq, search.clone(), *order, *offset)),
            _ => None,
        })
        .collect()
}

#[test]
fn finished_history_is_read_a_page_at_a_time_as_the_list_scrolls() {
    use kling_tui::tui::app::HISTORY_PAGE;
    let page = HISTORY_PAGE as u64;
    let mut app = app_with(vec![]);
    let mut effects = Vec::new();
    app.ask_history(&mut effects);
    use kling_tui::engine::HistoryOrder::{Newest, Status};
    assert_eq!(history_asked(&effects), [(1, None, Newest, 0)]);
    // The newest page: 1000 finished jobs in all.
    app.on_engine(Event::History {
        seq: 1,
        jobs: finished(1000, 1000 - page + 1),
        total: 1000,
    });
    assert_eq!(app.queue.jobs.len(), HISTORY_PAGE);
    focus_queue(&mut app);
    // Near the top nothing more is asked.
    assert!(history_asked(&app.on_key(key(KeyCode::Down))).is_empty());
    // Near the end of what is loaded, the next page below the oldest one.
    let mut asked = Vec::new();
    for _ in 0..HISTORY_PAGE {
        asked.extend(history_asked(&app.on_key(key(KeyCode::Down))));
    }
    assert_eq!(asked, [(2, None, Newest, HISTORY_PAGE)], "asked once");
    // An old answer is dropped; the right one is merged.
    app.on_engine(Event::History {
        seq: 1,
        jobs: finished(5, 1),
        total: 1000,
    });
    assert!(!app.queue.jobs.contains_key(&1));
    app.on_engine(Event::History {
        seq: 2,
        jobs: finished(1000 - page, 1000 - 2 * page + 1),
        total: 1000,
    });
    assert_eq!(app.queue.jobs.len(), 2 * HISTORY_PAGE);
    // A search starts again from the newest, matching it.
    app.on_key(key(KeyCode::Char('/')));
    let effects = app.on_key(key(KeyCode::Char('f')));
    assert_eq!(history_asked(&effects), [(3, Some("f".into()), Newest, 0)]);
    // A short page is the end: nothing more is asked.
    app.on_engine(Event::History {
        seq: 3,
        jobs: finished(3, 1),
        total: 3,
    });
    app.on_key(key(KeyCode::Enter));
    for _ in 0..10 {
        assert!(history_asked(&app.on_key(key(KeyCode::Down))).is_empty());
    }
    // Another order is another query, from its start.
    let effects = app.on_key(key(KeyCode::Char('s')));
    let effects = [effects, app.on_key(key(KeyCode::Char('s')))].concat();
    assert_eq!(
        history_asked(&effects).last(),
        Some(&(5, Some("f".into()), Status, 0))
    );
}

fn batch_app() -> App {
    let (jobs, overview) = batch_jobs();
    let mut app = app_with(jobs);
    app.on_engine(Event::Overview { seq: 1, overview });
    while app.focus != Focus::Queue {
        app.on_key(key(KeyCode::Tab));
    }
    app
}

fn engine_commands(effects: Vec<Effect>) -> Vec<Command> {
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Engine(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn open_batch(app: &mut App, text: &str) -> (tempfile::TempDir, Vec<Command>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("opening.jsonl");
    std::fs::write(&file, text).unwrap();
    app.on_key(key(KeyCode::Char('b')));
    type_text(app, &file.display().to_string());
    let commands = engine_commands(app.on_key(key(KeyCode::Enter)));
    (dir, commands)
}

#[test]
fn a_batch_file_is_priced_then_sent_in_order_only_once_confirmed() {
    let mut app = batch_app();
    let (dir, asked) = open_batch(
        &mut app,
        "{\"prompt\": \"{dawn|dusk} over the bay\", \"duration\": [5, 10]}\n\
         {\"prompt\": \"dawn over the bay\", \"duration\": 5}\n",
    );
    // Five requests, four of them distinct: four dry runs, nothing paid.
    assert_eq!(asked.len(), 4, "{asked:?}");
    let mut quotes = Vec::new();
    for command in asked {
        let Command::Estimate { seq, request } = command else {
            panic!("only dry runs before the plan is confirmed: {command:?}");
        };
        quotes.push((seq, request.duration as f64 * 15.0));
    }
    // Confirming before the prices are in sends nothing.
    let (first, rest) = quotes.split_first().unwrap();
    app.on_engine(Event::Estimate {
        seq: first.0,
        cost: Ok(first.1),
    });
    assert!(engine_commands(app.on_key(key(KeyCode::Enter))).is_empty());
    assert!(matches!(app.popup, Some(Popup::BatchPlan(_))));
    for (seq, cost) in rest {
        app.on_engine(Event::Estimate {
            seq: *seq,
            cost: Ok(*cost),
        });
    }
    // The editor's own estimate is not taken for the plan's, nor the other way round.
    assert_eq!(app.cost, Cost::Unknown);
    let sent = engine_commands(app.on_key(key(KeyCode::Enter)));
    assert!(app.popup.is_none());
    let mut tokens = std::collections::HashSet::new();
    let summary: Vec<(usize, usize, u32, Option<f64>)> = sent
        .iter()
        .map(|c| match c {
            Command::Submit {
                token,
                request,
                batch,
                quote,
                download_dir,
                ..
            } => {
                assert!(tokens.insert(token.clone().unwrap()));
                assert_eq!(
                    download_dir.as_deref(),
                    Some(dir.path().join("opening").as_path())
                );
                let tag = batch.as_ref().unwrap();
                assert_eq!(tag.name, "opening");
                (tag.index, tag.row, request.duration, *quote)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        summary,
        [
            (0, 1, 5, Some(75.0)),
            (1, 1, 10, Some(150.0)),
            (2, 1, 5, Some(75.0)),
            (3, 1, 10, Some(150.0)),
            (4, 2, 5, Some(75.0)),
        ]
    );
}

#[test]
fn a_batch_plan_dropped_sends_nothing() {
    let mut app = batch_app();
    let (_dir, asked) = open_batch(&mut app, "{\"prompt\": \"one shot\"}\n");
    let Command::Estimate { seq, .. } = asked[0] else {
        panic!("{asked:?}");
    };
    app.on_engine(Event::Estimate {
        seq,
        cost: Ok(75.0),
    });
    assert!(engine_commands(app.on_key(key(KeyCode::Esc))).is_empty());
    assert!(app.popup.is_none());
}

#[test]
fn a_bad_batch_file_is_refused_by_line_and_field_and_nothing_is_asked() {
    let mut app = batch_app();
    let (_dir, asked) = open_batch(
        &mut app,
        "{\"prompt\": \"fine\"}\n{\"prompt\": \"too long\", \"duration\": 20}\n",
    );
    assert!(asked.is_empty(), "{asked:?}");
    let Some(Popup::Problems(problems)) = &app.popup else {
        panic!("no problems shown");
    };
    assert!(
        problems.iter().any(|p| p.starts_with("line 2: duration")),
        "{problems:?}"
    );
}

#[test]
fn r_on_a_batch_header_sends_its_failed_requests_again_once_confirmed() {
    let mut app = batch_app();
    for _ in 0..2 {
        app.on_key(key(KeyCode::Down));
    }
    assert_eq!(app.queue.selected, Some(RowKey::Batch("shots".into())));
    assert!(engine_commands(app.on_key(key(KeyCode::Char('R')))).is_empty());
    let Some(Popup::Confirm(kling_tui::tui::popup::Confirm { question, .. })) = &app.popup else {
        panic!("no question asked");
    };
    assert!(
        question.contains("the 1 failed request(s) of batch shots"),
        "{question}"
    );
    let sent = engine_commands(app.on_key(key(KeyCode::Char('y'))));
    assert_eq!(
        sent,
        [Command::RetryBatch {
            name: "shots".into()
        }]
    );
}

#[test]
fn enter_on_a_header_folds_and_the_filter_finds_a_batch_by_name() {
    let mut app = batch_app();
    assert_eq!(app.queue.rows().len(), 9);
    for _ in 0..2 {
        app.on_key(key(KeyCode::Down));
    }
    // Enter on a header folds it (on a job it copies the parameters).
    assert!(engine_commands(app.on_key(key(KeyCode::Enter))).is_empty());
    assert_eq!(app.queue.rows().len(), 3);
    assert_eq!(app.focus, Focus::Queue);
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.queue.rows().len(), 9);
    app.on_key(key(KeyCode::Char('/')));
    type_text(&mut app, "shots");
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.queue.rows().len(), 7, "the header and its six requests");
    assert_eq!(app.queue.rows()[0], RowKey::Batch("shots".into()));
}

fn prompt_entries(n: usize) -> Vec<kling_tui::engine::PromptEntry> {
    (0..n)
        .map(|i| {
            let mut request = kling_tui::kling::KlingRequest::new(format!(
                "take {i}: a {} at {}",
                ["fox", "lighthouse", "paper boat", "tram"][i % 4],
                ["dawn", "dusk", "night"][i % 3]
            ));
            if i % 2 == 0 {
                request.mode = kling_tui::kling::Mode::Standard;
                request.duration = 10;
            }
            kling_tui::engine::PromptEntry {
                local_id: (n - i) as u64,
                request,
                created_at: "2026-11-30T10:00:00Z".into(),
                state: "success".into(),
            }
        })
        .collect()
}

fn open_history(app: &mut App, entries: Vec<kling_tui::engine::PromptEntry>) {
    let asked = engine_commands(app.on_key(ctrl('p')));
    let [Command::Prompts { seq, .. }] = asked.as_slice() else {
        panic!("{asked:?}");
    };
    app.on_engine(Event::Prompts {
        seq: *seq,
        prompts: entries,
    });
}

#[test]
fn ctrl_p_finds_a_prompt_among_ten_thousand_and_enter_fills_the_editor_undoably() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "my unsent words");
    open_history(&mut app, prompt_entries(10_000));
    // Out of order, a letter left out, another case.
    type_text(&mut app, "DSK lghthouse 9997");
    let Some(Popup::History(search)) = &app.popup else {
        panic!("no search");
    };
    assert_eq!(
        search.selected_entry().unwrap().request.prompt,
        "take 9997: a lighthouse at dusk"
    );
    app.on_key(key(KeyCode::Enter));
    assert!(app.popup.is_none());
    assert_eq!(app.prompt(), "take 9997: a lighthouse at dusk");
    // Only the prompt: the parameters stay the editor's own.
    assert_eq!(app.request.mode, kling_tui::kling::Mode::Pro);
    // Ctrl+U is readline's kill now; undo brings back what was there.
    app.on_key(ctrl('z'));
    assert_eq!(app.prompt(), "my unsent words");
}

#[test]
fn alt_enter_fills_the_prompt_and_its_parameters() {
    let mut app = app_with(vec![]);
    open_history(&mut app, prompt_entries(10));
    type_text(&mut app, "take 4");
    app.on_key(crossterm::event::KeyEvent::new(
        KeyCode::Enter,
        crossterm::event::KeyModifiers::ALT,
    ));
    assert_eq!(app.prompt(), "take 4: a fox at dusk");
    assert_eq!(app.request.mode, kling_tui::kling::Mode::Standard);
    assert_eq!(app.request.duration, 10);
    // Esc leaves the editor as it was.
    open_history(&mut app, prompt_entries(10));
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.prompt(), "take 4: a fox at dusk");
}

#[test]
fn a_finished_batch_and_an_idle_queue_are_told_once_each() {
    use kling_tui::engine::BatchTag;
    let mut running = Vec::new();
    for id in 1..=2u64 {
        let mut j = job(
            id,
            "a take",
            Submission::Accepted,
            Some(JobStatus::InProgress),
            0.5,
        );
        j.batch = Some(BatchTag {
            name: "takes".into(),
            index: id as usize - 1,
            row: 1,
            max_cost: None,
        });
        running.push(j);
    }
    let mut app = app_with(running.clone());
    assert!(app.notifications.is_empty(), "a snapshot is not news");
    let mut done = running[0].clone();
    done.status = Some(JobStatus::Success);
    // Named, not saved yet: not done.
    done.downloads = vec![kling_tui::engine::DownloadRecord {
        asset_id: "asset_1".into(),
        ..Default::default()
    }];
    done.place = Place::judge(&done, true);
    app.on_engine(Event::Job(Box::new(done.clone())));
    assert!(app.notifications.is_empty(), "{:?}", app.notifications);
    // Done once its video is on disk.
    done.downloads[0].file = Some("/videos/take-1.mp4".into());
    done.place = Place::judge(&done, true);
    app.on_engine(Event::Job(Box::new(done)));
    assert!(app.notifications.is_empty(), "{:?}", app.notifications);
    let mut failed = running[1].clone();
    failed.status = Some(JobStatus::Failure);
    failed.error = Some("content policy".into());
    failed.place = Place::judge(&failed, true);
    app.on_engine(Event::Job(Box::new(failed.clone())));
    let bodies: Vec<&str> = app.notifications.iter().map(|(_, b)| b.as_str()).collect();
    assert_eq!(
        bodies,
        [
            "#2 failed: content policy",
            "batch takes finished: 1 of 2 succeeded",
            "all jobs finished (the last: #2 failure)"
        ]
    );
    // The same word again is not news.
    app.notifications.clear();
    app.on_engine(Event::Job(Box::new(failed)));
    assert!(app.notifications.is_empty());
}

#[test]
fn i_in_the_server_view_imports_the_selected_job_once() {
    let mut app = app_with(jobs_in_every_state());
    while app.focus != Focus::Queue {
        app.on_key(key(KeyCode::Tab));
    }
    let asked = engine_commands(app.on_key(key(KeyCode::Char('S'))));
    let [Command::Remote { seq, since: None }] = asked.as_slice() else {
        panic!("{asked:?}");
    };
    let listed = vec![
        kling_tui::engine::RemoteJob {
            job_id: "job_made_elsewhere".into(),
            ..Default::default()
        },
        kling_tui::engine::RemoteJob {
            job_id: "job_ours".into(),
            local_id: Some(6),
            ..Default::default()
        },
    ];
    app.on_engine(Event::Remote {
        seq: *seq,
        result: Ok(listed),
        incomplete: None,
    });
    let sent = engine_commands(app.on_key(key(KeyCode::Char('i'))));
    let [Command::Import { job_ids, .. }] = sent.as_slice() else {
        panic!("{sent:?}");
    };
    assert_eq!(job_ids, &["job_made_elsewhere".to_string()]);
    app.on_engine(Event::Imported {
        seq: 2,
        results: vec![("job_made_elsewhere".into(), Ok(15))],
    });
    // Marked as in the ledger now: i again sends nothing.
    assert!(engine_commands(app.on_key(key(KeyCode::Char('i')))).is_empty());
    // The one already in the ledger is not imported again.
    app.on_key(key(KeyCode::Down));
    assert!(engine_commands(app.on_key(key(KeyCode::Char('i')))).is_empty());
    // S goes back to the ledger's jobs.
    app.on_key(key(KeyCode::Char('S')));
    assert!(app.server.is_none());
}

#[test]
fn a_submission_a_cap_holds_is_told_as_held_not_submitted() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "a red fox in snow");
    app.on_key(ctrl('r'));
    // Sent to the engine: not yet "submitted", since the engine may hold it.
    assert_eq!(
        app.message.as_ref().map(|m| m.0.as_str()),
        Some("sent to the engine")
    );
    let mut held = job(7, "a red fox in snow", Submission::Queued, None, 0.0);
    held.held = Some(kling_tui::engine::Hold {
        reason: "spend cap (925 of 950 CU today, this one 75)".into(),
        cap: Some(950.0),
        until: None,
    });
    app.on_engine(Event::Job(Box::new(held)));
    app.on_engine(Event::Submitted {
        seq: 0,
        local_id: 7,
    });
    let (text, warning) = app.message.clone().unwrap();
    assert_eq!(
        text,
        "#7 held: spend cap (925 of 950 CU today, this one 75)"
    );
    assert!(warning);
    // One the engine sends is told as submitted.
    let sent = job(8, "another", Submission::Sending, None, 0.0);
    app.on_engine(Event::Job(Box::new(sent)));
    app.on_engine(Event::Submitted {
        seq: 0,
        local_id: 8,
    });
    assert_eq!(app.message.clone().unwrap().0, "#8 submitted");
}

// Editing: multi-shot on and off, reference lists, labels in messages, a repeated submission,
// readline keys, pasted lines and a restored draft's price.

use kling_tui::tui::form::{FIELDS, Field};

fn to_field(app: &mut App, field: Field) {
    while app.focus != Focus::Sidebar {
        app.on_key(key(KeyCode::Tab));
    }
    while FIELDS[app.field] != field {
        let step = if FIELDS.iter().position(|f| *f == field).unwrap() > app.field {
            'j'
        } else {
            'k'
        };
        app.on_key(key(KeyCode::Char(step)));
    }
}

fn submitted(effects: &[Effect]) -> Vec<kling_tui::kling::KlingRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Engine(Command::Submit { request, .. }) => Some(request.clone()),
            _ => None,
        })
        .collect()
}

fn alt(c: char) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(KeyCode::Char(c), crossterm::event::KeyModifiers::ALT)
}

#[test]
fn multi_shot_turns_off_and_on_and_keeps_its_shots_meanwhile() {
    use kling_tui::tui::form::value_text;
    let mut app = app_with(vec![]);
    type_text(&mut app, "a fox runs");
    to_field(&mut app, Field::MultiShot);
    assert_eq!(value_text(&app.request, Field::MultiShot), "off");
    // → turns it on: one shot of the whole duration.
    app.on_key(key(KeyCode::Right));
    assert_eq!(value_text(&app.request, Field::MultiShot), "1 shot, 5/5 s");
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Enter));
    type_text(&mut app, "it leaps");
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Esc));
    // ← turns it off: the prompt alone is sent, and the shot waits.
    app.on_key(key(KeyCode::Left));
    assert_eq!(app.request.multi_prompt, None);
    assert_eq!(value_text(&app.request, Field::MultiShot), "off");
    let sent = submitted(&app.on_key(ctrl('r')));
    assert_eq!(sent.len(), 1, "{:?}", app.popup.is_some());
    assert_eq!(sent[0].multi_prompt, None);
    // On again within the session: the same shot comes back.
    app.on_key(key(KeyCode::Right));
    let shots = app.request.multi_prompt.clone().expect("on");
    assert_eq!(shots.len(), 1);
    assert_eq!(shots[0].prompt, "it leaps");
    // Removing the last shot in the editor turns it off, and the request can be sent.
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('x')));
    assert!(app.popup.is_none(), "the editor closes with its last shot");
    assert_eq!(app.request.multi_prompt, None);
    assert!(app.problems.is_empty(), "{:?}", app.problems);
    // `o` in the editor turns it off too.
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(app.popup, Some(Popup::Shots(_))));
    app.on_key(key(KeyCode::Char('o')));
    assert!(app.popup.is_none());
    assert_eq!(app.request.multi_prompt, None);
}

#[test]
fn a_reference_field_edits_a_list_and_never_appends_to_old_text() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "<<<image_1>>> in a hat");
    to_field(&mut app, Field::ReferenceImages);
    let images = |app: &App| -> Vec<String> {
        app.request
            .reference_images
            .iter()
            .map(|a| a.to_string())
            .collect()
    };
    // Empty: the input opens at once.
    app.on_key(key(KeyCode::Enter));
    type_text(&mut app, "asset_fox");
    app.on_key(key(KeyCode::Enter));
    assert_eq!(images(&app), ["asset_fox"]);
    let Some(Popup::Input(list)) = &app.popup else {
        panic!("the list stays open for more");
    };
    assert!(!list.typing());
    app.on_key(key(KeyCode::Char('a')));
    type_text(&mut app, "asset_hat");
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Esc));
    assert!(app.popup.is_none());
    assert_eq!(images(&app), ["asset_fox", "asset_hat"]);
    // Reopened: the list, and what is typed is a new item, not the end of the old text.
    app.on_key(key(KeyCode::Enter));
    let Some(Popup::Input(list)) = &app.popup else {
        panic!("no list");
    };
    assert_eq!(list.items, ["asset_fox", "asset_hat"]);
    assert!(!list.typing());
    app.on_key(key(KeyCode::Char('a')));
    type_text(&mut app, "asset_sky");
    app.on_key(key(KeyCode::Enter));
    assert_eq!(images(&app), ["asset_fox", "asset_hat", "asset_sky"]);
    // The new one is selected: move it first, then remove the one after it.
    app.on_key(key(KeyCode::Char('K')));
    app.on_key(key(KeyCode::Char('K')));
    assert_eq!(images(&app), ["asset_sky", "asset_fox", "asset_hat"]);
    app.on_key(key(KeyCode::Char('j')));
    app.on_key(key(KeyCode::Char('x')));
    assert_eq!(images(&app), ["asset_sky", "asset_hat"]);
    // Enter replaces the selected one.
    app.on_key(key(KeyCode::Enter));
    for _ in 0.."asset_hat".len() {
        app.on_key(key(KeyCode::Backspace));
    }
    type_text(&mut app, "asset_cap");
    app.on_key(key(KeyCode::Enter));
    assert_eq!(images(&app), ["asset_sky", "asset_cap"]);
    app.on_key(key(KeyCode::Esc));

    // A field of one: a new value replaces the old, and the list closes once it is chosen.
    to_field(&mut app, Field::StartImage);
    app.on_key(key(KeyCode::Enter));
    type_text(&mut app, "asset_first");
    app.on_key(key(KeyCode::Enter));
    assert!(app.popup.is_none());
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('a')));
    type_text(&mut app, "asset_second");
    app.on_key(key(KeyCode::Enter));
    assert!(app.popup.is_none());
    assert_eq!(
        app.request.start_image.as_ref().map(|a| a.to_string()),
        Some("asset_second".to_string())
    );
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('x')));
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.request.start_image, None);
}

#[test]
fn tab_offers_only_the_fields_kind_of_file_and_cycles_through_them() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "fox_day.png",
        "fox_dusk.jpg",
        "fox_run.mp4",
        "fox_notes.txt",
    ] {
        std::fs::write(dir.path().join(name), b"").unwrap();
    }
    let typed = format!("{}/fox", dir.path().display());
    let input_of = |app: &App| match &app.popup {
        Some(Popup::Input(list)) => (list.input.text(), list.input.candidates().to_vec()),
        _ => panic!("no input"),
    };
    let mut app = app_with(vec![]);
    to_field(&mut app, Field::StartImage);
    app.on_key(key(KeyCode::Enter));
    type_text(&mut app, &typed);
    app.on_key(key(KeyCode::Tab));
    let (text, choices) = input_of(&app);
    assert_eq!(choices, ["fox_day.png", "fox_dusk.jpg"], "images only");
    assert_eq!(text, format!("{typed}_d"));
    // Tab again steps through the choices, Shift+Tab back.
    app.on_key(key(KeyCode::Tab));
    assert_eq!(input_of(&app).0, format!("{typed}_day.png"));
    app.on_key(key(KeyCode::Tab));
    assert_eq!(input_of(&app).0, format!("{typed}_dusk.jpg"));
    app.on_key(key(KeyCode::Tab));
    assert_eq!(input_of(&app).0, format!("{typed}_day.png"));
    app.on_key(key(KeyCode::BackTab));
    assert_eq!(input_of(&app).0, format!("{typed}_dusk.jpg"));
    app.on_key(key(KeyCode::Esc));

    // The video field is offered the video alone, so one Tab completes it.
    to_field(&mut app, Field::ReferenceVideo);
    app.on_key(key(KeyCode::Enter));
    type_text(&mut app, &typed);
    app.on_key(key(KeyCode::Tab));
    assert_eq!(input_of(&app), (format!("{typed}_run.mp4"), Vec::new()));
}

#[test]
fn problems_are_told_in_the_forms_labels() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "a fox");
    app.request.video_reference_type = Some(kling_tui::kling::VideoReferenceType::Feature);
    app.revalidate();
    let inline: Vec<&str> = app.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(inline, ["needs a Ref video"]);
    app.on_key(ctrl('r'));
    let Some(Popup::Problems(problems)) = &app.popup else {
        panic!("not refused");
    };
    assert_eq!(problems.0, ["Video ref type: needs a Ref video"]);
}

#[test]
fn the_same_request_again_within_a_minute_asks_first() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "a red fox in snow");
    let effects = app.on_key(ctrl('r'));
    assert_eq!(submitted(&effects).len(), 1);
    let Some(Effect::Engine(Command::Submit { seq, .. })) = effects
        .iter()
        .find(|e| matches!(e, Effect::Engine(Command::Submit { .. })))
    else {
        unreachable!()
    };
    app.on_engine(Event::Submitted {
        seq: *seq,
        local_id: 21,
    });
    app.now += jiff::SignedDuration::from_secs(20);
    // Again: a question, nothing sent; no leaves it at one job.
    assert!(submitted(&app.on_key(ctrl('r'))).is_empty());
    match &app.popup {
        Some(Popup::Confirm(confirm)) => assert!(
            confirm
                .question
                .starts_with("Submit the same request again? It was sent 20 s ago (#21)"),
            "{}",
            confirm.question
        ),
        _ => panic!("no question"),
    }
    assert!(submitted(&app.on_key(key(KeyCode::Char('n')))).is_empty());
    assert!(app.popup.is_none());
    // Yes sends it.
    app.on_key(key(KeyCode::F(5)));
    assert_eq!(submitted(&app.on_key(key(KeyCode::Char('y')))).len(), 1);
    // Changed, or a minute later, it goes at once.
    type_text(&mut app, "!");
    assert_eq!(submitted(&app.on_key(ctrl('r'))).len(), 1);
    app.now += jiff::SignedDuration::from_secs(60);
    assert_eq!(submitted(&app.on_key(ctrl('r'))).len(), 1);
}

#[test]
fn the_editor_has_readline_keys_and_undo_on_ctrl_z() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "one two three");
    app.on_key(ctrl('w'));
    assert_eq!(app.prompt(), "one two ");
    app.on_key(ctrl('y'));
    assert_eq!(app.prompt(), "one two three");
    app.on_key(ctrl('u'));
    assert_eq!(app.prompt(), "");
    app.on_key(ctrl('y'));
    assert_eq!(app.prompt(), "one two three");
    app.on_key(key(KeyCode::Home));
    app.on_key(key(KeyCode::Right));
    app.on_key(key(KeyCode::Right));
    app.on_key(key(KeyCode::Right));
    app.on_key(ctrl('k'));
    assert_eq!(app.prompt(), "one");
    app.on_key(ctrl('z'));
    assert_eq!(app.prompt(), "one two three");
    app.on_key(alt('z'));
    assert_eq!(app.prompt(), "one");
    app.on_key(ctrl('z'));
    // Ctrl+L clears every line, and undo brings them back.
    app.on_key(key(KeyCode::End));
    app.on_key(key(KeyCode::Enter));
    type_text(&mut app, "four");
    app.on_key(ctrl('l'));
    assert_eq!(app.prompt(), "");
    app.on_key(ctrl('z'));
    assert_eq!(app.prompt(), "one two three\nfour");
}

#[test]
fn pasted_line_breaks_stay_and_escape_sequences_go() {
    let mut app = app_with(vec![]);
    // Terminals send a pasted newline as CR.
    app.on_paste("one\rtwo\r\nthree\n\u{1b}[31mfour\u{1b}[0m");
    assert_eq!(app.prompt(), "one\ntwo\nthree\nfour");
}

#[test]
fn a_restored_draft_that_may_be_sent_is_priced_at_once() {
    let mut app = app_with(vec![]);
    let effects = app.restore_draft(kling_tui::kling::KlingRequest::new("a fox at dawn"));
    assert_eq!(effects, [Effect::EstimateLater]);
    assert_eq!(app.cost, Cost::Pending);
    assert!(matches!(
        app.estimate_command(),
        Some(Command::Estimate { .. })
    ));
    // One that may not (no prompt) is not asked about.
    let mut app = app_with(vec![]);
    assert!(
        app.restore_draft(kling_tui::kling::KlingRequest::new(""))
            .is_empty()
    );
    assert_eq!(app.cost, Cost::Unknown);
}

/// The status bar's last line, drawn at `width` columns.
fn status_bar(app: &mut App, width: u16) -> String {
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, 30)).unwrap();
    terminal
        .draw(|frame| kling_tui::tui::render::draw(frame, app))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..width).map(|x| buffer[(x, 29)].symbol()).collect()
}

#[test]
fn each_panes_hints_start_with_what_is_used_most() {
    let mut app = tui_fixtures::app_with(Vec::new());
    assert_eq!(app.focus, Focus::Editor);
    let editor = status_bar(&mut app, 100);
    let hints = editor.split_once('│').map(|(_, h)| h.trim_start());
    assert!(
        hints.is_some_and(|h| h.starts_with("Ctrl+R/F5 submit")),
        "{editor}"
    );
    // The other panes: their own keys first, the most used of them first.
    for first in ["←/h less", "d download"] {
        app.on_key(key(KeyCode::Tab));
        let bar = status_bar(&mut app, 80);
        let hints = bar.split_once('│').map(|(_, h)| h.trim_start());
        assert!(hints.is_some_and(|h| h.starts_with(first)), "{bar}");
    }
}
