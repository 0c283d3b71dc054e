//! `kling-tui jobs`: the ledger's jobs, as gh lists pull requests. On a terminal, a table
//! with a header, its columns aligned and the prompt cut to the width; piped, the same columns
//! tab-separated, whole and without a header, for `cut` and `awk`; `--format` for any other
//! line; `--json` for programs.

use std::io::{IsTerminal, Write};

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::report::JobReport;
use super::{CliError, Session, exit};
use crate::cli::{Cli, JobsArgs};
use crate::engine::{JobQuery, JobRecord, Ledger};
use crate::sanitize::sanitize;

/// The table's columns, in order; the prompt last, as it takes what width is left.
const HEADER: [&str; 9] = [
    "#", "ID", "STATE", "PROGRESS", "MODE", "DURATION", "COST", "CREATED", "PROMPT",
];

/// Between two columns of the table.
const GAP: &str = "  ";

pub async fn jobs(cli: &Cli, args: &JobsArgs) -> Result<i32, CliError> {
    let dir = Session::ledger_dir_for(cli)?;
    let query = JobQuery {
        status: args.status.clone(),
        since: args.since,
        search: args.search.clone(),
        limit: args.limit,
        batch: args.batch.clone(),
        mark: if args.kept {
            Some("keep".into())
        } else if args.rejected {
            Some("reject".into())
        } else {
            None
        },
        ..JobQuery::default()
    };
    let terminal = std::io::stdout().is_terminal();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut broken = false;
    // A closed pipe (`| head`) ends the listing quietly.
    let mut emit = |line: &str| broken = broken || writeln!(out, "{line}").is_err();
    let mut rows: Vec<[String; 9]> = Vec::new();
    Ledger::query(&dir, &query, |job| {
        if let Some(damage) = &job.damage {
            eprintln!("{}", sanitize(damage));
        }
        if args.json {
            emit(&serde_json::to_string(&JobReport::from_record(&job)).unwrap_or_default());
        } else if let Some(template) = &args.format {
            emit(&template.render(&job));
        } else if terminal {
            // Aligned once every row is known.
            rows.push(row(&job, true));
        } else {
            emit(&row(&job, false).join("\t"));
        }
    })
    .map_err(|e| CliError::Local(e.to_string()))?;
    if terminal && !args.json && args.format.is_none() {
        // As gh says "no pull requests match": a word for the person, nothing for a script.
        if rows.is_empty() {
            let filtered = args.status.is_some()
                || args.since.is_some()
                || args.search.is_some()
                || args.batch.is_some()
                || args.kept
                || args.rejected;
            if filtered {
                eprintln!("no job in the ledger matches");
            } else {
                eprintln!("no job in the ledger yet: `kling-tui submit` or the app sends one");
            }
            return Ok(exit::OK);
        }
        let width = crossterm::terminal::size().map_or(usize::MAX, |(w, _)| usize::from(w));
        for line in table(&rows, !args.no_header, width) {
            emit(&line);
        }
    }
    let _ = out.flush();
    Ok(exit::OK)
}

/// A job's cells, in the order of [`HEADER`]; `terminal`: its creation time in local time,
/// to the minute, else as recorded (RFC 3339).
fn row(job: &JobRecord, terminal: bool) -> [String; 9] {
    let created = if terminal {
        crate::units::local_time(&job.created_at, "%Y-%m-%d %H:%M")
            .unwrap_or_else(|| sanitize(&job.created_at))
    } else {
        sanitize(&job.created_at)
    };
    [
        format!("#{}", job.local_id),
        job.job_id
            .as_deref()
            .map(sanitize)
            .unwrap_or_else(|| "-".into()),
        sanitize(&job.state_word()),
        format!("{}%", job.percent()),
        job.request.mode.to_string(),
        format!("{}s", job.request.duration),
        cost(job).map_or_else(|| "-".into(), |c| format!("{c} CU")),
        created,
        sanitize(&job.request.prompt),
    ]
}

/// What the job cost, once known (refunded failures count nothing).
fn cost(job: &JobRecord) -> Option<String> {
    job.charged().map(crate::units::format_units)
}

/// The rows aligned under a header (when `header`), each line at most `width` columns: the
/// prompt, last, is cut with `…` to fit.
fn table(rows: &[[String; 9]], header: bool, width: usize) -> Vec<String> {
    let heading = HEADER.map(String::from);
    let all: Vec<&[String; 9]> = header
        .then_some(&heading)
        .into_iter()
        .chain(rows.iter())
        .collect();
    let mut widths = [0usize; 9];
    for cells in &all {
        for (w, cell) in widths.iter_mut().zip(cells.iter()) {
            *w = (*w).max(cell.width());
        }
    }
    all.iter()
        .map(|cells| {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate().take(8) {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - cell.width()));
                line.push_str(GAP);
            }
            let room = width.saturating_sub(line.width());
            line.push_str(&cut(&cells[8], room));
            line.trim_end().to_string()
        })
        .collect()
}

/// `text` in at most `room` columns, ending with `…` when cut.
fn cut(text: &str, room: usize) -> String {
    if text.width() <= room {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > room {
            break;
        }
        out.push(c);
        used += w;
    }
    if room > 0 {
        out.push('…');
    }
    out
}

/// The fields `--format` knows, in the order its help lists them.
pub const FIELDS: &[&str] = &[
    "number", "id", "status", "state", "progress", "mode", "duration", "aspect", "cost", "created",
    "batch", "prompt", "error",
];

/// A `--format` template, checked when the flags are read: literal text and fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(&'static str),
}

impl Template {
    /// Reads `{field}`, `{{`, `}}`, `\t`, `\n` and `\\`; an unknown field, or a brace left
    /// open, is refused naming the fields there are.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err(format!(
                            "a {{ is not closed (write {{{{ for a brace); fields: {}",
                            FIELDS.join(", ")
                        ));
                    }
                    let Some(field) = FIELDS.iter().find(|f| **f == name.trim()) else {
                        return Err(format!(
                            "unknown field {{{}}}; fields: {}",
                            sanitize(&name),
                            FIELDS.join(", ")
                        ));
                    };
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Field(field));
                }
                '}' => return Err("a } stands alone (write }} for a brace)".into()),
                '\\' => match chars.peek() {
                    Some('t') => {
                        chars.next();
                        literal.push('\t');
                    }
                    Some('n') => {
                        chars.next();
                        literal.push('\n');
                    }
                    Some('\\') => {
                        chars.next();
                        literal.push('\\');
                    }
                    _ => literal.push('\\'),
                },
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template(pieces))
    }

    /// The job's line. Its values lose control characters, tabs and line breaks, so one job
    /// stays on one line and the template's own tabs separate its fields.
    pub fn render(&self, job: &JobRecord) -> String {
        self.0
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.clone(),
                Piece::Field(name) => sanitize(&field(job, name)),
            })
            .collect()
    }
}

/// One field of a job, as `--format` names it.
fn field(job: &JobRecord, name: &str) -> String {
    match name {
        "number" => job.local_id.to_string(),
        "id" => job.job_id.clone().unwrap_or_default(),
        "status" => job.standing().status,
        "state" => job.state_word(),
        "progress" => job.percent().to_string(),
        "mode" => job.request.mode.to_string(),
        "duration" => job.request.duration.to_string(),
        "aspect" => job
            .request
            .aspect_ratio
            .map(|a| a.to_string())
            .unwrap_or_default(),
        "cost" => cost(job).unwrap_or_default(),
        "created" => job.created_at.clone(),
        "batch" => job
            .batch
            .as_ref()
            .map(|b| b.name.clone())
            .unwrap_or_default(),
        "prompt" => job.request.prompt.clone(),
        "error" => job.error.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// `kling-tui __complete batches [FLAGS]`, which the shell completions run (`args` are the
/// program's, its name first): the ledger's batch names, one a line; the connection flags
/// after it name the ledger as they do for `jobs`. Kept out of clap's subcommands, so that the
/// completions never offer it. Says nothing and succeeds when no ledger can be read: a
/// completion never prints an error into the user's command line.
pub fn complete(args: &[std::ffi::OsString]) -> i32 {
    if args.get(2).and_then(|a| a.to_str()) != Some("batches") {
        eprintln!("error: __complete: the only thing it completes is `batches`");
        return exit::INVALID;
    }
    let flags = args.iter().skip(3).cloned();
    let program = std::iter::once(std::ffi::OsString::from("kling-tui"));
    let Ok(cli) = <Cli as clap::Parser>::try_parse_from(program.chain(flags)) else {
        return exit::OK;
    };
    let cli = cli.merged(|name| std::env::var(name).ok());
    let Ok(dir) = Session::ledger_dir_for(&cli) else {
        return exit::OK;
    };
    let Ok(batches) = Ledger::batch_summaries(&dir, None) else {
        return exit::OK;
    };
    let mut names: Vec<String> = batches.into_iter().map(|b| sanitize(&b.name)).collect();
    names.sort();
    names.dedup();
    let mut out = std::io::stdout().lock();
    for name in names {
        if writeln!(out, "{name}").is_err() {
            break;
        }
    }
    exit::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_reads_fields_escapes_and_braces() {
        let t = Template::parse("{id}\\t{{x}} {prompt}\\n").unwrap();
        assert_eq!(
            t.0,
            vec![
                Piece::Field("id"),
                Piece::Text("\t{x} ".into()),
                Piece::Field("prompt"),
                Piece::Text("\n".into()),
            ]
        );
        let unknown = Template::parse("{id} {stauts}").unwrap_err();
        assert!(
            unknown.contains("{stauts}") && unknown.contains("status"),
            "{unknown}"
        );
        assert!(Template::parse("{id").is_err());
        assert!(Template::parse("a } b").is_err());
    }

    #[test]
    fn the_table_aligns_and_cuts_the_prompt_with_an_ellipsis() {
        let cells = |id: &str, prompt: &str| -> [String; 9] {
            [
                "#1",
                id,
                "success",
                "100%",
                "pro",
                "5s",
                "75 CU",
                "2026-12-03 07:00",
                prompt,
            ]
            .map(String::from)
        };
        let rows = [
            cells("job_1", "a red fox"),
            cells("job_123456", "a lighthouse in a storm at night"),
        ];
        let lines = table(&rows, true, 80);
        assert!(lines[0].starts_with("#   ID          STATE"), "{lines:?}");
        let at = |line: &str| line.find("success").or_else(|| line.find("STATE"));
        assert_eq!(at(&lines[0]), at(&lines[1]));
        assert_eq!(at(&lines[1]), at(&lines[2]));
        assert!(lines.iter().all(|l| l.width() <= 80), "{lines:?}");
        assert!(lines[2].ends_with('…'), "{lines:?}");
        assert_eq!(table(&rows, false, 200).len(), 2);
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 3), "abc");
    }
}
