//! A request read back from what the server recorded of a job (`metadata.input`), for jobs
//! made elsewhere (the web app, another client). Field by field: one the server spelled in
//! another way, or that this client does not know, is left at its default and never stops
//! the rest from being read.

use serde_json::Value;

use super::{AspectRatio, AssetId, KlingRequest, Mode, Shot, VideoReferenceType};

impl KlingRequest {
    /// The request a job's recorded input describes, as near as it can be read.
    pub fn from_recorded(input: &Value) -> Self {
        let field = |name: &str| input.get(name).filter(|v| !v.is_null());
        let text = |name: &str| field(name).and_then(Value::as_str).map(str::to_owned);
        let asset = |name: &str| text(name).filter(|s| !s.is_empty()).map(AssetId);
        let flag = |name: &str| match field(name)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        let reference_images = match field("referenceImages") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(AssetId::new)
                .collect(),
            Some(Value::String(one)) if !one.is_empty() => vec![AssetId::new(one.clone())],
            _ => Vec::new(),
        };
        let defaults = KlingRequest::default();
        KlingRequest {
            prompt: text("prompt").unwrap_or_default(),
            start_image: asset("startImage"),
            end_image: asset("endImage"),
            reference_images,
            reference_video: asset("referenceVideo"),
            video_reference_type: text("videoReferenceType")
                .and_then(|s| s.parse::<VideoReferenceType>().ok()),
            keep_original_sound: flag("keepOriginalSound"),
            generate_audio: flag("generateAudio"),
            mode: text("mode")
                .and_then(|s| s.parse::<Mode>().ok())
                .unwrap_or(defaults.mode),
            // Absent: the server chose (from a start frame, say); not the default to impose.
            aspect_ratio: text("aspectRatio").and_then(|s| s.parse::<AspectRatio>().ok()),
            duration: field("duration")
                .and_then(whole_number)
                .unwrap_or(defaults.duration),
            multi_prompt: field("multiPrompt").and_then(shots),
        }
    }
}

/// A count given as a number or a string of one.
fn whole_number(value: &Value) -> Option<u32> {
    let n = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX)).then_some(n as u32)
}

/// Shots sent as this model wants them (a JSON string holding the array), or as a plain
/// array; a shot that cannot be read drops them all rather than leave a video half-described.
fn shots(value: &Value) -> Option<Vec<Shot>> {
    let parsed;
    let items = match value {
        Value::Array(items) => items,
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).ok()?;
            parsed.as_array()?
        }
        _ => return None,
    };
    items
        .iter()
        .map(|shot| {
            Some(Shot {
                prompt: shot.get("prompt")?.as_str()?.to_owned(),
                duration: whole_number(shot.get("duration")?)?,
            })
        })
        .collect::<Option<Vec<Shot>>>()
        .filter(|shots| !shots.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_back_what_was_sent() {
        let mut sent = KlingRequest::new("a fox");
        sent.mode = Mode::FourK;
        sent.duration = 10;
        sent.reference_images = vec![AssetId::new("asset_1")];
        sent.generate_audio = Some(true);
        sent.multi_prompt = Some(vec![Shot {
            prompt: "one".into(),
            duration: 10,
        }]);
        let mut input = sent.to_json();
        input["modelId"] = json!("model_kling-v3-omni-video");
        assert_eq!(KlingRequest::from_recorded(&input), sent);
    }

    #[test]
    fn fields_it_cannot_read_are_left_at_their_defaults() {
        let input = json!({
            "prompt": "x", "mode": "8k", "duration": "7", "aspectRatio": 3,
            "referenceImages": "asset_9", "generateAudio": "yes", "multiPrompt": "[{\"p\": 1}]",
            "startImage": {"id": "asset_2"}, "somethingNew": true
        });
        let request = KlingRequest::from_recorded(&input);
        assert_eq!(request.prompt, "x");
        assert_eq!(request.mode, Mode::Pro);
        assert_eq!(request.duration, 7);
        assert_eq!(request.aspect_ratio, None);
        assert_eq!(request.reference_images, [AssetId::new("asset_9")]);
        assert_eq!(request.generate_audio, None);
        assert_eq!(request.multi_prompt, None);
        assert_eq!(request.start_image, None);
        let nothing = KlingRequest::from_recorded(&json!(null));
        assert_eq!(nothing.prompt, "");
        assert_eq!(nothing.duration, 5);
        assert_eq!(
            KlingRequest::from_recorded(&json!({"duration": 2.5})).duration,
            5
        );
    }
}
