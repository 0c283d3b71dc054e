//! The runner's side of the takes: each [`TakesOp`] carried out on the ledger's tables, its
//! answer for the app. Local SQLite, quick enough to do between two frames.

use std::path::{Path, PathBuf};

use crate::engine::{JobQuery, Ledger};
use crate::sanitize::sanitize;
use crate::takes::{LinkKind, Mark, Takes, TakesError};

use super::takes::{Lineage, TakesAnswer, TakesOp};

/// The takes tables of one ledger, opened when first needed.
pub struct TakesIo {
    dir: PathBuf,
    takes: Option<Takes>,
}

impl TakesIo {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            takes: None,
        }
    }

    pub fn apply(&mut self, op: TakesOp) -> TakesAnswer {
        match self.run(op) {
            Ok(answer) => answer,
            Err(e) => TakesAnswer::Failed(sanitize(&e.to_string())),
        }
    }

    fn takes(&mut self) -> Result<&Takes, TakesError> {
        if self.takes.is_none() {
            self.takes = Some(Takes::open(&self.dir)?);
        }
        match &self.takes {
            Some(takes) => Ok(takes),
            None => Err(TakesError::Refused("the ledger cannot be opened".into())),
        }
    }

    fn run(&mut self, op: TakesOp) -> Result<TakesAnswer, TakesError> {
        let dir = self.dir.clone();
        let t = self.takes()?;
        Ok(match op {
            TakesOp::LoadMarks => TakesAnswer::Marks(t.marked(None)?),
            TakesOp::Mark { id, mark, reason } => {
                t.mark(id, mark, reason.as_deref())?;
                TakesAnswer::Done(match (mark, reason) {
                    (None, _) => format!("#{id} unmarked"),
                    (Some(Mark::Keep), _) => format!("#{id} kept"),
                    (Some(Mark::Reject), Some(reason)) => format!("#{id} rejected: {reason}"),
                    (Some(Mark::Reject), None) => format!("#{id} rejected"),
                })
            }
            TakesOp::LoadLineage(id) => TakesAnswer::Lineage(Lineage {
                id,
                parent: t.parent_of(id)?,
                children: t.children_of(id)?,
                placements: t.placements(id)?,
            }),
            TakesOp::Link {
                child,
                parent,
                kind,
            } => {
                t.link(child, parent, kind)?;
                let mut told = vec![match kind {
                    LinkKind::Continues => format!("#{child} continues #{parent}"),
                    LinkKind::Hero => format!("#{child} is the hero of #{parent}"),
                }];
                for place in t.placements(parent)? {
                    let shot = match kind {
                        LinkKind::Continues => place.shot + 1,
                        LinkKind::Hero => place.shot,
                    };
                    t.add_take(&place.sequence, shot, child)?;
                    told.push(format!("a take of shot {shot} of {}", place.sequence));
                }
                TakesAnswer::Done(told.join(", "))
            }
            TakesOp::LoadSequences { open } => {
                let all = t.sequences()?;
                let open = match open.filter(|name| all.iter().any(|s| s.name == *name)) {
                    Some(name) => {
                        let sequence = t.sequence(&name)?;
                        let mut jobs = Vec::new();
                        for id in sequence.shots.iter().flat_map(|s| s.takes.iter()) {
                            let query = JobQuery {
                                local_id: Some(*id),
                                ..JobQuery::default()
                            };
                            Ledger::query(&dir, &query, |job| jobs.push(job))?;
                        }
                        Some((sequence, jobs))
                    }
                    None => None,
                };
                TakesAnswer::Sequences { all, open }
            }
            TakesOp::NewSequence(name) => {
                t.new_sequence(&name)?;
                TakesAnswer::Done(format!("sequence {} made", name.trim()))
            }
            TakesOp::AddShot { sequence, take } => {
                let shot = t.add_shot(&sequence, Some(take))?;
                TakesAnswer::Done(format!("#{take} is shot {shot} of {sequence}"))
            }
            TakesOp::AddTake {
                sequence,
                shot,
                take,
            } => {
                t.add_take(&sequence, shot, take)?;
                TakesAnswer::Done(format!("#{take} is a take of shot {shot} of {sequence}"))
            }
            TakesOp::Choose {
                sequence,
                shot,
                take,
            } => {
                t.choose(&sequence, shot, take)?;
                TakesAnswer::Done(format!("#{take} chosen for shot {shot}"))
            }
            TakesOp::MoveShot { sequence, shot, to } => {
                t.move_shot(&sequence, shot, to)?;
                TakesAnswer::Done(format!("shot {shot} is shot {to} now"))
            }
            TakesOp::RemoveShot { sequence, shot } => {
                t.remove_shot(&sequence, shot)?;
                TakesAnswer::Done(format!("shot {shot} removed (its jobs stay)"))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_links_and_sequences_go_to_the_ledger_and_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut io = TakesIo::new(dir.path());
        let done = io.apply(TakesOp::Mark {
            id: 3,
            mark: Some(Mark::Reject),
            reason: Some("motion".into()),
        });
        assert_eq!(done, TakesAnswer::Done("#3 rejected: motion".into()));
        match io.apply(TakesOp::LoadMarks) {
            TakesAnswer::Marks(marks) => {
                assert_eq!(marks.len(), 1);
                assert_eq!(marks[0].1.reason.as_deref(), Some("motion"));
            }
            other => panic!("{other:?}"),
        }
        io.apply(TakesOp::NewSequence("pier".into()));
        io.apply(TakesOp::AddShot {
            sequence: "pier".into(),
            take: 3,
        });
        // A continuation of shot 1's take is a take of shot 2; a hero, of shot 1.
        let told = io.apply(TakesOp::Link {
            child: 4,
            parent: 3,
            kind: LinkKind::Continues,
        });
        assert_eq!(
            told,
            TakesAnswer::Done("#4 continues #3, a take of shot 2 of pier".into())
        );
        io.apply(TakesOp::Link {
            child: 5,
            parent: 3,
            kind: LinkKind::Hero,
        });
        match io.apply(TakesOp::LoadLineage(3)) {
            TakesAnswer::Lineage(l) => {
                assert_eq!(l.children, [(4, LinkKind::Continues), (5, LinkKind::Hero)]);
                assert_eq!(l.placements.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        // A take whose job the ledger does not hold comes without its record.
        match io.apply(TakesOp::LoadSequences {
            open: Some("pier".into()),
        }) {
            TakesAnswer::Sequences { all, open } => {
                assert_eq!(all.len(), 1);
                let (sequence, jobs) = open.unwrap();
                assert_eq!(sequence.shots[0].chosen, Some(3));
                assert_eq!(sequence.shots[0].takes, [3, 5]);
                assert_eq!(sequence.shots[1].takes, [4]);
                assert_eq!(sequence.shots[1].chosen, None);
                assert!(jobs.is_empty());
            }
            other => panic!("{other:?}"),
        }
        let refused = io.apply(TakesOp::NewSequence("pier".into()));
        assert!(matches!(refused, TakesAnswer::Failed(why) if why.contains("already")));
    }
}
