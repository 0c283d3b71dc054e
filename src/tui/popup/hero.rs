//! A kept take re-rendered at a higher mode with the same parameters: priced by a free dry
//! run, sent only once the price is shown and confirmed.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Outcome;
use crate::engine::LocalId;
use crate::kling::{KlingRequest, Mode};
use crate::tui::keys::{PopupAction, PopupScope, popup_action};
use crate::tui::render::{Theme, centered, fit, popup_frame, wrap};
use crate::units::format_units;

/// Dry runs of heroes are numbered from here, apart from the editor's and the batches'.
pub const HERO_SEQ: u64 = 1 << 60;

pub struct Hero {
    pub parent: LocalId,
    /// The parent's request at the hero's mode.
    pub request: KlingRequest,
    /// The modes above the parent's, the one asked first.
    pub modes: Vec<Mode>,
    /// Of the dry run asked last.
    pub seq: u64,
    pub quote: Option<Result<f64, String>>,
}

/// The modes a take made at `mode` may be re-rendered at, the next one up first.
pub fn modes_above(mode: Mode) -> Vec<Mode> {
    match mode {
        Mode::Standard => vec![Mode::Pro, Mode::FourK],
        Mode::Pro => vec![Mode::FourK],
        Mode::FourK => Vec::new(),
    }
}

impl Hero {
    /// `None` when nothing is above the parent's mode.
    pub fn new(parent: LocalId, request: &KlingRequest, seq: u64) -> Option<Self> {
        let modes = modes_above(request.mode);
        let mode = *modes.first()?;
        Some(Self {
            parent,
            request: KlingRequest {
                mode,
                ..request.clone()
            },
            modes,
            seq,
            quote: None,
        })
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        match popup_action(PopupScope::Hero, &key) {
            Some(PopupAction::ForceQuit) => Outcome::ForceQuit,
            Some(PopupAction::No) => Outcome::Close,
            Some(PopupAction::Yes) => match &self.quote {
                Some(Ok(cost)) => Outcome::SendHero {
                    parent: self.parent,
                    request: self.request.clone(),
                    quote: *cost,
                },
                Some(Err(_)) => Outcome::Warn("not priced, so not sent: Esc closes".into()),
                None => Outcome::Warn("still pricing it: yes once the price shows".into()),
            },
            Some(PopupAction::Next) if self.modes.len() > 1 => {
                let at = self
                    .modes
                    .iter()
                    .position(|m| *m == self.request.mode)
                    .unwrap_or(0);
                self.request.mode = self.modes[(at + 1) % self.modes.len()];
                self.quote = None;
                Outcome::Requote
            }
            _ => Outcome::Stay,
        }
    }

    /// The dry run's answer, if it is for the request shown.
    pub fn on_estimate(&mut self, seq: u64, cost: Result<f64, String>) -> bool {
        if seq != self.seq {
            return false;
        }
        self.quote = Some(cost);
        true
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let width = 64.min(area.width);
        let inner_width = width.saturating_sub(4) as usize;
        let r = &self.request;
        let mut text = format!(
            "Re-render #{} at {} with the same parameters ({} s, {}){}.",
            self.parent,
            r.mode,
            r.duration,
            r.aspect_ratio.map_or("—".into(), |a| a.to_string()),
            if r.start_image.is_some() {
                ", start image and references included"
            } else {
                ""
            }
        );
        text.push_str(match &self.quote {
            None => " Pricing it…",
            Some(_) => "",
        });
        let mut lines: Vec<Line> = wrap(&text, inner_width)
            .into_iter()
            .map(Line::from)
            .collect();
        lines.push(Line::from(""));
        lines.push(match &self.quote {
            Some(Ok(cost)) => Line::from(Span::styled(
                fit(
                    &format!("It costs {} CU: send it?", format_units(*cost)),
                    inner_width,
                ),
                theme.fg(Color::Yellow),
            )),
            Some(Err(why)) => Line::from(Span::styled(
                fit(&format!("cannot price it: {why}"), inner_width),
                theme.error(),
            )),
            None => Line::from(Span::styled("…", theme.dim())),
        });
        lines.push(Line::from(""));
        let keys = if self.modes.len() > 1 {
            "[y] send   [m] the other mode   [n] no"
        } else {
            "[y] send   [n] no"
        };
        lines.push(Line::from(Span::styled(
            fit(keys, inner_width),
            theme.dim(),
        )));
        let rect = centered(area, width, lines.len() as u16 + 2);
        let inner = popup_frame(frame, rect, " Hero ", theme.fg(Color::Yellow));
        let inner = Rect {
            x: inner.x + 1,
            width: inner.width.saturating_sub(2),
            ..inner
        };
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
