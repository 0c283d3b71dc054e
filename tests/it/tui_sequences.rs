//! The Sequence view drawn on ratatui's TestBackend: a sequence of three shots, two takes
//! each, one chosen per shot, beside a second, empty sequence; at 80×24 and 160×48.

use crate::tui_fixtures::*;
use crate::tui_snapshots::screen;
use crossterm::event::KeyCode;
use kling_tui::api::types::JobStatus;
use kling_tui::engine::{JobRecord, Submission};
use kling_tui::takes::{Mark, MarkEntry, Sequence, SequenceSummary, Shot};
use kling_tui::tui::app::{App, Effect, Focus};
use kling_tui::tui::queue::RowKey;
use kling_tui::tui::takes::{TakesAnswer, TakesOp};

/// Six finished takes, #21 to #26, two for each of three shots.
pub(crate) fn takes() -> Vec<JobRecord> {
    let prompts = [
        "the pier at dusk, a slow push in over the water",
        "the pier at dusk, a wide shot from the beach",
        "a gull lands on the railing, close up",
        "a gull lands on the railing, seen from behind",
        "the lamps come on along the pier, one by one",
        "the lamps come on, the camera tilts up to the sky",
    ];
    prompts
        .iter()
        .enumerate()
        .map(|(n, prompt)| {
            job(
                21 + n as u64,
                prompt,
                Submission::Accepted,
                Some(JobStatus::Success),
                1.0,
            )
        })
        .collect()
}

pub(crate) fn pier() -> Sequence {
    Sequence {
        name: "pier at dusk".into(),
        created_at: NOW.into(),
        shots: vec![
            Shot {
                position: 1,
                chosen: Some(21),
                takes: vec![21, 22],
            },
            Shot {
                position: 2,
                chosen: Some(24),
                takes: vec![23, 24],
            },
            Shot {
                position: 3,
                chosen: Some(25),
                takes: vec![25, 26],
            },
        ],
    }
}

pub(crate) fn summaries() -> Vec<SequenceSummary> {
    vec![
        SequenceSummary {
            name: "pier at dusk".into(),
            created_at: NOW.into(),
            shots: 3,
            chosen: 3,
            takes: 6,
        },
        SequenceSummary {
            name: "harbour".into(),
            created_at: NOW.into(),
            shots: 0,
            chosen: 0,
            takes: 0,
        },
    ]
}

fn entry(mark: Mark, reason: Option<&str>) -> MarkEntry {
    MarkEntry {
        mark,
        reason: reason.map(str::to_string),
        marked_at: NOW.into(),
    }
}

/// The app with the Sequence view open on "pier at dusk", its second shot's other take
/// selected; the chosen takes kept, one other rejected. The takes come from the ledger, not
/// the job list, which holds the fixtures' jobs.
pub(crate) fn sequence_app() -> App {
    let mut app = app_with(jobs_in_every_state());
    while app.focus != Focus::Queue {
        app.on_key(key(KeyCode::Tab));
    }
    app.queue.selected = Some(RowKey::Job(8));
    app.on_takes(TakesAnswer::Marks(vec![
        (21, entry(Mark::Keep, None)),
        (23, entry(Mark::Reject, Some("motion"))),
        (24, entry(Mark::Keep, None)),
        (25, entry(Mark::Keep, None)),
    ]));
    let effects = app.on_key(key(KeyCode::Char('Q')));
    assert_eq!(
        effects,
        [Effect::Takes(TakesOp::LoadSequences { open: None })]
    );
    app.on_takes(TakesAnswer::Sequences {
        all: summaries(),
        open: None,
    });
    // The first sequence is read next, by itself.
    assert_eq!(
        std::mem::take(&mut app.takes.outbox),
        [TakesOp::LoadSequences {
            open: Some("pier at dusk".into())
        }]
    );
    app.on_takes(TakesAnswer::Sequences {
        all: summaries(),
        open: Some((pier(), takes())),
    });
    app.on_key(key(KeyCode::Char('l')));
    app.on_key(key(KeyCode::Char('j')));
    app.on_key(key(KeyCode::Char('j')));
    app.message = None;
    app
}

#[test]
fn sequence_view_80x24() {
    insta::assert_snapshot!(screen(&mut sequence_app(), 80, 24));
}

#[test]
fn sequence_view_160x48() {
    insta::assert_snapshot!(screen(&mut sequence_app(), 160, 48));
}

/// The job list with marks beside the prompts, the selected job's mark, lineage and place in
/// the details; then the hero of it, priced.
pub(crate) fn marked_app() -> App {
    use kling_tui::takes::{LinkKind, Placement};
    use kling_tui::tui::takes::Lineage;
    let mut app = app_with(jobs_in_every_state());
    while app.focus != Focus::Queue {
        app.on_key(key(KeyCode::Tab));
    }
    app.queue.selected = Some(RowKey::Job(7));
    app.on_takes(TakesAnswer::Marks(vec![
        (6, entry(Mark::Reject, Some("face drift"))),
        (7, entry(Mark::Keep, None)),
    ]));
    assert_eq!(app.takes_wanted(), Some(TakesOp::LoadLineage(7)));
    app.on_takes(TakesAnswer::Lineage(Lineage {
        id: 7,
        parent: Some((5, LinkKind::Continues)),
        children: vec![(11, LinkKind::Continues), (12, LinkKind::Hero)],
        placements: vec![Placement {
            sequence: "pier at dusk".into(),
            shot: 2,
            take: 1,
            chosen: true,
        }],
    }));
    app.message = None;
    app
}

#[test]
fn marks_and_lineage_in_the_list_and_details_160x48() {
    insta::assert_snapshot!(screen(&mut marked_app(), 160, 48));
}

/// The hero of the kept #7, priced.
pub(crate) fn hero_app() -> App {
    let mut app = marked_app();
    let effects = app.on_key(key(KeyCode::Char('H')));
    let seq = effects
        .iter()
        .find_map(|e| match e {
            Effect::Engine(kling_tui::engine::Command::Estimate { seq, .. }) => Some(*seq),
            _ => None,
        })
        .unwrap();
    app.on_engine(kling_tui::engine::Event::Estimate {
        seq,
        cost: Ok(240.0),
    });
    app
}

#[test]
fn hero_priced_80x24() {
    insta::assert_snapshot!(screen(&mut hero_app(), 80, 24));
}
