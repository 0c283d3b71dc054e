//! A job's picture, as large as the screen allows at its own aspect, centred.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::engine::LocalId;
use crate::tui::picture::Pictures;
use crate::tui::render::{Theme, render_picture};

pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, id: LocalId, pictures: &mut Pictures) {
    let inner = super::full_screen(frame, area, theme, &format!(" #{id} — any key closes "));
    render_picture(frame, pictures, id, inner);
}
