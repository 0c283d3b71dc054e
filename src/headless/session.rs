//! Where a command's client comes from: the real API with credentials, or an in-process
//! simulator for `--demo`.

use std::path::PathBuf;

use crate::api::{ClientOptions, Credentials, DEFAULT_API_URL, ScenarioClient, parse_api_url};
use crate::cli::Cli;
use crate::config::{self, ConfigFile, Dirs};
use crate::sim::{self, SimConfig, SimHandle};

use super::CliError;

/// Jobs run this many times faster than real time in `--demo`: a two-minute job takes ~5 s.
const DEMO_TIME_SCALE: f64 = 24.0;

pub struct Session {
    pub client: ScenarioClient,
    pub config: Option<ConfigFile>,
    /// Keeps the demo simulator alive as long as the session.
    _sim: Option<SimHandle>,
}

impl Session {
    pub async fn open(cli: &Cli) -> Result<Self, CliError> {
        if cli.demo {
            return Self::demo(cli).await;
        }
        let from_env = config::env_credentials(|name| std::env::var(name).ok())?;
        let dirs = Dirs::locate();
        let config = match &dirs {
            Ok(dirs) => match config::load(&dirs.config_file) {
                Ok(config) => config,
                // With credentials in the environment the file is not needed for them; a
                // file others can read is still reported, but does not stop the work.
                Err(e) if from_env.is_some() => {
                    eprintln!("warning: ignoring the config file: {e}");
                    None
                }
                Err(e) => return Err(e.into()),
            },
            Err(_) if from_env.is_some() => None,
            Err(_) => return Err(config::ConfigError::NoHome.into()),
        };
        let url_text = cli
            .api_url
            .clone()
            .or_else(|| config.as_ref().and_then(|c| c.api_url.clone()))
            .unwrap_or_else(|| DEFAULT_API_URL.to_string());
        let base_url = parse_api_url(&url_text)?;
        let credentials = match from_env {
            Some(credentials) => credentials,
            None => {
                let path = dirs.map(|d| d.config_file).unwrap_or_default();
                config::credentials(|_| None, config.as_ref(), &path)?
            }
        };
        let mut options = ClientOptions::new(base_url, credentials);
        options.project_id = cli
            .project_id
            .clone()
            .or_else(|| config.as_ref().and_then(|c| c.project_id.clone()));
        Ok(Self {
            client: ScenarioClient::new(options)?,
            config,
            _sim: None,
        })
    }

    async fn demo(cli: &Cli) -> Result<Self, CliError> {
        let handle = sim::start(SimConfig {
            time_scale: DEMO_TIME_SCALE,
            // A fresh seed per run, so two demo sessions never show the same job ids.
            seed: rand::random(),
            ..SimConfig::default()
        })
        .await
        .map_err(|e| CliError::Local(format!("cannot start the demo simulator: {e}")))?;
        let mut options = ClientOptions::new(
            parse_api_url(&handle.api_url)?,
            Credentials::new(sim::DEMO_API_KEY, sim::DEMO_API_SECRET),
        );
        options.project_id = cli.project_id.clone();
        Ok(Self {
            client: ScenarioClient::new(options)?,
            config: None,
            _sim: Some(handle),
        })
    }

    /// `--out`/`--download` if given, else `download_dir` from the config, else `.`.
    pub fn download_dir(&self, given: Option<&std::path::Path>) -> PathBuf {
        given
            .map(PathBuf::from)
            .or_else(|| self.config.as_ref().and_then(|c| c.download_dir.clone()))
            .unwrap_or_else(|| PathBuf::from("."))
    }
}
