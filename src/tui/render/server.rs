//! The Server view: the team's jobs on the server in place of the ledger's.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::api::types::JobStatus;
use crate::sanitize::sanitize;
use crate::tui::app::{App, Focus};
use crate::units::format_units;

use super::columns::{Column, Columns, SERVER_ROOM, SERVER_SHOWN, cell};
use super::jobs::{bar, short_date, short_time};
use super::layout::{first_fitting, width_of};
use super::queue::prompt_cell;
use super::theme::Theme;

/// The Server view: the team's Kling V3 Omni jobs, newest first, those in this ledger marked.
pub(crate) fn draw_server(
    frame: &mut Frame,
    app: &App,
    view: &crate::tui::server::ServerView,
    theme: &Theme,
    area: Rect,
) {
    let focused = app.focus == Focus::Queue && app.popup.is_none();
    let shown = view.rows();
    let state = match (&view.pending, &view.error) {
        (Some(_), _) => "listing…".to_string(),
        (None, Some(_)) => "listing failed".to_string(),
        (None, None) if shown.len() == view.jobs.len() => view.jobs.len().to_string(),
        (None, None) => format!("{} of {}", shown.len(), view.jobs.len()),
    };
    let filter = if !view.filter.is_empty() || app.filtering {
        format!(
            "/{}{} ",
            sanitize(&view.filter),
            if app.filtering { "▏" } else { "" }
        )
    } else {
        String::new()
    };
    let room = area.width.saturating_sub(2) as usize;
    let title = first_fitting(
        &[
            &format!(" Server: the team's Kling V3 Omni jobs {state} {filter}"),
            &format!(" Server: {state} {filter}"),
            &format!(" Server: {state} "),
        ],
        room,
    );
    let long = format!(
        " sort: {} · i import · r refresh · S back ",
        view.sort.label()
    );
    let keys = first_fitting(
        &[&long, " i import · r refresh · S back ", ""],
        room.saturating_sub(width_of(&title) + 1),
    );
    let block = Block::bordered()
        .title(title)
        .title(Line::from(Span::styled(keys, theme.dim())).alignment(Alignment::Right))
        .border_style(theme.border(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if let Some(error) = &view.error {
        frame.render_widget(
            Paragraph::new(format!("cannot list the team's jobs: {error}"))
                .style(theme.error())
                .wrap(Wrap { trim: false }),
            inner,
        );
        return;
    }
    if shown.is_empty() {
        let text = if view.pending.is_some() {
            "Asking the server…"
        } else if !view.jobs.is_empty() {
            "No job matches the filter."
        } else {
            "No Kling V3 Omni job on the server."
        };
        frame.render_widget(Paragraph::new(text).style(theme.dim()), inner);
        return;
    }
    let columns = Columns::choose(inner.width as usize, SERVER_SHOWN, SERVER_ROOM);
    let rows_visible = inner.height as usize;
    let skip = view.selected.saturating_sub(rows_visible.saturating_sub(1));
    let plain = Style::new();
    let needle = crate::engine::JobFilter::parse(&view.filter).text;
    let lines: Vec<Line> = shown
        .iter()
        .map(|at| &view.jobs[*at])
        .enumerate()
        .skip(skip)
        .take(rows_visible)
        .map(|(i, job)| {
            let style = match job.status {
                JobStatus::Success => theme.fg(Color::Green),
                JobStatus::Failure => theme.error(),
                JobStatus::Canceled => theme.dim(),
                _ => theme.fg(Color::Cyan),
            };
            let id = sanitize(job.job_id.strip_prefix("job_").unwrap_or(&job.job_id));
            let line = columns.line(|column, width| match column {
                Column::State => cell(
                    format!(
                        "{} {}",
                        remote_symbol(&job.status),
                        sanitize(&job.status.to_string())
                    ),
                    style,
                ),
                Column::Id => cell(id.chars().take(8).collect::<String>(), theme.dim()),
                Column::Prompt => prompt_cell(&sanitize(&job.prompt), width, plain, &needle, theme),
                Column::Mode => cell(job.mode.as_deref().map(sanitize).unwrap_or_default(), plain),
                Column::Duration => cell(
                    job.duration.map(|d| format!("{d}s")).unwrap_or_default(),
                    plain,
                ),
                Column::Bar => cell(bar(job.progress, width), plain),
                Column::Percent => cell(
                    format!("{:.0}%", job.progress.clamp(0.0, 1.0) * 100.0),
                    plain,
                ),
                Column::Cost => cell(
                    job.cost
                        .map(|c| format!("{} CU", format_units(c)))
                        .unwrap_or_default(),
                    plain,
                ),
                Column::Created => cell(short_date(&job.created_at), theme.dim()),
                Column::Local => cell(
                    job.local_id.map(|n| format!("#{n}")).unwrap_or_default(),
                    theme.fg(Color::Green),
                ),
                Column::Time | Column::Files => cell("", plain),
            });
            if i == view.selected {
                line.style(theme.selected())
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A server status as the ledger's list draws it.
fn remote_symbol(status: &JobStatus) -> &'static str {
    match status {
        JobStatus::Success => "✓",
        JobStatus::Failure => "✗",
        JobStatus::Canceled => "⊘",
        JobStatus::InProgress => "◐",
        JobStatus::Finalizing => "◕",
        JobStatus::WarmingUp => "◔",
        JobStatus::Queued => "…",
        _ => "·",
    }
}

/// What the details pane says of a job in the Server view.
pub(crate) fn server_detail(job: &crate::engine::RemoteJob, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(Span::styled(sanitize(&job.job_id), theme.dim())),
        Line::from(format!(
            "{} {:.0}%",
            job.status,
            job.progress.clamp(0.0, 1.0) * 100.0
        )),
        Line::from(format!(
            "{} · {}",
            job.mode
                .as_deref()
                .map(sanitize)
                .unwrap_or_else(|| "—".into()),
            job.duration.map_or("—".into(), |d| format!("{d} s"))
        )),
    ];
    if let Some(cost) = job.cost {
        lines.push(Line::from(format!("cost {} CU", format_units(cost))));
    }
    lines.push(Line::from(format!("made {}", short_time(&job.created_at))));
    lines.push(match job.local_id {
        Some(n) => Line::from(Span::styled(
            format!("in this ledger as #{n}"),
            theme.fg(Color::Green),
        )),
        None => Line::from(Span::styled(
            "not in this ledger: i imports and downloads it",
            theme.dim(),
        )),
    });
    lines.push(Line::from(Span::styled("prompt:", theme.dim())));
    lines.push(Line::from(sanitize(&job.prompt)));
    lines
}
