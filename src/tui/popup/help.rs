//! The keys, drawn from the key tables so they never disagree with what the keys do: every
//! pane's keys, then every popup's, a section each, wrapped to the screen and set in as many
//! columns as it holds; scrolled with j/k, PgUp/PgDn and g/G when they are more than a screen.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::Outcome;
use crate::tui::keys::{
    BINDINGS, Keymap, PopupAction, PopupScope, Scope, popup_action, popup_bindings,
};
use crate::tui::render::{Theme, first_fitting, fit, pad, width_of, wrap};

/// A column of sections is at least this wide; the help takes as many as fit.
const MIN_COLUMN: usize = 56;
/// The keys' column at most; longer keys push their text along.
const KEY_WIDTH: usize = 16;
/// Between columns.
const GAP: usize = 3;

/// The help's place in its text, kept between keys.
#[derive(Debug, Default)]
pub struct Help {
    /// The first row shown.
    pub scroll: usize,
    /// Rows on screen and the most `scroll` may be, as last drawn.
    page: usize,
    last: usize,
}

impl Help {
    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        let page = self.page.max(1);
        match popup_action(PopupScope::Help, &key) {
            Some(PopupAction::ForceQuit) => return Outcome::ForceQuit,
            Some(PopupAction::Next) => self.scroll += 1,
            Some(PopupAction::Prev) => self.scroll = self.scroll.saturating_sub(1),
            Some(PopupAction::PageNext) => self.scroll += page,
            Some(PopupAction::PagePrev) => self.scroll = self.scroll.saturating_sub(page),
            Some(PopupAction::First) => self.scroll = 0,
            Some(PopupAction::Last) => self.scroll = usize::MAX,
            _ => return Outcome::Close,
        }
        // Until it is drawn the end is not known; drawing keeps it in bounds.
        if self.page > 0 {
            self.scroll = self.scroll.min(self.last);
        }
        Outcome::Stay
    }

    pub fn draw(&mut self, frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap) {
        let room = area.width.saturating_sub(2) as usize;
        let title = first_fitting(
            &[
                " Keys — j/k scroll · PgUp/PgDn a page · g/G the ends · other keys close ",
                " Keys — j/k scroll · other keys close ",
                " Keys ",
            ],
            room,
        );
        let block = Block::bordered()
            .title(title)
            .border_style(theme.fg(Color::Cyan));
        let inner = block.inner(area);
        let width = inner.width as usize;
        let columns = (width / MIN_COLUMN).clamp(1, 4);
        let column_width = (width + GAP) / columns - GAP;
        let rows = layout_rows(sections(theme, keymap, column_width), columns, column_width);
        self.page = inner.height as usize;
        self.last = rows.len().saturating_sub(self.page);
        self.scroll = self.scroll.min(self.last);
        // Where the view is, on the bottom border, when there is more than a screen.
        let block = if self.last > 0 {
            let total = self.last + self.page;
            let place = format!(
                " {}–{} of {} ",
                self.scroll + 1,
                (self.scroll + self.page).min(total),
                total
            );
            block.title_bottom(
                Line::from(Span::styled(fit(&place, room), theme.dim()))
                    .alignment(Alignment::Right),
            )
        } else {
            block
        };
        frame.render_widget(Clear, area);
        frame.render_widget(block, area);
        let shown: Vec<Line> = rows.into_iter().skip(self.scroll).take(self.page).collect();
        frame.render_widget(Paragraph::new(shown), inner);
    }
}

fn heading(theme: &Theme, text: &str, width: usize) -> Line<'static> {
    Line::from(Span::styled(
        fit(text, width),
        theme.fg(Color::Cyan).add_modifier(Modifier::BOLD),
    ))
}

/// One key and what it does: the key in its column, the text wrapped beside it.
fn entry(label: &str, help: &str, width: usize) -> Vec<Line<'static>> {
    let key_width = KEY_WIDTH.max(width_of(label).min(width.saturating_sub(12)));
    let text_width = width.saturating_sub(2 + key_width + 1).max(8);
    let mut lines = Vec::new();
    for (n, part) in wrap(help, text_width).into_iter().enumerate() {
        let key = if n == 0 { label } else { "" };
        lines.push(Line::from(fit(
            &format!("  {} {part}", pad(key, key_width)),
            width,
        )));
    }
    lines
}

/// Every scope of the key table in the table's order (a scope added to the table is listed
/// without a word here), then every popup's.
fn sections(theme: &Theme, keymap: &Keymap, width: usize) -> Vec<Vec<Line<'static>>> {
    let mut scopes: Vec<Scope> = Vec::new();
    for b in BINDINGS {
        if !scopes.contains(&b.scope) {
            scopes.push(b.scope);
        }
    }
    let mut sections = Vec::new();
    for scope in scopes {
        let mut lines = vec![heading(theme, scope.title(), width)];
        for b in keymap.bindings_for(scope) {
            lines.extend(entry(&b.label(), b.help, width));
        }
        sections.push(lines);
    }
    for scope in PopupScope::ALL {
        let mut lines = vec![heading(theme, scope.title(), width)];
        for b in popup_bindings(scope) {
            lines.extend(entry(&b.label(), b.help, width));
        }
        sections.push(lines);
    }
    sections
}

/// The sections set in `columns` columns, a section never split, the columns about as long as
/// each other; the rows of the whole, each as wide as the help.
fn layout_rows(
    sections: Vec<Vec<Line<'static>>>,
    columns: usize,
    column_width: usize,
) -> Vec<Line<'static>> {
    let total: usize = sections.iter().map(|s| s.len() + 1).sum();
    let target = total.div_ceil(columns);
    let mut set: Vec<Vec<Line<'static>>> = vec![Vec::new()];
    for section in sections {
        let current = set.last().map_or(0, Vec::len);
        if current > 0 && current + section.len() > target && set.len() < columns {
            set.push(Vec::new());
        }
        if let Some(column) = set.last_mut() {
            if !column.is_empty() {
                column.push(Line::from(""));
            }
            column.extend(section);
        }
    }
    let height = set.iter().map(Vec::len).max().unwrap_or(0);
    (0..height)
        .map(|row| {
            let mut spans: Vec<Span<'static>> = Vec::new();
            for (n, column) in set.iter().enumerate() {
                if n > 0 {
                    spans.push(Span::raw(" ".repeat(GAP)));
                }
                let line = column.get(row).cloned().unwrap_or_default();
                let used = line.width();
                let style = line.style;
                spans.extend(line.spans.into_iter().map(|s| s.patch_style(style)));
                spans.push(Span::raw(" ".repeat(column_width.saturating_sub(used))));
            }
            Line::from(spans)
        })
        .collect()
}
