//! The status bar: host, the focused pane, spend, uploads, then the last message or the
//! focused pane's keys, drawn from the key table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::engine::Submission;
use crate::sanitize::sanitize;
use crate::tui::app::{App, Focus};
use crate::tui::keys::{Action, PopupScope, Scope, popup_bindings};
use crate::units::format_units;
use unicode_width::UnicodeWidthStr;

use super::theme::{BgIf, Theme};

pub(crate) fn draw_status(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let scope = match app.focus {
        _ if app.sequences.is_some() => Scope::Sequences,
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
        Span::styled(
            format!(" {} ", pane_name(app)),
            theme.fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ),
        Span::raw("│"),
    ];
    if let Some(overview) = &app.overview {
        // What this ledger's jobs spent today (UTC), whoever made them, refunds left out:
        // what max_spend_per_day counts.
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
                        " today {} of {} CU spent ",
                        format_units(overview.today),
                        format_units(cap)
                    ),
                    style,
                ));
            }
            None => spans.push(Span::raw(format!(
                " today {} CU spent ",
                format_units(overview.today)
            ))),
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
            let used: usize = spans.iter().map(Span::width).sum();
            let room = (area.width as usize).saturating_sub(used + 1);
            spans.push(Span::styled(
                format!(" {}", hints(app, scope, room)),
                theme.dim(),
            ));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The job list's actions that work in the Server view too.
fn in_server_view(action: Action) -> bool {
    matches!(
        action,
        Action::Top
            | Action::Bottom
            | Action::Import
            | Action::Refresh
            | Action::Yank
            | Action::Filter
            | Action::Sort
    )
}

/// What the focused pane is called.
fn pane_name(app: &App) -> &'static str {
    match app.focus {
        _ if app.sequences.is_some() => "Sequences",
        _ if app.filtering => "Filter",
        Focus::Editor => "Prompt",
        Focus::Sidebar => "Parameters",
        Focus::Queue if app.server.is_some() => "Server",
        Focus::Queue => "Jobs",
    }
}

/// The focused pane's keys, then those that work everywhere, as many as `room` holds, and
/// always how to open the help: each `key hint`, from the key table.
pub(crate) fn hints(app: &App, scope: Scope, room: usize) -> String {
    const GAP: &str = "  ";
    let entry = |label: String, hint: &str| format!("{label} {hint}");
    if app.filtering {
        // Every other key types: no help key here.
        return popup_bindings(PopupScope::Filter)
            .map(|b| entry(b.label(), b.help.split(' ').next().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(GAP);
    }
    let mut entries: Vec<String> = {
        let outside = if scope == Scope::Editor {
            None
        } else {
            Some(Scope::OutsideEditor)
        };
        let mut bindings: Vec<_> = [Some(scope), Some(Scope::Anywhere), outside]
            .into_iter()
            .flatten()
            .flat_map(|s| app.keymap.bindings_for(s))
            .filter(|b| !b.help_action() && !b.action.hint().is_empty())
            .filter(|b| match &app.server {
                Some(_) => b.scope != Scope::Queue || in_server_view(b.action),
                None => b.action != Action::Import,
            })
            // The Sequence view takes its own keys, quitting and the help only.
            .filter(|b| {
                scope != Scope::Sequences
                    || b.scope == Scope::Sequences
                    || matches!(b.action, Action::Quit | Action::Sequences)
            })
            .collect();
        // The pane's own keys first (submitting is what the editor is for), each group by
        // use as the hint table orders them: what the room leaves out is used least.
        let own = |b: &crate::tui::keys::Bound| {
            b.scope == scope || (scope == Scope::Editor && b.action == Action::Submit)
        };
        bindings.sort_by_key(|b| (!own(b), b.action.hint_rank()));
        bindings
            .into_iter()
            .map(|b| entry(b.label(), b.action.hint()))
            .collect()
    };
    let filtered = match &app.server {
        Some(view) => !view.filter.is_empty(),
        None => !app.queue.filter.is_empty(),
    };
    if scope == Scope::Queue && filtered {
        // Esc is no binding of the table (it closes things everywhere) but clears a filter.
        entries.insert(0, entry("Esc".into(), "clear filter"));
    }
    // The help's keys where this pane is: `?` types in the editor, F1 never does.
    let help: Vec<String> = [scope, Scope::OutsideEditor, Scope::Anywhere]
        .into_iter()
        .filter(|s| *s != Scope::OutsideEditor || scope != Scope::Editor)
        .flat_map(|s| app.keymap.bindings_for(s))
        .filter(|b| b.help_action())
        .map(|b| b.label())
        .collect();
    let help = entry(help.join("/"), "help");
    let mut out = String::new();
    for e in entries {
        if out.width() + e.width() + GAP.width() * 2 + help.width() > room {
            continue;
        }
        if !out.contains(&e) {
            out.push_str(&e);
            out.push_str(GAP);
        }
    }
    out.push_str(&help);
    out
}
