//! Where a job is: the one answer to "is it done?". The engine computes it (from the job's
//! record and, while it runs, the job's phase) and sends it with every job; the app, the
//! scripts, the hub, the `on_finish` hook and the engine's own rule for coming to rest all
//! read it instead of judging the record themselves.

use serde::{Deserialize, Serialize};

use super::job::{JobRecord, Submission};
use super::phase::Phase;
use crate::api::types::JobStatus;

/// Where a job is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "kebab-case")]
pub enum Place {
    /// Something is under way for it, or will be by itself.
    Working { on: Work },
    /// Nothing happens to it until a person acts (or, for the daily cap, the day turns).
    Waits { why: Wait },
    /// Nothing more will happen to it.
    Done { how: Outcome },
}

/// What is under way for a working job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Work {
    /// Its cost is being asked before a spend cap lets it go.
    Quoting,
    /// Held here while the team is at its concurrency ceiling.
    QueuedLocally,
    Uploading,
    Submitting,
    /// Its POST's answer was lost: it is looked for in the server's job list.
    Searching,
    /// On the server, not final: polled.
    OnServer,
    /// The server says success but has not named the video yet: polled until it does.
    WaitingForVideo,
    Downloading,
}

/// Why a job waits for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "for", rename_all = "kebab-case")]
pub enum Wait {
    /// A spend cap holds it: raising the cap (or, for the daily cap, the next day) sends it.
    Held { cap: f64 },
    /// Its POST's answer was lost and the search did not find it: send again or refresh.
    Unresolved,
    /// Its polls kept failing and were given up: a refresh looks again.
    GaveUpPolling,
    /// It succeeded, but the server never named its video.
    NoVideo,
    /// A download failed and is not retried by itself: download again.
    DownloadFailed,
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Succeeded, and every video is on disk and verified.
    Saved,
    /// Succeeded; the videos stay on the server (automatic downloads are off).
    Succeeded,
    Failed,
    Canceled,
    /// The server refused it (or its files could not be uploaded): nothing was created.
    Rejected,
}

impl Default for Place {
    /// A job of which nothing is known yet is on its way.
    fn default() -> Self {
        Place::Working {
            on: Work::QueuedLocally,
        }
    }
}

impl Place {
    /// Where `job` is: from its record alone, or with `phase`, what this run of the engine
    /// knows of it besides (a search that found nothing, a download retry that is due).
    /// `auto_download`: a success is done only once its videos are saved.
    pub(crate) fn of(job: &JobRecord, phase: Option<&Phase>, auto_download: bool) -> Self {
        let working = |on| Place::Working { on };
        let waits = |why| Place::Waits { why };
        let done = |how| Place::Done { how };
        let gave_up = job.trouble.as_ref().is_some_and(|t| t.gave_up);
        match &job.submission {
            Submission::Queued => match job.held.as_ref().map(|h| h.cap) {
                Some(Some(cap)) => waits(Wait::Held { cap }),
                Some(None) => working(Work::Quoting),
                None => working(Work::QueuedLocally),
            },
            Submission::Uploading => working(Work::Uploading),
            Submission::Sending => working(Work::Submitting),
            Submission::Unconfirmed { .. } if phase == Some(&Phase::Unresolved) => {
                waits(Wait::Unresolved)
            }
            Submission::Unconfirmed { .. } => working(Work::Searching),
            Submission::Rejected { .. } => done(Outcome::Rejected),
            Submission::Accepted if job.awaits_video() && gave_up => waits(Wait::NoVideo),
            Submission::Accepted if job.awaits_video() => working(Work::WaitingForVideo),
            Submission::Accepted => match job.status {
                Some(JobStatus::Success) if job.fully_downloaded() => done(Outcome::Saved),
                Some(JobStatus::Success) => {
                    let fetching = phase.is_some_and(Phase::busy);
                    let failed = job.downloads.iter().any(|d| d.error.is_some());
                    if fetching {
                        working(Work::Downloading)
                    } else if failed {
                        waits(Wait::DownloadFailed)
                    } else if auto_download {
                        working(Work::Downloading)
                    } else {
                        done(Outcome::Succeeded)
                    }
                }
                Some(JobStatus::Failure) => done(Outcome::Failed),
                Some(JobStatus::Canceled) => done(Outcome::Canceled),
                _ if gave_up => waits(Wait::GaveUpPolling),
                _ => working(Work::OnServer),
            },
        }
    }

    /// Where `job` is by its record alone, as an engine that downloads (or not) would judge
    /// it with nothing in flight: for what reads records without an engine.
    pub fn judge(job: &JobRecord, auto_download: bool) -> Self {
        Self::of(job, None, auto_download)
    }

    /// Where `job` is by its record alone, as any engine would take it up: what the ledger
    /// files it under (finished or not).
    pub(crate) fn on_record(job: &JobRecord) -> Self {
        Self::of(job, None, true)
    }

    /// Nothing more will happen to it.
    pub fn is_done(&self) -> bool {
        matches!(self, Place::Done { .. })
    }

    /// Something is under way for it: the engine has not come to rest.
    pub fn is_working(&self) -> bool {
        matches!(self, Place::Working { .. })
    }

    /// At rest: done, or waiting for a person.
    pub fn at_rest(&self) -> bool {
        !self.is_working()
    }

    /// The job is still the server's to change: the engine stays up for it, even when it
    /// has given up asking.
    pub fn on_server(&self) -> bool {
        matches!(
            self,
            Place::Working {
                on: Work::OnServer | Work::WaitingForVideo
            } | Place::Waits {
                why: Wait::GaveUpPolling | Wait::NoVideo
            }
        )
    }

    /// The spend cap that holds it, if one does.
    pub fn held_by(&self) -> Option<f64> {
        match self {
            Place::Waits {
                why: Wait::Held { cap },
            } => Some(*cap),
            _ => None,
        }
    }

    /// The job has just finished on the server, as the `on_finish` hook is told: it came to
    /// a server's end (a rejected POST never reached one) from somewhere that was not done.
    pub fn finished_since(&self, before: Option<&Place>) -> bool {
        let server_end = matches!(
            self,
            Place::Done {
                how: Outcome::Saved | Outcome::Succeeded | Outcome::Failed | Outcome::Canceled
            }
        );
        server_end && before.is_some_and(|b| !b.is_done())
    }
}

#[cfg(test)]
mod tests {
    use super::super::job::{DownloadRecord, Hold, PollTrouble};
    use super::super::phase::{Context, Parts, Step};
    use super::*;
    use crate::kling::KlingRequest;

    fn job(submission: Submission, status: Option<JobStatus>) -> JobRecord {
        let mut job = JobRecord::new(1, "2026-01-01T00:00:00Z".into(), KlingRequest::new("x"));
        job.submission = submission;
        job.status = status;
        job
    }

    fn hold(cap: Option<f64>) -> Option<Hold> {
        Some(Hold {
            reason: "cap".into(),
            cap,
            until: None,
        })
    }

    fn gave_up() -> Option<PollTrouble> {
        Some(PollTrouble {
            since: "2026-01-01T00:00:00Z".into(),
            failures: 9,
            error: "timed out".into(),
            gave_up: true,
        })
    }

    fn video(file: Option<&str>, error: Option<&str>) -> DownloadRecord {
        DownloadRecord {
            asset_id: "asset_1".into(),
            file: file.map(Into::into),
            error: error.map(Into::into),
            ..DownloadRecord::default()
        }
    }

    /// A download in flight, as `apply` makes it.
    fn fetching(job: &JobRecord) -> Phase {
        let at = Context {
            job: Some(job),
            halted: false,
            stopping: false,
        };
        Phase::Downloading(Parts::default())
            .apply(1, Step::Fetch { index: 0 }, &at)
            .map(|next| next.phase)
            .unwrap_or(Phase::Settled)
    }

    #[test]
    fn every_state_of_a_job_has_one_place() {
        use Outcome as O;
        use Place::{Done, Waits, Working};
        use Submission as S;
        use Wait as W;
        use Work as K;
        let ok = Some(JobStatus::Success);
        let mut held = job(S::Queued, None);
        held.held = hold(Some(100.0));
        let mut quoting = job(S::Queued, None);
        quoting.held = hold(None);
        let unconfirmed = job(
            S::Unconfirmed {
                reason: "lost".into(),
            },
            None,
        );
        let mut lost_polls = job(S::Accepted, Some(JobStatus::InProgress));
        lost_polls.trouble = gave_up();
        let mut no_video = job(S::Accepted, ok.clone());
        no_video.trouble = gave_up();
        let mut saved = job(S::Accepted, ok.clone());
        saved.downloads = vec![video(Some("/v.mp4"), None)];
        let mut unsaved = job(S::Accepted, ok.clone());
        unsaved.downloads = vec![video(None, None)];
        let mut broken = job(S::Accepted, ok.clone());
        broken.downloads = vec![video(None, Some("disk full"))];
        let table: Vec<(&str, JobRecord, Option<Phase>, bool, Place)> = vec![
            (
                "queued",
                job(S::Queued, None),
                None,
                true,
                Working {
                    on: K::QueuedLocally,
                },
            ),
            (
                "held",
                held.clone(),
                None,
                true,
                Waits {
                    why: W::Held { cap: 100.0 },
                },
            ),
            (
                "quoting",
                quoting.clone(),
                None,
                true,
                Working { on: K::Quoting },
            ),
            (
                "uploading",
                job(S::Uploading, None),
                None,
                true,
                Working { on: K::Uploading },
            ),
            (
                "sending",
                job(S::Sending, None),
                None,
                true,
                Working { on: K::Submitting },
            ),
            (
                "searching",
                unconfirmed.clone(),
                None,
                true,
                Working { on: K::Searching },
            ),
            (
                "unresolved",
                unconfirmed.clone(),
                Some(Phase::Unresolved),
                true,
                Waits { why: W::Unresolved },
            ),
            (
                "rejected",
                job(
                    S::Rejected {
                        reason: "400".into(),
                    },
                    None,
                ),
                None,
                true,
                Done { how: O::Rejected },
            ),
            (
                "running",
                job(S::Accepted, Some(JobStatus::InProgress)),
                None,
                true,
                Working { on: K::OnServer },
            ),
            (
                "gave up",
                lost_polls.clone(),
                None,
                true,
                Waits {
                    why: W::GaveUpPolling,
                },
            ),
            (
                "no video yet",
                job(S::Accepted, ok.clone()),
                None,
                true,
                Working {
                    on: K::WaitingForVideo,
                },
            ),
            (
                "no video",
                no_video.clone(),
                None,
                true,
                Waits { why: W::NoVideo },
            ),
            ("saved", saved.clone(), None, true, Done { how: O::Saved }),
            (
                "to fetch",
                unsaved.clone(),
                None,
                true,
                Working { on: K::Downloading },
            ),
            (
                "left on the server",
                unsaved.clone(),
                None,
                false,
                Done { how: O::Succeeded },
            ),
            (
                "fetch failed",
                broken.clone(),
                None,
                true,
                Waits {
                    why: W::DownloadFailed,
                },
            ),
            (
                "fetched again",
                broken.clone(),
                Some(fetching(&broken)),
                true,
                Working { on: K::Downloading },
            ),
            (
                "failed",
                job(S::Accepted, Some(JobStatus::Failure)),
                None,
                true,
                Done { how: O::Failed },
            ),
            (
                "canceled",
                job(S::Accepted, Some(JobStatus::Canceled)),
                None,
                true,
                Done { how: O::Canceled },
            ),
        ];
        for (name, job, phase, auto_download, want) in table {
            assert_eq!(
                Place::of(&job, phase.as_ref(), auto_download),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn the_hook_is_told_of_a_server_end_reached_in_this_run() {
        let running = Place::Working { on: Work::OnServer };
        let saved = Place::Done {
            how: Outcome::Saved,
        };
        let rejected = Place::Done {
            how: Outcome::Rejected,
        };
        assert!(saved.finished_since(Some(&running)));
        assert!(!saved.finished_since(None), "first told of already done");
        assert!(!saved.finished_since(Some(&saved)), "told again");
        assert!(
            !rejected.finished_since(Some(&running)),
            "never on the server"
        );
        assert!(!running.finished_since(Some(&running)));
    }

    #[test]
    fn the_engine_stays_up_for_what_the_server_may_still_change() {
        assert!(Place::Working { on: Work::OnServer }.on_server());
        assert!(
            Place::Waits {
                why: Wait::GaveUpPolling
            }
            .on_server()
        );
        assert!(
            !Place::Waits {
                why: Wait::Held { cap: 1.0 }
            }
            .on_server()
        );
        assert!(
            !Place::Done {
                how: Outcome::Saved
            }
            .on_server()
        );
    }
}
