//! `kling-tui engine status|stop|logs|serve` and `kling-tui resend`: the background engine
//! seen and handled from the command line.

use super::outln;
use std::io::{BufRead, Seek, Write};
use std::time::Duration;

use crate::cli::{Cli, EngineCommand};
use crate::daemon;
use crate::engine::{Command, Event, JobQuery, Ledger, LocalId, Submission};
use crate::sanitize::sanitize;
use crate::units::human_duration;

use super::{CliError, Session, exit};

pub async fn run(cli: &Cli, command: &EngineCommand) -> Result<i32, CliError> {
    match command {
        EngineCommand::Start { .. } => start(cli).await,
        EngineCommand::Status { json, .. } => status(cli, *json).await,
        EngineCommand::Stop { .. } => stop(cli).await,
        EngineCommand::Logs { lines, follow, .. } => logs(cli, *lines, *follow).await,
        EngineCommand::Serve => Ok(daemon::serve_from_stdin().await),
    }
}

fn local(e: daemon::DaemonError) -> CliError {
    CliError::Local(e.to_string())
}

async fn start(cli: &Cli) -> Result<i32, CliError> {
    let session = Session::open(cli).await?;
    if session.demo {
        return Err(CliError::Invalid(vec![
            "--demo: a demo's engine lives inside the demo's own process; there is none to start"
                .into(),
        ]));
    }
    let running = daemon::read_info(&session.ledger_dir)
        .map_err(local)?
        .is_some();
    let (engine, status) = session.engine(session.engine_config(None)).await?;
    engine.shutdown().await;
    if let Some(status) = status {
        let how = if running {
            "already running"
        } else {
            "started"
        };
        outln!(
            "engine {how}: pid {}, socket {}, log {}",
            status.pid,
            status.socket.display(),
            status.log.display()
        );
    }
    Ok(exit::OK)
}

async fn status(cli: &Cli, json: bool) -> Result<i32, CliError> {
    let (ledger_dir, log) = Session::engine_paths(cli)?;
    let warning = daemon::linger_warning();
    let Some(status) = daemon::engine_status(&ledger_dir).await.map_err(local)? else {
        if json {
            outln!("{}", serde_json::json!({ "running": false, "log": log }));
        } else {
            outln!("no engine is running for {}", ledger_dir.display());
            outln!("log     {}", log.display());
            outln!("(the first command that needs it starts it)");
        }
        if let Some(w) = warning {
            eprintln!("warning: {w}");
        }
        return Ok(exit::OK);
    };
    if json {
        let mut value = serde_json::to_value(&status).unwrap_or_default();
        value["running"] = true.into();
        outln!("{value}");
    } else {
        let idle = match status.idle_exit_secs {
            0 => "never".to_string(),
            s => format!(
                "after {} with no client and nothing to do",
                human_duration(Duration::from_secs(s))
            ),
        };
        outln!(
            "engine  pid {}, kling-tui {} (protocol {})",
            status.pid,
            status.version,
            status.protocol
        );
        outln!(
            "up      {} (since {})",
            human_duration(Duration::from_secs(status.uptime_secs)),
            status.started_at
        );
        outln!(
            // Jobs kept in memory: the unfinished ones, and those finished moments ago.
            "jobs    {} unfinished, {} in memory",
            status.unfinished,
            status.jobs
        );
        outln!("clients {}", status.clients);
        outln!("state   {}", if status.busy { "working" } else { "idle" });
        outln!("leaves  {idle}");
        outln!("socket  {}", status.socket.display());
        outln!("ledger  {}", status.ledger.display());
        outln!("log     {}", status.log.display());
    }
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    Ok(exit::OK)
}

async fn stop(cli: &Cli) -> Result<i32, CliError> {
    let ledger_dir = Session::ledger_dir_for(cli)?;
    match daemon::stop_engine(&ledger_dir).await.map_err(local)? {
        Some(info) => {
            outln!("stopped the engine (pid {}); the ledger is free", info.pid);
        }
        None => outln!("no engine was running for {}", ledger_dir.display()),
    }
    Ok(exit::OK)
}

async fn logs(cli: &Cli, lines: usize, follow: bool) -> Result<i32, CliError> {
    let (_, log) = Session::engine_paths(cli)?;
    let mut file = match std::fs::File::open(&log) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !follow => {
            eprintln!("no engine log yet at {}", log.display());
            return Ok(exit::OK);
        }
        Err(e) => return Err(CliError::Local(format!("{}: {e}", log.display()))),
    };
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let mut reader = std::io::BufReader::new(&mut file);
    let mut line = String::new();
    while reader
        .read_line(&mut line)
        .map_err(|e| CliError::Local(e.to_string()))?
        > 0
    {
        if tail.len() == lines {
            tail.pop_front();
        }
        tail.push_back(std::mem::take(&mut line));
    }
    let mut out = std::io::stdout().lock();
    for l in &tail {
        // The log holds what servers said: made safe for the terminal like anything else.
        let _ = write!(out, "{}", sanitize_line(l));
    }
    let _ = out.flush();
    drop(out);
    if !follow {
        return Ok(exit::OK);
    }
    let mut at = file
        .stream_position()
        .map_err(|e| CliError::Local(e.to_string()))?;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(exit::OK),
        }
        let len = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        if len < at {
            // Rotated: read the new file from its start.
            file = std::fs::File::open(&log).map_err(|e| CliError::Local(e.to_string()))?;
            at = 0;
        }
        file.seek(std::io::SeekFrom::Start(at))
            .map_err(|e| CliError::Local(e.to_string()))?;
        let mut reader = std::io::BufReader::new(&mut file);
        let mut out = std::io::stdout().lock();
        loop {
            let mut l = String::new();
            match reader.read_line(&mut l) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    at += n as u64;
                    let _ = write!(out, "{}", sanitize_line(&l));
                }
            }
        }
        let _ = out.flush();
    }
}

fn sanitize_line(line: &str) -> String {
    let text = sanitize(line.trim_end_matches('\n'));
    format!("{text}\n")
}

/// `#12` or `12`: a job's number in the ledger.
pub(super) fn local_number(text: &str) -> Option<LocalId> {
    text.trim().trim_start_matches('#').parse().ok()
}

pub async fn resend(cli: &Cli, job: &str, yes: bool) -> Result<i32, CliError> {
    let Some(id) = local_number(job) else {
        return Err(CliError::Invalid(vec![format!(
            "JOB: {job:?} is not a job number of the ledger (#12 or 12, as `kling-tui jobs` shows)"
        )]));
    };
    let session = Session::open(cli).await?;
    let mut found = None;
    Ledger::query(
        &session.ledger_dir,
        &JobQuery {
            local_id: Some(id),
            ..JobQuery::default()
        },
        |j| found = Some(j),
    )
    .map_err(|e| CliError::Local(e.to_string()))?;
    let Some(record) = found else {
        return Err(CliError::Invalid(vec![format!(
            "JOB: #{id} is not in the ledger"
        )]));
    };
    if !matches!(record.submission, Submission::Unconfirmed { .. }) {
        return Err(CliError::Invalid(vec![format!(
            "JOB: #{id} is {}: only a submission never confirmed and not found on the server \
             can be sent again",
            record.state_word()
        )]));
    }
    let warning = format!(
        "#{id} \"{}\" was sent once and never confirmed, and was not found on the server. \
         Sending it again may charge twice if the first did reach the server.",
        sanitize(&record.request.prompt)
    );
    if !super::confirm(&format!("{warning} Send again?"), yes)? {
        return Ok(exit::INVALID);
    }
    let (mut engine, _) = session.engine(session.engine_config(None)).await?;
    let _ = engine.commands.send(Command::Resend(id));
    // The connection was lost since the command went: the engine may never have heard it.
    let mut lost = false;
    let code = loop {
        match engine.events.recv().await {
            Some(Event::Job(job)) if job.local_id == id => {
                if !matches!(job.submission, Submission::Unconfirmed { .. }) {
                    outln!("#{id} sent again; `kling-tui watch` follows it");
                    break exit::OK;
                }
            }
            Some(Event::Detached { stopped: false, .. }) => lost = true,
            Some(Event::Attached { jobs, .. }) if std::mem::take(&mut lost) => {
                match jobs.iter().find(|j| j.local_id == id) {
                    Some(job) if !matches!(job.submission, Submission::Unconfirmed { .. }) => {
                        outln!("#{id} sent again; `kling-tui watch` follows it");
                        break exit::OK;
                    }
                    // A new connection that may never have heard it: asked again (the engine
                    // sends only what is still unresolved, so never twice).
                    _ => {
                        let _ = engine.commands.send(Command::Resend(id));
                    }
                }
            }
            Some(Event::Error {
                local_id: Some(j),
                error: message,
            }) if j == id => {
                eprintln!("error: {message}");
                break exit::API;
            }
            Some(Event::Detached {
                reason,
                stopped: true,
            })
            | Some(Event::Halted { reason }) => {
                eprintln!("error: {reason}");
                break exit::API;
            }
            Some(_) => {}
            None => break exit::API,
        }
    };
    engine.shutdown().await;
    Ok(code)
}
