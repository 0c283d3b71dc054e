//! What an engine process is started with: the starting client's resolved settings, handed over
//! its start pipe (never an argument or a variable, which other users can read).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::{ApiError, ClientOptions, Credentials, parse_api_url};
use crate::engine::EngineConfig;

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineSettings {
    pub api_url: String,
    pub project_id: Option<String>,
    api_key: String,
    api_secret: String,
    pub ledger_dir: PathBuf,
    pub log_file: PathBuf,
    pub socket_dir: PathBuf,
    /// Absolute: the engine does not share the client's working folder.
    pub download_dir: PathBuf,
    pub auto_download: bool,
    pub max_downloads: usize,
    pub requests_per_second: f64,
    pub poll_initial_secs: f64,
    pub poll_max_secs: f64,
    pub give_up_after_secs: Option<f64>,
    pub stall_timeout_secs: f64,
    pub max_download_bytes: u64,
    /// With no client and nothing to do for this long, the engine leaves; 0: never.
    pub idle_exit_secs: f64,
    #[serde(default)]
    pub max_spend_per_day: Option<f64>,
    /// The `on_finish` program and its arguments; empty: none.
    #[serde(default)]
    pub on_finish: Vec<String>,
    #[serde(default)]
    pub video_wait_secs: Option<f64>,
    /// The config file the settings came from: the engine reads it again at its start and
    /// whenever it changes, so its caps are never older than the file.
    #[serde(default)]
    pub config_file: Option<PathBuf>,
    #[serde(default)]
    pub team_id: Option<String>,
}

impl fmt::Debug for EngineSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineSettings")
            .field("api_url", &self.api_url)
            .field("project_id", &self.project_id)
            .field("credentials", &"<redacted>")
            .field("ledger_dir", &self.ledger_dir)
            .field("download_dir", &self.download_dir)
            .finish_non_exhaustive()
    }
}

impl EngineSettings {
    /// Settings from a client's options and engine configuration.
    pub fn new(
        options: &ClientOptions,
        config: &EngineConfig,
        ledger_dir: PathBuf,
        log_file: PathBuf,
        idle_exit: Duration,
    ) -> Self {
        let (key, secret) = options.credentials.parts();
        let download_dir = std::path::absolute(&config.download_dir)
            .unwrap_or_else(|_| config.download_dir.clone());
        Self {
            api_url: options.base_url.to_string(),
            project_id: options.project_id.clone(),
            api_key: key.to_string(),
            api_secret: secret.to_string(),
            ledger_dir,
            log_file,
            socket_dir: super::socket_dir(),
            download_dir,
            auto_download: config.auto_download,
            max_downloads: config.max_downloads,
            requests_per_second: config.requests_per_second,
            poll_initial_secs: config.poll_initial.as_secs_f64(),
            poll_max_secs: config.poll_max.as_secs_f64(),
            give_up_after_secs: config.give_up_after.map(|d| d.as_secs_f64()),
            stall_timeout_secs: options.read_timeout.as_secs_f64(),
            max_download_bytes: options.max_download_bytes,
            idle_exit_secs: idle_exit.as_secs_f64(),
            max_spend_per_day: config.max_spend_per_day,
            on_finish: config.on_finish.clone(),
            video_wait_secs: Some(config.video_wait.as_secs_f64()),
            config_file: None,
            team_id: config.team_id.clone(),
        }
    }

    pub fn credentials(&self) -> Credentials {
        Credentials::new(&self.api_key, &self.api_secret)
    }

    /// The API client's options these settings describe.
    pub fn client_options(&self) -> Result<ClientOptions, ApiError> {
        let mut options = ClientOptions::new(parse_api_url(&self.api_url)?, self.credentials());
        options.project_id = self.project_id.clone();
        options.read_timeout = secs(self.stall_timeout_secs);
        options.max_download_bytes = self.max_download_bytes;
        options.retry.give_up_after = self.give_up_after_secs.map(secs);
        Ok(options)
    }

    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            download_dir: self.download_dir.clone(),
            auto_download: self.auto_download,
            max_downloads: self.max_downloads,
            requests_per_second: self.requests_per_second,
            poll_initial: secs(self.poll_initial_secs),
            poll_max: secs(self.poll_max_secs),
            give_up_after: self.give_up_after_secs.map(secs),
            max_spend_per_day: self.max_spend_per_day,
            on_finish: self.on_finish.clone(),
            video_wait: self
                .video_wait_secs
                .map_or(crate::engine::DEFAULT_VIDEO_WAIT, secs),
            team_id: self.team_id.clone(),
            config_file: self.config_file.clone(),
            ..EngineConfig::default()
        }
    }

    pub fn idle_exit(&self) -> Option<Duration> {
        (self.idle_exit_secs > 0.0).then(|| secs(self.idle_exit_secs))
    }
}

/// Durations from the pipe are the client's own, checked when parsed; a nonsense one is
/// clamped rather than a panic.
fn secs(value: f64) -> Duration {
    Duration::try_from_secs_f64(value.clamp(0.0, 1e9)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_credentials() {
        let options = ClientOptions::new(
            parse_api_url("http://127.0.0.1:1/v1").unwrap(),
            Credentials::new("key_visible_part", "sec_topsecret"),
        );
        let settings = EngineSettings::new(
            &options,
            &EngineConfig::default(),
            "/l".into(),
            "/l/engine.log".into(),
            Duration::from_secs(600),
        );
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("topsecret") && !shown.contains("visible_part"),
            "{shown}"
        );
        let back: EngineSettings =
            serde_json::from_str(&serde_json::to_string(&settings).unwrap()).unwrap();
        assert_eq!(back.credentials(), options.credentials);
        assert_eq!(back.idle_exit(), Some(Duration::from_secs(600)));
    }
}
