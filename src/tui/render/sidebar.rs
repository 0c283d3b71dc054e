//! The parameters pane: a line per field, its problems wrapped under it, the cost pinned at
//! the bottom. When the problems stack past the pane's height the fields scroll, keeping the
//! selected one (and its problems) in view.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::sanitize::sanitize;
use crate::tui::app::{App, Cost, Focus};
use crate::tui::form::{self, FIELDS};
use crate::units::format_units;

use super::layout::{fit, wrap};
use super::theme::Theme;

/// Columns of a field's label and its problem marker.
const LABEL: usize = 15;

/// The fields' lines, and for each field the range of lines it takes (itself and its problems).
fn field_lines(
    app: &App,
    theme: &Theme,
    width: usize,
    focused: bool,
) -> (Vec<Line<'static>>, Vec<(usize, usize)>) {
    let mut lines = Vec::new();
    let mut spans = Vec::new();
    for (i, field) in FIELDS.iter().enumerate() {
        let start = lines.len();
        let value = fit(
            &sanitize(&form::value_text(&app.request, *field)),
            width.saturating_sub(LABEL + 1),
        );
        let mut problems = field.problems(&app.problems).peekable();
        let marker = if problems.peek().is_some() {
            "⚠"
        } else {
            " "
        };
        let text = fit(
            &format!("{:<width$}{marker}{value}", field.label(), width = LABEL),
            width,
        );
        let style = if focused && i == app.field {
            theme.selected()
        } else if marker == "⚠" {
            theme.error()
        } else {
            Style::new()
        };
        lines.push(Line::from(Span::styled(text, style)));
        for p in problems {
            for part in wrap(&sanitize(&p.message), width.saturating_sub(2)) {
                lines.push(Line::from(Span::styled(format!("  {part}"), theme.error())));
            }
        }
        spans.push((start, lines.len()));
    }
    (lines, spans)
}

fn cost_line(app: &App, theme: &Theme, width: usize) -> Line<'static> {
    let (text, style) = match &app.cost {
        Cost::Known(units) => (format!("Cost: {} CU", format_units(*units)), Style::new()),
        Cost::Pending => ("Cost: estimating…".into(), theme.dim()),
        Cost::Unknown => ("Cost: —".into(), theme.dim()),
        Cost::Failed(e) => (format!("Cost: ? ({})", sanitize(e)), theme.dim()),
    };
    Line::from(Span::styled(fit(&text, width), style))
}

/// The rows the pane would take to show everything, borders included, at `width` columns.
pub(crate) fn sidebar_height(app: &App, width: u16) -> u16 {
    let theme = Theme { color: false };
    let (lines, _) = field_lines(app, &theme, width.saturating_sub(2) as usize, false);
    // The fields, a blank line, the cost, the borders.
    (lines.len() + 4).min(u16::MAX as usize) as u16
}

pub(crate) fn draw_sidebar(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let focused = app.focus == Focus::Sidebar && app.popup.is_none();
    let width = area.width.saturating_sub(2) as usize;
    let height = area.height.saturating_sub(2) as usize;
    let (fields, spans) = field_lines(app, theme, width, focused);
    // The cost stays in view, after a blank line when there is room for one.
    let pinned = if height > fields.len() + 1 || height >= 6 {
        2
    } else {
        1
    };
    let rows = height.saturating_sub(pinned);
    let (from, to) = spans.get(app.field).copied().unwrap_or((0, 0));
    // Scrolled just enough to show the selected field's last line, never past its first.
    let skip = (to.saturating_sub(rows))
        .min(from)
        .min(fields.len().saturating_sub(rows));
    let below = fields.len().saturating_sub(skip + rows);
    let mut lines: Vec<Line> = fields.into_iter().skip(skip).take(rows).collect();
    if skip > 0 || below > 0 {
        // Scrolled: the cost at the foot of the pane, where it always is then.
        while lines.len() < rows {
            lines.push(Line::from(""));
        }
    }
    if pinned == 2 {
        lines.push(Line::from(""));
    }
    lines.push(cost_line(app, theme, width));
    let mut block = Block::bordered()
        .title(" Parameters ")
        .border_style(theme.border(focused));
    // What is scrolled out of view, on the bottom border.
    if skip > 0 || below > 0 {
        let mut more = Vec::new();
        if skip > 0 {
            more.push(format!("↑{skip}"));
        }
        if below > 0 {
            more.push(format!("↓{below}"));
        }
        block = block.title_bottom(
            Line::from(Span::styled(
                fit(&format!(" {} more ", more.join(" ")), width),
                theme.dim(),
            ))
            .alignment(Alignment::Right),
        );
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
