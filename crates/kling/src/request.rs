//! The request body of `POST /generate/custom/model_kling-v3-omni-video`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Scenario asset id (`asset_...`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AssetId(pub String);

impl AssetId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A value given on the command line or in a form that is not one of the allowed ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {value:?} is not one of {allowed}")]
pub struct ParseError {
    pub field: &'static str,
    pub value: String,
    pub allowed: &'static str,
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal, { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(ParseError {
                        field: $field,
                        value: s.to_string(),
                        allowed: concat!($($wire, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }
    };
}

wire_enum!(
    /// Output resolution: 720p, 1080p or 4K.
    Mode, "mode", { Standard => "standard", Pro => "pro", FourK => "4k" }
);
wire_enum!(
    /// Frame shape of the generated video.
    AspectRatio, "aspectRatio", { Landscape => "16:9", Portrait => "9:16", Square => "1:1" }
);
wire_enum!(
    /// How a reference video is used: as a style/camera reference or as the video to edit.
    VideoReferenceType, "videoReferenceType", { Feature => "feature", Base => "base" }
);

/// One shot of a multi-shot video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shot {
    pub prompt: String,
    pub duration: u32,
}

/// A complete Kling V3 Omni request. Field order and names follow the API; `None` and empty
/// lists are left out of the body so the API applies its own defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KlingRequest {
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_image: Option<AssetId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_image: Option<AssetId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_images: Vec<AssetId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_video: Option<AssetId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_reference_type: Option<VideoReferenceType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_original_sound: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_audio: Option<bool>,
    #[serde(default = "default_mode")]
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<AspectRatio>,
    #[serde(default = "default_duration")]
    pub duration: u32,
    /// Sent as a JSON *string* holding the shot array, as this model requires.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "shots_as_string",
        deserialize_with = "shots_from_string"
    )]
    pub multi_prompt: Option<Vec<Shot>>,
}

/// The API's defaults: `pro`, `16:9`, 5 seconds.
pub const DEFAULT_MODE: Mode = Mode::Pro;
pub const DEFAULT_ASPECT_RATIO: AspectRatio = AspectRatio::Landscape;
pub const DEFAULT_DURATION: u32 = 5;

fn default_mode() -> Mode {
    DEFAULT_MODE
}

fn default_duration() -> u32 {
    DEFAULT_DURATION
}

impl Default for KlingRequest {
    fn default() -> Self {
        Self {
            prompt: String::new(),
            start_image: None,
            end_image: None,
            reference_images: Vec::new(),
            reference_video: None,
            video_reference_type: None,
            keep_original_sound: None,
            generate_audio: None,
            mode: DEFAULT_MODE,
            aspect_ratio: Some(DEFAULT_ASPECT_RATIO),
            duration: DEFAULT_DURATION,
            multi_prompt: None,
        }
    }
}

impl KlingRequest {
    /// A request with the API's defaults and the given prompt.
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            ..Self::default()
        }
    }

    /// The body as the API expects it.
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing these plain types cannot fail; keep a total function all the same.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// True when a reference video is given and used as the video to edit.
    pub fn is_video_edit(&self) -> bool {
        self.reference_video.is_some()
            && self.video_reference_type == Some(VideoReferenceType::Base)
    }
}

fn shots_as_string<S: Serializer>(shots: &Option<Vec<Shot>>, s: S) -> Result<S::Ok, S::Error> {
    match shots {
        Some(shots) => {
            let text = serde_json::to_string(shots).map_err(serde::ser::Error::custom)?;
            s.serialize_str(&text)
        }
        None => s.serialize_none(),
    }
}

fn shots_from_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Shot>>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    match text {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("multiPrompt: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn golden_minimal_body() {
        let req = KlingRequest::new("A fantasy landscape");
        assert_eq!(
            req.to_json(),
            json!({"prompt": "A fantasy landscape", "mode": "pro", "aspectRatio": "16:9", "duration": 5})
        );
    }

    #[test]
    fn golden_full_body() {
        let req = KlingRequest {
            prompt: "<<<image_1>>> walks into <<<video_1>>>".into(),
            start_image: Some(AssetId::new("asset_start")),
            end_image: Some(AssetId::new("asset_end")),
            reference_images: vec![AssetId::new("asset_ref1")],
            reference_video: Some(AssetId::new("asset_vid")),
            video_reference_type: Some(VideoReferenceType::Feature),
            keep_original_sound: Some(false),
            generate_audio: Some(false),
            mode: Mode::Standard,
            aspect_ratio: None,
            duration: 5,
            multi_prompt: Some(vec![
                Shot {
                    prompt: "A cat jumps".into(),
                    duration: 3,
                },
                Shot {
                    prompt: "It lands".into(),
                    duration: 2,
                },
            ]),
        };
        let body = serde_json::to_string(&req).unwrap();
        assert_eq!(
            body,
            r#"{"prompt":"<<<image_1>>> walks into <<<video_1>>>","startImage":"asset_start","endImage":"asset_end","referenceImages":["asset_ref1"],"referenceVideo":"asset_vid","videoReferenceType":"feature","keepOriginalSound":false,"generateAudio":false,"mode":"standard","duration":5,"multiPrompt":"[{\"prompt\":\"A cat jumps\",\"duration\":3},{\"prompt\":\"It lands\",\"duration\":2}]"}"#
        );
    }

    #[test]
    fn one_reference_image_is_still_an_array() {
        let mut req = KlingRequest::new("x");
        req.reference_images.push(AssetId::new("asset_1"));
        assert_eq!(req.to_json()["referenceImages"], json!(["asset_1"]));
    }

    #[test]
    fn round_trips_through_the_wire_format() {
        let mut req = KlingRequest::new("x");
        req.mode = Mode::FourK;
        req.multi_prompt = Some(vec![Shot {
            prompt: "a".into(),
            duration: 5,
        }]);
        let back: KlingRequest = serde_json::from_value(req.to_json()).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn enums_parse_and_name_their_field() {
        assert_eq!("4k".parse::<Mode>(), Ok(Mode::FourK));
        assert_eq!("9:16".parse::<AspectRatio>(), Ok(AspectRatio::Portrait));
        let err = "4:3".parse::<AspectRatio>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"aspectRatio: "4:3" is not one of 16:9 9:16 1:1"#
        );
    }
}
