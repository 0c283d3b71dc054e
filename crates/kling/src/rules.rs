//! The model's rules as the server describes them (`GET /v1/models/{modelId}`, its `inputs`),
//! over the built-in table of [`super::validate`]: where the server says otherwise it wins, so a
//! value it newly allows is not refused here and a rule it adds is not missed. Its
//! `performanceStats` say how long a job takes, for an expected finish time.

use serde_json::Value;

use super::request::{AspectRatio, Mode};
use super::validate::{MAX_DURATION, MAX_PROMPT_CHARS, MAX_REFERENCE_IMAGES, MIN_DURATION};

/// The limits a request is checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub min_duration: u32,
    pub max_duration: u32,
    pub max_prompt_chars: usize,
    pub max_reference_images: usize,
    /// The modes the server takes, by their wire names.
    pub modes: Vec<String>,
    pub aspect_ratios: Vec<String>,
    /// Seconds from submission to the video, queue included (the P50), per mode.
    pub latency_p50: Vec<(String, f64)>,
}

impl Default for Rules {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Rules {
    /// This version's own table.
    pub fn builtin() -> Self {
        Self {
            min_duration: MIN_DURATION,
            max_duration: MAX_DURATION,
            max_prompt_chars: MAX_PROMPT_CHARS,
            max_reference_images: MAX_REFERENCE_IMAGES,
            modes: Mode::ALL.iter().map(|m| m.as_str().to_string()).collect(),
            aspect_ratios: AspectRatio::ALL
                .iter()
                .map(|a| a.as_str().to_string())
                .collect(),
            latency_p50: Vec::new(),
        }
    }

    /// The built-in table with every rule the model description states instead. Read
    /// leniently: an input or a number it does not give, or gives in a shape not understood,
    /// leaves the built-in rule.
    pub fn from_model(model: &Value) -> Self {
        let mut rules = Self::builtin();
        let model = model.get("model").unwrap_or(model);
        let inputs = model.get("inputs").and_then(Value::as_array);
        for input in inputs.into_iter().flatten() {
            let Some(name) = input.get("name").and_then(Value::as_str) else {
                continue;
            };
            let number = |key: &str| number(input.get(key)?);
            let values = || -> Option<Vec<String>> {
                let list = input.get("allowedValues")?.as_array()?;
                let values: Vec<String> = list
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .filter(|v| !v.is_empty() && v.len() <= 64)
                    .collect();
                (!values.is_empty()).then_some(values)
            };
            match name {
                "duration" => {
                    if let Some(min) = number("min").filter(|n| *n >= 1.0) {
                        rules.min_duration = min.ceil() as u32;
                    }
                    if let Some(max) = number("max").filter(|n| *n >= 1.0) {
                        rules.max_duration = max.floor() as u32;
                    }
                }
                "prompt" => {
                    if let Some(max) = number("maxLength").filter(|n| *n >= 1.0) {
                        rules.max_prompt_chars = max as usize;
                    }
                }
                "referenceImages" => {
                    if let Some(max) = number("max").or_else(|| number("maxItems")) {
                        rules.max_reference_images = max as usize;
                    }
                }
                "mode" => {
                    if let Some(values) = values() {
                        rules.modes = values;
                    }
                }
                "aspectRatio" => {
                    if let Some(values) = values() {
                        rules.aspect_ratios = values;
                    }
                }
                _ => {}
            }
        }
        let variants = model
            .get("performanceStats")
            .and_then(|p| p.get("variants"))
            .and_then(Value::as_array);
        for variant in variants.into_iter().flatten() {
            let key = variant.get("variantKey").and_then(Value::as_str);
            let latency = variant
                .get("totalLatencyP50Sec")
                .and_then(number)
                .filter(|s| *s > 0.0);
            if let (Some(key), Some(latency)) = (key, latency) {
                rules.latency_p50.push((key.to_string(), latency));
            }
        }
        rules
    }

    /// Where these rules differ from this version's own table, each said as a person would.
    pub fn differences(&self) -> Vec<String> {
        let builtin = Self::builtin();
        let mut said = Vec::new();
        if (self.min_duration, self.max_duration) != (builtin.min_duration, builtin.max_duration) {
            said.push(format!(
                "the server now allows durations of {} to {} s (this version knew {} to {})",
                self.min_duration, self.max_duration, builtin.min_duration, builtin.max_duration
            ));
        }
        if self.max_prompt_chars != builtin.max_prompt_chars {
            said.push(format!(
                "the server now allows prompts of at most {} characters (this version knew {})",
                self.max_prompt_chars, builtin.max_prompt_chars
            ));
        }
        if self.max_reference_images != builtin.max_reference_images {
            said.push(format!(
                "the server now allows at most {} reference images (this version knew {})",
                self.max_reference_images, builtin.max_reference_images
            ));
        }
        for (field, now, known) in [
            ("mode", &self.modes, &builtin.modes),
            ("aspectRatio", &self.aspect_ratios, &builtin.aspect_ratios),
        ] {
            for value in now.iter().filter(|v| !known.contains(v)) {
                said.push(format!(
                    "the server now allows {field} {value} (this version cannot send it yet)"
                ));
            }
            for value in known.iter().filter(|v| !now.contains(v)) {
                said.push(format!("the server no longer allows {field} {value}"));
            }
        }
        said
    }

    /// How long a job of `mode` takes, queue included, where the server says.
    pub fn expected_seconds(&self, mode: Mode) -> Option<f64> {
        self.latency_p50
            .iter()
            .find(|(key, _)| key == mode.as_str())
            .map(|(_, secs)| *secs)
    }
}

fn number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    (n.is_finite() && (0.0..=1e9).contains(&n)).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_servers_rules_win_and_each_difference_is_said() {
        let model = json!({"model": {"inputs": [
            {"name": "duration", "type": "number", "min": 3, "max": 10.0},
            {"name": "prompt", "maxLength": "2000"},
            {"name": "mode", "allowedValues": ["standard", "pro", "4k", "4k-hdr"]},
            {"name": "aspectRatio", "allowedValues": ["16:9", "9:16"]},
            {"name": "referenceImages", "max": null},
            {"name": 7},
            "not an object"
        ], "performanceStats": {"variants": [
            {"variantKey": "pro", "totalLatencyP50Sec": 120.5},
            {"variantKey": "4k", "totalLatencyP50Sec": "nonsense"}
        ]}}});
        let rules = Rules::from_model(&model);
        assert_eq!((rules.min_duration, rules.max_duration), (3, 10));
        assert_eq!(rules.max_prompt_chars, 2000);
        assert_eq!(rules.max_reference_images, MAX_REFERENCE_IMAGES);
        assert_eq!(rules.expected_seconds(Mode::Pro), Some(120.5));
        assert_eq!(rules.expected_seconds(Mode::FourK), None);
        let said = rules.differences();
        assert_eq!(
            said,
            [
                "the server now allows durations of 3 to 10 s (this version knew 3 to 15)",
                "the server now allows prompts of at most 2000 characters (this version knew 2500)",
                "the server now allows mode 4k-hdr (this version cannot send it yet)",
                "the server no longer allows aspectRatio 1:1",
            ]
        );
        assert!(Rules::from_model(&json!({})).differences().is_empty());
    }
}
