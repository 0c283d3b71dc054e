//! How a job's facts read in a cell: its state as a symbol and a colour, its times, its
//! id, its downloads.

use ratatui::style::{Color, Style};

use crate::api::types::JobStatus;
use crate::engine::{JobRecord, Submission};
use crate::sanitize::sanitize;
use crate::tui::app::App;
use crate::units::human_bytes;

use super::theme::Theme;

const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

pub(crate) fn status_symbol(job: &JobRecord, tick: u64) -> &'static str {
    match (&job.submission, &job.status) {
        // Not ⏸: emoji-width in some terminals, missing from common monospace fonts.
        (Submission::Queued, _) if job.held.is_some() => "‖",
        (Submission::Queued, _) => "⧗",
        (Submission::Sending, _) => "↑",
        (Submission::Uploading, _) => "⇡",
        (Submission::Unconfirmed { .. }, _) => "?",
        (Submission::Rejected { .. }, _) => "!",
        (_, Some(JobStatus::Success)) => "✓",
        (_, Some(JobStatus::Failure)) => "✗",
        (_, Some(JobStatus::Canceled)) => "⊘",
        (_, Some(JobStatus::InProgress)) => SPINNER[(tick % 4) as usize],
        (_, Some(JobStatus::Finalizing)) => "◕",
        (_, Some(JobStatus::WarmingUp)) => "◔",
        (_, Some(JobStatus::Queued)) => "…",
        _ => "·",
    }
}

pub(crate) fn status_style(job: &JobRecord, theme: &Theme) -> Style {
    match (&job.submission, &job.status) {
        (Submission::Unconfirmed { .. } | Submission::Rejected { .. }, _) => theme.error(),
        (_, Some(JobStatus::Failure)) => theme.error(),
        (_, Some(JobStatus::Success)) => theme.fg(Color::Green),
        (_, Some(JobStatus::Canceled)) => theme.dim(),
        _ if job.trouble.is_some() || job.held.is_some() => theme.fg(Color::Yellow),
        _ => theme.fg(Color::Cyan),
    }
}

/// `HH:MM:SS` of an RFC 3339 time, in UTC, or the text as it is.
pub(crate) fn short_time(rfc3339: &str) -> String {
    crate::units::local_time(rfc3339, "%H:%M:%S %Z").unwrap_or_else(|| sanitize(rfc3339))
}

pub(crate) fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// How long a job has run so far, or took once final (to its last change of status):
/// `m:ss`, or `h:mm:ss` past an hour; nothing when that is not known.
pub(crate) fn time_taken(job: &JobRecord, now: jiff::Timestamp) -> String {
    let Ok(created) = job.created_at.parse::<jiff::Timestamp>() else {
        return String::new();
    };
    let end = if job.is_final() {
        match job
            .history
            .last()
            .and_then(|c| c.date.parse::<jiff::Timestamp>().ok())
        {
            Some(end) => end,
            None => return String::new(),
        }
    } else {
        now
    };
    let secs = (end.as_second() - created.as_second()).max(0);
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

pub(crate) fn short_id(job: &JobRecord) -> String {
    match &job.job_id {
        Some(id) => sanitize(id.strip_prefix("job_").unwrap_or(id))
            .chars()
            .take(8)
            .collect(),
        None => "—".into(),
    }
}

pub(crate) fn download_state(app: &App, job: &JobRecord) -> String {
    let moving: Vec<_> = app
        .queue
        .transfers
        .iter()
        .filter(|((id, _), _)| *id == job.local_id)
        .map(|(_, t)| *t)
        .collect();
    if let Some(t) = moving.first() {
        return match t.total {
            Some(total) if total > 0 => format!("↓ {:.0}%", t.bytes as f64 * 100.0 / total as f64),
            _ => format!("↓ {}", human_bytes(t.bytes)),
        };
    }
    if !job.succeeded() || job.downloads.is_empty() {
        return String::new();
    }
    if job.fully_downloaded() {
        "✓ saved".into()
    } else if job.downloads.iter().any(|d| d.error.is_some()) {
        "! failed".into()
    } else {
        "waiting".into()
    }
}

/// `MM-DD HH:MM` of an RFC 3339 time, in UTC.
pub(crate) fn short_date(rfc3339: &str) -> String {
    crate::units::local_time(rfc3339, "%m-%d %H:%M").unwrap_or_default()
}

/// What a take's mark looks like before its prompt: `★` kept, `✗` rejected.
pub(crate) fn select_glyph(mark: Option<crate::takes::Mark>) -> &'static str {
    match mark {
        Some(crate::takes::Mark::Keep) => "★ ",
        Some(crate::takes::Mark::Reject) => "✗ ",
        None => "",
    }
}
