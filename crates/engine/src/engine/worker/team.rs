//! The worker's side of the team's work on the server: pictures of finished videos, the job
//! list, and jobs made elsewhere taken into the ledger.

use std::path::PathBuf;

use super::super::job::{JobRecord, LocalId, Submission};
use super::super::lifecycle::place::Place;
use super::super::phase::Phase;
use super::super::tasks::{Kind, Owner};
use super::super::{Event, Failure, FailureKind, remote, thumbnail};
use super::{Internal, Worker};
use crate::api::types::Job;
use crate::kling::{KlingRequest, MODEL_ID};
use crate::sanitize::sanitize;

const HALTED: &str = "the API refused the credentials; refresh first";

fn halted(doing: &str) -> Failure {
    Failure::new(FailureKind::Credentials, format!("{doing}: {HALTED}"))
}

impl Worker {
    /// Answers a [`super::Command::Thumbnail`]: from disk at once, else once fetched (one
    /// fetch per video, however many ask).
    pub(super) fn picture(&mut self, seq: u64, local_id: LocalId) {
        let answer = |worker: &Self, result: Result<PathBuf, Failure>| {
            worker.emit(Event::Thumbnail {
                seq,
                local_id,
                result,
            });
        };
        if !self.ledger.admit(local_id) {
            let why = format!("no job #{local_id} in the ledger");
            return answer(self, Err(Failure::new(FailureKind::NotFound, why)));
        }
        let asset_id = match self.ledger.job(local_id) {
            Some(job) if job.succeeded() => job.downloads.first().map(|d| d.asset_id.clone()),
            _ => None,
        };
        let Some(asset_id) = asset_id else {
            let why = format!("job #{local_id} has no finished video to show");
            return answer(self, Err(Failure::new(FailureKind::NotFound, why)));
        };
        let dir = self.ledger.dir().join(thumbnail::FOLDER);
        if let Some(path) = thumbnail::cached(&dir, &asset_id) {
            return answer(self, Ok(path));
        }
        if self.halted.is_some() {
            return answer(self, Err(halted("no picture")));
        }
        let waiting = self.pictures.entry(asset_id.clone()).or_default();
        waiting.push((seq, local_id));
        if waiting.len() > 1 {
            return;
        }
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        self.tasks
            .spawn_for(Owner::Engine, Kind::Picture, async move {
                let result = thumbnail::fetch(&client, &dir, &asset_id).await;
                let _ = tx.send(Internal::Pictured { asset_id, result });
            });
    }

    pub(super) fn pictured(&mut self, asset_id: &str, result: Result<PathBuf, String>) {
        if let Err(e) = &result {
            tracing::warn!("picture of asset {}: {e}", sanitize(asset_id));
        }
        let result = result.map_err(|e| Failure::new(FailureKind::Network, e));
        for (seq, local_id) in self.pictures.remove(asset_id).unwrap_or_default() {
            self.emit(Event::Thumbnail {
                seq,
                local_id,
                result: result.clone(),
            });
        }
    }

    /// Answers a [`super::Command::Remote`] once every page is read.
    pub(super) fn list_remote(&mut self, seq: u64, since: Option<String>) {
        let since = match since.as_deref().map(remote::check_since).transpose() {
            Ok(since) => since,
            Err(e) => {
                return self.emit(Event::Remote {
                    seq,
                    result: Err(Failure::invalid(e)),
                    incomplete: None,
                });
            }
        };
        if self.halted.is_some() {
            let result = Err(halted("not listed"));
            return self.emit(Event::Remote {
                seq,
                result,
                incomplete: None,
            });
        }
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        let asker = Owner::Question(seq);
        self.tasks.spawn_for(asker, Kind::Listing, async move {
            let result = remote::list(&client, since.as_deref())
                .await
                .map_err(|e| Failure::from(&e).context("cannot list the team's jobs"));
            let _ = tx.send(Internal::Listed { seq, result });
        });
    }

    pub(super) fn listed(&mut self, seq: u64, result: Result<(Vec<Job>, Option<String>), Failure>) {
        let mut incomplete = None;
        let result = result.map(|(jobs, cut)| {
            if let Some(message) = &cut {
                tracing::warn!("{message}");
            }
            incomplete = cut;
            remote::mark(&jobs, &self.ledger.local_ids())
        });
        self.emit(Event::Remote {
            seq,
            result,
            incomplete,
        });
    }

    /// Takes up a [`super::Command::Import`]: jobs the ledger has are answered with their
    /// numbers; the others are fetched first (answered in [`Worker::fetched`]).
    pub(super) fn import(&mut self, seq: u64, job_ids: Vec<String>, dir: Option<PathBuf>) {
        let mut ids: Vec<String> = Vec::new();
        for id in job_ids.into_iter().map(|id| id.trim().to_string()) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if self.halted.is_some() || self.stopping {
            let why = if self.stopping {
                Failure::new(
                    FailureKind::Unavailable,
                    "not imported: the engine is stopping; import again in a moment",
                )
            } else {
                halted("not imported")
            };
            let results = ids.into_iter().map(|id| (id, Err(why.clone()))).collect();
            return self.emit(Event::Imported { seq, results });
        }
        let known: Vec<bool> = ids
            .iter()
            .map(|id| self.ledger.find_server_job(id).is_some())
            .collect();
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        let asker = Owner::Question(seq);
        self.tasks.spawn_for(asker, Kind::Import, async move {
            let mut jobs = Vec::with_capacity(ids.len());
            for (id, known) in ids.into_iter().zip(known) {
                let fetched = if known {
                    None
                } else {
                    Some(client.get_job(&id).await.map_err(|e| Failure::from(&e)))
                };
                jobs.push((id, fetched));
            }
            let _ = tx.send(Internal::Fetched {
                seq,
                download_dir: dir,
                jobs,
            });
        });
    }

    pub(super) fn fetched(
        &mut self,
        seq: u64,
        dir: Option<PathBuf>,
        jobs: Vec<(String, Option<Result<Job, Failure>>)>,
    ) {
        let mut results = Vec::with_capacity(jobs.len());
        for (id, fetched) in jobs {
            // Looked up again: imported meanwhile (by another client) is imported once.
            let result = match (self.ledger.find_server_job(&id), fetched) {
                (Some(local_id), _) => {
                    self.emit_job(local_id);
                    Ok(local_id)
                }
                (None, Some(Ok(job))) => self.take_in(&id, job, dir.clone()),
                (None, Some(Err(e))) => Err(e.context("not imported")),
                (None, None) => Err(Failure::new(
                    FailureKind::Unavailable,
                    "not imported: it left the ledger meanwhile; import it again",
                )),
            };
            if let Err(e) = &result {
                tracing::warn!("import of {}: {e}", sanitize(&id));
            }
            results.push((sanitize(&id), result));
        }
        self.emit(Event::Imported { seq, results });
    }

    /// Records `job` (fetched as `id`) as accepted and follows it like any job.
    fn take_in(&mut self, id: &str, job: Job, dir: Option<PathBuf>) -> Result<LocalId, Failure> {
        if job.job_id != id {
            return Err(Failure::new(
                FailureKind::Network,
                "not imported: the server answered with another job",
            ));
        }
        match remote::model_of(&job) {
            Some(model) if model != MODEL_ID => {
                return Err(Failure::invalid(format!(
                    "not imported: made with {}, not Kling V3 Omni ({MODEL_ID})",
                    sanitize(model)
                )));
            }
            Some(_) => {}
            // The SDK defines no model id in a job's input: taken, and said.
            None => self.emit(Event::Notice {
                message: format!(
                    "{}: the server does not say which model made it; imported as Kling V3 \
                     Omni",
                    sanitize(id)
                ),
            }),
        }
        let request = job
            .metadata
            .input
            .as_ref()
            .map(KlingRequest::from_recorded)
            .unwrap_or_default();
        // Its own creation time, so the history sorts it where it belongs.
        let created_at = job
            .created_at
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .unwrap_or_else(jiff::Timestamp::now)
            .to_string();
        let mut record = JobRecord::new(0, created_at, request);
        record.submission = Submission::Accepted;
        record.job_id = Some(job.job_id.clone());
        record.download_dir = dir;
        let local_id = self.ledger.record_import(record).map_err(|e| {
            Failure::from(e).context("not imported: cannot record it in the ledger")
        })?;
        tracing::info!("job {local_id}: imported {}", sanitize(id));
        if let Some(job) = self.ledger.job(local_id) {
            self.phases.set(local_id, Phase::of(job));
        }
        // New to this ledger: when it is done, the hook runs (as for a job sent here).
        self.told.insert(local_id, Place::default());
        // The answer just fetched is its first poll, and tells clients of it.
        self.schedule.add(local_id, false);
        self.polled(local_id, Ok(job));
        Ok(local_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_import_is_accepted_with_its_server_id() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = crate::engine::Ledger::open(dir.path()).unwrap();
        let mut record = JobRecord::new(0, "2026-01-01T00:00:00Z".into(), KlingRequest::new("x"));
        record.submission = Submission::Accepted;
        record.job_id = Some("job_1".into());
        let first = ledger.record_import(record.clone()).unwrap();
        let second = ledger.record_import(record).unwrap();
        assert_ne!(first, second);
        assert_eq!(ledger.find_server_job("job_1"), Some(first));
        assert_eq!(ledger.local_ids().get("job_1"), Some(&first));
        drop(ledger);
        let ledger = crate::engine::Ledger::open(dir.path()).unwrap();
        let job = ledger.job(first).unwrap();
        assert_eq!(job.submission, Submission::Accepted);
        assert!(job.needs_poll());
    }
}
