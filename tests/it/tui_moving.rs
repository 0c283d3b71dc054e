//! Moving through long lists, finding jobs and opening their videos: first the app's state fed
//! keys and events, then the real binary in a pseudo-terminal, over a ledger of 500 finished
//! jobs or against `--demo`.

use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use kling_tui::api::types::JobStatus;
use kling_tui::engine::{Command, Event, JobRecord, Submission};
use kling_tui::tui::app::{App, Effect, Focus, HISTORY_PAGE, HISTORY_TO_END, Opener, Popup};
use kling_tui::tui::queue::RowKey;

use crate::common;
use crate::common::pty::{Key, Pty, PtyCommand};
use crate::tui_fixtures::*;

fn focus_queue(app: &mut App) {
    while app.focus != Focus::Queue {
        app.on_key(key(KeyCode::Tab));
    }
}

/// Finished jobs numbered `from` down to `to`, as the ledger pages them.
fn failed(from: u64, to: u64) -> Vec<JobRecord> {
    (to..=from)
        .rev()
        .map(|id| {
            job(
                id,
                "old",
                Submission::Accepted,
                Some(JobStatus::Failure),
                0.3,
            )
        })
        .collect()
}

fn history_asked(effects: &[Effect]) -> Vec<(u64, usize, usize)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Engine(Command::History {
                seq, offset, limit, ..
            }) => Some((*seq, *offset, *limit)),
            _ => None,
        })
        .collect()
}

#[test]
fn capital_g_reads_the_ledger_to_its_end_and_the_page_keys_move_by_the_drawn_height() {
    let mut app = app_with(vec![]);
    let mut effects = Vec::new();
    app.ask_history(&mut effects);
    app.on_engine(Event::History {
        seq: 1,
        jobs: failed(500, 500 - HISTORY_PAGE as u64 + 1),
        total: 500,
    });
    focus_queue(&mut app);
    assert_eq!(app.queue.selected_id(), Some(500));
    // G: the last row loaded at once, and the rest of the ledger asked for.
    let effects = app.on_key(key(KeyCode::Char('G')));
    assert_eq!(app.queue.selected_id(), Some(301));
    assert_eq!(history_asked(&effects), [(2, HISTORY_PAGE, HISTORY_TO_END)]);
    app.on_engine(Event::History {
        seq: 2,
        jobs: failed(300, 1),
        total: 500,
    });
    // The true end, and nothing more to ask.
    assert_eq!(app.queue.selected_id(), Some(1));
    assert!(!app.history.to_end);
    let mut effects = Vec::new();
    app.follow_history(&mut effects);
    assert!(effects.is_empty());
    // g and Home: the top; End: the bottom again.
    app.on_key(key(KeyCode::Char('g')));
    assert_eq!(app.queue.selected_id(), Some(500));
    app.on_key(key(KeyCode::End));
    assert_eq!(app.queue.selected_id(), Some(1));
    app.on_key(key(KeyCode::Home));
    assert_eq!(app.queue.selected_id(), Some(500));
    // A page is the list's height as last drawn, less the row kept in view.
    app.list_rows = 20;
    app.on_key(key(KeyCode::PageDown));
    assert_eq!(app.queue.selected_id(), Some(481));
    app.on_key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL));
    assert_eq!(app.queue.selected_id(), Some(471));
    app.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    assert_eq!(app.queue.selected_id(), Some(481));
    app.on_key(key(KeyCode::PageUp));
    assert_eq!(app.queue.selected_id(), Some(500));
}

#[test]
fn the_filter_takes_states_modes_and_batches_replaces_on_slash_and_clears_on_esc() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    let filter = |app: &mut App, text: &str| {
        app.on_key(key(KeyCode::Char('/')));
        type_text(app, text);
        app.on_key(key(KeyCode::Enter));
    };
    filter(&mut app, "status:failed");
    assert_eq!(app.queue.visible(), [8]);
    // `/` starts afresh: the old words go.
    filter(&mut app, "status:fail,cancel");
    assert_eq!(app.queue.visible(), [9, 8]);
    filter(&mut app, "status:running mode:standard");
    assert_eq!(app.queue.visible(), [12, 3]);
    filter(&mut app, "status:done kites");
    assert_eq!(app.queue.visible(), [9]);
    // A word that names no state is said, and matches nothing.
    filter(&mut app, "status:nope");
    assert!(app.queue.visible().is_empty());
    assert!(
        app.message
            .as_ref()
            .is_some_and(|(m, error)| *error && m.starts_with("status:nope names no state"))
    );
    // Esc in the list clears the filter in force.
    app.on_key(key(KeyCode::Esc));
    assert!(app.queue.filter.is_empty());
    assert_eq!(app.queue.visible().len(), 14);
    // The ledger is asked the same filter, as typed.
    app.on_key(key(KeyCode::Char('/')));
    let effects = app.on_key(key(KeyCode::Char('x')));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Engine(Command::History { search: Some(s), offset: 0, .. }) if s == "x"
    )));
}

#[test]
fn the_server_view_filters_and_sorts_its_list() {
    use kling_tui::engine::RemoteJob;
    let mut app = app_with(vec![]);
    focus_queue(&mut app);
    let asked = app.on_key(key(KeyCode::Char('S')));
    let Some(Effect::Engine(Command::Remote { seq, .. })) = asked.first() else {
        panic!("{asked:?}");
    };
    let remote = |id: &str, status: JobStatus, created: &str| RemoteJob {
        job_id: id.into(),
        status,
        created_at: created.into(),
        prompt: format!("a take of {id}"),
        ..Default::default()
    };
    app.on_engine(Event::Remote {
        seq: *seq,
        result: Ok(vec![
            remote("job_b", JobStatus::Failure, "2026-11-24T10:00:00Z"),
            remote("job_c", JobStatus::Success, "2026-11-24T11:00:00Z"),
            remote("job_a", JobStatus::Success, "2026-11-24T09:00:00Z"),
        ]),
        incomplete: None,
    });
    let shown = |app: &App| -> Vec<String> {
        let view = app.server.as_ref().unwrap();
        view.rows()
            .into_iter()
            .map(|i| view.jobs[i].job_id.clone())
            .collect()
    };
    assert_eq!(shown(&app), ["job_c", "job_b", "job_a"]);
    app.on_key(key(KeyCode::Char('s')));
    assert_eq!(shown(&app), ["job_a", "job_b", "job_c"]);
    app.on_key(key(KeyCode::Char('/')));
    type_text(&mut app, "status:success");
    app.on_key(key(KeyCode::Enter));
    assert_eq!(shown(&app), ["job_a", "job_c"]);
    app.on_key(key(KeyCode::Char('G')));
    let view = app.server.as_ref().unwrap();
    assert_eq!(view.selected_job().unwrap().job_id, "job_c");
    // The job list's own filter is untouched.
    assert!(app.queue.filter.is_empty());
    app.on_key(key(KeyCode::Esc));
    assert_eq!(shown(&app).len(), 3);
}

#[test]
fn o_opens_the_absolute_path_with_the_opener_or_copies_it_over_ssh() {
    let mut app = app_with(jobs_in_every_state());
    app.cwd = Some(PathBuf::from("/home/me/work"));
    app.opener = Opener::Program(vec!["mpv".into(), "--loop".into()]);
    focus_queue(&mut app);
    app.queue.selected = Some(RowKey::Job(6));
    let file = PathBuf::from("/home/me/work/videos/job_0006deadbeefcafe00000006_1.mp4");
    assert_eq!(
        app.on_key(key(KeyCode::Char('o'))),
        [Effect::Open {
            command: vec!["mpv".into(), "--loop".into()],
            file: file.clone(),
        }]
    );
    // y copies the same absolute path.
    assert_eq!(
        app.on_key(key(KeyCode::Char('y'))),
        [Effect::Clipboard(file.display().to_string())]
    );
    app.opener = Opener::Copy;
    assert_eq!(
        app.on_key(key(KeyCode::Char('o'))),
        [Effect::Clipboard(file.display().to_string())]
    );
    assert!(
        app.message
            .as_ref()
            .is_some_and(|(m, _)| m.contains(&file.display().to_string()))
    );
    // A job with no video on disk says why.
    app.queue.selected = Some(RowKey::Job(7));
    assert!(app.on_key(key(KeyCode::Char('o'))).is_empty());
    assert!(
        app.message
            .as_ref()
            .is_some_and(|(m, e)| *e && m.contains("d downloads it"))
    );
    // What the runner could not start is told.
    app.open_failed("mpv: No such file or directory");
    assert!(
        app.message
            .as_ref()
            .is_some_and(|(m, e)| *e && m.contains("mpv"))
    );
}

#[test]
fn news_goes_when_its_time_is_up_and_an_error_at_the_next_key() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    app.on_key(key(KeyCode::Char('s')));
    let seq = app.message_seq;
    assert!(app.message.is_some());
    // A timer for older news takes nothing away.
    app.message_expired(seq - 1);
    assert!(app.message.is_some());
    app.message_expired(seq);
    assert!(app.message.is_none());
    // An error outlives its timer, not the next key.
    app.queue.selected = Some(RowKey::Job(4));
    app.on_key(key(KeyCode::Char('o')));
    app.message_expired(app.message_seq);
    assert!(app.message.as_ref().is_some_and(|(_, e)| *e));
    app.on_key(key(KeyCode::Char('j')));
    assert!(app.message.is_none());
}

#[test]
fn download_all_with_nothing_to_download_and_forgetting_say_so() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    app.on_engine(Event::Forgotten(7));
    assert!(
        app.message
            .as_ref()
            .is_some_and(|(m, _)| m.starts_with("#7 forgotten"))
    );
    assert!(app.on_key(key(KeyCode::Char('D'))).is_empty());
    assert_eq!(
        app.message.as_ref().map(|m| m.0.as_str()),
        Some("nothing to download: every succeeded job is on disk")
    );
}

#[test]
fn help_opens_with_question_mark_outside_the_editor_and_f1_anywhere() {
    let mut app = app_with(vec![]);
    app.on_key(key(KeyCode::Char('?')));
    assert!(app.popup.is_none());
    assert_eq!(app.prompt(), "?");
    app.on_key(key(KeyCode::F(1)));
    assert!(matches!(app.popup, Some(Popup::Help(_))));
    app.on_key(key(KeyCode::Esc));
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.focus, Focus::Sidebar);
    app.on_key(key(KeyCode::Char('?')));
    assert!(matches!(app.popup, Some(Popup::Help(_))));
}

#[test]
fn the_ledger_pages_finished_jobs_through_the_same_filter() {
    use kling_tui::engine::{HistoryOrder, Ledger, Record};
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(dir.path()).unwrap();
    let outcomes = [
        ("a red fox", "pro", Some(JobStatus::Failure)),
        ("a red kite", "standard", Some(JobStatus::Failure)),
        ("a lighthouse", "pro", Some(JobStatus::Canceled)),
        ("100% snow_fall", "4k", None),
    ];
    for (prompt, mode, status) in outcomes {
        let mut request = kling_tui::kling::KlingRequest::new(prompt);
        request.mode = mode.parse().unwrap();
        let id = ledger
            .record_intent("2026-11-24T10:00:00Z".into(), request, None, None)
            .unwrap();
        let records = match status {
            Some(status) => vec![
                Record::Accepted {
                    local_id: id,
                    job_id: format!("job_{id}"),
                    cost: Some(75.0),
                },
                Record::Status {
                    local_id: id,
                    status,
                    progress: 0.5,
                    asset_ids: vec![],
                    error: None,
                    cost: Some(75.0),
                    hint: None,
                    history: vec![],
                },
            ],
            None => vec![Record::Rejected {
                local_id: id,
                reason: "HTTP 400".into(),
            }],
        };
        for record in records {
            ledger.append(record, false).unwrap();
        }
    }
    let found = |filter: &str| -> Vec<u64> {
        let (jobs, total) = ledger
            .history(Some(filter), HistoryOrder::Oldest, 0, 10)
            .unwrap();
        assert_eq!(total, jobs.len() as u64, "{filter}");
        let ids: Vec<u64> = jobs.iter().map(|j| j.local_id).collect();
        // The app's own matching agrees with the ledger's.
        let filter = kling_tui::engine::JobFilter::parse(filter);
        for job in ledger.history(None, HistoryOrder::Oldest, 0, 10).unwrap().0 {
            let mut job = job;
            job.place = kling_tui::engine::Place::judge(&job, true);
            assert_eq!(
                filter.matches(&job),
                ids.contains(&job.local_id),
                "#{}",
                job.local_id
            );
        }
        ids
    };
    assert_eq!(found("status:failed"), [1, 2]);
    assert_eq!(found("status:fail mode:pro"), [1]);
    assert_eq!(found("status:done"), [1, 2, 3, 4]);
    assert_eq!(found("status:rejected,canceled"), [3, 4]);
    assert_eq!(found("red status:failure"), [1, 2]);
    assert_eq!(found("mode:st"), [2]);
    assert_eq!(found("100%"), [4]);
    assert_eq!(found("canceled"), [3]);
    assert_eq!(found("status:nope"), [] as [u64; 0]);
}

/// The cells of row text `needle` on `app` drawn at 120×40: each character and whether it is
/// marked as found (underlined), from the first row holding it.
fn marks(app: &mut App, needle: &str) -> Vec<(String, bool)> {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::style::Modifier;
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal
        .draw(|frame| kling_tui::tui::render::draw(frame, app))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    let width = buffer.area.width as usize;
    let cells = &buffer.content;
    for row in cells.chunks(width) {
        let text: String = row.iter().map(|c| c.symbol()).collect();
        if let Some(at) = text.find(needle) {
            let start = text[..at].chars().count();
            return row[start..start + needle.chars().count()]
                .iter()
                .map(|c| {
                    let marked = c.modifier.contains(Modifier::UNDERLINED);
                    (c.symbol().to_string(), marked)
                })
                .collect();
        }
    }
    panic!("no row holds {needle:?}");
}

#[test]
fn what_the_filter_and_the_prompt_search_found_is_marked() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    app.on_key(key(KeyCode::Char('/')));
    type_text(&mut app, "status:done GLAC");
    app.on_key(key(KeyCode::Enter));
    let found = marks(&mut app, "drone over a glacier");
    let marked: String = found
        .iter()
        .filter(|(_, m)| *m)
        .map(|(c, _)| c.as_str())
        .collect();
    assert_eq!(marked, "glac");
    // The prompt search marks the letters it matched, in any order of words.
    app.on_key(ctrl('p'));
    let Some(Popup::History(search)) = &mut app.popup else {
        panic!("no prompt search");
    };
    search.fill(vec![kling_tui::engine::PromptEntry {
        local_id: 1,
        request: kling_tui::kling::KlingRequest::new("a red fox running through deep snow"),
        created_at: "2026-11-24T10:00:00Z".into(),
        state: "success".into(),
    }]);
    search.set_query("snow fox".into());
    let found = marks(&mut app, "a red fox running through deep snow");
    let marked: String = found
        .iter()
        .filter(|(_, m)| *m)
        .map(|(c, _)| c.as_str())
        .collect();
    assert_eq!(marked, "foxsnow");
}

// In a pseudo-terminal.

/// A home whose ledger for the simulator at `sim` holds 500 finished jobs: #N is
/// `job_NNNNseeded`, a failure when N is a multiple of 5, else canceled.
fn home_with_500_jobs(sim: &kling_sim::SimHandle) -> tempfile::TempDir {
    use kling_tui::engine::{Ledger, Record};
    let home = tempfile::tempdir().unwrap();
    common::write_config(home.path(), "auto_download = false\n", 0o600);
    // The ledger's folder, as the binary names it for this API.
    let dir = common::ledger_dir(Some(sim), home.path());
    std::fs::create_dir_all(&dir).unwrap();
    let mut ledger = Ledger::open(&dir).unwrap();
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24);
    for n in 1..=500u64 {
        let created = start + jiff::SignedDuration::from_secs(60 * n as i64);
        let request = kling_tui::kling::KlingRequest::new(format!("take {n} of a red fox"));
        let id = ledger
            .record_intent(created.to_string(), request, None, None)
            .unwrap();
        assert_eq!(id, n);
        for record in [
            Record::Accepted {
                local_id: id,
                job_id: format!("job_{n:04}seeded"),
                cost: Some(75.0),
            },
            Record::Status {
                local_id: id,
                status: if n % 5 == 0 {
                    JobStatus::Failure
                } else {
                    JobStatus::Canceled
                },
                progress: 0.29,
                asset_ids: vec![],
                error: None,
                cost: Some(75.0),
                hint: None,
                history: vec![],
            },
        ] {
            ledger.append(record, false).unwrap();
        }
    }
    home
}

/// The app against `sim` in `home`, its first frame drawn and the job list focused.
fn app_in(sim: &kling_sim::SimHandle, home: &Path, extra: &[(&str, &str)]) -> Pty {
    let mut command = PtyCommand::app()
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("SCENARIO_API_URL", &sim.api_url)
        .env("SCENARIO_API_KEY", kling_sim::DEMO_API_KEY)
        .env("SCENARIO_API_SECRET", kling_sim::DEMO_API_SECRET)
        .cwd(home);
    for (name, value) in extra {
        command = command.env(name, value);
    }
    let app = command.spawn();
    app.wait_for("the newest page of the ledger", |s| {
        s.contains(" Jobs 200+ ")
    });
    app.keys(&[Key::Tab, Key::Tab]);
    app.wait_for("the job list's keys", |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.contains("Jobs │") && l.contains("d download"))
    });
    app
}

/// The selected job's number, from the details pane's first line (`#N job_…`).
fn selected(screen: &str) -> Option<u64> {
    screen.lines().find_map(|l| {
        let at = l.find(" job_")?;
        let head = &l[..at];
        let hash = head.rfind('#')?;
        head[hash + 1..].parse().ok()
    })
}

/// The job list's rows on screen: those between its title and its bottom border.
fn rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip_while(|l| !l.contains(" Jobs "))
        .skip(1)
        .take_while(|l| l.starts_with('│'))
        .map(|l| l.split('│').nth(1).unwrap_or("").to_string())
        .filter(|row| !row.trim().is_empty())
        .collect()
}

fn stop_engine(sim: &kling_sim::SimHandle, home: &Path) {
    let _ = common::process(Some(sim), home)
        .args(["engine", "stop"])
        .output();
}

#[test]
fn g_capital_g_and_page_down_move_through_500_jobs_in_a_terminal() {
    let (_rt, sim) = common::sim_with(kling_sim::SimConfig::default());
    let home = home_with_500_jobs(&sim);
    let mut app = app_in(&sim, home.path(), &[]);
    assert_eq!(selected(&app.screen()), Some(500));
    app.type_text("G");
    let screen = app.wait_for("the oldest job", |s| selected(s) == Some(1));
    assert!(screen.contains(" Jobs 500 "), "all read:\n{screen}");
    assert!(
        rows(&screen)
            .last()
            .is_some_and(|r| r.contains("take 1 of a red fox")),
        "the selection in view:\n{screen}"
    );
    app.type_text("g");
    let screen = app.wait_for("the newest job", |s| selected(s) == Some(500));
    let page = rows(&screen).len() as u64;
    assert!(page > 10, "{screen}");
    app.send(b"\x1b[6~");
    app.wait_for("a page down", |s| selected(s) == Some(500 - (page - 1)));
    app.press(Key::Ctrl('c'));
    app.wait_exit();
    stop_engine(&sim, home.path());
}

#[test]
fn slash_status_failed_keeps_only_failed_rows_in_a_terminal() {
    let (_rt, sim) = common::sim_with(kling_sim::SimConfig::default());
    let home = home_with_500_jobs(&sim);
    let mut app = app_in(&sim, home.path(), &[]);
    app.type_text("/status:failed");
    app.press(Key::Enter);
    let screen = app.wait_for("only failures", |s| {
        s.contains(" Jobs 100") && rows(s).iter().all(|r| r.contains("failure"))
    });
    assert!(rows(&screen).len() > 10, "{screen}");
    // The same failed job reads the same figure everywhere.
    assert!(rows(&screen)[0].contains("29%"), "{screen}");
    app.press(Key::Esc);
    app.wait_for("every job again", |s| {
        rows(s).iter().any(|r| r.contains("canceled"))
    });
    app.press(Key::Ctrl('c'));
    app.wait_exit();
    stop_engine(&sim, home.path());
}

/// The demo app with `auto_download = false`, run in `work`, with `extra` variables.
fn demo_in(home: &Path, work: &Path, extra: &[(&str, &str)]) -> Pty {
    common::write_config(home, "auto_download = false\n", 0o600);
    let mut command = PtyCommand::app()
        .arg("--demo")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .cwd(work);
    for (name, value) in extra {
        command = command.env(name, value);
    }
    let app = command.spawn();
    app.wait_for("the app's first frame", |s| s.contains("No jobs yet"));
    app
}

#[test]
fn question_mark_opens_help_from_the_jobs_and_parameters_panes_in_a_terminal() {
    let temp = tempfile::tempdir().unwrap();
    let mut app = demo_in(temp.path(), temp.path(), &[]);
    let help_shown = |s: &str| s.contains("from the editor too");
    // The editor advertises F1, not `?`, which types there.
    let status = app.screen().lines().last().unwrap_or_default().to_string();
    assert!(
        status.contains("F1 help") && !status.contains("?"),
        "{status}"
    );
    for pane in ["Parameters", "Jobs"] {
        app.press(Key::Tab);
        app.wait_for(pane, |s| {
            s.lines()
                .last()
                .is_some_and(|l| l.contains(&format!(" {pane} ")))
        });
        app.type_text("?");
        app.wait_for("the help", help_shown);
        app.press(Key::Esc);
        app.wait_for("the help closed", |s| !help_shown(s));
    }
    app.press(Key::Ctrl('c'));
    app.wait_exit();
}

#[test]
fn news_in_the_status_bar_goes_after_its_timeout_in_a_terminal() {
    let temp = tempfile::tempdir().unwrap();
    let mut app = demo_in(temp.path(), temp.path(), &[]);
    app.keys(&[Key::Tab, Key::Tab]);
    app.type_text("s");
    app.wait_for("the news", |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.contains("sorted by oldest"))
    });
    let screen = app.wait_for("the key hints back", |s| {
        s.lines().last().is_some_and(|l| l.contains("help"))
    });
    assert!(!screen.contains("sorted by oldest"), "{screen}");
    app.press(Key::Ctrl('c'));
    app.wait_exit();
}

#[test]
fn o_runs_the_opener_with_the_videos_absolute_path_in_a_terminal() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().unwrap();
    let home = temp.path().join("home");
    let work = temp.path().join("work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let opened = temp.path().join("opened");
    let stub = temp.path().join("open-stub");
    std::fs::write(
        &stub,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut app = demo_in(&home, &work, &[("KLING_TUI_OPEN", stub.to_str().unwrap())]);
    app.type_text("a red fox in snow");
    app.press(Key::Ctrl('r'));
    app.wait_for("the job to succeed", |s| s.contains("success"));
    app.keys(&[Key::Tab, Key::Tab]);
    app.type_text("d");
    app.wait_for("the download", |s| s.contains("✓ saved"));
    app.type_text("o");
    for _ in 0..600 {
        if opened.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let path = PathBuf::from(std::fs::read_to_string(&opened).expect("the opener ran"));
    assert!(path.is_absolute(), "{}", path.display());
    let saved = common::files_in(&work);
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(
        path.canonicalize().unwrap(),
        work.join(&saved[0]).canonicalize().unwrap()
    );
    app.press(Key::Ctrl('c'));
    app.wait_exit();
}
