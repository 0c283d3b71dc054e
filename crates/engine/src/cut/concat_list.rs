//! The `ffconcat` list: the clips in order, for ffmpeg's concat demuxer, here or on another
//! machine.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `ffconcat version 1.0`, then a `file` line per clip, with its `duration` when known. Each
/// path is single-quoted, a quote in it written `'\''`, as the demuxer reads it; the demuxer
/// reads one line per directive, so a path with a line break cannot be listed (`Err` names it).
pub fn ffconcat(clips: &[(&Path, Option<f64>)]) -> Result<Vec<u8>, String> {
    let mut list = b"ffconcat version 1.0\n".to_vec();
    for (path, duration_s) in clips {
        let bytes = path.as_os_str().as_bytes();
        if bytes.iter().any(|b| matches!(b, b'\n' | b'\r')) {
            return Err(format!(
                "{}: a path with a line break cannot go in an ffconcat list",
                crate::sanitize::sanitize(&path.display().to_string())
            ));
        }
        list.extend_from_slice(b"file '");
        for &b in bytes {
            if b == b'\'' {
                list.extend_from_slice(b"'\\''");
            } else {
                list.push(b);
            }
        }
        list.extend_from_slice(b"'\n");
        if let Some(d) = duration_s {
            list.extend_from_slice(format!("duration {d:.6}\n").as_bytes());
        }
    }
    Ok(list)
}

/// A path as one word for a POSIX shell: single-quoted, a quote in it written `'\''`.
pub fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c))
    {
        return text;
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}
