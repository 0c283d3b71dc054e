//! Text from the server, the journal or the user is untrusted: before it reaches a terminal it
//! loses every escape sequence, control character and bidi override, so it can neither move the
//! cursor, retitle the window, write to the clipboard nor reorder what the reader sees.

/// Strips escape sequences, C0/C1 controls, DEL and bidi controls. Line breaks and tabs become a
/// single space so that one message stays on one line.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI / OSC / DCS / APC / PM / SOS introducers: skip what they introduce too.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{9f}' | '\u{9e}' | '\u{98}' => skip_string(&mut chars),
            '\n' | '\r' | '\t' => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c if is_forbidden(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Like [`sanitize`] but keeps line breaks, for multi-line text such as prompts. A lone CR is
/// a line break too: terminals send pasted newlines as CR.
pub fn sanitize_multiline(text: &str) -> String {
    text.replace("\r\n", "\n")
        .split(['\n', '\r'])
        .map(sanitize)
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_forbidden(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars<'_>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        // Two-byte sequences such as ESC c (reset) or ESC ( B (charset): drop the
        // intermediate bytes and the final byte.
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while let Some(&n) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&n) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// CSI: parameter and intermediate bytes, then one final byte in 0x40..=0x7e.
fn skip_csi(chars: &mut Chars<'_>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
        if !('\u{20}'..='\u{3f}').contains(&c) {
            // Malformed: stop at the first byte that cannot belong to a CSI.
            break;
        }
    }
}

/// OSC/DCS/APC/PM/SOS: everything up to BEL or ST (ESC \ or U+009C).
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{07}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_csi_osc_and_controls() {
        assert_eq!(sanitize("a\u{1b}[31mred\u{1b}[0m b"), "ared b");
        assert_eq!(sanitize("x\u{1b}]0;pwned\u{07}y"), "xy");
        assert_eq!(sanitize("x\u{1b}]52;c;ZXZpbA==\u{1b}\\y"), "xy");
        assert_eq!(sanitize("bell\u{07}\u{08}\u{7f}"), "bell");
        assert_eq!(sanitize("c1\u{9b}2Jz"), "c1z");
        assert_eq!(sanitize("esc\u{1b}cz"), "escz");
    }

    #[test]
    fn strips_bidi_and_folds_newlines() {
        assert_eq!(sanitize("abc\u{202e}fed\u{2066}"), "abcfed");
        assert_eq!(sanitize("one\r\ntwo\tthree"), "one two three");
        assert_eq!(sanitize_multiline("one\r\ntwo\u{1b}[2J"), "one\ntwo");
        assert_eq!(sanitize_multiline("one\rtwo\r\rthree"), "one\ntwo\n\nthree");
    }

    #[test]
    fn keeps_wide_and_combining_text() {
        assert_eq!(sanitize("狐狸 e\u{301} 🦊"), "狐狸 e\u{301} 🦊");
    }
}
