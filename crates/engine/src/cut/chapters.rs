//! The chapters, one per clip, as an ffmetadata file ffmpeg reads beside the clips.

use crate::sanitize::sanitize;

/// One `[CHAPTER]` per `(title, duration in seconds)`, in milliseconds from the start. Each
/// boundary is rounded from the running total, so rounding never adds up along the film.
pub fn ffmetadata(chapters: &[(&str, f64)]) -> String {
    let mut text = String::from(";FFMETADATA1\n");
    let mut start_s = 0.0;
    for (title, duration_s) in chapters {
        let end_s = start_s + duration_s;
        text.push_str(&format!(
            "[CHAPTER]\nTIMEBASE=1/1000\nSTART={}\nEND={}\ntitle={}\n",
            (start_s * 1000.0).round() as u64,
            (end_s * 1000.0).round() as u64,
            escape(&sanitize(title)),
        ));
        start_s = end_s;
    }
    text
}

/// The format's special characters take a backslash; a line break cannot occur after
/// [`sanitize`].
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '=' | ';' | '#' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
