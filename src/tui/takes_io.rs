//! The runner's side of the takes: each [`TakesOp`] carried out on the ledger's tables, its
//! answer for the app. Local SQLite, quick enough to do between two frames. Every change is
//! also written to the provenance beside the videos it touches (unless config.toml turns
//! sidecars off), as the command line does.

use std::path::{Path, PathBuf};

use crate::engine::{JobQuery, JobRecord, Ledger, LocalId};
use crate::sanitize::sanitize;
use crate::takes::{LinkKind, Mark, Takes, TakesError, sidecar};

use super::takes::{Lineage, TakesAnswer, TakesOp};

/// The takes tables of one ledger, opened when first needed.
pub struct TakesIo {
    dir: PathBuf,
    takes: Option<Takes>,
    /// Provenance files are kept current beside the videos.
    sidecars: bool,
}

impl TakesIo {
    pub fn new(dir: &Path, sidecars: bool) -> Self {
        Self {
            dir: dir.to_path_buf(),
            takes: None,
            sidecars,
        }
    }

    /// The ledger's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn apply(&mut self, op: TakesOp) -> TakesAnswer {
        let (answer, touched) = match self.run(op) {
            Ok(done) => done,
            Err(e) => return TakesAnswer::Failed(sanitize(&e.to_string())),
        };
        if !self.sidecars || touched.is_empty() {
            return answer;
        }
        let Some(takes) = &self.takes else {
            return answer;
        };
        match refresh(&self.dir, takes, &touched) {
            Ok(()) => answer,
            Err(why) => TakesAnswer::Failed(match answer {
                TakesAnswer::Done(text) if !text.is_empty() => {
                    format!("{text}; provenance not updated: {}", sanitize(&why))
                }
                _ => format!("provenance not updated: {}", sanitize(&why)),
            }),
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

    /// The answer, and the jobs whose provenance the change touched.
    fn run(&mut self, op: TakesOp) -> Result<(TakesAnswer, Vec<LocalId>), TakesError> {
        let dir = self.dir.clone();
        let t = self.takes()?;
        let done = |text: String, touched: Vec<LocalId>| Ok((TakesAnswer::Done(text), touched));
        match op {
            TakesOp::LoadMarks => Ok((TakesAnswer::Marks(t.marked(None)?), Vec::new())),
            TakesOp::Mark { id, mark, reason } => {
                t.mark(id, mark, reason.as_deref())?;
                let text = match (mark, reason) {
                    (None, _) => format!("#{id} unmarked"),
                    (Some(Mark::Keep), _) => format!("#{id} kept"),
                    (Some(Mark::Reject), Some(reason)) => format!("#{id} rejected: {reason}"),
                    (Some(Mark::Reject), None) => format!("#{id} rejected"),
                };
                done(text, vec![id])
            }
            TakesOp::LoadLineage(id) => {
                let lineage = Lineage {
                    id,
                    parent: t.parent_of(id)?,
                    children: t.children_of(id)?,
                    placements: t.placements(id)?,
                };
                Ok((TakesAnswer::Lineage(lineage), Vec::new()))
            }
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
                // As `submit --after` does: a continuation of a shot's chosen take is a take
                // of the next shot; a hero goes beside its draft wherever that is.
                for place in t.placements(parent)? {
                    let shot = match kind {
                        LinkKind::Continues if place.chosen => place.shot + 1,
                        LinkKind::Continues => continue,
                        LinkKind::Hero => place.shot,
                    };
                    t.add_take(&place.sequence, shot, child)?;
                    told.push(format!("a take of shot {shot} of {}", place.sequence));
                }
                done(told.join(", "), vec![child, parent])
            }
            TakesOp::LoadSequences { open } => {
                let all = t.sequences()?;
                let open = match open.filter(|name| all.iter().any(|s| s.name == *name)) {
                    Some(name) => {
                        let sequence = t.sequence(&name)?;
                        let ids: Vec<LocalId> = sequence
                            .shots
                            .iter()
                            .flat_map(|s| s.takes.iter().copied())
                            .collect();
                        Some((sequence, records(&dir, &ids)?))
                    }
                    None => None,
                };
                Ok((TakesAnswer::Sequences { all, open }, Vec::new()))
            }
            TakesOp::NewSequence(name) => {
                t.new_sequence(&name)?;
                done(format!("sequence {} made", name.trim()), Vec::new())
            }
            TakesOp::AddShot { sequence, take } => {
                let shot = t.add_shot(&sequence, Some(take))?;
                done(format!("#{take} is shot {shot} of {sequence}"), vec![take])
            }
            TakesOp::AddTake {
                sequence,
                shot,
                take,
            } => {
                t.add_take(&sequence, shot, take)?;
                let text = format!("#{take} is a take of shot {shot} of {sequence}");
                done(text, vec![take])
            }
            TakesOp::Choose {
                sequence,
                shot,
                take,
            } => {
                // The take it replaces is no longer chosen: its provenance says so too.
                let before = t.sequence(&sequence)?;
                let old = before
                    .shots
                    .get((shot as usize).wrapping_sub(1))
                    .and_then(|s| s.chosen);
                t.choose(&sequence, shot, take)?;
                let touched = std::iter::once(take).chain(old).collect();
                done(format!("#{take} chosen for shot {shot}"), touched)
            }
            TakesOp::MoveShot { sequence, shot, to } => {
                t.move_shot(&sequence, shot, to)?;
                let touched = every_take(t, &sequence)?;
                done(format!("shot {shot} is shot {to} now"), touched)
            }
            TakesOp::RemoveShot { sequence, shot } => {
                // Its takes leave, and every later shot's number changes.
                let touched = every_take(t, &sequence)?;
                t.remove_shot(&sequence, shot)?;
                done(format!("shot {shot} removed (its jobs stay)"), touched)
            }
        }
    }
}

/// Every take of sequence `name`.
fn every_take(t: &Takes, name: &str) -> Result<Vec<LocalId>, TakesError> {
    Ok(t.sequence(name)?
        .shots
        .iter()
        .flat_map(|s| s.takes.iter().copied())
        .collect())
}

/// The ledger's records of jobs `ids`, those it holds.
fn records(dir: &Path, ids: &[LocalId]) -> Result<Vec<JobRecord>, TakesError> {
    let mut jobs = Vec::new();
    for id in ids {
        let query = JobQuery {
            local_id: Some(*id),
            ..JobQuery::default()
        };
        Ledger::query(dir, &query, |job| jobs.push(job))?;
    }
    Ok(jobs)
}

/// Writes the provenance of jobs `ids`' saved videos again.
fn refresh(dir: &Path, takes: &Takes, ids: &[LocalId]) -> Result<(), String> {
    let jobs = records(dir, ids).map_err(|e| e.to_string())?;
    let problems: Vec<String> = jobs
        .iter()
        .filter_map(|job| sidecar::write(takes, job).err())
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_links_and_sequences_go_to_the_ledger_and_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut io = TakesIo::new(dir.path(), true);
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

    /// A ledger holding job #1, finished, its video saved in `dir`.
    fn saved_job(dir: &Path) -> PathBuf {
        use crate::api::types::JobStatus;
        use crate::engine::Record;
        let video = dir.join("take.mp4");
        std::fs::write(&video, b"video").unwrap();
        let mut ledger = Ledger::open(dir).unwrap();
        let request = crate::kling::KlingRequest::new("the pier at dusk");
        let id = ledger
            .record_intent("2026-11-24T10:00:00Z".into(), request, None, None)
            .unwrap();
        for record in [
            Record::Accepted {
                local_id: id,
                job_id: "job_1".into(),
                cost: Some(75.0),
            },
            Record::Status {
                local_id: id,
                status: JobStatus::Success,
                progress: 1.0,
                asset_ids: vec!["asset_1".into()],
                error: None,
                cost: Some(75.0),
                hint: None,
                history: vec![],
            },
            Record::Downloaded {
                local_id: id,
                index: 0,
                file: video.clone(),
                size: Some(5),
                last_frame: Some("asset_1_last".into()),
                duration: Some(5.0),
            },
        ] {
            ledger.append(record, false).unwrap();
        }
        video
    }

    #[test]
    fn a_mark_set_in_the_app_is_written_to_the_provenance_unless_it_is_off() {
        let dir = tempfile::tempdir().unwrap();
        let video = saved_job(dir.path());
        let sidecar = sidecar::path_for(&video);
        let mut off = TakesIo::new(dir.path(), false);
        off.apply(TakesOp::Mark {
            id: 1,
            mark: Some(Mark::Keep),
            reason: None,
        });
        assert!(!sidecar.exists());
        let mut io = TakesIo::new(dir.path(), true);
        let answer = io.apply(TakesOp::Mark {
            id: 1,
            mark: Some(Mark::Reject),
            reason: Some("motion".into()),
        });
        assert_eq!(answer, TakesAnswer::Done("#1 rejected: motion".into()));
        let text = std::fs::read_to_string(&sidecar).unwrap();
        assert!(text.contains("motion"), "{text}");
        // The video's bytes stay as they were.
        assert_eq!(std::fs::read(&video).unwrap(), b"video");
    }
}
