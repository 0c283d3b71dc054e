//! Telling the user something happened while they look elsewhere (another tmux window, another
//! SSH session's terminal tab): a desktop notification in the escape sequence the terminal
//! understands, wrapped for tmux to pass on, and the bell, which every terminal and tmux know.

use crate::config::NotifyMode;

/// The notification sequence a terminal understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OSC 9: iTerm2, WezTerm, Ghostty, and most newer terminals.
    Osc9,
    /// OSC 777 `notify`: VTE terminals (GNOME Terminal, Tilix), foot, urxvt.
    Osc777,
    /// OSC 99: kitty's own, with a title and a body.
    Osc99,
    /// None known: the bell only.
    Bell,
}

/// What to write, from the terminal's environment (inherited through tmux and, for iTerm2's
/// `LC_TERMINAL`, through SSH).
pub fn detect(mode: NotifyMode, env: impl Fn(&str) -> Option<String>) -> Protocol {
    if mode != NotifyMode::Auto {
        return Protocol::Bell;
    }
    let term = env("TERM").unwrap_or_default();
    let program = env("TERM_PROGRAM").unwrap_or_default();
    if env("KITTY_WINDOW_ID").is_some() || term == "xterm-kitty" {
        Protocol::Osc99
    } else if matches!(program.as_str(), "iTerm.app" | "WezTerm" | "ghostty")
        || env("LC_TERMINAL").as_deref() == Some("iTerm2")
        || term.contains("ghostty")
        || env("WEZTERM_EXECUTABLE").is_some()
    {
        Protocol::Osc9
    } else if env("VTE_VERSION").is_some() || term.starts_with("foot") || term.contains("rxvt") {
        Protocol::Osc777
    } else {
        Protocol::Bell
    }
}

/// The bytes telling `title` and `body`, then the bell; inside tmux the notification goes in
/// a passthrough (tmux passes the bell on by itself). Nothing for [`NotifyMode::Off`].
pub fn bytes(
    mode: NotifyMode,
    protocol: Protocol,
    title: &str,
    body: &str,
    in_tmux: bool,
) -> Vec<u8> {
    if mode == NotifyMode::Off {
        return Vec::new();
    }
    // Text between the sequence's own separators: no control characters, no separators.
    let clean = |text: &str, separators: &[char]| -> String {
        crate::sanitize::sanitize(text)
            .chars()
            .map(|c| if separators.contains(&c) { ',' } else { c })
            .collect()
    };
    const ST: &str = "\x1b\\";
    let sequence = match protocol {
        Protocol::Osc9 => format!("\x1b]9;{}: {}{ST}", clean(title, &[]), clean(body, &[])),
        Protocol::Osc777 => format!(
            "\x1b]777;notify;{};{}{ST}",
            clean(title, &[';']),
            clean(body, &[';'])
        ),
        // The title, then the body, as one notification (i=); `d=0` says more follows.
        Protocol::Osc99 => format!(
            "\x1b]99;i=kling-tui:d=0;{}{ST}\x1b]99;i=kling-tui:d=1:p=body;{}{ST}",
            clean(title, &[]),
            clean(body, &[])
        ),
        Protocol::Bell => String::new(),
    };
    let mut out = if sequence.is_empty() || !in_tmux {
        sequence
    } else {
        // DCS passthrough: every ESC inside is doubled.
        format!("\x1bPtmux;{}\x1b\\", sequence.replace('\x1b', "\x1b\x1b"))
    };
    out.push('\x07');
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_terminal_is_told_apart_by_its_environment() {
        let auto = NotifyMode::Auto;
        assert_eq!(
            detect(auto, env(&[("TERM", "xterm-kitty")])),
            Protocol::Osc99
        );
        assert_eq!(
            detect(auto, env(&[("TERM_PROGRAM", "WezTerm")])),
            Protocol::Osc9
        );
        // Inside tmux over SSH: iTerm2 is known by what it sends along.
        let tmux = [("TERM_PROGRAM", "tmux"), ("LC_TERMINAL", "iTerm2")];
        assert_eq!(detect(auto, env(&tmux)), Protocol::Osc9);
        assert_eq!(
            detect(auto, env(&[("VTE_VERSION", "7600")])),
            Protocol::Osc777
        );
        assert_eq!(
            detect(auto, env(&[("TERM", "xterm-256color")])),
            Protocol::Bell
        );
        assert_eq!(
            detect(NotifyMode::Bell, env(&[("TERM", "xterm-kitty")])),
            Protocol::Bell
        );
    }

    #[test]
    fn plain_wrapped_and_off() {
        let auto = NotifyMode::Auto;
        assert_eq!(
            bytes(auto, Protocol::Osc9, "kling-tui", "#3 failed", false),
            b"\x1b]9;kling-tui: #3 failed\x1b\\\x07"
        );
        assert_eq!(
            bytes(auto, Protocol::Osc9, "kling-tui", "#3 failed", true),
            b"\x1bPtmux;\x1b\x1b]9;kling-tui: #3 failed\x1b\x1b\\\x1b\\\x07"
        );
        assert_eq!(
            bytes(
                auto,
                Protocol::Osc777,
                "kling-tui",
                "a;b\x1b]0;x\x07 c",
                false
            ),
            b"\x1b]777;notify;kling-tui;a,b c\x1b\\\x07"
        );
        assert_eq!(bytes(auto, Protocol::Bell, "t", "b", true), b"\x07");
        assert!(bytes(NotifyMode::Off, Protocol::Osc9, "t", "b", false).is_empty());
    }
}
