//! The keys, drawn from the key tables so they never disagree with what the keys do: the
//! panes' keys a line each, and beside them (below them on narrow screens) each popup's keys,
//! packed a few to a line since they are shown in the popups too.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::tui::keys::{Keymap, PopupScope, Scope, popup_bindings};
use crate::tui::render::{Theme, centered};

/// The width of the panes' column, as the help always had.
const COLUMN: u16 = 78;
/// The popups' column goes beside the panes' only when it gets at least this.
const MIN_SIDE: u16 = 40;

fn title(theme: &Theme, text: &'static str) -> Line<'static> {
    Line::from(Span::styled(
        text,
        theme.fg(Color::Cyan).add_modifier(Modifier::BOLD),
    ))
}

fn pane_lines(theme: &Theme, keymap: &Keymap) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for scope in [
        Scope::Anywhere,
        Scope::OutsideEditor,
        Scope::Editor,
        Scope::Sidebar,
        Scope::Queue,
    ] {
        lines.push(title(theme, scope.title()));
        for b in keymap.bindings_for(scope) {
            lines.push(Line::from(format!("  {:<12} {}", b.label(), b.help)));
        }
    }
    lines
}

/// Each popup's keys as `key what` entries, as many to a line as `width` holds.
fn popup_lines(theme: &Theme, width: usize) -> Vec<Line<'static>> {
    const GAP: &str = "  ·  ";
    let mut lines = Vec::new();
    for scope in PopupScope::ALL {
        lines.push(title(theme, scope.title()));
        let mut line: Vec<Span> = vec![Span::raw("  ")];
        let mut used = 2;
        for b in popup_bindings(scope) {
            let entry = format!("{} {}", b.label(), b.help);
            if used > 2 && used + GAP.width() + entry.width() > width {
                lines.push(Line::from(std::mem::replace(
                    &mut line,
                    vec![Span::raw("  ")],
                )));
                used = 2;
            }
            if used > 2 {
                line.push(Span::styled(GAP, theme.dim()));
                used += GAP.width();
            }
            used += entry.width();
            line.push(Span::raw(entry));
        }
        lines.push(Line::from(line));
    }
    lines
}

pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap) {
    let panes = pane_lines(theme, keymap);
    let side = area.width.saturating_sub(COLUMN + 2).min(COLUMN);
    let block = Block::bordered().title(" Keys — any key closes ");
    if side >= MIN_SIDE {
        let popups = popup_lines(theme, side.saturating_sub(1) as usize);
        let rows = panes.len().max(popups.len()) as u16;
        let rect = centered(area, COLUMN + side, rows + 2);
        frame.render_widget(Clear, rect);
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        let [left, right] =
            Layout::horizontal([Constraint::Length(COLUMN - 2), Constraint::Min(1)])
                .spacing(1)
                .areas(inner);
        frame.render_widget(Paragraph::new(panes), left);
        frame.render_widget(Paragraph::new(popups), right);
    } else {
        let mut lines = panes;
        lines.extend(popup_lines(theme, COLUMN.saturating_sub(3) as usize));
        let height = (lines.len() as u16 + 2).min(area.height);
        let rect = centered(area, COLUMN, height);
        frame.render_widget(Clear, rect);
        frame.render_widget(Paragraph::new(lines).block(block), rect);
    }
}
