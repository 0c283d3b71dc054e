//! The bytes a generated video consists of: the embedded demo clip, or a synthetic body of
//! any size that is computed as it streams and never held whole.

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};

/// A real 2 s, 320x180 H.264 clip (see scripts/make-demo-video.sh).
pub(crate) static DEMO_VIDEO: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo.mp4"));
const DEMO_WIDTH: u64 = 320;
const DEMO_HEIGHT: u64 = 180;
const DEMO_SECONDS: f64 = 2.0;

/// Bodies go out in pieces of this size, so memory stays flat whatever the file size.
const CHUNK: u64 = 64 * 1024;

/// Mixes a 64-bit word index into pseudo-random bits (splitmix64).
fn splitmix64(index: u64) -> u64 {
    let mut z = index.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The synthetic body is built from one random block, rotated by a different amount in
/// each block-sized stretch: copies only, so gigabytes stream fast even in debug builds,
/// while a download resumed at the wrong place still never matches by accident.
const BLOCK: usize = 64 * 1024;

fn base_block() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| {
        (0..(BLOCK / 8) as u64)
            .flat_map(|word| splitmix64(word).to_le_bytes())
            .collect()
    })
}

/// What every synthetic body starts with: an MP4 `ftyp` box, so it passes for the video its
/// type announces; the rest is filler.
const SYNTHETIC_HEAD: &[u8; 24] = b"\0\0\0\x18ftypisom\0\0\x02\0isommp41";
/// The same box for a body served as QuickTime: the `qt  ` brand.
const SYNTHETIC_HEAD_QT: &[u8; 24] = b"\0\0\0\x18ftypqt  \0\0\x02\0qt  isom";
/// Where the filler of a job's second video starts: far enough that no stretch matches the
/// first video's, and a whole number of blocks.
const TAKE_SHIFT: u64 = 1 << 44;

/// `len` bytes of the synthetic body from `offset`.
pub(crate) fn synthetic_bytes(offset: u64, len: usize) -> Vec<u8> {
    synthetic_file_bytes(offset, len, 0, false)
}

/// `len` bytes from `offset` of the synthetic body of a job's video number `take` (from 0),
/// as MP4 or as QuickTime.
fn synthetic_file_bytes(offset: u64, len: usize, take: usize, quicktime: bool) -> Vec<u8> {
    let shift = TAKE_SHIFT.wrapping_mul(take as u64);
    let mut out = filler_bytes(offset.wrapping_add(shift), len);
    let head = if quicktime {
        SYNTHETIC_HEAD_QT
    } else {
        SYNTHETIC_HEAD
    };
    if offset < head.len() as u64 {
        let from = offset as usize;
        let n = (head.len() - from).min(len);
        out[..n].copy_from_slice(&head[from..from + n]);
    }
    out
}

fn filler_bytes(offset: u64, len: usize) -> Vec<u8> {
    let base = base_block();
    let block = BLOCK as u64;
    let mut out = Vec::with_capacity(len);
    let mut pos = offset;
    while out.len() < len {
        let within = (pos % block) as usize;
        let rotation = (splitmix64(!(pos / block)) % block) as usize;
        let start = (within + rotation) % BLOCK;
        // Up to the end of this stretch, the end of the base block, or the end wanted.
        let take = (BLOCK - within).min(BLOCK - start).min(len - out.len());
        out.extend_from_slice(&base[start..start + take]);
        pos += take as u64;
    }
    out
}

/// The demo clip as served for a job's video number `take` (from 0), as MP4 or QuickTime.
/// The first MP4 is the embedded file itself. QuickTime changes the major brand of the
/// `ftyp` box to `qt  ` (same length, so every offset in the file holds); a later video has a
/// `free` box appended, naming its number: a distinct file that plays the same.
pub(crate) fn demo_bytes(take: usize, quicktime: bool) -> &'static [u8] {
    static VARIANTS: OnceLock<[Vec<u8>; 4]> = OnceLock::new();
    if take == 0 && !quicktime {
        return DEMO_VIDEO;
    }
    let variants = VARIANTS.get_or_init(|| {
        let make = |second: bool, quicktime: bool| {
            let mut bytes = DEMO_VIDEO.to_vec();
            if quicktime && bytes.get(4..8) == Some(b"ftyp") {
                bytes[8..12].copy_from_slice(b"qt  ");
            }
            if second {
                bytes.extend_from_slice(b"\0\0\0\x18free");
                bytes.extend_from_slice(b"kling-tui sim #2");
            }
            bytes
        };
        [
            DEMO_VIDEO.to_vec(),
            make(false, true),
            make(true, false),
            make(true, true),
        ]
    });
    &variants[usize::from(take > 0) * 2 + usize::from(quicktime)]
}

/// Which body the CDN serves for every generated video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VideoSource {
    Demo,
    Synthetic(u64),
}

impl VideoSource {
    pub(crate) fn new(video_size: Option<u64>) -> Self {
        video_size.map_or(VideoSource::Demo, VideoSource::Synthetic)
    }

    /// Width, height and seconds to report: the clip's own for the demo video, else what
    /// the request asked for.
    pub(crate) fn shape(self, requested: (u64, u64, f64)) -> (u64, u64, f64) {
        match self {
            VideoSource::Demo => (DEMO_WIDTH, DEMO_HEIGHT, DEMO_SECONDS),
            VideoSource::Synthetic(_) => requested,
        }
    }
}

/// Frames a second of every generated video (the demo clip's).
pub(crate) const FRAME_RATE: u64 = 24;

/// One generated video file: its body, which of its job's videos it is, and its container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VideoFile {
    pub source: VideoSource,
    /// 0 for a job's first video, 1 for its second.
    pub take: usize,
    pub quicktime: bool,
}

impl VideoFile {
    pub(crate) fn len(self) -> u64 {
        match self.source {
            VideoSource::Demo => demo_bytes(self.take, self.quicktime).len() as u64,
            VideoSource::Synthetic(n) => n,
        }
    }

    pub(crate) fn mime(self) -> &'static str {
        if self.quicktime {
            "video/quicktime"
        } else {
            "video/mp4"
        }
    }

    /// What its CDN link ends with.
    pub(crate) fn extension(self) -> &'static str {
        super::sniff::extension(self.mime())
    }

    /// A strong validator that changes whenever the content would: the MD5 of the demo clip,
    /// as S3 and CloudFront give for a file stored in one piece, and a multipart-style tag
    /// (not a digest) for the synthetic body, as they give for a big one.
    pub(crate) fn etag(self) -> String {
        match self.source {
            VideoSource::Demo => super::uploads::etag_of(demo_bytes(self.take, self.quicktime)),
            VideoSource::Synthetic(n) => {
                let variant = (self.take as u64) << 1 | u64::from(self.quicktime);
                let tag = splitmix64(n) ^ variant.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                format!("\"{tag:016x}-{}\"", n.div_ceil(8 << 20))
            }
        }
    }

    /// Bytes `start..end` of the body, in chunks made only when the connection wants them.
    pub(crate) fn stream(
        self,
        start: u64,
        end: u64,
    ) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        stream::unfold(start, move |pos| async move {
            if pos >= end {
                return None;
            }
            let next = end.min(pos + CHUNK);
            let chunk = match self.source {
                VideoSource::Demo => {
                    let range = usize::try_from(pos).ok()?..usize::try_from(next).ok()?;
                    Bytes::from_static(demo_bytes(self.take, self.quicktime).get(range)?)
                }
                VideoSource::Synthetic(_) => Bytes::from(synthetic_file_bytes(
                    pos,
                    usize::try_from(next - pos).ok()?,
                    self.take,
                    self.quicktime,
                )),
            };
            Some((Ok(chunk), next))
        })
    }
}

/// Sends `body`, then breaks the connection. The pause first lets the server flush what it
/// already has, so the client sees the headers (and any bytes) before the break.
pub(crate) fn break_after<S>(body: S) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static
where
    S: Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    body.chain(stream::once(async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection broken on purpose",
        ))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_bytes_agree_at_any_offset() {
        let whole = synthetic_bytes(0, 3 * BLOCK + 100);
        for offset in [0usize, 1, 7, 8, 13, 50, BLOCK - 1, BLOCK, 2 * BLOCK + 5] {
            let part = synthetic_bytes(offset as u64, whole.len() - offset);
            assert_eq!(part, whole[offset..], "offset {offset}");
        }
        // Shifted copies of the body differ: a misplaced resume shows.
        for shift in [1usize, 8, BLOCK, 2 * BLOCK] {
            let a = &whole[..BLOCK];
            let b = &whole[shift..shift + BLOCK];
            let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
            assert!(same < BLOCK / 64, "shift {shift}: {same} equal bytes");
        }
    }

    fn file(source: VideoSource) -> VideoFile {
        VideoFile {
            source,
            take: 0,
            quicktime: false,
        }
    }

    #[tokio::test]
    async fn streams_cover_the_range_exactly() {
        let source = file(VideoSource::Synthetic(300_000));
        let chunks: Vec<_> = source.stream(1000, 200_000).collect().await;
        let mut body = Vec::new();
        for chunk in chunks {
            let chunk = chunk.unwrap();
            assert!(chunk.len() as u64 <= CHUNK);
            body.extend_from_slice(&chunk);
        }
        assert_eq!(body, synthetic_bytes(1000, 199_000));

        let demo = file(VideoSource::Demo);
        let demo: Vec<_> = demo.stream(0, demo.len()).collect().await;
        let demo: Vec<u8> = demo.into_iter().flat_map(|c| c.unwrap().to_vec()).collect();
        assert_eq!(demo, DEMO_VIDEO);
    }

    #[test]
    fn second_videos_and_quicktime_bodies_differ_but_keep_their_container() {
        let first = demo_bytes(0, false);
        let second = demo_bytes(1, false);
        let qt = demo_bytes(0, true);
        assert_eq!(first, DEMO_VIDEO);
        assert_ne!(first, second);
        assert!(second.starts_with(first));
        assert_eq!(&qt[4..12], b"ftypqt  ");
        assert_eq!(qt.len(), first.len());
        assert_eq!(&demo_bytes(1, true)[8..12], b"qt  ");

        let a = synthetic_file_bytes(0, 4 * BLOCK, 0, false);
        let b = synthetic_file_bytes(0, 4 * BLOCK, 1, false);
        assert_eq!(a, synthetic_bytes(0, 4 * BLOCK));
        assert_eq!(&a[..24], &b[..24]);
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        assert!(same < BLOCK / 16, "{same} equal bytes");
        let q = synthetic_file_bytes(0, 100, 1, true);
        assert_eq!(&q[4..12], b"ftypqt  ");
        assert_eq!(q[24..], b[24..100]);
        let mut tags = std::collections::HashSet::new();
        for (take, quicktime) in [(0, false), (0, true), (1, false), (1, true)] {
            let f = VideoFile {
                source: VideoSource::Synthetic(300_000),
                take,
                quicktime,
            };
            assert_eq!(f.len(), 300_000);
            tags.insert(f.etag());
        }
        assert_eq!(tags.len(), 4);
    }
}
