//! The results of the engine's own tasks, each turned into the steps it means.

use super::*;

/// Results of the background requests the worker starts.
pub(crate) enum Internal {
    /// The server's description of the model, or why it could not be read.
    Model(Result<serde_json::Value, ApiError>),
    /// The team's plan limits, or why they could not be read.
    TeamLimits(Result<serde_json::Value, ApiError>),
    Submitted {
        local_id: LocalId,
        result: Result<GenerateResponse, ApiError>,
    },
    Polled {
        local_id: LocalId,
        result: Result<Job, ApiError>,
    },
    Progress {
        local_id: LocalId,
        index: usize,
        progress: DownloadProgress,
        rate: f64,
    },
    /// A verified file is about to take this name; `ack` once that is journaled.
    Placing {
        local_id: LocalId,
        index: usize,
        file: PathBuf,
        size: u64,
        ack: tokio::sync::oneshot::Sender<Result<(), String>>,
    },
    Downloaded {
        local_id: LocalId,
        index: usize,
        result: Result<Saved, ApiError>,
    },
    Reconciled {
        local_id: LocalId,
        result: Result<Option<String>, ApiError>,
    },
    Canceled {
        local_id: LocalId,
        result: Result<(), ApiError>,
    },
    RetryDownloads {
        local_id: LocalId,
    },
    Uploaded {
        local_id: LocalId,
        file: String,
        asset_id: String,
    },
    UploadFailed {
        local_id: LocalId,
        error: Failure,
        /// The failure may pass: try again later instead of giving up.
        passing: bool,
    },
    RetryUploads {
        local_id: LocalId,
    },
    Estimated {
        seq: u64,
        request: Box<crate::kling::KlingRequest>,
        cost: Result<f64, Failure>,
    },
    /// Bytes of a file a client asked to upload on its own.
    FileProgress {
        seq: u64,
        sent: u64,
        total: u64,
    },
    /// A dry run for a job a spend cap must weigh before it is sent.
    Quoted {
        local_id: LocalId,
        cost: Result<f64, Failure>,
    },
    /// A file a client asked to upload on its own is an asset, or why not.
    FileUploaded {
        seq: u64,
        result: Result<crate::engine::UploadedAsset, UploadError>,
    },
    /// A video's picture is on disk, or why not.
    Pictured {
        asset_id: String,
        result: Result<PathBuf, String>,
    },
    /// The team's Kling V3 Omni jobs, newest first, for a [`Command::Remote`].
    Listed {
        seq: u64,
        result: Result<(Vec<Job>, Option<String>), Failure>,
    },
    /// The jobs a [`Command::Import`] named, in its order: fetched, or `None` for those the
    /// ledger had already.
    Fetched {
        seq: u64,
        download_dir: Option<PathBuf>,
        jobs: Vec<(String, Option<Result<Job, Failure>>)>,
    },
    /// The client is waiting before it tries a request again.
    Retrying {
        message: String,
        server_asked: bool,
    },
}

impl Worker {
    pub(super) fn internal(&mut self, message: Internal) {
        match message {
            Internal::Model(result) => self.model_read(result),
            Internal::TeamLimits(result) => self.team_limits_read(result),
            Internal::Submitted { local_id, result } => self.submitted(local_id, result),
            Internal::Polled { local_id, result } => self.polled(local_id, result),
            Internal::Progress {
                local_id,
                index,
                progress,
                rate,
            } => self.emit(Event::DownloadProgress {
                local_id,
                index,
                bytes: progress.bytes,
                total: progress.total,
                rate,
            }),
            Internal::Placing {
                local_id,
                index,
                file,
                size,
                ack,
            } => {
                let recorded = self
                    .ledger
                    .append(
                        Record::Placing {
                            local_id,
                            index,
                            file,
                            size,
                        },
                        true,
                    )
                    .map_err(|e| format!("cannot write the ledger: {e}"));
                let _ = ack.send(recorded);
            }
            Internal::Downloaded {
                local_id,
                index,
                result,
            } => {
                match result {
                    Ok(saved) => {
                        let _ = self.step(
                            local_id,
                            Step::Fetched {
                                index,
                                file: saved.path.clone(),
                                size: saved.size,
                                last_frame: saved.last_frame,
                                duration: saved.duration,
                            },
                        );
                        self.write_sidecars(local_id);
                        self.emit(Event::DownloadFinished {
                            local_id,
                            index,
                            path: saved.path,
                        });
                    }
                    Err(e) => {
                        let message = sanitize(&e.to_string());
                        let failed = Step::FetchFailed {
                            index,
                            error: message.clone(),
                            passing: passing(&e),
                            lasting: matches!(e, ApiError::LocalResource { .. }),
                        };
                        let retry_in = self.step(local_id, failed).ok().and_then(|m| m.retry_in);
                        if let Some(wait) = retry_in {
                            tracing::warn!(
                                "download of job {local_id} failed ({message}); again in {wait:?}"
                            );
                            let tx = self.internal_tx.clone();
                            self.tasks.spawn(local_id, Kind::Timer, async move {
                                tokio::time::sleep(wait).await;
                                let _ = tx.send(Internal::RetryDownloads { local_id });
                            });
                        } else {
                            let failure = Failure::from(&e).context("download failed");
                            self.error(Some(local_id), failure);
                        }
                    }
                }
                self.emit_job(local_id);
            }
            Internal::Reconciled { local_id, result } => {
                match result {
                    Ok(Some(job_id)) => {
                        let found = Step::Accepted { job_id, cost: None };
                        let _ = self.step(local_id, found);
                        self.schedule.add(local_id, true);
                    }
                    Ok(None) => {
                        let _ = self.step(local_id, Step::NotFound);
                        self.error(
                            Some(local_id),
                            Failure::new(
                                FailureKind::NotFound,
                                "unconfirmed submission not found on the server: it was \
                                 probably not created; it is never re-sent automatically, \
                                 submit it again if you want it",
                            ),
                        );
                    }
                    Err(e) => {
                        let _ = self.step(local_id, Step::NotFound);
                        self.error(
                            Some(local_id),
                            Failure::from(&e)
                                .context("cannot look for the unconfirmed submission yet"),
                        );
                    }
                }
                self.emit_job(local_id);
            }
            Internal::Estimated { seq, request, cost } => {
                if let Ok(units) = cost {
                    self.ledger.keep_quote(&request, units);
                }
                self.emit(Event::Estimate { seq, cost });
            }
            Internal::Quoted { local_id, cost } => {
                self.quoting.remove(&local_id);
                match cost {
                    Ok(cost) => {
                        if let Some(job) = self.ledger.job(local_id) {
                            self.ledger.keep_quote(&job.request, cost);
                        }
                        self.record(Record::Quoted { local_id, cost }, true);
                        self.drain_queue();
                        self.explain_hold(local_id);
                    }
                    Err(e) => {
                        // Held until a quote comes: tried again with the queue's next look.
                        let hold = crate::engine::Hold {
                            reason: format!("spend cap: its cost is not known yet ({e})"),
                            cap: None,
                            until: None,
                        };
                        if self.ledger.set_held(local_id, Some(hold)) {
                            self.emit_job(local_id);
                        }
                    }
                }
            }
            Internal::FileProgress { seq, sent, total } => {
                self.emit(Event::UploadProgress { seq, sent, total });
            }
            Internal::FileUploaded { seq, result } => {
                self.file_uploads = self.file_uploads.saturating_sub(1);
                self.emit(Event::UploadDone { seq, result });
            }
            Internal::Retrying {
                message,
                server_asked,
            } => {
                // Passing failures are told per job by the poll streaks; a wait the server
                // asks for holds everything, so it is told at once (and not in a storm).
                let quiet = self
                    .last_wait_told
                    .is_some_and(|at| at.elapsed() < Duration::from_secs(30));
                if server_asked && !quiet {
                    self.last_wait_told = Some(Instant::now());
                    self.error(None, Failure::new(FailureKind::Network, message));
                }
            }
            Internal::Uploaded {
                local_id,
                file,
                asset_id,
            } => {
                let _ = self.step(local_id, Step::Uploaded { file, asset_id });
                self.emit_job(local_id);
                let done = self
                    .ledger
                    .job(local_id)
                    .is_some_and(|j| j.local_files().is_empty());
                if done {
                    if self.at_ceiling() {
                        let _ = self.step(local_id, Step::Queue);
                        self.emit_job(local_id);
                    } else {
                        self.start_submit(local_id);
                    }
                }
            }
            Internal::UploadFailed {
                local_id,
                error,
                passing,
            } => {
                let failed = Step::UploadFailed {
                    error: error.message.clone(),
                    passing,
                };
                match self.step(local_id, failed) {
                    Ok(Moved {
                        retry_in: Some(wait),
                        ..
                    }) => {
                        tracing::warn!(
                            "upload for job {local_id} failed ({error}); again in {wait:?}"
                        );
                        let tx = self.internal_tx.clone();
                        self.tasks.spawn(local_id, Kind::Timer, async move {
                            tokio::time::sleep(wait).await;
                            let _ = tx.send(Internal::RetryUploads { local_id });
                        });
                    }
                    _ => {
                        self.error(Some(local_id), error);
                        self.emit_job(local_id);
                    }
                }
            }
            Internal::RetryUploads { local_id } => {
                let again = self.step(local_id, Step::RetryUploads).is_ok()
                    && self.phase(local_id).is_some_and(Phase::busy);
                if again {
                    self.spawn_uploads(local_id);
                }
            }
            Internal::RetryDownloads { local_id } => {
                let _ = self.step(local_id, Step::RetryFetch);
                self.start_downloads(local_id);
            }
            Internal::Pictured { asset_id, result } => self.pictured(&asset_id, result),
            Internal::Listed { seq, result } => self.listed(seq, result),
            Internal::Fetched {
                seq,
                download_dir,
                jobs,
            } => self.fetched(seq, download_dir, jobs),
            Internal::Canceled { local_id, result } => match result {
                Ok(()) => {
                    self.schedule.all_now();
                }
                Err(e) => self.error(Some(local_id), Failure::from(&e).context("cancel refused")),
            },
        }
    }
}
