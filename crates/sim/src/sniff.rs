//! What a file is, by its first bytes rather than its name, and an image's size from its
//! header, as the real service judges uploads.

/// The file types uploads accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileType {
    Png,
    Jpeg,
    Webp,
    /// MP4 and QuickTime share the ISO box layout: `ftyp` at offset 4.
    IsoVideo,
    Webm,
}

impl FileType {
    pub(crate) fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(FileType::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileType::Jpeg)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(FileType::Webp)
        } else if bytes.get(4..8) == Some(b"ftyp") {
            Some(FileType::IsoVideo)
        } else if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
            Some(FileType::Webm)
        } else {
            None
        }
    }

    /// The type a declared MIME type stands for, among those accepted.
    pub(crate) fn from_mime(mime: &str) -> Option<Self> {
        match mime {
            "image/png" => Some(FileType::Png),
            "image/jpeg" => Some(FileType::Jpeg),
            "image/webp" => Some(FileType::Webp),
            "video/mp4" | "video/quicktime" => Some(FileType::IsoVideo),
            "video/webm" => Some(FileType::Webm),
            _ => None,
        }
    }

    /// The MIME type of an image type; None for videos.
    pub(crate) fn image_mime(self) -> Option<&'static str> {
        match self {
            FileType::Png => Some("image/png"),
            FileType::Jpeg => Some("image/jpeg"),
            FileType::Webp => Some("image/webp"),
            FileType::IsoVideo | FileType::Webm => None,
        }
    }
}

/// The file extension CDN links end with for a MIME type.
pub(crate) fn extension(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        _ => "mp4",
    }
}

/// Width and height from an image's header, when the header is where it should be.
pub(crate) fn image_size(bytes: &[u8]) -> Option<(u64, u64)> {
    match FileType::sniff(bytes)? {
        FileType::Png => png_size(bytes),
        FileType::Jpeg => jpeg_size(bytes),
        FileType::Webp => webp_size(bytes),
        FileType::IsoVideo | FileType::Webm => None,
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at + 2)?;
    Some(u64::from(u16::from_be_bytes([b[0], b[1]])))
}

fn le16(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at + 2)?;
    Some(u64::from(u16::from_le_bytes([b[0], b[1]])))
}

fn le24(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at + 3)?;
    Some(u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16)
}

fn be32(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at + 4)?;
    Some(u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
}

/// IHDR must be the first chunk: length, "IHDR", width, height.
fn png_size(bytes: &[u8]) -> Option<(u64, u64)> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    Some((be32(bytes, 16)?, be32(bytes, 20)?))
}

/// Walks the marker segments up to the first start-of-frame.
fn jpeg_size(bytes: &[u8]) -> Option<(u64, u64)> {
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        // Any number of 0xFF may pad before the marker itself.
        while *bytes.get(at + 1)? == 0xFF {
            at += 1;
        }
        let marker = *bytes.get(at + 1)?;
        match marker {
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                at += 2;
                continue;
            }
            // End of image or start of scan before any frame header: no size to read.
            0xD9 | 0xDA => return None,
            // SOF0..SOF15, except DHT, JPG and DAC which share the range.
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = be16(bytes, at + 5)?;
                let width = be16(bytes, at + 7)?;
                return Some((width, height));
            }
            _ => {
                let length = usize::try_from(be16(bytes, at + 2)?).ok()?;
                at += 2 + length;
            }
        }
    }
}

/// The first chunk after the RIFF header says which of the three encodings follows.
fn webp_size(bytes: &[u8]) -> Option<(u64, u64)> {
    match bytes.get(12..16)? {
        b"VP8 " => {
            // 3-byte frame tag, then the key frame start code.
            if bytes.get(23..26)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            Some((le16(bytes, 26)? & 0x3FFF, le16(bytes, 28)? & 0x3FFF))
        }
        b"VP8L" => {
            if *bytes.get(20)? != 0x2F {
                return None;
            }
            let b = bytes.get(21..25)?;
            let bits = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let width = u64::from(bits & 0x3FFF) + 1;
            let height = u64::from((bits >> 14) & 0x3FFF) + 1;
            Some((width, height))
        }
        b"VP8X" => Some((le24(bytes, 24)? + 1, le24(bytes, 27)? + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_told_by_content() {
        assert_eq!(
            FileType::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(FileType::Png)
        );
        assert_eq!(
            FileType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(FileType::Jpeg)
        );
        assert_eq!(
            FileType::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(FileType::Webp)
        );
        assert_eq!(
            FileType::sniff(b"\0\0\0\x18ftypisom"),
            Some(FileType::IsoVideo)
        );
        assert_eq!(
            FileType::sniff(&[0x1A, 0x45, 0xDF, 0xA3, 0]),
            Some(FileType::Webm)
        );
        assert_eq!(FileType::sniff(b"GIF89a"), None);
        assert_eq!(FileType::sniff(b""), None);
    }

    #[test]
    fn png_size_comes_from_ihdr() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((640, 480)));
        assert_eq!(image_size(&png[..20]), None);
    }

    #[test]
    fn jpeg_size_comes_from_the_frame_header() {
        let mut jpeg = vec![0xFF, 0xD8];
        // An APP0 segment of 4 bytes to skip, then a padded SOF2.
        jpeg.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB]);
        jpeg.extend_from_slice(&[0xFF, 0xFF, 0xC2, 0x00, 0x11, 0x08, 0x01, 0xE0, 0x02, 0x80]);
        assert_eq!(image_size(&jpeg), Some((640, 480)));
        let no_frame = [0xFF, 0xD8, 0xFF, 0xD9];
        assert_eq!(image_size(&no_frame), None);
        // DHT is not a frame header.
        let dht = [
            0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x02, 0xFF, 0xC0, 0, 0x11, 8, 0, 9, 0, 7,
        ];
        assert_eq!(image_size(&dht), Some((7, 9)));
    }

    #[test]
    fn webp_size_in_each_encoding() {
        let mut lossy = b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0".to_vec();
        lossy.extend_from_slice(&[0, 0, 0, 0x9D, 0x01, 0x2A]);
        lossy.extend_from_slice(&640u16.to_le_bytes());
        lossy.extend_from_slice(&480u16.to_le_bytes());
        assert_eq!(image_size(&lossy), Some((640, 480)));

        let mut lossless = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2F".to_vec();
        let bits: u32 = (640 - 1) | ((480 - 1) << 14);
        lossless.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(image_size(&lossless), Some((640, 480)));

        let mut extended = b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0\0\0\0".to_vec();
        extended.extend_from_slice(&[0x7F, 0x02, 0x00, 0xDF, 0x01, 0x00]);
        assert_eq!(image_size(&extended), Some((640, 480)));
    }
}
