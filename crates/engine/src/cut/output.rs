//! The output written atomically: ffmpeg writes a hidden file beside it, which becomes the
//! output only once whole and on disk, and is removed on any failure, a dropped cut included.

use std::path::{Path, PathBuf};

/// The hidden temporary file, removed when dropped unless [`Partial::finish`] renamed it.
pub(super) struct Partial {
    path: PathBuf,
    done: bool,
}

impl Partial {
    /// `.NAME.part.mp4` in the output's folder: the same file system, so the rename is atomic.
    pub fn beside(out: &Path) -> Self {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self {
            path: out.with_file_name(format!(".{name}.part.mp4")),
            done: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the file to disk, renames it over `out` and flushes the folder, so a crash
    /// leaves either the old output or the whole new one.
    pub fn finish(mut self, out: &Path) -> std::io::Result<()> {
        std::fs::File::open(&self.path)?.sync_all()?;
        std::fs::rename(&self.path, out)?;
        self.done = true;
        if let Some(dir) = out.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
