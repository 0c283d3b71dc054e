//! The layers of the design hold where the compiler does not check them: the app does no
//! HTTP and does not reach into the subcommands or the daemon (both go through the engine's
//! channels and the shared session); nothing outside the app draws; the API names no job.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        panic!("cannot read {}", dir.display());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every line of the code under each of `dirs` (comments left out) that names one of
/// `banned`, as `file:line: name`.
fn offenders(dirs: &[&str], banned: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(!files.is_empty(), "no code found under {dirs:?}");
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for name in banned.iter().filter(|name| code.contains(*name)) {
                let shown = file
                    .strip_prefix(root)
                    .unwrap_or(&file)
                    .display()
                    .to_string();
                found.push(format!("{shown}:{}: {name}", n + 1));
            }
        }
    }
    found
}

#[test]
fn the_app_does_no_http_and_reaches_its_engine_only_through_the_session() {
    let found = offenders(
        &["src/tui"],
        &[
            "reqwest",
            "ScenarioClient",
            "api::client",
            "api::download",
            "crate::headless",
            "crate::daemon",
            "kling_sim",
        ],
    );
    assert!(
        found.is_empty(),
        "the app leaves its layer:\n{}",
        found.join("\n")
    );
}

#[test]
fn nothing_but_the_app_draws() {
    let found = offenders(
        &[
            // The engine's crate cannot even name the terminal crates (they are not its
            // dependencies); the front-end's other modules can, so they are checked here.
            "src/headless",
            "src/session",
            "crates",
        ],
        &["ratatui", "crossterm"],
    );
    // Asking the terminal's width (for `jobs`' table) is not drawing.
    let found: Vec<String> = found
        .into_iter()
        .filter(|hit| !hit.ends_with("crossterm") || !terminal_size_only(hit))
        .collect();
    assert!(
        found.is_empty(),
        "drawing outside the app:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_api_knows_nothing_of_jobs_in_the_ledger() {
    let found = offenders(
        &["crates/engine/src/api"],
        &["crate::engine", "LocalId", "job_file_stem", "crate::tui"],
    );
    assert!(
        found.is_empty(),
        "the API reaches up:\n{}",
        found.join("\n")
    );
}

/// Whether the line `hit` (`file:line: name`) names crossterm only to ask the terminal's size.
fn terminal_size_only(hit: &str) -> bool {
    let mut parts = hit.splitn(3, ':');
    let (Some(file), Some(line)) = (parts.next(), parts.next()) else {
        return false;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
    let n: usize = line.parse().unwrap_or(0);
    text.lines().nth(n.wrapping_sub(1)).is_some_and(|code| {
        code.matches("crossterm").count() == code.matches("crossterm::terminal::size()").count()
    })
}
