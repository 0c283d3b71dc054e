//! The prompt history as a popup: type to search, Enter fills the editor.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Outcome;
use crate::sanitize::sanitize;
use crate::tui::history::PromptSearch;
use crate::tui::keys::{PopupAction, PopupScope, popup_action};
use crate::tui::render::{
    Theme, centered, first_fitting, fit, highlighted, match_style, popup_frame, width_of,
};

impl PromptSearch {
    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        match popup_action(PopupScope::History, &key) {
            Some(PopupAction::Close) => return Outcome::Close,
            Some(PopupAction::ForceQuit) => return Outcome::ForceQuit,
            Some(action @ (PopupAction::Fill | PopupAction::FillWithParameters)) => {
                if let Some(entry) = self.selected_entry().cloned() {
                    return Outcome::Fill {
                        entry,
                        with_parameters: action == PopupAction::FillWithParameters,
                    };
                }
            }
            Some(PopupAction::Prev) => self.move_by(-1),
            Some(PopupAction::Next) => self.move_by(1),
            Some(PopupAction::PagePrev) => self.move_by(1 - self.page.max(2) as isize),
            Some(PopupAction::PageNext) => self.move_by(self.page.max(2) as isize - 1),
            Some(PopupAction::First) => self.selected = 0,
            Some(PopupAction::Last) => self.select_last(),
            Some(PopupAction::ClearQuery) => self.set_query(String::new()),
            Some(PopupAction::DeleteChar) => {
                let mut query = self.query.clone();
                query.pop();
                self.set_query(query);
            }
            // Every other letter searches.
            _ => {
                if let KeyCode::Char(c) = key.code
                    && !key.modifiers.contains(KeyModifiers::CONTROL)
                {
                    let query = format!("{}{c}", self.query);
                    self.set_query(query);
                }
            }
        }
        Outcome::Stay
    }

    /// The query, then the best matches with their mode, length, date and how their latest
    /// job ended.
    pub fn draw(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let width = area.width.saturating_sub(4).min(140);
        let height = area.height.saturating_sub(2).min(30);
        let rect = centered(area, width, height);
        let (width, height) = (rect.width, rect.height);
        let inner_width = width.saturating_sub(2) as usize;
        let list_rows = (height as usize).saturating_sub(5).max(1);
        self.page = list_rows;
        let mut lines: Vec<Line> = Vec::new();
        let count = match self.pending {
            Some(_) => "reading the ledger…".to_string(),
            None => format!("{} of {} prompts", self.matches.len(), self.len()),
        };
        // The end of a long query shows, where the typing is.
        let query = format!("{}▏", sanitize(&self.query));
        let count = format!("  {count}");
        let room = inner_width.saturating_sub(2);
        let query = if width_of(&query) > room {
            let tail: String = query.chars().rev().collect();
            fit(&tail, room).chars().rev().collect()
        } else {
            query
        };
        let count = fit(&count, room.saturating_sub(width_of(&query)));
        lines.push(Line::from(vec![
            Span::styled("› ", theme.fg(Color::Cyan)),
            Span::raw(query),
            Span::styled(count, theme.dim()),
        ]));
        lines.push(Line::from(""));
        let skip = self.selected.saturating_sub(list_rows.saturating_sub(1));
        for i in (skip..self.matches.len()).take(list_rows) {
            let Some(entry) = self.entry(i).cloned() else {
                break;
            };
            let r = &entry.request;
            let when = entry
                .created_at
                .parse::<jiff::Timestamp>()
                .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            let head = format!(
                "{when:<16} {:<10} {:<8} {:>2}s  ",
                fit(&sanitize(&entry.state), 10),
                r.mode.as_str(),
                r.duration
            );
            let head = fit(&head, inner_width);
            let one_line = sanitize(&r.prompt.replace('\n', " "));
            let style = if i == self.selected {
                theme.selected()
            } else {
                Style::new()
            };
            let mut line = vec![Span::styled(head.clone(), style.patch(theme.dim()))];
            line.extend(prompt_spans(
                &one_line,
                &self.positions(&one_line),
                inner_width.saturating_sub(width_of(&head)),
                style,
                theme,
            ));
            lines.push(Line::from(line));
        }
        if self.pending.is_none() && self.matches.is_empty() {
            lines.push(Line::from(Span::styled(
                if self.is_empty() {
                    "No prompt in the ledger yet."
                } else {
                    "No prompt matches."
                },
                theme.dim(),
            )));
        }
        while lines.len() < list_rows + 2 {
            lines.push(Line::from(""));
        }
        lines.push(Line::from(Span::styled(
            first_fitting(
                &[
                    "Enter fill the editor   Alt+Enter with its parameters   ↑/↓ choose   Esc close",
                    "Enter fill  Alt+Enter with parameters  ↑/↓ choose  Esc close",
                    "Enter fill  Esc close",
                ],
                inner_width,
            ),
            theme.dim(),
        )));
        let title = first_fitting(
            &[
                " Prompt history — type to search: words in any order, letters may be left out ",
                " Prompt history — type to search ",
                " Prompt history ",
            ],
            inner_width,
        );
        let inner = popup_frame(frame, rect, &title, theme.fg(Color::Cyan));
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

/// A prompt in the list, cut to `width`: the one place a match's text is drawn, so a
/// highlight of what the search matched goes here.
fn prompt_spans(
    prompt: &str,
    found: &[usize],
    width: usize,
    style: Style,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let shown = fit(prompt, width);
    // The letters the search found, marked where they are shown: none in a cut-off tail,
    // nor on the `…` that stands for it.
    let kept = prompt.chars().count().min(shown.chars().count());
    let kept = if shown.len() < prompt.len() {
        kept.saturating_sub(1)
    } else {
        kept
    };
    let found: Vec<usize> = found.iter().copied().filter(|at| *at < kept).collect();
    highlighted(&shown, &found, style, style.patch(match_style(theme))).spans
}
