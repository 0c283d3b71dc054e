//! Files already uploaded, by content: the same bytes for the same project reuse their asset id
//! instead of uploading again. Kept beside the journal, rewritten atomically.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const FILE_NAME: &str = "uploads.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedUpload {
    pub asset_id: String,
    /// The file it came from last, for people reading the cache.
    pub file: String,
    pub size: u64,
}

#[derive(Debug, Default)]
pub struct UploadCache {
    path: PathBuf,
    entries: BTreeMap<String, CachedUpload>,
}

/// SHA-256 of a file's content, read in 1 MiB pieces.
pub fn content_hash(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn key(hash: &str, project: Option<&str>) -> String {
    format!("{}:{hash}", project.unwrap_or("-"))
}

impl UploadCache {
    /// The cache in `dir`; a missing or unreadable one starts empty (it only saves work).
    pub fn load(dir: &Path) -> Self {
        let path = dir.join(FILE_NAME);
        let entries = std::fs::read(&path)
            .ok()
            .and_then(|bytes| match serde_json::from_slice(&bytes) {
                Ok(entries) => Some(entries),
                Err(e) => {
                    tracing::warn!(
                        "{}: ignoring an unreadable upload cache: {e}",
                        path.display()
                    );
                    None
                }
            })
            .unwrap_or_default();
        Self { path, entries }
    }

    pub fn get(&self, hash: &str, project: Option<&str>) -> Option<&CachedUpload> {
        self.entries.get(&key(hash, project))
    }

    /// Records an upload and writes the cache: temp file, fsync, rename.
    pub fn insert(
        &mut self,
        hash: &str,
        project: Option<&str>,
        entry: CachedUpload,
    ) -> std::io::Result<()> {
        self.entries.insert(key(hash, project), entry);
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(&self.entries).unwrap_or_default())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }
}

/// Why a file could not become an asset.
#[derive(Debug)]
pub enum UploadError {
    /// It breaks a rule (every problem, each naming the file): nothing was sent.
    Invalid(Vec<String>),
    /// The upload or the import failed.
    Failed(String),
    /// The network or the server failed for now: worth trying again later.
    Passing(String),
}

impl std::fmt::Display for UploadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadError::Invalid(problems) => f.write_str(&problems.join("; ")),
            UploadError::Failed(reason) | UploadError::Passing(reason) => f.write_str(reason),
        }
    }
}

/// One local file to an asset id: checked, then found in the cache or uploaded (and recorded).
/// Returns the id and whether the cache had it.
pub async fn upload_with_cache(
    client: &crate::api::ScenarioClient,
    cache: &std::sync::Mutex<UploadCache>,
    file: &Path,
    role: crate::media::Role,
    progress: &mut (dyn FnMut(crate::api::UploadProgress) + Send),
) -> Result<(String, bool), UploadError> {
    let info = crate::media::check_file(file, role).map_err(UploadError::Invalid)?;
    let shown = crate::sanitize::sanitize(&file.display().to_string());
    // Hashing a large video takes a while: off the async threads.
    let owned = file.to_path_buf();
    let hash = tokio::task::spawn_blocking(move || content_hash(&owned))
        .await
        .map_err(|e| UploadError::Failed(format!("{shown}: {e}")))?
        .map_err(|e| UploadError::Failed(format!("{shown}: cannot read it: {e}")))?;
    let project = client.project_id().map(str::to_string);
    let lock = || cache.lock().unwrap_or_else(|p| p.into_inner());
    let hit = lock()
        .get(&hash, project.as_deref())
        .map(|c| c.asset_id.clone());
    if let Some(asset_id) = hit {
        return Ok((asset_id, true));
    }
    let asset_id = client
        .upload_file(
            file,
            info.kind.mime(),
            progress,
            std::time::Duration::from_millis(500),
        )
        .await
        .map_err(|e| match e {
            crate::api::ApiError::Upload { .. } => UploadError::Failed(e.to_string()),
            other if other.is_transient() => {
                UploadError::Passing(format!("{shown}: upload failed: {other}"))
            }
            other => UploadError::Failed(format!("{shown}: upload failed: {other}")),
        })?;
    let entry = CachedUpload {
        asset_id: asset_id.clone(),
        file: shown,
        size: info.size,
    };
    if let Err(e) = lock().insert(&hash, project.as_deref(), entry) {
        tracing::warn!("cannot record an upload for reuse: {e}");
    }
    Ok((asset_id, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_same_project_hits() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.png");
        let b = dir.path().join("b.png");
        std::fs::write(&a, b"same bytes").unwrap();
        std::fs::write(&b, b"same bytes").unwrap();
        let hash = content_hash(&a).unwrap();
        assert_eq!(hash, content_hash(&b).unwrap());
        let mut cache = UploadCache::load(dir.path());
        let entry = CachedUpload {
            asset_id: "asset_1".into(),
            file: "a.png".into(),
            size: 10,
        };
        cache.insert(&hash, Some("p1"), entry.clone()).unwrap();
        let again = UploadCache::load(dir.path());
        assert_eq!(again.get(&hash, Some("p1")), Some(&entry));
        assert_eq!(again.get(&hash, Some("p2")), None);
        assert_eq!(again.get(&hash, None), None);
    }
}
