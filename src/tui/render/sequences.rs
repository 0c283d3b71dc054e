//! The Sequence view: the sequences on the left; on the right the selected one's shots in
//! order, each with its chosen take and its other takes under it, and at the foot the length
//! of the chosen takes and what the takes cost so far.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::engine::{JobRecord, LocalId};
use crate::sanitize::sanitize;
use crate::takes::Mark;
use crate::tui::app::App;
use crate::tui::sequences::{SeqRow, SequenceView, Side};
use crate::units::format_units;

use super::layout::{first_fitting, fit, pad, pad_left};
use super::theme::Theme;

/// The running time's column on a wide pane: `→12:05`.
const TIME: usize = 6;

/// The list of sequences' width, by the screen's.
fn list_width(width: u16) -> u16 {
    match width {
        120.. => 32,
        80.. => 24,
        _ => 18,
    }
}

pub(crate) fn draw_sequences(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let Some(view) = &app.sequences else {
        return;
    };
    let [left, right] = Layout::horizontal([
        Constraint::Length(list_width(area.width)),
        Constraint::Min(20),
    ])
    .areas(area);
    // The selected take's picture under the list, when there is one.
    let picture = view.selected_take().filter(|id| {
        matches!(
            app.pictures.by_job.get(id),
            Some(crate::tui::picture::Picture::Ready(_))
        )
    });
    let (list, below) = match picture {
        Some(_) => {
            let rows = ((left.width.saturating_sub(2) as u32 * 9 / 32) as u16 + 2)
                .min(left.height / 2)
                .max(3);
            let [list, below] =
                Layout::vertical([Constraint::Min(3), Constraint::Length(rows)]).areas(left);
            (list, Some(below))
        }
        None => (left, None),
    };
    draw_list(frame, view, theme, list);
    draw_shots(frame, app, view, theme, right);
    if let (Some(id), Some(below)) = (picture, below) {
        let block = Block::bordered()
            .title(fit(
                &format!(" #{id} "),
                below.width.saturating_sub(2) as usize,
            ))
            .border_style(theme.dim());
        let inner = block.inner(below);
        frame.render_widget(block, below);
        super::picture::render_picture(frame, &mut app.pictures, id, inner);
    }
}

fn draw_list(frame: &mut Frame, view: &SequenceView, theme: &Theme, area: Rect) {
    let focused = view.side == Side::List && !view.pending;
    let title = fit(
        &format!(" Sequences {} ", view.all.len()),
        area.width.saturating_sub(2) as usize,
    );
    let block = Block::bordered()
        .title(title)
        .border_style(theme.border(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    if view.all.is_empty() {
        let text = if view.pending {
            "reading…"
        } else {
            "None yet: n makes one."
        };
        dim_text(frame, inner, text, theme);
        return;
    }
    // Two rows a sequence: its name, then its shots.
    let shown = (inner.height as usize / 2).max(1);
    let skip = view.selected.saturating_sub(shown.saturating_sub(1));
    let mut lines = Vec::new();
    for (i, summary) in view.all.iter().enumerate().skip(skip).take(shown) {
        let selected = i == view.selected;
        let name = format!(
            "{}{}",
            if selected { "› " } else { "  " },
            sanitize(&summary.name)
        );
        let style = match (selected, view.side) {
            (true, Side::List) => theme.selected(),
            (true, Side::Shots) => Style::new().add_modifier(Modifier::BOLD),
            _ => Style::new(),
        };
        lines.push(Line::from(Span::styled(pad(&name, width), style)));
        let counts = first_fitting(
            &[
                format!(
                    "    {} · {} chosen",
                    crate::units::count(summary.shots as usize, "shot"),
                    summary.chosen
                ),
                format!("    {}/{} chosen", summary.chosen, summary.shots),
            ],
            width,
        );
        lines.push(Line::from(Span::styled(counts, theme.dim())));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The cells of a take's row after its number or indent: id, prompt, duration, mode, cost,
/// mark, cut to `width` in all.
/// The mode column is left out when `with_mode` is not (a narrow pane), the same for every
/// row.
fn take_cells(
    app: &App,
    theme: &Theme,
    id: LocalId,
    (width, with_mode): (usize, bool),
    style: Style,
) -> Vec<Span<'static>> {
    let job = app.take_record(id);
    let fixed = 5 + 1 + 4 + 1 + if with_mode { 9 } else { 0 } + 9 + 1 + 2;
    let prompt_width = width.saturating_sub(fixed);
    let mut spans = vec![Span::styled(pad(&format!("#{id}"), 5), theme.dim())];
    spans.push(Span::raw(" "));
    let Some(job) = job else {
        spans.push(Span::styled(
            pad("(not in this ledger)", width.saturating_sub(6)),
            theme.dim(),
        ));
        return spans;
    };
    let r = &job.request;
    spans.push(Span::styled(
        pad(&sanitize(&r.prompt.replace('\n', " ")), prompt_width),
        style,
    ));
    spans.push(Span::styled(
        pad_left(&format!("{:.0}s", job.seconds()), 4),
        style,
    ));
    spans.push(Span::raw(" "));
    if with_mode {
        spans.push(Span::styled(pad(&r.mode.to_string(), 8), style));
        spans.push(Span::raw(" "));
    }
    let cost = job
        .charged()
        .or(job.quote)
        .map(|c| format!("{} CU", format_units(c)))
        .unwrap_or_else(|| job.state_word());
    spans.push(Span::styled(pad_left(&cost, 9), style));
    spans.push(Span::raw(" "));
    spans.push(match app.takes.mark_of(id) {
        Some(Mark::Keep) => Span::styled("★ ", theme.fg(Color::Green)),
        Some(Mark::Reject) => Span::styled("✗ ", theme.fg(Color::Yellow)),
        None => Span::raw("  "),
    });
    spans
}

fn draw_shots(frame: &mut Frame, app: &App, view: &SequenceView, theme: &Theme, area: Rect) {
    let focused = view.side == Side::Shots;
    let room = area.width.saturating_sub(2) as usize;
    let title = match &view.open {
        Some(open) => first_fitting(
            &[
                format!(
                    " {} — {} ",
                    sanitize(&open.name),
                    crate::units::count(open.shots.len(), "shot")
                ),
                format!(" {} ", sanitize(&open.name)),
            ],
            room,
        ),
        None => " Shots ".to_string(),
    };
    let block = Block::bordered()
        .title(title)
        .border_style(theme.border(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    if view.open.is_none() {
        let text = if view.all.is_empty() {
            "A sequence is shots in order, each with its takes and one chosen. n makes one; \
             then a adds the job selected in the job list as its next shot."
        } else {
            "reading…"
        };
        dim_text(frame, inner, text, theme);
        return;
    }
    let [body, foot] = Layout::vertical([Constraint::Min(1), Constraint::Length(4)]).areas(inner);
    let rows = view.rows();
    let with_mode = width >= 50;
    // Where each shot ends in the cut of the chosen takes, on a wide pane.
    let with_time = width >= 90;
    let time = if with_time { TIME + 1 } else { 0 };
    let mut ends = 0u32;
    let mut lines: Vec<Line> = Vec::new();
    for row in &rows {
        let selected = focused && view.row == Some(*row);
        let line = match *row {
            SeqRow::Shot(position) => {
                let mut spans = vec![Span::styled(
                    pad(&format!("{position:>2}"), 3),
                    Style::new().add_modifier(Modifier::BOLD),
                )];
                let chosen = view.shot_chosen(position);
                match chosen {
                    Some(id) => spans.extend(take_cells(
                        app,
                        theme,
                        id,
                        (width.saturating_sub(3 + time), with_mode),
                        Style::new(),
                    )),
                    None => spans.push(Span::styled(
                        pad("no take chosen", width.saturating_sub(3 + time)),
                        theme.dim(),
                    )),
                }
                if with_time {
                    ends += chosen
                        .and_then(|id| app.take_record(id))
                        .map_or(0, |j| j.seconds().round() as u32);
                    let at = format!("→{}:{:02}", ends / 60, ends % 60);
                    spans.push(Span::styled(pad_left(&at, time), theme.dim()));
                }
                Line::from(spans)
            }
            SeqRow::Take { take, .. } => {
                let mut spans = vec![Span::raw("     ")];
                spans.extend(take_cells(
                    app,
                    theme,
                    take,
                    (width.saturating_sub(5 + time), with_mode),
                    theme.dim(),
                ));
                spans.push(Span::raw(pad("", time)));
                Line::from(spans)
            }
        };
        lines.push(if selected {
            line.style(theme.selected())
        } else {
            line
        });
    }
    if rows.is_empty() {
        lines.push(Line::from(Span::styled(
            fit(
                "No shot yet: a adds the job selected in the job list as the first.",
                width,
            ),
            theme.dim(),
        )));
    }
    // The selected row stays in sight.
    let height = body.height as usize;
    let at = view
        .row
        .and_then(|r| rows.iter().position(|x| *x == r))
        .unwrap_or(0);
    let skip = at.saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line> = lines.into_iter().skip(skip).take(height).collect();
    frame.render_widget(Paragraph::new(lines), body);
    draw_foot(frame, app, view, theme, foot);
}

/// The selected take at length: its mark and why, and its whole prompt as far as it fits.
fn selected_line(app: &App, view: &SequenceView, width: usize) -> Line<'static> {
    let Some(id) = view.selected_take() else {
        return Line::from("");
    };
    let mark = match app.takes.marks.get(&id) {
        Some(entry) if entry.mark == Mark::Keep => "★ kept · ".to_string(),
        Some(entry) => match &entry.reason {
            Some(reason) => format!("✗ rejected: {} · ", sanitize(reason)),
            None => "✗ rejected · ".to_string(),
        },
        None => String::new(),
    };
    let prompt = app
        .take_record(id)
        .map(|j| sanitize(&j.request.prompt.replace('\n', " ")))
        .unwrap_or_default();
    Line::from(Span::raw(fit(&format!("#{id} {mark}{prompt}"), width)))
}

/// The selected take, the chosen takes' length and what the takes cost, then what `a` and
/// `t` would add.
fn draw_foot(frame: &mut Frame, app: &App, view: &SequenceView, theme: &Theme, area: Rect) {
    let width = area.width as usize;
    let Some(open) = &view.open else {
        return;
    };
    let chosen: Vec<LocalId> = open.shots.iter().filter_map(|s| s.chosen).collect();
    let seconds: u32 = chosen
        .iter()
        .filter_map(|id| app.take_record(*id))
        .map(|j| j.seconds().round() as u32)
        .sum();
    let cost = |ids: &mut dyn Iterator<Item = &LocalId>| -> f64 {
        ids.filter_map(|id| app.take_record(*id))
            .filter_map(JobRecord::charged)
            .sum()
    };
    let all = cost(&mut open.shots.iter().flat_map(|s| s.takes.iter()));
    let of_chosen = cost(&mut chosen.iter());
    let takes: usize = open.shots.iter().map(|s| s.takes.len()).sum();
    let total = first_fitting(
        &[
            format!(
                "{} s in {} of {} · cost so far {} CU, the chosen {} CU",
                seconds,
                crate::units::count(chosen.len(), "chosen take"),
                crate::units::count(open.shots.len(), "shot"),
                format_units(all),
                format_units(of_chosen)
            ),
            format!(
                "{seconds} s chosen · {} CU in all, {} CU chosen",
                format_units(all),
                format_units(of_chosen)
            ),
            format!("{seconds} s · {} CU", format_units(all)),
        ],
        width,
    );
    let selection = match app.queue.selected_job() {
        Some(job) => format!(
            "job list: #{} {}",
            job.local_id,
            sanitize(&job.request.prompt.replace('\n', " "))
        ),
        None => "job list: no job selected".to_string(),
    };
    let lines = vec![
        Line::from(Span::styled("─".repeat(width), theme.dim())),
        selected_line(app, view, width),
        Line::from(Span::styled(
            total,
            Style::new().add_modifier(Modifier::BOLD),
        )),
        Line::from(Span::styled(
            fit(
                &format!("{} · {}", crate::units::count(takes, "take"), selection),
                width,
            ),
            theme.dim(),
        )),
    ];
    frame.render_widget(Paragraph::new(lines), area);
}

/// A pane's word while it has nothing else to show: dimmed, wrapped to its width.
fn dim_text(frame: &mut Frame, area: Rect, text: &str, theme: &Theme) {
    let lines: Vec<Line> = super::layout::wrap(text, area.width as usize)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, theme.dim())))
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}
