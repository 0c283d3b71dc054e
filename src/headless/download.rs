//! `kling-tui download`: every asset of finished jobs, checked against the ledger so a video
//! already saved is reported rather than fetched again, and each new one recorded there.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use crate::api::types::{Job, JobStatus};
use crate::api::{Destination, DownloadObserver, DownloadProgress, ScenarioClient};
use crate::cli::Cli;
use crate::engine::job_file_stem;
use crate::engine::{self, JobRecord, LedgerError, LocalId, Place, Record, Wait};
use crate::sanitize::sanitize;

use super::report::{JobReport, Print, ProgressLine};
use super::{CliError, Session, exit};

pub async fn run(
    cli: &Cli,
    jobs: &[String],
    out: Option<&Path>,
    json: bool,
) -> Result<i32, CliError> {
    let session = Session::open(cli).await?;
    let client = session.client_telling_retries()?;
    let dir = session.download_dir(out);
    // Jobs of the ledger are the engine's to download (it records every file); others are
    // fetched here.
    let mut known: Vec<(String, LocalId)> = Vec::new();
    let mut others: Vec<String> = Vec::new();
    let mut code = exit::OK;
    for text in jobs {
        let job = match super::address::resolve(&session.ledger_dir, text) {
            Ok(job) => job,
            Err(e) => {
                eprintln!("error: {e}");
                code = code.max(e.exit_code());
                continue;
            }
        };
        match (session.demo, job.local_id(), job.server_id) {
            (false, Some(id), server_id) => known.push((server_id.unwrap_or(job.shown), id)),
            (_, _, Some(server_id)) => others.push(server_id),
            (true, Some(id), None) => {
                eprintln!("error: #{id}: the server has no id for it yet; nothing to download");
                code = code.max(exit::API);
            }
            (_, None, None) => {}
        }
    }
    if !known.is_empty() {
        code = code.max(via_engine(&session, &dir, &known, json).await?);
    }
    if others.is_empty() {
        return Ok(code);
    }
    // The background engine is the ledger's one writer: jobs it does not know are fetched
    // here and only read against it (a demo's throw-away ledger is this process's own).
    let mut ledger = Records::open(&session.ledger_dir, session.demo)?;
    for job_id in &others {
        let outcome = async {
            let job = client.get_job(job_id).await?;
            match job.status {
                JobStatus::Success if job.metadata.asset_ids.is_empty() => {
                    JobReport::from_server(&job, vec![]).print(json);
                    Err(CliError::Local(format!(
                        "{}: success without a video: the server has not named its video \
                         yet; nothing was saved (try again in a moment)",
                        sanitize(job_id)
                    )))
                }
                JobStatus::Success => {
                    let (files, failed) = download_job(&client, &job, &dir, &mut ledger).await;
                    report_downloads(&job, files, failed, json)
                }
                JobStatus::Failure | JobStatus::Canceled => {
                    JobReport::from_server(&job, vec![]).print(json);
                    eprintln!(
                        "error: {}: the job ended in {}; nothing to download",
                        sanitize(job_id),
                        job.status
                    );
                    Ok(exit::JOB_FAILED)
                }
                _ => Err(CliError::Local(format!(
                    "{}: not finished yet ({}); nothing to download",
                    sanitize(job_id),
                    job.status
                ))),
            }
        }
        .await;
        code = match outcome {
            Ok(c) => code.max(c),
            Err(e) => {
                eprintln!("error: {e}");
                code.max(e.exit_code())
            }
        };
    }
    Ok(code)
}

/// Asks the engine to download each job into `dir` and reports each once it is on disk (or
/// why not).
async fn via_engine(
    session: &Session,
    dir: &Path,
    jobs: &[(String, LocalId)],
    json: bool,
) -> Result<i32, CliError> {
    let dir = std::path::absolute(dir)
        .map_err(|e| CliError::Local(format!("cannot resolve {}: {e}", dir.display())))?;
    let (mut engine, _) = session.engine(session.engine_config(Some(&dir))).await?;
    // The first word on each job is what the ledger holds now; later ones are the download.
    let mut seen: BTreeMap<LocalId, bool> = BTreeMap::new();
    let mut told_waiting: std::collections::BTreeSet<LocalId> = std::collections::BTreeSet::new();
    let mut waiting: BTreeMap<LocalId, &str> = BTreeMap::new();
    for (job_id, id) in jobs {
        let _ = engine.commands.send(engine::Command::Destination {
            local_id: Some(*id),
            dir: dir.clone(),
        });
        let _ = engine.commands.send(engine::Command::Download(*id));
        waiting.insert(*id, job_id);
    }
    let mut code = exit::OK;
    let mut progress = ProgressLine::new();
    // The connection was lost since the requests went: the engine may never have heard them.
    let mut lost = false;
    while !waiting.is_empty() {
        let event = tokio::select! {
            event = engine.events.recv() => event,
            _ = tokio::signal::ctrl_c() => {
                progress.finish();
                eprintln!("interrupted: the engine goes on downloading; `kling-tui watch` follows it");
                code = exit::INTERRUPTED;
                break;
            }
        };
        let job = match event {
            Some(engine::Event::Job(job)) if waiting.contains_key(&job.local_id) => job,
            Some(engine::Event::DownloadProgress {
                local_id,
                bytes,
                total,
                ..
            }) if waiting.contains_key(&local_id) => {
                progress.download(waiting[&local_id], DownloadProgress { bytes, total });
                continue;
            }
            Some(engine::Event::Error {
                local_id: Some(id),
                error: message,
            }) if waiting.contains_key(&id) => {
                progress.finish();
                eprintln!("error: {}: {message}", sanitize(waiting[&id]));
                continue;
            }
            Some(engine::Event::Detached { stopped: false, .. }) => {
                lost = true;
                continue;
            }
            Some(engine::Event::Attached { .. }) if std::mem::take(&mut lost) => {
                // A new connection, perhaps to a new engine that never heard the request:
                // asked again (both are harmless twice); the answer is the next word on each.
                for (_, id) in jobs.iter().filter(|(_, id)| waiting.contains_key(id)) {
                    let _ = engine.commands.send(engine::Command::Destination {
                        local_id: Some(*id),
                        dir: dir.clone(),
                    });
                    let _ = engine.commands.send(engine::Command::Download(*id));
                }
                continue;
            }
            Some(engine::Event::Detached {
                reason,
                stopped: true,
            })
            | Some(engine::Event::Halted { reason }) => {
                progress.finish();
                engine.shutdown().await;
                return Err(CliError::Local(reason));
            }
            Some(_) => continue,
            None => {
                engine.shutdown().await;
                return Err(CliError::Local("the engine stopped unexpectedly".into()));
            }
        };
        let first = !seen.insert(job.local_id, true).unwrap_or(false);
        let name = sanitize(waiting[&job.local_id]);
        if job.fully_downloaded() {
            progress.finish();
            if first {
                for d in &job.downloads {
                    if let Some(file) = &d.file {
                        eprintln!(
                            "{name}: already saved as {}",
                            sanitize(&file.display().to_string())
                        );
                    }
                }
            }
            JobReport::from_record(&job).print(json);
            waiting.remove(&job.local_id);
        } else if job.is_final() && !job.succeeded() {
            JobReport::from_record(&job).print(json);
            eprintln!(
                "error: {name}: the job ended in {}; nothing to download",
                job.state_word()
            );
            code = code.max(exit::JOB_FAILED);
            waiting.remove(&job.local_id);
        } else if job.awaits_video() {
            // The engine asks the server again (a new wait) on our word: what it said before
            // that is not its answer.
            match &job.trouble {
                Some(t) if t.gave_up && !first => {
                    progress.finish();
                    JobReport::from_record(&job).print(json);
                    eprintln!("error: {name}: {}; nothing was saved", t.error);
                    code = code.max(exit::API);
                    waiting.remove(&job.local_id);
                }
                Some(t) if t.gave_up => {}
                _ if !told_waiting.contains(&job.local_id) => {
                    told_waiting.insert(job.local_id);
                    eprintln!(
                        "{name}: the server says success but has not named the video yet; \
                         waiting for it"
                    );
                }
                _ => {}
            }
        } else if !job.is_final() {
            eprintln!(
                "error: {name}: not finished yet ({}); nothing to download",
                job.state_word()
            );
            code = code.max(exit::API);
            waiting.remove(&job.local_id);
        } else if !first
            && job.place
                == (Place::Waits {
                    why: Wait::DownloadFailed,
                })
        {
            progress.finish();
            let mut report = JobReport::from_record(&job);
            let error = job
                .downloads
                .iter()
                .find_map(|d| d.error.clone())
                .unwrap_or_default();
            report.error = Some(format!("download failed: {error}"));
            report.print(json);
            eprintln!("error: {name}: download failed: {error}");
            code = code.max(exit::API);
            waiting.remove(&job.local_id);
        }
    }
    progress.finish();
    engine.shutdown().await;
    Ok(code)
}

/// The ledger as this command can use it: for writing when it is this process's own (a
/// demo's) and no other kling-tui holds it, else read-only (files it records are still
/// recognised, new ones are not recorded).
enum Records {
    Writable(Box<engine::Ledger>),
    ReadOnly(BTreeMap<LocalId, JobRecord>),
}

impl Records {
    fn open(dir: &Path, own: bool) -> Result<Self, CliError> {
        let read_only = || {
            engine::Ledger::read_only(dir)
                .map(Records::ReadOnly)
                .map_err(|e| CliError::Local(e.to_string()))
        };
        if !own {
            return read_only();
        }
        match engine::Ledger::open(dir) {
            Ok(mut ledger) => {
                for notice in ledger.take_notices() {
                    eprintln!("{}", crate::sanitize::sanitize(&notice));
                }
                Ok(Records::Writable(Box::new(ledger)))
            }
            Err(LedgerError::Locked { .. }) => read_only(),
            Err(e) => Err(CliError::Local(e.to_string())),
        }
    }

    fn jobs(&self) -> &BTreeMap<LocalId, JobRecord> {
        match self {
            Records::Writable(ledger) => ledger.jobs(),
            Records::ReadOnly(jobs) => jobs,
        }
    }

    /// The ledger's record of the server job `job_id`, brought up to date with `job`.
    fn track(&mut self, job: &Job) -> Option<LocalId> {
        let id = match self {
            Records::Writable(ledger) => ledger.find_server_job(&job.job_id)?,
            Records::ReadOnly(jobs) => {
                jobs.values()
                    .find(|j| j.job_id.as_deref() == Some(job.job_id.as_str()))?
                    .local_id
            }
        };
        let stale = self
            .jobs()
            .get(&id)
            .is_some_and(|j| !j.succeeded() || j.downloads.len() != job.metadata.asset_ids.len());
        if stale {
            self.write(Record::status_of(id, job));
        }
        Some(id)
    }

    /// Appends a record when the ledger is ours to write; an error says it could not be.
    fn try_write(&mut self, record: Record) -> Result<(), String> {
        match self {
            Records::Writable(ledger) => ledger
                .append(record, true)
                .map_err(|e| format!("cannot write the ledger: {e}")),
            Records::ReadOnly(_) => Ok(()),
        }
    }

    fn write(&mut self, record: Record) {
        if let Err(e) = self.try_write(record) {
            eprintln!("warning: {e}");
        }
    }
}

/// Downloads every asset of a successful job as `<jobId>_<n>.<ext>` into `dir`. Returns the
/// files (new or already saved), and the error that stopped it early, if one did.
async fn download_job(
    client: &ScenarioClient,
    job: &Job,
    dir: &Path,
    ledger: &mut Records,
) -> (Vec<PathBuf>, Option<CliError>) {
    let local_id = ledger.track(job);
    if local_id.is_some() && matches!(ledger, Records::ReadOnly(_)) {
        eprintln!(
            "note: another kling-tui process holds the ledger; files saved now are not recorded there"
        );
    }
    let mut files = Vec::new();
    for (index, asset_id) in job.metadata.asset_ids.iter().enumerate() {
        let stem = job_file_stem(&job.job_id, index + 1);
        let recorded: Option<(PathBuf, u64)> = local_id
            .and_then(|id| ledger.jobs().get(&id)?.downloads.get(index)?.recorded())
            .map(|(p, s)| (p.to_path_buf(), s));
        let to = Destination {
            dir,
            stem: &stem,
            recorded: recorded.as_ref().map(|(p, s)| (p.as_path(), *s)),
        };
        let mut observer = Observer {
            progress: ProgressLine::new(),
            label: stem.clone(),
            ledger: &mut *ledger,
            local_id,
            index,
        };
        let result = client.download_asset(asset_id, &to, &mut observer).await;
        observer.progress.finish();
        match result {
            Ok(saved) => {
                if saved.existing {
                    eprintln!(
                        "{}: already saved as {}",
                        sanitize(&job.job_id),
                        sanitize(&saved.path.display().to_string())
                    );
                }
                if let Some(local_id) = local_id {
                    ledger.write(Record::Downloaded {
                        local_id,
                        index,
                        file: saved.path.clone(),
                        size: Some(saved.size),
                        last_frame: saved.last_frame.clone(),
                        duration: saved.duration,
                    });
                }
                files.push(saved.path);
            }
            Err(e) => return (files, Some(e.into())),
        }
    }
    (files, None)
}

/// Progress on stderr, and the ledger told of the final name before the file takes it.
struct Observer<'a> {
    progress: ProgressLine,
    label: String,
    ledger: &'a mut Records,
    local_id: Option<LocalId>,
    index: usize,
}

impl DownloadObserver for Observer<'_> {
    fn progress(&mut self, p: DownloadProgress) {
        self.progress.download(&self.label, p);
    }

    fn placing<'b>(
        &'b mut self,
        path: &'b Path,
        size: u64,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'b>> {
        let recorded = match self.local_id {
            Some(local_id) => self.ledger.try_write(Record::Placing {
                local_id,
                index: self.index,
                file: path.to_path_buf(),
                size,
            }),
            None => Ok(()),
        };
        Box::pin(async move { recorded })
    }
}

/// Prints the job's line (with the files that did arrive, and the error if one stopped the
/// rest) and gives the exit code: a failed download is an error, printed once on stderr.
fn report_downloads(
    job: &Job,
    files: Vec<PathBuf>,
    failed: Option<CliError>,
    json: bool,
) -> Result<i32, CliError> {
    let mut report = JobReport::from_server(job, files);
    match failed {
        None => {
            report.print(json);
            Ok(exit::OK)
        }
        Some(e) => {
            report.error = Some(format!("download failed: {e}"));
            report.print(json);
            Err(e)
        }
    }
}
