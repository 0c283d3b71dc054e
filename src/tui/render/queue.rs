//! The job list: a row per job, a header per batch, the columns chosen by the width there is.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::engine::JobRecord;
use crate::sanitize::sanitize;
use crate::tui::app::{App, Focus};
use crate::tui::queue::RowKey;
use crate::units::format_units;

use super::columns::{Column, Columns, JOBS_ROOM, JOBS_SHOWN, cell};
use super::highlight::{highlighted, match_style, occurrences};
use super::jobs::{
    bar, download_state, short_date, short_id, status_style, status_symbol, time_taken,
};
use super::layout::{fit, pad, pad_left, width_of};
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
    let sort = format!(" sort: {} ", app.queue.sort.label());
    // The titles share the top border; the sort gives way first.
    let room = area.width.saturating_sub(2) as usize;
    let title = fit(&title, room);
    let sort = if width_of(&title) + width_of(&sort) < room {
        sort
    } else {
        String::new()
    };
    let block = Block::bordered()
        .title(title)
        .title(Line::from(Span::styled(sort, theme.dim())).alignment(Alignment::Right))
        .border_style(theme.border(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if rows.is_empty() {
        let hint = if app.queue.jobs.is_empty() {
            "No jobs yet: Ctrl+R submits the prompt, b opens a batch file."
        } else {
            "No job matches the filter."
        };
        let lines: Vec<Line> = super::layout::wrap(hint, inner.width as usize)
            .into_iter()
            .map(Line::from)
            .collect();
        frame.render_widget(Paragraph::new(lines).style(theme.dim()), inner);
        return;
    }
    let columns = Columns::choose(inner.width as usize, JOBS_SHOWN, JOBS_ROOM);
    let rows_visible = inner.height as usize;
    let selected = app.queue.selected_row();
    let selected_at = selected
        .as_ref()
        .and_then(|key| rows.iter().position(|r| r == key))
        .unwrap_or(0);
    let skip = selected_at.saturating_sub(rows_visible.saturating_sub(1));
    let lines: Vec<Line> = rows
        .iter()
        .skip(skip)
        .take(rows_visible)
        .filter_map(|key| {
            let line = match key {
                RowKey::Batch(name) => batch_line(app, theme, name, &columns),
                RowKey::Job(id) => job_line(app, theme, app.queue.jobs.get(id)?, &columns),
            };
            Some(if Some(key) == selected.as_ref() {
                line.style(theme.selected())
            } else {
                line
            })
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A job's prompt in its cell, `width` columns: the one place a row's text is drawn, with
/// what the filter's text (`needle`) found in it marked.
pub(crate) fn prompt_cell(
    text: &str,
    width: usize,
    style: Style,
    needle: &str,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let shown = pad(text, width);
    let cut = fit(text, width);
    // None marked in a cut-off tail, nor on the `…` that stands for it.
    let kept = if cut.len() < text.len() {
        cut.chars().count().saturating_sub(1)
    } else {
        cut.chars().count()
    };
    let mut found = occurrences(&cut, needle);
    found.retain(|at| *at < kept);
    highlighted(&shown, &found, style, style.patch(match_style(theme))).spans
}

pub(crate) fn job_line<'a>(
    app: &App,
    theme: &Theme,
    job: &JobRecord,
    columns: &Columns,
) -> Line<'a> {
    // A batch's jobs sit under its header, indented; a job marked for comparison says so.
    let indent = if job.batch.is_some() { "  " } else { "" };
    let mark = if app.queue.marked.contains(&job.local_id) {
        "● "
    } else {
        ""
    };
    let select = super::jobs::select_glyph(app.takes.mark_of(job.local_id));
    let plain = Style::new();
    columns.line(|column, width| match column {
        Column::State => cell(
            format!("{} {}", status_symbol(job, app.tick), job.state_word()),
            status_style(job, theme),
        ),
        Column::Id => cell(short_id(job), theme.dim()),
        Column::Prompt => prompt_cell(
            &format!("{indent}{mark}{select}{}", sanitize(&job.request.prompt)),
            width,
            plain,
            &app.queue.parsed_filter().text,
            theme,
        ),
        Column::Mode => cell(job.request.mode.to_string(), plain),
        Column::Duration => cell(format!("{}s", job.request.duration), plain),
        Column::Bar => cell(bar(job.progress, width), plain),
        Column::Percent => cell(format!("{}%", job.percent()), plain),
        Column::Time => cell(time_taken(job, app.now), theme.dim()),
        Column::Files => cell(download_state(app, job), plain),
        Column::Cost => cell(
            job.charged()
                .or(job.quote)
                .map(|c| format!("{} CU", format_units(c)))
                .unwrap_or_default(),
            plain,
        ),
        Column::Created => cell(short_date(&job.created_at), theme.dim()),
        Column::Local => cell("", plain),
    })
}

/// A batch's header: folded or not, its name, how far it is, its failures and holds, and
/// what it spent (against its cap). It spans the columns up to its progress, in the longest
/// form that fits whole; only the name is ever cut.
pub(crate) fn batch_line<'a>(app: &App, theme: &Theme, name: &str, columns: &Columns) -> Line<'a> {
    let summary = app.queue.batch_summary(name);
    let folded = app.queue.folded.contains(name);
    let arrow = if folded { "▸" } else { "▾" };
    let finished = summary.succeeded + summary.failed + summary.canceled;
    let fraction = if summary.total == 0 {
        0.0
    } else {
        finished as f64 / summary.total as f64
    };
    let state_style = if summary.failed > 0 {
        theme.error()
    } else if summary.held > 0 {
        theme.fg(Color::Yellow)
    } else if finished == summary.total {
        theme.fg(Color::Green)
    } else {
        theme.fg(Color::Cyan)
    };
    let spent = format_units(summary.spent);
    let cap = summary.max_cost.map(format_units);
    let long = {
        let mut text = format!("{}/{} done", summary.succeeded, summary.total);
        if summary.failed > 0 {
            text.push_str(&format!("  {} failed", summary.failed));
        }
        if summary.held > 0 {
            text.push_str(&format!("  {} held", summary.held));
        }
        match &cap {
            Some(cap) => text.push_str(&format!("  {spent} CU of {cap}")),
            None => text.push_str(&format!("  {spent} CU")),
        }
        text
    };
    let short = {
        let mut text = format!("{}/{} ✓", summary.succeeded, summary.total);
        if summary.failed > 0 {
            text.push_str(&format!(" {} ✗", summary.failed));
        }
        if summary.held > 0 {
            text.push_str(&format!(" {} held", summary.held));
        }
        match &cap {
            Some(cap) => text.push_str(&format!(" {spent}/{cap} CU")),
            None => text.push_str(&format!(" {spent} CU")),
        }
        text
    };
    // The progress keeps its columns; the header takes everything before them.
    let progress: Vec<(Column, usize)> = columns
        .chosen
        .iter()
        .copied()
        .filter(|(c, _)| matches!(c, Column::Bar | Column::Percent))
        .collect();
    let total: usize = columns
        .chosen
        .iter()
        .map(|(_, w)| w + 1)
        .sum::<usize>()
        .saturating_sub(1);
    let head_width = match columns
        .chosen
        .iter()
        .position(|(c, _)| matches!(c, Column::Bar | Column::Percent))
    {
        Some(at) => columns.chosen[..at]
            .iter()
            .map(|(_, w)| w + 1)
            .sum::<usize>()
            .saturating_sub(1),
        None => total,
    };
    let name = sanitize(name);
    let head = [
        format!("{arrow} batch {name}  {long}"),
        format!("{arrow} {name}  {long}"),
        format!("{arrow} {name} {short}"),
    ]
    .into_iter()
    .find(|h| width_of(h) <= head_width)
    .unwrap_or_else(|| {
        // Only the name is cut, to what the rest leaves it.
        let rest = width_of(&short) + 3;
        format!(
            "{arrow} {} {short}",
            fit(&name, head_width.saturating_sub(rest).max(2))
        )
    });
    let (arrow_part, text_part) = head.split_at(arrow.len());
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut spans = vec![
        Span::styled(arrow_part.to_string(), state_style),
        Span::styled(
            pad(text_part, head_width.saturating_sub(width_of(arrow_part))),
            bold,
        ),
    ];
    let mut used = head_width;
    for (column, width) in progress {
        spans.push(Span::raw(" "));
        spans.push(Span::raw(match column {
            Column::Bar => bar(fraction, width),
            _ => pad_left(&format!("{:.0}%", fraction * 100.0), width),
        }));
        used += 1 + width;
    }
    spans.push(Span::raw(pad("", total.saturating_sub(used))));
    Line::from(spans)
}
