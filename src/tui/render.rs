//! Drawing: a pure function of the app's state onto a frame. Everything shown that came from
//! the server, the ledger or the user is sanitized on the way in.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, Wrap};
use unicode_width::UnicodeWidthStr;

use super::app::{App, Cost, Focus, Popup};
use super::form::{self, FIELDS};
use super::keys::Scope;
use super::queue::RowKey;
use crate::api::types::JobStatus;
use crate::engine::{JobRecord, Submission};
use crate::kling::MAX_PROMPT_CHARS;
use crate::sanitize::sanitize;
use crate::units::{format_units, human_bytes};

/// Below this the app shows a notice instead of a broken layout.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 14;
const SIDEBAR_WIDTH: u16 = 38;
const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

/// Colours, or none at all under `NO_COLOR`.
struct Theme {
    color: bool,
}

impl Theme {
    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }
    fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }
    fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.dim()
        }
    }
}

pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    let theme = Theme {
        color: !app.no_color,
    };
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "terminal too small: need {MIN_WIDTH}×{MIN_HEIGHT}, have {}×{}",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .style(theme.error()),
            area,
        );
        return;
    }
    let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    if area.width >= 80 && area.height >= 24 {
        let sidebar_width = if area.width >= 120 { SIDEBAR_WIDTH } else { 32 };
        let [left, right] =
            Layout::horizontal([Constraint::Min(30), Constraint::Length(sidebar_width)])
                .areas(main);
        let editor_height = if area.height >= 40 { 10 } else { 7 };
        let [editor, queue] =
            Layout::vertical([Constraint::Length(editor_height), Constraint::Min(3)]).areas(left);
        let sidebar_height = (FIELDS.len() as u16 + 4 + app.problems.len().min(6) as u16)
            .min(right.height.saturating_sub(5));
        let [sidebar, detail] =
            Layout::vertical([Constraint::Length(sidebar_height), Constraint::Min(3)]).areas(right);
        draw_editor(frame, app, &theme, editor);
        draw_queue(frame, app, &theme, queue);
        draw_sidebar(frame, app, &theme, sidebar);
        let detail = draw_detail_picture(frame, app, &theme, detail);
        draw_detail(frame, app, &theme, detail);
    } else {
        // Narrow: the editor, then the focused one of sidebar and queue; no detail pane.
        let [editor, lower] =
            Layout::vertical([Constraint::Length(5), Constraint::Min(3)]).areas(main);
        draw_editor(frame, app, &theme, editor);
        if app.focus == Focus::Sidebar {
            draw_sidebar(frame, app, &theme, lower);
        } else {
            draw_queue(frame, app, &theme, lower);
        }
    }
    draw_status(frame, app, &theme, status);
    draw_popup(frame, app, &theme, area);
}

fn draw_editor(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let focused = app.focus == Focus::Editor && app.popup.is_none();
    let chars = app.prompt().chars().count();
    let counter_style = if chars > MAX_PROMPT_CHARS {
        theme.error()
    } else {
        theme.dim()
    };
    let prompt_problem = app
        .problems
        .iter()
        .find(|p| p.field == "prompt")
        .map(|p| sanitize(&p.message));
    let mut block = Block::bordered()
        .title(" Prompt ")
        .title(
            Line::from(Span::styled(
                format!(" {chars}/{MAX_PROMPT_CHARS} "),
                counter_style,
            ))
            .alignment(Alignment::Right),
        )
        .border_style(theme.border(focused));
    if let Some(problem) = prompt_problem {
        block = block.title_bottom(Line::from(Span::styled(
            format!(" ⚠ {problem} "),
            theme.error(),
        )));
    }
    app.editor.set_block(block);
    let cursor = if focused {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new()
    };
    app.editor.set_cursor_style(cursor);
    app.editor.set_cursor_line_style(Style::new());
    frame.render_widget(&app.editor, area);
}

fn status_symbol(job: &JobRecord, tick: u64) -> &'static str {
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

fn status_style(job: &JobRecord, theme: &Theme) -> Style {
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
fn short_time(rfc3339: &str) -> String {
    crate::units::local_time(rfc3339, "%H:%M:%S %Z").unwrap_or_else(|| sanitize(rfc3339))
}

fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

fn elapsed(job: &JobRecord, now: jiff::Timestamp) -> String {
    if job.is_final() {
        return String::new();
    }
    let Ok(created) = job.created_at.parse::<jiff::Timestamp>() else {
        return String::new();
    };
    let secs = (now.as_second() - created.as_second()).max(0);
    format!("{}:{:02}", secs / 60, secs % 60)
}

fn short_id(job: &JobRecord) -> String {
    match &job.job_id {
        Some(id) => sanitize(id.strip_prefix("job_").unwrap_or(id))
            .chars()
            .take(8)
            .collect(),
        None => "—".into(),
    }
}

fn download_state(app: &App, job: &JobRecord) -> String {
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

/// Truncates to `width` columns, counting wide characters as two.
fn fit(text: &str, width: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if (out.as_str().width() + c.to_string().width()) > width {
            break;
        }
        out.push(c);
    }
    out
}

fn draw_queue(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
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

fn job_row<'a>(
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
    let percent = format!("{:>3.0}%", job.progress.clamp(0.0, 1.0) * 100.0);
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
fn batch_row<'a>(app: &App, theme: &Theme, name: &str, wide: bool, prompt_width: usize) -> Row<'a> {
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

/// The Server view: the team's Kling V3 Omni jobs, newest first, those in this ledger marked.
fn draw_server(
    frame: &mut Frame,
    app: &App,
    view: &crate::tui::server::ServerView,
    theme: &Theme,
    area: Rect,
) {
    let focused = app.focus == Focus::Queue && app.popup.is_none();
    let state = match (&view.pending, &view.error) {
        (Some(_), _) => " listing… ".to_string(),
        (None, Some(_)) => " listing failed ".to_string(),
        (None, None) => format!(" {} ", view.jobs.len()),
    };
    let block = Block::bordered()
        .title(format!(" Server: the team's Kling V3 Omni jobs{state}"))
        .title(
            Line::from(Span::styled(" i import · r refresh · S back ", theme.dim()))
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
    if view.jobs.is_empty() {
        let text = if view.pending.is_some() {
            "Asking the server…"
        } else {
            "No Kling V3 Omni job on the server."
        };
        frame.render_widget(Paragraph::new(text).style(theme.dim()), inner);
        return;
    }
    let rows_visible = inner.height as usize;
    let skip = view.selected.saturating_sub(rows_visible.saturating_sub(1));
    let prompt_width = inner.width.saturating_sub(12 + 10 + 9 + 4 + 8 + 7 + 6) as usize;
    let rows: Vec<Row> = view
        .jobs
        .iter()
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
                Cell::from(fit(&sanitize(&job.prompt), prompt_width)),
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

/// `MM-DD HH:MM` of an RFC 3339 time, in UTC.
fn short_date(rfc3339: &str) -> String {
    crate::units::local_time(rfc3339, "%m-%d %H:%M").unwrap_or_default()
}

/// What the details pane says of a job in the Server view.
fn server_detail(job: &crate::engine::RemoteJob, theme: &Theme) -> Vec<Line<'static>> {
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

/// What the details pane says of a batch whose header is selected.
fn batch_detail(app: &App, theme: &Theme, name: &str) -> Vec<Line<'static>> {
    let summary = app.queue.batch_summary(name);
    let finished = summary.succeeded + summary.failed + summary.canceled;
    let mut lines = vec![
        Line::from(Span::styled(
            format!("batch {}", sanitize(name)),
            Style::new().add_modifier(Modifier::BOLD),
        )),
        Line::from(format!("{} requests", summary.total)),
        Line::from(Span::styled(
            format!("{} succeeded", summary.succeeded),
            theme.fg(Color::Green),
        )),
    ];
    if summary.failed > 0 {
        lines.push(Line::from(Span::styled(
            format!("{} failed (R sends them again)", summary.failed),
            theme.error(),
        )));
    }
    if summary.canceled > 0 {
        lines.push(Line::from(format!("{} canceled", summary.canceled)));
    }
    if summary.held > 0 {
        lines.push(Line::from(Span::styled(
            format!("{} held by a spend cap", summary.held),
            theme.fg(Color::Yellow),
        )));
    }
    let running = summary.total.saturating_sub(finished + summary.held);
    if running > 0 {
        lines.push(Line::from(format!("{running} queued or running")));
    }
    lines.push(Line::from(match summary.max_cost {
        Some(cap) => format!(
            "spent {} of {} CU",
            format_units(summary.spent),
            format_units(cap)
        ),
        None => format!("spent {} CU", format_units(summary.spent)),
    }));
    if !summary.created_at.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("started {}", short_time(&summary.created_at)),
            theme.dim(),
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "z/Enter fold · / filters by name · R re-sends failed",
        theme.dim(),
    )));
    lines
}

fn draw_sidebar(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let focused = app.focus == Focus::Sidebar && app.popup.is_none();
    let mut lines = Vec::new();
    for (i, field) in FIELDS.iter().enumerate() {
        let value_width = (area.width as usize).saturating_sub(2 + 16);
        let value = fit(
            &sanitize(&form::value_text(&app.request, *field)),
            value_width,
        );
        let mut problems = field.problems(&app.problems).peekable();
        let marker = if problems.peek().is_some() {
            "⚠"
        } else {
            " "
        };
        let text = format!("{:<15}{marker}{value}", field.label());
        let style = if focused && i == app.field {
            theme.selected()
        } else if marker == "⚠" {
            theme.error()
        } else {
            Style::new()
        };
        lines.push(Line::from(Span::styled(text, style)));
        for p in problems {
            lines.push(Line::from(Span::styled(
                format!("  {}", sanitize(&p.message)),
                theme.error(),
            )));
        }
    }
    let cost = match &app.cost {
        Cost::Known(units) => Span::raw(format!("Cost: {} CU", format_units(*units))),
        Cost::Pending => Span::styled("Cost: estimating…", theme.dim()),
        Cost::Unknown => Span::styled("Cost: —", theme.dim()),
        Cost::Failed(e) => Span::styled(format!("Cost: ? ({})", sanitize(e)), theme.dim()),
    };
    lines.push(Line::from(""));
    lines.push(Line::from(cost));
    let block = Block::bordered()
        .title(" Parameters ")
        .border_style(theme.border(focused));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn draw_detail(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let block = Block::bordered()
        .title(" Details ")
        .border_style(theme.dim());
    if let Some(view) = &app.server {
        let lines = view
            .selected_job()
            .map(|j| server_detail(j, theme))
            .unwrap_or_default();
        frame.render_widget(
            Paragraph::new(Text::from(lines))
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
        return;
    }
    let Some(job) = app.selected() else {
        let lines = match app.queue.selected_batch() {
            Some(name) => batch_detail(app, theme, &name),
            None => Vec::new(),
        };
        frame.render_widget(
            Paragraph::new(Text::from(lines))
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
        return;
    };
    let r = &job.request;
    let mut lines = vec![
        Line::from(vec![
            Span::raw(format!("#{} ", job.local_id)),
            Span::styled(
                job.job_id
                    .as_deref()
                    .map(sanitize)
                    .unwrap_or_else(|| "(no job id yet)".into()),
                theme.dim(),
            ),
        ]),
        Line::from(Span::styled(
            format!(
                "{} {:.0}%",
                job.state_word(),
                job.progress.clamp(0.0, 1.0) * 100.0
            ),
            status_style(job, theme),
        )),
        Line::from(format!(
            "{} · {} · {} s · audio {}",
            r.mode,
            r.aspect_ratio.map_or("—".into(), |a| a.to_string()),
            r.duration,
            if r.generate_audio == Some(true) {
                "on"
            } else {
                "off"
            }
        )),
    ];
    if let Some(cost) = job.cost {
        lines.push(Line::from(format!("cost {} CU", format_units(cost))));
    } else if let Some(quote) = job.quote {
        lines.push(Line::from(format!("quoted {} CU", format_units(quote))));
    }
    if let Some(at) = &job.expected_at {
        lines.push(Line::from(Span::styled(
            format!("expected by {} (the server's typical time)", short_time(at)),
            theme.dim(),
        )));
    }
    if let Some(tag) = &job.batch {
        lines.push(Line::from(format!(
            "batch {} · #{} · line {}",
            sanitize(&tag.name),
            tag.index + 1,
            tag.row
        )));
    }
    if let Some(hold) = &job.held {
        // Its reason is the state line above.
        if let Some(until) = &hold.until {
            lines.push(Line::from(Span::styled(
                format!(
                    "sent by itself from {} (a new day's count), or with a higher cap",
                    short_time(until)
                ),
                theme.dim(),
            )));
        } else if hold.cap.is_some() {
            lines.push(Line::from(Span::styled(
                "a higher cap sends it (--max-cost, max_spend_per_day)",
                theme.dim(),
            )));
        }
    }
    if let Some(id) = &r.start_image {
        lines.push(Line::from(format!("start {}", sanitize(id.as_str()))));
    }
    if let Some(id) = &r.end_image {
        lines.push(Line::from(format!("end {}", sanitize(id.as_str()))));
    }
    for (i, id) in r.reference_images.iter().enumerate() {
        lines.push(Line::from(format!(
            "image_{} {}",
            i + 1,
            sanitize(id.as_str())
        )));
    }
    if let Some(id) = &r.reference_video {
        lines.push(Line::from(format!("video_1 {}", sanitize(id.as_str()))));
    }
    match &job.submission {
        Submission::Unconfirmed { reason } | Submission::Rejected { reason } => {
            lines.push(Line::from(Span::styled(sanitize(reason), theme.error())));
        }
        _ => {}
    }
    if let Some(error) = &job.error {
        lines.push(Line::from(Span::styled(
            format!("error: {}", sanitize(error)),
            theme.error(),
        )));
    }
    if let Some(damage) = &job.damage {
        lines.push(Line::from(Span::styled(sanitize(damage), theme.error())));
    }
    if let Some(trouble) = &job.trouble {
        let what = if trouble.gave_up {
            "polling given up (r tries again)"
        } else {
            "polls failing"
        };
        lines.push(Line::from(Span::styled(
            format!(
                "{what} since {}, {} in a row: {}",
                short_time(&trouble.since),
                trouble.failures,
                sanitize(&trouble.error)
            ),
            theme.fg(Color::Yellow),
        )));
    }
    if let Some(hint) = &job.hint {
        lines.push(Line::from(format!("hint: {}", sanitize(hint))));
    }
    match app.pictures.by_job.get(&job.local_id) {
        Some(crate::tui::picture::Picture::Loading) => {
            lines.push(Line::from(Span::styled("picture: loading…", theme.dim())));
        }
        Some(crate::tui::picture::Picture::Failed(why)) => {
            lines.push(Line::from(Span::styled(
                format!("no picture: {why}"),
                theme.dim(),
            )));
        }
        _ => {}
    }
    for d in &job.downloads {
        match (&d.file, &d.error) {
            (Some(file), _) => {
                lines.push(Line::from(Span::styled("✓ saved", theme.fg(Color::Green))));
                lines.push(Line::from(sanitize(&file.display().to_string())));
            }
            (None, Some(e)) => lines.push(Line::from(Span::styled(
                format!("! {}", sanitize(e)),
                theme.error(),
            ))),
            (None, None) => {}
        }
    }
    for ((id, _), t) in &app.queue.transfers {
        if *id == job.local_id {
            lines.push(Line::from(format!(
                "↓ {} / {} at {}/s",
                human_bytes(t.bytes),
                t.total.map_or("?".into(), human_bytes),
                human_bytes(t.rate as u64)
            )));
        }
    }
    lines.push(Line::from(Span::styled("prompt:", theme.dim())));
    lines.push(Line::from(sanitize(&r.prompt)));
    if !job.history.is_empty() {
        lines.push(Line::from(Span::styled("history:", theme.dim())));
        for change in &job.history {
            // "2026-11-24T12:00:03.120Z" → "12:00:03"
            let time: String = change
                .date
                .split('T')
                .nth(1)
                .unwrap_or("")
                .chars()
                .take(8)
                .collect();
            lines.push(Line::from(format!("  {time}  {}", change.status)));
        }
    }
    frame.render_widget(
        Paragraph::new(Text::from(lines))
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn draw_status(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let scope = match app.focus {
        Focus::Editor => Scope::Editor,
        Focus::Sidebar => Scope::Sidebar,
        Focus::Queue => Scope::Queue,
    };
    let uploading: Vec<String> = app
        .queue
        .jobs
        .values()
        .filter(|j| j.submission == Submission::Uploading)
        .map(|j| format!("#{} {}", j.local_id, j.state_word()))
        .collect();
    let mut spans = vec![
        Span::styled(
            format!(" {} ", sanitize(&app.host)),
            theme.fg(Color::Black).bg_if(theme, Color::Cyan),
        ),
        Span::raw(format!(" {} CU spent ", format_units(app.spent()))),
    ];
    if let Some(overview) = &app.overview {
        // Today's spend (UTC) as the engine counts it against max_spend_per_day.
        match overview.day_cap {
            Some(cap) => {
                let style = if overview.today >= cap - 1e-9 {
                    theme.error()
                } else if overview.today >= cap * 0.8 {
                    theme.fg(Color::Yellow)
                } else {
                    Style::new()
                };
                spans.push(Span::styled(
                    format!(
                        "· today {} of {} CU ",
                        format_units(overview.today),
                        format_units(cap)
                    ),
                    style,
                ));
            }
            None if overview.today > 0.0 => spans.push(Span::raw(format!(
                "· today {} CU ",
                format_units(overview.today)
            ))),
            None => {}
        }
    }
    if !uploading.is_empty() {
        spans.push(Span::styled(
            format!(" ⇡ {} ", uploading.join(", ")),
            theme.fg(Color::Yellow),
        ));
    }
    if let Some(reason) = &app.halted {
        // Stays until a refresh: nothing else matters while every request is stopped.
        spans.push(Span::styled(format!(" ⛔ {reason} "), theme.error()));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    match &app.message {
        Some((text, true)) => spans.push(Span::styled(format!(" {text} "), theme.error())),
        Some((text, false)) => spans.push(Span::raw(format!(" {text} "))),
        None => {
            let hints: Vec<String> = app
                .keymap
                .bindings_for(scope)
                .chain(app.keymap.bindings_for(Scope::Anywhere).take(2))
                .take(6)
                .map(|b| format!("{} {}", b.label(), b.help.split(' ').next().unwrap_or("")))
                .collect();
            spans.push(Span::styled(
                format!(" {}  ? help", hints.join("  ")),
                theme.dim(),
            ));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

trait BgIf {
    fn bg_if(self, theme: &Theme, color: Color) -> Style;
}

impl BgIf for Style {
    fn bg_if(self, theme: &Theme, color: Color) -> Style {
        if theme.color {
            self.bg(color)
        } else {
            self.add_modifier(Modifier::REVERSED)
        }
    }
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn draw_popup(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let Some(popup) = &mut app.popup else {
        return;
    };
    match popup {
        Popup::Help => {
            let mut lines = Vec::new();
            for scope in [
                Scope::Anywhere,
                Scope::OutsideEditor,
                Scope::Editor,
                Scope::Sidebar,
                Scope::Queue,
            ] {
                lines.push(Line::from(Span::styled(
                    scope.title(),
                    theme.fg(Color::Cyan).add_modifier(Modifier::BOLD),
                )));
                for b in app.keymap.bindings_for(scope) {
                    lines.push(Line::from(format!("  {:<12} {}", b.label(), b.help)));
                }
            }
            let height = (lines.len() as u16 + 2).min(area.height);
            let rect = centered(area, 78, height);
            frame.render_widget(Clear, rect);
            frame.render_widget(
                Paragraph::new(lines).block(Block::bordered().title(" Keys — any key closes ")),
                rect,
            );
        }
        Popup::Problems(problems) => {
            let mut lines = vec![
                Line::from("Not submitted; fix these first:"),
                Line::from(""),
            ];
            lines.extend(
                problems
                    .iter()
                    .map(|p| Line::from(Span::styled(format!("• {p}"), theme.error()))),
            );
            let rect = centered(area, 70, lines.len() as u16 + 4);
            frame.render_widget(Clear, rect);
            frame.render_widget(
                Paragraph::new(lines).wrap(Wrap { trim: false }).block(
                    Block::bordered()
                        .title(" Invalid request ")
                        .border_style(theme.error()),
                ),
                rect,
            );
        }
        Popup::Confirm { question, .. } => {
            let rect = centered(area, 60, 6);
            frame.render_widget(Clear, rect);
            let lines = vec![
                Line::from(question.clone()),
                Line::from(""),
                Line::from(Span::styled("[y] yes   [n] no", theme.dim())),
            ];
            frame.render_widget(
                Paragraph::new(lines).wrap(Wrap { trim: true }).block(
                    Block::bordered()
                        .title(" Confirm ")
                        .border_style(theme.fg(Color::Yellow)),
                ),
                rect,
            );
        }
        Popup::Input {
            field,
            editor,
            candidates,
        } => {
            let shown = candidates.len().min(8) as u16;
            let rect = centered(area, 70, 3 + shown);
            frame.render_widget(Clear, rect);
            let [input_area, list_area] =
                Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(rect);
            let list: Vec<Line> = candidates
                .iter()
                .take(8)
                .map(|c| Line::from(Span::styled(format!("  {}", sanitize(c)), theme.dim())))
                .collect();
            frame.render_widget(Paragraph::new(list), list_area);
            let rect = input_area;
            editor.set_block(Block::bordered().title(format!(
                " {} — a file (Tab completes) or asset id; Enter keeps, Esc drops ",
                field.label()
            )));
            frame.render_widget(&*editor, rect);
        }
        Popup::BatchFile { editor, candidates } => {
            let shown = candidates.len().min(8) as u16;
            let rect = centered(area, 70, 3 + shown);
            frame.render_widget(Clear, rect);
            let [input_area, list_area] =
                Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(rect);
            let list: Vec<Line> = candidates
                .iter()
                .take(8)
                .map(|c| Line::from(Span::styled(format!("  {}", sanitize(c)), theme.dim())))
                .collect();
            frame.render_widget(Paragraph::new(list), list_area);
            editor.set_block(
                Block::bordered().title(
                    " Batch file (.jsonl) — Tab completes; Enter shows its plan, Esc drops ",
                ),
            );
            frame.render_widget(&*editor, input_area);
        }
        Popup::History(search) => draw_history(frame, search, theme, area),
        Popup::Compare(ids) => {
            let ids = ids.clone();
            draw_compare(frame, app, &ids, theme, area);
        }
        Popup::Picture(id) => {
            let id = *id;
            let rect = Rect {
                x: area.x + 1,
                y: area.y + 1,
                width: area.width.saturating_sub(2),
                height: area.height.saturating_sub(2),
            };
            frame.render_widget(Clear, rect);
            let block = Block::bordered()
                .title(format!(" #{id} — any key closes "))
                .border_style(theme.fg(Color::Cyan));
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            render_picture(frame, &mut app.pictures, id, inner);
        }
        Popup::BatchPlan(plan) => draw_plan(frame, plan, app.overview.as_ref(), theme, area),
        Popup::Shots { selected, editing } => {
            let shots = app.request.multi_prompt.clone().unwrap_or_default();
            let total: u32 = shots.iter().map(|s| s.duration).sum();
            let mut lines = Vec::new();
            for (i, shot) in shots.iter().enumerate() {
                let text = format!(
                    "{}. {:>2} s  {}",
                    i + 1,
                    shot.duration,
                    if shot.prompt.trim().is_empty() {
                        "(empty prompt)".to_string()
                    } else {
                        sanitize(&shot.prompt)
                    }
                );
                let style = if i == *selected {
                    theme.selected()
                } else {
                    Style::new()
                };
                lines.push(Line::from(Span::styled(fit(&text, 74), style)));
            }
            if shots.is_empty() {
                lines.push(Line::from(Span::styled(
                    "no shots: press a to add one",
                    theme.dim(),
                )));
            }
            lines.push(Line::from(""));
            let total_style = if total == app.request.duration {
                theme.fg(Color::Green)
            } else {
                theme.error()
            };
            lines.push(Line::from(Span::styled(
                format!(
                    "total {total} s of {} s ({} of 6 shots)",
                    app.request.duration,
                    shots.len()
                ),
                total_style,
            )));
            for p in app
                .problems
                .iter()
                .filter(|p| p.field.starts_with("multiPrompt"))
            {
                lines.push(Line::from(Span::styled(format!("⚠ {p}"), theme.error())));
            }
            lines.push(Line::from(Span::styled(
                "a add  x remove  Enter edit  ←/→ secs  J/K move  = fit  Esc close",
                theme.dim(),
            )));
            let height = lines.len() as u16 + 2 + if editing.is_some() { 3 } else { 0 };
            let rect = centered(area, 78, height);
            frame.render_widget(Clear, rect);
            let [list, input] = Layout::vertical([
                Constraint::Min(1),
                Constraint::Length(if editing.is_some() { 3 } else { 0 }),
            ])
            .areas(rect);
            frame.render_widget(
                Paragraph::new(lines).block(Block::bordered().title(" Multi-shot ")),
                list,
            );
            if let Some(editor) = editing {
                editor.set_block(
                    Block::bordered().title(" Shot prompt — Enter to keep, Esc to drop "),
                );
                frame.render_widget(&*editor, input);
            }
        }
    }
}

/// A batch's plan: what each request costs, the total, and the question.
fn draw_plan(
    frame: &mut Frame,
    plan: &crate::tui::batch::BatchPlan,
    overview: Option<&crate::engine::Overview>,
    theme: &Theme,
    area: Rect,
) {
    let width = area.width.saturating_sub(4).min(150);
    let height = area
        .height
        .saturating_sub(2)
        .min(plan.requests.len().min(1000) as u16 + 7);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let inner_width = width.saturating_sub(2) as usize;
    let list_rows = (height as usize).saturating_sub(7).max(1);
    let mut lines: Vec<Line> = Vec::new();
    let start = plan
        .scroll
        .min(plan.requests.len().saturating_sub(list_rows.max(1)));
    for i in (start..plan.requests.len()).take(list_rows) {
        let style = match plan.quote(i) {
            Some(Err(_)) => theme.error(),
            _ => Style::new(),
        };
        lines.push(Line::from(Span::styled(
            fit(&plan.line(i), inner_width),
            style,
        )));
    }
    lines.push(Line::from(""));
    let (answered, asked) = plan.answered();
    let (total, unknown) = plan.total();
    let mut summary = format!(
        "total  {} requests  {} CU",
        plan.requests.len(),
        crate::units::format_units(total)
    );
    if answered < asked {
        summary.push_str(&format!("  (pricing: {answered}/{asked} dry runs)"));
    } else if unknown > 0 {
        summary.push_str(&format!("  ({unknown} could not be quoted: not counted)"));
    }
    lines.push(Line::from(Span::styled(
        summary,
        theme.fg(Color::Cyan).add_modifier(Modifier::BOLD),
    )));
    if let Some(line) = overview.and_then(|o| plan.day_cap_line(o)) {
        lines.push(Line::from(Span::styled(line, theme.fg(Color::Yellow))));
    }
    lines.push(Line::from(fit(
        &format!("videos to {}", sanitize(&plan.out.display().to_string())),
        inner_width,
    )));
    lines.push(Line::from(Span::styled(
        "Enter/y send (paid)   Esc/n drop   ↑/↓ PgUp/PgDn scroll",
        theme.dim(),
    )));
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(format!(
                    " Batch {} — {} requests, priced by free dry runs ",
                    sanitize(&plan.name),
                    plan.requests.len()
                ))
                .border_style(theme.fg(Color::Yellow)),
        ),
        rect,
    );
}

/// The prompt history: the query, then the best matches with their mode, length, date and
/// how their latest job ended.
fn draw_history(
    frame: &mut Frame,
    search: &crate::tui::history::PromptSearch,
    theme: &Theme,
    area: Rect,
) {
    let width = area.width.saturating_sub(4).min(140);
    let height = area.height.saturating_sub(2).min(30);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let inner_width = width.saturating_sub(2) as usize;
    let list_rows = (height as usize).saturating_sub(5).max(1);
    let mut lines: Vec<Line> = Vec::new();
    let count = match search.pending {
        Some(_) => "reading the ledger…".to_string(),
        None => format!("{} of {} prompts", search.matches.len(), search.len()),
    };
    lines.push(Line::from(vec![
        Span::styled("› ", theme.fg(Color::Cyan)),
        Span::raw(format!("{}▏", sanitize(&search.query))),
        Span::styled(format!("  {count}"), theme.dim()),
    ]));
    lines.push(Line::from(""));
    let skip = search.selected.saturating_sub(list_rows.saturating_sub(1));
    for i in (skip..search.matches.len()).take(list_rows) {
        let Some(entry) = search.entry(i) else {
            break;
        };
        let r = &entry.request;
        let when = entry
            .created_at
            .parse::<jiff::Timestamp>()
            .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        let head = format!(
            "{when:<16} {:<10} {:<8} {:>2}s  ",
            fit(&sanitize(&entry.state), 10),
            r.mode.as_str(),
            r.duration
        );
        let prompt = fit(
            &sanitize(&r.prompt.replace('\n', " ")),
            inner_width.saturating_sub(head.width()),
        );
        let style = if i == search.selected {
            theme.selected()
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::styled(head, style.patch(theme.dim())),
            Span::styled(prompt, style),
        ]));
    }
    if search.pending.is_none() && search.matches.is_empty() {
        lines.push(Line::from(Span::styled(
            if search.is_empty() {
                "No prompt in the ledger yet."
            } else {
                "No prompt matches."
            },
            theme.dim(),
        )));
    }
    while lines.len() < list_rows + 2 {
        lines.push(Line::from(""));
    }
    lines.push(Line::from(Span::styled(
        "Enter fill the editor   Alt+Enter with its parameters   ↑/↓ choose   Esc close",
        theme.dim(),
    )));
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(" Prompt history — type to search: words in any order, letters may be left out ")
                .border_style(theme.fg(Color::Cyan)),
        ),
        rect,
    );
}

/// Draws job `id`'s picture in `area` if it is ready; whether it was.
fn render_picture(
    frame: &mut Frame,
    pictures: &mut crate::tui::picture::Pictures,
    id: u64,
    area: Rect,
) -> bool {
    match pictures.by_job.get_mut(&id) {
        #[cfg(feature = "preview")]
        Some(crate::tui::picture::Picture::Ready(protocol)) => {
            frame.render_stateful_widget(
                ratatui_image::StatefulImage::default(),
                area,
                protocol.as_mut(),
            );
            true
        }
        #[cfg(not(feature = "preview"))]
        Some(crate::tui::picture::Picture::Ready(never)) => {
            let _ = (frame, area);
            match **never {}
        }
        _ => false,
    }
}

/// The selected job's picture above its details, when there is one; the area left.
fn draw_detail_picture(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) -> Rect {
    use crate::tui::picture::Picture;
    let Some(id) = app.queue.selected_id().filter(|_| app.server.is_none()) else {
        return area;
    };
    if !matches!(app.pictures.by_job.get(&id), Some(Picture::Ready(_))) {
        return area;
    }
    // A 16:9 picture across the pane, at most half its height.
    let rows = ((area.width.saturating_sub(2) as u32 * 9 / 32) as u16 + 2)
        .min(area.height / 2)
        .max(3);
    let [top, rest] = Layout::vertical([Constraint::Length(rows), Constraint::Min(1)]).areas(area);
    let block = Block::bordered()
        .title(" Details — p: large ")
        .border_style(theme.dim());
    let inner = block.inner(top);
    frame.render_widget(block, top);
    render_picture(frame, &mut app.pictures, id, inner);
    rest
}

/// Marked jobs side by side: a column each, the same rows, the rows that differ highlighted.
fn draw_compare(frame: &mut Frame, app: &mut App, ids: &[u64], theme: &Theme, area: Rect) {
    let jobs: Vec<JobRecord> = ids
        .iter()
        .filter_map(|id| app.queue.jobs.get(id).cloned())
        .collect();
    let jobs: Vec<&JobRecord> = jobs.iter().collect();
    let rect = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(format!(
            " Compare {} jobs — highlighted rows differ; Esc closes, Space clears the marks ",
            jobs.len()
        ))
        .border_style(theme.fg(Color::Cyan));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    if jobs.is_empty() {
        return;
    }
    const LABEL: u16 = 12;
    let mut constraints = vec![Constraint::Length(LABEL)];
    constraints.extend(jobs.iter().map(|_| Constraint::Fill(1)));
    // Pictures on top when any job has one, the same height for all.
    let with_pictures = jobs.iter().any(|j| {
        matches!(
            app.pictures.by_job.get(&j.local_id),
            Some(crate::tui::picture::Picture::Ready(_))
        )
    });
    let inner = if with_pictures {
        let rows = (inner.height / 3).clamp(3, 12);
        let [top, rest] =
            Layout::vertical([Constraint::Length(rows), Constraint::Min(1)]).areas(inner);
        let columns = Layout::horizontal(constraints.clone())
            .spacing(1)
            .split(top);
        for (n, job) in jobs.iter().enumerate() {
            if !render_picture(frame, &mut app.pictures, job.local_id, columns[n + 1]) {
                frame.render_widget(
                    Paragraph::new("no picture").style(theme.dim()),
                    columns[n + 1],
                );
            }
        }
        rest
    } else {
        inner
    };
    let columns = Layout::horizontal(constraints).spacing(1).split(inner);
    let rows = crate::tui::compare::rows(&jobs);
    // Labels, then each job's column: its name, then one line per row (the prompt wraps).
    let mut labels = vec![Line::from(""), Line::from("")];
    for row in &rows {
        let style = if row.differ {
            theme.fg(Color::Yellow).add_modifier(Modifier::BOLD)
        } else {
            theme.dim()
        };
        labels.push(Line::from(Span::styled(row.label, style)));
    }
    frame.render_widget(Paragraph::new(labels), columns[0]);
    for (n, job) in jobs.iter().enumerate() {
        let column = columns[n + 1];
        let width = column.width as usize;
        let mut lines = vec![
            Line::from(Span::styled(
                fit(&format!("#{} {}", job.local_id, short_id(job)), width),
                Style::new().add_modifier(Modifier::BOLD),
            )),
            Line::from(Span::styled("─".repeat(width), theme.dim())),
        ];
        for row in &rows {
            let value = sanitize(&row.values[n]);
            let style = if row.differ {
                theme.fg(Color::Yellow)
            } else {
                Style::new()
            };
            if row.label == "prompt" {
                lines.push(Line::from(Span::styled(value, style)));
            } else {
                lines.push(Line::from(Span::styled(fit(&value, width), style)));
            }
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), column);
    }
}
