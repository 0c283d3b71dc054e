//! Where ffmpeg and ffprobe are: looked up on a PATH value handed in, so a test can hide them
//! without touching the process's environment.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The two programs the cut runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
}

impl Tools {
    /// Both programs from `path` (a PATH value), or the names of those missing, as a person
    /// would say it: "ffmpeg", "ffprobe" or "ffmpeg and ffprobe".
    pub fn find(path: Option<&OsStr>) -> Result<Self, &'static str> {
        match (find_tool("ffmpeg", path), find_tool("ffprobe", path)) {
            (Some(ffmpeg), Some(ffprobe)) => Ok(Self { ffmpeg, ffprobe }),
            (None, Some(_)) => Err("ffmpeg"),
            (Some(_), None) => Err("ffprobe"),
            (None, None) => Err("ffmpeg and ffprobe"),
        }
    }
}

/// The first executable regular file called `name` in the folders of `path`. An empty entry
/// (which a shell reads as the current folder) is skipped: a clip folder's own `ffmpeg` is
/// never run by accident.
pub fn find_tool(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
