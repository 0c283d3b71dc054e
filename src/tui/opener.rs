//! How `o` opens a finished video, as yazi's opener does: the user's program
//! (`$KLING_TUI_OPEN`), else the system's (`xdg-open`, `open`) where there is a display to
//! show it on; over SSH, with none set, the path is copied instead (OSC 52 reaches the
//! user's own terminal).

use std::path::Path;
use std::process::{Command, Stdio};

use super::app::Opener;

/// The variable naming the program that opens a video: split at spaces (no shell), the
/// file's path added last, e.g. `mpv --loop`.
pub const OPEN_VAR: &str = "KLING_TUI_OPEN";

/// The opener for an environment read through `var`, on macOS or not.
pub fn detect(var: impl Fn(&str) -> Option<String>, macos: bool) -> Opener {
    let set = |name: &str| var(name).is_some_and(|v| !v.trim().is_empty());
    if let Some(command) = var(OPEN_VAR) {
        let words: Vec<String> = command.split_whitespace().map(str::to_string).collect();
        if !words.is_empty() {
            return Opener::Program(words);
        }
    }
    if set("SSH_CONNECTION") || set("SSH_TTY") {
        return Opener::Copy;
    }
    if macos {
        return Opener::Program(vec!["open".into()]);
    }
    if set("DISPLAY") || set("WAYLAND_DISPLAY") {
        return Opener::Program(vec!["xdg-open".into()]);
    }
    Opener::Copy
}

/// Starts `command` with `file` added, detached: no shell, no terminal (stdio to null, a
/// process group of its own, so the app's keys and signals never reach it). A thread waits
/// for it, so it never lingers as a zombie, and hands `told` why it failed, if it does.
pub fn spawn(
    command: &[String],
    file: &Path,
    told: impl FnOnce(String) + Send + 'static,
) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let Some((program, args)) = command.split_first() else {
        return Err(format!("{OPEN_VAR} names no program"));
    };
    let mut child = Command::new(program)
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    let program = program.clone();
    std::thread::spawn(move || match child.wait() {
        Ok(status) if !status.success() => told(format!("{program} {status}")),
        Err(e) => told(format!("{program}: {e}")),
        Ok(_) => {}
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_users_program_then_the_systems_where_there_is_a_display() {
        let program =
            |words: &[&str]| Opener::Program(words.iter().map(|w| w.to_string()).collect());
        let ssh = ("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22");
        assert_eq!(
            detect(env(&[(OPEN_VAR, "mpv --loop"), ssh]), false),
            program(&["mpv", "--loop"])
        );
        assert_eq!(detect(env(&[ssh, ("DISPLAY", ":0")]), false), Opener::Copy);
        assert_eq!(
            detect(env(&[("SSH_TTY", "/dev/pts/3")]), true),
            Opener::Copy
        );
        assert_eq!(detect(env(&[]), true), program(&["open"]));
        assert_eq!(
            detect(env(&[("WAYLAND_DISPLAY", "wayland-0")]), false),
            program(&["xdg-open"])
        );
        assert_eq!(detect(env(&[(OPEN_VAR, "  ")]), false), Opener::Copy);
    }
}
