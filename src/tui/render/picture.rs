//! Pictures of finished jobs, above the details and on their own.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Block;

use crate::tui::app::App;

use super::theme::Theme;

/// Draws job `id`'s picture in `area` if it is ready, as large as the area allows at the
/// picture's own aspect and centred in it; whether it was ready.
pub(crate) fn render_picture(
    frame: &mut Frame,
    pictures: &mut crate::tui::picture::Pictures,
    id: u64,
    area: Rect,
) -> bool {
    match pictures.by_job.get_mut(&id) {
        #[cfg(feature = "preview")]
        Some(crate::tui::picture::Picture::Ready(protocol)) => {
            use ratatui_image::{Resize, StatefulImage};
            // Scaled up as well as down: a small thumbnail fills the large view.
            let resize = Resize::Scale(None);
            let size = protocol.size_for(resize.clone(), area.as_size());
            let width = size.width.min(area.width);
            let height = size.height.min(area.height);
            let centred = Rect {
                x: area.x + (area.width - width) / 2,
                y: area.y + (area.height - height) / 2,
                width,
                height,
            };
            frame.render_stateful_widget(
                StatefulImage::default().resize(resize),
                centred,
                protocol.as_mut(),
            );
            true
        }
        #[cfg(not(feature = "preview"))]
        Some(crate::tui::picture::Picture::Ready(never)) => {
            let _ = (frame, area);
            match **never {}
        }
        _ => false,
    }
}

/// The selected job's picture above its details, when there is one; the area left.
pub(crate) fn draw_detail_picture(
    frame: &mut Frame,
    app: &mut App,
    theme: &Theme,
    area: Rect,
) -> Rect {
    use crate::tui::picture::Picture;
    let Some(id) = app.queue.selected_id().filter(|_| app.server.is_none()) else {
        return area;
    };
    if !matches!(app.pictures.by_job.get(&id), Some(Picture::Ready(_))) {
        return area;
    }
    // A 16:9 picture across the pane, at most half its height.
    let rows = ((area.width.saturating_sub(2) as u32 * 9 / 32) as u16 + 2)
        .min(area.height / 2)
        .max(3);
    let [top, rest] = Layout::vertical([Constraint::Length(rows), Constraint::Min(1)]).areas(area);
    let block = Block::bordered()
        .title(super::layout::first_fitting(
            &[" Details — p: large ", " p: large ", ""],
            top.width.saturating_sub(2) as usize,
        ))
        .border_style(theme.dim());
    let inner = block.inner(top);
    frame.render_widget(block, top);
    render_picture(frame, &mut app.pictures, id, inner);
    rest
}
