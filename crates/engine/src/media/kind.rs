//! File types by their first bytes.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Png,
    Jpeg,
    Webp,
    Mp4,
    Mov,
    Webm,
}

impl MediaKind {
    /// The type of `head` (a file's first bytes, 32 are enough), if it is one we take.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(MediaKind::Png);
        }
        if head.starts_with(&[0xff, 0xd8, 0xff]) {
            return Some(MediaKind::Jpeg);
        }
        if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            return Some(MediaKind::Webp);
        }
        if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
            return Some(MediaKind::Webm);
        }
        if head.len() >= 12 && &head[4..8] == b"ftyp" {
            // QuickTime names itself `qt  `; every other brand here is an MP4 family file.
            return Some(if &head[8..12] == b"qt  " {
                MediaKind::Mov
            } else {
                MediaKind::Mp4
            });
        }
        None
    }

    /// The type a file's name says (`.png`, `.MOV`), for choosing among names before any file
    /// is read; what a file is gets judged by its content when it is used.
    pub fn by_extension(name: &str) -> Option<Self> {
        let (_, ext) = name.rsplit_once('.')?;
        Some(match ext.to_ascii_lowercase().as_str() {
            "png" => MediaKind::Png,
            "jpg" | "jpeg" => MediaKind::Jpeg,
            "webp" => MediaKind::Webp,
            "mp4" | "m4v" => MediaKind::Mp4,
            "mov" => MediaKind::Mov,
            "webm" => MediaKind::Webm,
            _ => return None,
        })
    }

    pub fn mime(self) -> &'static str {
        match self {
            MediaKind::Png => "image/png",
            MediaKind::Jpeg => "image/jpeg",
            MediaKind::Webp => "image/webp",
            MediaKind::Mp4 => "video/mp4",
            MediaKind::Mov => "video/quicktime",
            MediaKind::Webm => "video/webm",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self, MediaKind::Png | MediaKind::Jpeg | MediaKind::Webp)
    }

    pub fn name(self) -> &'static str {
        match self {
            MediaKind::Png => "PNG",
            MediaKind::Jpeg => "JPEG",
            MediaKind::Webp => "WebP",
            MediaKind::Mp4 => "MP4",
            MediaKind::Mov => "MOV",
            MediaKind::Webm => "WebM",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(
            MediaKind::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(MediaKind::Png)
        );
        assert_eq!(
            MediaKind::sniff(&[0xff, 0xd8, 0xff, 0xe0]),
            Some(MediaKind::Jpeg)
        );
        assert_eq!(
            MediaKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(MediaKind::Webp)
        );
        assert_eq!(
            MediaKind::sniff(b"\0\0\0\x18ftypisom\0\0\0\0"),
            Some(MediaKind::Mp4)
        );
        assert_eq!(
            MediaKind::sniff(b"\0\0\0\x14ftypqt  \0\0\0\0"),
            Some(MediaKind::Mov)
        );
        assert_eq!(
            MediaKind::sniff(&[0x1a, 0x45, 0xdf, 0xa3, 1]),
            Some(MediaKind::Webm)
        );
        assert_eq!(MediaKind::sniff(b"GIF89a"), None);
        assert_eq!(MediaKind::by_extension("a.b.JPG"), Some(MediaKind::Jpeg));
        assert_eq!(MediaKind::by_extension("clip.mov"), Some(MediaKind::Mov));
        assert_eq!(MediaKind::by_extension("notes.txt"), None);
        assert_eq!(MediaKind::by_extension("png"), None);
        assert_eq!(MediaKind::sniff(b""), None);
    }
}
