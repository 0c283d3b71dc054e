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
            assert!(r.reasons.iter().any(|r| r == "face drift"), "{:?}", r.reasons);
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
    app.on_key(key(KeyCode::Char('K')));
    app.on_takes(TakesAnswer::Failed("the ledger is locked".into()));
    assert_eq!(app.message, Some(("the ledger is locked".into(), true)));
    assert_eq!(app.takes.outbox, [TakesOp::LoadMarks]);
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
