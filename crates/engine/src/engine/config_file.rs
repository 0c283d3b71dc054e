//! config.toml as the engine reads it: at its start, whenever the file changes, and when a
//! client attaches, so its money settings are never older than the file.

use std::path::Path;

use super::Command;

/// What identifies the file's content without reading it: its inode, size, change time and
/// mode (a `chmod` makes a file unreadable as surely as a typo). `None`: no file.
pub type Fingerprint = Option<(u64, u64, i64, i64, u32)>;

pub fn fingerprint(path: &Path) -> Fingerprint {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.mode(),
    ))
}

/// The file's settings as they read now, as the command that applies them; a file that
/// cannot be read is a problem that stops every send, never a file skipped.
pub(crate) fn read(path: &Path) -> Command {
    match crate::config::load(path) {
        Ok(file) => {
            let file = file.unwrap_or_default();
            Command::ConfigFile {
                max_spend_per_day: file.max_spend_per_day,
                video_wait_secs: file.video_wait.map(|d| d.as_secs_f64()),
                problem: None,
            }
        }
        Err(e) => Command::ConfigFile {
            max_spend_per_day: None,
            video_wait_secs: None,
            problem: Some(e.to_string()),
        },
    }
}
