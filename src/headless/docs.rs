//! `kling-tui completions` and `kling-tui man`: both made from the same clap definition as the
//! parser, so they never drift from the flags the binary takes.

use std::io::Write;

use clap::CommandFactory;

use super::{CliError, exit};
use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell) -> Result<i32, CliError> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut Cli::command(), "kling-tui", &mut out);
    out.flush()
        .map_err(|e| CliError::Local(format!("cannot write the completions: {e}")))?;
    Ok(exit::OK)
}

pub fn man() -> Result<i32, CliError> {
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Local(format!("cannot write the manual page: {e}")))?;
    Ok(exit::OK)
}
