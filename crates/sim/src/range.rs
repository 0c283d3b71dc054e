//! `Range: bytes=...` as the CDN understands it: one range, open-ended or closed, or a
//! suffix. Anything else is ignored and the whole body is sent, as HTTP allows.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    Whole,
    /// First and last byte, inclusive.
    Part(u64, u64),
    Unsatisfiable,
}

pub(crate) fn parse_range(header: &str, size: u64) -> Wanted {
    let Some((unit, spec)) = header.trim().split_once('=') else {
        return Wanted::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // `bytes=-n`: the last n bytes.
        return match last.parse::<u64>() {
            Ok(0) => Wanted::Unsatisfiable,
            Ok(_) if size == 0 => Wanted::Unsatisfiable,
            Ok(n) => Wanted::Part(size.saturating_sub(n), size - 1),
            Err(_) => Wanted::Whole,
        };
    }
    let Ok(first) = first.parse::<u64>() else {
        return Wanted::Whole;
    };
    let last = if last.is_empty() {
        u64::MAX
    } else {
        match last.parse::<u64>() {
            Ok(last) if last >= first => last,
            _ => return Wanted::Whole,
        }
    };
    if first >= size {
        Wanted::Unsatisfiable
    } else {
        Wanted::Part(first, last.min(size - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_clients_send() {
        assert_eq!(parse_range("bytes=0-", 100), Wanted::Part(0, 99));
        assert_eq!(parse_range("bytes=10-19", 100), Wanted::Part(10, 19));
        assert_eq!(parse_range("bytes=90-500", 100), Wanted::Part(90, 99));
        assert_eq!(parse_range("bytes=-30", 100), Wanted::Part(70, 99));
        assert_eq!(parse_range("bytes=-300", 100), Wanted::Part(0, 99));
        assert_eq!(parse_range("bytes=100-", 100), Wanted::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Wanted::Unsatisfiable);
        assert_eq!(parse_range("bytes=5-1", 100), Wanted::Whole);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Wanted::Whole);
        assert_eq!(parse_range("items=0-1", 100), Wanted::Whole);
        assert_eq!(parse_range("bytes=x-", 100), Wanted::Whole);
    }
}
