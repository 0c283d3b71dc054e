//! Numbers as people read them: creative units and byte counts.

/// Creative units without a pointless `.0`.
pub fn format_units(units: f64) -> String {
    if units.fract() == 0.0 && units.abs() < 1e15 {
        format!("{}", units as i64)
    } else {
        format!("{units:.2}")
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
