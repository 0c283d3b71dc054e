//! Copying to the clipboard with OSC 52, which works over SSH: the terminal on the user's side
//! does the copying. Inside tmux the sequence is wrapped so tmux passes it on.

use base64::Engine;

/// The escape sequence that asks the terminal to put `text` on the clipboard.
pub fn osc52(text: &str, in_tmux: bool) -> String {
    let payload = base64::engine::general_purpose::STANDARD.encode(text);
    let sequence = format!("\x1b]52;c;{payload}\x07");
    if in_tmux {
        // DCS passthrough: every ESC inside is doubled.
        format!("\x1bPtmux;{}\x1b\\", sequence.replace('\x1b', "\x1b\x1b"))
    } else {
        sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_tmux_wrapped() {
        assert_eq!(osc52("job_1", false), "\x1b]52;c;am9iXzE=\x07");
        assert_eq!(
            osc52("job_1", true),
            "\x1bPtmux;\x1b\x1b]52;c;am9iXzE=\x07\x1b\\"
        );
    }
}
