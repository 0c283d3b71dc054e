//! The engine as a process of its own, one per ledger, and the clients that reach it over a
//! Unix socket: the app, every command, every SSH session. The first client that needs the
//! engine starts it; it goes on when the clients are gone, and leaves by itself once nothing
//! is left to do.
//!
//! ```text
//!  app ─────┐                              ┌── Scenario API, CDN
//!  submit ──┼── socket (hello, snapshot, ──┤ engine (one per ledger)
//!  watch ───┘   numbered deltas)           └── ledger.sqlite3
//! ```

mod hub;
mod link;
mod logind;
mod place;
mod protocol;
mod serve;
mod settings;
mod spawn;

pub use link::{Attach, attach};
pub use logind::linger_warning;
pub use place::{EngineInfo, SOCKET_DIR_VAR, check_private_dir, read_info, socket_dir};
pub use protocol::{EngineStatus, PROTOCOL};
pub use serve::serve_from_stdin;
pub use settings::EngineSettings;
pub use spawn::{Reach, engine_status, stop_engine};

/// Why a client could not reach an engine, or an engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The socket folder is not private: nothing is connected or bound there.
    #[error("{0}")]
    Unsafe(String),
    /// The engine said no (other credentials, another API).
    #[error("{0}")]
    Refused(String),
    /// An engine of another version holds the ledger and has work in flight.
    #[error("{0}")]
    Version(String),
    /// No engine runs for this ledger (and this client does not start one).
    #[error("no engine is running for {0}")]
    NotRunning(String),
    /// The engine did not start: its own words.
    #[error("the engine did not start: {0}")]
    Start(String),
    #[error("{0}")]
    Io(String),
}

impl DaemonError {
    fn io(what: impl std::fmt::Display, e: impl std::fmt::Display) -> Self {
        DaemonError::Io(format!("{what}: {e}"))
    }
}
