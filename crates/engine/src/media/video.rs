//! Duration and frame size of an MP4 or MOV from its `moov` box, read by seeking past the media
//! data: a 200 MB file costs a few small reads.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::MediaKind;

/// What the container says; each part may be missing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct VideoFacts {
    pub duration_secs: Option<f64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// A `moov` larger than this is not a header we read whole.
const MAX_MOOV: u64 = 32 * 1024 * 1024;

pub fn video_facts(kind: MediaKind, path: &Path) -> std::io::Result<VideoFacts> {
    if !matches!(kind, MediaKind::Mp4 | MediaKind::Mov) {
        return Ok(VideoFacts::default());
    }
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut at = 0u64;
    while at + 8 <= len {
        file.seek(SeekFrom::Start(at))?;
        let mut header = [0u8; 16];
        file.read_exact(&mut header[..8])?;
        let mut size = u64::from(u32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        let mut header_len = 8;
        if size == 1 {
            file.read_exact(&mut header[8..16])?;
            size = u64::from_be_bytes(header[8..16].try_into().unwrap_or_default());
            header_len = 16;
        } else if size == 0 {
            size = len - at;
        }
        if size < header_len {
            break;
        }
        if &header[4..8] == b"moov" {
            let body = size - header_len;
            if body > MAX_MOOV {
                break;
            }
            let mut moov = vec![0u8; body as usize];
            file.read_exact(&mut moov)?;
            return Ok(parse_moov(&moov));
        }
        at += size;
    }
    Ok(VideoFacts::default())
}

/// Child boxes of a box body: (type, body).
fn boxes(data: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let header = data.get(at..at + 8)?;
        let size = u32::from_be_bytes(header[..4].try_into().ok()?) as usize;
        if size < 8 || at + size > data.len() {
            return None;
        }
        let item = (&header[4..8], &data[at + 8..at + size]);
        at += size;
        Some(item)
    })
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn parse_moov(moov: &[u8]) -> VideoFacts {
    let mut facts = VideoFacts::default();
    for (kind, body) in boxes(moov) {
        match kind {
            b"mvhd" => {
                let (scale, duration) = if body.first() == Some(&1) {
                    (be32(body, 20), be64(body, 24))
                } else {
                    (be32(body, 12), be32(body, 16).map(u64::from))
                };
                if let (Some(scale), Some(duration)) = (scale, duration)
                    && scale > 0
                {
                    facts.duration_secs = Some(duration as f64 / f64::from(scale));
                }
            }
            b"trak" => {
                for (inner, tkhd) in boxes(body) {
                    if inner != b"tkhd" {
                        continue;
                    }
                    // Width and height are the last 8 bytes, 16.16 fixed point.
                    let end = tkhd.len();
                    if end < 8 {
                        continue;
                    }
                    let w = be32(tkhd, end - 8).unwrap_or(0) >> 16;
                    let h = be32(tkhd, end - 4).unwrap_or(0) >> 16;
                    if w > 0 && h > 0 {
                        facts.width = Some(w);
                        facts.height = Some(h);
                    }
                }
            }
            _ => {}
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_demo_clip() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim/assets/demo.mp4");
        let facts = video_facts(MediaKind::Mp4, &path).unwrap();
        assert_eq!((facts.width, facts.height), (Some(320), Some(180)));
        let secs = facts.duration_secs.unwrap();
        assert!((secs - 2.0).abs() < 0.1, "{secs}");
    }

    #[test]
    fn other_containers_say_nothing() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim/assets/demo.mp4");
        assert_eq!(
            video_facts(MediaKind::Webm, &path).unwrap(),
            VideoFacts::default()
        );
    }
}
