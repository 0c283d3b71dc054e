//! The parameter sidebar's fields: how each shows its value, steps through its choices, and
//! takes text; the request itself is the one model, so validation runs on exactly what is sent.

use crate::kling::{AspectRatio, AssetId, KlingRequest, Mode, Problem, VideoReferenceType};

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
                format!("{} shots, {total}/{} s", shots.len(), request.duration)
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
        Field::MultiShot => {
            request.multi_prompt = match request.multi_prompt.take() {
                Some(_) => None,
                None => Some(Vec::new()),
            }
        }
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

/// Sets a text field; empty clears it. Reference images are separated by commas or spaces.
pub fn set_text(request: &mut KlingRequest, field: Field, text: &str) {
    let text = text.trim();
    let one = || (!text.is_empty()).then(|| AssetId::new(text));
    match field {
        Field::StartImage => request.start_image = one(),
        Field::EndImage => request.end_image = one(),
        Field::ReferenceVideo => request.reference_video = one(),
        Field::ReferenceImages => {
            request.reference_images = text
                .split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(AssetId::new)
                .collect()
        }
        _ => {}
    }
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
    fn text_fields_round_trip() {
        let mut r = KlingRequest::new("x");
        set_text(&mut r, Field::ReferenceImages, "asset_a, asset_b asset_c");
        assert_eq!(r.reference_images.len(), 3);
        assert_eq!(
            text_of(&r, Field::ReferenceImages),
            "asset_a, asset_b, asset_c"
        );
        set_text(&mut r, Field::StartImage, "  ");
        assert_eq!(r.start_image, None);
    }
}
