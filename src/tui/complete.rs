//! Tab completion of file paths in the path inputs, like a shell's: one match completes,
//! several complete to what they share and are listed. A reference field offers only the
//! files it takes (images, or videos, by their names) and folders.

use std::path::{MAIN_SEPARATOR, Path};

use crate::media::{MediaKind, Role};

/// What a Tab made of the text.
#[derive(Debug, Default, PartialEq)]
pub struct Completion {
    /// The text completed as far as every choice agrees.
    pub text: String,
    /// The text before the last path's file name: each choice follows it.
    pub base: String,
    /// File names (folders end with `/`) that complete it, when more than one does.
    pub candidates: Vec<String>,
}

/// Whether a file named `name` is offered for `role` (folders always are).
fn offered(name: &str, role: Option<Role>) -> bool {
    match role {
        None => true,
        Some(role) => MediaKind::by_extension(name)
            .is_some_and(|kind| kind.is_image() == (role == Role::Image)),
    }
}

/// Completes the last path in `text` (after its last comma: several can be given at once),
/// offering only files for `role` when one is given.
pub fn complete_path(text: &str, role: Option<Role>) -> Completion {
    let cut = text.rfind(',').map_or(0, |i| i + 1);
    let cut = cut + (text.len() - cut - text[cut..].trim_start().len());
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
    let unchanged = || Completion {
        text: text.to_string(),
        base: text.to_string(),
        candidates: Vec::new(),
    };
    let listing = if dir.is_empty() {
        Path::new(".")
    } else {
        Path::new(dir)
    };
    let Ok(entries) = std::fs::read_dir(listing) else {
        return unchanged();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let hidden = name.starts_with('.') && !prefix.starts_with('.');
            if hidden || !name.starts_with(prefix) {
                return None;
            }
            // A link to a folder is followed, as a shell does.
            let is_dir = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
            if is_dir {
                Some(format!("{name}/"))
            } else {
                offered(&name, role).then_some(name)
            }
        })
        .collect();
    names.sort();
    let completed = match names.as_slice() {
        [] => return unchanged(),
        [one] => one.clone(),
        many => common_prefix(many),
    };
    let base = format!("{head}{dir}");
    Completion {
        text: format!("{base}{completed}"),
        candidates: if names.len() > 1 { names } else { Vec::new() },
        base,
    }
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

        let c = complete_path(&format!("{base}fr"), None);
        assert_eq!(c.text, format!("{base}frames/"));
        assert!(c.candidates.is_empty());

        let c = complete_path(&format!("{base}fo"), None);
        assert_eq!(c.text, format!("{base}fox_"));
        assert_eq!(c.base, base);
        assert_eq!(c.candidates, ["fox_day.png", "fox_night.png"]);

        let c = complete_path(&format!("asset_a, {base}fox_d"), None);
        assert_eq!(c.text, format!("asset_a, {base}fox_day.png"));

        let c = complete_path(&format!("{base}zzz"), None);
        assert_eq!(c.text, format!("{base}zzz"));
        assert!(c.candidates.is_empty());
    }

    #[test]
    fn a_field_is_offered_only_the_files_it_takes_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("clips")).unwrap();
        for name in ["clip.mp4", "cat.PNG", "cover.jpg", "cue.txt"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let base = format!("{}/c", dir.path().display());
        let images = complete_path(&base, Some(Role::Image));
        assert_eq!(images.candidates, ["cat.PNG", "clips/", "cover.jpg"]);
        let videos = complete_path(&base, Some(Role::Video));
        assert_eq!(videos.candidates, ["clip.mp4", "clips/"]);
        assert_eq!(videos.text, format!("{base}lip"));
        let any = complete_path(&base, None);
        assert_eq!(any.candidates.len(), 5);
    }
}
