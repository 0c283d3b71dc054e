//! Drawing: a pure function of the app's state onto a frame. Everything shown that came from
//! the server, the ledger or the user is sanitized on the way in.

mod columns;
mod detail;
mod editor;
mod highlight;
mod jobs;
mod layout;
mod picture;
mod queue;
mod sequences;
mod server;
mod sidebar;
mod status;
mod theme;

pub use editor::PLACEHOLDER;
pub(crate) use highlight::{highlighted, match_style};
pub(crate) use jobs::short_id;
pub use layout::{MARGIN_X, MARGIN_Y, centered, first_fitting, fit, pad, width_of, wrap};
pub(crate) use layout::{clear_popup, popup_frame};
pub(crate) use picture::render_picture;
pub use theme::Theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::app::{App, Focus};
use crate::tui::popup::DrawContext;

use self::detail::draw_detail;
use self::editor::draw_editor;
use self::picture::draw_detail_picture;
use self::queue::draw_queue;
use self::sidebar::{draw_sidebar, sidebar_height};
use self::status::draw_status;

/// Below this the app shows a notice instead of a broken layout.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 14;

/// The parameters and details column, by the screen's width: on a very wide screen the
/// details get some of the room too, not only the job list.
fn sidebar_width(width: u16) -> u16 {
    match width {
        180.. => 46,
        120.. => 38,
        _ => 32,
    }
}

pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    let theme = Theme {
        color: !app.no_color,
    };
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "terminal too small: need {MIN_WIDTH}×{MIN_HEIGHT}, have {}×{}",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .style(theme.error()),
            area,
        );
        return;
    }
    let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    if app.sequences.is_some() {
        // In place of every pane, as large as the screen.
        sequences::draw_sequences(frame, app, &theme, main);
    } else if area.width >= 80 && area.height >= 24 {
        let sidebar_width = sidebar_width(area.width);
        let [left, right] =
            Layout::horizontal([Constraint::Min(30), Constraint::Length(sidebar_width)])
                .areas(main);
        let editor_height = if area.height >= 40 { 10 } else { 7 };
        let [editor, queue] =
            Layout::vertical([Constraint::Length(editor_height), Constraint::Min(3)]).areas(left);
        // As tall as the parameters and their problems, leaving the details five rows; the
        // parameters scroll beyond that.
        let sidebar_height = sidebar_height(app, sidebar_width).min(right.height.saturating_sub(5));
        let [sidebar, detail] =
            Layout::vertical([Constraint::Length(sidebar_height), Constraint::Min(3)]).areas(right);
        draw_editor(frame, app, &theme, editor);
        // The list's height, for the app's page keys.
        app.list_rows = queue.height.saturating_sub(2) as usize;
        draw_queue(frame, app, &theme, queue);
        draw_sidebar(frame, app, &theme, sidebar);
        let detail = draw_detail_picture(frame, app, &theme, detail);
        draw_detail(frame, app, &theme, detail);
    } else {
        // Narrow: the editor, then the focused one of sidebar and queue; no detail pane.
        let [editor, lower] =
            Layout::vertical([Constraint::Length(5), Constraint::Min(3)]).areas(main);
        draw_editor(frame, app, &theme, editor);
        if app.focus == Focus::Sidebar {
            draw_sidebar(frame, app, &theme, lower);
        } else {
            app.list_rows = lower.height.saturating_sub(2) as usize;
            draw_queue(frame, app, &theme, lower);
        }
    }
    draw_status(frame, app, &theme, status);
    draw_overlay(frame, app);
}

/// The open popup alone, over what the frame holds: the panes, or in tests a background that
/// shows what a popup failed to cover. Popups take the screen but its status bar, which goes
/// on telling what happens.
pub fn draw_overlay(frame: &mut Frame, app: &mut App) {
    let theme = Theme {
        color: !app.no_color,
    };
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return;
    }
    let [main, _status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    if app.popup.is_none() {
        return;
    }
    draw_popup(frame, app, &theme, main);
    mend_wide_characters(frame.buffer_mut());
}

/// A wide character of a pane just left of a popup would spill over the popup's border (and
/// the terminal would never be sent the border's cell): it gives way to a blank.
fn mend_wide_characters(buffer: &mut ratatui::buffer::Buffer) {
    use unicode_width::UnicodeWidthStr;
    let area = buffer.area;
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right().saturating_sub(1) {
            if buffer[(x, y)].symbol().width() > 1 && buffer[(x + 1, y)].symbol() != " " {
                buffer[(x, y)].set_symbol(" ");
            }
        }
    }
}

fn draw_popup(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let App {
        popup: Some(popup),
        keymap,
        request,
        problems,
        pictures,
        queue,
        overview,
        ..
    } = app
    else {
        return;
    };
    let cx = DrawContext {
        keymap,
        request,
        problems,
        pictures,
        jobs: &queue.jobs,
        overview: overview.as_ref(),
    };
    popup.draw(frame, area, theme, cx);
}
