//! Editing a reference field: a file (completed with Tab) or an asset id.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::Outcome;
use super::path_input::{PathEvent, PathInput};
use crate::sanitize::sanitize;
use crate::tui::form::Field;
use crate::tui::render::Theme;

pub struct FieldInput {
    pub field: Field,
    pub input: PathInput,
}

impl FieldInput {
    pub fn new(field: Field, text: &str) -> Self {
        Self {
            field,
            input: PathInput::new(text),
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        match self.input.handle_key(key) {
            PathEvent::Editing => Outcome::Stay,
            PathEvent::Accepted(text) => Outcome::SetField(self.field, sanitize(&text)),
            PathEvent::Canceled => Outcome::Close,
        }
    }

    pub fn draw(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let title = format!(
            " {} — a file (Tab completes) or asset id; Enter keeps, Esc drops ",
            self.field.label()
        );
        self.input.draw(frame, area, theme, title);
    }
}
