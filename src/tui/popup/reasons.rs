//! Why a take is rejected: a short list to pick from, "no reason" first, so rejections can be
//! counted by reason without a typo making a new one.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Outcome;
use crate::engine::LocalId;
use crate::sanitize::sanitize;
use crate::tui::keys::{PopupAction, PopupScope, popup_action};
use crate::tui::render::{MARGIN_X, Theme, centered, fit, popup_frame};

/// The first choice: rejected without saying why.
pub const NO_REASON: &str = "no reason";

pub struct Reasons {
    pub job: LocalId,
    /// The reasons offered, without "no reason".
    pub reasons: Vec<String>,
    /// Among "no reason" and then `reasons`.
    pub selected: usize,
}

impl Reasons {
    pub fn new(job: LocalId, reasons: &[String]) -> Self {
        Self {
            job,
            reasons: reasons.to_vec(),
            selected: 0,
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        let last = self.reasons.len();
        match popup_action(PopupScope::Reasons, &key) {
            Some(PopupAction::ForceQuit) => Outcome::ForceQuit,
            Some(PopupAction::Close) => Outcome::Close,
            Some(PopupAction::Prev) => {
                self.selected = self.selected.saturating_sub(1);
                Outcome::Stay
            }
            Some(PopupAction::Next) => {
                self.selected = (self.selected + 1).min(last);
                Outcome::Stay
            }
            Some(PopupAction::Accept) => Outcome::Reject {
                job: self.job,
                reason: self
                    .selected
                    .checked_sub(1)
                    .and_then(|at| self.reasons.get(at).cloned()),
            },
            _ => Outcome::Stay,
        }
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        // Across the panes but their edges: a narrower list would leave the job list's
        // prompts showing cut beside it.
        let width = area.width.saturating_sub(2 * MARGIN_X);
        let inner_width = width.saturating_sub(4) as usize;
        let mut lines = Vec::new();
        for (n, reason) in std::iter::once(NO_REASON)
            .chain(self.reasons.iter().map(String::as_str))
            .enumerate()
        {
            let text = fit(&format!("  {}", sanitize(reason)), inner_width);
            lines.push(if n == self.selected {
                Line::from(Span::styled(
                    format!("{text:<inner_width$}"),
                    theme.selected(),
                ))
            } else {
                Line::from(text)
            });
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            fit("Enter rejects   Esc cancels", inner_width),
            theme.dim(),
        )));
        let rect = centered(area, width, lines.len() as u16 + 2);
        let title = format!(" Reject #{}: why? ", self.job);
        let inner = popup_frame(frame, rect, &title, theme.fg(Color::Yellow));
        let inner = Rect {
            x: inner.x + 1,
            width: inner.width.saturating_sub(2),
            ..inner
        };
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
