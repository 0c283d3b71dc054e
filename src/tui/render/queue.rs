//! The job list: a row per job, a header per batch.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use crate::engine::JobRecord;
use crate::sanitize::sanitize;
use crate::tui::app::{App, Focus};
use crate::tui::queue::RowKey;

use super::highlight::{highlighted, match_style, occurrences};
use super::jobs::{bar, download_state, elapsed, short_id, status_style, status_symbol};
use super::layout::fit;
use super::server::draw_server;
use super::theme::Theme;

pub(crate) fn draw_queue(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    if let Some(view) = &app.server {
        draw_server(frame, app, view, theme, area);
        return;
    }
    let focused = app.focus == Focus::Queue && app.popup.is_none();
    let rows = app.queue.rows();
    // Jobs of a folded batch count: they are there, under their header.
    let jobs_shown = app.queue.matching();
    // More finished jobs in the ledger than loaded so far: they come as the list scrolls.
    let more = if app.history.exhausted || app.history.total.is_none() {
        ""
    } else {
        "+"
    };
    let mut title = format!(" Jobs {jobs_shown}{more} ");
    if !app.queue.filter.is_empty() || app.filtering {
        title.push_str(&format!(
            "/{}{} ",
            sanitize(&app.queue.filter),
            if app.filtering { "▏" } else { "" }
        ));
    }
    let block = Block::bordered()
        .title(title)
        .title(
            Line::from(Span::styled(
                format!(" sort: {} ", app.queue.sort.label()),
                theme.dim(),
            ))
            .alignment(Alignment::Right),
        )
        .border_style(theme.border(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if rows.is_empty() {
        let hint = if app.queue.jobs.is_empty() {
            "No jobs yet: Ctrl+R submits the prompt, b opens a batch file."
        } else {
            "No job matches the filter."
        };
        frame.render_widget(Paragraph::new(hint).style(theme.dim()), inner);
        return;
    }
    // Wide: every column. Compact (80 columns and less): state, prompt, progress, files.
    let wide = inner.width >= 90;
    let rows_visible = inner.height as usize;
    let selected = app.queue.selected_row();
    let selected_at = selected
        .as_ref()
        .and_then(|key| rows.iter().position(|r| r == key))
        .unwrap_or(0);
    let skip = selected_at.saturating_sub(rows_visible.saturating_sub(1));
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Length(14),
            Constraint::Length(8),
            Constraint::Fill(1),
            Constraint::Length(8),
            Constraint::Length(3),
            Constraint::Length(15),
            Constraint::Length(5),
            Constraint::Length(8),
        ]
    } else {
        vec![
            Constraint::Length(13),
            Constraint::Fill(1),
            Constraint::Length(4),
            Constraint::Length(7),
        ]
    };
    let fixed: u16 = if wide {
        14 + 8 + 8 + 3 + 15 + 5 + 8 + 7
    } else {
        13 + 4 + 7 + 3
    };
    let prompt_width = inner.width.saturating_sub(fixed) as usize;
    let table_rows: Vec<Row> = rows
        .iter()
        .skip(skip)
        .take(rows_visible)
        .filter_map(|key| {
            let row = match key {
                RowKey::Batch(name) => batch_row(app, theme, name, wide, prompt_width),
                RowKey::Job(id) => job_row(app, theme, app.queue.jobs.get(id)?, wide, prompt_width),
            };
            Some(if Some(key) == selected.as_ref() {
                row.style(theme.selected())
            } else {
                row
            })
        })
        .collect();
    frame.render_widget(Table::new(table_rows, widths).column_spacing(1), inner);
}

pub(crate) fn job_row<'a>(
    app: &App,
    theme: &Theme,
    job: &JobRecord,
    wide: bool,
    prompt_width: usize,
) -> Row<'a> {
    let state_width = if wide { 14 } else { 13 };
    let state = fit(
        &format!("{} {}", status_symbol(job, app.tick), job.state_word()),
        state_width,
    );
    // A batch's jobs sit under its header, indented; a job marked for comparison says so.
    let indent = if job.batch.is_some() { "  " } else { "" };
    let mark = if app.queue.marked.contains(&job.local_id) {
        "● "
    } else {
        ""
    };
    let prompt = fit(
        &format!("{indent}{mark}{}", sanitize(&job.request.prompt)),
        prompt_width,
    );
    // What the filter's text found, marked.
    let found = occurrences(&prompt, &app.queue.parsed_filter().text);
    let prompt = highlighted(&prompt, &found, Style::new(), match_style(theme));
    let percent = format!("{:>3}%", job.percent());
    let cells = if wide {
        vec![
            Cell::from(state).style(status_style(job, theme)),
            Cell::from(short_id(job)),
            Cell::from(prompt),
            Cell::from(job.request.mode.to_string()),
            Cell::from(format!("{}s", job.request.duration)),
            Cell::from(format!("{} {percent}", bar(job.progress, 10))),
            Cell::from(elapsed(job, app.now)),
            Cell::from(download_state(app, job)),
        ]
    } else {
        vec![
            Cell::from(state).style(status_style(job, theme)),
            Cell::from(prompt),
            Cell::from(percent),
            Cell::from(download_state(app, job)),
        ]
    };
    Row::new(cells)
}

/// A batch's header: folded or not, its name, how far it is, its failures and holds, and
/// what it spent (against its cap).
pub(crate) fn batch_row<'a>(
    app: &App,
    theme: &Theme,
    name: &str,
    wide: bool,
    prompt_width: usize,
) -> Row<'a> {
    let summary = app.queue.batch_summary(name);
    let folded = app.queue.folded.contains(name);
    let arrow = if folded { "▸" } else { "▾" };
    let finished = summary.succeeded + summary.failed + summary.canceled;
    let fraction = if summary.total == 0 {
        0.0
    } else {
        finished as f64 / summary.total as f64
    };
    let mut text = format!(
        "{}  {}/{} done",
        sanitize(name),
        summary.succeeded,
        summary.total
    );
    if summary.failed > 0 {
        text.push_str(&format!("  {} failed", summary.failed));
    }
    if summary.held > 0 {
        text.push_str(&format!("  {} held", summary.held));
    }
    text.push_str(&format!(
        "  {} CU",
        crate::units::format_units(summary.spent)
    ));
    if let Some(cap) = summary.max_cost {
        text.push_str(&format!(" of {}", crate::units::format_units(cap)));
    }
    let state_style = if summary.failed > 0 {
        theme.error()
    } else if summary.held > 0 {
        theme.fg(Color::Yellow)
    } else if finished == summary.total {
        theme.fg(Color::Green)
    } else {
        theme.fg(Color::Cyan)
    };
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let percent = format!("{:>3.0}%", fraction * 100.0);
    let cells = if wide {
        vec![
            Cell::from(format!("{arrow} batch")).style(state_style),
            Cell::from(""),
            Cell::from(fit(&text, prompt_width)).style(bold),
            Cell::from(""),
            Cell::from(""),
            Cell::from(format!("{} {percent}", bar(fraction, 10))),
            Cell::from(""),
            Cell::from(""),
        ]
    } else {
        vec![
            Cell::from(format!("{arrow} batch")).style(state_style),
            Cell::from(fit(&text, prompt_width)).style(bold),
            Cell::from(percent),
            Cell::from(""),
        ]
    };
    Row::new(cells)
}
