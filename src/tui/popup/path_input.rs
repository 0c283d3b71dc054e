//! The one text input for paths, as gitui's `textinput`: every field and popup that takes a
//! path uses it, so Tab completion, its list of choices and the keys are the same everywhere.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui_textarea::{CursorMove, TextArea};

use crate::sanitize::sanitize;
use crate::tui::complete::complete_path;
use crate::tui::keys::{PopupAction, PopupScope, popup_action};
use crate::tui::render::{Theme, centered, fit};

/// Choices listed under the input at most.
const SHOWN: usize = 8;

/// What a key did to the input.
#[derive(Debug, PartialEq)]
pub enum PathEvent {
    /// Still typing.
    Editing,
    /// Enter: the text, as typed.
    Accepted(String),
    /// Esc or Ctrl+C: dropped.
    Canceled,
}

pub struct PathInput {
    editor: TextArea<'static>,
    /// Paths that complete what is typed, after a Tab that had several.
    candidates: Vec<String>,
}

/// A one-line editor holding `text`, the cursor at its end.
pub fn line_editor(text: &str) -> TextArea<'static> {
    let mut editor = TextArea::new(vec![text.to_string()]);
    editor.move_cursor(CursorMove::End);
    editor
}

impl PathInput {
    pub fn new(text: &str) -> Self {
        Self {
            editor: line_editor(text),
            candidates: Vec::new(),
        }
    }

    pub fn text(&self) -> String {
        self.editor.lines().join(" ")
    }

    pub fn candidates(&self) -> &[String] {
        &self.candidates
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> PathEvent {
        match popup_action(PopupScope::PathInput, &key) {
            Some(PopupAction::Accept) => PathEvent::Accepted(self.text()),
            Some(PopupAction::Close | PopupAction::ForceQuit) => PathEvent::Canceled,
            Some(PopupAction::Complete) => {
                let (completed, candidates) = complete_path(&self.text());
                self.editor = line_editor(&completed);
                self.candidates = candidates;
                PathEvent::Editing
            }
            _ => {
                self.editor.input(key);
                self.candidates.clear();
                PathEvent::Editing
            }
        }
    }

    pub fn paste(&mut self, text: &str) {
        self.editor.insert_str(sanitize(text));
    }

    /// Draws the input centred in `area` under `title`, its choices below it.
    pub fn draw(&mut self, frame: &mut Frame, area: Rect, theme: &Theme, title: String) {
        let shown = self.candidates.len().min(SHOWN) as u16;
        // The choices in a box of their own under the input's, closed at the bottom.
        let rect = centered(area, 70, 3 + if shown > 0 { shown + 1 } else { 0 });
        crate::tui::render::clear_popup(frame, rect);
        let [input_area, list_area] =
            Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(rect);
        let list: Vec<Line> = self
            .candidates
            .iter()
            .take(SHOWN)
            .map(|c| {
                let text = fit(
                    &format!(" {}", sanitize(c)),
                    rect.width.saturating_sub(2) as usize,
                );
                Line::from(Span::styled(text, theme.dim()))
            })
            .collect();
        if shown > 0 {
            let sides = Borders::LEFT | Borders::RIGHT | Borders::BOTTOM;
            frame.render_widget(
                Paragraph::new(list).block(Block::new().borders(sides)),
                list_area,
            );
        }
        let title = fit(&title, rect.width.saturating_sub(2) as usize);
        self.editor.set_block(Block::bordered().title(title));
        frame.render_widget(&self.editor, input_area);
    }
}
