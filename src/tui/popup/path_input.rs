//! The one text input for paths, as gitui's `textinput`: every field and popup that takes a
//! path uses it, so Tab completion, its list of choices and the keys are the same everywhere.
//! Tab completes as far as the choices agree and lists them; Tab again steps through them
//! (Shift+Tab back), as zsh's menu completion does.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui_textarea::{CursorMove, TextArea};

use crate::media::Role;
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
    /// Only files of this kind are offered (and folders); any file without one.
    role: Option<Role>,
    /// Paths that complete what is typed, after a Tab that had several.
    candidates: Vec<String>,
    /// What every choice follows.
    base: String,
    /// The choice in the text, once Tab stepped to one.
    chosen: Option<usize>,
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
            role: None,
            candidates: Vec::new(),
            base: String::new(),
            chosen: None,
        }
    }

    /// An input whose completion offers only files for `role`.
    pub fn for_role(text: &str, role: Option<Role>) -> Self {
        Self {
            role,
            ..Self::new(text)
        }
    }

    pub fn text(&self) -> String {
        self.editor.lines().join(" ")
    }

    pub fn candidates(&self) -> &[String] {
        &self.candidates
    }

    /// The listed choice now in the text, if Tab stepped to one.
    pub fn chosen(&self) -> Option<usize> {
        self.chosen
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> PathEvent {
        match popup_action(PopupScope::PathInput, &key) {
            Some(PopupAction::Accept) => PathEvent::Accepted(self.text()),
            Some(PopupAction::Close | PopupAction::ForceQuit) => PathEvent::Canceled,
            Some(PopupAction::Complete) => {
                self.complete(true);
                PathEvent::Editing
            }
            Some(PopupAction::CompletePrev) => {
                self.complete(false);
                PathEvent::Editing
            }
            _ => {
                self.editor.input(key);
                self.forget_choices();
                PathEvent::Editing
            }
        }
    }

    /// Completes the text, or with choices listed, puts the next (or previous) one in it.
    fn complete(&mut self, forward: bool) {
        let n = self.candidates.len();
        if n > 0 {
            let next = match (self.chosen, forward) {
                (None, true) => 0,
                (None, false) => n - 1,
                (Some(i), true) => (i + 1) % n,
                (Some(i), false) => (i + n - 1) % n,
            };
            self.chosen = Some(next);
            self.editor = line_editor(&format!("{}{}", self.base, self.candidates[next]));
            return;
        }
        let completion = complete_path(&self.text(), self.role);
        self.editor = line_editor(&completion.text);
        self.candidates = completion.candidates;
        self.base = completion.base;
        self.chosen = None;
    }

    fn forget_choices(&mut self) {
        self.candidates.clear();
        self.chosen = None;
    }

    pub fn paste(&mut self, text: &str) {
        self.editor.insert_str(sanitize(text));
        self.forget_choices();
    }

    /// Draws the input centred in `area` under `title`, its choices below it.
    pub fn draw(&mut self, frame: &mut Frame, area: Rect, theme: &Theme, title: String) {
        let shown = self.candidates.len().min(SHOWN);
        // The choices in a box of their own under the input's, closed at the bottom.
        let rect = centered(area, 70, 3 + if shown > 0 { shown as u16 + 1 } else { 0 });
        crate::tui::render::clear_popup(frame, rect);
        let [input_area, list_area] =
            Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(rect);
        // The window of choices keeps the chosen one in sight.
        let first = self
            .chosen
            .map_or(0, |i| (i + 1).saturating_sub(shown))
            .min(self.candidates.len().saturating_sub(shown));
        let width = rect.width.saturating_sub(2) as usize;
        let list: Vec<Line> = self
            .candidates
            .iter()
            .enumerate()
            .skip(first)
            .take(shown)
            .map(|(i, c)| {
                let style = if self.chosen == Some(i) {
                    theme.selected()
                } else {
                    theme.dim()
                };
                let text = fit(&format!("  {}", sanitize(c)), width);
                Line::from(Span::styled(text, style))
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
