//! The details pane: everything known of the selected job or batch.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::engine::Submission;
use crate::sanitize::sanitize;
use crate::tui::app::App;
use crate::units::{format_units, human_bytes};

use super::jobs::{short_time, status_style};
use super::layout::wrap_lines;
use super::server::server_detail;
use super::theme::Theme;

/// What the details pane says of a batch whose header is selected.
pub(crate) fn batch_detail(app: &App, theme: &Theme, name: &str) -> Vec<Line<'static>> {
    let summary = app.queue.batch_summary(name);
    let finished = summary.succeeded + summary.failed + summary.canceled;
    let mut lines = vec![
        Line::from(Span::styled(
            format!("batch {}", sanitize(name)),
            Style::new().add_modifier(Modifier::BOLD),
        )),
        Line::from(format!("{} requests", summary.total)),
        Line::from(Span::styled(
            format!("{} succeeded", summary.succeeded),
            theme.fg(Color::Green),
        )),
    ];
    if summary.failed > 0 {
        lines.push(Line::from(Span::styled(
            format!("{} failed (R sends them again)", summary.failed),
            theme.error(),
        )));
    }
    if summary.canceled > 0 {
        lines.push(Line::from(format!("{} canceled", summary.canceled)));
    }
    if summary.held > 0 {
        lines.push(Line::from(Span::styled(
            format!("{} held by a spend cap", summary.held),
            theme.fg(Color::Yellow),
        )));
    }
    let running = summary.total.saturating_sub(finished + summary.held);
    if running > 0 {
        lines.push(Line::from(format!("{running} queued or running")));
    }
    lines.push(Line::from(match summary.max_cost {
        Some(cap) => format!(
            "spent {} of {} CU",
            format_units(summary.spent),
            format_units(cap)
        ),
        None => format!("spent {} CU", format_units(summary.spent)),
    }));
    if !summary.created_at.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("started {}", short_time(&summary.created_at)),
            theme.dim(),
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "z/Enter fold · / filters by name · R re-sends failed",
        theme.dim(),
    )));
    lines
}

pub(crate) fn draw_detail(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let block = Block::bordered()
        .title(" Details ")
        .border_style(theme.dim());
    if let Some(view) = &app.server {
        let lines = view
            .selected_job()
            .map(|j| server_detail(j, theme))
            .unwrap_or_default();
        draw_lines(frame, block, lines, area);
        return;
    }
    let Some(job) = app.selected() else {
        let lines = match app.queue.selected_batch() {
            Some(name) => batch_detail(app, theme, &name),
            None => Vec::new(),
        };
        draw_lines(frame, block, lines, area);
        return;
    };
    let r = &job.request;
    let mut lines = vec![
        Line::from(vec![
            Span::raw(format!("#{} ", job.local_id)),
            Span::styled(
                job.job_id
                    .as_deref()
                    .map(sanitize)
                    .unwrap_or_else(|| "(no job id yet)".into()),
                theme.dim(),
            ),
        ]),
        Line::from(Span::styled(
            format!("{} {}%", job.state_word(), job.percent()),
            status_style(job, theme),
        )),
        Line::from(format!(
            "{} · {} · {} s · audio {}",
            r.mode,
            r.aspect_ratio.map_or("—".into(), |a| a.to_string()),
            r.duration,
            if r.generate_audio == Some(true) {
                "on"
            } else {
                "off"
            }
        )),
    ];
    if let Some(cost) = job.cost {
        // A refunded failure cost nothing: its price is shown as given back.
        let refunded = job.charged().is_some_and(|c| c < cost);
        lines.push(Line::from(if refunded {
            format!("cost {} CU, refunded", format_units(cost))
        } else {
            format!("cost {} CU", format_units(cost))
        }));
    } else if let Some(quote) = job.quote {
        lines.push(Line::from(format!("quoted {} CU", format_units(quote))));
    }
    if let Some(at) = &job.expected_at {
        lines.push(Line::from(Span::styled(
            format!("expected by {} (the server's typical time)", short_time(at)),
            theme.dim(),
        )));
    }
    lines.extend(takes_detail(app, theme, job.local_id));
    if let Some(tag) = &job.batch {
        lines.push(Line::from(format!(
            "batch {} · #{} · line {}",
            sanitize(&tag.name),
            tag.index + 1,
            tag.row
        )));
    }
    if let Some(hold) = &job.held {
        // Its reason is the state line above.
        if let Some(until) = &hold.until {
            lines.push(Line::from(Span::styled(
                format!(
                    "sent by itself from {} (a new day's count), or with a higher cap",
                    short_time(until)
                ),
                theme.dim(),
            )));
        } else if hold.cap.is_some() {
            lines.push(Line::from(Span::styled(
                "a higher cap sends it (--max-cost, max_spend_per_day)",
                theme.dim(),
            )));
        }
    }
    if let Some(id) = &r.start_image {
        lines.push(Line::from(format!("start {}", sanitize(id.as_str()))));
    }
    if let Some(id) = &r.end_image {
        lines.push(Line::from(format!("end {}", sanitize(id.as_str()))));
    }
    for (i, id) in r.reference_images.iter().enumerate() {
        lines.push(Line::from(format!(
            "image_{} {}",
            i + 1,
            sanitize(id.as_str())
        )));
    }
    if let Some(id) = &r.reference_video {
        lines.push(Line::from(format!("video_1 {}", sanitize(id.as_str()))));
    }
    match &job.submission {
        Submission::Unconfirmed { reason } | Submission::Rejected { reason } => {
            lines.push(Line::from(Span::styled(sanitize(reason), theme.error())));
        }
        _ => {}
    }
    if let Some(error) = &job.error {
        lines.push(Line::from(Span::styled(
            format!("error: {}", sanitize(error)),
            theme.error(),
        )));
    }
    if let Some(damage) = &job.damage {
        lines.push(Line::from(Span::styled(sanitize(damage), theme.error())));
    }
    if let Some(trouble) = &job.trouble {
        let what = if trouble.gave_up {
            "polling given up (r tries again)"
        } else {
            "polls failing"
        };
        lines.push(Line::from(Span::styled(
            format!(
                "{what} since {}, {} in a row: {}",
                short_time(&trouble.since),
                trouble.failures,
                sanitize(&trouble.error)
            ),
            theme.fg(Color::Yellow),
        )));
    }
    if let Some(hint) = &job.hint {
        lines.push(Line::from(format!("hint: {}", sanitize(hint))));
    }
    match app.pictures.by_job.get(&job.local_id) {
        Some(crate::tui::picture::Picture::Loading) => {
            lines.push(Line::from(Span::styled("picture: loading…", theme.dim())));
        }
        Some(crate::tui::picture::Picture::Failed(why)) => {
            lines.push(Line::from(Span::styled(
                format!("no picture: {why}"),
                theme.dim(),
            )));
        }
        _ => {}
    }
    for d in &job.downloads {
        match (&d.file, &d.error) {
            (Some(file), _) => {
                lines.push(Line::from(Span::styled("✓ saved", theme.fg(Color::Green))));
                lines.push(Line::from(sanitize(&file.display().to_string())));
            }
            (None, Some(e)) => lines.push(Line::from(Span::styled(
                format!("! {}", sanitize(e)),
                theme.error(),
            ))),
            (None, None) => {}
        }
    }
    for ((id, _), t) in &app.queue.transfers {
        if *id == job.local_id {
            lines.push(Line::from(format!(
                "↓ {} / {} at {}/s",
                human_bytes(t.bytes),
                t.total.map_or("?".into(), human_bytes),
                human_bytes(t.rate as u64)
            )));
        }
    }
    lines.push(Line::from(Span::styled("prompt:", theme.dim())));
    lines.push(Line::from(sanitize(&r.prompt)));
    if !job.history.is_empty() {
        lines.push(Line::from(Span::styled("history:", theme.dim())));
        for change in &job.history {
            // "2026-11-24T12:00:03.120Z" → "12:00:03"
            let time: String = change
                .date
                .split('T')
                .nth(1)
                .unwrap_or("")
                .chars()
                .take(8)
                .collect();
            lines.push(Line::from(format!("  {time}  {}", change.status)));
        }
    }
    draw_lines(frame, block, lines, area);
}

/// The job's mark, where it came from and what came from it, and its places in the
/// sequences, as far as the ledger was read.
fn takes_detail(app: &App, theme: &Theme, id: crate::engine::LocalId) -> Vec<Line<'static>> {
    use crate::takes::{LinkKind, Mark};
    let mut lines = Vec::new();
    match app.takes.marks.get(&id) {
        Some(entry) if entry.mark == Mark::Keep => {
            lines.push(Line::from(Span::styled("★ kept", theme.fg(Color::Green))));
        }
        Some(entry) => lines.push(Line::from(Span::styled(
            match &entry.reason {
                Some(reason) => format!("✗ rejected: {}", sanitize(reason)),
                None => "✗ rejected".to_string(),
            },
            theme.fg(Color::Yellow),
        ))),
        None => {}
    }
    let Some(lineage) = app.takes.lineage.as_ref().filter(|l| l.id == id) else {
        return lines;
    };
    let how = |kind: LinkKind| match kind {
        LinkKind::Continues => "continues",
        LinkKind::Hero => "hero of",
    };
    if let Some((parent, kind)) = lineage.parent {
        lines.push(Line::from(format!("{} #{parent}", how(kind))));
    }
    if !lineage.children.is_empty() {
        let children: Vec<String> = lineage
            .children
            .iter()
            .map(|(child, kind)| match kind {
                LinkKind::Continues => format!("#{child}"),
                LinkKind::Hero => format!("#{child} (hero)"),
            })
            .collect();
        lines.push(Line::from(format!("followed by {}", children.join(", "))));
    }
    for place in &lineage.placements {
        lines.push(Line::from(format!(
            "in {}: shot {}, take {}{}",
            sanitize(&place.sequence),
            place.shot,
            place.take,
            if place.chosen { " (chosen)" } else { "" }
        )));
    }
    lines
}

/// The details in their pane, wrapped; what does not fit ends with `…`.
fn draw_lines(frame: &mut Frame, block: Block, lines: Vec<Line>, area: Rect) {
    let inner = block.inner(area);
    let rows = wrap_lines(lines, inner.width as usize, inner.height as usize);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(rows), inner);
}
