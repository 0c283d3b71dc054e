//! What a request costs in creative units.

use serde_json::{Value, json};

use crate::kling::{KlingRequest, Mode};

/// Creative units per second of video for a mode.
fn per_second(mode: Mode) -> u64 {
    match mode {
        Mode::Standard => 10,
        Mode::Pro => 15,
        Mode::FourK => 30,
    }
}

/// Extra creative units per second when native audio is generated.
const AUDIO_PER_SECOND: u64 = 5;

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

/// The breakdown a dry run reports next to the total.
pub(crate) fn cost_details(request: &KlingRequest) -> Value {
    json!({
        "mode": request.mode.as_str(),
        "duration": request.duration,
        "perSecond": per_second(request.mode),
        "audioPerSecond": audio(request),
        "total": cost(request),
    })
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
    }
}
