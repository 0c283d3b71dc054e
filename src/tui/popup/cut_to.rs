//! Where the cut of a sequence goes: a path, typed in the one path input (Tab completes).

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::Outcome;
use super::path_input::{PathEvent, PathInput};
use crate::tui::render::Theme;

pub struct CutTo {
    pub sequence: String,
    pub input: PathInput,
}

impl CutTo {
    pub fn new(sequence: &str, suggested: &str) -> Self {
        Self {
            sequence: sequence.to_string(),
            input: PathInput::new(suggested),
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        match self.input.handle_key(key) {
            PathEvent::Editing => Outcome::Stay,
            PathEvent::Accepted(text) if text.trim().is_empty() => {
                Outcome::Warn("the film needs a file name".into())
            }
            PathEvent::Accepted(text) => Outcome::Cut {
                sequence: self.sequence.clone(),
                out: std::path::PathBuf::from(text.trim()),
            },
            PathEvent::Canceled => Outcome::Close,
        }
    }

    pub fn draw(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let title = format!(
            " The cut of {}: the MP4 to write — Enter cuts, Esc drops ",
            crate::sanitize::sanitize(&self.sequence)
        );
        self.input.draw(frame, area, theme, title);
    }
}
