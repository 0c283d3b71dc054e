//! Asking for the batch file to open; Tab completes its path.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::Outcome;
use super::path_input::{PathEvent, PathInput};
use crate::tui::render::Theme;

pub struct BatchFile {
    pub input: PathInput,
}

impl Default for BatchFile {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchFile {
    pub fn new() -> Self {
        Self {
            input: PathInput::new(""),
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        match self.input.handle_key(key) {
            PathEvent::Editing => Outcome::Stay,
            PathEvent::Accepted(text) => Outcome::OpenBatch(text.trim().to_string()),
            PathEvent::Canceled => Outcome::Close,
        }
    }

    pub fn draw(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let title =
            " Batch file (.jsonl) — Tab completes; Enter shows its plan, Esc drops ".to_string();
        self.input.draw(frame, area, theme, title);
    }
}
