//! Marked jobs side by side: a column each, the same rows, the rows that differ highlighted.

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::Outcome;
use crate::engine::{JobRecord, LocalId};
use crate::sanitize::sanitize;
use crate::tui::keys::{PopupAction, PopupScope, popup_action};
use crate::tui::picture::Pictures;
use crate::tui::render::{Theme, first_fitting, fit, render_picture, short_id};

pub struct Compare {
    pub jobs: Vec<LocalId>,
}

impl Compare {
    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        match popup_action(PopupScope::Compare, &key) {
            Some(PopupAction::ForceQuit) => Outcome::ForceQuit,
            // Space again clears the marks as it closes.
            Some(PopupAction::ClearMarks) => Outcome::ClearMarks,
            Some(PopupAction::Close) => Outcome::Close,
            _ => Outcome::Stay,
        }
    }

    pub fn draw(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        all: &BTreeMap<LocalId, JobRecord>,
        pictures: &mut Pictures,
    ) {
        let jobs: Vec<JobRecord> = self
            .jobs
            .iter()
            .filter_map(|id| all.get(id).cloned())
            .collect();
        let jobs: Vec<&JobRecord> = jobs.iter().collect();
        let n = jobs.len();
        let title = first_fitting(
            &[
                &format!(
                    " Compare {n} jobs — highlighted rows differ; Esc closes, Space clears the marks "
                ),
                &format!(" Compare {n} jobs — Esc closes, Space clears the marks "),
                &format!(" Compare {n} jobs "),
            ],
            area.width.saturating_sub(2) as usize,
        );
        let inner = super::full_screen(frame, area, theme, &title);
        if jobs.is_empty() {
            return;
        }
        const LABEL: u16 = 12;
        let mut constraints = vec![Constraint::Length(LABEL)];
        constraints.extend(jobs.iter().map(|_| Constraint::Fill(1)));
        // Pictures on top when any job has one, the same height for all.
        let with_pictures = jobs.iter().any(|j| {
            matches!(
                pictures.by_job.get(&j.local_id),
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
                if !render_picture(frame, pictures, job.local_id, columns[n + 1]) {
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
            labels.push(Line::from(Span::styled(
                fit(row.label, LABEL as usize),
                style,
            )));
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
}
