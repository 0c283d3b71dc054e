//! `kling-tui jobs --remote` and `kling-tui import`: the team's Kling V3 Omni jobs on the
//! server, and jobs made elsewhere taken into the ledger and followed until final and saved.
//! Both go through the engine, the one process that talks to the API.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use crate::cli::{Cli, JobsArgs};
use crate::engine::{Command, Event, JobRecord, LocalId, RemoteJob};
use crate::sanitize::sanitize;

use super::report::{JobReport, Print, format_units};
use super::{CliError, Session, exit};

/// `jobs --remote`: one line (or JSON object) per job, newest first.
pub async fn list(cli: &Cli, args: &JobsArgs) -> Result<i32, CliError> {
    let session = Session::open(cli).await?;
    let mut config = session.engine_config(None);
    if session.demo {
        config.resume = false;
    }
    let (mut engine, _) = session.engine(config).await?;
    let ask = Command::Remote {
        seq: 1,
        since: args.since.map(|t| t.to_string()),
    };
    let _ = engine.commands.send(ask.clone());
    let mut lost = false;
    let outcome = loop {
        let event = tokio::select! {
            event = engine.events.recv() => event,
            _ = tokio::signal::ctrl_c() => break Ok(Err(exit::INTERRUPTED)),
        };
        match event {
            None => break Err(CliError::Local("the engine stopped unexpectedly".into())),
            Some(Event::Remote {
                seq: 1,
                result,
                incomplete,
            }) => {
                // A listing stopped at its bound says so.
                if let Some(message) = incomplete {
                    eprintln!("warning: {}", sanitize(&message));
                }
                break Ok(Ok(result));
            }
            Some(Event::Halted { reason }) => break Err(CliError::Local(reason)),
            Some(Event::Detached { reason, stopped }) => {
                if stopped {
                    break Err(CliError::Local(reason));
                }
                eprintln!("warning: engine unreachable — retrying ({reason})");
                lost = true;
            }
            // The question may have been lost with the connection: it is only a read, so
            // asked again.
            Some(Event::Attached { .. }) if std::mem::take(&mut lost) => {
                let _ = engine.commands.send(ask.clone());
            }
            Some(_) => {}
        }
    };
    engine.shutdown().await;
    let jobs = match outcome? {
        Ok(Ok(jobs)) => jobs,
        Ok(Err(failure)) => return Err(CliError::Engine(failure)),
        Err(code) => return Ok(code),
    };
    let wanted = |job: &RemoteJob| {
        args.status
            .as_deref()
            .is_none_or(|s| job.status.as_str() == s)
            && args
                .search
                .as_deref()
                .is_none_or(|text| job.prompt.to_lowercase().contains(&text.to_lowercase()))
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let shown = jobs
        .iter()
        .filter(|j| wanted(j))
        .take(args.limit.unwrap_or(usize::MAX));
    for job in shown {
        let line = if args.json {
            serde_json::to_string(&JobReport::from_remote(job)).unwrap_or_default()
        } else {
            line(job)
        };
        // A closed pipe (`| head`) ends the listing quietly.
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    let _ = out.flush();
    Ok(exit::OK)
}

/// `#12  job_…  success  2026-11-01 14:03  pro 5s  75 CU  a red fox…`; `-` for a job the
/// ledger does not have. The server's text was sanitized by the engine, and is again here.
fn line(job: &RemoteJob) -> String {
    let mark = job
        .local_id
        .map_or_else(|| "-".to_string(), |id| format!("#{id}"));
    // In the user's own zone, whatever offset the server wrote.
    let when: String = crate::units::local_time(&job.created_at, "%Y-%m-%d %H:%M")
        .unwrap_or_else(|| sanitize(&job.created_at).chars().take(16).collect());
    let shape = format!(
        "{} {}",
        job.mode
            .as_deref()
            .map(sanitize)
            .unwrap_or_else(|| "-".into()),
        job.duration.map_or_else(|| "-".into(), |d| format!("{d}s"))
    );
    let cost = job
        .cost
        .map_or_else(|| "- CU".into(), |c| format!("{} CU", format_units(c)));
    let prompt: String = sanitize(&job.prompt).chars().take(40).collect();
    let model = if job.model_unknown {
        "  (model unknown)"
    } else {
        ""
    };
    format!(
        "{mark:<5} {}  {}  {when}  {shape}  {cost}  {prompt}{model}",
        sanitize(&job.job_id),
        job.status
    )
}

/// `import JOB... [--out DIR]`: each job into the ledger, then followed until it is final and
/// its videos are saved. Exit 0 when all are, 4 when one failed or was canceled, 3 when one
/// could not be imported or saved.
pub async fn import(
    cli: &Cli,
    job_ids: &[String],
    out: Option<&Path>,
    json: bool,
) -> Result<i32, CliError> {
    let problems: Vec<String> = job_ids
        .iter()
        .filter(|id| {
            let id = id.trim();
            id.is_empty() || id == "." || id == ".." || id.contains('/')
        })
        .map(|id| format!("{:?} is not a job id", sanitize(id)))
        .collect();
    if !problems.is_empty() {
        return Err(CliError::Invalid(problems));
    }
    let session = Session::open(cli).await?;
    let mut config = session.engine_config(out);
    if session.demo {
        config.resume = false;
    }
    let auto_download = config.auto_download;
    let dir = session.download_dir(out);
    let dir = std::path::absolute(&dir)
        .map_err(|e| CliError::Local(format!("cannot resolve {}: {e}", dir.display())))?;
    let (mut engine, _) = session.engine(config).await?;
    let _ = engine.commands.send(Command::Import {
        seq: 1,
        job_ids: job_ids.to_vec(),
        download_dir: Some(dir),
    });

    // Every job heard of, since changes may come before the answer says which are ours.
    let mut known: HashMap<LocalId, JobRecord> = HashMap::new();
    // Ours, in the order asked, with the code each ended with once it has.
    let mut ours: BTreeMap<usize, (LocalId, Option<i32>)> = BTreeMap::new();
    let mut answered = false;
    let mut code = exit::OK;
    let mut shown: HashMap<LocalId, String> = HashMap::new();
    let mut download_asked: Vec<LocalId> = Vec::new();
    let outcome = loop {
        if answered && ours.values().all(|(_, done)| done.is_some()) {
            break Ok(code);
        }
        let event = tokio::select! {
            event = engine.events.recv() => event,
            _ = tokio::signal::ctrl_c() => {
                eprintln!(
                    "interrupted: imported jobs are in the ledger and the engine goes on with \
                     them; `kling-tui watch` follows them"
                );
                break Ok(exit::INTERRUPTED);
            }
        };
        match event {
            None => break Err(CliError::Local("the engine stopped unexpectedly".into())),
            Some(Event::Imported { seq: 1, results }) => {
                answered = true;
                for (index, (job_id, result)) in results.into_iter().enumerate() {
                    match result {
                        Ok(local_id) => {
                            eprintln!("{} is #{local_id}", sanitize(&job_id));
                            ours.insert(index, (local_id, None));
                        }
                        Err(message) => {
                            eprintln!("error: {}: {message}", sanitize(&job_id));
                            code = code.max(exit::API);
                        }
                    }
                }
            }
            Some(Event::Job(job)) => {
                known.insert(job.local_id, *job);
            }
            Some(Event::Attached { jobs, .. }) => {
                known.extend(jobs.into_iter().map(|j| (j.local_id, j)));
            }
            Some(Event::Error {
                local_id: Some(id),
                error: message,
            }) if ours.values().any(|(ours, _)| *ours == id) => {
                eprintln!("#{id}: {message}");
            }
            Some(Event::Halted { reason }) => break Err(CliError::Local(reason)),
            Some(Event::Detached { reason, stopped }) => {
                if stopped {
                    break Err(CliError::Local(format!(
                        "{reason}; imported jobs are in the ledger: `kling-tui watch` starts \
                         the engine again and follows them"
                    )));
                }
                eprintln!("warning: engine unreachable — retrying ({reason})");
            }
            Some(_) => {}
        }
        for (local_id, done) in ours.values_mut() {
            let Some(job) = known.get(local_id) else {
                continue;
            };
            let line = super::watch::line(job);
            if shown.get(local_id) != Some(&line) {
                eprintln!("{line}");
                shown.insert(*local_id, line);
            }
            if done.is_some() {
                continue;
            }
            if let Some(result) = super::submit::finished(job, true) {
                let ended = match result {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("error: #{local_id}: {e}");
                        exit::API
                    }
                };
                *done = Some(ended);
                code = code.max(ended);
            } else if job.succeeded() && !auto_download && !download_asked.contains(local_id) {
                download_asked.push(*local_id);
                let _ = engine.commands.send(Command::Download(*local_id));
            }
        }
    };
    engine.shutdown().await;
    for (local_id, done) in ours.values() {
        if let (Some(job), Some(_)) = (known.get(local_id), done) {
            JobReport::from_record(job).print(json);
        }
    }
    outcome
}
