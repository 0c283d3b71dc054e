//! The status bar: host, spend, uploads, the last message or key hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::engine::Submission;
use crate::sanitize::sanitize;
use crate::tui::app::{App, Focus};
use crate::tui::keys::Scope;
use crate::units::format_units;

use super::theme::{BgIf, Theme};

pub(crate) fn draw_status(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let scope = match app.focus {
        Focus::Editor => Scope::Editor,
        Focus::Sidebar => Scope::Sidebar,
        Focus::Queue => Scope::Queue,
    };
    let uploading: Vec<String> = app
        .queue
        .jobs
        .values()
        .filter(|j| j.submission == Submission::Uploading)
        .map(|j| format!("#{} {}", j.local_id, j.state_word()))
        .collect();
    let mut spans = vec![
        Span::styled(
            format!(" {} ", sanitize(&app.host)),
            theme.fg(Color::Black).bg_if(theme, Color::Cyan),
        ),
        Span::raw(format!(" {} CU spent ", format_units(app.spent()))),
    ];
    if let Some(overview) = &app.overview {
        // Today's spend (UTC) as the engine counts it against max_spend_per_day.
        match overview.day_cap {
            Some(cap) => {
                let style = if overview.today >= cap - 1e-9 {
                    theme.error()
                } else if overview.today >= cap * 0.8 {
                    theme.fg(Color::Yellow)
                } else {
                    Style::new()
                };
                spans.push(Span::styled(
                    format!(
                        "· today {} of {} CU ",
                        format_units(overview.today),
                        format_units(cap)
                    ),
                    style,
                ));
            }
            None if overview.today > 0.0 => spans.push(Span::raw(format!(
                "· today {} CU ",
                format_units(overview.today)
            ))),
            None => {}
        }
    }
    if !uploading.is_empty() {
        spans.push(Span::styled(
            format!(" ⇡ {} ", uploading.join(", ")),
            theme.fg(Color::Yellow),
        ));
    }
    if let Some(reason) = &app.halted {
        // Stays until a refresh: nothing else matters while every request is stopped.
        spans.push(Span::styled(format!(" ⛔ {reason} "), theme.error()));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    match &app.message {
        Some((text, true)) => spans.push(Span::styled(format!(" {text} "), theme.error())),
        Some((text, false)) => spans.push(Span::raw(format!(" {text} "))),
        None => {
            let hints: Vec<String> = app
                .keymap
                .bindings_for(scope)
                .chain(app.keymap.bindings_for(Scope::Anywhere).take(2))
                .take(6)
                .map(|b| format!("{} {}", b.label(), b.help.split(' ').next().unwrap_or("")))
                .collect();
            spans.push(Span::styled(
                format!(" {}  ? help", hints.join("  ")),
                theme.dim(),
            ));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
