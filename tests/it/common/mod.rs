//! Shared set-up for tests that talk to the simulator over loopback HTTP.
#![allow(dead_code)]
pub mod pty;

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use tokio::runtime::Runtime;

use kling_sim::{self as sim, SimConfig, SimHandle};
use kling_tui::api::types::Job;
use kling_tui::api::{ClientOptions, Credentials, RetryPolicy, ScenarioClient, parse_api_url};

/// Fast retries, so fault tests finish quickly; the shape of the policy is unchanged.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_server_wait: Duration::from_secs(2),
        retry_submit_at_limit: true,
        ..RetryPolicy::default()
    }
}

/// Jobs finish in about 0.2 s at this scale.
pub fn quick_config() -> SimConfig {
    SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    }
}

pub async fn start(config: SimConfig) -> SimHandle {
    sim::start(config).await.expect("simulator starts")
}

pub fn client_for(sim: &SimHandle) -> ScenarioClient {
    client_with(
        sim,
        Credentials::new(sim::DEMO_API_KEY, sim::DEMO_API_SECRET),
    )
}

pub fn client_with(sim: &SimHandle, credentials: Credentials) -> ScenarioClient {
    let mut options = ClientOptions::new(parse_api_url(&sim.api_url).unwrap(), credentials);
    options.retry = fast_retry();
    ScenarioClient::new(options).unwrap()
}

/// Polls until the job is final; bounded in count, never timed.
pub async fn wait_final(client: &ScenarioClient, job_id: &str) -> Job {
    for _ in 0..2_000 {
        let job = client.get_job(job_id).await.expect("job can be read");
        if job.status.is_final() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {job_id} never reached a final state");
}

/// A runtime for the simulator; the binary runs in its own process.
pub fn sim_with(config: SimConfig) -> (Runtime, SimHandle) {
    let rt = Runtime::new().unwrap();
    let handle = rt.block_on(start(config));
    (rt, handle)
}

const CREDENTIAL_VARS: [&str; 6] = [
    "SCENARIO_API_KEY",
    "SCENARIO_API_SECRET",
    "SCENARIO_SDK_API_KEY",
    "SCENARIO_SDK_API_SECRET",
    "SCENARIO_API_URL",
    "SCENARIO_PROJECT_ID",
];

/// The binary as a plain process, with a clean environment: its own config/data folders and,
/// with a simulator, its URL and demo keys.
pub fn process(sim: Option<&SimHandle>, home: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("kling-tui"));
    for var in CREDENTIAL_VARS {
        cmd.env_remove(var);
    }
    // Videos of jobs submitted without a folder go to the working folder: the test's own.
    cmd.current_dir(home)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("KLING_TUI_SOCKET_DIR");
    if let Some(sim) = sim {
        cmd.env("SCENARIO_API_URL", &sim.api_url)
            .env("SCENARIO_API_KEY", sim::DEMO_API_KEY)
            .env("SCENARIO_API_SECRET", sim::DEMO_API_SECRET);
    }
    cmd
}

/// The binary with a clean environment and no credentials, for assertions.
pub fn bin(home: &Path) -> Command {
    Command::from_std(process(None, home))
}

/// The binary pointed at the simulator, for assertions.
pub fn against(sim: &SimHandle, home: &Path) -> Command {
    Command::from_std(process(Some(sim), home))
}

pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// A PNG that passes the checks: a real header of `w`×`h` (the pixels are not read).
pub fn png(dir: &Path, name: &str, w: u32, h: u32) -> PathBuf {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    let path = dir.join(name);
    std::fs::write(&path, b).unwrap();
    path
}

/// Writes `config.toml` where the binary run by [`bin`]/[`against`] looks for it, with `mode`.
pub fn write_config(home: &Path, text: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = home.join("config/kling-tui");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    std::fs::write(&file, text).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    file
}

/// The names in `dir`, sorted, the provenance written beside each video (`<file>.json` next
/// to `<file>`) left out: what was saved, as the tests of downloads count it. The sidecars
/// are tested where they are the point (cli_takes).
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let all = names.clone();
    names.retain(|n| !is_sidecar(n, &all));
    names
}

/// `name` is the provenance of another file among `names`, or that provenance being written
/// (`.<file>.json.part`, for the moment before it is renamed).
pub fn is_sidecar(name: &str, names: &[String]) -> bool {
    let video = name
        .strip_suffix(".json")
        .or_else(|| name.strip_prefix('.')?.strip_suffix(".json.part"));
    video.is_some_and(|video| names.iter().any(|n| n == video))
}

pub fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// An MP4 whose header says 4 s at 1280×720, padded with media data to `size` bytes.
pub fn mp4(dir: &Path, name: &str, size: usize) -> PathBuf {
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes()); // timescale
    mvhd[16..20].copy_from_slice(&4000u32.to_be_bytes()); // duration: 4 s
    let mut tkhd = vec![0u8; 84];
    tkhd[76..80].copy_from_slice(&(1280u32 << 16).to_be_bytes());
    tkhd[80..84].copy_from_slice(&(720u32 << 16).to_be_bytes());
    let trak = mp4_box(b"trak", &mp4_box(b"tkhd", &tkhd));
    let mut moov_body = mp4_box(b"mvhd", &mvhd);
    moov_body.extend_from_slice(&trak);
    let mut file = mp4_box(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
    file.extend_from_slice(&mp4_box(b"moov", &moov_body));
    let pad = size.saturating_sub(file.len() + 8);
    let mut mdat = vec![0u8; pad];
    for (i, byte) in mdat.iter_mut().enumerate() {
        *byte = (i % 251) as u8;
    }
    file.extend_from_slice(&mp4_box(b"mdat", &mdat));
    let path = dir.join(name);
    std::fs::write(&path, file).unwrap();
    path
}

/// The engine logs of a test's home, whole (empty before there is one).
pub fn engine_log(home: &Path) -> String {
    let state = home.join("state/kling-tui");
    std::fs::read_dir(&state)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect()
}

/// Waits (a bounded number of looks, never a timed assertion) until the engine's log says
/// `text`.
pub fn wait_for_log(home: &Path, text: &str) {
    for _ in 0..300 {
        if engine_log(home).contains(text) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "the engine's log never said {text:?}:\n{}",
        engine_log(home)
    );
}

/// The peak resident size of a running process, in MB (`VmHWM`).
pub fn peak_mb(pid: u32) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// ffmpeg and ffprobe are on the PATH: the tests of the cut run in full.
pub fn has_ffmpeg() -> bool {
    ["ffmpeg", "ffprobe"].iter().all(|tool| {
        std::process::Command::new(tool)
            .arg("-version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A film's length in seconds and its chapters' titles, as ffprobe reads them.
pub fn probe_film(film: &Path) -> (f64, Vec<String>) {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_chapters",
        ])
        .arg(film)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let probed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let duration = probed["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap();
    let titles = probed["chapters"]
        .as_array()
        .map(|chapters| {
            chapters
                .iter()
                .map(|c| c["tags"]["title"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    (duration, titles)
}

/// The ledger folder the binary uses in `home` (for the simulator `sim`'s API, or the
/// default's), as it names it itself: `engine stop` says which ledger it looked at.
pub fn ledger_dir(sim: Option<&SimHandle>, home: &Path) -> PathBuf {
    let out = process(sim, home)
        .args(["engine", "stop"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let root = home.to_str().unwrap();
    let dir = said
        .find(root)
        .and_then(|at| said[at..].lines().next())
        .map(str::trim)
        .unwrap_or_else(|| panic!("no ledger folder in {said:?}"));
    PathBuf::from(dir)
}
