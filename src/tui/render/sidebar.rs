//! The parameters pane.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::sanitize::sanitize;
use crate::tui::app::{App, Cost, Focus};
use crate::tui::form::{self, FIELDS};
use crate::units::format_units;

use super::layout::fit;
use super::theme::Theme;

pub(crate) fn draw_sidebar(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let focused = app.focus == Focus::Sidebar && app.popup.is_none();
    let mut lines = Vec::new();
    for (i, field) in FIELDS.iter().enumerate() {
        let value_width = (area.width as usize).saturating_sub(2 + 16);
        let value = fit(
            &sanitize(&form::value_text(&app.request, *field)),
            value_width,
        );
        let mut problems = field.problems(&app.problems).peekable();
        let marker = if problems.peek().is_some() {
            "⚠"
        } else {
            " "
        };
        let text = format!("{:<15}{marker}{value}", field.label());
        let style = if focused && i == app.field {
            theme.selected()
        } else if marker == "⚠" {
            theme.error()
        } else {
            Style::new()
        };
        lines.push(Line::from(Span::styled(text, style)));
        for p in problems {
            lines.push(Line::from(Span::styled(
                format!("  {}", sanitize(&p.message)),
                theme.error(),
            )));
        }
    }
    let cost = match &app.cost {
        Cost::Known(units) => Span::raw(format!("Cost: {} CU", format_units(*units))),
        Cost::Pending => Span::styled("Cost: estimating…", theme.dim()),
        Cost::Unknown => Span::styled("Cost: —", theme.dim()),
        Cost::Failed(e) => Span::styled(format!("Cost: ? ({})", sanitize(e)), theme.dim()),
    };
    lines.push(Line::from(""));
    lines.push(Line::from(cost));
    let block = Block::bordered()
        .title(" Parameters ")
        .border_style(theme.border(focused));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
