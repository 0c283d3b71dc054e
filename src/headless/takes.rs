//! `kling-tui mark` and `kling-tui seq`: the selects and sequences kept beside the jobs
//! (crates/engine's `takes`), from scripts. Plain lines for people, `--json` for programs.

use std::path::Path;

use serde_json::{Value, json};

use super::{CliError, Session, address, exit, outln};
use crate::cli::{Cli, SeqAction, SeqArgs};
use crate::engine::{JobQuery, JobRecord, Ledger, LocalId};
use crate::sanitize::sanitize;
use crate::takes::{Mark, RejectReasons, Sequence, Takes, TakesError};
use crate::units::format_units;

fn takes_error(e: TakesError) -> CliError {
    match e {
        TakesError::Refused(why) => CliError::Invalid(vec![why]),
        other => CliError::Local(other.to_string()),
    }
}

/// The reasons a reject may give: the built-in ones and config.toml's `reject_reasons`.
pub(crate) fn reasons() -> Result<RejectReasons, CliError> {
    let dirs = crate::config::Dirs::locate()?;
    let config = crate::config::load(&dirs.config_file)?;
    let extra = config.and_then(|c| c.reject_reasons).unwrap_or_default();
    Ok(RejectReasons::new(&extra))
}

/// The ledger's number of the job `text` names, which must be in the ledger.
fn local_job(dir: &Path, text: &str) -> Result<JobRecord, CliError> {
    let found = address::resolve(dir, text)?;
    found.record.ok_or_else(|| {
        CliError::Invalid(vec![format!(
            "JOB: {} is not in the ledger; `kling-tui import {}` adds it",
            found.shown, found.shown
        )])
    })
}

pub async fn mark(
    cli: &Cli,
    job: &str,
    mark: &str,
    reason: Option<&str>,
    json: bool,
) -> Result<i32, CliError> {
    let dir = Session::ledger_dir_for(cli)?;
    let record = local_job(&dir, job)?;
    let mark = Mark::parse(mark);
    let reason = match (mark, reason) {
        (Some(Mark::Reject), Some(given)) => Some(reasons()?.check(given).map_err(takes_error)?),
        (_, Some(_)) => {
            return Err(CliError::Invalid(vec![
                "--reason: a reason goes with `reject` only".into(),
            ]));
        }
        (_, None) => None,
    };
    let takes = Takes::open(&dir).map_err(takes_error)?;
    takes
        .mark(record.local_id, mark, reason.as_deref())
        .map_err(takes_error)?;
    refresh(&takes, &record);
    let entry = takes.mark_of(record.local_id).map_err(takes_error)?;
    if json {
        outln!(
            "{}",
            json!({"localId": record.local_id, "mark": entry.as_ref().map(|e| e.mark),
                   "reason": entry.as_ref().and_then(|e| e.reason.clone())})
        );
    } else {
        match (mark, reason) {
            (Some(Mark::Keep), _) => outln!("#{} kept", record.local_id),
            (Some(Mark::Reject), Some(reason)) => {
                outln!("#{} rejected: {}", record.local_id, sanitize(&reason))
            }
            (Some(Mark::Reject), None) => outln!("#{} rejected", record.local_id),
            (None, _) => outln!("#{} unmarked", record.local_id),
        }
    }
    Ok(exit::OK)
}

pub async fn seq(cli: &Cli, args: &SeqArgs) -> Result<i32, CliError> {
    let dir = Session::ledger_dir_for(cli)?;
    let takes = Takes::open(&dir).map_err(takes_error)?;
    let json = args.json;
    match &args.action {
        SeqAction::New { name } => {
            takes.new_sequence(name).map_err(takes_error)?;
            if json {
                outln!("{}", json!({"name": name.trim(), "shots": 0}));
            } else {
                outln!(
                    "sequence {:?} made; `kling-tui seq add {:?} JOB` adds its first shot",
                    sanitize(name.trim()),
                    sanitize(name.trim())
                );
            }
        }
        SeqAction::List => {
            let all = takes.sequences().map_err(takes_error)?;
            if json {
                for s in &all {
                    outln!("{}", serde_json::to_string(s).unwrap_or_default());
                }
            } else if all.is_empty() {
                eprintln!("no sequence yet: `kling-tui seq new NAME` makes one");
            } else {
                for s in &all {
                    outln!(
                        "{}  {} · {} chosen · {}",
                        sanitize(&s.name),
                        crate::units::count(s.shots as usize, "shot"),
                        s.chosen,
                        crate::units::count(s.takes as usize, "take")
                    );
                }
            }
        }
        SeqAction::Show { name } => {
            let sequence = takes.sequence(name).map_err(takes_error)?;
            show(&dir, &takes, &sequence, json)?;
        }
        SeqAction::Add { name, job } => {
            let record = local_job(&dir, job)?;
            let shot = takes
                .add_shot(name, Some(record.local_id))
                .map_err(takes_error)?;
            refresh(&takes, &record);
            said(
                json,
                name,
                shot,
                record.local_id,
                "is shot {shot} of {name}, chosen",
            );
        }
        SeqAction::Take { name, shot, job } => {
            let record = local_job(&dir, job)?;
            takes
                .add_take(name, *shot, record.local_id)
                .map_err(takes_error)?;
            refresh(&takes, &record);
            said(
                json,
                name,
                *shot,
                record.local_id,
                "is a take of shot {shot} of {name}",
            );
        }
        SeqAction::Choose { name, shot, job } => {
            let record = local_job(&dir, job)?;
            let before = takes.sequence(name).map_err(takes_error)?;
            takes
                .choose(name, *shot, record.local_id)
                .map_err(takes_error)?;
            refresh(&takes, &record);
            // The take it replaced is no longer chosen: its sidecar says so.
            if let Some(old) = before
                .shots
                .get((*shot as usize).wrapping_sub(1))
                .and_then(|s| s.chosen)
                .filter(|old| *old != record.local_id)
                && let Some(old) = record_of(&dir, old)?
            {
                refresh(&takes, &old);
            }
            said(
                json,
                name,
                *shot,
                record.local_id,
                "is the chosen take of shot {shot} of {name}",
            );
        }
        SeqAction::Move { name, shot, pos } => {
            takes.move_shot(name, *shot, *pos).map_err(takes_error)?;
            refresh_all(&dir, &takes, name)?;
            if json {
                let sequence = takes.sequence(name).map_err(takes_error)?;
                show(&dir, &takes, &sequence, true)?;
            } else {
                outln!(
                    "shot {shot} of {:?} is now shot {pos}",
                    sanitize(name.trim())
                );
            }
        }
        SeqAction::Cut { name, out } => {
            let sequence = takes.sequence(name).map_err(takes_error)?;
            return super::cut::run(&dir, &sequence, out, json).await;
        }
        SeqAction::Rm { name, shot } => {
            let before = takes.sequence(name).map_err(takes_error)?;
            takes.remove_shot(name, *shot).map_err(takes_error)?;
            // The removed shot's takes and every later shot's numbers changed.
            for id in before.shots.iter().flat_map(|s| s.takes.iter()) {
                if let Some(record) = record_of(&dir, *id)? {
                    refresh(&takes, &record);
                }
            }
            if json {
                outln!("{}", json!({"name": name.trim(), "removed": shot}));
            } else {
                outln!(
                    "shot {shot} of {:?} removed; its jobs stay in the ledger",
                    sanitize(name.trim())
                );
            }
        }
    }
    Ok(exit::OK)
}

fn said(json: bool, name: &str, shot: u32, job: LocalId, what: &str) {
    if json {
        outln!(
            "{}",
            json!({"name": name.trim(), "shot": shot, "localId": job})
        );
    } else {
        let what = what
            .replace("{shot}", &shot.to_string())
            .replace("{name}", &format!("{:?}", sanitize(name.trim())));
        outln!("#{job} {what}");
    }
}

/// The ledger's record of job `id`, if it is still there.
pub(crate) fn record_of(dir: &Path, id: LocalId) -> Result<Option<JobRecord>, CliError> {
    let mut found = None;
    let query = JobQuery {
        local_id: Some(id),
        ..JobQuery::default()
    };
    Ledger::query(dir, &query, |job| found = Some(job))
        .map_err(|e| CliError::Local(e.to_string()))?;
    Ok(found)
}

fn refresh_all(dir: &Path, takes: &Takes, name: &str) -> Result<(), CliError> {
    let sequence = takes.sequence(name).map_err(takes_error)?;
    for id in sequence.shots.iter().flat_map(|s| s.takes.iter()) {
        if let Some(record) = record_of(dir, *id)? {
            refresh(takes, &record);
        }
    }
    Ok(())
}

/// One take as `seq show` gives it.
fn take_json(takes: &Takes, id: LocalId, record: Option<&JobRecord>, chosen: bool) -> Value {
    let mark = takes.mark_of(id).ok().flatten();
    match record {
        Some(job) => json!({
            "localId": id,
            "id": job.job_id,
            "chosen": chosen,
            "status": job.standing().status,
            "prompt": job.request.prompt,
            "mode": job.request.mode.to_string(),
            "duration": job.seconds(),
            "cost": job.charged(),
            "mark": mark.as_ref().map(|m| m.mark),
            "reason": mark.as_ref().and_then(|m| m.reason.clone()),
            "file": job.downloads.first().and_then(|d| d.file.clone()),
        }),
        None => json!({"localId": id, "chosen": chosen, "status": "forgotten"}),
    }
}

fn show(dir: &Path, takes: &Takes, sequence: &Sequence, json: bool) -> Result<(), CliError> {
    let (mut total, mut spent, mut chosen_cost, mut kept) = (0.0, 0.0, 0.0, 0u64);
    // A job may be a take of more than one shot: it was paid for, and is kept, once.
    let mut counted = std::collections::BTreeSet::new();
    // Each shot's chosen take first, its other takes after it.
    let mut rows: Vec<(u32, bool, Value)> = Vec::new();
    for shot in &sequence.shots {
        let mut others = Vec::new();
        for id in &shot.takes {
            let record = record_of(dir, *id)?;
            let is_chosen = shot.chosen == Some(*id);
            if let Some(job) = &record {
                let cost = job.charged().unwrap_or(0.0);
                if counted.insert(*id) {
                    spent += cost;
                    let mark = takes.mark_of(*id).ok().flatten();
                    kept += u64::from(mark.is_some_and(|m| m.mark == Mark::Keep));
                }
                if is_chosen {
                    total += job.seconds();
                    chosen_cost += cost;
                }
            }
            let value = take_json(takes, *id, record.as_ref(), is_chosen);
            if is_chosen {
                rows.push((shot.position, true, value));
            } else {
                others.push((shot.position, false, value));
            }
        }
        if shot.chosen.is_none() {
            rows.push((shot.position, true, Value::Null));
        }
        rows.extend(others);
    }
    if json {
        let shots: Vec<Value> = sequence
            .shots
            .iter()
            .map(|s| {
                let of_shot: Vec<Value> = rows
                    .iter()
                    .filter(|(p, _, v)| *p == s.position && !v.is_null())
                    .map(|(_, _, v)| v.clone())
                    .collect();
                json!({"shot": s.position, "chosen": s.chosen, "takes": of_shot})
            })
            .collect();
        outln!(
            "{}",
            json!({"name": sequence.name, "createdAt": sequence.created_at, "shots": shots,
                   "duration": total, "creativeUnits": spent, "chosenCreativeUnits": chosen_cost,
                   "kept": kept, "perKeptClip": crate::engine::per_kept(spent, kept)})
        );
        return Ok(());
    }
    outln!(
        "{}: {}, {:.1} s chosen",
        sanitize(&sequence.name),
        crate::units::count(sequence.shots.len(), "shot"),
        total
    );
    let marks: Vec<String> = rows.iter().map(|(_, _, v)| mark_word(v)).collect();
    let width = marks.iter().map(|m| m.chars().count()).max().unwrap_or(0);
    for ((position, first, take), mark) in rows.iter().zip(&marks) {
        let shot = if *first {
            format!("{position:>3}")
        } else {
            "   ".into()
        };
        if take.is_null() {
            outln!("{shot}  (no take chosen)");
        } else {
            outln!("{shot}  {}", take_line(take, mark, width));
        }
    }
    outln!(
        "spent {} CU on every take, {} CU on the chosen ones",
        format_units(spent),
        format_units(chosen_cost)
    );
    let every: Vec<LocalId> = counted.into_iter().collect();
    if let Some(line) = selects_line(takes, &every, spent) {
        outln!("{line}");
    }
    Ok(())
}

/// How much of a prompt a line of `seq show` holds (`--json` has it whole).
const PROMPT_SHOWN: usize = 48;

/// `kept`, `rejected: motion`, or nothing.
fn mark_word(take: &Value) -> String {
    match (take["mark"].as_str(), take["reason"].as_str()) {
        (Some("keep"), _) => "kept".to_string(),
        (Some("reject"), Some(reason)) => format!("rejected: {}", sanitize(reason)),
        (Some("reject"), None) => "rejected".to_string(),
        _ => String::new(),
    }
}

/// `#12   * 5.0 s  pro       100 CU  kept  a fox runs…` (`*`: the chosen take).
fn take_line(take: &Value, mark: &str, width: usize) -> String {
    let number = take["localId"].as_u64().unwrap_or_default();
    let chosen = if take["chosen"] == true { "*" } else { " " };
    if take["status"] == "forgotten" {
        return format!("#{number:<5} {chosen} (forgotten)");
    }
    let prompt = sanitize(take["prompt"].as_str().unwrap_or_default());
    let prompt = match prompt.char_indices().nth(PROMPT_SHOWN) {
        Some((at, _)) => format!("{}…", &prompt[..at]),
        None => prompt,
    };
    format!(
        "#{number:<5} {chosen} {:>4.1} s  {:<8} {:>7} CU  {mark:<width$}  {prompt}",
        take["duration"].as_f64().unwrap_or_default(),
        take["mode"].as_str().unwrap_or_default(),
        take["cost"].as_f64().map_or("-".into(), format_units),
    )
}

/// Brings the sidecars of `job`'s videos up to date, where config.toml leaves them on; a
/// sidecar that cannot be written is told, and the command goes on.
pub(crate) fn refresh(takes: &Takes, job: &JobRecord) {
    let config = crate::config::Dirs::locate()
        .ok()
        .and_then(|dirs| crate::config::load(&dirs.config_file).ok().flatten());
    if !crate::takes::sidecar::enabled(config.as_ref()) {
        return;
    }
    if let Err(e) = crate::takes::sidecar::write(takes, job) {
        eprintln!("warning: provenance not updated: {}", sanitize(&e));
    }
}

/// What the user made of a set of takes, for the summaries of batches and sequences:
/// `3 kept of 6, 45 CU per kept clip; rejected: motion 2, no reason 1`. `None` while none is
/// marked.
pub(crate) fn selects_line(takes: &Takes, ids: &[LocalId], spent: f64) -> Option<String> {
    let mut kept = 0u64;
    let mut reasons: Vec<(String, u64)> = Vec::new();
    for id in ids {
        match takes.mark_of(*id).ok().flatten() {
            Some(m) if m.mark == Mark::Keep => kept += 1,
            Some(m) => {
                let reason = m.reason.map_or("no reason".to_string(), |r| sanitize(&r));
                match reasons.iter_mut().find(|(r, _)| *r == reason) {
                    Some((_, n)) => *n += 1,
                    None => reasons.push((reason, 1)),
                }
            }
            None => {}
        }
    }
    if kept == 0 && reasons.is_empty() {
        return None;
    }
    let mut line = format!("{kept} kept of {}", ids.len());
    if let Some(per) = crate::engine::per_kept(spent, kept) {
        line += &format!(", {} CU per kept clip", format_units(per));
    }
    if !reasons.is_empty() {
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let counted: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
        line += &format!("; rejected: {}", counted.join(", "));
    }
    Some(line)
}
