//! ffmpeg's `-progress` lines (`key=value`), read for how far the output has got.

/// What one progress line says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Said {
    /// The output's time so far, in seconds.
    At(f64),
    End,
}

/// `out_time_us` and `out_time_ms` (both microseconds: ffmpeg names the second wrongly), and
/// `progress=end`; any other line, or a value such as `N/A`, says nothing.
pub(super) fn parse_line(line: &str) -> Option<Said> {
    let (key, value) = line.trim().split_once('=')?;
    match key {
        "out_time_us" | "out_time_ms" => {
            let us: i64 = value.trim().parse().ok()?;
            (us >= 0).then(|| Said::At(us as f64 / 1_000_000.0))
        }
        "progress" if value.trim() == "end" => Some(Said::End),
        _ => None,
    }
}
