//! The pictures the simulator gives finished videos (their `thumbnail`, `firstFrame`,
//! `lastFrame` and `preview`): a small landscape drawn in code, its colours and sun placed by
//! the video's asset id so every video looks different, the sun rising through the clip, encoded
//! as a real PNG. The encoder writes deflate's stored blocks, as the
//! CDN's gzip trick does: no compression is needed to be a valid file, and no crate is.

use super::cdn_tricks::crc32_update;

pub(crate) const WIDTH: u32 = 320;
pub(crate) const HEIGHT: u32 = 180;

/// Which still of a video: they all differ, so a client's choice between them shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Still {
    Thumbnail,
    FirstFrame,
    LastFrame,
    Preview,
}

impl Still {
    /// The suffix of the still's asset id, after the video's.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Still::Thumbnail => "_thumb",
            Still::FirstFrame => "_frame",
            Still::LastFrame => "_last",
            Still::Preview => "_preview",
        }
    }

    /// Every still, in the order the asset lists them.
    pub(crate) const ALL: [Still; 4] = [
        Still::Thumbnail,
        Still::FirstFrame,
        Still::LastFrame,
        Still::Preview,
    ];

    /// The asset field that names this still.
    pub(crate) fn field(self) -> &'static str {
        match self {
            Still::Thumbnail => "thumbnail",
            Still::FirstFrame => "firstFrame",
            Still::LastFrame => "lastFrame",
            Still::Preview => "preview",
        }
    }

    /// The video's asset id and the still, from the still's asset id.
    pub(crate) fn split(asset_id: &str) -> Option<(&str, Still)> {
        Still::ALL
            .into_iter()
            .find_map(|still| Some((asset_id.strip_suffix(still.suffix())?, still)))
            .filter(|(video, _)| !video.is_empty())
    }
}

/// The PNG of `still` for the video `asset_id`: the same bytes every time.
pub(crate) fn png(asset_id: &str, still: Still) -> Vec<u8> {
    encode(WIDTH, HEIGHT, &draw(asset_id, still))
}

/// The size of every picture: they differ in colour, not in length (stored blocks).
pub(crate) fn png_len() -> u64 {
    png("", Still::Thumbnail).len() as u64
}

/// RGB rows: a sky in the video's colours over darker ground, and a sun that rises and
/// drifts right through the clip: low in the first frame, higher in the preview (the middle)
/// and the thumbnail, highest in the last frame.
fn draw(asset_id: &str, still: Still) -> Vec<u8> {
    let hash = fnv1a(asset_id.as_bytes());
    let hue = (hash % 360) as f64;
    let sun_x = 40.0 + ((hash >> 16) % 200) as f64;
    let (sun_x, sun_y) = match still {
        Still::FirstFrame => (sun_x, 95.0),
        Still::Preview => (sun_x + 15.0, 70.0),
        Still::Thumbnail => (sun_x + 20.0, 45.0),
        Still::LastFrame => (sun_x + 40.0, 25.0),
    };
    let horizon = 120.0;
    let mut rgb = Vec::with_capacity((WIDTH * HEIGHT * 3) as usize);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let (fx, fy) = (f64::from(x), f64::from(y));
            let pixel = if fy >= horizon {
                let depth = (fy - horizon) / (f64::from(HEIGHT) - horizon);
                hsv(hue + 150.0, 0.6, 0.45 - 0.25 * depth)
            } else if (fx - sun_x).hypot(fy - sun_y) < 18.0 {
                hsv(hue + 40.0, 0.35, 1.0)
            } else {
                let across = fx / f64::from(WIDTH);
                hsv(hue + 60.0 * across, 0.7, 0.55 + 0.4 * (fy / horizon))
            };
            rgb.extend_from_slice(&pixel);
        }
    }
    rgb
}

fn hsv(hue: f64, saturation: f64, value: f64) -> [u8; 3] {
    let h = hue.rem_euclid(360.0) / 60.0;
    let c = value * saturation;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = value - c;
    let byte = |v: f64| ((v + m).clamp(0.0, 1.0) * 255.0).round() as u8;
    [byte(r), byte(g), byte(b)]
}

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// An 8-bit RGB PNG of `rgb` (rows of `width` pixels, top first).
fn encode(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let row = width as usize * 3;
    // Each row starts with its filter type: 0, none.
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for line in rgb.chunks(row) {
        raw.push(0);
        raw.extend_from_slice(line);
    }
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // Depth 8, colour type 2 (RGB), deflate, no filter method variants, no interlace.
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32_update(crc32_update(0xffff_ffff, kind), data);
    png.extend_from_slice(&(!crc).to_be_bytes());
}

/// A zlib stream of stored (uncompressed) deflate blocks, with its Adler-32.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let pieces: Vec<&[u8]> = data.chunks(65535).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let n = piece.len() as u16;
        out.push(u8::from(i + 1 == pieces.len()));
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(piece);
    }
    if pieces.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_with_its_size_and_a_valid_end() {
        let bytes = png("asset_1", Still::Thumbnail);
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"));
        assert_eq!(&bytes[16..24], &[0, 0, 1, 0x40, 0, 0, 0, 0xb4]);
        assert!(bytes.ends_with(b"IEND\xaeB`\x82"));
        assert_eq!(bytes, png("asset_1", Still::Thumbnail));
        for other in [Still::FirstFrame, Still::LastFrame, Still::Preview] {
            assert_ne!(bytes, png("asset_1", other));
        }
        assert_ne!(
            png("asset_1", Still::FirstFrame),
            png("asset_1", Still::LastFrame)
        );
        assert_ne!(bytes, png("asset_2", Still::Thumbnail));
    }

    #[test]
    fn adler32_of_a_known_string() {
        let z = zlib_stored(b"Wikipedia");
        assert_eq!(&z[z.len() - 4..], &0x11e6_0398u32.to_be_bytes());
    }

    #[test]
    fn still_ids_split_back() {
        assert_eq!(
            Still::split("asset_9_thumb"),
            Some(("asset_9", Still::Thumbnail))
        );
        assert_eq!(
            Still::split("asset_9_frame"),
            Some(("asset_9", Still::FirstFrame))
        );
        assert_eq!(
            Still::split("asset_9_last"),
            Some(("asset_9", Still::LastFrame))
        );
        assert_eq!(
            Still::split("asset_9_preview"),
            Some(("asset_9", Still::Preview))
        );
        assert_eq!(Still::split("_thumb"), None);
        assert_eq!(Still::split("asset_9"), None);
    }
}
