//! Prompt alternatives: `{a|b|c}` stands for three prompts. `\{`, `\}`, `\|` and `\\` are the
//! literal characters; any other backslash is kept as written, so a prompt without groups or
//! escapes comes out exactly as typed.

/// A prompt cut into literal text and groups of alternatives, left to right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Group(Vec<String>),
}

/// The pieces of `text`, or what is wrong with it (without the field name, which the caller
/// adds). Positions count characters from 1.
pub fn parse(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    // Inside a group: the alternatives finished so far, the one being read, and where it opened.
    let mut group: Option<(Vec<String>, String, usize)> = None;
    let mut chars = text.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        let at = i + 1;
        let c = match c {
            '\\' => match chars.peek() {
                Some(&(_, next @ ('{' | '}' | '|' | '\\'))) => {
                    chars.next();
                    push(&mut group, &mut literal, next);
                    continue;
                }
                _ => '\\',
            },
            c => c,
        };
        match (c, group.as_mut()) {
            ('{', None) => {
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                group = Some((Vec::new(), String::new(), at));
            }
            ('{', Some((_, _, opened))) => {
                return Err(format!(
                    "\"{{\" at character {at} is inside the group opened at character {opened}; groups do not nest (write \\{{ for a literal brace)"
                ));
            }
            ('}', None) => {
                return Err(format!(
                    "\"}}\" at character {at} closes no group (write \\}} for a literal brace)"
                ));
            }
            ('}', Some(_)) => {
                if let Some((mut done, current, opened)) = group.take() {
                    if done.is_empty() && current.is_empty() {
                        return Err(format!(
                            "the group at character {opened} is empty; write {{a|b}} for alternatives"
                        ));
                    }
                    done.push(current);
                    pieces.push(Piece::Group(done));
                }
            }
            ('|', Some((done, current, _))) => done.push(std::mem::take(current)),
            (c, _) => push(&mut group, &mut literal, c),
        }
    }
    if let Some((_, _, opened)) = group {
        return Err(format!(
            "the group opened at character {opened} is never closed (write \\{{ for a literal brace)"
        ));
    }
    if !literal.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(pieces)
}

fn push(group: &mut Option<(Vec<String>, String, usize)>, literal: &mut String, c: char) {
    match group {
        Some((_, current, _)) => current.push(c),
        None => literal.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Piece {
        Piece::Text(s.into())
    }

    fn group(alts: &[&str]) -> Piece {
        Piece::Group(alts.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn a_prompt_without_groups_is_kept_as_written() {
        let prompt = "A cat, 50% \\n off: <<<image_1>>> | not a group \\d";
        assert_eq!(parse(prompt), Ok(vec![text(prompt)]));
        assert_eq!(parse(""), Ok(vec![text("")]));
    }

    #[test]
    fn groups_split_on_bars_left_to_right() {
        assert_eq!(
            parse("a {red|blue} car at {dawn|noon|dusk}"),
            Ok(vec![
                text("a "),
                group(&["red", "blue"]),
                text(" car at "),
                group(&["dawn", "noon", "dusk"]),
            ])
        );
    }

    #[test]
    fn escapes_are_literal_characters_inside_and_outside_groups() {
        assert_eq!(
            parse(r"\{x\} \\ {a\|b|c\}} \|"),
            Ok(vec![text(r"{x} \ "), group(&["a|b", "c}"]), text(" |"),])
        );
        // A backslash before anything else is kept, and so is one at the end.
        assert_eq!(parse(r"a\b\"), Ok(vec![text(r"a\b\")]));
    }

    #[test]
    fn an_empty_alternative_is_allowed_but_not_an_empty_group() {
        assert_eq!(
            parse("a {red |}car"),
            Ok(vec![text("a "), group(&["red ", ""]), text("car")])
        );
        let err = parse("a {} car").unwrap_err();
        assert!(err.contains("group at character 3 is empty"), "{err}");
    }

    #[test]
    fn unclosed_nested_and_stray_braces_are_refused_with_their_position() {
        let err = parse("a {red|blue car").unwrap_err();
        assert!(
            err.contains("opened at character 3 is never closed"),
            "{err}"
        );
        let err = parse("{a|{b}}").unwrap_err();
        assert!(
            err.contains("character 4 is inside the group opened at character 1"),
            "{err}"
        );
        let err = parse("a} b").unwrap_err();
        assert!(
            err.contains("\"}\" at character 2 closes no group"),
            "{err}"
        );
    }
}
