//! `kling-tui watch` and `kling-tui spend`: follow the ledger's jobs until everything is final
//! and on disk, and add up what they cost.

use super::outln;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use crate::cli::{Cli, WatchArgs};
use crate::engine::{
    Command, Event, JobQuery, JobRecord, Ledger, LocalId, Outcome, Place, SpendBy, Wait,
};

use super::address::Addressed;
use super::follow::{Following, Scope};
use crate::sanitize::sanitize;

use super::{CliError, Session, exit};

pub async fn watch(cli: &Cli, args: &WatchArgs) -> Result<i32, CliError> {
    let session = Session::open(cli).await?;
    let mut config = session.engine_config(args.out.as_deref());
    if args.no_download {
        config.auto_download = false;
    }
    if let Some(secs) = args.poll_interval {
        config.poll_initial = Duration::from_secs_f64(secs);
    }
    let (mut engine, _) = session.engine(config).await?;
    if let Some(out) = &args.out {
        // Every job not saved yet goes there: what `--out` says.
        let dir = std::path::absolute(out)
            .map_err(|e| CliError::Local(format!("cannot resolve {}: {e}", out.display())))?;
        let _ = engine.commands.send(Command::Destination {
            local_id: None,
            dir,
        });
    }
    // Then following jobs again: given-up polls, failed downloads and unconfirmed submissions
    // are tried once more, as a fresh start would.
    // Its answer is a fresh `Settled` (at once, or once the work is done).
    let mut refreshing = !session.demo;
    if refreshing {
        let _ = engine.commands.send(Command::Refresh);
    }
    let mut jobs: BTreeMap<LocalId, JobRecord> = BTreeMap::new();
    // Named jobs and a batch's jobs the engine no longer holds (final long ago) are read from
    // the ledger: the summary covers all of them.
    let mut earlier: BTreeMap<LocalId, JobRecord> = BTreeMap::new();
    let scope = if !args.jobs.is_empty() {
        let mut ids = std::collections::BTreeSet::new();
        for text in &args.jobs {
            let found = super::address::resolve(&session.ledger_dir, text);
            let record = match found {
                Ok(Addressed {
                    record: Some(record),
                    ..
                }) => record,
                Ok(found) => {
                    engine.shutdown().await;
                    return Err(CliError::Invalid(vec![format!(
                        "JOB: {} is not in the ledger (`kling-tui import` adds a job made \
                         elsewhere)",
                        found.shown
                    )]));
                }
                Err(e) => {
                    engine.shutdown().await;
                    return Err(e);
                }
            };
            ids.insert(record.local_id);
            earlier.insert(record.local_id, record);
        }
        Scope::Named(ids)
    } else if let Some(name) = &args.batch {
        let query = JobQuery {
            batch: Some(name.clone()),
            ..JobQuery::default()
        };
        Ledger::query(&session.ledger_dir, &query, |job| {
            earlier.insert(job.local_id, job);
        })
        .map_err(|e| CliError::Local(e.to_string()))?;
        if earlier.is_empty() {
            engine.shutdown().await;
            return Err(CliError::Invalid(vec![format!(
                "--batch: no batch named {} in the ledger (`kling-tui jobs` lists jobs with \
                 their batch)",
                sanitize(name)
            )]));
        }
        Scope::Batch(name.clone())
    } else if args.all {
        Scope::All
    } else {
        Scope::Unfinished
    };
    let mut following = Following::new(scope, args.no_download);
    let mut shown: BTreeMap<LocalId, String> = BTreeMap::new();
    let mut show = |following: &mut Following, job: &JobRecord| {
        if !following.follows(job) {
            return;
        }
        // A line per ten points of progress at most, so logs stay short.
        let key = line_at(job, job.percent() / 10 * 10);
        if shown.get(&job.local_id) != Some(&key) {
            println_flush(&line(job));
            shown.insert(job.local_id, key);
        }
    };
    // Nothing is known of the engine's jobs before its first snapshot.
    let mut attached = false;
    let code = loop {
        let event = tokio::select! {
            event = engine.events.recv() => event,
            _ = tokio::signal::ctrl_c() => break exit::INTERRUPTED,
        };
        match event {
            None => break exit::API,
            Some(Event::Job(job)) => {
                show(&mut following, &job);
                jobs.insert(job.local_id, *job);
            }
            Some(Event::Attached {
                jobs: now,
                restarted,
                ..
            }) => {
                if restarted {
                    eprintln!("engine restarted — reattached");
                }
                attached = true;
                jobs = now.into_iter().map(|j| (j.local_id, j)).collect();
                for job in jobs.values() {
                    show(&mut following, job);
                }
            }
            Some(Event::Detached { reason, stopped }) => {
                if stopped {
                    eprintln!("error: {reason}");
                    break exit::API;
                }
                eprintln!("warning: engine unreachable — retrying ({reason})");
            }
            Some(Event::Forgotten(id)) => {
                jobs.remove(&id);
                earlier.remove(&id);
            }
            Some(Event::DownloadFinished { local_id, path, .. }) => {
                if following.followed(local_id) {
                    println_flush(&format!(
                        "#{local_id}  downloaded  {}",
                        sanitize(&path.display().to_string())
                    ));
                }
            }
            Some(Event::Error {
                local_id,
                error: message,
            }) => match local_id {
                Some(id) if following.followed(id) => eprintln!("#{id}: {message}"),
                Some(_) => {}
                None => eprintln!("error: {message}"),
            },
            Some(Event::Notice { message }) => eprintln!("{message}"),
            Some(Event::Halted { reason }) => {
                eprintln!("error: {reason}");
                break exit::API;
            }
            Some(Event::Settled) => refreshing = false,
            Some(_) => {}
        }
        if !attached {
            continue;
        }
        let mine = following.jobs(&earlier, &jobs);
        if let Some(places) = following.over(&mine, refreshing) {
            if places.is_empty() {
                eprintln!(
                    "no job to wait for: every job is final (`kling-tui watch --all` follows \
                     them all, `kling-tui jobs` lists them)"
                );
                break exit::OK;
            }
            if let Scope::Batch(name) = following.scope() {
                eprint!("batch {}: ", sanitize(name));
            }
            break summary(&places);
        }
    };
    engine.shutdown().await;
    Ok(code)
}

/// A job's line, its progress as the app shows it.
pub(super) fn line(job: &JobRecord) -> String {
    line_at(job, job.percent())
}

/// A job's line with its progress given as `percent`.
fn line_at(job: &JobRecord, percent: u8) -> String {
    let done = job.downloads.iter().filter(|d| d.is_done()).count();
    let mut text = format!(
        "#{}  {}  {}  {percent}%",
        job.local_id,
        job.job_id
            .as_deref()
            .map(sanitize)
            .unwrap_or_else(|| "-".into()),
        job.state_word(),
    );
    if !job.downloads.is_empty() {
        text.push_str(&format!("  files {done}/{}", job.downloads.len()));
    }
    if let Some(error) = &job.error {
        text.push_str(&format!("  error: {}", sanitize(error)));
    }
    if let Some(at) = job
        .expected_at
        .as_deref()
        .and_then(|at| crate::units::local_time(at, "%H:%M"))
    {
        text.push_str(&format!("  expected by {at}"));
    }
    text
}

fn println_flush(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Prints the totals and picks the exit code: 4 if a job failed or was canceled, 3 if one is
/// unconfirmed, was refused, could not be downloaded, or was given up on, else 0.
fn summary(places: &[Place]) -> i32 {
    let mut code = exit::OK;
    let (mut ok, mut failed, mut trouble, mut held) = (0, 0, 0, 0);
    for place in places {
        match place {
            Place::Waits {
                why: Wait::Held { .. },
            } => {
                held += 1;
                if code == exit::OK {
                    code = exit::HELD;
                }
            }
            Place::Done {
                how: Outcome::Saved | Outcome::Succeeded,
            } => ok += 1,
            Place::Done {
                how: Outcome::Failed | Outcome::Canceled,
            } => {
                failed += 1;
                code = code.max(exit::JOB_FAILED);
            }
            _ => {
                trouble += 1;
                code = code.max(exit::API);
            }
        }
    }
    let held = match held {
        0 => String::new(),
        n => format!(", {n} held by a spend cap"),
    };
    eprintln!(
        "{}: {ok} done, {failed} failed or canceled, {trouble} need attention{held}",
        crate::units::count(places.len(), "job")
    );
    code
}

pub async fn spend(
    cli: &Cli,
    since: Option<jiff::Timestamp>,
    by: Option<&str>,
    json: bool,
) -> Result<i32, CliError> {
    let dir = Session::ledger_dir_for(cli)?;
    let by = match by {
        Some("day") => SpendBy::Day,
        Some("mode") => SpendBy::Mode,
        _ => SpendBy::Total,
    };
    let local = |e: crate::engine::LedgerError| CliError::Local(e.to_string());
    let groups = Ledger::spend(&dir, since, by).map_err(local)?;
    let rejections = Ledger::rejections(&dir, since).map_err(local)?;
    let (mut jobs, mut units, mut kept) = (0, 0.0, 0);
    for group in &groups {
        jobs += group.jobs;
        units += group.creative_units;
        kept += group.kept;
        if json {
            let mut line = serde_json::to_value(group).unwrap_or_default();
            if by == SpendBy::Total {
                line["rejections"] = serde_json::to_value(&rejections).unwrap_or_default();
            }
            outln!("{line}");
        } else if by != SpendBy::Total {
            outln!(
                "{}",
                spend_line(
                    &sanitize(&group.group),
                    group.jobs,
                    group.creative_units,
                    group.kept
                )
            );
        }
    }
    if groups.is_empty() && json {
        outln!(
            "{}",
            serde_json::json!({"group": "total", "jobs": 0, "creativeUnits": 0.0, "kept": 0,
                               "rejected": 0, "perKeptClip": null, "rejections": rejections})
        );
    }
    if !json {
        outln!("{}", spend_line("total", jobs, units, kept));
        if !rejections.is_empty() {
            let counted: Vec<String> = rejections
                .iter()
                .map(|r| {
                    let reason = r.reason.as_deref().map_or("no reason".into(), sanitize);
                    format!("{reason} {}", r.jobs)
                })
                .collect();
            outln!("rejected: {}", counted.join(", "));
        }
    }
    Ok(exit::OK)
}

/// One line of `spend`: jobs, creative units, and what a kept take cost where one is kept.
fn spend_line(group: &str, jobs: u64, units: f64, kept: u64) -> String {
    let mut line = format!(
        "{group:<12} {jobs:>6} jobs  {:>10} CU",
        super::report::format_units(units)
    );
    if let Some(per) = crate::engine::per_kept(units, kept) {
        line += &format!(
            "  {kept} kept, {} CU per kept clip",
            super::report::format_units(per)
        );
    }
    line
}
