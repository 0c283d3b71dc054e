//! What the app knows of the user's takes: keep and reject marks, which job came from which,
//! and where a job stands in the sequences. The tables are the ledger's, read and written by
//! the runner ([`TakesOp`] out, [`TakesAnswer`] back), never by the app itself.

use std::collections::HashMap;

use crate::engine::{JobRecord, LocalId};
use crate::takes::{LinkKind, Mark, MarkEntry, Placement, Sequence, SequenceSummary};

/// What the runner does to the takes tables for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum TakesOp {
    /// Every mark, read again.
    LoadMarks,
    /// Marks job `id` (or clears its mark); a reason goes with a reject.
    Mark {
        id: LocalId,
        mark: Option<Mark>,
        reason: Option<String>,
    },
    /// Where job `id` came from, what came from it, and its places in the sequences.
    LoadLineage(LocalId),
    /// Records that `child` came from `parent`, and puts it where the parent's sequences want
    /// it: a continuation of a chosen take as a take of the next shot, a hero as a take of
    /// the parent's own shot.
    Link {
        child: LocalId,
        parent: LocalId,
        kind: LinkKind,
    },
    /// Every sequence, and the one named `open` (if any) with its takes' jobs.
    LoadSequences {
        open: Option<String>,
    },
    NewSequence(String),
    /// Job `take` as a new last shot, chosen.
    AddShot {
        sequence: String,
        take: LocalId,
    },
    /// Job `take` as one more take of shot `shot` (one past the last: a new shot).
    AddTake {
        sequence: String,
        shot: u32,
        take: LocalId,
    },
    Choose {
        sequence: String,
        shot: u32,
        take: LocalId,
    },
    MoveShot {
        sequence: String,
        shot: u32,
        to: u32,
    },
    RemoveShot {
        sequence: String,
        shot: u32,
    },
}

/// What the runner found or did.
#[derive(Debug, Clone, PartialEq)]
pub enum TakesAnswer {
    Marks(Vec<(LocalId, MarkEntry)>),
    Lineage(Lineage),
    /// Every sequence, and the one asked for with the records of its takes.
    Sequences {
        all: Vec<SequenceSummary>,
        open: Option<(Sequence, Vec<JobRecord>)>,
    },
    /// It was done; what to tell.
    Done(String),
    /// It could not be done: why.
    Failed(String),
}

/// One job's place among the others.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lineage {
    pub id: LocalId,
    pub parent: Option<(LocalId, LinkKind)>,
    pub children: Vec<(LocalId, LinkKind)>,
    pub placements: Vec<Placement>,
}

/// A submission the app sent that comes from another job: once the engine names the new job,
/// the link is recorded (and the runner puts the job where its parent's sequence wants it).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingChild {
    /// The submission's number.
    pub seq: u64,
    pub parent: LocalId,
    pub kind: LinkKind,
}

/// A continuation being written in the editor: the job it continues and the last frame it
/// starts from. A submission that still starts there is linked to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Continuing {
    pub parent: LocalId,
    pub start_image: crate::kling::AssetId,
}

/// The app's copy of the takes tables, as far as it has asked.
#[derive(Debug, Clone, Default)]
pub struct TakesState {
    pub marks: HashMap<LocalId, MarkEntry>,
    /// The selected job's lineage, once read; `None` while not asked or asked again.
    pub lineage: Option<Lineage>,
    /// The job whose lineage was last asked.
    pub asked: Option<LocalId>,
    /// Submissions waiting for their job's number to be linked.
    pub pending: Vec<PendingChild>,
    /// What the runner must do that no key asked (a link once a job is named).
    pub outbox: Vec<TakesOp>,
    pub continuing: Option<Continuing>,
    /// Heroes priced, numbered, so a late price of an earlier one is told apart.
    pub heroes: u64,
}

impl TakesState {
    pub fn mark_of(&self, id: LocalId) -> Option<Mark> {
        self.marks.get(&id).map(|m| m.mark)
    }

    /// The selected job's lineage is to be read again (it or its neighbours changed).
    pub fn stale(&mut self) {
        self.asked = None;
    }
}

/// A finished job's last frame, as the server named it when its first video was saved: the
/// start image of a shot that continues it.
pub fn last_frame(job: &JobRecord) -> Option<String> {
    job.downloads
        .first()
        .filter(|d| d.is_done())?
        .last_frame
        .clone()
}
