//! A job's picture, as large as the screen allows.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::{Block, Clear};

use crate::engine::LocalId;
use crate::tui::picture::Pictures;
use crate::tui::render::{Theme, render_picture};

pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, id: LocalId, pictures: &mut Pictures) {
    let rect = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(format!(" #{id} — any key closes "))
        .border_style(theme.fg(Color::Cyan));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    render_picture(frame, pictures, id, inner);
}
