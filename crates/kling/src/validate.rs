//! The rules the API enforces, checked locally so that nothing is sent (or charged) for a
//! request the API would refuse. Every problem is reported at once, each naming its field.

use std::fmt;

use super::references::{PromptRef, prompt_references};
use super::request::{KlingRequest, Mode};
use super::rules::Rules;

pub const MAX_PROMPT_CHARS: usize = 2500;
pub const MIN_DURATION: u32 = 3;
pub const MAX_DURATION: u32 = 15;
pub const MAX_REFERENCE_IMAGES: usize = 7;
pub const MAX_REFERENCE_IMAGES_WITH_VIDEO: usize = 4;
pub const MAX_SHOTS: usize = 6;
pub const MIN_SHOT_DURATION: u32 = 1;

/// One broken rule: the API name of the field at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl KlingRequest {
    /// Every rule of this version's own table this request breaks; empty when it may be sent.
    pub fn validate(&self) -> Vec<Problem> {
        self.validate_with(&Rules::builtin())
    }

    /// Every rule this request breaks, with the limits of `rules` (the server's, where it
    /// describes the model) in place of the built-in ones.
    pub fn validate_with(&self, rules: &Rules) -> Vec<Problem> {
        let mut problems = Vec::new();
        check_prompt(
            "prompt",
            &self.prompt,
            rules.max_prompt_chars,
            &mut problems,
        );

        let (min, max) = (rules.min_duration, rules.max_duration);
        if !(min..=max).contains(&self.duration) {
            problems.push(Problem::new(
                "duration",
                format!(
                    "must be between {min} and {max} seconds, got {}",
                    self.duration
                ),
            ));
        }
        if !rules.modes.iter().any(|m| m == self.mode.as_str()) {
            problems.push(Problem::new(
                "mode",
                format!(
                    "the server does not take {} now (it takes {})",
                    self.mode,
                    rules.modes.join(", ")
                ),
            ));
        }
        if let Some(ratio) = self.aspect_ratio
            && !rules.aspect_ratios.iter().any(|a| a == ratio.as_str())
        {
            problems.push(Problem::new(
                "aspectRatio",
                format!(
                    "the server does not take {ratio} now (it takes {})",
                    rules.aspect_ratios.join(", ")
                ),
            ));
        }
        if self.end_image.is_some() && self.start_image.is_none() {
            problems.push(Problem::new("endImage", "needs a startImage"));
        }

        let has_video = self.reference_video.is_some();
        let images = self.reference_images.len();
        let most = rules.max_reference_images;
        if images > most {
            problems.push(Problem::new(
                "referenceImages",
                format!("at most {most} images, got {images}"),
            ));
        } else if has_video && images > MAX_REFERENCE_IMAGES_WITH_VIDEO {
            problems.push(Problem::new(
                "referenceImages",
                format!(
                    "at most {MAX_REFERENCE_IMAGES_WITH_VIDEO} images with a referenceVideo, got {images}"
                ),
            ));
        }
        for (i, id) in self.reference_images.iter().enumerate() {
            if id.as_str().trim().is_empty() {
                problems.push(Problem::new(format!("referenceImages[{i}]"), "is empty"));
            }
        }
        for (field, id) in [
            ("startImage", &self.start_image),
            ("endImage", &self.end_image),
            ("referenceVideo", &self.reference_video),
        ] {
            if id.as_ref().is_some_and(|id| id.as_str().trim().is_empty()) {
                problems.push(Problem::new(field, "is empty"));
            }
        }

        if !has_video {
            if self.video_reference_type.is_some() {
                problems.push(Problem::new("videoReferenceType", "needs a referenceVideo"));
            }
            if self.keep_original_sound.is_some() {
                problems.push(Problem::new("keepOriginalSound", "needs a referenceVideo"));
            }
        }
        if has_video && self.generate_audio == Some(true) {
            problems.push(Problem::new(
                "generateAudio",
                "cannot be used with a referenceVideo",
            ));
        }
        if has_video && self.mode == Mode::FourK {
            problems.push(Problem::new(
                "mode",
                "4k cannot be used with a referenceVideo",
            ));
        }
        if self.aspect_ratio.is_none() && self.start_image.is_none() && !self.is_video_edit() {
            problems.push(Problem::new(
                "aspectRatio",
                "is required without a startImage or a base referenceVideo",
            ));
        }

        if let Some(shots) = &self.multi_prompt {
            self.check_shots(shots, rules.max_prompt_chars, &mut problems);
        }

        let mut prompts = vec![("prompt".to_string(), self.prompt.as_str())];
        for (i, shot) in self.multi_prompt.iter().flatten().enumerate() {
            prompts.push((
                format!("multiPrompt[{}].prompt", i + 1),
                shot.prompt.as_str(),
            ));
        }
        for (field, text) in prompts {
            self.check_references(&field, text, &mut problems);
        }
        problems
    }

    fn check_shots(&self, shots: &[super::Shot], max_chars: usize, problems: &mut Vec<Problem>) {
        if shots.is_empty() || shots.len() > MAX_SHOTS {
            problems.push(Problem::new(
                "multiPrompt",
                format!("must have 1 to {MAX_SHOTS} shots, got {}", shots.len()),
            ));
        }
        for (i, shot) in shots.iter().enumerate() {
            let n = i + 1;
            check_prompt(
                &format!("multiPrompt[{n}].prompt"),
                &shot.prompt,
                max_chars,
                problems,
            );
            if shot.duration < MIN_SHOT_DURATION {
                problems.push(Problem::new(
                    format!("multiPrompt[{n}].duration"),
                    format!(
                        "must be at least {MIN_SHOT_DURATION} s, got {}",
                        shot.duration
                    ),
                ));
            }
        }
        let total: u64 = shots.iter().map(|s| u64::from(s.duration)).sum();
        if !shots.is_empty() && total != u64::from(self.duration) {
            problems.push(Problem::new(
                "multiPrompt",
                format!(
                    "shot durations add up to {total} s but duration is {} s",
                    self.duration
                ),
            ));
        }
    }

    fn check_references(&self, field: &str, text: &str, problems: &mut Vec<Problem>) {
        let images = self.reference_images.len();
        for r in prompt_references(text) {
            let broken = match r {
                PromptRef::Image(n) if n == 0 || n as usize > images => Some(format!(
                    "<<<image_{n}>>> needs reference image {n}, but {images} given"
                )),
                PromptRef::Video(n) if self.reference_video.is_none() => Some(format!(
                    "<<<video_{n}>>> needs a referenceVideo, but none given"
                )),
                PromptRef::Video(n) if n != 1 => Some(format!(
                    "<<<video_{n}>>>: only one reference video exists, use <<<video_1>>>"
                )),
                _ => None,
            };
            if let Some(message) = broken {
                problems.push(Problem::new(field, message));
            }
        }
    }
}

fn check_prompt(field: &str, text: &str, max_chars: usize, problems: &mut Vec<Problem>) {
    let chars = text.chars().count();
    if text.trim().is_empty() {
        problems.push(Problem::new(field, "must not be empty"));
    } else if chars > max_chars {
        problems.push(Problem::new(
            field,
            format!("at most {max_chars} characters, got {chars}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AspectRatio, AssetId, Shot, VideoReferenceType};
    use super::*;

    fn ids(n: usize) -> Vec<AssetId> {
        (1..=n)
            .map(|i| AssetId::new(format!("asset_{i}")))
            .collect()
    }

    fn shots(durations: &[u32]) -> Option<Vec<Shot>> {
        Some(
            durations
                .iter()
                .map(|&d| Shot {
                    prompt: "shot".into(),
                    duration: d,
                })
                .collect(),
        )
    }

    /// Each row: a name, a change to a valid request, and the fields expected at fault.
    #[test]
    fn table_of_valid_and_invalid_requests() {
        type Edit = fn(&mut KlingRequest);
        let rows: Vec<(&str, Edit, &[&str])> = vec![
            ("defaults are valid", |_| {}, &[]),
            ("3 s is valid", |r| r.duration = 3, &[]),
            ("15 s is valid", |r| r.duration = 15, &[]),
            ("2500 chars is valid", |r| r.prompt = "é".repeat(2500), &[]),
            ("empty prompt", |r| r.prompt = String::new(), &["prompt"]),
            ("blank prompt", |r| r.prompt = "  \n ".into(), &["prompt"]),
            ("2501 chars", |r| r.prompt = "a".repeat(2501), &["prompt"]),
            ("duration 2", |r| r.duration = 2, &["duration"]),
            ("duration 16", |r| r.duration = 16, &["duration"]),
            (
                "end without start",
                |r| r.end_image = Some(AssetId::new("asset_e")),
                &["endImage"],
            ),
            (
                "start and end",
                |r| {
                    r.start_image = Some(AssetId::new("asset_s"));
                    r.end_image = Some(AssetId::new("asset_e"));
                },
                &[],
            ),
            ("7 reference images", |r| r.reference_images = ids(7), &[]),
            (
                "8 reference images",
                |r| r.reference_images = ids(8),
                &["referenceImages"],
            ),
            (
                "4 images with a video",
                |r| {
                    r.reference_images = ids(4);
                    r.reference_video = Some(AssetId::new("asset_v"));
                },
                &[],
            ),
            (
                "5 images with a video",
                |r| {
                    r.reference_images = ids(5);
                    r.reference_video = Some(AssetId::new("asset_v"));
                },
                &["referenceImages"],
            ),
            (
                "audio with a video",
                |r| {
                    r.generate_audio = Some(true);
                    r.reference_video = Some(AssetId::new("asset_v"));
                },
                &["generateAudio"],
            ),
            ("audio alone", |r| r.generate_audio = Some(true), &[]),
            (
                "4k with a video",
                |r| {
                    r.mode = Mode::FourK;
                    r.reference_video = Some(AssetId::new("asset_v"));
                },
                &["mode"],
            ),
            ("4k alone", |r| r.mode = Mode::FourK, &[]),
            (
                "no aspect ratio",
                |r| r.aspect_ratio = None,
                &["aspectRatio"],
            ),
            (
                "no aspect ratio with a start frame",
                |r| {
                    r.aspect_ratio = None;
                    r.start_image = Some(AssetId::new("asset_s"));
                },
                &[],
            ),
            (
                "no aspect ratio when editing a video",
                |r| {
                    r.aspect_ratio = None;
                    r.reference_video = Some(AssetId::new("asset_v"));
                    r.video_reference_type = Some(VideoReferenceType::Base);
                },
                &[],
            ),
            (
                "no aspect ratio with a feature video",
                |r| {
                    r.aspect_ratio = None;
                    r.reference_video = Some(AssetId::new("asset_v"));
                    r.video_reference_type = Some(VideoReferenceType::Feature);
                },
                &["aspectRatio"],
            ),
            (
                "shots summing to duration",
                |r| r.multi_prompt = shots(&[3, 2]),
                &[],
            ),
            (
                "zero shots",
                |r| r.multi_prompt = shots(&[]),
                &["multiPrompt"],
            ),
            (
                "seven shots",
                |r| {
                    r.duration = 7;
                    r.multi_prompt = shots(&[1; 7]);
                },
                &["multiPrompt"],
            ),
            (
                "six shots",
                |r| {
                    r.duration = 6;
                    r.multi_prompt = shots(&[1; 6]);
                },
                &[],
            ),
            (
                "a shot under 1 s",
                |r| r.multi_prompt = shots(&[5, 0]),
                &["multiPrompt[2].duration"],
            ),
            (
                "an empty shot prompt",
                |r| {
                    r.multi_prompt = Some(vec![
                        Shot {
                            prompt: "a".into(),
                            duration: 2,
                        },
                        Shot {
                            prompt: " ".into(),
                            duration: 3,
                        },
                    ])
                },
                &["multiPrompt[2].prompt"],
            ),
            (
                "shots not summing",
                |r| r.multi_prompt = shots(&[3, 3]),
                &["multiPrompt"],
            ),
            (
                "dangling image reference",
                |r| {
                    r.prompt = "<<<image_1>>> and <<<image_2>>>".into();
                    r.reference_images = ids(1);
                },
                &["prompt"],
            ),
            (
                "image_0 never exists",
                |r| {
                    r.prompt = "<<<image_0>>>".into();
                    r.reference_images = ids(1);
                },
                &["prompt"],
            ),
            (
                "image references satisfied",
                |r| {
                    r.prompt = "<<<image_1>>> and <<<image_2>>>".into();
                    r.reference_images = ids(2);
                },
                &[],
            ),
            (
                "dangling video reference",
                |r| r.prompt = "in <<<video_1>>>".into(),
                &["prompt"],
            ),
            (
                "video reference satisfied",
                |r| {
                    r.prompt = "in <<<video_1>>>".into();
                    r.reference_video = Some(AssetId::new("asset_v"));
                },
                &[],
            ),
            (
                "dangling reference in a shot",
                |r| {
                    r.multi_prompt = Some(vec![Shot {
                        prompt: "<<<image_3>>>".into(),
                        duration: 5,
                    }])
                },
                &["multiPrompt[1].prompt"],
            ),
            (
                "empty asset id",
                |r| r.start_image = Some(AssetId::new("")),
                &["startImage"],
            ),
            (
                "reference type without a video",
                |r| r.video_reference_type = Some(VideoReferenceType::Feature),
                &["videoReferenceType"],
            ),
            (
                "original sound without a video",
                |r| r.keep_original_sound = Some(false),
                &["keepOriginalSound"],
            ),
        ];
        for (name, edit, expected) in rows {
            let mut req = KlingRequest::new("a red fox in snow");
            edit(&mut req);
            let fields: Vec<String> = req.validate().into_iter().map(|p| p.field).collect();
            assert_eq!(fields, expected, "{name}");
        }
    }

    #[test]
    fn reports_every_problem_at_once() {
        let req = KlingRequest {
            prompt: String::new(),
            duration: 20,
            end_image: Some(AssetId::new("asset_e")),
            reference_images: ids(8),
            reference_video: Some(AssetId::new("asset_v")),
            generate_audio: Some(true),
            mode: Mode::FourK,
            aspect_ratio: None,
            multi_prompt: shots(&[]),
            ..KlingRequest::default()
        };
        let problems = req.validate();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "prompt",
                "duration",
                "endImage",
                "referenceImages",
                "generateAudio",
                "mode",
                "aspectRatio",
                "multiPrompt"
            ]
        );
        assert_eq!(
            problems[1].to_string(),
            "duration: must be between 3 and 15 seconds, got 20"
        );
    }

    #[test]
    fn aspect_ratio_present_is_fine() {
        let mut req = KlingRequest::new("x");
        req.aspect_ratio = Some(AspectRatio::Square);
        assert!(req.validate().is_empty());
    }
}
