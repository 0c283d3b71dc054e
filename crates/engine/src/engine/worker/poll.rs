//! Following jobs on the server: polls within the shared budget, the search for a POST whose
//! answer was lost, and what a refused credential or a given-up job needs.

use super::*;

impl Worker {
    pub(super) fn start_reconcile(&mut self, id: LocalId) {
        let Some((request, created_at)) = self
            .ledger
            .job(id)
            .map(|j| (j.request.clone(), j.created_at.clone()))
        else {
            return;
        };
        // Refused while halted: looked for once the credentials are taken again (see
        // `release_held`); and never twice at once.
        if self.step(id, Step::Search).is_err() {
            return;
        }
        // Looked for again (a refresh of an unresolved one): it is working once more.
        self.emit_job(id);
        let claimed: HashSet<String> = self.ledger.server_ids();
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        self.tasks.spawn(id, Kind::Reconcile, async move {
            let result = reconcile::find(&client, &request, &created_at, &claimed).await;
            let _ = tx.send(Internal::Reconciled {
                local_id: id,
                result,
            });
        });
    }

    pub(super) fn launch_polls(&mut self) {
        if self.halted.is_some() {
            return;
        }
        let room = MAX_POLLS_IN_FLIGHT.saturating_sub(self.schedule.in_flight());
        for id in self.schedule.take_due(room) {
            let Some(job_id) = self.ledger.job(id).and_then(|j| j.job_id.clone()) else {
                self.schedule.remove(id);
                continue;
            };
            let client = self.client.clone();
            let tx = self.internal_tx.clone();
            self.tasks.spawn(id, Kind::Poll, async move {
                let result = client.get_job(&job_id).await;
                let _ = tx.send(Internal::Polled {
                    local_id: id,
                    result,
                });
            });
        }
    }

    pub(super) fn polled(&mut self, id: LocalId, result: Result<Job, ApiError>) {
        if self.ledger.job(id).is_none() {
            self.schedule.remove(id);
            return;
        }
        match result {
            Ok(job) => {
                let record = Record::status_of(id, &job);
                let Record::Status {
                    status,
                    progress,
                    asset_ids,
                    error,
                    history,
                    ..
                } = &record
                else {
                    return;
                };
                let status = status.clone();
                // Compared with the job as held: no copy of it for every poll.
                let changed = self.ledger.job(id).is_none_or(|known| {
                    known.status.as_ref() != Some(&status)
                        || (known.progress - progress).abs() >= 0.005
                        || known.error != *error
                        || known.history.len() != history.len()
                        || !known
                            .downloads
                            .iter()
                            .map(|d| &d.asset_id)
                            .eq(asset_ids.iter())
                });
                self.troubles.cleared(id);
                let was_stale = self.ledger.set_trouble(id, None);
                if changed {
                    self.record(record, status.is_final());
                    self.schedule.changed(id);
                } else {
                    self.schedule.unchanged(id);
                }
                let charged = self.note_charges(id, &job);
                if changed || was_stale || charged {
                    self.emit_job(id);
                }
                // A success that names no video is not done: polled on (with the schedule's
                // backoff) until it names one, for a bounded time.
                let awaits_video = self.ledger.job(id).is_some_and(JobRecord::awaits_video);
                if awaits_video {
                    if let Some((message, trouble)) =
                        self.troubles
                            .no_video(id, self.config.video_wait, Instant::now())
                    {
                        self.schedule.remove(id);
                        self.ledger.set_trouble(id, Some(trouble));
                        self.error(Some(id), Failure::new(FailureKind::Network, message));
                        self.emit_job(id);
                    }
                    self.drain_queue();
                } else if status.is_final() {
                    self.troubles.video_named(id);
                    self.schedule.remove(id);
                    let _ = self.step(id, Step::Finished);
                    if status == JobStatus::Success && self.config.auto_download {
                        self.start_downloads(id);
                    }
                    self.drain_queue();
                }
            }
            Err(e) => {
                let failures = self.schedule.failed(id);
                tracing::warn!("poll of job {id} failed ({failures} in a row): {e}");
                if matches!(e.status(), Some(401 | 403)) {
                    self.halt(&e);
                    return;
                }
                let error = sanitize(&e.to_string());
                let kind = Failure::from(&e).kind;
                match self.troubles.failed(id, failures, &error, Instant::now()) {
                    Verdict::Quiet => {}
                    Verdict::Report(message, trouble) => {
                        self.ledger.set_trouble(id, Some(trouble));
                        self.error(Some(id), Failure::new(kind, message));
                        self.emit_job(id);
                    }
                    Verdict::GiveUp(message, trouble) => {
                        self.schedule.remove(id);
                        self.ledger.set_trouble(id, Some(trouble));
                        self.error(Some(id), Failure::new(kind, message));
                        self.emit_job(id);
                    }
                }
            }
        }
    }

    /// Records what the server billed beside the job's cost, when that changed; whether it
    /// did.
    pub(super) fn note_charges(&mut self, id: LocalId, job: &Job) -> bool {
        let Some(billing) = &job.billing else {
            return false;
        };
        let add_ons = billing.add_ons();
        let no_refund = billing.disable_refund;
        let known = self.ledger.job(id);
        let new_add_ons = add_ons.filter(|a| known.is_none_or(|k| k.add_on_cost != Some(*a)));
        let new_refund = no_refund.filter(|n| known.is_none_or(|k| k.no_refund != *n));
        if new_add_ons.is_none() && new_refund.is_none() {
            return false;
        }
        let record = Record::Charges {
            local_id: id,
            add_ons: new_add_ons,
            ip_detection: None,
            no_refund: new_refund,
        };
        self.record(record, true)
    }

    /// Stops every request: the credentials were refused, and repeating them would only be
    /// refused again. Told once.
    pub(super) fn halt(&mut self, err: &ApiError) {
        if self.halted.is_some() {
            return;
        }
        let reason = sanitize(&format!(
            "the API refused the credentials ({err}); every request has stopped. Check \
             SCENARIO_API_KEY and SCENARIO_API_SECRET (or config.toml) and start again, or \
             refresh to try once more"
        ));
        tracing::error!("{reason}");
        self.halted = Some(reason.clone());
        self.emit(Event::Halted { reason });
    }

    /// After a halt: sends what was held, in order, and takes up held uploads, searches for
    /// unconfirmed submissions, and downloads.
    pub(super) fn release_held(&mut self) {
        let unconfirmed = self
            .phases
            .ids_in(|p| matches!(p, Phase::Unconfirmed { .. }));
        for id in unconfirmed {
            self.start_reconcile(id);
        }
        let held: Vec<(LocalId, bool)> = self
            .ledger
            .jobs()
            .values()
            .filter(|j| j.submission == Submission::Uploading)
            .map(|j| (j.local_id, j.local_files().is_empty()))
            .collect();
        for (id, ready) in held {
            if ready {
                self.start_submit(id);
            } else {
                // Refused for uploads already under way.
                self.start_uploads(id);
            }
        }
        self.drain_queue();
    }

    /// Jobs whose polling was given up are polled again, their streaks forgotten.
    pub(super) fn retry_given_up(&mut self) {
        let given_up: Vec<LocalId> = self
            .ledger
            .jobs()
            .values()
            .filter(|j| j.trouble.as_ref().is_some_and(|t| t.gave_up) && j.needs_poll())
            .map(|j| j.local_id)
            .collect();
        for id in given_up {
            self.troubles.cleared(id);
            self.ledger.set_trouble(id, None);
            self.schedule.add(id, true);
            self.emit_job(id);
        }
    }
}
