//! The output written atomically: ffmpeg writes a hidden file beside it, which becomes the
//! output only once whole and on disk, and is removed on any failure, a dropped cut included.

use std::path::{Path, PathBuf};

/// The unfinished film: `NAME` inside a private folder (`.NAME.cut-XXXX`, mode 0700) made
/// beside the output, so the rename is atomic and nobody else can plant a link where ffmpeg
/// writes (it follows links, and `-y` would overwrite their target). The folder and what is
/// in it go when dropped unless [`Partial::finish`] renamed the film out.
pub(super) struct Partial {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Partial {
    pub fn beside(out: &Path) -> std::io::Result<Self> {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let folder = match out.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{name}.cut-"))
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(folder)?;
        let path = dir.path().join(&name);
        Ok(Self { dir, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the file to disk, renames it over `out` and flushes the folder, so a crash
    /// leaves either the old output or the whole new one.
    pub fn finish(self, out: &Path) -> std::io::Result<()> {
        std::fs::File::open(&self.path)?.sync_all()?;
        std::fs::rename(&self.path, out)?;
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
        // The private folder, empty now, goes with `self.dir`.
        drop(self.dir);
        Ok(())
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
