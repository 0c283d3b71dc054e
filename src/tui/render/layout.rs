//! Placing and cutting text: popups centred, cells cut to their width.

use ratatui::layout::Rect;
use unicode_width::UnicodeWidthStr;

/// Truncates to `width` columns, counting wide characters as two.
pub(crate) fn fit(text: &str, width: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if (out.as_str().width() + c.to_string().width()) > width {
            break;
        }
        out.push(c);
    }
    out
}

pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}
