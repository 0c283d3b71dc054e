//! The Server view: the team's jobs on the server in place of the ledger's.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};

use crate::api::types::JobStatus;
use crate::sanitize::sanitize;
use crate::tui::app::{App, Focus};
use crate::units::format_units;

use super::jobs::{short_date, short_time};
use super::layout::fit;
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
        (Some(_), _) => " listing… ".to_string(),
        (None, Some(_)) => " listing failed ".to_string(),
        (None, None) if shown.len() == view.jobs.len() => format!(" {} ", view.jobs.len()),
        (None, None) => format!(" {} of {} ", shown.len(), view.jobs.len()),
    };
    let mut title = format!(" Server: the team's Kling V3 Omni jobs{state}");
    if !view.filter.is_empty() || app.filtering {
        title.push_str(&format!(
            "/{}{} ",
            sanitize(&view.filter),
            if app.filtering { "▏" } else { "" }
        ));
    }
    let block = Block::bordered()
        .title(title)
        .title(
            Line::from(Span::styled(
                format!(
                    " sort: {} · i import · r refresh · S back ",
                    view.sort.label()
                ),
                theme.dim(),
            ))
            .alignment(Alignment::Right),
        )
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
    let rows_visible = inner.height as usize;
    let skip = view.selected.saturating_sub(rows_visible.saturating_sub(1));
    let prompt_width = inner.width.saturating_sub(12 + 10 + 9 + 4 + 8 + 7 + 6) as usize;
    let needle = crate::engine::JobFilter::parse(&view.filter).text;
    let rows: Vec<Row> = shown
        .iter()
        .map(|at| &view.jobs[*at])
        .enumerate()
        .skip(skip)
        .take(rows_visible)
        .map(|(i, job)| {
            let status = job.status.to_string();
            let style = match job.status {
                JobStatus::Success => theme.fg(Color::Green),
                JobStatus::Failure => theme.error(),
                JobStatus::Canceled => theme.dim(),
                _ => theme.fg(Color::Cyan),
            };
            let id = sanitize(job.job_id.strip_prefix("job_").unwrap_or(&job.job_id));
            let row = Row::new(vec![
                Cell::from(fit(&status, 12)).style(style),
                Cell::from(id.chars().take(8).collect::<String>()),
                Cell::from(found_in(
                    &fit(&sanitize(&job.prompt), prompt_width),
                    &needle,
                    theme,
                )),
                Cell::from(job.mode.as_deref().map(sanitize).unwrap_or_default()),
                Cell::from(job.duration.map(|d| format!("{d}s")).unwrap_or_default()),
                Cell::from(
                    job.cost
                        .map(|c| format!("{} CU", format_units(c)))
                        .unwrap_or_default(),
                ),
                Cell::from(short_date(&job.created_at)),
                Cell::from(match job.local_id {
                    Some(n) => format!("#{n}"),
                    None => String::new(),
                })
                .style(theme.fg(Color::Green)),
            ]);
            if i == view.selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let widths = [
        Constraint::Length(12),
        Constraint::Length(8),
        Constraint::Fill(1),
        Constraint::Length(8),
        Constraint::Length(3),
        Constraint::Length(8),
        Constraint::Length(11),
        Constraint::Length(6),
    ];
    frame.render_widget(Table::new(rows, widths).column_spacing(1), inner);
}

/// `text` with what the filter's text found in it marked.
fn found_in(text: &str, needle: &str, theme: &Theme) -> Line<'static> {
    use super::highlight::{highlighted, match_style, occurrences};
    highlighted(
        text,
        &occurrences(text, needle),
        ratatui::style::Style::new(),
        match_style(theme),
    )
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
