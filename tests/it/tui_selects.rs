//! Selects, continue, hero and the Sequence view, driven by keys: what the app asks of the
//! takes tables and the engine, and how its state follows the answers.

use crate::tui_fixtures::*;
use crossterm::event::KeyCode;
use kling_tui::takes::{Mark, MarkEntry};
use kling_tui::tui::app::{App, Effect, Focus, Popup};
use kling_tui::tui::queue::RowKey;
use kling_tui::tui::takes::{TakesAnswer, TakesOp};

fn focus_queue(app: &mut App) {
    while app.focus != Focus::Queue {
        app.on_key(key(KeyCode::Tab));
    }
}

fn takes_ops(effects: &[Effect]) -> Vec<TakesOp> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Takes(op) => Some(op.clone()),
            _ => None,
        })
        .collect()
}

fn mark_entry(mark: Mark, reason: Option<&str>) -> MarkEntry {
    MarkEntry {
        mark,
        reason: reason.map(str::to_string),
        marked_at: NOW.into(),
    }
}

#[test]
fn k_keeps_the_selected_job_and_again_clears_the_mark() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    app.queue.selected = Some(RowKey::Job(8));
    let effects = app.on_key(key(KeyCode::Char('K')));
    assert_eq!(
        takes_ops(&effects),
        [
            TakesOp::Mark {
                id: 8,
                mark: Some(Mark::Keep),
                reason: None
            },
            TakesOp::LoadMarks
        ]
    );
    assert_eq!(app.takes.mark_of(8), Some(Mark::Keep));
    // The ledger's answer is what stays.
    app.on_takes(TakesAnswer::Marks(vec![(8, mark_entry(Mark::Keep, None))]));
    let effects = app.on_key(key(KeyCode::Char('K')));
    assert_eq!(
        takes_ops(&effects)[0],
        TakesOp::Mark {
            id: 8,
            mark: None,
            reason: None
        }
    );
    assert_eq!(app.takes.mark_of(8), None);
}

#[test]
fn x_asks_why_then_rejects_for_the_reason_picked_and_esc_leaves_it_be() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    app.queue.selected = Some(RowKey::Job(8));
    let effects = app.on_key(key(KeyCode::Char('X')));
    assert!(takes_ops(&effects).is_empty());
    match &app.popup {
        Some(Popup::Reasons(r)) => {
            assert_eq!(r.job, 8);
            assert_eq!(r.selected, 0, "no reason comes first");
            assert!(
                r.reasons.iter().any(|r| r == "face drift"),
                "{:?}",
                r.reasons
            );
        }
        _ => panic!("no list of reasons"),
    }
    // Esc: nothing marked.
    let effects = app.on_key(key(KeyCode::Esc));
    assert!(app.popup.is_none());
    assert!(takes_ops(&effects).is_empty());
    assert_eq!(app.takes.mark_of(8), None);
    // The second reason (after "no reason" and the first).
    app.on_key(key(KeyCode::Char('X')));
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Char('j')));
    let effects = app.on_key(key(KeyCode::Enter));
    let second = app.reject_reasons[1].clone();
    assert_eq!(
        takes_ops(&effects)[0],
        TakesOp::Mark {
            id: 8,
            mark: Some(Mark::Reject),
            reason: Some(second.clone())
        }
    );
    assert_eq!(app.takes.marks[&8].reason.as_deref(), Some(second.as_str()));
    // X again on a rejected job clears it, without asking.
    let effects = app.on_key(key(KeyCode::Char('X')));
    assert!(app.popup.is_none());
    assert_eq!(
        takes_ops(&effects)[0],
        TakesOp::Mark {
            id: 8,
            mark: None,
            reason: None
        }
    );
}

#[test]
fn no_reason_rejects_without_one_and_a_kept_job_rejected_changes_its_mark() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    app.queue.selected = Some(RowKey::Job(8));
    app.on_key(key(KeyCode::Char('K')));
    app.on_key(key(KeyCode::Char('X')));
    let effects = app.on_key(key(KeyCode::Enter));
    assert_eq!(
        takes_ops(&effects)[0],
        TakesOp::Mark {
            id: 8,
            mark: Some(Mark::Reject),
            reason: None
        }
    );
    assert_eq!(app.takes.mark_of(8), Some(Mark::Reject));
}

#[test]
fn a_failed_write_is_told_and_the_marks_are_read_again() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    app.queue.selected = Some(RowKey::Job(8));
    let effects = app.on_key(key(KeyCode::Char('K')));
    // The marks are read after every change: a write that failed is set right by it.
    assert_eq!(takes_ops(&effects).last(), Some(&TakesOp::LoadMarks));
    app.on_takes(TakesAnswer::Failed("the ledger is locked".into()));
    assert_eq!(app.message, Some(("the ledger is locked".into(), true)));
    app.on_takes(TakesAnswer::Marks(vec![]));
    assert_eq!(app.takes.mark_of(8), None);
}

#[test]
fn the_selected_jobs_lineage_is_asked_once_and_again_after_a_change() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    app.queue.selected = Some(RowKey::Job(8));
    assert_eq!(app.takes_wanted(), Some(TakesOp::LoadLineage(8)));
    assert_eq!(app.takes_wanted(), None);
    app.on_key(key(KeyCode::Char('K')));
    assert_eq!(app.takes_wanted(), Some(TakesOp::LoadLineage(8)));
}

mod sequence_view {
    use super::*;
    use crate::tui_sequences::{pier, sequence_app, summaries, takes};
    use kling_tui::tui::sequences::{SeqRow, Side};

    fn reload() -> TakesOp {
        TakesOp::LoadSequences {
            open: Some("pier at dusk".into()),
        }
    }

    #[test]
    fn enter_on_another_take_chooses_it_and_the_sequence_is_read_again() {
        let mut app = sequence_app();
        let view = app.sequences.as_ref().unwrap();
        assert_eq!(view.side, Side::Shots);
        assert_eq!(view.row, Some(SeqRow::Shot(2)));
        // On the shot itself: its chosen take is chosen already; nothing to write.
        assert!(takes_ops(&app.on_key(key(KeyCode::Enter))).is_empty());
        app.on_key(key(KeyCode::Down));
        let effects = app.on_key(key(KeyCode::Char('c')));
        assert_eq!(
            takes_ops(&effects),
            [
                TakesOp::Choose {
                    sequence: "pier at dusk".into(),
                    shot: 2,
                    take: 23
                },
                reload()
            ]
        );
    }

    #[test]
    fn shots_move_with_shift_j_and_k_and_the_selection_follows() {
        let mut app = sequence_app();
        let effects = app.on_key(key(KeyCode::Char('K')));
        assert_eq!(
            takes_ops(&effects),
            [
                TakesOp::MoveShot {
                    sequence: "pier at dusk".into(),
                    shot: 2,
                    to: 1
                },
                reload()
            ]
        );
        assert_eq!(app.sequences.as_ref().unwrap().row, Some(SeqRow::Shot(1)));
        // Not past either end.
        assert!(takes_ops(&app.on_key(key(KeyCode::Char('K')))).is_empty());
        let effects = app.on_key(crossterm::event::KeyEvent::new(
            KeyCode::Down,
            crossterm::event::KeyModifiers::ALT,
        ));
        assert_eq!(
            takes_ops(&effects)[0],
            TakesOp::MoveShot {
                sequence: "pier at dusk".into(),
                shot: 1,
                to: 2
            }
        );
    }

    #[test]
    fn a_adds_the_job_list_selection_as_a_last_shot_and_t_as_a_take_of_the_shot() {
        let mut app = sequence_app();
        let effects = app.on_key(key(KeyCode::Char('t')));
        assert_eq!(
            takes_ops(&effects),
            [
                TakesOp::AddTake {
                    sequence: "pier at dusk".into(),
                    shot: 2,
                    take: 8
                },
                reload()
            ]
        );
        let effects = app.on_key(key(KeyCode::Char('a')));
        assert_eq!(
            takes_ops(&effects),
            [
                TakesOp::AddShot {
                    sequence: "pier at dusk".into(),
                    take: 8
                },
                reload()
            ]
        );
        // The new shot is selected once the sequence is read again.
        let mut longer = pier();
        longer.shots.push(kling_tui::takes::Shot {
            position: 4,
            chosen: Some(8),
            takes: vec![8],
        });
        app.on_takes(TakesAnswer::Sequences {
            all: summaries(),
            open: Some((longer, takes())),
        });
        assert_eq!(app.sequences.as_ref().unwrap().row, Some(SeqRow::Shot(4)));
    }

    #[test]
    fn delete_asks_before_removing_a_shot() {
        let mut app = sequence_app();
        let effects = app.on_key(key(KeyCode::Delete));
        assert!(takes_ops(&effects).is_empty());
        assert!(matches!(app.popup, Some(Popup::Confirm(_))));
        let effects = app.on_key(key(KeyCode::Char('y')));
        assert_eq!(
            takes_ops(&effects),
            [
                TakesOp::RemoveShot {
                    sequence: "pier at dusk".into(),
                    shot: 2
                },
                reload()
            ]
        );
        // n leaves it be.
        app.on_key(key(KeyCode::Char('x')));
        assert!(takes_ops(&app.on_key(key(KeyCode::Char('n')))).is_empty());
    }

    #[test]
    fn n_names_a_new_sequence_which_is_selected_once_read() {
        let mut app = sequence_app();
        app.on_key(key(KeyCode::Char('n')));
        assert!(matches!(app.popup, Some(Popup::SequenceName(_))));
        type_text(&mut app, "night market");
        let effects = app.on_key(key(KeyCode::Enter));
        assert_eq!(
            takes_ops(&effects),
            [
                TakesOp::NewSequence("night market".into()),
                TakesOp::LoadSequences {
                    open: Some("night market".into())
                }
            ]
        );
        let mut all = summaries();
        all.push(kling_tui::takes::SequenceSummary {
            name: "night market".into(),
            created_at: NOW.into(),
            shots: 0,
            chosen: 0,
            takes: 0,
        });
        app.on_takes(TakesAnswer::Sequences { all, open: None });
        let view = app.sequences.as_ref().unwrap();
        assert_eq!(view.selected_name(), Some("night market"));
        assert_eq!(
            app.takes.outbox,
            [TakesOp::LoadSequences {
                open: Some("night market".into())
            }]
        );
    }

    #[test]
    fn moving_in_the_list_reads_the_sequence_selected_and_esc_goes_back() {
        let mut app = sequence_app();
        app.on_key(key(KeyCode::Char('h')));
        let effects = app.on_key(key(KeyCode::Char('j')));
        assert_eq!(
            takes_ops(&effects),
            [TakesOp::LoadSequences {
                open: Some("harbour".into())
            }]
        );
        // Keys of the panes do nothing here.
        let effects = app.on_key(key(KeyCode::Char('d')));
        assert!(effects.is_empty());
        app.on_key(key(KeyCode::Esc));
        assert!(app.sequences.is_none());
        assert_eq!(app.focus, Focus::Queue);
    }
}

mod hero {
    use super::*;
    use kling_tui::engine::{Command, Event};
    use kling_tui::kling::Mode;
    use kling_tui::takes::LinkKind;

    fn engine(effects: &[Effect]) -> Vec<Command> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Engine(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    /// Job 7 (pro, succeeded) selected, kept.
    fn kept_app() -> App {
        let mut app = app_with(jobs_in_every_state());
        focus_queue(&mut app);
        app.queue.selected = Some(RowKey::Job(7));
        app.on_takes(TakesAnswer::Marks(vec![(7, mark_entry(Mark::Keep, None))]));
        app
    }

    #[test]
    fn h_on_a_kept_job_that_failed_has_nothing_to_re_render() {
        let mut app = kept_app();
        app.queue.selected = Some(RowKey::Job(8));
        app.on_takes(TakesAnswer::Marks(vec![(8, mark_entry(Mark::Keep, None))]));
        assert!(app.on_key(key(KeyCode::Char('H'))).is_empty());
        let (text, _) = app.message.clone().unwrap();
        assert!(text.contains("no video to re-render"), "{text}");
    }

    #[test]
    fn h_on_a_job_not_kept_says_so_and_sends_nothing() {
        let mut app = app_with(jobs_in_every_state());
        focus_queue(&mut app);
        app.queue.selected = Some(RowKey::Job(8));
        let effects = app.on_key(key(KeyCode::Char('H')));
        assert!(effects.is_empty(), "{effects:?}");
        assert!(app.popup.is_none());
        let (text, error) = app.message.clone().unwrap();
        assert!(error && text.contains("not kept: K keeps it"), "{text}");
    }

    #[test]
    fn h_prices_the_same_request_a_mode_up_and_sends_it_once_confirmed_then_links_it() {
        let mut app = kept_app();
        let draft = app.queue.jobs[&7].request.clone();
        assert_eq!(draft.mode, Mode::Pro);
        let effects = app.on_key(key(KeyCode::Char('H')));
        let asked = engine(&effects);
        let Some(Command::Estimate { seq, request }) = asked.first().cloned() else {
            panic!("no dry run: {asked:?}");
        };
        // Identical but for the mode.
        assert_eq!(request.mode, Mode::FourK);
        assert_eq!(
            kling_tui::kling::KlingRequest {
                mode: Mode::Pro,
                ..request.clone()
            },
            draft
        );
        assert!(matches!(app.popup, Some(Popup::Hero(_))));
        // Not before it is priced.
        assert!(engine(&app.on_key(key(KeyCode::Char('y')))).is_empty());
        assert!(matches!(app.popup, Some(Popup::Hero(_))));
        // A late price of another request changes nothing.
        app.on_engine(Event::Estimate {
            seq: seq + 1,
            cost: Ok(1.0),
        });
        app.on_engine(Event::Estimate {
            seq,
            cost: Ok(150.0),
        });
        let effects = app.on_key(key(KeyCode::Char('y')));
        let sent = engine(&effects);
        let Some(Command::Submit {
            seq: submit_seq,
            request: sent_request,
            quote,
            ..
        }) = sent.first().cloned()
        else {
            panic!("not sent: {sent:?}");
        };
        assert_eq!(sent_request, request);
        assert_eq!(quote, Some(150.0));
        assert!(app.popup.is_none());
        // The engine names the job: it is linked to its draft.
        app.on_engine(Event::Submitted {
            local_id: 40,
            seq: submit_seq,
        });
        assert_eq!(
            app.takes.outbox,
            [TakesOp::Link {
                child: 40,
                parent: 7,
                kind: LinkKind::Hero
            }]
        );
    }

    #[test]
    fn a_standard_take_goes_to_pro_and_m_offers_4k_priced_again() {
        let mut app = app_with(jobs_in_every_state());
        focus_queue(&mut app);
        // Job 6 is a standard one (every third fixture job is), and succeeded.
        let id = 6;
        assert!(app.queue.jobs[&id].succeeded());
        assert_eq!(app.queue.jobs[&id].request.mode, Mode::Standard);
        app.queue.selected = Some(RowKey::Job(id));
        app.on_takes(TakesAnswer::Marks(vec![(id, mark_entry(Mark::Keep, None))]));
        let effects = app.on_key(key(KeyCode::Char('H')));
        let first = engine(&effects);
        assert!(
            matches!(&first[0], Command::Estimate { request, .. } if request.mode == Mode::Pro)
        );
        let effects = app.on_key(key(KeyCode::Char('m')));
        let again = engine(&effects);
        assert!(
            matches!(&again[0], Command::Estimate { request, .. } if request.mode == Mode::FourK),
            "{again:?}"
        );
        assert!(matches!(app.popup, Some(Popup::Hero(_))));
        // Esc: nothing sent.
        assert!(engine(&app.on_key(key(KeyCode::Esc))).is_empty());
        assert!(app.popup.is_none());
    }

    #[test]
    fn a_submission_refused_is_no_child() {
        let mut app = kept_app();
        let effects = app.on_key(key(KeyCode::Char('H')));
        let Some(Command::Estimate { seq, .. }) = engine(&effects).first().cloned() else {
            panic!()
        };
        app.on_engine(Event::Estimate {
            seq,
            cost: Ok(150.0),
        });
        let sent = engine(&app.on_key(key(KeyCode::Enter)));
        let Some(Command::Submit { seq, .. }) = sent.first().cloned() else {
            panic!()
        };
        app.on_engine(Event::NotSubmitted {
            seq,
            error: kling_tui::engine::Failure::local("the daily cap is reached"),
        });
        assert!(app.takes.pending.is_empty());
        assert!(app.takes.outbox.is_empty());
    }
}

mod continuing {
    use super::*;
    use kling_tui::engine::{Command, Event};
    use kling_tui::kling::AssetId;
    use kling_tui::takes::LinkKind;

    fn with_last_frame(app: &mut App, id: u64) {
        let job = app.queue.jobs.get_mut(&id).unwrap();
        job.downloads[0].last_frame = Some(format!("asset_last_{id}"));
    }

    #[test]
    fn c_starts_the_next_shot_from_the_last_frame_and_the_sent_job_is_linked() {
        let mut app = app_with(jobs_in_every_state());
        focus_queue(&mut app);
        with_last_frame(&mut app, 6);
        let parent = app.queue.jobs[&6].request.clone();
        app.request.end_image = Some(AssetId::new("asset_end"));
        app.queue.selected = Some(RowKey::Job(6));
        app.on_key(key(KeyCode::Char('C')));
        assert_eq!(app.focus, Focus::Editor);
        assert_eq!(app.prompt(), "");
        assert_eq!(app.request.start_image, Some(AssetId::new("asset_last_6")));
        assert_eq!(app.request.end_image, None);
        // Every other parameter is the parent's.
        assert_eq!(app.request.mode, parent.mode);
        assert_eq!(app.request.duration, parent.duration);
        assert_eq!(app.request.aspect_ratio, parent.aspect_ratio);
        type_text(&mut app, "the drone rises over the ridge");
        let effects = app.on_key(ctrl('r'));
        let Some((seq, request)) = effects.iter().find_map(|e| match e {
            Effect::Engine(Command::Submit { seq, request, .. }) => Some((*seq, request.clone())),
            _ => None,
        }) else {
            panic!("not sent: {effects:?}");
        };
        assert_eq!(request.prompt, "the drone rises over the ridge");
        assert_eq!(request.start_image, Some(AssetId::new("asset_last_6")));
        app.on_engine(Event::Submitted { local_id: 30, seq });
        assert_eq!(
            app.takes.outbox,
            [TakesOp::Link {
                child: 30,
                parent: 6,
                kind: LinkKind::Continues
            }]
        );
        // A later submission is no continuation.
        app.takes.outbox.clear();
        app.now += jiff::SignedDuration::from_secs(120);
        let effects = app.on_key(ctrl('r'));
        let seq = effects
            .iter()
            .find_map(|e| match e {
                Effect::Engine(Command::Submit { seq, .. }) => Some(*seq),
                _ => None,
            })
            .unwrap();
        app.on_engine(Event::Submitted { local_id: 31, seq });
        assert!(app.takes.outbox.is_empty());
    }

    #[test]
    fn a_start_image_changed_before_sending_is_no_continuation() {
        let mut app = app_with(jobs_in_every_state());
        focus_queue(&mut app);
        with_last_frame(&mut app, 6);
        app.queue.selected = Some(RowKey::Job(6));
        app.on_key(key(KeyCode::Char('C')));
        app.request.start_image = Some(AssetId::new("asset_other"));
        type_text(&mut app, "something else");
        let effects = app.on_key(ctrl('r'));
        let seq = effects
            .iter()
            .find_map(|e| match e {
                Effect::Engine(Command::Submit { seq, .. }) => Some(*seq),
                _ => None,
            })
            .unwrap();
        app.on_engine(Event::Submitted { local_id: 30, seq });
        assert!(app.takes.outbox.is_empty());
    }

    #[test]
    fn c_says_why_a_job_cannot_be_continued() {
        let mut app = app_with(jobs_in_every_state());
        focus_queue(&mut app);
        let request = app.request.clone();
        for (id, why) in [
            (8, "not a finished video"),
            // Saved before last frames were recorded.
            (6, "kling-tui submit --after 6"),
        ] {
            app.queue.selected = Some(RowKey::Job(id));
            let effects = app.on_key(key(KeyCode::Char('C')));
            assert!(effects.is_empty());
            assert_eq!(app.focus, Focus::Queue);
            assert_eq!(app.request, request);
            let (text, error) = app.message.clone().unwrap();
            assert!(error && text.contains(why), "{text}");
        }
    }

    #[test]
    fn c_in_the_sequence_view_continues_the_selected_take() {
        use crate::tui_sequences::{pier, sequence_app, summaries, takes};
        let mut app = sequence_app();
        let mut records = takes();
        for job in &mut records {
            job.downloads[0].last_frame = Some(format!("asset_last_{}", job.local_id));
        }
        app.on_takes(TakesAnswer::Sequences {
            all: summaries(),
            open: Some((pier(), records)),
        });
        // Shot 2's chosen take is #24.
        app.on_key(key(KeyCode::Char('C')));
        assert!(app.sequences.is_none());
        assert_eq!(app.focus, Focus::Editor);
        assert_eq!(app.request.start_image, Some(AssetId::new("asset_last_24")));
        assert_eq!(app.takes.continuing.as_ref().unwrap().parent, 24);
    }
}

#[test]
fn h_in_the_sequence_view_prices_the_hero_of_the_selected_take() {
    use kling_tui::engine::Command;
    let mut app = crate::tui_sequences::sequence_app();
    // Shot 2's chosen take, #24, is kept and was made at standard.
    let effects = app.on_key(key(KeyCode::Char('H')));
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Engine(Command::Estimate { request, .. })]
                if request.mode == kling_tui::kling::Mode::Pro
                    && request.prompt == "a gull lands on the railing, seen from behind"
        ),
        "{effects:?}"
    );
    assert!(matches!(app.popup, Some(Popup::Hero(ref h)) if h.parent == 24));
}

#[test]
fn r_reads_the_marks_again_as_the_command_line_may_have_changed_them() {
    let mut app = app_with(jobs_in_every_state());
    focus_queue(&mut app);
    let effects = app.on_key(key(KeyCode::Char('r')));
    assert_eq!(takes_ops(&effects), [TakesOp::LoadMarks]);
}

#[test]
fn the_sequence_views_selected_take_is_the_picture_asked() {
    let mut app = crate::tui_sequences::sequence_app();
    assert!(matches!(
        app.picture_wanted(),
        Some(kling_tui::engine::Command::Thumbnail { local_id: 24, .. })
    ));
    assert_eq!(app.picture_wanted(), None);
    app.on_key(key(KeyCode::Down));
    assert!(matches!(
        app.picture_wanted(),
        Some(kling_tui::engine::Command::Thumbnail { local_id: 23, .. })
    ));
}

#[test]
fn e_in_the_sequence_view_offers_the_films_path_and_enter_cuts_it() {
    let mut app = crate::tui_sequences::sequence_app();
    app.cwd = Some(std::path::PathBuf::from("/films"));
    assert!(app.on_key(key(KeyCode::Char('E'))).is_empty());
    assert!(
        matches!(app.popup, Some(Popup::CutTo(_))),
        "{:?}",
        app.message
    );
    // The suggested path is the sequence's name as a file name, in the app's folder.
    let effects = app.on_key(key(KeyCode::Enter));
    assert_eq!(
        effects,
        [Effect::Cut {
            sequence: "pier at dusk".into(),
            out: std::path::PathBuf::from("/films/pier-at-dusk.mp4"),
        }]
    );
    assert!(app.popup.is_none());
    // Its news is told as it comes.
    app.on_cut(kling_tui::tui::app::CutNews::Progress {
        sequence: "pier at dusk".into(),
        fraction: 0.456,
    });
    assert!(
        app.message
            .as_ref()
            .unwrap()
            .0
            .contains("cutting pier at dusk 45%")
    );
    app.on_cut(kling_tui::tui::app::CutNews::Failed {
        sequence: "pier at dusk".into(),
        why: "ffmpeg is not on the PATH".into(),
    });
    let (text, error) = app.message.clone().unwrap();
    assert!(
        text.contains("the cut of pier at dusk failed: ffmpeg"),
        "{text}"
    );
    assert!(error);
}

#[test]
fn e_is_refused_naming_a_shot_with_no_chosen_take() {
    let mut app = crate::tui_sequences::sequence_app();
    let mut open = app.sequences.as_ref().unwrap().open.clone().unwrap();
    open.shots[1].chosen = None;
    app.sequences.as_mut().unwrap().open = Some(open);
    assert!(app.on_key(key(KeyCode::Char('E'))).is_empty());
    assert!(app.popup.is_none());
    let (text, _) = app.message.clone().unwrap();
    assert!(text.contains("shot 2 has no chosen take"), "{text}");
}
