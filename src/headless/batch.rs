//! `kling-tui batch FILE --plan`: a batch file expanded, checked whole, and priced by free dry
//! runs through the engine (paced within the request budget like every request, identical
//! requests quoted once). Nothing paid is sent.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::Path;

use serde::Serialize;

use crate::batch::{self, Distinct, Expanded, distinct_requests, fitting, token};
use crate::cli::Cli;
use crate::engine::{Command, Event};
use crate::kling::KlingRequest;
use crate::sanitize::sanitize;

use super::{CliError, Session, exit};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanLine<'a> {
    row: usize,
    index: usize,
    request: &'a KlingRequest,
    /// `None` when the dry run failed (`error` says why).
    creative_units_cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanTotal<'a> {
    batch: &'a str,
    requests: usize,
    quoted: usize,
    creative_units_cost: f64,
}

pub async fn plan(
    cli: &Cli,
    file: &Path,
    json: bool,
    max_cost: Option<f64>,
) -> Result<i32, CliError> {
    // Every line checked, every file looked at, before anything is asked of anyone.
    let (name, requests) = batch::read(file).map_err(CliError::Invalid)?;
    let session = Session::open(cli).await?;
    // Identical requests are one quote.
    let all: Vec<&Expanded> = requests.iter().collect();
    let Distinct {
        requests: distinct,
        of: quote_of,
    } = distinct_requests(&all);
    let quotes = quote(&session, &distinct).await?;
    let name = sanitize(&name);
    let in_order: Vec<Option<f64>> = quote_of
        .iter()
        .map(|which| quotes[*which].as_ref().ok().copied())
        .collect();
    let fit = max_cost.map(|cap| (cap, fitting(&in_order, cap)));
    let mut total = 0.0;
    let mut failed = 0;
    let mut out = std::io::stdout().lock();
    if !json {
        let _ = writeln!(
            out,
            "batch {name}: {} requests ({} distinct), quoted by free dry runs; nothing was sent",
            requests.len(),
            distinct.len()
        );
    }
    for (expanded, which) in requests.iter().zip(&quote_of) {
        let quote = &quotes[*which];
        match quote {
            Ok(cost) => total += cost,
            Err(_) => failed += 1,
        }
        if json {
            let line = PlanLine {
                row: expanded.row,
                index: expanded.index,
                request: &expanded.request,
                creative_units_cost: quote.as_ref().ok().copied(),
                error: quote.as_ref().err().map(String::as_str),
            };
            let _ = writeln!(out, "{}", serde_json::to_string(&line).unwrap_or_default());
        } else {
            let _ = writeln!(out, "{}", line(expanded, quote));
        }
    }
    if json {
        let summary = PlanTotal {
            batch: &name,
            requests: requests.len(),
            quoted: requests.len() - failed,
            creative_units_cost: total,
        };
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(&summary).unwrap_or_default()
        );
    } else {
        let _ = writeln!(
            out,
            "total  {} requests  {} CU{}",
            requests.len(),
            crate::units::format_units(total),
            match failed {
                0 => String::new(),
                n => format!("  ({n} could not be quoted: not counted)"),
            }
        );
        if let Some((cap, (fits, spent))) = fit {
            let _ = writeln!(out, "{}", cap_line(cap, fits, spent, requests.len()));
        }
    }
    Ok(if failed == 0 { exit::OK } else { exit::API })
}

fn cap_line(cap: f64, fits: usize, spent: f64, all: usize) -> String {
    let units = crate::units::format_units;
    if fits == all {
        format!("cap    {} CU: all fit ({} CU)", units(cap), units(spent))
    } else if fits == 0 {
        format!(
            "cap    {} CU: not even #1 fits; all {all} would be held until the cap is raised",
            units(cap)
        )
    } else {
        format!(
            "cap    {} CU: #1–#{fits} fit ({} CU); #{}–#{all} would be held until the cap is \
             raised",
            units(cap),
            units(spent),
            fits + 1
        )
    }
}

fn line(expanded: &Expanded, quote: &Result<f64, String>) -> String {
    match quote {
        Ok(cost) => format!(
            "{:>7} CU  {}  (line {})",
            crate::units::format_units(*cost),
            expanded.summary(),
            expanded.row
        ),
        Err(e) => format!(
            "      ? CU  {}  (line {}): not quoted: {e}",
            expanded.summary(),
            expanded.row
        ),
    }
}

/// One dry run per request, through the engine; answers in the order asked.
async fn quote(
    session: &Session,
    requests: &[&KlingRequest],
) -> Result<Vec<Result<f64, String>>, CliError> {
    let (mut engine, _) = session.engine(session.engine_config(None)).await?;
    for (n, request) in requests.iter().enumerate() {
        let _ = engine.commands.send(Command::Estimate {
            seq: n as u64 + 1,
            request: (*request).clone(),
        });
    }
    let tty = std::io::stderr().is_terminal();
    let mut quotes: Vec<Option<Result<f64, String>>> = vec![None; requests.len()];
    let mut answered = 0;
    let outcome = loop {
        if answered == requests.len() {
            break Ok(());
        }
        match engine.events.recv().await {
            Some(Event::Estimate { seq, cost }) => {
                let slot = (seq as usize)
                    .checked_sub(1)
                    .and_then(|i| quotes.get_mut(i));
                if let Some(slot @ None) = slot {
                    *slot = Some(cost.map_err(|e| e.message));
                    answered += 1;
                    if tty {
                        eprint!("\r\x1b[2Kquoting {answered}/{}", requests.len());
                    }
                }
            }
            Some(Event::Halted { reason })
            | Some(Event::Detached {
                reason,
                stopped: true,
            }) => break Err(CliError::Local(reason)),
            Some(_) => {}
            None => break Err(CliError::Local("the engine stopped unexpectedly".into())),
        }
    };
    if tty {
        eprint!("\r\x1b[2K");
    }
    engine.shutdown().await;
    outcome?;
    Ok(quotes
        .into_iter()
        .map(|q| q.unwrap_or_else(|| Err("no answer".into())))
        .collect())
}

/// How `batch` sends.
pub struct Send {
    pub yes: bool,
    /// The most this batch may spend, enforced by the engine before every POST.
    pub max_cost: Option<f64>,
    pub out: Option<std::path::PathBuf>,
    pub wait: bool,
    pub json: bool,
}

pub async fn send(cli: &Cli, file: &Path, how: Send) -> Result<i32, CliError> {
    let (name, requests) = batch::read(file).map_err(CliError::Invalid)?;
    // Beside the file, under the batch's (safe) name: never the file's folder itself.
    let out = match &how.out {
        Some(dir) => dir.clone(),
        None => file.parent().unwrap_or(Path::new(".")).join(&name),
    };
    let out = std::path::absolute(&out)
        .map_err(|e| CliError::Local(format!("{}: {e}", out.display())))?;
    let session = Session::open(cli).await?;
    let shown = sanitize(&name);

    // What an earlier run of this batch already handed to the engine is not sent again.
    let known = batch_jobs(&session, &name)?;
    for (index, job) in &known {
        let same = requests
            .get(*index)
            .is_some_and(|e| same_request(&e.request, &job.request));
        if !same {
            return Err(CliError::Invalid(vec![format!(
                "batch {shown}: the ledger holds a batch of this name whose request #{} is not \
                 this file's; rename the file to send it as a new batch",
                index + 1
            )]));
        }
    }
    let fresh: Vec<&Expanded> = requests
        .iter()
        .filter(|e| !known.contains_key(&e.index))
        .collect();

    // What each request was quoted: the engine counts it against the caps until the
    // request's own cost is known.
    let mut quoted: HashMap<usize, f64> = HashMap::new();
    if !fresh.is_empty() {
        // The plan of what is left to send, confirmed before anything is.
        let distinct = distinct_requests(&fresh);
        let quotes = quote(&session, &distinct.requests).await?;
        let mut total = 0.0;
        let mut unknown = 0;
        for (expanded, which) in fresh.iter().zip(&distinct.of) {
            let q = &quotes[*which];
            match q {
                Ok(cost) => {
                    total += cost;
                    quoted.insert(expanded.index, *cost);
                }
                Err(_) => unknown += 1,
            }
            eprintln!("{}", line(expanded, q));
        }
        if let Some(cap) = how.max_cost
            && known.is_empty()
        {
            let in_order: Vec<Option<f64>> = fresh
                .iter()
                .map(|e| quoted.get(&e.index).copied())
                .collect();
            let (fits, spent) = fitting(&in_order, cap);
            eprintln!("{}", cap_line(cap, fits, spent, fresh.len()));
        }
        let resumed = match known.len() {
            0 => String::new(),
            n => format!(" ({n} sent before, not again)"),
        };
        let cost = match unknown {
            0 => format!("{} CU", crate::units::format_units(total)),
            n => format!(
                "{} CU and {n} not quoted",
                crate::units::format_units(total)
            ),
        };
        let question = format!(
            "batch {shown}: send {} requests{resumed} for {cost}, into {}?",
            fresh.len(),
            sanitize(&out.display().to_string())
        );
        if !super::confirm(&question, how.yes)? {
            return Ok(exit::INVALID);
        }
    }
    std::fs::create_dir_all(&out)
        .map_err(|e| CliError::Local(format!("cannot make {}: {e}", out.display())))?;

    let (mut engine, _) = session.engine(session.engine_config(Some(&out))).await?;
    // Every request goes, in order, with its deterministic token: one already made (by an
    // earlier run cut short before it heard the answer) is found, not made again.
    let mut ids: Vec<Option<crate::engine::LocalId>> = vec![None; requests.len()];
    for (index, job) in &known {
        ids[*index] = Some(job.local_id);
    }
    for expanded in &fresh {
        let _ = engine.commands.send(Command::Submit {
            seq: expanded.index as u64 + 1,
            token: Some(token(&name, expanded)),
            request: expanded.request.clone(),
            download_dir: Some(out.clone()),
            batch: Some(Box::new(crate::engine::BatchTag {
                name: name.clone(),
                index: expanded.index,
                row: expanded.row,
                max_cost: how.max_cost,
            })),
            quote: quoted.get(&expanded.index).copied(),
        });
    }
    if how.max_cost.is_some() && !known.is_empty() {
        // A cap given again applies to the whole batch: raised, it releases what it held.
        let _ = engine.commands.send(Command::BatchCap {
            name: name.clone(),
            max: how.max_cost,
        });
    }
    let mut jobs: std::collections::BTreeMap<crate::engine::LocalId, crate::engine::JobRecord> =
        known.into_values().map(|j| (j.local_id, j)).collect();
    // Written by the one writer the app uses too, kept current as jobs change.
    let mut manifest = batch::Manifest::new(&out, &name);
    for e in &requests {
        manifest.request(e.row, e.index, e.request.clone());
    }
    for job in jobs.values() {
        manifest.job(job);
    }
    let day_cap = session.engine_config(None).max_spend_per_day;
    let tty = std::io::stderr().is_terminal();
    let mut told = Told::default();
    let outcome: Result<(), CliError> = loop {
        let sent = ids.iter().all(Option::is_some);
        // Done, or waiting for a person (held by a cap only as the engine said since this
        // run's caps reached it): nothing more happens to it by itself.
        let done = sent
            && requests.iter().all(|e| {
                ids[e.index]
                    .and_then(|id| jobs.get(&id))
                    .is_some_and(|j| at_rest_now(j, how.max_cost, day_cap))
            });
        if done || (sent && !how.wait) {
            break Ok(());
        }
        let event = tokio::select! {
            event = engine.events.recv() => event,
            _ = tokio::signal::ctrl_c() => {
                write_manifest(&mut manifest);
                eprintln!(
                    "\ninterrupted: the engine goes on with the batch; `kling-tui batch {}` \
                     again resumes it (nothing is sent twice)",
                    sanitize(&file.display().to_string())
                );
                engine.shutdown().await;
                return Ok(exit::INTERRUPTED);
            }
        };
        match event {
            Some(Event::Submitted { seq, local_id }) => {
                if let Some(slot) = (seq as usize).checked_sub(1).and_then(|i| ids.get_mut(i)) {
                    *slot = Some(local_id);
                }
            }
            Some(Event::NotSubmitted { seq, error }) => {
                let doing = format!("request #{seq}");
                eprintln!("`kling-tui batch` again sends what is left");
                break Err(CliError::Engine(error.context(&doing)));
            }
            Some(Event::Job(job)) => {
                manifest.job(&job);
                if !tty && ids.contains(&Some(job.local_id)) {
                    told.job(&job);
                }
                jobs.insert(job.local_id, *job);
            }
            Some(Event::Attached { jobs: now, .. }) => {
                for job in now {
                    manifest.job(&job);
                    jobs.insert(job.local_id, job);
                }
            }
            Some(Event::Halted { reason })
            | Some(Event::Detached {
                reason,
                stopped: true,
            }) => break Err(CliError::Local(reason)),
            Some(Event::Settled) => {
                // At rest with some of ours not done: what is left needs a person.
                if ids.iter().all(Option::is_some) {
                    break Ok(());
                }
            }
            Some(_) => {}
            None => break Err(CliError::Local("the engine stopped unexpectedly".into())),
        }
        if manifest
            .due()
            .is_some_and(|at| at <= std::time::Instant::now())
        {
            write_manifest(&mut manifest);
            if tty {
                eprint!("\r\x1b[2K{}", progress(&requests, &ids, &jobs));
            }
        }
        if !tty {
            told.totals(progress(&requests, &ids, &jobs));
        }
    };
    if tty {
        eprint!("\r\x1b[2K");
    }
    engine.shutdown().await;
    write_manifest(&mut manifest);
    outcome?;
    let summary = progress(&requests, &ids, &jobs);
    if tty || summary != told.totals {
        eprintln!("{summary}");
    }
    eprintln!(
        "manifest: {}",
        sanitize(&manifest.path().display().to_string())
    );
    if how.json {
        let mut stdout = std::io::stdout().lock();
        for text in manifest.lines() {
            let _ = writeln!(stdout, "{text}");
        }
    }
    if !how.wait {
        return Ok(exit::OK);
    }
    let ours: Vec<&crate::engine::JobRecord> = ids
        .iter()
        .filter_map(|id| id.and_then(|id| jobs.get(&id)))
        .collect();
    let holding = ours.iter().filter(|j| held(j)).count();
    if holding > 0 {
        eprintln!(
            "{holding} held by a spend cap: `kling-tui batch {} --max-cost CU` with a higher \
             cap (or a higher max_spend_per_day) sends them",
            sanitize(&file.display().to_string())
        );
    }
    Ok(if ours.iter().all(|j| j.fully_downloaded()) {
        exit::OK
    } else if ours.iter().any(|j| j.is_final() && !j.succeeded()) {
        exit::JOB_FAILED
    } else if holding > 0 {
        exit::HELD
    } else {
        exit::API
    })
}

/// Held by a spend cap: waits for the cap to be raised.
fn held(job: &crate::engine::JobRecord) -> bool {
    job.place.held_by().is_some()
}

/// At rest as the engine judges it, a hold counting only when by a cap this run knows to
/// be in effect: the batch's (as given now, else as recorded) or the day's. A hold by a cap
/// since changed is not the last word.
fn at_rest_now(
    job: &crate::engine::JobRecord,
    batch_cap: Option<f64>,
    day_cap: Option<f64>,
) -> bool {
    let batch_cap = batch_cap.or_else(|| job.batch.as_ref().and_then(|b| b.max_cost));
    match job.place.held_by() {
        Some(cap) => Some(cap) == batch_cap || Some(cap) == day_cap,
        None => job.place.at_rest(),
    }
}

fn same_request(a: &KlingRequest, b: &KlingRequest) -> bool {
    a.to_json() == b.to_json()
}

/// `done 3/12  failed 1  running 8  spent 225 CU`.
fn progress(
    requests: &[Expanded],
    ids: &[Option<crate::engine::LocalId>],
    jobs: &std::collections::BTreeMap<crate::engine::LocalId, crate::engine::JobRecord>,
) -> String {
    let ours: Vec<&crate::engine::JobRecord> = ids
        .iter()
        .filter_map(|id| id.and_then(|id| jobs.get(&id)))
        .collect();
    // What each cost as the bill counts it: a refunded failure nothing.
    let spent: f64 = ours.iter().filter_map(|j| j.charged()).sum();
    format!(
        "{}  spent {} CU",
        Counts::of(&ours).line(requests.len()),
        crate::units::format_units(spent)
    )
}

/// What a batch prints to a stderr that is not a terminal (a log, a pipe): one line per
/// change, never a line redrawn in place. A job's line when its state changes or its progress
/// passes another tenth; the totals when they change.
#[derive(Default)]
struct Told {
    jobs: HashMap<crate::engine::LocalId, (String, u8, usize)>,
    totals: String,
}

impl Told {
    fn job(&mut self, job: &crate::engine::JobRecord) {
        let saved = job.downloads.iter().filter(|d| d.is_done()).count();
        let now = (job.state_word(), job.percent() / 10, saved);
        if self.jobs.get(&job.local_id) != Some(&now) {
            let row = job.batch.as_ref().map_or(0, |b| b.row);
            eprintln!("{}  (line {row})", super::watch::line(job));
            self.jobs.insert(job.local_id, now);
        }
    }

    fn totals(&mut self, line: String) {
        if line != self.totals {
            eprintln!("{line}");
            self.totals = line;
        }
    }
}

/// Where a batch's latest attempts stand, each in one bucket.
struct Counts {
    done: usize,
    failed: usize,
    holding: usize,
    /// Sent, but the answer never came (a crash mid-POST): looked for on the server, never
    /// counted as running.
    unconfirmed: usize,
    running: usize,
}

impl Counts {
    fn of(ours: &[&crate::engine::JobRecord]) -> Self {
        let done = ours.iter().filter(|j| j.fully_downloaded()).count();
        let failed = ours
            .iter()
            .filter(|j| j.is_final() && !j.succeeded())
            .count();
        let holding = ours.iter().filter(|j| held(j)).count();
        let unconfirmed = ours
            .iter()
            .filter(|j| matches!(j.submission, crate::engine::Submission::Unconfirmed { .. }))
            .count();
        Self {
            done,
            failed,
            holding,
            unconfirmed,
            running: ours.len() - done - failed - holding - unconfirmed,
        }
    }
}

impl Counts {
    /// `done 3/12  failed 1  held 0  running 8`, with `unconfirmed N` before `running` when
    /// there are any.
    fn line(&self, total: usize) -> String {
        let unconfirmed = match self.unconfirmed {
            0 => String::new(),
            n => format!("  unconfirmed {n}"),
        };
        format!(
            "done {}/{total}  failed {}  held {}{unconfirmed}  running {}",
            self.done, self.failed, self.holding, self.running
        )
    }
}

/// Writes the manifest, saying so when it cannot.
fn write_manifest(manifest: &mut batch::Manifest) {
    if let Err(e) = manifest.write() {
        eprintln!(
            "warning: cannot write {}: {e}",
            sanitize(&manifest.path().display().to_string())
        );
    }
}

/// The batch's requests the ledger holds, each by its latest attempt, by place; none if the
/// batch was never sent.
fn batch_jobs(
    session: &Session,
    name: &str,
) -> Result<std::collections::BTreeMap<usize, crate::engine::JobRecord>, CliError> {
    let mut latest = std::collections::BTreeMap::new();
    crate::engine::Ledger::query(
        &session.ledger_dir,
        &crate::engine::JobQuery {
            batch: Some(name.to_string()),
            ..crate::engine::JobQuery::default()
        },
        |job| {
            if let Some(tag) = &job.batch {
                // Oldest first: a later attempt replaces an earlier one.
                latest.insert(tag.index, job);
            }
        },
    )
    .map_err(|e| CliError::Local(e.to_string()))?;
    Ok(latest)
}

/// Like [`batch_jobs`], for a batch that must exist.
fn latest_of_batch(
    session: &Session,
    name: &str,
) -> Result<std::collections::BTreeMap<usize, crate::engine::JobRecord>, CliError> {
    let latest = batch_jobs(session, name)?;
    if latest.is_empty() {
        return Err(CliError::Invalid(vec![format!(
            "batch: no batch named {} in the ledger",
            sanitize(name)
        )]));
    }
    Ok(latest)
}

/// `kling-tui batch status NAME`: each request of the batch and the totals, as the engine
/// sees them now (holds by a spend cap are the engine's to know).
pub async fn status(cli: &Cli, name: &str, json: bool) -> Result<i32, CliError> {
    let session = Session::open(cli).await?;
    let mut latest = latest_of_batch(&session, name)?;
    let (mut engine, _) = session.engine(session.engine_config(None)).await?;
    let _ = engine.commands.send(Command::Overview { seq: 1 });
    let mut overview = None;
    while overview.is_none() {
        match engine.events.recv().await {
            Some(Event::Attached { jobs, .. }) => {
                for job in jobs {
                    if let Some(tag) = job.batch.clone().filter(|t| t.name == name)
                        && latest
                            .get(&tag.index)
                            .is_none_or(|j| j.local_id <= job.local_id)
                    {
                        latest.insert(tag.index, job);
                    }
                }
            }
            Some(Event::Overview { overview: o, .. }) => overview = Some(o),
            Some(Event::Halted { reason })
            | Some(Event::Detached {
                reason,
                stopped: true,
            }) => return Err(CliError::Local(reason)),
            Some(_) => {}
            None => return Err(CliError::Local("the engine stopped unexpectedly".into())),
        }
    }
    engine.shutdown().await;
    let summary = overview
        .and_then(|o| o.batches.into_iter().find(|b| b.name == name))
        .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    for (index, job) in &latest {
        let files: Vec<String> = job
            .downloads
            .iter()
            .filter_map(|d| d.file.as_ref())
            .map(|f| f.display().to_string())
            .collect();
        if json {
            let row = job.batch.as_ref().map_or(0, |b| b.row);
            let line = batch::ManifestLine::of(row, *index, &job.request, Some(job));
            let _ = writeln!(out, "{}", line.to_json());
        } else {
            let files = match files.is_empty() {
                true => String::new(),
                false => format!("  {}", sanitize(&files.join(" "))),
            };
            // A refunded failure cost nothing: its price is told as given back.
            let refund = match (job.cost, job.charged()) {
                (Some(cost), Some(charged)) if charged < cost => {
                    format!(
                        "  ({} CU refunded)",
                        crate::units::format_units(cost - charged)
                    )
                }
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "{:04}  line {:<4} #{:<6} {:>6} CU  {}{refund}{files}",
                index,
                job.batch.as_ref().map_or(0, |b| b.row),
                job.local_id,
                job.charged().map_or("-".into(), crate::units::format_units),
                job.state_word(),
            );
        }
    }
    let ours: Vec<&crate::engine::JobRecord> = latest.values().collect();
    let counts = Counts::of(&ours);
    let (done, failed, holding) = (counts.done, counts.failed, counts.holding);
    let cap = summary
        .max_cost
        .map(|c| format!(" of {} CU", crate::units::format_units(c)))
        .unwrap_or_default();
    eprintln!(
        "batch {}: {}  spent {} CU{cap}",
        sanitize(name),
        counts.line(ours.len()),
        crate::units::format_units(summary.spent),
    );
    let ids: Vec<crate::engine::LocalId> = ours.iter().map(|j| j.local_id).collect();
    if let Ok(takes) = crate::takes::Takes::open(&session.ledger_dir)
        && let Some(line) = super::takes::selects_line(&takes, &ids, summary.spent)
    {
        eprintln!("batch {}: {line}", sanitize(name));
    }
    Ok(if done == ours.len() {
        exit::OK
    } else if failed > 0 {
        exit::JOB_FAILED
    } else if holding > 0 {
        exit::HELD
    } else {
        exit::API
    })
}

/// `kling-tui batch retry NAME`: the requests whose latest attempt failed, sent again as new
/// paid submissions once confirmed.
pub async fn retry(cli: &Cli, name: &str, yes: bool) -> Result<i32, CliError> {
    let session = Session::open(cli).await?;
    let latest = latest_of_batch(&session, name)?;
    let failed = latest
        .values()
        .filter(|j| {
            matches!(j.submission, crate::engine::Submission::Rejected { .. })
                || j.status == Some(crate::api::types::JobStatus::Failure)
        })
        .count();
    let shown = sanitize(name);
    if failed == 0 {
        eprintln!("batch {shown}: no failed request to send again");
        return Ok(exit::OK);
    }
    let question = format!(
        "batch {shown}: send again the {failed} failed request(s)? Each is a new, paid \
         submission."
    );
    if !super::confirm(&question, yes)? {
        return Ok(exit::INVALID);
    }
    let (mut engine, _) = session.engine(session.engine_config(None)).await?;
    let _ = engine.commands.send(Command::RetryBatch {
        name: name.to_string(),
    });
    let code = loop {
        match engine.events.recv().await {
            Some(Event::Notice { message }) if message.starts_with(&format!("batch {shown}:")) => {
                eprintln!("{message}; `kling-tui watch --batch {shown}` follows them");
                break exit::OK;
            }
            Some(Event::Error { error, .. }) => eprintln!("error: {error}"),
            Some(Event::Halted { reason })
            | Some(Event::Detached {
                reason,
                stopped: true,
            }) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unconfirmed_attempts_are_counted_apart_from_running_ones() {
        use crate::engine::{JobRecord, Submission};
        let job = |id, submission| {
            let mut j = JobRecord::new(id, String::new(), crate::kling::KlingRequest::new("x"));
            j.submission = submission;
            j
        };
        let a = job(
            1,
            Submission::Unconfirmed {
                reason: "killed".into(),
            },
        );
        let b = job(
            2,
            Submission::Unconfirmed {
                reason: "killed".into(),
            },
        );
        let mut c = job(3, Submission::Accepted);
        c.status = Some(crate::api::types::JobStatus::InProgress);
        let line = Counts::of(&[&a, &b, &c]).line(3);
        assert_eq!(line, "done 0/3  failed 0  held 0  unconfirmed 2  running 1");
        assert_eq!(
            Counts::of(&[&c]).line(1),
            "done 0/1  failed 0  held 0  running 1"
        );
    }

    #[test]
    fn the_cap_line_names_what_fits_and_what_would_wait() {
        assert_eq!(
            cap_line(200.0, 3, 200.0, 5),
            "cap    200 CU: #1–#3 fit (200 CU); #4–#5 would be held until the cap is raised"
        );
        assert_eq!(
            cap_line(400.0, 5, 350.0, 5),
            "cap    400 CU: all fit (350 CU)"
        );
    }
}
