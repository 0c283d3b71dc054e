//! The name of a new sequence, typed in the one text input (without path completion: a name
//! is no path).

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::Outcome;
use super::path_input::{PathEvent, PathInput};
use crate::tui::keys::{PopupAction, PopupScope, popup_action};
use crate::tui::render::Theme;

pub struct SequenceName {
    pub input: PathInput,
}

impl Default for SequenceName {
    fn default() -> Self {
        Self {
            input: PathInput::new(""),
        }
    }
}

impl SequenceName {
    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        if matches!(
            popup_action(PopupScope::PathInput, &key),
            Some(PopupAction::Complete | PopupAction::CompletePrev)
        ) {
            return Outcome::Stay;
        }
        match self.input.handle_key(key) {
            PathEvent::Editing => Outcome::Stay,
            PathEvent::Accepted(text) if text.trim().is_empty() => Outcome::Close,
            PathEvent::Accepted(text) => Outcome::NewSequence(text.trim().to_string()),
            PathEvent::Canceled => Outcome::Close,
        }
    }

    pub fn draw(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let title = " New sequence: its name — Enter makes it, Esc drops ".to_string();
        self.input.draw(frame, area, theme, title);
    }
}
