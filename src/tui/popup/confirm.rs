//! A yes-or-no question before something that cannot be taken back.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::Outcome;
use crate::engine::LocalId;
use crate::tui::keys::{PopupAction, PopupScope, popup_action};
use crate::tui::render::{Theme, centered};

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

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let rect = centered(area, 60, 6);
        frame.render_widget(Clear, rect);
        let lines = vec![
            Line::from(self.question.clone()),
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
}
