//! The Sequence view's state: the named sequences, the one selected with its shots in order,
//! each shot's chosen take and its other takes, and the records of those jobs as the ledger
//! holds them.

use std::collections::BTreeMap;

use crate::engine::{JobRecord, LocalId};
use crate::takes::{Sequence, SequenceSummary};

/// Which side of the view the keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The sequences.
    List,
    /// The selected sequence's shots and takes.
    Shots,
}

/// A row of the selected sequence: a shot (with its chosen take) or another take of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqRow {
    Shot(u32),
    Take { shot: u32, take: LocalId },
}

impl SeqRow {
    pub fn shot(self) -> u32 {
        match self {
            SeqRow::Shot(shot) | SeqRow::Take { shot, .. } => shot,
        }
    }
}

pub struct SequenceView {
    /// Every sequence, oldest first, once read.
    pub all: Vec<SequenceSummary>,
    /// The selected place in `all`.
    pub selected: usize,
    /// The selected sequence, once read.
    pub open: Option<Sequence>,
    /// The records of its takes, as the ledger holds them.
    pub jobs: BTreeMap<LocalId, JobRecord>,
    pub side: Side,
    /// The selected row of the open sequence.
    pub row: Option<SeqRow>,
    /// Still reading.
    pub pending: bool,
    /// The sequence to select once the list is read again (one just made).
    pub wanted: Option<String>,
}

impl Default for SequenceView {
    fn default() -> Self {
        Self::new()
    }
}

impl SequenceView {
    pub fn new() -> Self {
        Self {
            all: Vec::new(),
            selected: 0,
            open: None,
            jobs: BTreeMap::new(),
            side: Side::List,
            row: None,
            pending: true,
            wanted: None,
        }
    }

    /// The name of the selected sequence.
    pub fn selected_name(&self) -> Option<&str> {
        self.all.get(self.selected).map(|s| s.name.as_str())
    }

    /// The open sequence's rows in order: each shot, then its takes but the chosen one.
    pub fn rows(&self) -> Vec<SeqRow> {
        let Some(open) = &self.open else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        for shot in &open.shots {
            rows.push(SeqRow::Shot(shot.position));
            rows.extend(
                shot.takes
                    .iter()
                    .filter(|t| Some(**t) != shot.chosen)
                    .map(|t| SeqRow::Take {
                        shot: shot.position,
                        take: *t,
                    }),
            );
        }
        rows
    }

    /// The job the selected row stands for: a shot's chosen take, or the take itself.
    pub fn selected_take(&self) -> Option<LocalId> {
        match self.row? {
            SeqRow::Take { take, .. } => Some(take),
            SeqRow::Shot(position) => self.shot_chosen(position),
        }
    }

    pub fn shot_chosen(&self, position: u32) -> Option<LocalId> {
        self.open
            .as_ref()?
            .shots
            .iter()
            .find(|s| s.position == position)?
            .chosen
    }

    pub fn shot_count(&self) -> u32 {
        self.open.as_ref().map_or(0, |o| o.shots.len() as u32)
    }

    /// The sequences as read now, and the open one with its takes' records; the selection
    /// stays on its sequence and row where they still are.
    pub fn read(&mut self, all: Vec<SequenceSummary>, open: Option<(Sequence, Vec<JobRecord>)>) {
        let was = self
            .wanted
            .take()
            .or_else(|| self.selected_name().map(str::to_string));
        self.all = all;
        self.pending = false;
        self.selected = was
            .and_then(|name| self.all.iter().position(|s| s.name == name))
            .unwrap_or(self.selected)
            .min(self.all.len().saturating_sub(1));
        match open {
            Some((sequence, jobs)) if Some(sequence.name.as_str()) == self.selected_name() => {
                self.open = Some(sequence);
                self.jobs = jobs.into_iter().map(|j| (j.local_id, j)).collect();
            }
            _ => {
                self.open = None;
                self.jobs.clear();
            }
        }
        let rows = self.rows();
        if !self.row.is_some_and(|r| rows.contains(&r)) {
            // A row gone (a take chosen, a shot removed): the shot it was of, else the first.
            let shot = self.row.map(SeqRow::shot);
            self.row = shot
                .and_then(|s| {
                    let s = s.min(self.shot_count());
                    rows.iter().copied().find(|r| *r == SeqRow::Shot(s))
                })
                .or_else(|| rows.first().copied());
        }
    }

    /// The selected sequence is not the open one: it is to be read.
    pub fn wants_reading(&self) -> Option<String> {
        let name = self.selected_name()?;
        let open = self.open.as_ref().map(|o| o.name.as_str());
        (open != Some(name)).then(|| name.to_string())
    }

    /// Moves by `delta` in the side the keys are in.
    pub fn move_by(&mut self, delta: isize) {
        match self.side {
            Side::List => {
                let last = self.all.len().saturating_sub(1) as isize;
                self.selected = (self.selected as isize + delta).clamp(0, last) as usize;
            }
            Side::Shots => {
                let rows = self.rows();
                if rows.is_empty() {
                    return;
                }
                let at = self
                    .row
                    .and_then(|r| rows.iter().position(|x| *x == r))
                    .unwrap_or(0) as isize;
                let next = (at + delta).clamp(0, rows.len() as isize - 1) as usize;
                self.row = Some(rows[next]);
            }
        }
    }
}
