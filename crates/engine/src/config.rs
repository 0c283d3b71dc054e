//! `config.toml` in the XDG config dir, and where credentials come from: the environment first
//! (`SCENARIO_API_KEY`/`SCENARIO_API_SECRET`, or the SDK's `SCENARIO_SDK_*` names), then the file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::api::Credentials;

pub const ENV_KEY: &str = "SCENARIO_API_KEY";
pub const ENV_SECRET: &str = "SCENARIO_API_SECRET";
pub const ENV_SDK_KEY: &str = "SCENARIO_SDK_API_KEY";
pub const ENV_SDK_SECRET: &str = "SCENARIO_SDK_API_SECRET";
/// Every variable that may hold a credential.
pub const CREDENTIAL_VARS: [&str; 4] = [ENV_KEY, ENV_SECRET, ENV_SDK_KEY, ENV_SDK_SECRET];

/// What `config.toml` may hold. Unknown keys are refused so a typo never goes unnoticed.
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub api_key: Option<String>,
    pub api_secret: Option<String>,
    pub api_url: Option<String>,
    pub project_id: Option<String>,
    /// The team (as Scenario names it), so the engine can read its plan's concurrency
    /// ceiling instead of learning it from refusals.
    pub team_id: Option<String>,
    /// Where `download`, `watch` and `submit --download` put files when no folder is given.
    pub download_dir: Option<PathBuf>,
    /// Download every successful job as soon as it finishes (default true).
    pub auto_download: Option<bool>,
    /// Downloads at the same time (default 3).
    pub max_downloads: Option<usize>,
    /// API requests per second shared by all polling (default 5).
    pub requests_per_second: Option<f64>,
    /// How long a job's polls may keep failing before it is given up, e.g. `"30m"` (the
    /// default); `--give-up-after` wins over it.
    #[serde(default, deserialize_with = "duration")]
    pub give_up_after: Option<Duration>,
    /// A download that receives nothing for this long is broken off and resumed (default 20s).
    #[serde(default, deserialize_with = "duration")]
    pub stall_timeout: Option<Duration>,
    /// The most a download whose size nobody announced may write (default 4 GiB).
    pub max_download_bytes: Option<u64>,
    /// The most all jobs made in a day (UTC) may spend, in creative units: a request that would
    /// go over is held, not sent.
    pub max_spend_per_day: Option<f64>,
    /// The background engine leaves after this long with no client and nothing to do, e.g.
    /// `"10m"` (the default); `"0"` keeps it running.
    #[serde(default, deserialize_with = "duration_or_zero")]
    pub engine_idle_exit: Option<Duration>,
    /// Colours of the full-screen app: `default`, or `mono` for none (as with `NO_COLOR`).
    pub theme: Option<Theme>,
    /// How the app tells of a failed job, an idle queue or a finished batch: `auto` (a
    /// desktop notification the terminal understands, and the bell), `bell`, or `off`.
    pub notify: Option<NotifyMode>,
    /// Pictures of finished videos in the app: `auto` (the best the terminal draws),
    /// `halfblocks` (coloured characters, anywhere), or `off`.
    pub preview: Option<PreviewMode>,
    /// Key overrides for the full-screen app: action name → keys, e.g. `submit = "ctrl+s"`.
    pub keys: Option<std::collections::BTreeMap<String, String>>,
    /// How long a job the server calls a success is waited for while it names no video, e.g.
    /// `"10m"` (the default), before it is shown as a success without a video.
    #[serde(default, deserialize_with = "duration")]
    pub video_wait: Option<Duration>,
    /// A program and its arguments, run by the engine for each job that comes to rest (no
    /// shell): `on_finish = ["/usr/bin/notify-send", "kling-tui"]`.
    #[serde(default, deserialize_with = "argument_list")]
    pub on_finish: Option<Vec<String>>,
    /// Reasons for rejecting a take, offered after the built-in ones (`face drift`,
    /// `motion`, `off prompt`, ...): `reject_reasons = ["too dark", "wrong lens"]`.
    pub reject_reasons: Option<Vec<String>>,
    /// A provenance file (`<video>.json`) beside every saved video (default true).
    pub sidecars: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    Default,
    Mono,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NotifyMode {
    #[default]
    Auto,
    Bell,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PreviewMode {
    #[default]
    Auto,
    Halfblocks,
    Off,
}

impl fmt::Debug for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigFile")
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field(
                "api_secret",
                &self.api_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("api_url", &self.api_url)
            .field("project_id", &self.project_id)
            .field("team_id", &self.team_id)
            .field("download_dir", &self.download_dir)
            .field("auto_download", &self.auto_download)
            .field("max_downloads", &self.max_downloads)
            .field("requests_per_second", &self.requests_per_second)
            .field("give_up_after", &self.give_up_after)
            .field("engine_idle_exit", &self.engine_idle_exit)
            .field("max_spend_per_day", &self.max_spend_per_day)
            .field("stall_timeout", &self.stall_timeout)
            .field("max_download_bytes", &self.max_download_bytes)
            .field("theme", &self.theme)
            .field("notify", &self.notify)
            .field("preview", &self.preview)
            .field("keys", &self.keys)
            .field("on_finish", &self.on_finish)
            .field("video_wait", &self.video_wait)
            .field("reject_reasons", &self.reject_reasons)
            .field("sidecars", &self.sidecars)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no API credentials: set {ENV_KEY} and {ENV_SECRET} (or {ENV_SDK_KEY} and {ENV_SDK_SECRET}), \
         or put api_key and api_secret in {}; or try --demo",
        path.display()
    )]
    MissingCredentials { path: PathBuf },
    #[error("{missing} is not set, but {given} is: set both")]
    HalfCredentials {
        given: &'static str,
        missing: &'static str,
    },
    #[error(
        "{}: readable by group or others (mode {mode:03o}) while it may hold your API secret; run: chmod 600 {}",
        path.display(), path.display()
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{}: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
    #[error("cannot find a home directory for the config and data folders")]
    NoHome,
}

/// The XDG folders this program uses.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
    /// Logs: `$XDG_STATE_HOME/kling-tui` (the data folder where there is no such thing).
    pub state_dir: PathBuf,
}

impl Dirs {
    pub fn locate() -> Result<Self, ConfigError> {
        let dirs =
            directories::ProjectDirs::from("", "", "kling-tui").ok_or(ConfigError::NoHome)?;
        Ok(Self {
            config_file: dirs.config_dir().join("config.toml"),
            data_dir: dirs.data_dir().to_path_buf(),
            state_dir: dirs
                .state_dir()
                .unwrap_or_else(|| dirs.data_dir())
                .to_path_buf(),
        })
    }
}

/// Makes `dir` and its missing parents readable by their owner only (0700): the data, log and
/// ledger folders hold prompts and paths. A folder that exists keeps its mode.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Makes `file` readable and writable by its owner only (0600), when it is not already.
pub fn private_file(file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Reads `path` if it exists. A file others can read is refused: it may hold a secret.
pub fn load(path: &Path) -> Result<Option<ConfigFile>, ConfigError> {
    // A config file is a few lines: anything else (a device, a huge file) is refused unread.
    if let Ok(meta) = std::fs::metadata(path)
        && (!meta.is_file() || meta.len() > MAX_CONFIG_BYTES)
    {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            detail: format!(
                "not a regular file of at most {MAX_CONFIG_BYTES} bytes; nothing was done"
            ),
        });
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                detail: e.to_string(),
            });
        }
    };
    check_private(path)?;
    parse(&text)
        .map(Some)
        .map_err(|detail| ConfigError::Invalid {
            path: path.to_path_buf(),
            detail,
        })
}

/// The largest config.toml read.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Every key `config.toml` may hold, for the did-you-mean of an unknown one.
const KEYS: &[&str] = &[
    "api_key",
    "api_secret",
    "api_url",
    "project_id",
    "team_id",
    "download_dir",
    "auto_download",
    "max_downloads",
    "requests_per_second",
    "give_up_after",
    "stall_timeout",
    "max_download_bytes",
    "max_spend_per_day",
    "engine_idle_exit",
    "video_wait",
    "theme",
    "notify",
    "preview",
    "keys",
    "on_finish",
    "reject_reasons",
    "sidecars",
];

/// The file's settings, or what is wrong with it: the rule, the line and key, and for an
/// unknown key the known one it is nearest to.
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    toml::from_str(text).map_err(|e| {
        let message = e.message();
        let mut detail = crate::sanitize::sanitize(message) + &describe_span(text, e.span());
        if let Some(near) = unknown_key(message).and_then(nearest_key) {
            detail.push_str(&format!("; did you mean `{near}`?"));
        }
        detail.push_str(
            ". Nothing was done: fix the file (it is never skipped, since it may set a spend cap)",
        );
        detail
    })
}

/// The name in toml's "unknown field `x`, expected one of ...".
fn unknown_key(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(&rest[..rest.find('`')?])
}

/// The known key nearest to `key`, if it is a near miss.
fn nearest_key(key: &str) -> Option<&'static str> {
    KEYS.iter()
        .map(|k| (strsim::damerau_levenshtein(key, k), *k))
        .filter(|(distance, k)| *distance <= 3.max(k.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// A duration written as people write them (`"90s"`, `"30m"`, `"2h"`).
fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    crate::units::parse_duration(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// A program and its arguments: a list whose first item names the program. A plain string
/// is refused rather than split, since splitting it is what a shell would do.
fn argument_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::List(list) if list.is_empty() => Ok(None),
        Raw::List(list) if list[0].trim().is_empty() => Err(serde::de::Error::custom(
            "the first item must name the program to run",
        )),
        Raw::List(list) => Ok(Some(list)),
        Raw::Text(text) => Err(serde::de::Error::custom(format!(
            "must be a list of the program and its arguments, e.g. {:?}; no shell runs it",
            text.split_whitespace().collect::<Vec<_>>()
        ))),
    }
}

/// A duration where `0` means "never".
fn duration_or_zero<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Number(0) => Ok(Some(Duration::ZERO)),
        Raw::Number(n) => Ok(Some(Duration::from_secs(n))),
        Raw::Text(t) if t.trim() == "0" => Ok(Some(Duration::ZERO)),
        Raw::Text(t) => crate::units::parse_duration(&t)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// " (line N, key `k`)" for a TOML error, so the message names where to look.
fn describe_span(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let start = span.start.min(text.len());
    let line = text[..start].matches('\n').count() + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let key = line_text.split('=').next().unwrap_or("").trim();
    if key.is_empty() || !line_text.contains('=') {
        format!(" (line {line})")
    } else {
        format!(" (line {line}, key `{}`)", crate::sanitize::sanitize(key))
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(ConfigError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), ConfigError> {
    Ok(())
}

/// Credentials from the environment alone: `None` when no variable is set.
pub fn env_credentials(
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, ConfigError> {
    match credentials(env, None, Path::new("")) {
        Ok(c) => Ok(Some(c)),
        Err(ConfigError::MissingCredentials { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Credentials from the environment (via `env`), else from the config file.
pub fn credentials(
    env: impl Fn(&str) -> Option<String>,
    file: Option<&ConfigFile>,
    config_path: &Path,
) -> Result<Credentials, ConfigError> {
    let get = |name| env(name).filter(|v: &String| !v.trim().is_empty());
    for (key_var, secret_var) in [(ENV_KEY, ENV_SECRET), (ENV_SDK_KEY, ENV_SDK_SECRET)] {
        match (get(key_var), get(secret_var)) {
            (Some(key), Some(secret)) => return Ok(Credentials::new(key, secret)),
            (Some(_), None) => {
                return Err(ConfigError::HalfCredentials {
                    given: key_var,
                    missing: secret_var,
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::HalfCredentials {
                    given: secret_var,
                    missing: key_var,
                });
            }
            (None, None) => {}
        }
    }
    match file.map(|f| (f.api_key.clone(), f.api_secret.clone())) {
        Some((Some(key), Some(secret))) => Ok(Credentials::new(key, secret)),
        Some((Some(_), None)) => Err(ConfigError::HalfCredentials {
            given: "api_key",
            missing: "api_secret",
        }),
        Some((None, Some(_))) => Err(ConfigError::HalfCredentials {
            given: "api_secret",
            missing: "api_key",
        }),
        _ => Err(ConfigError::MissingCredentials {
            path: config_path.to_path_buf(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn refuses_a_config_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "api_key = \"k\"\napi_secret = \"s\"\n", 0o644);
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load(&path).unwrap().is_some());
    }

    #[test]
    fn names_the_bad_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "api_key = \"k\"\napi_secrt = \"s\"\n", 0o600);
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("api_secrt") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn a_near_miss_gets_a_did_you_mean() {
        let err = parse("max_spend_per_dya = 100\n").unwrap_err();
        assert!(
            err.contains("line 1") && err.contains("did you mean `max_spend_per_day`?"),
            "{err}"
        );
        let err = parse("\n\nzzzzzz = 1\n").unwrap_err();
        assert!(
            err.contains("line 3") && !err.contains("did you mean"),
            "{err}"
        );
        let err = parse("max_spend_per_day = \"100\"\n").unwrap_err();
        assert!(
            err.contains("max_spend_per_day") && err.contains("line 1"),
            "{err}"
        );
    }

    #[test]
    fn every_known_key_is_read() {
        // The did-you-mean list and the file's fields agree: each key alone parses.
        for key in KEYS {
            let value = match *key {
                "auto_download" => "true",
                "max_downloads" | "max_download_bytes" => "1",
                "requests_per_second" | "max_spend_per_day" => "1.5",
                "give_up_after" | "stall_timeout" | "engine_idle_exit" | "video_wait" => "\"1m\"",
                "theme" => "\"mono\"",
                "notify" => "\"off\"",
                "preview" => "\"off\"",
                "keys" => "{}",
                "on_finish" | "reject_reasons" => "[\"/bin/true\"]",
                "sidecars" => "false",
                _ => "\"x\"",
            };
            let text = format!("{key} = {value}\n");
            assert!(parse(&text).is_ok(), "{text}: {:?}", parse(&text).err());
        }
    }

    #[test]
    fn env_wins_then_sdk_names_then_file() {
        let path = Path::new("/nowhere/config.toml");
        let file = ConfigFile {
            api_key: Some("fk".into()),
            api_secret: Some("fs".into()),
            ..ConfigFile::default()
        };
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let got = credentials(
            env(&[(ENV_KEY, "ek"), (ENV_SECRET, "es")]),
            Some(&file),
            path,
        );
        assert_eq!(got.unwrap(), Credentials::new("ek", "es"));
        let got = credentials(
            env(&[(ENV_SDK_KEY, "sk"), (ENV_SDK_SECRET, "ss")]),
            Some(&file),
            path,
        );
        assert_eq!(got.unwrap(), Credentials::new("sk", "ss"));
        assert_eq!(
            credentials(env(&[]), Some(&file), path).unwrap(),
            Credentials::new("fk", "fs")
        );
        let err = credentials(env(&[]), None, path).unwrap_err().to_string();
        assert!(
            err.contains(ENV_KEY) && err.contains("/nowhere/config.toml"),
            "{err}"
        );
        let err = credentials(env(&[(ENV_KEY, "ek")]), None, path)
            .unwrap_err()
            .to_string();
        assert!(err.contains(ENV_SECRET), "{err}");
    }

    #[test]
    fn a_bad_theme_names_its_key_and_the_choices() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "theme = \"neon\"\n", 0o600);
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("theme") && err.contains("mono"), "{err}");
    }

    #[test]
    fn on_finish_is_an_argument_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "on_finish = [\"/bin/echo\", \"$HOME\"]\n",
            0o600,
        );
        let config = load(&path).unwrap().unwrap();
        assert_eq!(
            config.on_finish,
            Some(vec!["/bin/echo".to_string(), "$HOME".to_string()])
        );
        let path = write(dir.path(), "on_finish = \"notify-send done\"\n", 0o600);
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("on_finish") && err.contains("no shell"),
            "{err}"
        );
        let path = write(dir.path(), "on_finish = [\"\"]\n", 0o600);
        assert!(load(&path).is_err());
    }

    #[test]
    fn debug_redacts_the_secret() {
        let file = ConfigFile {
            api_secret: Some("hunter2".into()),
            ..ConfigFile::default()
        };
        assert!(!format!("{file:?}").contains("hunter2"));
    }
}
