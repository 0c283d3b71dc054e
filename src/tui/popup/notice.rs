//! The popups that only tell something (the help, a refused submission's problems, a large
//! picture): any key closes them, as an image viewer does.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::Outcome;
use crate::tui::keys::{PopupAction, PopupScope, popup_action};
use crate::tui::render::{Theme, centered};

pub fn handle_key(key: KeyEvent) -> Outcome {
    match popup_action(PopupScope::Notice, &key) {
        Some(PopupAction::ForceQuit) => Outcome::ForceQuit,
        _ => Outcome::Close,
    }
}

/// Why submit was refused, one problem a line (sanitized already).
#[derive(Debug)]
pub struct Problems(pub Vec<String>);

impl std::ops::Deref for Problems {
    type Target = Vec<String>;

    fn deref(&self) -> &Vec<String> {
        &self.0
    }
}

impl Problems {
    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let mut lines = vec![
            Line::from("Not submitted; fix these first:"),
            Line::from(""),
        ];
        lines.extend(
            self.0
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
}
