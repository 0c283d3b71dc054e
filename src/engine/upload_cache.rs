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
