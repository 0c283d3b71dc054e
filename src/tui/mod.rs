//! The full-screen app: a prompt editor, a parameter sidebar, a live job queue and its details.
//! A client of the engine's channels like the CLI: it never makes an HTTP request itself.
//! It draws only when something changed, after taking every pending event, each frame inside
//! synchronized output so a slow SSH link never shows half a frame.

pub mod app;
pub mod batch;
mod clipboard;
pub mod compare;
mod complete;
mod cutting;
mod draft;
pub mod form;
pub mod history;
pub mod keys;
pub mod notify;
pub mod opener;
pub mod picture;
pub mod popup;
pub mod queue;
pub mod render;
pub mod sequences;
pub mod server;
pub mod takes;
mod takes_io;

use std::io::{BufWriter, Stdout, Write};
use std::time::Duration;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event as TermEvent, KeyEventKind, MouseEventKind,
};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{execute, queue};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::time::Instant;

use crate::cli::Cli;
use crate::engine;
use crate::session::{CliError, Session, exit};
use app::{App, Effect};

type Term = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

/// Spinners and clocks move at this pace, and only while something runs.
const TICK: Duration = Duration::from_millis(250);
/// The cost estimate waits for typing to pause this long.
const ESTIMATE_DELAY: Duration = Duration::from_millis(400);
/// Today's spend and the batches' counts are asked again at most this often.
const OVERVIEW_PACE: Duration = Duration::from_millis(500);
/// News stays this long before the key hints come back (errors stay until a key).
const MESSAGE_TIME: Duration = Duration::from_secs(4);

pub async fn run(cli: &Cli) -> Result<i32, CliError> {
    let session = Session::open(cli).await?;
    let host = if session.demo {
        "demo".to_string()
    } else {
        session
            .options
            .base_url
            .host_str()
            .unwrap_or("api")
            .to_string()
    };
    // Config problems are reported before anything starts.
    let mut app = App::new(host, jiff::Timestamp::now());
    let file = session.config.clone().unwrap_or_default();
    app.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || file.theme == Some(crate::config::Theme::Mono);
    app.notify = file.notify.unwrap_or_default();
    app.reject_reasons =
        crate::takes::RejectReasons::new(file.reject_reasons.as_deref().unwrap_or_default())
            .all()
            .to_vec();
    app.cwd = std::env::current_dir().ok();
    app.opener = opener::detect(|name| std::env::var(name).ok(), cfg!(target_os = "macos"));
    if let Some(keys) = &file.keys {
        app.keymap = keys::Keymap::with_overrides(keys)
            .map_err(|e| CliError::Invalid(vec![format!("config.toml: {e}")]))?;
    }

    // What was being written when the app last left.
    let draft_file = draft::path(&session.ledger_dir);
    let opening = match draft::load(&draft_file) {
        Some(draft) => app.restore_draft(draft.request),
        None => Vec::new(),
    };
    let config = session.engine_config(None);
    let (mut engine, status) = session.engine(config).await?;
    app.engine_shared = status.is_some();
    if app.engine_shared {
        // The app's videos go where it was asked (download_dir, else the folder it runs in),
        // not where whichever command started the engine was.
        app.download_dir = std::path::absolute(session.download_dir(None)).ok();
    }
    let mut terminal = enter(cli.mouse)
        .map_err(|e| CliError::Local(format!("cannot set up the terminal: {e}")))?;
    // Asked before anything else reads the terminal's input, with a short deadline.
    #[cfg(feature = "preview")]
    {
        app.pictures.mode = file.preview.unwrap_or_default();
        app.pictures.picker = picture::picker(
            app.pictures.mode,
            std::env::var_os("TMUX").is_some(),
            picture::QUERY_TIMEOUT,
        );
    }
    let mut ledger_takes = takes_io::TakesIo::new(
        &session.ledger_dir,
        crate::takes::sidecar::enabled(session.config.as_ref()),
    );
    let outcome = event_loop(
        &mut terminal,
        &mut app,
        &mut engine,
        &mut ledger_takes,
        &draft_file,
        opening,
    )
    .await;
    leave(cli.mouse);
    draft::save(
        &draft_file,
        &draft::Draft {
            request: app.current_request(),
        },
    );
    let _ = terminal.show_cursor();
    engine.shutdown().await;
    if let Some(status) = status {
        // Quitting never stops the work: say where it goes on.
        let unfinished = app
            .queue
            .jobs
            .values()
            .filter(|j| !j.place.is_done())
            .count();
        eprintln!(
            "the engine (pid {}) goes on in the background{}: `kling-tui watch` follows it, \
             `kling-tui engine status` shows it, `kling-tui engine stop` stops it",
            status.pid,
            match unfinished {
                0 => String::new(),
                n => format!(" with {}", crate::units::count(n, "unfinished job")),
            }
        );
    }
    outcome
}

async fn event_loop(
    terminal: &mut Term,
    app: &mut App,
    engine: &mut engine::EngineHandle,
    ledger_takes: &mut takes_io::TakesIo,
    draft_file: &std::path::Path,
    mut effects: Vec<Effect>,
) -> Result<i32, CliError> {
    let in_tmux = std::env::var_os("TMUX").is_some();
    let protocol = notify::detect(app.notify, |name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    });
    let mut input = spawn_input_reader();
    let mut estimate_at: Option<Instant> = None;
    // The overview (today's spend, batches) is asked at most once a second.
    let mut overview_at: Option<Instant> = None;
    let mut overview_seq: u64 = 0;
    let mut next_tick = Instant::now() + TICK;
    // The news shown and when it goes.
    let mut message_seen = app.message_seq;
    let mut message_at: Option<(u64, Instant)> = None;
    // Openers that failed after they started, told by the threads that wait for them.
    let (open_failed_tx, mut open_failed) = tokio::sync::mpsc::unbounded_channel::<String>();
    // The newest finished jobs, for the first frame; older ones as the list scrolls.
    app.ask_history(&mut effects);
    effects.push(Effect::Takes(takes::TakesOp::LoadMarks));
    // Killed politely (SIGTERM, or the SSH session hanging up): leave like a quit, so the
    // terminal is restored and the ledger written.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| CliError::Local(format!("cannot watch signals: {e}")))?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| CliError::Local(format!("cannot watch signals: {e}")))?;
    // The manifests of the batches sent from here, beside their videos, as `batch` writes them.
    let mut manifests = crate::batch::Manifests::default();
    // Films being cut from the Sequence view, and their news.
    let mut cuts = cutting::Cuts::new();
    loop {
        for effect in effects.drain(..) {
            match effect {
                Effect::Engine(command) => {
                    manifests.sent(&command);
                    let _ = engine.commands.send(command);
                }
                Effect::EstimateLater => estimate_at = Some(Instant::now() + ESTIMATE_DELAY),
                Effect::Clipboard(text) => {
                    let backend = terminal.backend_mut();
                    let _ = backend.write_all(clipboard::osc52(&text, in_tmux).as_bytes());
                    let _ = backend.flush();
                }
                Effect::Open { command, file } => {
                    let tx = open_failed_tx.clone();
                    if let Err(why) = opener::spawn(&command, &file, move |why| {
                        let _ = tx.send(why);
                    }) {
                        app.open_failed(&why);
                    }
                }
                Effect::Takes(op) => app.on_takes(ledger_takes.apply(op)),
                Effect::Cut { sequence, out } => cuts.start(ledger_takes.dir(), sequence, out),
                Effect::Quit => return Ok(exit::OK),
            }
        }
        // What the takes tables must record that no key asked (a new job's parent), and the
        // selected job's lineage, read once.
        while !app.takes.outbox.is_empty() {
            for op in std::mem::take(&mut app.takes.outbox) {
                app.on_takes(ledger_takes.apply(op));
            }
        }
        if let Some(op) = app.takes_wanted() {
            app.on_takes(ledger_takes.apply(op));
        }
        if app.message_seq != message_seen {
            message_seen = app.message_seq;
            message_at = matches!(app.message, Some((_, false)))
                .then(|| (message_seen, Instant::now() + MESSAGE_TIME));
        }
        // The selected job's picture, asked once, only for what is looked at.
        if let Some(command) = app.picture_wanted() {
            let _ = engine.commands.send(command);
        }
        if app.dirty {
            draw(terminal, app).map_err(|e| CliError::Local(format!("cannot draw: {e}")))?;
            app.dirty = false;
        }
        let animating = app.animating();
        if !animating {
            next_tick = Instant::now() + TICK;
        }
        tokio::select! {
            event = input.recv() => match event {
                Some(Ok(event)) => {
                    effects.extend(on_terminal(app, event));
                    // Take every event already waiting (a paste, a burst of resizes) before drawing.
                    while let Ok(Ok(event)) = input.try_recv() {
                        effects.extend(on_terminal(app, event));
                    }
                }
                Some(Err(e)) => return Err(CliError::Local(format!("terminal input failed: {e}"))),
                None => return Ok(exit::OK),
            },
            _ = tokio::time::sleep_until(message_at.map_or_else(Instant::now, |(_, at)| at)), if message_at.is_some() => {
                if let Some((seq, _)) = message_at.take() {
                    app.message_expired(seq);
                }
            }
            Some(why) = open_failed.recv() => app.open_failed(&why),
            Some(news) = cuts.news.recv() => app.on_cut(news),
            _ = term.recv() => return Ok(143),
            _ = hangup.recv() => return Ok(129),
            event = engine.events.recv() => match event {
                Some(event) => {
                    manifests.heard(&event);
                    app.on_engine(event);
                }
                None => return Err(CliError::Local("the engine stopped".into())),
            },
            _ = tokio::time::sleep_until(manifests.due().map_or_else(Instant::now, Instant::from_std)), if manifests.due().is_some() => {
                for problem in manifests.write_due(std::time::Instant::now()) {
                    app.manifest_failed(&crate::sanitize::sanitize(&problem));
                }
            }
            _ = tokio::time::sleep_until(next_tick), if animating => {
                app.tick += 1;
                app.now = jiff::Timestamp::now();
                app.dirty = true;
                next_tick = Instant::now() + TICK;
            }
            _ = tokio::time::sleep_until(overview_at.unwrap_or_else(Instant::now)), if overview_at.is_some() => {
                overview_at = None;
                overview_seq += 1;
                let _ = engine.commands.send(engine::Command::Overview { seq: overview_seq });
            }
            _ = tokio::time::sleep_until(estimate_at.unwrap_or_else(Instant::now)), if estimate_at.is_some() => {
                estimate_at = None;
                // Typing paused: the draft is kept, as it stands, against a lost session.
                draft::save(draft_file, &draft::Draft { request: app.current_request() });
                if let Some(command) = app.estimate_command() {
                    let _ = engine.commands.send(command);
                }
                app.dirty = true;
            }
        }
        while let Ok(event) = engine.events.try_recv() {
            manifests.heard(&event);
            app.on_engine(event);
        }
        // On the way to the end of the list: the next pages once each one is in.
        app.follow_history(&mut effects);
        let notices = std::mem::take(&mut app.notifications);
        if !notices.is_empty() {
            let backend = terminal.backend_mut();
            for (title, body) in notices {
                let _ =
                    backend.write_all(&notify::bytes(app.notify, protocol, &title, &body, in_tmux));
            }
            let _ = backend.flush();
        }
        if app.overview_due && overview_at.is_none() {
            app.overview_due = false;
            overview_at = Some(Instant::now() + OVERVIEW_PACE);
        }
        // Reattached: the history is read again from its start.
        if app.history.total.is_none() && !app.history.pending {
            app.ask_history(&mut effects);
        }
    }
}

/// Terminal input from a thread of its own: a channel can be drained of everything waiting,
/// which is what lets a burst of events become one frame.
fn spawn_input_reader() -> tokio::sync::mpsc::UnboundedReceiver<std::io::Result<TermEvent>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        loop {
            let event = crossterm::event::read();
            let failed = event.is_err();
            if tx.send(event).is_err() || failed {
                break;
            }
        }
    });
    rx
}

fn on_terminal(app: &mut App, event: TermEvent) -> Vec<Effect> {
    match event {
        TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
            // What a key does may depend on when (a submission repeated within a minute).
            app.now = jiff::Timestamp::now();
            app.on_key(key)
        }
        TermEvent::Paste(text) => app.on_paste(&text),
        TermEvent::Resize(..) => {
            app.dirty = true;
            Vec::new()
        }
        TermEvent::Mouse(mouse) => {
            let delta = match mouse.kind {
                MouseEventKind::ScrollDown => 1,
                MouseEventKind::ScrollUp => -1,
                _ => return Vec::new(),
            };
            match &mut app.server {
                Some(view) => view.move_by(delta),
                None => app.queue.move_selection(delta),
            }
            app.dirty = true;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// One frame, inside synchronized output (DEC mode 2026): terminals that know it show the
/// frame whole; others ignore the two sequences.
fn draw(terminal: &mut Term, app: &mut App) -> std::io::Result<()> {
    queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|frame| render::draw(frame, app))?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}

fn enter(mouse: bool) -> std::io::Result<Term> {
    // Whatever happens later, a panic must leave a usable terminal behind.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        leave(mouse);
        previous(info);
    }));
    crossterm::terminal::enable_raw_mode()?;
    let mut stdout = std::io::stdout();
    // Cleared by hand: ratatui's clear() first asks the terminal where its cursor is, a round
    // trip over SSH that some terminals never answer.
    execute!(
        stdout,
        EnterAlternateScreen,
        EnableBracketedPaste,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    if mouse {
        execute!(stdout, EnableMouseCapture)?;
    }
    let backend = CrosstermBackend::new(BufWriter::with_capacity(64 * 1024, std::io::stdout()));
    Terminal::new(backend)
}

fn leave(mouse: bool) {
    let mut stdout = std::io::stdout();
    if mouse {
        let _ = execute!(stdout, DisableMouseCapture);
    }
    let _ = execute!(
        stdout,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = crossterm::terminal::disable_raw_mode();
}
