//! The prompt editor pane.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;

use crate::kling::MAX_PROMPT_CHARS;
use crate::sanitize::sanitize;
use crate::tui::app::{App, Focus};

use super::layout::fit;
use super::theme::Theme;

/// What the empty editor says.
pub const PLACEHOLDER: &str = "Describe the video… (<<<image_N>>> names a reference image)";

pub(crate) fn draw_editor(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let focused = app.focus == Focus::Editor && app.popup.is_none();
    let chars = app.prompt().chars().count();
    let counter_style = if chars > MAX_PROMPT_CHARS {
        theme.error()
    } else {
        theme.dim()
    };
    let prompt_problem = app
        .problems
        .iter()
        .find(|p| p.field == "prompt")
        .map(|p| sanitize(&p.message));
    let mut block = Block::bordered()
        .title(" Prompt ")
        .title(
            Line::from(Span::styled(
                format!(" {chars}/{MAX_PROMPT_CHARS} "),
                counter_style,
            ))
            .alignment(Alignment::Right),
        )
        .border_style(theme.border(focused));
    if let Some(problem) = prompt_problem {
        block = block.title_bottom(Line::from(Span::styled(
            fit(
                &format!(" ⚠ {problem} "),
                area.width.saturating_sub(2) as usize,
            ),
            theme.error(),
        )));
    }
    app.editor.set_block(block);
    // The hint on one line: the editor does not wrap it, so it is cut to fit with `…`.
    app.editor
        .set_placeholder_text(fit(PLACEHOLDER, area.width.saturating_sub(3) as usize));
    let cursor = if focused {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new()
    };
    app.editor.set_cursor_style(cursor);
    app.editor.set_cursor_line_style(Style::new());
    frame.render_widget(&app.editor, area);
}
