//! The engine process: holds the ledger folder's engine lock and the ledger, listens on its
//! socket, fans the engine's events out to every client, and leaves when told to, on a
//! signal, or once idle.

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::hub::Hub;
use super::place::{self, EngineInfo};
use super::protocol::{self, ClientMsg, EngineStatus, PROTOCOL, ServerMsg, encode};
use super::settings::EngineSettings;
use crate::engine::{self, Command, Ledger};

/// A client that does not say hello in this long is dropped.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections that have not proved they hold the credentials, at once; past it the oldest
/// of them is closed (as sshd's MaxStartups): a flood never takes the engine's files, and a
/// real client, which proves itself at once, still gets in.
const MAX_UNPROVED: usize = 256;
/// A client that did not attach (status, stop) and says nothing for this long is let go.
const UNATTACHED_IDLE: Duration = Duration::from_secs(300);
/// A client that takes this long to accept one frame is dropped (it reattaches).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the last events may take to reach the clients at the end.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How often the socket is touched, against temp cleaners (it is checked every second).
const KEEPALIVE: Duration = Duration::from_secs(60);

/// `kling-tui engine serve`: settings on stdin, one readiness line on stdout, logs on stderr.
/// Returns the exit code.
pub async fn serve_from_stdin() -> i32 {
    let mut text = String::new();
    let settings = match std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_str::<EngineSettings>(&text).map_err(|e| e.to_string()))
    {
        Ok(settings) => settings,
        Err(e) => {
            ready(Err(format!("cannot read the engine settings: {e}")));
            return 2;
        }
    };
    drop(text);
    match serve(settings).await {
        Ok(()) => 0,
        Err(message) => {
            tracing::error!("{message}");
            3
        }
    }
}

/// Tells the starting client how the start went, then lets go of stdout.
fn ready(outcome: Result<(), String>) {
    let line = match outcome {
        Ok(()) => "ready".to_string(),
        Err(e) => format!("error: {}", e.replace('\n', " ")),
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    // The client stops reading after this line; later writes must not fail or block.
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: both descriptors are open; dup2 replaces fd 1 atomically.
        unsafe {
            libc::dup2(null.as_raw_fd(), 1);
        }
    }
}

/// Raises the soft limit on open files to the hard one: an engine holds a socket per client,
/// a file per download and the ledger, and the usual soft 1024 is a few hundred clients away.
fn raise_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain calls on a struct of the right type.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                tracing::info!("open files: up to {}", limit.rlim_max);
            }
        }
    }
}

async fn serve(settings: EngineSettings) -> Result<(), String> {
    raise_file_limit();
    let ledger_dir = settings.ledger_dir.clone();
    if let Err(e) = std::fs::create_dir_all(&ledger_dir) {
        let message = format!(
            "cannot make the ledger folder {}: {e}",
            ledger_dir.display()
        );
        ready(Err(message.clone()));
        return Err(message);
    }
    // A client looking at the lock holds it, shared, for a moment: only a lock held all along
    // means another engine.
    let mut taken = place::take_engine_lock(&ledger_dir);
    for _ in 0..20 {
        if !matches!(taken, Ok(None)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        taken = place::take_engine_lock(&ledger_dir);
    }
    let mut lock = match taken {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            // Another engine won the race: the client connects to it.
            ready(Err("running".into()));
            return Ok(());
        }
        Err(e) => {
            ready(Err(e.to_string()));
            return Err(e.to_string());
        }
    };
    let started = Instant::now();
    let started_at = format!("{:.0}", jiff::Timestamp::now());
    let setup = async {
        super::check_private_dir(&settings.socket_dir).map_err(|e| e.to_string())?;
        let ledger = Ledger::open(&ledger_dir).map_err(|e| e.to_string())?;
        let identity = engine::file_identity(&ledger.path());
        let socket = place::socket_path(&settings.socket_dir, &ledger_dir);
        let listener = bind(&socket)?;
        let info = EngineInfo {
            pid: std::process::id(),
            version: protocol::build(),
            protocol: PROTOCOL,
            socket: socket.clone(),
            started_at: started_at.clone(),
            log: settings.log_file.clone(),
        };
        place::write_info(&mut lock, &info)
            .map_err(|e| format!("cannot write {}: {e}", place::LOCK_FILE))?;
        let options = settings.client_options().map_err(|e| e.to_string())?;
        let engine =
            engine::start(options, ledger, settings.engine_config()).map_err(|e| e.to_string())?;
        Ok::<_, String>((socket, listener, engine, identity))
    };
    let (socket, mut listener, engine, ledger_identity) = match setup.await {
        Ok(parts) => parts,
        Err(e) => {
            ready(Err(e.clone()));
            return Err(e);
        }
    };
    tracing::info!(
        "engine {} (protocol {PROTOCOL}) started, pid {}, socket {}, ledger {}",
        protocol::build(),
        std::process::id(),
        socket.display(),
        ledger_dir.display()
    );
    ready(Ok(()));

    let (commands, mut events, engine_task) = engine.into_parts();
    // The file as it reads now wins over the settings a client read before: a cap changed
    // since (or a file broken since) applies from the first request.
    let mut config_seen = settings
        .config_file
        .as_deref()
        .map(engine::config_file::fingerprint);
    if let Some(path) = settings.config_file.as_deref() {
        tracing::info!("watching {}", path.display());
        let _ = commands.send(Command::ReadConfig);
    }
    let hub = Arc::new(Hub::new());
    let pump = {
        let hub = hub.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                hub.publish(event);
            }
        })
    };
    let (stop_tx, mut stop_rx) = mpsc::unbounded_channel::<String>();
    let (stopping_tx, stopping_rx) = watch::channel::<Option<String>>(None);
    let (closing_tx, closing_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        hub: hub.clone(),
        commands: commands.clone(),
        stop: stop_tx,
        stopping: stopping_rx,
        closing: closing_rx,
        connections: AtomicUsize::new(0),
        unproved: std::sync::Mutex::new(std::collections::VecDeque::new()),
        next_connection: std::sync::atomic::AtomicU64::new(0),
        nonce_source: settings.credentials(),
        status: StatusSource {
            started,
            started_at,
            socket: socket.clone(),
            log: settings.log_file.clone(),
            ledger: ledger_dir.clone(),
            ledger_file: ledger_identity,
            idle_exit_secs: settings.idle_exit().map_or(0, |d| d.as_secs()),
        },
    });

    let signal =
        |kind| tokio::signal::unix::signal(kind).map_err(|e| format!("cannot watch signals: {e}"));
    use tokio::signal::unix::SignalKind;
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    // Started detached, but a hang-up must never end the work.
    let mut hangup = signal(SignalKind::hangup())?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut idle_since: Option<Instant> = None;
    let mut kept_alive = Instant::now();
    let mut bound = identity(&socket);
    let mut socket_trouble: Option<String> = None;
    let idle_exit = settings.idle_exit();
    let reason = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Counted from here, not from its hello: an engine never leaves while a
                    // client is still greeting it.
                    let shared = shared.clone();
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(async move { shared.client(stream).await });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = term.recv() => break "SIGTERM".to_string(),
            _ = interrupt.recv() => break "SIGINT".to_string(),
            _ = hangup.recv() => tracing::info!("SIGHUP ignored: the engine goes on"),
            Some(reason) = stop_rx.recv() => break reason,
            _ = tick.tick() => {
                // The file it writes must be the one on disk: a folder removed and made again
                // (by another engine) would leave paid jobs in a file no one reads.
                if engine::file_identity(&ledger_dir.join("ledger.sqlite3")) != ledger_identity {
                    break "its ledger was removed or replaced".to_string();
                }
                if let (Some(path), Some(seen)) =
                    (settings.config_file.as_deref(), config_seen.as_mut())
                {
                    let now = engine::config_file::fingerprint(path);
                    if now != *seen {
                        *seen = now;
                        tracing::info!("{} changed: read again", path.display());
                        let _ = commands.send(Command::ReadConfig);
                    }
                }
                let touch_now = kept_alive.elapsed() >= KEEPALIVE;
                if touch_now {
                    kept_alive = Instant::now();
                }
                match keep_socket(&socket, &settings.socket_dir, &mut bound, touch_now) {
                    Ok(Some(fresh)) => {
                        listener = fresh;
                        socket_trouble = None;
                    }
                    Ok(None) => socket_trouble = None,
                    // Said once, not every second while it lasts.
                    Err(e) => {
                        if socket_trouble.as_ref() != Some(&e) {
                            tracing::error!("cannot bind the socket again: {e}");
                        }
                        socket_trouble = Some(e);
                    }
                }
                // At rest by the worker's own word: jobs whose polls were given up, or that
                // wait on refused credentials, keep no engine alive (the next start takes them
                // up again).
                let idle = shared.connections.load(Ordering::SeqCst) == 0 && hub.at_rest();
                match (idle, idle_exit) {
                    (true, Some(limit)) => {
                        let since = *idle_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= limit {
                            break format!("idle for {}", crate::units::human_duration(limit));
                        }
                    }
                    _ => idle_since = None,
                }
            }
        }
    };
    tracing::info!("stopping: {reason}");
    let _ = stopping_tx.send(Some(reason));
    // Nothing new is taken; POSTs already sent get their answers ledgered (bounded).
    drop(listener);
    let _ = commands.send(Command::Shutdown);
    drop(commands);
    drop(shared);
    let _ = engine_task.await;
    // The engine's last events reach the clients, then every connection is closed.
    if tokio::time::timeout(CLOSE_GRACE, pump).await.is_err() {
        tracing::warn!("the engine's last events were still coming: not waited for");
    }
    let _ = closing_tx.send(true);
    let deadline = Instant::now() + CLOSE_GRACE;
    while hub.clients() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    remove_socket(&socket);
    tracing::info!("stopped; the ledger is free");
    drop(lock);
    Ok(())
}

/// Binds the socket, replacing a stale one (a dead engine's: this process holds the lock, so
/// no live engine uses it). Anything but a socket at that name is left alone and refused.
fn bind(socket: &Path) -> Result<UnixListener, String> {
    match std::fs::symlink_metadata(socket) {
        Ok(meta) if meta.file_type().is_socket() => {
            let _ = std::fs::remove_file(socket);
        }
        Ok(_) => {
            return Err(format!(
                "{} exists and is not a socket: refused",
                socket.display()
            ));
        }
        Err(_) => {}
    }
    let listener = UnixListener::bind(socket)
        .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
    let _ = std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600));
    Ok(listener)
}

/// The socket file's identity, to tell ours from one that replaced it.
fn identity(socket: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(socket)
        .ok()
        .filter(|m| m.file_type().is_socket())
        .map(|m| (m.dev(), m.ino()))
}

/// Checks that the socket is still the one bound (a temp cleaner may have removed it, or
/// something put another in its place) and binds it again if not; touches it and its folder
/// when `touch_now`, so cleaners that go by age leave them.
fn keep_socket(
    socket: &Path,
    dir: &Path,
    bound: &mut Option<(u64, u64)>,
    touch_now: bool,
) -> Result<Option<UnixListener>, String> {
    if bound.is_some() && identity(socket) == *bound {
        if touch_now {
            for path in [socket, dir] {
                touch(path);
            }
        }
        return Ok(None);
    }
    super::check_private_dir(dir).map_err(|e| e.to_string())?;
    let listener = bind(socket)?;
    tracing::warn!(
        "the socket {} disappeared or was replaced: bound it again",
        socket.display()
    );
    *bound = identity(socket);
    Ok(Some(listener))
}

fn touch(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: a valid C string; null times mean "now"; the link itself is never followed.
    unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            std::ptr::null(),
            libc::AT_SYMLINK_NOFOLLOW,
        );
    }
}

fn remove_socket(socket: &Path) {
    if std::fs::symlink_metadata(socket).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(socket);
    }
}

struct StatusSource {
    started: Instant,
    started_at: String,
    socket: PathBuf,
    log: PathBuf,
    ledger: PathBuf,
    ledger_file: Option<(u64, u64)>,
    idle_exit_secs: u64,
}

/// What every client task shares.
struct Shared {
    hub: Arc<Hub>,
    commands: mpsc::UnboundedSender<Command>,
    stop: mpsc::UnboundedSender<String>,
    stopping: watch::Receiver<Option<String>>,
    /// The engine has ended: what is left is written to each client, then it is let go.
    closing: watch::Receiver<bool>,
    /// Connections open, greeted or not.
    connections: AtomicUsize,
    /// Connections not proved yet, oldest first, each with the bell that closes it.
    unproved: std::sync::Mutex<std::collections::VecDeque<(u64, Arc<tokio::sync::Notify>)>>,
    next_connection: std::sync::atomic::AtomicU64,
    nonce_source: crate::api::Credentials,
    status: StatusSource,
}

impl Shared {
    fn status(&self) -> EngineStatus {
        let (jobs, unfinished) = self.hub.counts();
        EngineStatus {
            pid: std::process::id(),
            version: protocol::build(),
            protocol: PROTOCOL,
            started_at: self.status.started_at.clone(),
            uptime_secs: self.status.started.elapsed().as_secs(),
            jobs,
            unfinished,
            clients: self.hub.clients(),
            busy: self.hub.busy(),
            socket: self.status.socket.clone(),
            log: self.status.log.clone(),
            ledger: self.status.ledger.clone(),
            ledger_file: self.status.ledger_file,
            idle_exit_secs: self.status.idle_exit_secs,
        }
    }

    async fn client(self: Arc<Self>, stream: UnixStream) {
        let id = self.next_connection.fetch_add(1, Ordering::SeqCst);
        let bell = Arc::new(tokio::sync::Notify::new());
        let evicted = {
            let mut unproved = self.unproved.lock().unwrap_or_else(|e| e.into_inner());
            unproved.push_back((id, bell.clone()));
            (unproved.len() > MAX_UNPROVED).then(|| unproved.pop_front())
        };
        if let Some(Some((_, oldest))) = evicted {
            oldest.notify_one();
        }
        tokio::select! {
            result = self.client_inner(stream, id) => {
                if let Err(e) = result {
                    tracing::debug!("client left: {e}");
                }
            }
            () = bell.notified() => {
                tracing::debug!("an unproved connection was let go for a newer one");
            }
        }
        self.proved(id);
        self.connections.fetch_sub(1, Ordering::SeqCst);
    }

    /// Connection `id` proved itself (or left): no longer among those a flood may evict.
    fn proved(&self, id: u64) {
        self.unproved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(other, _)| *other != id);
    }

    async fn client_inner(&self, stream: UnixStream, id: u64) -> std::io::Result<()> {
        let peer = stream.peer_cred()?;
        let (r, w) = stream.into_split();
        // Small frames only until the client proves it holds the credentials.
        let mut reader = protocol::guarded_reader(r);
        let mut writer = protocol::writer(w);
        if peer.uid() != place::euid() {
            tracing::warn!("refused a client of uid {}", peer.uid());
            let reason = "this engine serves only its own user".to_string();
            let _ = protocol::send(&mut writer, &ServerMsg::Refused { reason }).await;
            return Ok(());
        }
        let nonce = format!("{:032x}", rand::random::<u128>());
        let hello = ServerMsg::Hello {
            protocol: PROTOCOL,
            build: protocol::build(),
            pid: std::process::id(),
            nonce: nonce.clone(),
            busy: self.hub.busy(),
        };
        protocol::send(&mut writer, &hello).await?;
        let first =
            tokio::time::timeout(HELLO_TIMEOUT, protocol::next::<_, ClientMsg>(&mut reader))
                .await
                .map_err(|_| std::io::Error::other("no hello"))??;
        let Some(ClientMsg::Hello { proof, attach, .. }) = first else {
            return Ok(());
        };
        let trusted = match proof {
            Some(proof) if proof == self.nonce_source.proof(&nonce) => true,
            Some(_) => {
                let reason = "the engine for this ledger runs with other credentials than \
                    yours; stop it with `kling-tui engine stop` to start one with yours"
                    .to_string();
                let _ = protocol::send(&mut writer, &ServerMsg::Refused { reason }).await;
                return Ok(());
            }
            None => false,
        };
        if attach && !trusted {
            let reason = "attaching needs the credentials the engine runs with".to_string();
            let _ = protocol::send(&mut writer, &ServerMsg::Refused { reason }).await;
            return Ok(());
        }
        if trusted {
            protocol::trust(&mut reader);
            self.proved(id);
        }
        let stopping_now = self.stopping.borrow().clone();
        if let Some(reason) = stopping_now {
            // Too late to attach: the client tries again, and starts a new engine if need be.
            write(&mut writer, encode(&ServerMsg::Stopping { reason })).await?;
            return Ok(());
        }
        let status = self.status();
        write(&mut writer, encode(&ServerMsg::Welcome { status })).await?;
        let mut stopping = self.stopping.clone();
        let mut closing = self.closing.clone();
        let mut told = false;
        if !attach {
            // Status and stop only.
            loop {
                tokio::select! {
                    message = tokio::time::timeout(
                        UNATTACHED_IDLE,
                        protocol::next::<_, ClientMsg>(&mut reader),
                    ) => match message.map_err(|_| std::io::Error::other("idle"))?? {
                        Some(ClientMsg::Status) => {
                            let status = self.status();
                            write(&mut writer, encode(&ServerMsg::Status { status })).await?;
                        }
                        Some(ClientMsg::Stop) => {
                            let _ = self.stop.send("`kling-tui engine stop`".into());
                        }
                        // Commands need an attached client: their answers are routed to it.
                        Some(ClientMsg::Command { .. }) => {
                            tracing::debug!("a command from a client not attached: ignored");
                        }
                        Some(_) => {}
                        None => return Ok(()),
                    },
                    _ = stopping.changed(), if !told => {
                        told = true;
                        let reason = stopping.borrow().clone().unwrap_or_default();
                        write(&mut writer, encode(&ServerMsg::Stopping { reason })).await?;
                    }
                    _ = closing.changed() => return Ok(()),
                }
            }
        }

        let (id, mut answers, (mut last, snapshot), mut deltas) = self.hub.join();
        let result = async {
            write(&mut writer, snapshot).await?;
            loop {
                tokio::select! {
                    Some(frame) = answers.recv() => write(&mut writer, frame).await?,
                    delta = deltas.recv() => match delta {
                        Ok((seq, frame)) if seq > last => {
                            last = seq;
                            write(&mut writer, frame).await?;
                        }
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                            // A slow link: a fresh snapshot, not a stalled engine.
                            tracing::info!("client {id} fell {missed} changes behind: sent a snapshot");
                            let (seq, frame) = self.hub.snapshot();
                            last = seq;
                            write(&mut writer, frame).await?;
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                    },
                    message = protocol::next::<_, ClientMsg>(&mut reader) => match message? {
                        // Only the engine's own end stops it, never a client's word.
                        Some(ClientMsg::Command { command }) if *command == Command::Shutdown => {}
                        Some(ClientMsg::Command { command }) => {
                            let _ = self.commands.send(self.hub.route(id, *command));
                        }
                        Some(ClientMsg::Status) => {
                            let status = self.status();
                            write(&mut writer, encode(&ServerMsg::Status { status })).await?;
                        }
                        Some(ClientMsg::Stop) => {
                            let _ = self.stop.send("`kling-tui engine stop`".into());
                        }
                        Some(ClientMsg::Hello { .. }) => {}
                        None => return Ok(()),
                    },
                    // Told once; what the last answers change still reaches the client
                    // until the process ends and the connection closes.
                    _ = stopping.changed(), if !told => {
                        told = true;
                        let reason = stopping.borrow().clone().unwrap_or_default();
                        write(&mut writer, encode(&ServerMsg::Stopping { reason })).await?;
                    }
                    _ = closing.changed() => {
                        while let Ok(frame) = answers.try_recv() {
                            write(&mut writer, frame).await?;
                        }
                        while let Ok((seq, frame)) = deltas.try_recv() {
                            if seq > last {
                                last = seq;
                                write(&mut writer, frame).await?;
                            }
                        }
                        return Ok(());
                    }
                }
            }
        }
        .await;
        let unanswered = self.hub.leave(id);
        if !unanswered.is_empty() {
            // Work done only for it (a listing of the team's jobs) stops with it.
            let _ = self.commands.send(Command::Abandoned { seqs: unanswered });
        }
        result
    }
}

async fn write(
    writer: &mut protocol::Writer<tokio::net::unix::OwnedWriteHalf>,
    frame: bytes::Bytes,
) -> std::io::Result<()> {
    use futures_util::SinkExt;
    match tokio::time::timeout(WRITE_TIMEOUT, writer.send(frame)).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::other("the client stopped reading")),
    }
}
