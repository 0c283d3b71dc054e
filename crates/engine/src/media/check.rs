//! The rules for reference files, checked before any upload: each failure names the file and
//! the rule, and every failure of a file is reported at once.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{MediaKind, image_dimensions, video_facts};

// MB as the API counts them: 10^6 bytes.
pub const MAX_IMAGE_BYTES: u64 = 10_000_000;
pub const MIN_IMAGE_SIDE: u32 = 300;
pub const MAX_IMAGE_ASPECT: f64 = 2.5;
pub const MAX_VIDEO_BYTES: u64 = 200_000_000;
pub const VIDEO_SECONDS: (f64, f64) = (3.0, 10.0);
pub const VIDEO_SIDE: (u32, u32) = (720, 2160);

/// What a file is used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Start or end frame, or a reference image.
    Image,
    /// The reference video.
    Video,
}

/// A file that passed its checks.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    pub path: PathBuf,
    pub kind: MediaKind,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_secs: Option<f64>,
}

/// Checks `path` for `role`. On failure, every broken rule, each as "FILE: rule".
pub fn check_file(path: &Path, role: Role) -> Result<MediaInfo, Vec<String>> {
    let shown = crate::sanitize::sanitize(&path.display().to_string());
    let fail = |rule: String| vec![format!("{shown}: {rule}")];
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    if !meta.is_file() {
        return Err(fail("is not a file".into()));
    }
    let mut head = Vec::with_capacity(64 * 1024);
    super::open_regular(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .map_err(|e| fail(format!("cannot read it: {e}")))?;
    let kind = MediaKind::sniff(&head).ok_or_else(|| {
        fail(match role {
            Role::Image => "is not a PNG, JPEG or WebP image (judged by its content)".into(),
            Role::Video => "is not an MP4, MOV or WebM video (judged by its content)".into(),
        })
    })?;
    let size = meta.len();
    let mut problems = Vec::new();
    let mut info = MediaInfo {
        path: path.to_path_buf(),
        kind,
        size,
        width: None,
        height: None,
        duration_secs: None,
    };
    match role {
        Role::Image if !kind.is_image() => {
            return Err(fail(format!(
                "is a video ({}), an image is needed here",
                kind.name()
            )));
        }
        Role::Video if kind.is_image() => {
            return Err(fail(format!(
                "is an image ({}), a video is needed here",
                kind.name()
            )));
        }
        Role::Image => {
            if size > MAX_IMAGE_BYTES {
                problems.push(format!(
                    "{} MB is over the 10 MB limit for images",
                    mb(size)
                ));
            }
            match image_dimensions(kind, &head) {
                Some((w, h)) => {
                    info.width = Some(w);
                    info.height = Some(h);
                    if w < MIN_IMAGE_SIDE || h < MIN_IMAGE_SIDE {
                        problems.push(format!(
                            "{w}×{h} px: each side must be at least {MIN_IMAGE_SIDE} px"
                        ));
                    }
                    let ratio = f64::from(w.max(h)) / f64::from(w.min(h).max(1));
                    if ratio > MAX_IMAGE_ASPECT {
                        problems.push(format!(
                            "{w}×{h} px: the aspect ratio must be between 1:2.5 and 2.5:1"
                        ));
                    }
                }
                None => problems.push(format!("its {} header cannot be read", kind.name())),
            }
        }
        Role::Video => {
            if size > MAX_VIDEO_BYTES {
                problems.push(format!(
                    "{} MB is over the 200 MB limit for videos",
                    mb(size)
                ));
            }
            let facts = video_facts(kind, path).unwrap_or_default();
            info.duration_secs = facts.duration_secs;
            info.width = facts.width;
            info.height = facts.height;
            if let Some(secs) = facts.duration_secs
                && !(VIDEO_SECONDS.0..=VIDEO_SECONDS.1).contains(&secs)
            {
                problems.push(format!(
                    "{secs:.1} s long: reference videos must last 3 to 10 s"
                ));
            }
            if let (Some(w), Some(h)) = (facts.width, facts.height)
                && [w, h]
                    .iter()
                    .any(|s| !(VIDEO_SIDE.0..=VIDEO_SIDE.1).contains(s))
            {
                problems.push(format!("{w}×{h} px: each side must be 720 to 2160 px"));
            }
        }
    }
    if problems.is_empty() {
        Ok(info)
    } else {
        Err(problems
            .into_iter()
            .map(|p| format!("{shown}: {p}"))
            .collect())
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::super::image::tests::png_head;
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn images_are_checked_by_content_size_and_shape() {
        let dir = tempfile::tempdir().unwrap();
        let ok = write(dir.path(), "frame.jpg", &png_head(1280, 720));
        let info = check_file(&ok, Role::Image).unwrap();
        assert_eq!(
            (info.kind, info.width, info.height),
            (MediaKind::Png, Some(1280), Some(720))
        );

        let small = write(dir.path(), "small.png", &png_head(200, 200));
        let err = check_file(&small, Role::Image).unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(
            err[0].contains("small.png") && err[0].contains("at least 300 px"),
            "{err:?}"
        );

        let thin = write(dir.path(), "thin.png", &png_head(3000, 400));
        let err = check_file(&thin, Role::Image).unwrap_err();
        assert!(err[0].contains("between 1:2.5 and 2.5:1"), "{err:?}");

        let both = write(dir.path(), "both.png", &png_head(100, 2000));
        assert_eq!(check_file(&both, Role::Image).unwrap_err().len(), 2);

        let mut big = png_head(1000, 1000);
        big.resize(11 * 1024 * 1024, 0);
        let big = write(dir.path(), "big.png", &big);
        let err = check_file(&big, Role::Image).unwrap_err();
        assert!(err[0].contains("10 MB limit"), "{err:?}");

        let gif = write(dir.path(), "anim.png", b"GIF89a....");
        let err = check_file(&gif, Role::Image).unwrap_err();
        assert!(
            err[0].contains("anim.png: is not a PNG, JPEG or WebP"),
            "{err:?}"
        );

        let err = check_file(&dir.path().join("missing.png"), Role::Image).unwrap_err();
        assert!(err[0].contains("missing.png: cannot read it"), "{err:?}");
    }

    #[test]
    fn videos_are_checked_where_the_container_says() {
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim/assets/demo.mp4");
        let err = check_file(&demo, Role::Video).unwrap_err();
        // 2 s long and 320×180: both rules broken, both reported.
        assert_eq!(err.len(), 2, "{err:?}");
        assert!(err[0].contains("2.0 s long"), "{err:?}");
        assert!(err[1].contains("320×180 px"), "{err:?}");
        let err = check_file(&demo, Role::Image).unwrap_err();
        assert!(
            err[0].contains("is a video (MP4), an image is needed"),
            "{err:?}"
        );
    }

    #[test]
    fn oversized_and_overlong_videos_and_webm_without_facts() {
        let dir = tempfile::tempdir().unwrap();
        // A sparse file: 201 MB on paper, nothing on disk.
        let big = dir.path().join("big.mp4");
        std::fs::write(&big, b"\0\0\0\x18ftypisom\0\0\0\0isomiso2").unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&big)
            .unwrap()
            .set_len(201_000_000)
            .unwrap();
        let err = check_file(&big, Role::Video).unwrap_err();
        assert!(
            err[0].contains("big.mp4: 201.0 MB is over the 200 MB limit"),
            "{err:?}"
        );

        // A WebM's length and size are not read: only type and weight are checked.
        let webm = dir.path().join("clip.webm");
        std::fs::write(&webm, [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81]).unwrap();
        let info = check_file(&webm, Role::Video).unwrap();
        assert_eq!((info.kind, info.duration_secs), (MediaKind::Webm, None));

        // An image over 10 MB by the API's count (10^6 bytes to the MB).
        let mut png = super::super::image::tests::png_head(1000, 1000);
        png.resize(10_000_001, 0);
        let heavy = dir.path().join("heavy.png");
        std::fs::write(&heavy, png).unwrap();
        assert!(check_file(&heavy, Role::Image).unwrap_err()[0].contains("10 MB limit"));
    }
}
