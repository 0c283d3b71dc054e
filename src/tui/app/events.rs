//! What the engine tells the app: jobs, answers to its questions, and the notifications a
//! job's end deserves.

use super::{App, Cost, HISTORY_PAGE, History, Popup};
use crate::engine::{Event, JobRecord, Submission};
use crate::sanitize::sanitize;
use crate::tui::queue::Transfer;

impl App {
    pub fn on_engine(&mut self, event: Event) {
        self.dirty = true;
        match event {
            Event::Job(job) => {
                // A batch's counts and today's spend come from the engine: ask again.
                let old = self.queue.jobs.get(&job.local_id);
                if job.batch.is_some()
                    || job.held.is_some()
                    || old.is_none_or(|o| o.cost != job.cost || o.status != job.status)
                {
                    self.overview_due = true;
                }
                // Only a change seen live is news: not what a snapshot or the ledger says.
                let finished_now = old.is_some_and(|o| !o.place.is_done()) && job.place.is_done();
                let held_now = job.held.as_ref().is_some_and(|h| h.cap.is_some())
                    && old.is_some_and(|o| o.held.as_ref().is_none_or(|h| h.cap.is_none()));
                if held_now && let Some(hold) = &job.held {
                    self.warn(format!(
                        "#{} held: {}",
                        job.local_id,
                        sanitize(&hold.reason)
                    ));
                }
                self.queue.upsert(*job.clone());
                if finished_now {
                    self.tell_finished(&job);
                }
            }
            Event::Prompts { seq, prompts } => {
                if let Some(Popup::History(search)) = &mut self.popup
                    && search.pending == Some(seq)
                {
                    search.fill(prompts);
                }
            }
            Event::Overview { overview, .. } => {
                self.queue.batches = overview
                    .batches
                    .iter()
                    .map(|b| (b.name.clone(), b.clone()))
                    .collect();
                self.overview = Some(overview);
            }
            Event::Forgotten(id) => {
                if self.queue.jobs.contains_key(&id) {
                    self.say(format!(
                        "#{id} forgotten: it left the ledger (the server's job and any files stay)"
                    ));
                }
                self.queue.remove(id);
            }
            Event::DownloadProgress {
                local_id,
                index,
                bytes,
                total,
                rate,
            } => {
                self.queue
                    .transfers
                    .insert((local_id, index), Transfer { bytes, total, rate });
            }
            Event::DownloadFinished {
                local_id,
                index,
                path,
            } => {
                self.queue.transfers.remove(&(local_id, index));
                self.say(format!("saved {}", path.display()));
            }
            Event::Error { local_id, error } => {
                let message = error.message;
                if let Some(id) = local_id {
                    self.queue.transfers.retain(|(job, _), _| *job != id);
                    self.warn(format!("#{id}: {message}"));
                } else {
                    self.warn(message);
                }
            }
            Event::Estimate { seq, cost } => {
                if let Some(Popup::BatchPlan(plan)) = &mut self.popup
                    && plan.on_estimate(seq, cost.clone().map_err(|e| e.message))
                {
                } else if let Some(Popup::Hero(hero)) = &mut self.popup
                    && hero.on_estimate(seq, cost.clone().map_err(|e| e.message))
                {
                } else if seq == self.estimate_seq {
                    self.cost = match cost {
                        Ok(units) => Cost::Known(units),
                        Err(e) => Cost::Failed(e.message),
                    };
                }
            }
            Event::Notice { message } => self.say(message),
            Event::History { seq, jobs, total } => {
                if seq == self.history.seq {
                    let asked = match self.history.asked {
                        0 => HISTORY_PAGE,
                        n => n,
                    };
                    self.history.pending = false;
                    self.history.total = Some(total);
                    self.history.exhausted = jobs.len() < asked;
                    self.history.loaded += jobs.len();
                    for job in jobs {
                        // What the engine says of a job it holds is newer than the ledger.
                        self.queue.jobs.entry(job.local_id).or_insert(job);
                    }
                    if self.history.to_end {
                        self.queue.select_last();
                        self.history.to_end = !self.history.exhausted;
                    }
                }
            }
            Event::Halted { reason } => self.halted = Some(sanitize(&reason)),
            // The engine's answer says what became of it: sent, or held by a cap.
            Event::Submitted { local_id, seq } => {
                self.submitted(seq, local_id);
                self.link_child(seq, local_id);
                let hold = self.queue.jobs.get(&local_id).and_then(|j| j.held.clone());
                match hold {
                    Some(hold) => {
                        self.warn(format!("#{local_id} held: {}", sanitize(&hold.reason)))
                    }
                    None => self.say(format!("#{local_id} submitted")),
                }
            }
            // Answers to a client's own upload: the app uploads through its submissions.
            Event::Settled
            | Event::Busy
            | Event::UploadProgress { .. }
            | Event::UploadDone { .. } => {}
            Event::NotSubmitted { error, seq } => {
                self.not_submitted(seq);
                self.warn(error.message)
            }
            Event::Thumbnail {
                local_id, result, ..
            } => match result {
                Ok(file) => self.pictures.load(local_id, &file),
                Err(e) => {
                    self.pictures
                        .by_job
                        .insert(local_id, crate::tui::picture::Picture::Failed(e.message));
                }
            },
            Event::Remote {
                seq,
                result,
                incomplete,
            } => {
                if let Some(message) = incomplete {
                    self.warn(message);
                }
                if let Some(view) = &mut self.server
                    && view.pending == Some(seq)
                {
                    view.answered(result.map_err(|e| e.message));
                }
            }
            Event::Imported { results, .. } => {
                for (job_id, result) in results {
                    let shown = sanitize(&job_id);
                    match result {
                        Ok(local_id) => {
                            if let Some(view) = &mut self.server {
                                view.imported(&job_id, local_id);
                            }
                            self.say(format!(
                                "{shown} is #{local_id} in the ledger: followed and downloaded"
                            ));
                        }
                        Err(e) => self.warn(format!("{shown} not imported: {}", e.message)),
                    }
                }
            }
            Event::Attached {
                jobs,
                halted,
                restarted,
                ..
            } => {
                // The engine's word replaces everything: what finished while away is read
                // again from the ledger.
                self.queue.jobs = jobs.into_iter().map(|j| (j.local_id, j)).collect();
                self.queue.transfers.clear();
                self.halted = halted;
                self.history = History {
                    seq: self.history.seq,
                    ..History::default()
                };
                self.overview_due = true;
                if restarted {
                    self.warn("engine restarted — reattached");
                } else if self.detached.take().is_some() {
                    self.say("engine reachable again — reattached");
                }
                self.detached = None;
            }
            Event::Detached { reason, .. } => {
                self.warn(format!("engine unreachable — retrying ({reason})"));
                self.detached = Some(reason);
            }
        }
    }

    /// Notifications for a job the engine says is now done: its failure, its batch finished,
    /// the queue gone idle.
    fn tell_finished(&mut self, job: &JobRecord) {
        let id = job.local_id;
        if !job.succeeded() && job.status != Some(crate::api::types::JobStatus::Canceled) {
            let why = job
                .error
                .clone()
                .or_else(|| match &job.submission {
                    Submission::Rejected { reason } => Some(reason.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| job.state_word());
            self.notifications
                .push(("kling-tui".into(), format!("#{id} failed: {why}")));
        }
        let resting = |j: &JobRecord| j.place.at_rest();
        if let Some(tag) = &job.batch {
            let ours: Vec<&JobRecord> = self
                .queue
                .jobs
                .values()
                .filter(|j| j.batch.as_ref().is_some_and(|b| b.name == tag.name))
                .collect();
            // Every request the engine counted, not only those loaded here.
            let total = self
                .queue
                .batches
                .get(&tag.name)
                .map_or(ours.len() as u64, |b| b.total.max(ours.len() as u64));
            if ours.iter().all(|j| resting(j)) && ours.len() as u64 >= total {
                let done = ours.iter().filter(|j| j.succeeded()).count();
                let held = ours.iter().filter(|j| j.place.held_by().is_some()).count();
                let mut body = format!(
                    "batch {} finished: {done} of {} succeeded",
                    tag.name,
                    ours.len()
                );
                if held > 0 {
                    body.push_str(&format!(", {held} held by a spend cap"));
                }
                self.notifications.push(("kling-tui".into(), body));
            }
        }
        if self.queue.jobs.values().all(resting) {
            self.notifications.push((
                "kling-tui".into(),
                format!("all jobs finished (the last: #{id} {})", job.state_word()),
            ));
        }
    }
}
