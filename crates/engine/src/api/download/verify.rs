//! What makes downloaded bytes the asset the API described: the container its MIME type
//! promises, no error page or encoded body in its place, and the CDN's MD5 where it gives one.

use reqwest::Response;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE};

/// Bytes of a file's start that tell its container.
pub(super) const HEAD: usize = 12;

/// `type/subtype` in lower case, without parameters.
pub(super) fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The container an asset's bytes must start like, from its MIME type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Container {
    /// MP4 and QuickTime: an ISO base media file, boxes from the first byte.
    IsoMedia,
    /// WebM and Matroska: an EBML header.
    Ebml,
    /// Some other video type: either of the above.
    AnyVideo,
    /// Not a video: its bytes are not checked.
    Unchecked,
}

impl Container {
    pub(super) fn for_mime(mime: Option<&str>) -> Self {
        let essence = essence(mime.unwrap_or(""));
        match essence.as_str() {
            "video/mp4" | "video/quicktime" => Container::IsoMedia,
            "video/webm" | "video/x-matroska" => Container::Ebml,
            e if e.starts_with("video/") => Container::AnyVideo,
            _ => Container::Unchecked,
        }
    }

    /// Whether a file that starts with `head` (its first [`HEAD`] bytes, or all of it when
    /// shorter) can be this container.
    pub(super) fn accepts(self, head: &[u8]) -> bool {
        let iso = head.len() >= 8
            && matches!(
                &head[4..8],
                b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free" | b"skip" | b"pnot"
            );
        let ebml = head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]);
        match self {
            Container::IsoMedia => iso,
            Container::Ebml => ebml,
            Container::AnyVideo => iso || ebml,
            Container::Unchecked => true,
        }
    }

    pub(super) fn describe(self) -> &'static str {
        match self {
            Container::IsoMedia => "an MP4/MOV file (an `ftyp` box)",
            Container::Ebml => "a WebM file (an EBML header)",
            Container::AnyVideo => "a video file",
            Container::Unchecked => "the asset",
        }
    }
}

/// The answer's `Content-Encoding` when it is anything but the identity we asked for.
pub(super) fn encoding(response: &Response) -> Option<String> {
    let value = response.headers().get(CONTENT_ENCODING)?;
    let text = String::from_utf8_lossy(value.as_bytes()).trim().to_string();
    (!text.is_empty() && !text.eq_ignore_ascii_case("identity"))
        .then(|| crate::sanitize::sanitize(&text))
}

/// The answer's type when it is an error page or a document rather than a file.
pub(super) fn page_type(response: &Response) -> Option<String> {
    let value = response.headers().get(CONTENT_TYPE)?;
    let essence = essence(&String::from_utf8_lossy(value.as_bytes()));
    matches!(
        essence.as_str(),
        "text/html" | "application/xhtml+xml" | "application/xml" | "text/xml" | "application/json"
    )
    .then(|| crate::sanitize::sanitize(&essence))
}

/// The MD5 an `ETag` stands for, when it is a plain one: a strong tag of exactly 32 hex
/// digits. Multipart (`…-N`) and weak tags are not digests of the file.
pub(super) fn md5_etag(etag: &str) -> Option<[u8; 16]> {
    let hex = etag.trim().strip_prefix('"')?.strip_suffix('"')?;
    if hex.len() != 32 {
        return None;
    }
    let mut digest = [0u8; 16];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(digest)
}

/// A file's first bytes, shown safely: printable text as is, anything else as `\xNN`.
pub(super) fn first_bytes(bytes: &[u8]) -> String {
    let shown: String = bytes
        .iter()
        .take(48)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect();
    format!("\"{}\"", crate::sanitize::sanitize(&shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_told_by_their_first_bytes() {
        let mp4 = b"\0\0\0\x20ftypisom\0\0";
        let webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81";
        let html = b"<html><body>";
        let mp4_type = Container::for_mime(Some("video/mp4"));
        assert!(mp4_type.accepts(mp4));
        assert!(!mp4_type.accepts(webm));
        assert!(!mp4_type.accepts(html));
        assert!(!mp4_type.accepts(b"\0\0"));
        let webm_type = Container::for_mime(Some("Video/WebM"));
        assert!(webm_type.accepts(webm) && !webm_type.accepts(mp4));
        let other = Container::for_mime(Some("video/x-something"));
        assert!(other.accepts(mp4) && other.accepts(webm) && !other.accepts(html));
        assert!(Container::for_mime(Some("image/png")).accepts(html));
        assert!(Container::for_mime(None).accepts(html));
    }

    #[test]
    fn only_plain_strong_etags_are_digests() {
        let md5 = md5_etag("\"0123456789abcdef0123456789ABCDEF\"").unwrap();
        assert_eq!(md5[0], 0x01);
        assert_eq!(md5[15], 0xef);
        for not in [
            "W/\"0123456789abcdef0123456789abcdef\"",
            "\"0123456789abcdef0123456789abcdef-3\"",
            "0123456789abcdef0123456789abcdef",
            "\"0123456789abcdef0123456789abcdeg\"",
            "\"demo-1\"",
            "\"é123456789abcdef0123456789abcde\"",
        ] {
            assert_eq!(md5_etag(not), None, "{not}");
        }
    }

    #[test]
    fn first_bytes_are_safe_to_print() {
        assert_eq!(first_bytes(b"<html>\x1b[2J\n"), "\"<html>\\x1b[2J\\x0a\"");
        assert_eq!(first_bytes(&[b'a'; 100]).len(), 50);
    }
}
