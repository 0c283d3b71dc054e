//! Placing and cutting text: popups centred (or edge to edge), text cut to a width with `…`
//! or wrapped to it. Every cut on screen goes through [`fit`], so cut text always says so.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Block, Clear};
use unicode_width::UnicodeWidthChar;

/// The fewest columns a popup leaves between itself and either side of the screen: fewer show
/// only slivers of the panes beneath (`┘┐`, a stray letter), so a popup that would leave fewer
/// takes the whole width.
pub const MARGIN_X: u16 = 3;
/// The same for rows, above and below.
pub const MARGIN_Y: u16 = 2;

/// How many columns `text` takes: wide characters two, combining marks none.
pub fn width_of(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `text` cut to at most `width` columns, counting wide characters as two; text that was cut
/// ends with `…` (in the last column it may take), so a cut never passes for the whole.
pub fn fit(text: &str, width: usize) -> String {
    if width_of(text) <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// `text` cut to `width` and padded with spaces to exactly `width` columns.
pub fn pad(text: &str, width: usize) -> String {
    let mut out = fit(text, width);
    let used = width_of(&out);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

/// `text` cut to `width` and padded on the left to exactly `width` columns.
pub fn pad_left(text: &str, width: usize) -> String {
    let cut = fit(text, width);
    let used = width_of(&cut);
    let mut out: String = std::iter::repeat_n(' ', width.saturating_sub(used)).collect();
    out.push_str(&cut);
    out
}

/// The first of `choices` that fits in `width` columns, or the last one cut: for titles that
/// have a long form and shorter ones.
pub fn first_fitting<S: AsRef<str>>(choices: &[S], width: usize) -> String {
    choices
        .iter()
        .map(AsRef::as_ref)
        .find(|c| width_of(c) <= width)
        .map(str::to_string)
        .unwrap_or_else(|| fit(choices.last().map_or("", AsRef::as_ref), width))
}

/// `text` broken at spaces into lines of at most `width` columns; a word longer than a line is
/// broken where it must be. Line breaks in `text` are kept.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let w = width_of(word);
            if used > 0 && used + 1 + w <= width {
                line.push(' ');
                line.push_str(word);
                used += 1 + w;
                continue;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            // A word wider than the line: as much of it as fits, line after line.
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if used + cw > width && used > 0 {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += cw;
            }
        }
        lines.push(line);
    }
    lines
}

/// A popup of `width`×`height` centred in `area`. One that would leave less than [`MARGIN_X`]
/// on a side takes the whole width, and likewise [`MARGIN_Y`] and the height, so no sliver of
/// a pane shows beside it.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = if width.saturating_add(2 * MARGIN_X) > area.width {
        area.width
    } else {
        width
    };
    let height = if height.saturating_add(2 * MARGIN_Y) > area.height {
        area.height
    } else {
        height
    };
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// Clears where a popup goes, and a column either side of it, so the panes beneath do not
/// run into its border (`x │`).
pub fn clear_popup(frame: &mut Frame, rect: Rect) {
    let moat = Rect {
        x: rect.x.saturating_sub(1),
        width: rect.width + u16::from(rect.x > 0) + 1,
        ..rect
    }
    .intersection(frame.area());
    frame.render_widget(Clear, moat);
}

/// A popup's frame at `rect`: what it covers cleared (and a column either side), a border in
/// `style` titled `title` (cut to the border's width); the area inside, to draw into.
pub fn popup_frame(frame: &mut Frame, rect: Rect, title: &str, style: Style) -> Rect {
    clear_popup(frame, rect);
    let block = Block::bordered()
        .title(fit(title, rect.width.saturating_sub(2) as usize))
        .border_style(style);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

/// A character and the style it is drawn in.
type Styled = (char, ratatui::style::Style);

fn row_width(row: &[Styled]) -> usize {
    row.iter().map(|(c, _)| c.width().unwrap_or(0)).sum()
}

/// Styled lines wrapped to `width` at spaces (a word wider than a line broken where it must
/// be), each piece in the styles of its spans, at most `height` rows: when there are more, the
/// last row shown ends with `…`, so text cut at a pane's foot says so as text cut at its side
/// does.
pub(crate) fn wrap_lines(
    lines: Vec<ratatui::text::Line<'_>>,
    width: usize,
    height: usize,
) -> Vec<ratatui::text::Line<'static>> {
    let width = width.max(1);
    let mut rows: Vec<Vec<Styled>> = Vec::new();
    for line in lines {
        let chars: Vec<Styled> = line
            .spans
            .iter()
            .flat_map(|span| {
                let style = line.style.patch(span.style);
                span.content.chars().map(move |c| (c, style))
            })
            .collect();
        // Words with the spaces before them: kept inside a row (indents, aligned columns),
        // dropped where a row breaks.
        let mut tokens: Vec<(Vec<Styled>, Vec<Styled>)> = Vec::new();
        let (mut gap, mut word) = (Vec::new(), Vec::new());
        for styled in chars {
            if styled.0 == ' ' {
                if !word.is_empty() {
                    tokens.push((std::mem::take(&mut gap), std::mem::take(&mut word)));
                }
                gap.push(styled);
            } else {
                word.push(styled);
            }
        }
        if !word.is_empty() || !gap.is_empty() {
            tokens.push((gap, word));
        }
        let mut row: Vec<Styled> = Vec::new();
        let mut line_start = true;
        for (gap, word) in tokens {
            let gap: &[Styled] = if row.is_empty() && !line_start {
                &[]
            } else {
                &gap
            };
            line_start = false;
            if row_width(&row) + row_width(gap) + row_width(&word) <= width {
                row.extend_from_slice(gap);
                row.extend(word);
                continue;
            }
            if !row.is_empty() {
                rows.push(std::mem::take(&mut row));
            }
            // A word wider than the line: as much of it as fits, row after row.
            for styled in word {
                if !row.is_empty() && row_width(&row) + styled.0.width().unwrap_or(0) > width {
                    rows.push(std::mem::take(&mut row));
                }
                row.push(styled);
            }
        }
        rows.push(row);
    }
    if rows.len() > height {
        rows.truncate(height);
        if let Some(last) = rows.last_mut() {
            // The ellipsis takes the last column the row may have.
            while !last.is_empty() && row_width(last) + 1 > width {
                last.pop();
            }
            while last.last().is_some_and(|(c, _)| *c == ' ') {
                last.pop();
            }
            let style = last.last().map(|(_, s)| *s).unwrap_or_default();
            last.push(('…', style));
        }
    }
    rows.into_iter()
        .map(|row| {
            let mut spans: Vec<ratatui::text::Span<'static>> = Vec::new();
            let mut text = String::new();
            let mut style = None;
            for (c, s) in row {
                if style.is_some_and(|current| current != s) {
                    spans.push(ratatui::text::Span::styled(
                        std::mem::take(&mut text),
                        style.unwrap_or_default(),
                    ));
                }
                style = Some(s);
                text.push(c);
            }
            if !text.is_empty() {
                spans.push(ratatui::text::Span::styled(text, style.unwrap_or_default()));
            }
            ratatui::text::Line::from(spans)
        })
        .collect()
}
