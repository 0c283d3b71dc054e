//! The multi-shot editor: the shots of a multi-prompt request, their order, lengths and
//! prompts. It edits the request's shots in place; the app checks and prices them again.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui_textarea::TextArea;

use super::Outcome;
use super::path_input::line_editor;
use crate::kling::{KlingRequest, Problem, Shot};
use crate::sanitize::sanitize;
use crate::tui::form::describe;
use crate::tui::keys::{PopupAction, PopupScope, popup_action};
use crate::tui::render::{Theme, centered, fit};
use crate::units::count;

/// Shots a request may have at most.
const MAX_SHOTS: usize = 6;

#[derive(Default)]
pub struct Shots {
    pub selected: usize,
    /// A shot's prompt while it is being typed.
    pub editing: Option<TextArea<'static>>,
}

impl Shots {
    // One arm per action, each with its own condition, is the readable shape here.
    #[allow(clippy::collapsible_match)]
    pub fn handle_key(&mut self, key: KeyEvent, request: &mut KlingRequest) -> Outcome {
        let duration = request.duration;
        let shots = request.multi_prompt.get_or_insert_with(Vec::new);
        let selected = self.selected;
        if let Some(editor) = &mut self.editing {
            return match popup_action(PopupScope::ShotPrompt, &key) {
                Some(PopupAction::Accept) => {
                    if let Some(shot) = shots.get_mut(selected) {
                        shot.prompt = sanitize(&editor.lines().join(" "));
                    }
                    self.editing = None;
                    Outcome::Changed
                }
                Some(PopupAction::Close) => {
                    self.editing = None;
                    Outcome::Stay
                }
                _ => {
                    editor.input(key);
                    Outcome::Stay
                }
            };
        }
        let mut edited = false;
        match popup_action(PopupScope::Shots, &key) {
            Some(PopupAction::Close) => return Outcome::Close,
            Some(PopupAction::MoveEarlier) => {
                if selected > 0 && selected < shots.len() {
                    shots.swap(selected, selected - 1);
                    self.selected -= 1;
                    edited = true;
                }
            }
            Some(PopupAction::MoveLater) => {
                if selected + 1 < shots.len() {
                    shots.swap(selected, selected + 1);
                    self.selected += 1;
                    edited = true;
                }
            }
            Some(PopupAction::Prev) => self.selected = selected.saturating_sub(1),
            Some(PopupAction::Next) => {
                self.selected = (selected + 1).min(shots.len().saturating_sub(1))
            }
            Some(PopupAction::Shorter) => {
                if let Some(shot) = shots.get_mut(selected) {
                    shot.duration = shot.duration.saturating_sub(1).max(1);
                    edited = true;
                }
            }
            Some(PopupAction::Longer) => {
                if let Some(shot) = shots.get_mut(selected) {
                    shot.duration = (shot.duration + 1).min(15);
                    edited = true;
                }
            }
            Some(PopupAction::Add) => {
                if shots.len() < MAX_SHOTS {
                    let used: u32 = shots.iter().map(|s| s.duration).sum();
                    let left = duration.saturating_sub(used).max(1);
                    shots.push(Shot {
                        prompt: String::new(),
                        duration: left,
                    });
                    self.selected = shots.len() - 1;
                    self.editing = Some(line_editor(""));
                    edited = true;
                }
            }
            Some(PopupAction::Remove) => {
                if selected < shots.len() {
                    shots.remove(selected);
                    self.selected = selected.min(shots.len().saturating_sub(1));
                    edited = true;
                }
                // No shot left is no multi-shot: a single prompt again, which can be sent.
                if shots.is_empty() {
                    return Outcome::MultiShotOff;
                }
            }
            Some(PopupAction::TurnOff) => return Outcome::MultiShotOff,
            Some(PopupAction::Edit) => {
                if let Some(shot) = shots.get(selected) {
                    self.editing = Some(line_editor(&shot.prompt));
                }
            }
            Some(PopupAction::FitDuration) => {
                // Make the video as long as the shots.
                let total: u32 = shots.iter().map(|s| s.duration).sum();
                request.duration = total.clamp(3, 15);
                edited = true;
            }
            _ => {}
        }
        if edited {
            Outcome::Changed
        } else {
            Outcome::Stay
        }
    }

    pub fn paste(&mut self, text: &str) {
        if let Some(editor) = &mut self.editing {
            editor.insert_str(sanitize(text));
        }
    }

    pub fn draw(
        &mut self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        request: &KlingRequest,
        problems: &[Problem],
    ) {
        let shots = request.multi_prompt.clone().unwrap_or_default();
        let total: u32 = shots.iter().map(|s| s.duration).sum();
        let mut lines = Vec::new();
        for (i, shot) in shots.iter().enumerate() {
            let text = format!(
                "{}. {:>2} s  {}",
                i + 1,
                shot.duration,
                if shot.prompt.trim().is_empty() {
                    "(empty prompt)".to_string()
                } else {
                    sanitize(&shot.prompt)
                }
            );
            let style = if i == self.selected {
                theme.selected()
            } else {
                Style::new()
            };
            lines.push(Line::from(Span::styled(fit(&text, 74), style)));
        }
        if shots.is_empty() {
            lines.push(Line::from(Span::styled(
                "no shots: press a to add one",
                theme.dim(),
            )));
        }
        lines.push(Line::from(""));
        let total_style = if total == request.duration {
            theme.fg(Color::Green)
        } else {
            theme.error()
        };
        lines.push(Line::from(Span::styled(
            format!(
                "total {total} s of {} s ({} of {MAX_SHOTS})",
                request.duration,
                count(shots.len(), "shot")
            ),
            total_style,
        )));
        for p in problems
            .iter()
            .filter(|p| p.field.starts_with("multiPrompt"))
        {
            lines.push(Line::from(Span::styled(
                format!("⚠ {}", sanitize(&describe(p))),
                theme.error(),
            )));
        }
        lines.push(Line::from(Span::styled(
            "a add  x remove  Enter edit  ←/→ secs  J/K move  = fit  o off  Esc close",
            theme.dim(),
        )));
        let editing = self.editing.is_some();
        let height = lines.len() as u16 + 2 + if editing { 3 } else { 0 };
        let rect = centered(area, 78, height);
        crate::tui::render::clear_popup(frame, rect);
        let [list, input] = Layout::vertical([
            Constraint::Min(1),
            Constraint::Length(if editing { 3 } else { 0 }),
        ])
        .areas(rect);
        frame.render_widget(
            Paragraph::new(lines).block(Block::bordered().title(" Multi-shot ")),
            list,
        );
        if let Some(editor) = &mut self.editing {
            editor.set_block(Block::bordered().title(" Shot prompt — Enter to keep, Esc to drop "));
            frame.render_widget(&*editor, input);
        }
    }
}
