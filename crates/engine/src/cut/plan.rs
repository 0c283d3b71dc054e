//! Stream copy or re-encode: decided from the probes alone, before ffmpeg runs.

use super::probe::{AudioStream, Probe, Rate};

#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Every clip shares codec, size, frame rate, pixel format and audio: the packets are
    /// joined as they are, losing nothing and taking seconds.
    Copy,
    Reencode(Reencode),
}

/// A re-encode to H.264 and AAC at the first clip's size and frame rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Reencode {
    /// Which clip differs from the first, and in what.
    pub why: String,
    /// Even, as yuv420p needs.
    pub width: u32,
    pub height: u32,
    pub frame_rate: Rate,
    /// Some clip has sound: the film has a sound track, silent where a clip has none.
    pub audio: bool,
}

pub fn plan(probes: &[Probe]) -> Plan {
    let Some(first) = probes.first() else {
        return Plan::Copy;
    };
    let why = probes.iter().enumerate().skip(1).find_map(|(i, p)| {
        let what = differences(first, p);
        (!what.is_empty())
            .then(|| format!("clip {} differs from clip 1 in {}", i + 1, and_list(&what)))
    });
    match why {
        None => Plan::Copy,
        Some(why) => Plan::Reencode(Reencode {
            why,
            width: even(first.video.width),
            height: even(first.video.height),
            frame_rate: first.video.frame_rate,
            audio: probes.iter().any(|p| p.audio.is_some()),
        }),
    }
}

/// What `other` has that `first` has not, each as "size (640×360, not 320×240)".
fn differences(first: &Probe, other: &Probe) -> Vec<String> {
    let (a, b) = (&first.video, &other.video);
    let mut what = Vec::new();
    if a.codec != b.codec {
        what.push(format!("codec ({}, not {})", b.codec, a.codec));
    }
    if (a.width, a.height) != (b.width, b.height) {
        what.push(format!(
            "size ({}×{}, not {}×{})",
            b.width, b.height, a.width, a.height
        ));
    }
    if a.frame_rate != b.frame_rate {
        what.push(format!(
            "frame rate ({} fps, not {} fps)",
            b.frame_rate, a.frame_rate
        ));
    }
    if a.pix_fmt != b.pix_fmt {
        what.push(format!("pixel format ({}, not {})", b.pix_fmt, a.pix_fmt));
    }
    if first.audio != other.audio {
        what.push(format!(
            "sound ({}, not {})",
            audio_words(other.audio.as_ref()),
            audio_words(first.audio.as_ref())
        ));
    }
    what
}

fn audio_words(audio: Option<&AudioStream>) -> String {
    match audio {
        None => "none".into(),
        Some(a) => format!("{} {} Hz {} ch", a.codec, a.sample_rate, a.channels),
    }
}

fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn even(n: u32) -> u32 {
    n + n % 2
}
