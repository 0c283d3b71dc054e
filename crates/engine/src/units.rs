//! Numbers as people read them: creative units and byte counts.

/// Creative units without a pointless `.0`.
pub fn format_units(units: f64) -> String {
    if units.fract() == 0.0 && units.abs() < 1e15 {
        format!("{}", units as i64)
    } else {
        format!("{units:.2}")
    }
}

/// A count and its noun, singular for one: `1 shot`, `0 jobs`, `3 requests`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Bytes in binary units, one decimal.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A time the server wrote (ISO 8601, any offset, with or without fractions) in the user's
/// own time zone, formatted with `format` (strftime); `None` when it is not a time.
pub fn local_time(text: &str, format: &str) -> Option<String> {
    let t = text.trim().parse::<jiff::Timestamp>().ok()?;
    Some(
        t.to_zoned(jiff::tz::TimeZone::system())
            .strftime(format)
            .to_string(),
    )
}

/// A span of time as people say it: `45 s`, `12 min`, `2 h 5 min`, `11574 d`.
pub fn human_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => match (secs % 3600) / 60 {
            0 => format!("{} h", secs / 3600),
            m => format!("{} h {m} min", secs / 3600),
        },
        _ => format!("{} d", secs / 86_400),
    }
}

/// `90`, `90s`, `30m`, `2h` or `1d` as a span of time.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let scale = match unit.trim() {
        "s" | "sec" | "secs" => 1.0,
        "m" | "min" | "mins" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        _ => f64::NAN,
    };
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && scale.is_finite() && n * scale <= 1e9 => {
            Ok(std::time::Duration::from_secs_f64(n * scale))
        }
        _ => Err(format!(
            "{text:?} is not a duration: a number above 0 with s, m, h or d (e.g. 90s, 30m, 2h)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_read_and_print_as_people_write_them() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(" 2 s"), Ok(Duration::from_secs(2)));
        for bad in ["", "m", "-1s", "5x", "1e99h", "0", "0s"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("not a duration"), "{bad}: {err}");
        }
        assert_eq!(human_duration(Duration::from_secs(45)), "45 s");
        assert_eq!(human_duration(Duration::from_secs(61)), "1 min");
        assert_eq!(human_duration(Duration::from_secs(7500)), "2 h 5 min");
        assert_eq!(human_duration(Duration::from_secs(999_999_999)), "11574 d");
    }
}
