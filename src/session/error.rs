//! How a front-end's command ends: the exit codes scripts branch on, and the error that picks
//! one. Shared by the app and the subcommands, which reach their engine the same way.

use crate::api::ApiError;
use crate::config::ConfigError;

/// Exit codes, as documented in `--help` and the README.
pub mod exit {
    pub const OK: i32 = 0;
    pub const INVALID: i32 = 2;
    pub const API: i32 = 3;
    pub const JOB_FAILED: i32 = 4;
    /// Requests are held by a spend cap.
    pub const HELD: i32 = 5;
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Every problem with the input, one per line; nothing was sent.
    #[error("{}", .0.join("\nerror: "))]
    Invalid(Vec<String>),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{0}")]
    Local(String),
    /// What the engine could not do, and what kind of failure it was.
    #[error(transparent)]
    Engine(#[from] crate::engine::Failure),
}

/// What a build without the `demo` feature says where the simulator is asked for.
#[cfg_attr(feature = "demo", allow(dead_code))]
pub(crate) fn no_simulator(what: &str) -> CliError {
    CliError::Invalid(vec![format!(
        "{what} needs the local simulator, which this build leaves out (built without the \
         `demo` feature); build with the default features to have it"
    )])
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Config(_) | CliError::Invalid(_) => exit::INVALID,
            CliError::Api(ApiError::InvalidUrl { .. } | ApiError::InvalidInput { .. }) => {
                exit::INVALID
            }
            CliError::Engine(failure) if failure.kind == crate::engine::FailureKind::Invalid => {
                exit::INVALID
            }
            CliError::Api(_) | CliError::Local(_) | CliError::Engine(_) => exit::API,
        }
    }
}
