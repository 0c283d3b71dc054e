//! A batch's plan as a popup: its requests and what each costs, sent once confirmed.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Outcome;
use crate::engine::Overview;
use crate::sanitize::sanitize;
use crate::tui::batch::BatchPlan;
use crate::tui::keys::{PopupAction, PopupScope, popup_action};
use crate::tui::render::{Theme, centered, first_fitting, fit, popup_frame};

/// Rows PgUp and PgDn move.
const PAGE: usize = 10;

impl BatchPlan {
    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        let last = self.requests.len().saturating_sub(1);
        match popup_action(PopupScope::BatchPlan, &key) {
            Some(PopupAction::Yes) => {
                let (answered, asked) = self.answered();
                if answered < asked {
                    return Outcome::Warn(format!(
                        "still pricing the batch ({answered}/{asked} dry runs answered)"
                    ));
                }
                let commands = self.submit_commands();
                let message = format!(
                    "batch {}: {} requests sent to the engine; videos go to {}",
                    sanitize(&self.name),
                    commands.len(),
                    sanitize(&self.out.display().to_string())
                );
                return Outcome::SendBatch { commands, message };
            }
            Some(PopupAction::No) => return Outcome::Say("batch not sent".into()),
            Some(PopupAction::Next) => self.scroll = (self.scroll + 1).min(last),
            Some(PopupAction::Prev) => self.scroll = self.scroll.saturating_sub(1),
            Some(PopupAction::PageNext) => self.scroll = (self.scroll + PAGE).min(last),
            Some(PopupAction::PagePrev) => self.scroll = self.scroll.saturating_sub(PAGE),
            Some(PopupAction::First) => self.scroll = 0,
            Some(PopupAction::Last) => self.scroll = last,
            Some(PopupAction::ForceQuit) => return Outcome::ForceQuit,
            _ => {}
        }
        Outcome::Stay
    }

    /// What each request costs, the total, and the question.
    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme, overview: Option<&Overview>) {
        let width = area.width.saturating_sub(4).min(150);
        let height = area
            .height
            .saturating_sub(2)
            .min(self.requests.len().min(1000) as u16 + 7);
        let rect = centered(area, width, height);
        let (width, height) = (rect.width, rect.height);
        let inner_width = width.saturating_sub(2) as usize;
        let list_rows = (height as usize).saturating_sub(7).max(1);
        let mut lines: Vec<Line> = Vec::new();
        let start = self
            .scroll
            .min(self.requests.len().saturating_sub(list_rows.max(1)));
        for i in (start..self.requests.len()).take(list_rows) {
            let style = match self.quote(i) {
                Some(Err(_)) => theme.error(),
                _ => Style::new(),
            };
            lines.push(Line::from(Span::styled(
                fit(&self.line(i), inner_width),
                style,
            )));
        }
        lines.push(Line::from(""));
        let (answered, asked) = self.answered();
        let (total, unknown) = self.total();
        let mut summary = format!(
            "total  {} requests  {} CU",
            self.requests.len(),
            crate::units::format_units(total)
        );
        if answered < asked {
            summary.push_str(&format!("  (pricing: {answered}/{asked} dry runs)"));
        } else if unknown > 0 {
            summary.push_str(&format!("  ({unknown} could not be quoted: not counted)"));
        }
        lines.push(Line::from(Span::styled(
            fit(&summary, inner_width),
            theme.fg(Color::Cyan).add_modifier(Modifier::BOLD),
        )));
        if let Some(line) = overview.and_then(|o| self.day_cap_line(o)) {
            lines.push(Line::from(Span::styled(
                fit(&line, inner_width),
                theme.fg(Color::Yellow),
            )));
        }
        lines.push(Line::from(fit(
            &format!("videos to {}", sanitize(&self.out.display().to_string())),
            inner_width,
        )));
        lines.push(Line::from(Span::styled(
            first_fitting(
                &[
                    "Enter/y send (paid)   Esc/n drop   ↑/↓ PgUp/PgDn scroll",
                    "Enter send (paid)  Esc drop  ↑/↓ scroll",
                ],
                inner_width,
            ),
            theme.dim(),
        )));
        let name = sanitize(&self.name);
        let n = self.requests.len();
        let title = first_fitting(
            &[
                &format!(" Batch {name} — {n} requests, priced by free dry runs "),
                &format!(" Batch {name} — {n} requests "),
                &format!(" Batch {name} "),
            ],
            inner_width,
        );
        let inner = popup_frame(frame, rect, &title, theme.fg(Color::Yellow));
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
