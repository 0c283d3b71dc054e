//! What ffprobe says of a clip: its first video stream, its first audio stream if any, and its
//! duration; the facts the plan compares. ffprobe's answer is read within bounds.

use std::ffi::OsString;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::CutError;
use super::run::{Finished, run_tool};

/// More than this from ffprobe is not an answer about one clip.
const MAX_ANSWER: usize = 1024 * 1024;

/// A frame rate as ffprobe writes it (`30000/1001`), reduced, so equal rates compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub num: u32,
    pub den: u32,
}

impl Rate {
    /// `None` for `0/0` and anything that is not a positive fraction.
    pub fn parse(text: &str) -> Option<Self> {
        let (num, den) = text.split_once('/').unwrap_or((text, "1"));
        let (num, den): (u32, u32) = (num.trim().parse().ok()?, den.trim().parse().ok()?);
        if num == 0 || den == 0 {
            return None;
        }
        let g = gcd(num, den);
        Some(Self {
            num: num / g,
            den: den / g,
        })
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

impl fmt::Display for Rate {
    /// As ffmpeg reads it back: `25`, or `30000/1001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VideoStream {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub frame_rate: Rate,
    pub pix_fmt: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioStream {
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub video: VideoStream,
    pub audio: Option<AudioStream>,
    pub duration_s: f64,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    streams: Vec<Stream>,
    format: Option<Format>,
}

#[derive(Deserialize)]
struct Stream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    pix_fmt: Option<String>,
    r_frame_rate: Option<String>,
    avg_frame_rate: Option<String>,
    sample_rate: Option<String>,
    channels: Option<u32>,
    duration: Option<String>,
}

#[derive(Deserialize)]
struct Format {
    duration: Option<String>,
}

/// The arguments that make ffprobe print just what [`parse`] reads.
pub(super) fn probe_args(clip: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_entries",
        "format=duration:stream=codec_type,codec_name,width,height,pix_fmt,r_frame_rate,\
         avg_frame_rate,sample_rate,channels,duration",
        "-i",
    ]
    .map(OsString::from)
    .to_vec();
    args.push(clip.as_os_str().to_owned());
    args
}

/// ffprobe's JSON answer, or what is missing from it.
pub fn parse(json: &[u8]) -> Result<Probe, String> {
    let answer: Answer =
        serde_json::from_slice(json).map_err(|e| format!("ffprobe's answer is not JSON: {e}"))?;
    let video = answer
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video"))
        .ok_or("no video stream")?;
    let frame_rate = [&video.r_frame_rate, &video.avg_frame_rate]
        .into_iter()
        .flatten()
        .find_map(|r| Rate::parse(r))
        .ok_or("the video has no frame rate")?;
    let (Some(width), Some(height)) = (video.width, video.height) else {
        return Err("the video has no frame size".into());
    };
    if width == 0 || height == 0 {
        return Err("the video has no frame size".into());
    }
    let audio = answer
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("audio"))
        .map(|a| AudioStream {
            codec: a.codec_name.clone().unwrap_or_default(),
            sample_rate: a
                .sample_rate
                .as_deref()
                .and_then(|r| r.parse().ok())
                .unwrap_or(0),
            channels: a.channels.unwrap_or(0),
        });
    let duration_s = answer
        .format
        .and_then(|f| f.duration)
        .or_else(|| video.duration.clone())
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d > 0.0)
        .ok_or("no duration")?;
    Ok(Probe {
        video: VideoStream {
            codec: video.codec_name.clone().unwrap_or_default(),
            width,
            height,
            frame_rate,
            pix_fmt: video.pix_fmt.clone().unwrap_or_default(),
        },
        audio,
        duration_s,
    })
}

/// Probes one clip; an error names the file and says what ffprobe said.
pub(super) async fn probe(ffprobe: &Path, clip: &Path) -> Result<Probe, CutError> {
    let failed = |reason: String| CutError::Clip {
        path: clip.to_owned(),
        reason,
    };
    let mut answer = Vec::new();
    let mut too_long = false;
    let Finished { status, tail } = run_tool(ffprobe, &probe_args(clip), |line| {
        if answer.len() + line.len() < MAX_ANSWER {
            answer.extend_from_slice(line);
            answer.push(b'\n');
        } else {
            too_long = true;
        }
    })
    .await
    .map_err(|e| failed(format!("cannot run ffprobe: {e}")))?;
    if !status.success() {
        let said = if tail.is_empty() {
            status.to_string()
        } else {
            tail.join(" / ")
        };
        return Err(failed(format!("ffprobe cannot read it: {said}")));
    }
    if too_long {
        return Err(failed("ffprobe's answer is over 1 MiB".into()));
    }
    parse(&answer).map_err(failed)
}
