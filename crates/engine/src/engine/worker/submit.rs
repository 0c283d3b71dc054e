//! Sending a job: the spend caps and the team's ceiling asked first (a quote where a cap
//! needs one), then the POST, its answer, and the queue of what waits.

use super::*;

/// How long a dry run's price is trusted for the same request: a batch planned in the
/// evening and sent overnight is not priced twice, and a change of price is seen by the
/// next day.
pub(super) const QUOTE_KEPT: Duration = Duration::from_secs(24 * 60 * 60);

/// The start of today (UTC), as the ledger writes times.
pub(super) fn today_start() -> Option<String> {
    format!("{:.0}", jiff::Timestamp::now())
        .get(..10)
        .map(|day| format!("{day}T00:00:00Z"))
}

/// The start of tomorrow (UTC), when the daily cap's count starts again.
pub(super) fn tomorrow_start() -> Option<String> {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let tomorrow = now.date().tomorrow().ok()?;
    Some(format!("{tomorrow}T00:00:00Z"))
}

/// A hold for a ledger that cannot be read: nothing is sent past a cap it cannot check.
pub(super) fn unreadable(e: &crate::engine::LedgerError) -> crate::engine::Hold {
    crate::engine::Hold {
        reason: format!("spend cap: cannot read the ledger: {e}"),
        cap: None,
        until: None,
    }
}

impl Worker {
    /// Checks, ledgers and starts one submission; why not, if it is refused.
    pub(super) fn submit(
        &mut self,
        request: crate::kling::KlingRequest,
        download_dir: Option<PathBuf>,
        token: Option<String>,
        batch: Option<crate::engine::BatchTag>,
        quote: Option<f64>,
    ) -> Result<LocalId, Failure> {
        if let Some(id) = token.as_deref().and_then(|t| self.ledger.find_token(t)) {
            // Sent again over a new connection: it is already here.
            self.emit_job(id);
            return Ok(id);
        }
        if self.stopping {
            return Err(Failure::new(
                FailureKind::Unavailable,
                "not submitted: the engine is stopping; submit again in a moment",
            ));
        }
        if let Some(problem) = &self.config_problem {
            return Err(Failure::local(format!(
                "not submitted: config.toml cannot be read ({problem}); fix it and submit again"
            )));
        }
        if self.ledger_gone() {
            return Err(Failure::new(
                FailureKind::Unavailable,
                "not submitted: this engine's ledger was removed or replaced, and it is \
                 stopping; submit again in a moment (a new engine takes it)",
            ));
        }
        // A description older than a day is read again; this request goes by the one held.
        self.ask_model();
        let problems = request.validate_with(&self.rules);
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(Failure::invalid(format!(
                "not submitted: {}",
                list.join("; ")
            )));
        }
        // Local files are checked before anything is journaled or sent.
        let mut problems = Vec::new();
        for (file, role) in crate::engine::job::local_files(&request) {
            if let Err(mut p) = crate::media::check_file(std::path::Path::new(&file), role) {
                problems.append(&mut p);
            }
        }
        if !problems.is_empty() {
            return Err(Failure::invalid(format!(
                "not submitted: {}",
                problems.join("; ")
            )));
        }
        let created_at = jiff::Timestamp::now().to_string();
        let id = self
            .ledger
            .record_intent(created_at, request, token, batch)
            .map_err(|e| {
                Failure::from(e).context("not submitted: cannot record it in the ledger")
            })?;
        if let Some(dir) = download_dir {
            self.record(Record::Destination { local_id: id, dir }, true);
        }
        if let Some(cost) = quote.filter(|c| c.is_finite() && *c >= 0.0) {
            self.record(Record::Quoted { local_id: id, cost }, true);
        }
        self.emit_job(id);
        if let Some(job) = self.ledger.job(id) {
            self.phases.set(id, Phase::of(job));
        }
        if self
            .ledger
            .job(id)
            .is_some_and(|j| j.submission == Submission::Uploading)
        {
            self.start_uploads(id);
        } else if self.at_ceiling() {
            let _ = self.step(id, Step::Queue);
            self.emit_job(id);
        } else {
            self.start_submit(id);
        }
        Ok(id)
    }

    /// Jobs on the server that are not final yet, plus submissions in flight.
    pub(super) fn running(&self) -> u64 {
        self.phases.running()
    }

    pub(super) fn at_ceiling(&self) -> bool {
        self.action_limit.reached(self.running())
    }

    /// Sends queued submissions while the team is below its ceiling, oldest first.
    pub(super) fn drain_queue(&mut self) {
        if self.halted.is_some() || self.stopping || self.config_problem.is_some() {
            return;
        }
        for id in self.phases.ids_in(|p| *p == Phase::Queued) {
            if self.at_ceiling() {
                break;
            }
            self.start_submit(id);
            // In order: one held by a spend cap holds those after it.
            if self.phase(id) == Some(&Phase::Queued) {
                break;
            }
        }
    }

    /// Whether a spend cap lets job `id` be sent now; why not, if it does not. Every POST
    /// passes here (in [`Worker::start_submit`]), so none is sent past a cap: what counts is
    /// the cost of every job the server took or may have taken today (its quote until its
    /// cost is known), refunded ones left out, plus this one's quote.
    pub(super) fn spend_allows(&mut self, id: LocalId) -> Result<(), crate::engine::Hold> {
        if let Some(problem) = &self.config_problem {
            return Err(crate::engine::Hold {
                reason: format!("config.toml cannot be read ({problem})"),
                cap: None,
                until: None,
            });
        }
        let Some(job) = self.ledger.job(id) else {
            return Ok(());
        };
        let batch_cap = job
            .batch
            .as_ref()
            .and_then(|b| b.max_cost.map(|max| (b.name.clone(), max)));
        let day_cap = self.config.max_spend_per_day;
        if day_cap.is_none() && batch_cap.is_none() {
            return Ok(());
        }
        let quote = match job.quote {
            Some(quote) => quote,
            None => match self.ledger.cached_quote(&job.request, QUOTE_KEPT) {
                Some(cost) => {
                    self.record(Record::Quoted { local_id: id, cost }, true);
                    cost
                }
                None => {
                    self.ask_quote(id);
                    return Err(crate::engine::Hold {
                        reason: "spend cap: asking what it costs".into(),
                        cap: None,
                        until: None,
                    });
                }
            },
        };
        let day = match day_cap {
            Some(cap) => Some(crate::engine::spend::Tally {
                cap,
                spent: self
                    .ledger
                    .committed_spend(today_start().as_deref(), None, id)
                    .map_err(|e| unreadable(&e))?,
            }),
            None => None,
        };
        let batch = match batch_cap {
            Some((name, cap)) => Some(crate::engine::spend::Tally {
                cap,
                spent: self
                    .ledger
                    .committed_spend(None, Some(&name), id)
                    .map_err(|e| unreadable(&e))?,
            }),
            None => None,
        };
        crate::engine::spend::weigh(quote, day, batch, tomorrow_start())
    }

    /// A job still queued once its price is known says why: over a cap (and which), behind
    /// an earlier job a cap holds, or at the team's ceiling. Never left at "asking what it
    /// costs", which a client waits on.
    pub(super) fn explain_hold(&mut self, id: LocalId) {
        if self.phase(id) != Some(&Phase::Queued) {
            return;
        }
        let Some(job) = self.ledger.job(id) else {
            return;
        };
        if job.held.as_ref().is_some_and(|h| h.cap.is_some()) {
            return;
        }
        let hold = match self.spend_allows(id) {
            Err(hold) => Some(hold),
            Ok(()) => {
                // It fits: it waits its turn behind an earlier request a cap holds.
                let ahead = self
                    .phases
                    .ids_in(|p| *p == Phase::Queued)
                    .into_iter()
                    .take_while(|other| *other < id)
                    .find_map(|other| {
                        let held = self.ledger.job(other)?.held.clone()?;
                        held.cap.map(|_| (other, held))
                    });
                ahead.map(|(other, held)| crate::engine::Hold {
                    reason: format!("waiting behind #{other}, which {}", held.reason),
                    cap: held.cap,
                    until: held.until,
                })
            }
        };
        if self.ledger.set_held(id, hold) {
            self.emit_job(id);
        }
    }

    /// Tells every held job `pick` chooses as it stands.
    pub(super) fn emit_held(&self, pick: impl Fn(&JobRecord) -> bool) {
        for job in self.ledger.jobs().values() {
            if job.held.is_some() && pick(job) {
                self.emit(Event::Job(Box::new(job.clone())));
            }
        }
    }

    /// A free dry run for a job a spend cap must weigh; answered as [`Internal::Quoted`].
    pub(super) fn ask_quote(&mut self, id: LocalId) {
        if !self.quoting.insert(id) {
            return;
        }
        let Some(request) = self.ledger.job(id).map(|j| j.request.clone()) else {
            return;
        };
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        self.tasks.spawn(id, Kind::Quote, async move {
            let cost = dry_run_cost(&client, &request).await;
            let _ = tx.send(Internal::Quoted { local_id: id, cost });
        });
    }

    /// Sends the job's POST, or holds it while nothing may be sent (see [`Step::Send`]).
    pub(super) fn start_submit(&mut self, id: LocalId) {
        let Some(request) = self.ledger.job(id).map(|j| j.request.clone()) else {
            return;
        };
        if let Err(hold) = self.spend_allows(id) {
            // Held, queued here in order: sent once a cap is raised or spend comes back.
            let queued = self.phase(id) == Some(&Phase::Queued);
            if !queued {
                let _ = self.step(id, Step::Queue);
            }
            let reason = hold.reason.clone();
            if self.ledger.set_held(id, Some(hold)) || !queued {
                tracing::info!("job {id}: held: {reason}");
                self.emit_job(id);
            }
            return;
        }
        if self.ledger_gone() {
            // Its record would reach no one: the next engine sends it, from the ledger on disk.
            return;
        }
        // Told together with the step it makes way for: a client never sees it queued with
        // no reason in between (it would take that for the team's ceiling).
        let cleared = self.ledger.set_held(id, None);
        let Ok(moved) = self.step(id, Step::Send) else {
            if cleared {
                self.emit_job(id);
            }
            return;
        };
        if self.phase(id) != Some(&Phase::Sending) {
            // Held: told only when that changed its record.
            if moved.wrote || cleared {
                self.emit_job(id);
            }
            return;
        }
        self.emit_job(id);
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        self.tasks.spawn(id, Kind::Submit, async move {
            let result = client.generate(&request).await;
            let _ = tx.send(Internal::Submitted {
                local_id: id,
                result,
            });
        });
    }

    pub(super) fn submitted(&mut self, id: LocalId, result: Result<GenerateResponse, ApiError>) {
        match result {
            Ok(answer) if !answer.job.job_id.trim().is_empty() => {
                let accepted = Step::Accepted {
                    job_id: answer.job.job_id.clone(),
                    cost: answer.creative_units_cost,
                };
                let _ = self.step(id, accepted);
                if let Some(charge) = answer.ip_detection_charge() {
                    let charges = Record::Charges {
                        local_id: id,
                        add_ons: None,
                        ip_detection: Some(charge),
                        no_refund: None,
                    };
                    self.record(charges, true);
                }
                self.schedule.add(id, false);
            }
            Ok(_) => {
                let reason = "the server answered without a job id".into();
                let _ = self.step(id, Step::Unconfirmed { reason });
                self.start_reconcile(id);
            }
            Err(ApiError::Http {
                status: 429,
                action_limit,
                ..
            }) => {
                // Nothing was created: keep it here and send it when a slot frees up. Counted
                // once it is no longer on its way.
                let _ = self.step(id, Step::Queue);
                self.action_limit =
                    crate::engine::ceiling::Ceiling::from_refusal(action_limit, self.running());
            }
            Err(e @ ApiError::SubmissionUnknown { .. }) => {
                let reason = sanitize(&e.to_string());
                let _ = self.step(id, Step::Unconfirmed { reason });
                self.error(Some(id), Failure::from(&e));
                self.start_reconcile(id);
            }
            Err(e @ ApiError::Connect { .. }) => {
                // Provably never sent: safe to try again later.
                let _ = self.step(id, Step::Queue);
                self.error(
                    Some(id),
                    Failure::from(&e).context("not sent yet, will retry"),
                );
            }
            Err(e) => {
                let reason = sanitize(&e.to_string());
                let _ = self.step(id, Step::Rejected { reason });
                self.error(Some(id), Failure::from(&e).context("rejected"));
            }
        }
        self.emit_job(id);
    }
}
