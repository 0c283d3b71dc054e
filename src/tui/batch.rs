//! A batch file opened in the app: expanded and checked whole, priced by free dry runs the
//! engine makes (identical requests quoted once), shown, and sent only once confirmed: the
//! same plan and the same deterministic tokens as `kling-tui batch`, so a batch opened again
//! (or sent from a script too) makes each request once.

use std::path::{Path, PathBuf};

use crate::batch::{self, Expanded};
use crate::engine::{BatchTag, Command};
use crate::units::format_units;

/// Dry runs of a plan are numbered from here, apart from the editor's own estimates.
const PLAN_SEQ: u64 = 1 << 40;
/// Room for the dry runs of one plan (a batch has at most 10,000 requests).
const PLAN_SEQ_SPAN: u64 = 1 << 16;

pub struct BatchPlan {
    pub name: String,
    pub file: PathBuf,
    /// Where its videos go: a folder named after the file, beside it.
    pub out: PathBuf,
    pub requests: Vec<Expanded>,
    /// For each request, which dry run prices it.
    of: Vec<usize>,
    /// Answers of the dry runs, in the order asked.
    pub quotes: Vec<Option<Result<f64, String>>>,
    first_seq: u64,
    /// The first request line shown.
    pub scroll: usize,
}

impl BatchPlan {
    /// Reads and expands `file`; every problem of every line when it does not pass.
    pub fn open(file: &Path, generation: u64) -> Result<Self, Vec<String>> {
        let file = std::path::absolute(file).map_err(|e| {
            vec![format!(
                "{}: {e}",
                crate::sanitize::sanitize(&file.display().to_string())
            )]
        })?;
        let (name, requests) = batch::read(&file)?;
        if requests.is_empty() {
            return Err(vec![format!(
                "{}: no request in it",
                crate::sanitize::sanitize(&file.display().to_string())
            )]);
        }
        let all: Vec<&Expanded> = requests.iter().collect();
        let distinct = batch::distinct_requests(&all);
        let quotes = vec![None; distinct.requests.len()];
        let of = distinct.of;
        // Beside the file, under the batch's (safe) name, as `batch` on the command line.
        let out = file
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(&name);
        Ok(Self {
            name,
            out,
            file,
            requests,
            of,
            quotes,
            first_seq: PLAN_SEQ + (generation % (1 << 20)) * PLAN_SEQ_SPAN,
            scroll: 0,
        })
    }

    /// One dry run per distinct request.
    pub fn quote_commands(&self) -> Vec<Command> {
        let mut seen = vec![false; self.quotes.len()];
        let mut commands = Vec::with_capacity(self.quotes.len());
        for (expanded, which) in self.requests.iter().zip(&self.of) {
            if !std::mem::replace(&mut seen[*which], true) {
                commands.push(Command::Estimate {
                    seq: self.first_seq + *which as u64,
                    request: expanded.request.clone(),
                });
            }
        }
        commands
    }

    /// Takes a dry run's answer if it is one of this plan's; whether it was.
    pub fn on_estimate(&mut self, seq: u64, cost: Result<f64, String>) -> bool {
        let Some(slot) = seq
            .checked_sub(self.first_seq)
            .and_then(|i| self.quotes.get_mut(usize::try_from(i).ok()?))
        else {
            return false;
        };
        *slot = Some(cost);
        true
    }

    /// The quote of request `i`; `None` while its dry run is out.
    pub fn quote(&self, i: usize) -> Option<&Result<f64, String>> {
        self.quotes.get(*self.of.get(i)?)?.as_ref()
    }

    /// Dry runs answered, and how many there are.
    pub fn answered(&self) -> (usize, usize) {
        (
            self.quotes.iter().filter(|q| q.is_some()).count(),
            self.quotes.len(),
        )
    }

    /// The total of the quoted requests, and how many could not be quoted.
    pub fn total(&self) -> (f64, usize) {
        let mut total = 0.0;
        let mut unknown = 0;
        for i in 0..self.requests.len() {
            match self.quote(i) {
                Some(Ok(cost)) => total += cost,
                _ => unknown += 1,
            }
        }
        (total, unknown)
    }

    /// The line shown for request `i`.
    pub fn line(&self, i: usize) -> String {
        let Some(expanded) = self.requests.get(i) else {
            return String::new();
        };
        let cost = match self.quote(i) {
            Some(Ok(cost)) => format!("{:>7} CU", format_units(*cost)),
            Some(Err(_)) => "      ? CU".to_string(),
            None => "      … CU".to_string(),
        };
        format!("{cost}  {}  (line {})", expanded.summary(), expanded.row)
    }

    /// What the day's cap lets through, when there is one: the engine holds the first request
    /// that would go over and every one after it, in order.
    pub fn day_cap_line(&self, overview: &crate::engine::Overview) -> Option<String> {
        let cap = overview.day_cap?;
        let left = (cap - overview.today).max(0.0);
        let quotes: Vec<Option<f64>> = (0..self.requests.len())
            .map(|i| self.quote(i).and_then(|q| q.as_ref().ok()).copied())
            .collect();
        let (fits, _) = batch::fitting(&quotes, left);
        let all = self.requests.len();
        let head = format!(
            "today {} of {} CU spent:",
            format_units(overview.today),
            format_units(cap)
        );
        Some(match fits {
            n if n == all => format!("{head} all fit under max_spend_per_day"),
            0 => format!("{head} all {all} would be held by max_spend_per_day"),
            n => format!(
                "{head} #1–#{n} fit; #{}–#{all} would be held by max_spend_per_day",
                n + 1
            ),
        })
    }

    /// Every request, in order, with its batch tag and token, to the batch's folder.
    pub fn submit_commands(&self) -> Vec<Command> {
        self.requests
            .iter()
            .enumerate()
            .map(|(i, expanded)| Command::Submit {
                seq: 0,
                token: Some(batch::token(&self.name, expanded)),
                request: expanded.request.clone(),
                download_dir: Some(self.out.clone()),
                batch: Some(Box::new(BatchTag {
                    name: self.name.clone(),
                    index: expanded.index,
                    row: expanded.row,
                    max_cost: None,
                })),
                quote: self.quote(i).and_then(|q| q.as_ref().ok()).copied(),
            })
            .collect()
    }
}
