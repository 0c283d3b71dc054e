//! What a request costs in creative units.

use serde_json::{Value, json};

use kling::{KlingRequest, Mode};

/// Creative units per second of video for a mode.
pub(crate) fn per_second(mode: Mode) -> u64 {
    match mode {
        Mode::Standard => 10,
        Mode::Pro => 15,
        Mode::FourK => 30,
    }
}

/// Creative units per second of the `4k-hdr` mode that [`super::ModelSchema::Extended`]
/// adds.
pub(crate) const HDR_PER_SECOND: u64 = 40;

/// Extra creative units per second when native audio is generated.
pub(crate) const AUDIO_PER_SECOND: u64 = 5;

fn audio(request: &KlingRequest) -> u64 {
    if request.generate_audio == Some(true) {
        AUDIO_PER_SECOND
    } else {
        0
    }
}

/// Creative units a request costs: per second of video, standard 10, pro 15, 4k 30, plus 5
/// with `generateAudio`.
pub fn cost(request: &KlingRequest) -> u64 {
    u64::from(request.duration) * (per_second(request.mode) + audio(request))
}

/// What a request costs, `hdr` meaning its mode is `4k-hdr` (read as `4k` otherwise).
pub(crate) fn cost_with(request: &KlingRequest, hdr: bool) -> u64 {
    if hdr {
        u64::from(request.duration) * (HDR_PER_SECOND + audio(request))
    } else {
        cost(request)
    }
}

/// The breakdown next to the total, by the SDK's keys (action names): all of it is the
/// custom model's generation.
pub(crate) fn cost_details(total: u64) -> Value {
    json!({ "custom-generation": total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_follows_mode_duration_and_audio() {
        let mut req = KlingRequest::new("x");
        assert_eq!(cost(&req), 75);
        req.mode = Mode::Standard;
        req.duration = 10;
        assert_eq!(cost(&req), 100);
        req.mode = Mode::FourK;
        req.generate_audio = Some(true);
        assert_eq!(cost(&req), 350);
        assert_eq!(cost_with(&req, false), 350);
        assert_eq!(cost_with(&req, true), 450);
        assert_eq!(cost_details(350), json!({"custom-generation": 350}));
    }
}
