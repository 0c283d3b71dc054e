//! Matches shown where they are: the letters a filter or a search found, marked in a row's
//! text, as fzf and atuin do.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme::Theme;

/// How a found letter looks: bold and underlined, and yellow where there is colour, so it
/// shows on a selected (reversed) row too.
pub(crate) fn match_style(theme: &Theme) -> Style {
    theme
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}

/// `text` with the characters at `positions` (char indices, any order) in `mark`, the rest
/// in `base`.
pub(crate) fn highlighted(
    text: &str,
    positions: &[usize],
    base: Style,
    mark: Style,
) -> Line<'static> {
    if positions.is_empty() {
        return Line::from(Span::styled(text.to_string(), base));
    }
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut run = String::new();
    let mut run_marked = false;
    for (i, c) in text.chars().enumerate() {
        let marked = positions.contains(&i);
        if marked != run_marked && !run.is_empty() {
            let style = if run_marked { mark } else { base };
            spans.push(Span::styled(std::mem::take(&mut run), style));
        }
        run_marked = marked;
        run.push(c);
    }
    if !run.is_empty() {
        spans.push(Span::styled(run, if run_marked { mark } else { base }));
    }
    Line::from(spans)
}

/// Char indices of every occurrence of `needle` in `text`, case ignored.
pub(crate) fn occurrences(text: &str, needle: &str) -> Vec<usize> {
    let hay: Vec<char> = text.chars().collect();
    let needle: Vec<char> = needle.chars().collect();
    if needle.is_empty() || needle.len() > hay.len() {
        return Vec::new();
    }
    let same = |a: char, b: char| a == b || a.to_lowercase().eq(b.to_lowercase());
    let mut found = Vec::new();
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if needle.iter().zip(&hay[i..]).all(|(n, h)| same(*n, *h)) {
            found.extend(i..i + needle.len());
            i += needle.len();
        } else {
            i += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_letters_are_marked_and_the_rest_left_as_it_was() {
        assert_eq!(
            occurrences("A red Fox, a fox", "fox"),
            [6, 7, 8, 13, 14, 15]
        );
        assert!(occurrences("fox", "").is_empty());
        let mark = Style::new().add_modifier(Modifier::BOLD);
        let line = highlighted("a fox", &[2, 3, 4], Style::new(), mark);
        let parts: Vec<(&str, Style)> = line
            .spans
            .iter()
            .map(|s| (s.content.as_ref(), s.style))
            .collect();
        assert_eq!(parts, [("a ", Style::new()), ("fox", mark)]);
    }
}
