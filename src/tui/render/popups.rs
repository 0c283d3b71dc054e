//! The popups drawn over the panes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use crate::engine::JobRecord;
use crate::sanitize::sanitize;
use crate::tui::app::{App, Popup};
use crate::tui::keys::Scope;

use super::jobs::short_id;
use super::layout::{centered, fit};
use super::picture::render_picture;
use super::theme::Theme;

pub(crate) fn draw_popup(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
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
pub(crate) fn draw_plan(
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
pub(crate) fn draw_history(
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

/// Marked jobs side by side: a column each, the same rows, the rows that differ highlighted.
pub(crate) fn draw_compare(
    frame: &mut Frame,
    app: &mut App,
    ids: &[u64],
    theme: &Theme,
    area: Rect,
) {
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
