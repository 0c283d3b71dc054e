//! The popups that only tell something (a refused submission's problems, a large picture):
//! any key closes them, as an image viewer does.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Outcome;
use crate::tui::keys::{PopupAction, PopupScope, popup_action};
use crate::tui::render::{Theme, centered, fit, popup_frame, wrap};

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
        let width = 72.min(area.width);
        let inner_width = width.saturating_sub(4) as usize;
        let mut lines = vec![
            Line::from(fit("Not submitted; fix these first:", inner_width)),
            Line::from(""),
        ];
        // Each problem wrapped under its bullet.
        for problem in &self.0 {
            for (n, part) in wrap(problem, inner_width.saturating_sub(2))
                .into_iter()
                .enumerate()
            {
                let bullet = if n == 0 { "• " } else { "  " };
                lines.push(Line::from(Span::styled(
                    format!("{bullet}{part}"),
                    theme.error(),
                )));
            }
        }
        let rect = centered(area, width, lines.len() as u16 + 2);
        let inner = popup_frame(frame, rect, " Invalid request ", theme.error());
        let inner = Rect {
            x: inner.x + 1,
            width: inner.width.saturating_sub(2),
            ..inner
        };
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
