//! `kling-tui batch FILE --plan`: a batch file expanded, checked whole, and priced by free dry
//! runs through the engine (paced within the request budget like every request, identical
//! requests quoted once). Nothing paid is sent.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::Path;

use serde::Serialize;

use crate::batch::{self, Expanded};
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

pub async fn plan(cli: &Cli, file: &Path, json: bool) -> Result<i32, CliError> {
    // Every line checked, every file looked at, before anything is asked of anyone.
    let (name, requests) = batch::read(file).map_err(CliError::Invalid)?;
    let session = Session::open(cli).await?;
    // Identical requests are one quote.
    let mut distinct: Vec<&KlingRequest> = Vec::new();
    let mut by_text: HashMap<String, usize> = HashMap::new();
    let quote_of: Vec<usize> = requests
        .iter()
        .map(|e| {
            let key = e.request.to_json().to_string();
            *by_text.entry(key).or_insert_with(|| {
                distinct.push(&e.request);
                distinct.len() - 1
            })
        })
        .collect();
    let quotes = quote(&session, &distinct).await?;
    let name = sanitize(&name);
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
    }
    Ok(if failed == 0 { exit::OK } else { exit::API })
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
                    *slot = Some(cost);
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
