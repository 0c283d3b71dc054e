//! Editing a reference field: its files or asset ids as a list, each added with the path input
//! (Tab completes, offering the field's kind of file), replaced, removed or moved. An empty
//! field opens on the input; a field that takes one file closes once it is chosen.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::Outcome;
use super::path_input::{PathEvent, PathInput};
use crate::sanitize::sanitize;
use crate::tui::form::Field;
use crate::tui::keys::{PopupAction, PopupScope, popup_action, popup_bindings};
use crate::tui::render::{Theme, centered, fit};

/// What the typed path becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Add,
    Replace(usize),
}

pub struct FieldInput {
    pub field: Field,
    /// The field's files or asset ids, in order.
    pub items: Vec<String>,
    pub selected: usize,
    /// The path being typed.
    pub input: PathInput,
    /// What the input is for, while it is open.
    typing: Option<Target>,
}

impl FieldInput {
    pub fn new(field: Field, items: Vec<String>) -> Self {
        let typing = items.is_empty().then_some(Target::Add);
        Self {
            field,
            items,
            selected: 0,
            input: PathInput::for_role("", field.role()),
            typing,
        }
    }

    /// Whether the path input is open (else the list has the keys).
    pub fn typing(&self) -> bool {
        self.typing.is_some()
    }

    fn values(&self, close: bool) -> Outcome {
        Outcome::SetValues {
            field: self.field,
            values: self.items.clone(),
            close,
        }
    }

    fn start(&mut self, target: Target, text: &str) {
        self.input = PathInput::for_role(text, self.field.role());
        self.typing = Some(target);
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        if let Some(target) = self.typing {
            return match self.input.handle_key(key) {
                PathEvent::Editing => Outcome::Stay,
                PathEvent::Accepted(text) => self.accept(&text, target),
                PathEvent::Canceled => {
                    self.typing = None;
                    if self.items.is_empty() {
                        Outcome::Close
                    } else {
                        Outcome::Stay
                    }
                }
            };
        }
        let last = self.items.len().saturating_sub(1);
        match popup_action(PopupScope::References, &key) {
            Some(PopupAction::Close) => return Outcome::Close,
            Some(PopupAction::Prev) => self.selected = self.selected.saturating_sub(1),
            Some(PopupAction::Next) => self.selected = (self.selected + 1).min(last),
            Some(PopupAction::MoveEarlier) if self.selected > 0 && self.selected <= last => {
                self.items.swap(self.selected, self.selected - 1);
                self.selected -= 1;
                return self.values(false);
            }
            Some(PopupAction::MoveLater) if self.selected < last => {
                self.items.swap(self.selected, self.selected + 1);
                self.selected += 1;
                return self.values(false);
            }
            Some(PopupAction::Add) => {
                let most = self.field.capacity();
                if most > 1 && self.items.len() >= most {
                    return Outcome::Warn(format!(
                        "{} takes at most {most}: remove one first",
                        self.field.label()
                    ));
                }
                self.start(Target::Add, "");
            }
            Some(PopupAction::Edit) => {
                if let Some(item) = self.items.get(self.selected).cloned() {
                    self.start(Target::Replace(self.selected), &item);
                }
            }
            Some(PopupAction::Remove) if self.selected <= last && !self.items.is_empty() => {
                self.items.remove(self.selected);
                self.selected = self.selected.min(self.items.len().saturating_sub(1));
                return self.values(false);
            }
            _ => {}
        }
        Outcome::Stay
    }

    /// The typed text becomes the field's (several by commas, where the field takes several).
    fn accept(&mut self, text: &str, target: Target) -> Outcome {
        self.typing = None;
        let text = sanitize(text);
        let several = self.field.capacity() > 1;
        let new: Vec<String> = if several {
            text.split(',')
        } else {
            text.split('\n')
        }
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
        if new.is_empty() {
            return if self.items.is_empty() {
                Outcome::Close
            } else {
                Outcome::Stay
            };
        }
        match target {
            Target::Replace(i) if i < self.items.len() => {
                self.selected = i;
                self.items.splice(i..=i, new);
            }
            _ if !several => self.items = new,
            _ => {
                self.items.extend(new);
                self.selected = self.items.len() - 1;
            }
        }
        self.values(!several)
    }

    /// Pasted text goes to the input, which opens for it.
    pub fn paste(&mut self, text: &str) {
        if self.typing.is_none() {
            self.start(Target::Add, "");
        }
        self.input.paste(text);
    }

    pub fn draw(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let label = self.field.label();
        let most = self.field.capacity();
        let width: u16 = 74;
        let inner = width as usize - 2;
        let mut lines: Vec<Line> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let style = if i == self.selected && self.typing.is_none() {
                    theme.selected()
                } else {
                    Style::new()
                };
                Line::from(Span::styled(
                    fit(&format!("{}. {}", i + 1, sanitize(item)), inner),
                    style,
                ))
            })
            .collect();
        if lines.is_empty() {
            lines.push(Line::from(Span::styled("none yet", theme.dim())));
        }
        if self.typing.is_none() {
            let hints: Vec<String> = popup_bindings(PopupScope::References)
                .map(|b| format!("{} {}", b.label(), b.help))
                .collect();
            lines.push(Line::from(""));
            for line in wrap(&hints.join("  ·  "), inner) {
                lines.push(Line::from(Span::styled(line, theme.dim())));
            }
        }
        let list_height = lines.len() as u16 + 2;
        let input_height = if self.typing.is_some() {
            3 + self.input.candidates().len().min(8) as u16
        } else {
            0
        };
        let rect = centered(area, width, list_height + input_height);
        crate::tui::render::clear_popup(frame, rect);
        let [list_area, input_area] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(input_height)]).areas(rect);
        let title = if most > 1 {
            format!(" {label} — {} of {most} ", self.items.len())
        } else {
            format!(" {label} ")
        };
        frame.render_widget(
            Paragraph::new(lines).block(Block::bordered().title(title)),
            list_area,
        );
        if self.typing.is_some() {
            let title = format!(" {label}: a file (Tab completes) or an asset id ");
            self.input.draw(frame, input_area, theme, title);
        }
    }
}

/// `text` broken between words into lines of at most `width` columns.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            lines.push(std::mem::take(&mut line));
        } else if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}
