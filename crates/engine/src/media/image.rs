//! Image width and height from the header alone: no decoding, no large read.

use super::MediaKind;

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

/// (width, height) from the first bytes of an image (64 KiB cover any JPEG header we expect).
pub fn image_dimensions(kind: MediaKind, head: &[u8]) -> Option<(u32, u32)> {
    match kind {
        // IHDR is the first chunk: width and height right after its type.
        MediaKind::Png if head.get(12..16) == Some(b"IHDR") => {
            Some((be32(head, 16)?, be32(head, 20)?))
        }
        MediaKind::Jpeg => jpeg(head),
        MediaKind::Webp => webp(head),
        _ => None,
    }
}

/// Walks the JPEG markers to the first start-of-frame.
fn jpeg(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xff {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xff {
            i += 1; // fill byte
            continue;
        }
        let len = be16(b, i + 2)? as usize;
        // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC).
        if (0xc0..=0xcf).contains(&marker) && !matches!(marker, 0xc4 | 0xc8 | 0xcc) {
            let height = be16(b, i + 5)?;
            let width = be16(b, i + 7)?;
            return Some((width, height));
        }
        i += 2 + len;
    }
    None
}

fn webp(b: &[u8]) -> Option<(u32, u32)> {
    match b.get(12..16)? {
        b"VP8 " => Some((le16(b, 26)? & 0x3fff, le16(b, 28)? & 0x3fff)),
        b"VP8L" => {
            let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PNG header of the given size (enough for sniffing and dimensions).
    pub fn png_head(w: u32, h: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    #[test]
    fn reads_png_jpeg_and_webp_headers() {
        assert_eq!(
            image_dimensions(MediaKind::Png, &png_head(640, 480)),
            Some((640, 480))
        );
        let jpeg = [
            0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, // APP0 of length 4
            0xff, 0xc0, 0, 17, 8, 0x01, 0xe0, 0x02, 0x80, 3, // SOF0: 480 high, 640 wide
        ];
        assert_eq!(image_dimensions(MediaKind::Jpeg, &jpeg), Some((640, 480)));
        let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        vp8x.extend_from_slice(&[0x7f, 0x02, 0x00, 0xdf, 0x01, 0x00]); // 640-1, 480-1
        assert_eq!(image_dimensions(MediaKind::Webp, &vp8x), Some((640, 480)));
        assert_eq!(image_dimensions(MediaKind::Jpeg, &[0xff, 0xd8, 0x00]), None);
    }
}
