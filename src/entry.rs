//! The program: its arguments read, its log opened, its runtime started, and the app or the
//! command run. Here rather than in the binary, so that the generic code all of this
//! instantiates (the runtime over every future, the log's layers) is compiled once with the
//! library, in parallel, instead of again, alone, at the end of every build.

use crate::cli::{Cli, Command, EngineCommand};
use crate::config::Dirs;

/// Runs the program and exits with its code.
pub fn main() -> ! {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "__complete") {
        std::process::exit(crate::headless::complete(&args));
    }
    let cli = Cli::parse_merged();
    let serving = matches!(cli.command, Some(Command::Engine(EngineCommand::Serve)));
    // The engine's stderr is its log file, opened for it by the client that started it.
    let log_guard = if serving {
        init_engine_logging()
    } else {
        init_logging()
    };
    // The engine is one thread: its work is one task that takes each thing in turn, and its
    // clients wait on sockets. A second worker thread only added wake-ups between threads and
    // a second memory arena to the process that stays in the background.
    let mut builder = if serving {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(3);
        }
    };
    let code = match cli.command {
        // No subcommand: the full-screen app.
        None => runtime.block_on(async {
            match crate::tui::run(&cli).await {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e}");
                    e.exit_code()
                }
            }
        }),
        Some(_) => runtime.block_on(crate::headless::run(cli)),
    };
    // Don't wait for lingering keep-alive connections or a demo simulator to wind down.
    runtime.shutdown_background();
    // Exiting skips destructors: the last log lines are written first.
    drop(log_guard);
    std::process::exit(code);
}

/// Log lines waiting for the thread that writes them; more are dropped. The library's default
/// (128,000) is a buffer of about 4 MB, all of it touched when it is made, in every process.
const LOG_LINES_BUFFERED: usize = 4096;

/// The engine's logs go to its stderr, which is its log file, opened for it by the client
/// that started it.
fn init_engine_logging() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    log_to(non_blocking(std::io::stderr()))
}

/// Logs go to a file in the data folder, never to stdout or stderr: the terminal belongs to
/// the output and, later, to the full-screen app. `KLING_TUI_LOG` sets the filter.
/// A log that cannot be opened (a read-only folder, a file left by another user) is said
/// once, and the command goes on without one.
fn init_logging() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dirs = Dirs::locate().ok()?;
    let path = dirs.data_dir.join("kling-tui.log");
    // Prompts and paths are private: the folder 0700 and the file 0600 when made here.
    let opened = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dirs.data_dir)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)
        });
    match opened {
        Ok(file) => log_to(non_blocking(file)),
        Err(e) => {
            eprintln!(
                "warning: cannot write the log {}: {e}; going on without it",
                path.display()
            );
            None
        }
    }
}

fn non_blocking<W: std::io::Write + Send + 'static>(
    writer: W,
) -> (
    tracing_appender::non_blocking::NonBlocking,
    tracing_appender::non_blocking::WorkerGuard,
) {
    tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_LINES_BUFFERED)
        .finish(writer)
}

fn log_to(
    (writer, guard): (
        tracing_appender::non_blocking::NonBlocking,
        tracing_appender::non_blocking::WorkerGuard,
    ),
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // A level, or `target=level` pairs: what is needed of a log filter here, without the
    // regular expressions of a full `EnvFilter` (a sixth of the build).
    let filter = std::env::var("KLING_TUI_LOG")
        .ok()
        .and_then(|text| text.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let format = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false);
    tracing_subscriber::registry()
        .with(format)
        .with(filter)
        .try_init()
        .ok()?;
    Some(guard)
}
