//! Which jobs `watch` follows and when it is over. Pure, so the rules have table tests: the
//! loop in `watch.rs` only feeds it what the engine says.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{JobRecord, LocalId, Outcome, Place, Wait, Work};

/// The jobs a watch is about.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scope {
    /// Those not final when first seen, and every job made while it runs (the default:
    /// "wait for my jobs", not a history of old failures).
    Unfinished,
    /// Every job the engine holds.
    All,
    /// The jobs of one batch, the latest attempt of each of its requests.
    Batch(String),
    /// These, by their number in the ledger.
    Named(BTreeSet<LocalId>),
}

pub(super) struct Following {
    scope: Scope,
    /// `--no-download`: a succeeded job is done for this watch whether or not its files are
    /// saved (an engine set to download them goes on doing so).
    no_download: bool,
    /// With [`Scope::Unfinished`], each job's verdict at first sight, kept for good.
    decided: BTreeMap<LocalId, bool>,
}

impl Following {
    pub(super) fn new(scope: Scope, no_download: bool) -> Self {
        Self {
            scope,
            no_download,
            decided: BTreeMap::new(),
        }
    }

    pub(super) fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Whether `job` is one of this watch's.
    pub(super) fn follows(&mut self, job: &JobRecord) -> bool {
        match &self.scope {
            Scope::All => true,
            Scope::Batch(name) => job.batch.as_ref().is_some_and(|b| &b.name == name),
            Scope::Named(ids) => ids.contains(&job.local_id),
            Scope::Unfinished => *self
                .decided
                .entry(job.local_id)
                .or_insert_with(|| !matches!(job.place, Place::Done { .. })),
        }
    }

    /// Whether `id` was seen and is followed (for events that carry only a number).
    pub(super) fn followed(&self, id: LocalId) -> bool {
        match &self.scope {
            Scope::Unfinished => self.decided.get(&id).copied().unwrap_or(false),
            Scope::Named(ids) => ids.contains(&id),
            Scope::All | Scope::Batch(_) => true,
        }
    }

    /// Where `job` is, as this watch counts it.
    pub(super) fn place(&self, job: &JobRecord) -> Place {
        let succeeded = matches!(
            job.place,
            Place::Working {
                on: Work::Downloading
            } | Place::Waits {
                why: Wait::DownloadFailed
            }
        );
        if self.no_download && succeeded {
            Place::Done {
                how: Outcome::Succeeded,
            }
        } else {
            job.place.clone()
        }
    }

    /// The jobs this watch is about, from those the engine holds (`live`) and those read from
    /// the ledger at the start (`earlier`, for named jobs and batches): the live record wins.
    /// Borrowed, not copied: this runs after every event, with a thousand jobs held.
    pub(super) fn jobs<'a>(
        &mut self,
        earlier: &'a BTreeMap<LocalId, JobRecord>,
        live: &'a BTreeMap<LocalId, JobRecord>,
    ) -> Vec<&'a JobRecord> {
        let older = earlier.iter().filter(|(id, _)| !live.contains_key(id));
        let mut all: Vec<&JobRecord> = older.chain(live.iter()).map(|(_, job)| job).collect();
        all.retain(|job| self.follows(job));
        if !matches!(self.scope, Scope::Batch(_)) {
            return all;
        }
        // A request sent again after a failure stands for it: the latest attempt counts.
        let mut latest: BTreeMap<usize, &JobRecord> = BTreeMap::new();
        for job in all {
            if let Some(tag) = &job.batch {
                let newer = latest
                    .get(&tag.index)
                    .is_none_or(|j| j.local_id < job.local_id);
                if newer {
                    latest.insert(tag.index, job);
                }
            }
        }
        latest.into_values().collect()
    }

    /// Once every followed job is at rest, the places to sum up; `None` while one works.
    /// While a refresh is under way, a job it may start again (given up, unresolved, a failed
    /// download) is not taken at its word yet.
    pub(super) fn over(&self, jobs: &[&JobRecord], refreshing: bool) -> Option<Vec<Place>> {
        let places: Vec<Place> = jobs.iter().map(|j| self.place(j)).collect();
        let working = places.iter().any(|p| !p.at_rest());
        let retried = refreshing
            && places
                .iter()
                .any(|p| matches!(p, Place::Waits { why } if !matches!(why, Wait::Held { .. })));
        (!working && !retried).then_some(places)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: LocalId, place: Place) -> JobRecord {
        let mut job = JobRecord::new(id, "2026-12-01T10:00:00Z".into(), Default::default());
        job.place = place;
        job
    }

    fn done(how: Outcome) -> Place {
        Place::Done { how }
    }

    fn working(on: Work) -> Place {
        Place::Working { on }
    }

    #[test]
    fn by_default_only_jobs_unfinished_at_first_sight_are_followed_for_good() {
        let mut f = Following::new(Scope::Unfinished, false);
        let old = job(1, done(Outcome::Failed));
        let new = job(2, working(Work::OnServer));
        assert!(!f.follows(&old));
        assert!(f.follows(&new));
        // The new job ends: still followed, so its outcome is summed up.
        assert!(f.follows(&job(2, done(Outcome::Saved))));
        assert!(f.followed(2) && !f.followed(1) && !f.followed(3));
        let live: BTreeMap<_, _> = [(1, old), (2, job(2, done(Outcome::Saved)))].into();
        let none = BTreeMap::new();
        let mine = f.jobs(&none, &live);
        assert_eq!(mine.len(), 1);
        assert_eq!(f.over(&mine, false), Some(vec![done(Outcome::Saved)]));
    }

    #[test]
    fn a_watch_is_over_when_every_followed_job_rests() {
        let f = Following::new(Scope::All, false);
        let cases: &[(&[Place], bool, bool)] = &[
            (&[done(Outcome::Saved)], false, true),
            (
                &[done(Outcome::Saved), working(Work::Downloading)],
                false,
                false,
            ),
            (
                &[Place::Waits {
                    why: Wait::Held { cap: 5.0 },
                }],
                true,
                true,
            ),
            (
                &[Place::Waits {
                    why: Wait::GaveUpPolling,
                }],
                false,
                true,
            ),
            // A refresh may start it again: wait for the refresh's answer first.
            (
                &[Place::Waits {
                    why: Wait::GaveUpPolling,
                }],
                true,
                false,
            ),
            (&[], false, true),
        ];
        for (places, refreshing, over) in cases {
            let jobs: Vec<JobRecord> = places
                .iter()
                .enumerate()
                .map(|(i, p)| job(i as LocalId + 1, p.clone()))
                .collect();
            let jobs: Vec<&JobRecord> = jobs.iter().collect();
            assert_eq!(
                f.over(&jobs, *refreshing).is_some(),
                *over,
                "{places:?} refreshing {refreshing}"
            );
        }
    }

    #[test]
    fn without_downloads_a_succeeded_job_is_done_while_its_file_is_fetched() {
        let downloading = job(1, working(Work::Downloading));
        let failed_download = job(
            2,
            Place::Waits {
                why: Wait::DownloadFailed,
            },
        );
        let f = Following::new(Scope::All, true);
        assert_eq!(
            f.over(&[&downloading, &failed_download], false),
            Some(vec![done(Outcome::Succeeded), done(Outcome::Succeeded)])
        );
        let f = Following::new(Scope::All, false);
        assert_eq!(f.over(&[&downloading], false), None);
        assert!(f.over(&[&failed_download], false).is_some());
    }

    #[test]
    fn named_jobs_come_from_the_ledger_when_the_engine_no_longer_holds_them() {
        let mut f = Following::new(Scope::Named([3, 4].into()), false);
        let earlier: BTreeMap<_, _> = [(3, job(3, done(Outcome::Failed)))].into();
        let live: BTreeMap<_, _> = [
            (4, job(4, working(Work::OnServer))),
            (5, job(5, working(Work::OnServer))),
        ]
        .into();
        let mine = f.jobs(&earlier, &live);
        assert_eq!(
            mine.iter().map(|j| j.local_id).collect::<Vec<_>>(),
            vec![3, 4]
        );
        assert_eq!(f.over(&mine, false), None);
    }
}
