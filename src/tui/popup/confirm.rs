//! A yes-or-no question before something that cannot be taken back.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Outcome;
use crate::engine::LocalId;
use crate::tui::keys::{PopupAction, PopupScope, popup_action};
use crate::tui::render::{Theme, centered, fit, popup_frame, width_of, wrap};

/// What a yes does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    Cancel(LocalId),
    Forget(LocalId),
    Resend(LocalId),
    /// Send again the failed requests of the batch.
    RetryBatch(String),
    /// Submit the editor's request though the same was just sent.
    SubmitAgain,
    /// Remove shot `shot` of sequence `sequence` (its jobs stay).
    RemoveShot {
        sequence: String,
        shot: u32,
    },
    Quit,
}

pub struct Confirm {
    pub question: String,
    pub action: Confirmed,
}

impl Confirm {
    pub fn new(question: impl Into<String>, action: Confirmed) -> Self {
        Self {
            question: question.into(),
            action,
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        match popup_action(PopupScope::Confirm, &key) {
            Some(PopupAction::Yes) => Outcome::Confirmed(self.action.clone()),
            // On the quit question Ctrl+C quits at once (so pressing it twice always quits);
            // on any other it does nothing.
            Some(PopupAction::ForceQuit) if self.action == Confirmed::Quit => Outcome::Quit,
            Some(PopupAction::No) => Outcome::Close,
            _ => Outcome::Stay,
        }
    }

    /// The question wrapped to the popup, never cut; the popup as wide as the question needs,
    /// within the screen.
    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let want = width_of(&self.question) as u16 + 4;
        let width = want.clamp(44, 72).min(area.width);
        let inner_width = width.saturating_sub(4) as usize;
        let question = wrap(&self.question, inner_width);
        let height = question.len() as u16 + 4;
        let rect = centered(area, width, height);
        let inner = popup_frame(frame, rect, " Confirm ", theme.fg(Color::Yellow));
        let mut lines: Vec<Line> = question.into_iter().map(Line::from).collect();
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            fit("[y] yes   [n] no", inner_width),
            theme.dim(),
        )));
        let inner = Rect {
            x: inner.x + 1,
            width: inner.width.saturating_sub(2),
            ..inner
        };
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
