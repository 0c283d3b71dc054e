//! The parameter sidebar's fields: how each shows its value, steps through its choices, and
//! takes text; the request itself is the one model, so validation runs on exactly what is sent.

use crate::kling::{AspectRatio, AssetId, KlingRequest, Mode, Problem, VideoReferenceType};
use crate::media::Role;
use crate::units::count;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Mode,
    AspectRatio,
    Duration,
    GenerateAudio,
    VideoReferenceType,
    KeepOriginalSound,
    StartImage,
    EndImage,
    ReferenceImages,
    ReferenceVideo,
    MultiShot,
}

pub const FIELDS: [Field; 11] = [
    Field::Mode,
    Field::AspectRatio,
    Field::Duration,
    Field::GenerateAudio,
    Field::VideoReferenceType,
    Field::KeepOriginalSound,
    Field::StartImage,
    Field::EndImage,
    Field::ReferenceImages,
    Field::ReferenceVideo,
    Field::MultiShot,
];

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::Mode => "Mode",
            Field::AspectRatio => "Aspect ratio",
            Field::Duration => "Duration",
            Field::GenerateAudio => "Generate audio",
            Field::VideoReferenceType => "Video ref type",
            Field::KeepOriginalSound => "Original sound",
            Field::StartImage => "Start image",
            Field::EndImage => "End image",
            Field::ReferenceImages => "Ref images",
            Field::ReferenceVideo => "Ref video",
            Field::MultiShot => "Multi-shot",
        }
    }

    /// The API's name, as validation problems name their field.
    pub fn api_name(self) -> &'static str {
        match self {
            Field::Mode => "mode",
            Field::AspectRatio => "aspectRatio",
            Field::Duration => "duration",
            Field::GenerateAudio => "generateAudio",
            Field::VideoReferenceType => "videoReferenceType",
            Field::KeepOriginalSound => "keepOriginalSound",
            Field::StartImage => "startImage",
            Field::EndImage => "endImage",
            Field::ReferenceImages => "referenceImages",
            Field::ReferenceVideo => "referenceVideo",
            Field::MultiShot => "multiPrompt",
        }
    }

    /// What a reference field's files are: its path completion offers only those.
    pub fn role(self) -> Option<Role> {
        match self {
            Field::StartImage | Field::EndImage | Field::ReferenceImages => Some(Role::Image),
            Field::ReferenceVideo => Some(Role::Video),
            _ => None,
        }
    }

    /// How many files or asset ids a reference field holds at most.
    pub fn capacity(self) -> usize {
        match self {
            Field::ReferenceImages => crate::kling::Rules::builtin().max_reference_images,
            _ => 1,
        }
    }

    /// Fields edited as text (asset ids) rather than stepped through.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Field::StartImage | Field::EndImage | Field::ReferenceImages | Field::ReferenceVideo
        )
    }

    /// The problems that belong next to this field.
    pub fn problems<'a>(self, problems: &'a [Problem]) -> impl Iterator<Item = &'a Problem> + 'a {
        let name = self.api_name();
        problems
            .iter()
            .filter(move |p| p.field == name || p.field.starts_with(&format!("{name}[")))
    }
}

fn cycle<T: Copy + PartialEq>(all: &[T], current: T, forward: bool) -> T {
    let i = all.iter().position(|v| *v == current).unwrap_or(0);
    let n = all.len();
    all[if forward {
        (i + 1) % n
    } else {
        (i + n - 1) % n
    }]
}

fn cycle_opt<T: Copy + PartialEq>(all: &[T], current: Option<T>, forward: bool) -> Option<T> {
    let mut choices: Vec<Option<T>> = vec![None];
    choices.extend(all.iter().copied().map(Some));
    cycle(&choices, current, forward)
}

/// What the sidebar shows for a field.
pub fn value_text(request: &KlingRequest, field: Field) -> String {
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "—".into());
    match field {
        Field::Mode => request.mode.to_string(),
        Field::AspectRatio => or_dash(request.aspect_ratio.map(|r| r.to_string())),
        Field::Duration => format!("{} s", request.duration),
        Field::GenerateAudio => on_off(request.generate_audio.unwrap_or(false)),
        Field::VideoReferenceType => or_dash(request.video_reference_type.map(|t| t.to_string())),
        Field::KeepOriginalSound => match request.keep_original_sound {
            None => "— (keep)".into(),
            Some(v) => on_off(v),
        },
        Field::StartImage => or_dash(request.start_image.as_ref().map(AssetId::to_string)),
        Field::EndImage => or_dash(request.end_image.as_ref().map(AssetId::to_string)),
        Field::ReferenceImages => match request.reference_images.len() {
            0 => "—".into(),
            n => format!("{n}: {}", text_of(request, field)),
        },
        Field::ReferenceVideo => or_dash(request.reference_video.as_ref().map(AssetId::to_string)),
        Field::MultiShot => match &request.multi_prompt {
            None => "off".into(),
            Some(shots) => {
                let total: u32 = shots.iter().map(|s| s.duration).sum();
                format!(
                    "{}, {total}/{} s",
                    count(shots.len(), "shot"),
                    request.duration
                )
            }
        },
    }
}

fn on_off(v: bool) -> String {
    if v { "on".into() } else { "off".into() }
}

/// Moves a stepped field to its next (or previous) value.
pub fn step(request: &mut KlingRequest, field: Field, forward: bool) {
    match field {
        Field::Mode => request.mode = cycle(Mode::ALL, request.mode, forward),
        Field::AspectRatio => {
            request.aspect_ratio = cycle_opt(AspectRatio::ALL, request.aspect_ratio, forward)
        }
        Field::Duration => {
            request.duration = if forward {
                (request.duration + 1).min(15)
            } else {
                request.duration.saturating_sub(1).max(3)
            }
        }
        Field::GenerateAudio => {
            request.generate_audio = match request.generate_audio {
                Some(true) => None,
                _ => Some(true),
            }
        }
        Field::VideoReferenceType => {
            request.video_reference_type = cycle_opt(
                VideoReferenceType::ALL,
                request.video_reference_type,
                forward,
            )
        }
        Field::KeepOriginalSound => {
            request.keep_original_sound = cycle(
                &[None, Some(true), Some(false)],
                request.keep_original_sound,
                forward,
            )
        }
        // Multi-shot is turned on and off by the app, which keeps the shots of the one
        // turned off.
        _ => {}
    }
}

/// Each value a text field holds (reference images: one per image).
pub fn values_of(request: &KlingRequest, field: Field) -> Vec<String> {
    match field {
        Field::ReferenceImages => request
            .reference_images
            .iter()
            .map(AssetId::to_string)
            .collect(),
        Field::StartImage | Field::EndImage | Field::ReferenceVideo => {
            let text = text_of(request, field);
            if text.is_empty() {
                Vec::new()
            } else {
                vec![text]
            }
        }
        _ => Vec::new(),
    }
}

/// The text a text field is edited as.
pub fn text_of(request: &KlingRequest, field: Field) -> String {
    match field {
        Field::StartImage => request.start_image.as_ref().map(AssetId::to_string),
        Field::EndImage => request.end_image.as_ref().map(AssetId::to_string),
        Field::ReferenceVideo => request.reference_video.as_ref().map(AssetId::to_string),
        Field::ReferenceImages => Some(
            request
                .reference_images
                .iter()
                .map(AssetId::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        _ => None,
    }
    .unwrap_or_default()
}

/// Sets a reference field to `values` (files or asset ids, in order); none clears it.
pub fn set_values(request: &mut KlingRequest, field: Field, values: &[String]) {
    let mut ids = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(AssetId::new);
    match field {
        Field::StartImage => request.start_image = ids.next(),
        Field::EndImage => request.end_image = ids.next(),
        Field::ReferenceVideo => request.reference_video = ids.next(),
        Field::ReferenceImages => request.reference_images = ids.collect(),
        _ => {}
    }
}

/// The form's name for a field as the API and its problems name it: `referenceVideo` is
/// `Ref video`, `multiPrompt[2].prompt` is `Shot 2 prompt`.
pub fn label_of(api: &str) -> String {
    if api == "prompt" {
        return "Prompt".into();
    }
    if let Some(field) = FIELDS.iter().find(|f| f.api_name() == api) {
        return field.label().into();
    }
    if let Some(rest) = api.strip_prefix("multiPrompt[")
        && let Some((n, part)) = rest.split_once("].")
    {
        let part = if part == "duration" { "length" } else { part };
        return format!("Shot {n} {part}");
    }
    if let Some(rest) = api.strip_prefix("referenceImages[")
        && let Some(i) = rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok())
    {
        return format!("Ref image {}", i + 1);
    }
    api.to_string()
}

/// `message` with the API's field names in it (`needs a referenceVideo`) in the form's
/// labels (`needs a Ref video`). Only names in camel case: `mode` or `duration` are words.
pub fn in_labels(message: &str) -> String {
    let mut out = message.to_string();
    for field in FIELDS {
        let api = field.api_name();
        if !api.chars().any(|c| c.is_ascii_uppercase()) {
            continue;
        }
        out = replace_word(&out, api, field.label());
    }
    out
}

fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        let alone = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '_');
        out.push_str(&rest[..at]);
        out.push_str(if alone(before) && alone(after) {
            with
        } else {
            word
        });
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// A validation problem as the form says it: its message in the form's labels, naming the
/// part at fault when it is one of a field's (`Shot 2 prompt must not be empty`). Its field
/// stays the API's, which places it next to its field.
pub fn labelled(problem: Problem) -> Problem {
    let mut message = in_labels(&problem.message);
    if problem.field.contains('[') {
        message = format!("{} {message}", label_of(&problem.field));
    }
    Problem {
        message,
        field: problem.field,
    }
}

/// A problem on one line, led by its field's label: `Video ref type: needs a Ref video`.
pub fn describe(problem: &Problem) -> String {
    let field = problem.field.split('[').next().unwrap_or(&problem.field);
    format!("{}: {}", label_of(field), problem.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_cycles_and_clamps() {
        let mut r = KlingRequest::new("x");
        step(&mut r, Field::Mode, true);
        assert_eq!(r.mode, Mode::FourK);
        step(&mut r, Field::Mode, true);
        assert_eq!(r.mode, Mode::Standard);
        r.duration = 15;
        step(&mut r, Field::Duration, true);
        assert_eq!(r.duration, 15);
        step(&mut r, Field::AspectRatio, true);
        step(&mut r, Field::AspectRatio, true);
        step(&mut r, Field::AspectRatio, true);
        assert_eq!(r.aspect_ratio, None);
    }

    #[test]
    fn problems_speak_in_the_forms_labels() {
        let mut r = KlingRequest::new("in <<<video_1>>>");
        r.video_reference_type = Some(VideoReferenceType::Feature);
        let problems: Vec<String> = r
            .validate()
            .into_iter()
            .map(labelled)
            .map(|p| describe(&p))
            .collect();
        assert!(
            problems.contains(&"Video ref type: needs a Ref video".to_string()),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("Prompt: <<<video_1>>> needs a Ref video")),
            "{problems:?}"
        );
        assert_eq!(label_of("multiPrompt[2].duration"), "Shot 2 length");
        let shot = labelled(Problem {
            field: "multiPrompt[1].prompt".into(),
            message: "must not be empty".into(),
        });
        assert_eq!(
            describe(&shot),
            "Multi-shot: Shot 1 prompt must not be empty"
        );
        assert_eq!(label_of("referenceImages[0]"), "Ref image 1");
        // Only whole names: a longer word that contains one stays as it is.
        assert_eq!(
            in_labels("startImages startImage."),
            "startImages Start image."
        );
    }

    #[test]
    fn reference_fields_take_lists() {
        let mut r = KlingRequest::new("x");
        let list = ["refs/fox.png".to_string(), "asset_b".into(), " ".into()];
        set_values(&mut r, Field::ReferenceImages, &list);
        assert_eq!(
            values_of(&r, Field::ReferenceImages),
            ["refs/fox.png", "asset_b"]
        );
        set_values(&mut r, Field::StartImage, &list[1..]);
        assert_eq!(values_of(&r, Field::StartImage), ["asset_b"]);
        set_values(&mut r, Field::StartImage, &[]);
        assert_eq!(r.start_image, None);
        assert_eq!(Field::ReferenceVideo.role(), Some(Role::Video));
    }

    #[test]
    fn reference_images_show_as_one_text() {
        let mut r = KlingRequest::new("x");
        let list = ["asset_a".to_string(), "asset_b".into(), "asset_c".into()];
        set_values(&mut r, Field::ReferenceImages, &list);
        assert_eq!(r.reference_images.len(), 3);
        assert_eq!(
            text_of(&r, Field::ReferenceImages),
            "asset_a, asset_b, asset_c"
        );
        assert_eq!(
            value_text(&r, Field::ReferenceImages),
            "3: asset_a, asset_b, asset_c"
        );
    }

    #[test]
    fn counts_are_singular_for_one() {
        let mut r = KlingRequest::new("x");
        r.multi_prompt = Some(vec![crate::kling::Shot {
            prompt: "a".into(),
            duration: 5,
        }]);
        assert_eq!(value_text(&r, Field::MultiShot), "1 shot, 5/5 s");
        r.multi_prompt = None;
        assert_eq!(value_text(&r, Field::MultiShot), "off");
    }
}
