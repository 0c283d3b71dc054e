//! Pictures of finished videos, kept on disk by the video's asset id in `thumbnails/` beside
//! the ledger: fetched once (the asset's `thumbnail`, else its `firstFrame`), then answered
//! from disk with no request at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::api::{MAX_PICTURE_BYTES, PictureType, ScenarioClient};
use crate::sanitize::sanitize;

/// The folder beside the ledger that holds them.
pub(crate) const FOLDER: &str = "thumbnails";

const EXTENSIONS: [&str; 3] = ["png", "jpg", "webp"];

/// The picture of video `asset_id` when it is on disk already.
pub(crate) fn cached(dir: &Path, asset_id: &str) -> Option<PathBuf> {
    let stem = file_stem(asset_id);
    EXTENSIONS
        .iter()
        .map(|ext| dir.join(format!("{stem}.{ext}")))
        .find(|path| std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0))
}

/// Fetches the picture of video `asset_id` into `dir`; where it went, or why not (ready to
/// show).
pub(crate) async fn fetch(
    client: &ScenarioClient,
    dir: &Path,
    asset_id: &str,
) -> Result<PathBuf, String> {
    let asset = client
        .get_asset(asset_id)
        .await
        .map_err(|e| format!("cannot look up the video: {e}"))?;
    let picture = [asset.thumbnail, asset.first_frame]
        .into_iter()
        .flatten()
        .find(|p| p.url.as_deref().is_some_and(|u| !u.trim().is_empty()))
        .ok_or("the server has no picture of this video (neither thumbnail nor first frame)")?;
    let picture_id = picture.asset_id.as_deref().unwrap_or(asset_id);
    let (bytes, kind) = client
        .fetch_picture(picture_id, picture.url.as_deref(), MAX_PICTURE_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    let target = dir.join(format!("{}.{}", file_stem(asset_id), kind.extension()));
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || write_atomically(&dir, &target, &bytes, kind))
        .await
        .map_err(|e| format!("cannot save the picture: {e}"))?
}

/// Written whole under a temporary name, then renamed: a reader never sees half a picture.
fn write_atomically(
    dir: &Path,
    target: &Path,
    bytes: &[u8],
    kind: PictureType,
) -> Result<PathBuf, String> {
    let failed = |e: std::io::Error| {
        format!(
            "cannot save the picture in {}: {e}",
            sanitize(&dir.display().to_string())
        )
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let mut file = tempfile::Builder::new()
        .prefix(".picture-")
        .suffix(&format!(".{}", kind.extension()))
        .tempfile_in(dir)
        .map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.persist(target).map_err(|e| failed(e.error))?;
    Ok(target.to_path_buf())
}

/// A file name for an asset id: the id itself when it is a plain one (as the API's are),
/// else a digest of it, so that no id can name a path elsewhere.
fn file_stem(asset_id: &str) -> String {
    let plain = !asset_id.is_empty()
        && asset_id.len() <= 100
        && !asset_id.starts_with('.')
        && asset_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        return asset_id.to_string();
    }
    let hash = asset_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("asset-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_never_leave_the_folder() {
        assert_eq!(file_stem("asset_1a2b"), "asset_1a2b");
        for hostile in ["../x", "a/b", "", ".hidden", "x\u{1b}[2J", "C:\\x"] {
            let stem = file_stem(hostile);
            assert!(stem.starts_with("asset-"), "{hostile:?} → {stem}");
        }
    }

    #[test]
    fn a_cached_picture_is_found_by_its_video() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(cached(dir.path(), "asset_1"), None);
        std::fs::write(dir.path().join("asset_1.jpg"), b"\xff\xd8\xff").unwrap();
        assert_eq!(
            cached(dir.path(), "asset_1"),
            Some(dir.path().join("asset_1.jpg"))
        );
        // An empty file (a disk that filled up) is no picture.
        std::fs::write(dir.path().join("asset_2.png"), b"").unwrap();
        assert_eq!(cached(dir.path(), "asset_2"), None);
    }
}
