//! `kling-tui completions` and `kling-tui man`: both made from the same clap definition as the
//! parser, so they never drift from the flags the binary takes.

use std::io::Write;

use clap::CommandFactory;

use super::{CliError, exit};
use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell) -> Result<i32, CliError> {
    // Made in memory first: the generator panics on a write that fails (a closed pipe).
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kling-tui", &mut text);
    write_out(&text).map_err(|e| CliError::Local(format!("cannot write the completions: {e}")))
}

pub fn man() -> Result<i32, CliError> {
    let mut text = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut text)
        .map_err(|e| CliError::Local(format!("cannot make the manual page: {e}")))?;
    write_out(&text).map_err(|e| CliError::Local(format!("cannot write the manual page: {e}")))
}

/// Writes `text` on stdout; a reader that stopped reading (`| head`) ends it quietly.
fn write_out(text: &[u8]) -> std::io::Result<i32> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e),
        _ => Ok(exit::OK),
    }
}
