//! A client's way to its engine: found through the ledger folder's lock, reached over the
//! socket with a hello both ways, started detached when none runs (one starter at a time,
//! under a start lock), replaced when it is an older one with nothing in flight.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::Instant;

use super::DaemonError;
use super::place::{self, EngineInfo};
use super::protocol::{self, ClientMsg, EngineStatus, PROTOCOL, Reader, ServerMsg, Writer};
use super::settings::EngineSettings;

/// How long a client waits for an engine to start and answer.
const START_DEADLINE: Duration = Duration::from_secs(10);
/// How long `engine stop` waits for the ledger to be free.
const STOP_DEADLINE: Duration = Duration::from_secs(20);
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a client finds its engine, and what it starts one with.
#[derive(Debug, Clone)]
pub struct Reach {
    pub ledger_dir: PathBuf,
    /// The client's resolved settings: to start an engine, and to prove the credentials.
    /// Without them only a running engine is reached, for its status or a stop.
    pub settings: Option<EngineSettings>,
}

/// An open, greeted connection.
pub(super) struct Connection {
    pub reader: Reader<OwnedReadHalf>,
    pub writer: Writer<OwnedWriteHalf>,
    pub status: EngineStatus,
}

enum Handshake {
    Ok(Box<Connection>),
    /// An engine of another protocol.
    Other {
        build: String,
        protocol: u32,
        busy: bool,
    },
    Failed(DaemonError),
    /// Nobody answered (yet): the engine is starting, or gone.
    Unreachable(String),
}

/// Reaches the engine of `reach.ledger_dir`, starting one if none runs and `may_start`.
pub(super) async fn connect(
    reach: &Reach,
    attach: bool,
    may_start: bool,
) -> Result<Connection, DaemonError> {
    let deadline = Instant::now() + START_DEADLINE;
    let may_start = may_start && reach.settings.is_some();
    let mut started = false;
    loop {
        let unreachable = match place::read_info(&reach.ledger_dir)? {
            Some(Some(info)) => match handshake(&info.socket, reach, attach).await {
                Handshake::Ok(connection) => match serves(&connection.status, &info, reach) {
                    // Another engine on the same socket path (one whose ledger was removed,
                    // about to notice and leave): never talked to; the lock's own engine
                    // takes the path back within a second.
                    Err(why) => why,
                    Ok(()) => return Ok(*connection),
                },
                Handshake::Failed(e) => return Err(e),
                Handshake::Other {
                    build,
                    protocol,
                    busy,
                } => {
                    if busy || !may_start {
                        return Err(DaemonError::Version(format!(
                            "the running engine is kling-tui {build} (protocol {protocol}); this \
                             is kling-tui {} (protocol {PROTOCOL}). It has work in flight, so it \
                             was left running: let it finish (it leaves by itself when idle), \
                             or stop it with the kling-tui that started it",
                            protocol::build()
                        )));
                    }
                    tracing::info!("replacing the idle engine {build} (protocol {protocol})");
                    stop_at(&info.socket, &reach.ledger_dir).await?;
                    continue;
                }
                Handshake::Unreachable(why) => format!(
                    "the engine (pid {}) does not answer on {}: {why}",
                    info.pid,
                    info.socket.display()
                ),
            },
            Some(None) => "the engine is still starting".to_string(),
            None if may_start && !started => {
                start(reach).await?;
                started = true;
                continue;
            }
            None if started => "the engine it started has already stopped".to_string(),
            None => {
                return Err(DaemonError::NotRunning(
                    reach.ledger_dir.display().to_string(),
                ));
            }
        };
        if Instant::now() >= deadline {
            return Err(DaemonError::Io(unreachable));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the engine that answered is the one `engine.lock` names, serving the ledger file
/// now on disk.
fn serves(status: &EngineStatus, info: &EngineInfo, reach: &Reach) -> Result<(), String> {
    if status.pid != info.pid {
        return Err(format!(
            "the engine answering on {} is pid {}, not pid {} of {}",
            info.socket.display(),
            status.pid,
            info.pid,
            place::LOCK_FILE
        ));
    }
    let on_disk = crate::engine::file_identity(&reach.ledger_dir.join("ledger.sqlite3"));
    match status.ledger_file {
        Some(held) if Some(held) != on_disk => Err(format!(
            "the engine (pid {}) writes a ledger that is no longer {}",
            status.pid,
            reach.ledger_dir.join("ledger.sqlite3").display()
        )),
        _ => Ok(()),
    }
}

async fn handshake(socket: &Path, reach: &Reach, attach: bool) -> Handshake {
    if let Some(dir) = socket.parent()
        && let Err(e) = super::check_private_dir(dir)
    {
        return Handshake::Failed(e);
    }
    let stream = match tokio::time::timeout(HELLO_TIMEOUT, UnixStream::connect(socket)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            // Something else at the socket's name: said, since "connection refused" alone
            // gives no hint of it.
            use std::os::unix::fs::FileTypeExt;
            let what = match std::fs::symlink_metadata(socket) {
                Ok(meta) if !meta.file_type().is_socket() => format!(
                    "{e} ({} is not a socket: remove it, or stop what put it there)",
                    socket.display()
                ),
                _ => e.to_string(),
            };
            return Handshake::Unreachable(what);
        }
        Err(_) => return Handshake::Unreachable("no answer".into()),
    };
    match stream.peer_cred() {
        Ok(peer) if peer.uid() == place::euid() => {}
        Ok(peer) => {
            return Handshake::Failed(DaemonError::Unsafe(format!(
                "the socket {} is served by uid {}, not by you: refused",
                socket.display(),
                peer.uid()
            )));
        }
        Err(e) => return Handshake::Unreachable(e.to_string()),
    }
    let (r, w) = stream.into_split();
    let mut reader = protocol::reader(r);
    let mut writer = protocol::writer(w);
    let first = tokio::time::timeout(HELLO_TIMEOUT, protocol::next::<_, ServerMsg>(&mut reader));
    let (nonce, build) = match first.await {
        Ok(Ok(Some(ServerMsg::Hello {
            protocol,
            build,
            nonce,
            busy,
            ..
        }))) => {
            if protocol != PROTOCOL {
                return Handshake::Other {
                    build,
                    protocol,
                    busy,
                };
            }
            (nonce, build)
        }
        Ok(Ok(Some(ServerMsg::Refused { reason }))) => {
            return Handshake::Failed(DaemonError::Refused(reason));
        }
        Ok(Ok(Some(other))) => {
            return Handshake::Failed(DaemonError::Io(format!(
                "the engine did not greet first ({other:?})"
            )));
        }
        Ok(Ok(None)) => return Handshake::Unreachable("it closed the connection".into()),
        Ok(Err(e)) => return Handshake::Unreachable(e.to_string()),
        Err(_) => return Handshake::Unreachable("no hello in 10 s".into()),
    };
    if build != protocol::build() {
        tracing::info!(
            "the engine is kling-tui {build}, this client {}",
            protocol::build()
        );
    }
    let hello = ClientMsg::Hello {
        protocol: PROTOCOL,
        build: protocol::build(),
        proof: reach
            .settings
            .as_ref()
            .map(|s| s.credentials().proof(&nonce)),
        attach,
    };
    if let Err(e) = protocol::send(&mut writer, &hello).await {
        return Handshake::Unreachable(e.to_string());
    }
    match tokio::time::timeout(HELLO_TIMEOUT, protocol::next::<_, ServerMsg>(&mut reader)).await {
        Ok(Ok(Some(ServerMsg::Welcome { status }))) => Handshake::Ok(Box::new(Connection {
            reader,
            writer,
            status,
        })),
        Ok(Ok(Some(ServerMsg::Refused { reason }))) => {
            Handshake::Failed(DaemonError::Refused(reason))
        }
        Ok(Ok(Some(ServerMsg::Stopping { reason }))) => {
            Handshake::Unreachable(format!("it is stopping ({reason})"))
        }
        Ok(Ok(_)) => Handshake::Unreachable("it closed the connection".into()),
        Ok(Err(e)) => Handshake::Unreachable(e.to_string()),
        Err(_) => Handshake::Unreachable("no welcome in 10 s".into()),
    }
}

/// Starts an engine for `reach`, unless another client does first: one at a time, under the
/// ledger folder's start lock. Returns once it is ready, or with its own start error.
async fn start(reach: &Reach) -> Result<(), DaemonError> {
    let Some(settings) = &reach.settings else {
        return Err(DaemonError::NotRunning(
            reach.ledger_dir.display().to_string(),
        ));
    };
    crate::config::private_dir(&reach.ledger_dir)
        .map_err(|e| DaemonError::io(format!("cannot make {}", reach.ledger_dir.display()), e))?;
    let _start_lock = start_lock(&reach.ledger_dir).await?;
    if place::engine_alive(&reach.ledger_dir) {
        // Another client started it while this one waited for the lock.
        return Ok(());
    }
    let settings = settings.clone();
    tokio::task::spawn_blocking(move || spawn_engine(&settings))
        .await
        .map_err(|e| DaemonError::Start(e.to_string()))?
}

async fn start_lock(ledger_dir: &Path) -> Result<File, DaemonError> {
    let path = ledger_dir.join(place::START_LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| DaemonError::io(path.display(), e))?;
    let deadline = Instant::now() + START_DEADLINE * 2;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(TryLockError::WouldBlock) => {
                return Err(DaemonError::Start(format!(
                    "another client has been starting the engine for too long ({} is held)",
                    path.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(DaemonError::io(path.display(), e)),
        }
    }
}

/// The engine process: this binary, detached in a session of its own, settings through
/// stdin, one readiness line back through stdout, stderr into its log.
fn spawn_engine(settings: &EngineSettings) -> Result<(), DaemonError> {
    let exe = std::env::current_exe()
        .map_err(|e| DaemonError::Start(format!("cannot find this program: {e}")))?;
    if let Some(dir) = settings.log_file.parent() {
        let _ = crate::config::private_dir(dir);
    }
    rotate(&settings.log_file);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&settings.log_file)
        .map_err(|e| DaemonError::io(format!("cannot open {}", settings.log_file.display()), e))?;
    let mut command = std::process::Command::new(exe);
    command
        .args(["engine", "serve"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        // Its own working folder: it must not keep the client's mounted or busy.
        .current_dir("/");
    // The credentials travel through the pipe only.
    for var in crate::config::CREDENTIAL_VARS {
        command.env_remove(var);
    }
    // SAFETY: setsid is async-signal-safe; it only detaches the child from the client's
    // terminal and session, so a hang-up there never reaches the engine.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| DaemonError::Start(format!("cannot run the engine: {e}")))?;
    let text = serde_json::to_string(settings).map_err(|e| DaemonError::Start(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(text.as_bytes());
    }
    let stdout = child.stdout.take();
    // Reaped when it ends, so a long-lived client leaves no zombie behind.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    let Some(stdout) = stdout else {
        return Err(DaemonError::Start("no readiness pipe".into()));
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
    });
    let log = settings.log_file.display();
    match rx.recv_timeout(START_DEADLINE) {
        Ok(Ok(line)) => match line.trim_end() {
            "ready" | "error: running" => Ok(()),
            "" => Err(DaemonError::Start(format!(
                "it exited before saying it was ready; see {log}"
            ))),
            other => Err(DaemonError::Start(
                crate::sanitize::sanitize(other.trim_start_matches("error: ")).to_string(),
            )),
        },
        Ok(Err(e)) => Err(DaemonError::Start(format!("{e}; see {log}"))),
        Err(_) => Err(DaemonError::Start(format!(
            "no word from it in {} s; see {log}",
            START_DEADLINE.as_secs()
        ))),
    }
}

/// A log past 8 MiB is moved to `.1` (one generation kept) when an engine starts.
fn rotate(log: &Path) {
    if std::fs::metadata(log).is_ok_and(|m| m.len() > 8 << 20) {
        let mut old = log.as_os_str().to_owned();
        old.push(".1");
        let _ = std::fs::rename(log, PathBuf::from(old));
    }
}

/// Asks the engine on `socket` to stop, and waits until the ledger is free.
async fn stop_at(socket: &Path, ledger_dir: &Path) -> Result<(), DaemonError> {
    stop_peer(socket, ledger_dir, false).await.map(drop)
}

/// Asks the engine at `socket` to stop and waits until it has: its ledger free and, with
/// `by_pid` (no lock names it), its process gone. Returns the engine's pid.
async fn stop_peer(
    socket: &Path,
    ledger_dir: &Path,
    by_pid: bool,
) -> Result<Option<i32>, DaemonError> {
    // The same checks as any connection: a private folder, a peer of this user.
    if let Some(dir) = socket.parent() {
        super::check_private_dir(dir)?;
    }
    let stream = match tokio::time::timeout(HELLO_TIMEOUT, UnixStream::connect(socket)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Err(DaemonError::io(socket.display(), e)),
        Err(_) => return Err(DaemonError::Io(format!("{}: no answer", socket.display()))),
    };
    let pid = match stream.peer_cred() {
        Ok(peer) if peer.uid() == place::euid() => peer.pid(),
        Ok(peer) => {
            return Err(DaemonError::Unsafe(format!(
                "the socket {} is served by uid {}, not by you: refused",
                socket.display(),
                peer.uid()
            )));
        }
        Err(e) => return Err(DaemonError::io(socket.display(), e)),
    };
    let (r, w) = stream.into_split();
    let mut reader = protocol::reader(r);
    let mut writer = protocol::writer(w);
    // Whatever its protocol, a hello and a stop read the same.
    let _ = tokio::time::timeout(HELLO_TIMEOUT, protocol::next::<_, ServerMsg>(&mut reader)).await;
    let hello = ClientMsg::Hello {
        protocol: PROTOCOL,
        build: protocol::build(),
        proof: None,
        attach: false,
    };
    protocol::send(&mut writer, &hello)
        .await
        .map_err(|e| DaemonError::io(socket.display(), e))?;
    protocol::send(&mut writer, &ClientMsg::Stop)
        .await
        .map_err(|e| DaemonError::io(socket.display(), e))?;
    let deadline = Instant::now() + STOP_DEADLINE;
    // Signal 0 only asks whether the process exists; a zombie (ended, its parent not told
    // yet) has stopped all the same.
    let running = |pid: i32| {
        // SAFETY: a plain query with no effect on the process.
        let exists = unsafe { libc::kill(pid, 0) } == 0;
        exists
            && std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|stat| {
                    !stat
                        .rsplit_once(')')
                        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
                })
                .unwrap_or(false)
    };
    while place::engine_alive(ledger_dir) || (by_pid && pid.is_some_and(running)) {
        if Instant::now() >= deadline {
            return Err(DaemonError::Io(format!(
                "the engine did not stop within {} s",
                STOP_DEADLINE.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(pid)
}

/// `kling-tui engine stop`: what was stopped, once its ledger is free; `None` if no engine ran.
pub async fn stop_engine(ledger_dir: &Path) -> Result<Option<EngineInfo>, DaemonError> {
    let info = match place::read_info(ledger_dir)? {
        None => return stop_orphan(ledger_dir).await,
        Some(info) => info,
    };
    let Some(info) = info else {
        return Err(DaemonError::Io(
            "the engine is starting; try again in a moment".into(),
        ));
    };
    stop_at(&info.socket, ledger_dir).await?;
    Ok(Some(info))
}

/// An engine found on this ledger's socket path with no lock naming it (its ledger folder
/// was removed under it): stopped as well.
async fn stop_orphan(ledger_dir: &Path) -> Result<Option<EngineInfo>, DaemonError> {
    use std::os::unix::fs::FileTypeExt;
    let socket = place::socket_path(&super::socket_dir(), ledger_dir);
    let is_socket = std::fs::symlink_metadata(&socket).is_ok_and(|m| m.file_type().is_socket());
    if !is_socket {
        return Ok(None);
    }
    match stop_peer(&socket, ledger_dir, true).await {
        Ok(pid) => Ok(Some(EngineInfo {
            pid: pid.and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
            version: String::new(),
            protocol: 0,
            socket,
            started_at: String::new(),
            log: PathBuf::new(),
        })),
        // Nothing answers there: a socket left behind, not an engine.
        Err(DaemonError::Io(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `kling-tui engine status`: `None` when no engine runs.
pub async fn engine_status(ledger_dir: &Path) -> Result<Option<EngineStatus>, DaemonError> {
    let reach = Reach {
        ledger_dir: ledger_dir.to_path_buf(),
        settings: None,
    };
    let mut connection = match connect(&reach, false, false).await {
        Ok(connection) => connection,
        Err(DaemonError::NotRunning(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    protocol::send(&mut connection.writer, &ClientMsg::Status)
        .await
        .map_err(|e| DaemonError::io("the engine", e))?;
    loop {
        match protocol::next::<_, ServerMsg>(&mut connection.reader).await {
            Ok(Some(ServerMsg::Status { status })) => return Ok(Some(status)),
            Ok(Some(_)) => {}
            Ok(None) => return Ok(Some(connection.status)),
            Err(e) => return Err(DaemonError::io("the engine", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(pid: u32, ledger_file: Option<(u64, u64)>) -> EngineStatus {
        EngineStatus {
            pid,
            version: String::new(),
            protocol: PROTOCOL,
            started_at: String::new(),
            uptime_secs: 0,
            jobs: 0,
            unfinished: 0,
            clients: 0,
            busy: false,
            socket: PathBuf::new(),
            log: PathBuf::new(),
            ledger: PathBuf::new(),
            ledger_file,
            idle_exit_secs: 0,
        }
    }

    #[test]
    fn only_the_locks_engine_on_the_ledger_on_disk_is_talked_to() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite3");
        std::fs::write(&ledger, b"first").unwrap();
        let held = crate::engine::file_identity(&ledger);
        let info = EngineInfo {
            pid: 41,
            version: String::new(),
            protocol: PROTOCOL,
            socket: dir.path().join("s"),
            started_at: String::new(),
            log: PathBuf::new(),
        };
        let reach = Reach {
            ledger_dir: dir.path().to_path_buf(),
            settings: None,
        };
        assert_eq!(serves(&status(41, held), &info, &reach), Ok(()));
        // An engine of an older build says nothing of its file: the pid still has to match.
        assert_eq!(serves(&status(41, None), &info, &reach), Ok(()));
        let other = serves(&status(42, held), &info, &reach).unwrap_err();
        assert!(other.contains("pid 42, not pid 41"), "{other}");
        // The folder removed and made again: a new file under the old name (made while the
        // first still exists, so it cannot reuse its inode).
        std::fs::write(dir.path().join("new"), b"second").unwrap();
        std::fs::rename(dir.path().join("new"), &ledger).unwrap();
        let replaced = serves(&status(41, held), &info, &reach).unwrap_err();
        assert!(replaced.contains("no longer"), "{replaced}");
    }
}
