//! What clients ask of the engine: each command turned into steps, records and answers.

use super::submit::{QUOTE_KEPT, today_start};
use super::*;

impl Worker {
    pub(super) fn command(&mut self, command: Command) {
        match command {
            Command::Submit {
                seq,
                token,
                request,
                download_dir,
                batch,
                quote,
            } => match self.submit(request, download_dir, token, batch.map(|b| *b), quote) {
                Ok(local_id) => self.emit(Event::Submitted { seq, local_id }),
                Err(error) => {
                    tracing::warn!("{error}");
                    self.emit(Event::NotSubmitted { seq, error });
                }
            },
            Command::Destination { local_id, dir } => {
                let ids: Vec<LocalId> = match local_id {
                    Some(id) => {
                        self.ledger.admit(id);
                        vec![id]
                    }
                    None => self
                        .ledger
                        .jobs()
                        .values()
                        .filter(|j| !j.fully_downloaded())
                        .map(|j| j.local_id)
                        .collect(),
                };
                for id in ids {
                    if self.ledger.job(id).is_some() {
                        self.record(
                            Record::Destination {
                                local_id: id,
                                dir: dir.clone(),
                            },
                            true,
                        );
                        // Not told on its own: it changes only where files will go, and the
                        // job's next word carries it. (A client asking for a download takes
                        // the next word on the job as where it stands.)
                    }
                }
            }
            Command::Resend(id) => {
                self.ledger.admit(id);
                match self.step(id, Step::Resend) {
                    Ok(_) => {
                        tracing::warn!("job {id}: re-sent at the user's request");
                        self.emit_job(id);
                        self.drain_queue();
                    }
                    Err(Unmoved::Refused) => self.error(
                        Some(id),
                        Failure::invalid(
                            "not re-sent: only an unconfirmed submission that was searched \
                             for can be sent again",
                        ),
                    ),
                    // Told by the ledger's error already.
                    Err(Unmoved::NotRecorded) => {}
                }
            }
            Command::Cancel(id) if self.halted.is_some() => {
                self.error(
                    Some(id),
                    Failure::new(
                        FailureKind::Credentials,
                        "cancel not sent: the API refused the credentials; refresh first",
                    ),
                );
            }
            Command::Cancel(id) => {
                self.ledger.admit(id);
                let Some(job_id) = self.ledger.job(id).and_then(|j| j.job_id.clone()) else {
                    self.error(
                        Some(id),
                        Failure::invalid("cannot cancel: the server has no id for it yet"),
                    );
                    return;
                };
                let client = self.client.clone();
                let tx = self.internal_tx.clone();
                self.tasks.spawn(id, Kind::Cancel, async move {
                    let result = client.cancel_job(&job_id).await;
                    let _ = tx.send(Internal::Canceled {
                        local_id: id,
                        result,
                    });
                });
            }
            Command::History {
                seq,
                search,
                order,
                offset,
                limit,
            } => match self.ledger.history(search.as_deref(), order, offset, limit) {
                Ok((mut jobs, total)) => {
                    for job in &mut jobs {
                        job.place = Place::of(job, None, self.config.auto_download);
                    }
                    self.emit(Event::History { seq, jobs, total })
                }
                Err(e) => {
                    self.error(None, Failure::from(e).context("cannot read the history"));
                    // Answered all the same, so the asker does not wait for it forever.
                    self.emit(Event::History {
                        seq,
                        jobs: Vec::new(),
                        total: 0,
                    });
                }
            },
            Command::Download(id) => {
                if !self.ledger.admit(id) {
                    self.error(
                        Some(id),
                        Failure::new(FailureKind::NotFound, "not in the ledger"),
                    );
                    return;
                }
                // Earlier failures no longer count against the retries; any phase but
                // downloading has none to clear.
                let _ = self.step(id, Step::ClearFetchFailures);
                // Asked for by a person: a saved file that is gone (or not as it was
                // written) is fetched again rather than reported as saved.
                self.forget_missing_files(id);
                if self.ledger.job(id).is_some_and(JobRecord::awaits_video) {
                    // Nothing to fetch yet: ask the server again now, with a new wait.
                    self.troubles.video_named(id);
                    self.ledger.set_trouble(id, None);
                    self.schedule.add(id, true);
                }
                // The asker first hears what the ledger holds now, then the download.
                self.emit_job(id);
                self.start_downloads(id);
            }
            Command::Forget(id) => {
                self.ledger.admit(id);
                if self.ledger.job(id).is_some() {
                    // Its uploads, polls and downloads stop now; a POST in flight still has
                    // its answer recorded.
                    let stopped = self.tasks.abort_job(id);
                    self.quoting.remove(&id);
                    if !stopped.is_empty() {
                        tracing::info!("job {id} forgotten: {} task(s) stopped", stopped.len());
                    }
                    let handles = stopped.into_iter().map(|(_, h)| h).collect();
                    tokio::spawn(crate::engine::downloads::remove_parts(
                        self.parts.clone(),
                        id,
                        handles,
                    ));
                    self.record(Record::Forgotten { local_id: id }, true);
                    self.schedule.remove(id);
                    self.phases.forget(id);
                    self.emit(Event::Forgotten(id));
                }
            }
            Command::Refresh => {
                // Whoever asked hears where things stand once this refresh has run.
                self.settled = None;
                if self.halted.take().is_some() {
                    self.release_held();
                }
                self.retry_given_up();
                self.schedule.all_now();
                let ids = self.phases.ids_in(|p| *p == Phase::Unresolved);
                for id in ids {
                    self.start_reconcile(id);
                }
                let retry: Vec<LocalId> = self
                    .ledger
                    .jobs()
                    .values()
                    .filter(|j| {
                        j.succeeded()
                            && (j.downloads.iter().any(|d| d.error.is_some())
                                || (self.config.auto_download && !j.fully_downloaded()))
                    })
                    .map(|j| j.local_id)
                    .collect();
                for id in retry {
                    self.start_downloads(id);
                }
            }
            Command::Estimate { seq, request } if self.halted.is_some() => {
                let reason =
                    Failure::new(FailureKind::Credentials, "the API refused the credentials");
                self.emit(Event::Estimate {
                    seq,
                    cost: Err(reason),
                });
                drop(request);
            }
            Command::Estimate { seq, request } => {
                // Asked before (a batch planned again): no request spent on it.
                if let Some(cost) = self.ledger.cached_quote(&request, QUOTE_KEPT) {
                    self.emit(Event::Estimate {
                        seq,
                        cost: Ok(cost),
                    });
                    return;
                }
                let client = self.client.clone();
                let tx = self.internal_tx.clone();
                let asker = Owner::Question(seq);
                self.tasks.spawn_for(asker, Kind::Estimate, async move {
                    let cost = dry_run_cost(&client, &request).await;
                    let request = Box::new(request);
                    let _ = tx.send(Internal::Estimated { seq, request, cost });
                });
            }
            Command::Upload { seq, .. } if self.halted.is_some() => {
                let reason = "not uploaded: the API refused the credentials".to_string();
                self.emit(Event::UploadDone {
                    seq,
                    result: Err(UploadError::Failed(reason)),
                });
            }
            Command::Upload { seq, file, role } => {
                self.file_uploads += 1;
                let client = self.client.clone();
                let tx = self.internal_tx.clone();
                let cache = self.uploads.clone();
                let asker = Owner::Question(seq);
                self.tasks.spawn_for(asker, Kind::FileUpload, async move {
                    // Told a few times a second at most: it crosses sockets to the asker. Told
                    // through the worker, so that nothing outlives it holding its events.
                    let mut told = Instant::now();
                    let progress_tx = tx.clone();
                    let mut progress = |p: crate::api::UploadProgress| {
                        if p.sent == p.total || told.elapsed() >= UPLOAD_PROGRESS_EVERY {
                            told = Instant::now();
                            let _ = progress_tx.send(Internal::FileProgress {
                                seq,
                                sent: p.sent,
                                total: p.total,
                            });
                        }
                    };
                    let result = upload_with_cache(&client, &cache, &file, role, &mut progress)
                        .await
                        .map(|(asset_id, reused)| crate::engine::UploadedAsset {
                            asset_id,
                            reused,
                        });
                    let _ = tx.send(Internal::FileUploaded { seq, result });
                });
            }
            Command::DailyCap(cap) => {
                if self.config.max_spend_per_day != cap {
                    match cap {
                        Some(cap) => tracing::info!(
                            "spend cap per day: {} CU",
                            crate::units::format_units(cap)
                        ),
                        None => tracing::info!("spend cap per day: none"),
                    }
                    self.config.max_spend_per_day = cap;
                }
                self.drain_queue();
                // Whoever set it hears where each held job stands now.
                self.emit_held(|_| true);
            }
            Command::Abandoned { seqs } => {
                for seq in seqs {
                    // Only a listing: an upload's end is counted, and an import's is wanted.
                    let asker = Owner::Question(seq);
                    if self.tasks.runs(asker, Kind::Listing) {
                        tracing::info!("a listing of the team's jobs stopped: its client left");
                        self.tasks.abort(asker);
                    }
                }
            }
            Command::ReadConfig => {
                if let Some(path) = self.config.config_file.clone() {
                    self.command(crate::engine::config_file::read(&path));
                }
            }
            Command::ConfigFile {
                max_spend_per_day,
                video_wait_secs,
                problem,
            } => {
                if problem != self.config_problem {
                    match &problem {
                        Some(p) => {
                            tracing::error!("config.toml: {p}; nothing is sent until it is fixed")
                        }
                        None if self.config_problem.is_some() => {
                            tracing::info!("config.toml reads again")
                        }
                        None => {}
                    }
                    self.config_problem = problem.clone();
                    if let Some(p) = problem {
                        self.emit(Event::Notice {
                            message: sanitize(&format!(
                                "config.toml cannot be read ({p}); nothing is sent until it is fixed"
                            )),
                        });
                        return;
                    }
                }
                if problem.is_none() {
                    if let Some(wait) =
                        video_wait_secs.and_then(|s| Duration::try_from_secs_f64(s).ok())
                    {
                        self.config.video_wait = wait;
                    }
                    self.command(Command::DailyCap(max_spend_per_day));
                }
            }
            Command::BatchCap { name, max } => {
                let ids: Vec<LocalId> = self
                    .ledger
                    .jobs()
                    .values()
                    .filter(|j| j.batch.as_ref().is_some_and(|b| b.name == name))
                    .filter(|j| j.batch.as_ref().and_then(|b| b.max_cost) != max)
                    .map(|j| j.local_id)
                    .collect();
                for id in ids {
                    self.record(Record::BatchCap { local_id: id, max }, true);
                }
                self.drain_queue();
                self.emit_held(|j| j.batch.as_ref().is_some_and(|b| b.name == name));
            }
            Command::Overview { seq } => {
                let overview = self.overview();
                self.emit(Event::Overview { seq, overview });
            }
            Command::RetryBatch { name } => self.retry_batch(&name),
            Command::Prompts { seq, limit } => {
                let prompts = self.ledger.prompts(limit).unwrap_or_else(|e| {
                    // Answered all the same, so the asker does not wait for it forever.
                    self.error(
                        None,
                        Failure::from(e).context("cannot read the prompt history"),
                    );
                    Vec::new()
                });
                self.emit(Event::Prompts { seq, prompts });
            }
            Command::Thumbnail { seq, local_id } => self.picture(seq, local_id),
            Command::Remote { seq, since } => self.list_remote(seq, since),
            Command::Import {
                seq,
                job_ids,
                download_dir,
            } => self.import(seq, job_ids, download_dir),
            Command::Shutdown => {}
        }
    }

    /// Today's spend against the daily cap, and every batch with its held requests counted.
    pub(super) fn overview(&self) -> crate::engine::Overview {
        let today = self
            .ledger
            .committed_spend(today_start().as_deref(), None, 0)
            .unwrap_or_else(|e| {
                tracing::warn!("cannot read today's spend: {e}");
                0.0
            });
        let mut batches = self.ledger.batches(None).unwrap_or_else(|e| {
            tracing::warn!("cannot read the batches: {e}");
            Vec::new()
        });
        for job in self.ledger.jobs().values() {
            if let (Some(_), Some(tag)) = (&job.held, &job.batch)
                && let Some(summary) = batches.iter_mut().find(|b| b.name == tag.name)
            {
                summary.held += 1;
            }
        }
        crate::engine::Overview {
            today,
            day_cap: self.config.max_spend_per_day,
            batches,
        }
    }

    /// Sends again, as new submissions in the batch's order, the requests of batch `name`
    /// whose latest attempt failed. Each new one is named after the attempt it replaces, so
    /// the command arriving twice (sent again over a new connection) sends each once.
    pub(super) fn retry_batch(&mut self, name: &str) {
        let failed = match self.ledger.batch_failures(name) {
            Ok(jobs) => jobs,
            Err(e) => {
                let doing = format!("cannot read batch {name}");
                self.error(None, Failure::from(e).context(&doing));
                return;
            }
        };
        if failed.is_empty() {
            self.emit(Event::Notice {
                message: format!("batch {}: no failed request to send again", sanitize(name)),
            });
            return;
        }
        let mut sent = 0;
        for job in failed {
            let token = format!("retry:{}", job.local_id);
            let quote = job.quote.or(job.cost);
            match self.submit(job.request, job.download_dir, Some(token), job.batch, quote) {
                Ok(_) => sent += 1,
                Err(error) => self.error(Some(job.local_id), error),
            }
        }
        self.emit(Event::Notice {
            message: format!(
                "batch {}: {sent} failed request(s) sent again",
                sanitize(name)
            ),
        });
    }
}
