//! Tab completion of file paths in the reference fields, like a shell's: one match completes,
//! several complete to what they share and are listed.

use std::path::{MAIN_SEPARATOR, Path};

/// Completes the last path in `text` (reference images hold several, separated by commas).
/// Returns the new text and the choices when more than one fits.
pub fn complete_path(text: &str) -> (String, Vec<String>) {
    let cut = text.rfind([',', ' ']).map_or(0, |i| i + 1);
    let (head, last) = text.split_at(cut);
    let home = std::env::var("HOME").unwrap_or_default();
    let expanded = match last.strip_prefix("~/") {
        Some(rest) if !home.is_empty() => format!("{home}/{rest}"),
        _ => last.to_string(),
    };
    let (dir, prefix) = match expanded.rfind(MAIN_SEPARATOR) {
        Some(i) => (&expanded[..=i], &expanded[i + 1..]),
        None => ("", expanded.as_str()),
    };
    let listing = if dir.is_empty() {
        Path::new(".")
    } else {
        Path::new(dir)
    };
    let Ok(entries) = std::fs::read_dir(listing) else {
        return (text.to_string(), Vec::new());
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let hidden = name.starts_with('.') && !prefix.starts_with('.');
            if hidden || !name.starts_with(prefix) {
                return None;
            }
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            Some(if is_dir { format!("{name}/") } else { name })
        })
        .collect();
    names.sort();
    let completed = match names.as_slice() {
        [] => return (text.to_string(), Vec::new()),
        [one] => one.clone(),
        many => common_prefix(many),
    };
    let candidates = if names.len() > 1 { names } else { Vec::new() };
    (format!("{head}{dir}{completed}"), candidates)
}

fn common_prefix(names: &[String]) -> String {
    let first = &names[0];
    let mut len = first.len();
    for name in &names[1..] {
        len = first
            .char_indices()
            .zip(name.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(len);
    }
    first[..len].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_one_match_and_lists_several() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("frames")).unwrap();
        std::fs::write(dir.path().join("fox_day.png"), b"").unwrap();
        std::fs::write(dir.path().join("fox_night.png"), b"").unwrap();
        let base = format!("{}/", dir.path().display());

        let (text, choices) = complete_path(&format!("{base}fr"));
        assert_eq!(text, format!("{base}frames/"));
        assert!(choices.is_empty());

        let (text, choices) = complete_path(&format!("{base}fo"));
        assert_eq!(text, format!("{base}fox_"));
        assert_eq!(choices, ["fox_day.png", "fox_night.png"]);

        let (text, _) = complete_path(&format!("asset_a, {base}fox_d"));
        assert_eq!(text, format!("asset_a, {base}fox_day.png"));

        let (text, choices) = complete_path(&format!("{base}zzz"));
        assert_eq!(text, format!("{base}zzz"));
        assert!(choices.is_empty());
    }
}
