//! Where a front-end's client, ledger and engine come from: the real API with credentials and
//! the ledger in the data folder, or an in-process simulator and a throw-away ledger for
//! `--demo`. The app and the subcommands both start here; neither reaches into the other.

use std::path::{Path, PathBuf};

use crate::api::{ClientOptions, DEFAULT_API_URL, ScenarioClient, parse_api_url};
use crate::cli::Cli;
use crate::config::{self, ConfigError, ConfigFile, Dirs};
use crate::daemon::{self, EngineStatus, Reach};
use crate::engine::{self, EngineConfig, EngineHandle, Ledger};
#[cfg(feature = "demo")]
use crate::sim::SimHandle;

#[cfg(feature = "demo")]
mod demo;
mod error;

#[cfg(not(feature = "demo"))]
pub(crate) use error::no_simulator;
pub use error::{CliError, exit};

/// With no client and nothing to do for this long, the background engine leaves.
pub const DEFAULT_ENGINE_IDLE_EXIT: std::time::Duration = std::time::Duration::from_secs(600);

pub struct Session {
    pub options: ClientOptions,
    pub client: ScenarioClient,
    pub config: Option<ConfigFile>,
    /// The ledger of jobs sent to this API (and project).
    pub ledger_dir: PathBuf,
    /// The background engine's log.
    pub engine_log: PathBuf,
    /// The config file, where there is a home for one: the engine watches it.
    pub config_file: Option<PathBuf>,
    pub demo: bool,
    requests_per_second: Option<f64>,
    give_up_after: Option<std::time::Duration>,
    /// Keep the demo simulator and its ledger alive as long as the session.
    #[cfg(feature = "demo")]
    _sim: Option<SimHandle>,
    _demo_dir: Option<tempfile::TempDir>,
}

impl Session {
    pub async fn open(cli: &Cli) -> Result<Self, CliError> {
        if cli.connection.demo {
            return Self::demo(cli).await;
        }
        let from_env = config::env_credentials(|name| std::env::var(name).ok())?;
        let dirs = Dirs::locate();
        // A file that cannot be read stops the command, credentials in the environment or
        // not: it may hold a spend cap, and a cap is never dropped by accident.
        let config = match &dirs {
            Ok(dirs) => config::load(&dirs.config_file)?,
            Err(_) if from_env.is_some() => None,
            Err(_) => return Err(ConfigError::NoHome.into()),
        };
        let (base_url, project_id) = endpoint(cli, config.as_ref())?;
        let credentials = match from_env {
            Some(credentials) => credentials,
            None => {
                let path = dirs
                    .as_ref()
                    .map(|d| d.config_file.clone())
                    .unwrap_or_default();
                config::credentials(|_| None, config.as_ref(), &path)?
            }
        };
        let mut options = ClientOptions::new(base_url, credentials);
        options.project_id = project_id;
        tune(&mut options, config.as_ref(), cli);
        let dirs = dirs.map_err(|_| ConfigError::NoHome)?;
        let key = journal_key(options.base_url.as_str(), options.project_id.as_deref());
        let ledger_dir = dirs.data_dir.join("journals").join(&key);
        Ok(Self {
            client: ScenarioClient::new(options.clone())?,
            options,
            config,
            ledger_dir,
            engine_log: engine_log(&dirs, &key),
            config_file: Some(dirs.config_file.clone()),
            demo: false,
            requests_per_second: cli.connection.requests_per_second,
            give_up_after: cli.connection.give_up_after,
            #[cfg(feature = "demo")]
            _sim: None,
            _demo_dir: None,
        })
    }

    #[cfg(not(feature = "demo"))]
    async fn demo(_cli: &Cli) -> Result<Self, CliError> {
        Err(no_simulator("--demo"))
    }

    /// A client that prints every retry on stderr as it happens, so a command that talks to
    /// the API directly is never silent while it waits.
    pub fn client_telling_retries(&self) -> Result<ScenarioClient, CliError> {
        let mut options = self.options.clone();
        options.retry.notice = Some(crate::api::RetryNotice(std::sync::Arc::new(|event| {
            eprintln!("warning: {event}");
        })));
        Ok(ScenarioClient::new(options)?)
    }

    /// The ledger folder for the API and project the flags and config name, without needing
    /// credentials: listing jobs must work with none.
    pub fn ledger_dir_for(cli: &Cli) -> Result<PathBuf, CliError> {
        Ok(Self::engine_paths(cli)?.0)
    }

    /// The ledger folder and the engine's log for the API and project the flags and config
    /// name, without needing credentials.
    pub fn engine_paths(cli: &Cli) -> Result<(PathBuf, PathBuf), CliError> {
        let dirs = Dirs::locate()?;
        let config = config::load(&dirs.config_file)?;
        let (base_url, project) = endpoint(cli, config.as_ref())?;
        let key = journal_key(base_url.as_str(), project.as_deref());
        Ok((
            dirs.data_dir.join("journals").join(&key),
            engine_log(&dirs, &key),
        ))
    }

    /// Where to find (or how to start) the background engine of this ledger.
    pub fn reach(&self, config: &EngineConfig) -> Reach {
        let idle_exit = self
            .config
            .as_ref()
            .and_then(|c| c.engine_idle_exit)
            .unwrap_or(DEFAULT_ENGINE_IDLE_EXIT);
        let mut settings = daemon::EngineSettings::new(
            &self.options,
            config,
            self.ledger_dir.clone(),
            self.engine_log.clone(),
            idle_exit,
        );
        settings.config_file = self.config_file.clone();
        Reach {
            ledger_dir: self.ledger_dir.clone(),
            settings: Some(settings),
        }
    }

    /// The engine that runs this ledger's jobs: the background one (attached to, or started
    /// with `config`), or with `--demo` one in this process, private to the demo.
    pub async fn engine(
        &self,
        config: EngineConfig,
    ) -> Result<(EngineHandle, Option<EngineStatus>), CliError> {
        if self.demo {
            let ledger = self.open_ledger()?;
            return Ok((engine::start(self.options.clone(), ledger, config)?, None));
        }
        // The engine reads config.toml itself, at its start and whenever it changes: its
        // caps are the file's, never a client's older reading of it.
        let attached = daemon::attach(self.reach(&config))
            .await
            .map_err(|e| CliError::Local(e.to_string()))?;
        // A change to the file made just before this command is taken now, not at the
        // engine's next look.
        let _ = attached.handle.commands.send(engine::Command::ReadConfig);
        Ok((attached.handle, Some(attached.status)))
    }

    /// `--out`/`--download` if given, else `download_dir` from the config, else `.`.
    pub fn download_dir(&self, given: Option<&Path>) -> PathBuf {
        given
            .map(PathBuf::from)
            .or_else(|| self.config.as_ref().and_then(|c| c.download_dir.clone()))
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// The engine's settings from the config file and flags.
    pub fn engine_config(&self, out: Option<&Path>) -> EngineConfig {
        let mut engine = EngineConfig {
            download_dir: self.download_dir(out),
            ..EngineConfig::default()
        };
        if let Some(c) = &self.config {
            engine.auto_download = c.auto_download.unwrap_or(engine.auto_download);
            engine.max_downloads = c.max_downloads.unwrap_or(engine.max_downloads);
            engine.requests_per_second =
                c.requests_per_second.unwrap_or(engine.requests_per_second);
            engine.max_spend_per_day = c.max_spend_per_day;
            engine.on_finish = c.on_finish.clone().unwrap_or_default();
            engine.video_wait = c.video_wait.unwrap_or(engine.video_wait);
            engine.team_id = c.team_id.clone();
        }
        if let Ok(team) = std::env::var("SCENARIO_TEAM_ID")
            && !team.trim().is_empty()
        {
            engine.team_id = Some(team);
        }
        if let Some(rate) = self.requests_per_second {
            engine.requests_per_second = rate;
        }
        engine.give_up_after = self
            .give_up_after
            .or_else(|| self.config.as_ref().and_then(|c| c.give_up_after))
            .or(engine.give_up_after);
        engine
    }

    /// Opens the ledger for writing; a second process gets a clear refusal.
    pub fn open_ledger(&self) -> Result<Ledger, CliError> {
        Ledger::open(&self.ledger_dir).map_err(|e| CliError::Local(e.to_string()))
    }
}

/// Settings of the client itself from the flags and config: how long a stalled transfer is
/// waited for, how big an unannounced download may grow, how long retries may go on.
fn tune(options: &mut ClientOptions, config: Option<&ConfigFile>, cli: &Cli) {
    if let Some(c) = config {
        options.read_timeout = c.stall_timeout.unwrap_or(options.read_timeout);
        options.max_download_bytes = c.max_download_bytes.unwrap_or(options.max_download_bytes);
    }
    options.retry.give_up_after = cli
        .connection
        .give_up_after
        .or_else(|| config.and_then(|c| c.give_up_after));
}

/// The API and project to use: flags (and their environment variables) first, then the
/// config file, then the public API.
fn endpoint(
    cli: &Cli,
    config: Option<&ConfigFile>,
) -> Result<(url::Url, Option<String>), CliError> {
    let url_text = cli
        .connection
        .api_url
        .clone()
        .or_else(|| config.and_then(|c| c.api_url.clone()))
        .unwrap_or_else(|| DEFAULT_API_URL.to_string());
    let project = cli
        .connection
        .project_id
        .clone()
        .or_else(|| config.and_then(|c| c.project_id.clone()));
    Ok((parse_api_url(&url_text)?, project))
}

fn engine_log(dirs: &Dirs, key: &str) -> PathBuf {
    dirs.state_dir.join(format!("engine-{key}.log"))
}

/// A folder name per API and project, so jobs are only ever polled where they were made.
fn journal_key(base_url: &str, project: Option<&str>) -> String {
    if base_url == DEFAULT_API_URL && project.is_none() {
        return "default".into();
    }
    let readable: String = base_url
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    // FNV-1a: stable across builds, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in base_url
        .bytes()
        .chain([0])
        .chain(project.unwrap_or("").bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{readable}-{:08x}", hash as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_keys_separate_apis_and_projects() {
        assert_eq!(journal_key(DEFAULT_API_URL, None), "default");
        let a = journal_key("http://127.0.0.1:8787/v1", None);
        let b = journal_key("http://127.0.0.1:8787/v1", Some("p"));
        let c = journal_key("http://127.0.0.1:8788/v1", None);
        assert!(a.starts_with("127-0-0-1-8787-v1-"), "{a}");
        assert!(a != b && a != c && b != c);
        assert_eq!(a, journal_key("http://127.0.0.1:8787/v1", None));
    }
}
