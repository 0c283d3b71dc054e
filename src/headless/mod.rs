//! The headless subcommands, for scripts: plain lines or JSON on stdout, progress and errors on
//! stderr, and exit codes a script can branch on.

mod address;
mod batch;
mod cut;
mod docs;
mod download;
mod engine_cmd;
mod follow;
mod lineage;
pub(crate) mod list;
mod media;
mod remote;
pub(crate) mod report;
#[cfg(feature = "demo")]
mod sim;
mod status;
mod submit;
mod takes;
mod watch;

use crate::cli::{BatchAction, Cli, Command};

#[cfg(not(feature = "demo"))]
use crate::session::no_simulator;
pub use crate::session::{CliError, Session, exit};
pub use list::complete;

/// Prints a line on stdout. A closed stdout (`| head -1`) ends the command quietly, as `cat`
/// does, instead of the panic of `println!`.
macro_rules! outln {
    () => { $crate::headless::out_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::headless::out_line(format_args!($($arg)*)) };
}
pub(crate) use outln;

pub(crate) fn out_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = writeln!(out, "{line}").and_then(|()| out.flush());
    if written.is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) {
        std::process::exit(exit::OK);
    }
}

/// Runs one subcommand and returns the process exit code. Errors are printed here, one line
/// each, on stderr.
pub async fn run(cli: Cli) -> i32 {
    let result = match &cli.command {
        Some(Command::Submit(args)) => submit::run(&cli, args).await,
        Some(Command::Status { jobs, json, .. }) => status::status(&cli, jobs, *json).await,
        Some(Command::Cancel { job, .. }) => status::cancel(&cli, job).await,
        Some(Command::Download {
            jobs, out, json, ..
        }) => download::run(&cli, jobs, out.as_deref(), *json).await,
        Some(Command::Jobs(args)) if args.remote => remote::list(&cli, args).await,
        Some(Command::Jobs(args)) => list::jobs(&cli, args).await,
        Some(Command::Import {
            jobs, out, json, ..
        }) => remote::import(&cli, jobs, out.as_deref(), *json).await,
        Some(Command::Spend {
            since, by, json, ..
        }) => watch::spend(&cli, *since, by.as_deref(), *json).await,
        Some(Command::Upload { files, json, .. }) => {
            media::upload_command(&cli, files, *json).await
        }
        Some(Command::Watch(args)) => watch::watch(&cli, args).await,
        #[cfg(feature = "demo")]
        Some(Command::Sim(args)) => sim::run(args).await,
        #[cfg(not(feature = "demo"))]
        Some(Command::Sim(_)) => Err(no_simulator("kling-tui sim")),
        Some(Command::Completions { shell }) => docs::completions(*shell),
        Some(Command::Man) => docs::man(),
        Some(Command::Engine(command)) => engine_cmd::run(&cli, command).await,
        Some(Command::Batch(args)) => match (&args.action, &args.file) {
            (
                Some(BatchAction::Status {
                    batch: name, json, ..
                }),
                _,
            ) => batch::status(&cli, name, *json).await,
            (
                Some(BatchAction::Retry {
                    batch: name, yes, ..
                }),
                _,
            ) => batch::retry(&cli, name, *yes).await,
            (None, Some(file)) if args.plan => {
                batch::plan(&cli, file, args.json, args.max_cost).await
            }
            (None, Some(file)) => {
                let how = batch::Send {
                    yes: args.yes,
                    max_cost: args.max_cost,
                    out: args.out.clone(),
                    wait: !args.no_wait,
                    json: args.json,
                };
                batch::send(&cli, file, how).await
            }
            (None, None) => Err(CliError::Invalid(vec![
                "batch: give a FILE, or `status NAME` or `retry NAME`".into(),
            ])),
        },
        Some(Command::Resend { job, yes, .. }) => engine_cmd::resend(&cli, job, *yes).await,
        Some(Command::Mark {
            job,
            mark,
            reason,
            json,
            ..
        }) => takes::mark(&cli, job, mark, reason.as_deref(), *json).await,
        Some(Command::Seq(args)) => takes::seq(&cli, args).await,
        None => Err(CliError::Local("no command given; see --help".into())),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Asks `question` on the terminal before something paid is sent; `yes` (`--yes`) answers for
/// the user. Off a terminal without `--yes` it is refused, naming `--yes`. `Ok(false)`: the user
/// said no (and was told nothing was sent).
pub(crate) fn confirm(question: &str, yes: bool) -> Result<bool, CliError> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Invalid(vec![format!(
            "{question} Not sent: confirm with --yes"
        )]));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    let go = matches!(answer.trim(), "y" | "Y" | "yes");
    if !go {
        eprintln!("not sent");
    }
    Ok(go)
}
