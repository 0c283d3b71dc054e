//! Files already uploaded, by content: the same bytes for the same project reuse their asset id
//! instead of uploading again. Kept in the ledger's `upload_cache` table.

use std::io::Read;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where 0.1 kept the cache, taken over on first use.
const FILE_0_1: &str = "uploads.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedUpload {
    pub asset_id: String,
    /// The file it came from last, for people reading the cache.
    pub file: String,
    pub size: u64,
}

/// The `upload_cache` table of the ledger. Any process may use it, the ledger's writer or not:
/// SQLite serialises the writes. Without a usable ledger it only remembers for this process.
pub struct UploadCache {
    conn: Option<Connection>,
    memory: std::collections::BTreeMap<(String, String), CachedUpload>,
}

impl std::fmt::Debug for UploadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadCache")
            .field("in_ledger", &self.conn.is_some())
            .finish_non_exhaustive()
    }
}

/// SHA-256 of a file's content, read in 1 MiB pieces.
pub fn content_hash(path: &Path) -> std::io::Result<String> {
    let mut file = crate::media::open_regular(path)?;
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

fn project_key(project: Option<&str>) -> String {
    project.unwrap_or("-").to_string()
}

impl UploadCache {
    /// The cache in the ledger in `dir` (made if there is none yet). It only saves work, so a
    /// ledger that cannot be used leaves a cache of this process alone, with a warning.
    pub fn load(dir: &Path) -> Self {
        let conn = match super::ledger::Ledger::connect(dir) {
            Ok(conn) => Some(conn),
            Err(e) => {
                tracing::warn!("upload cache: {e}; uploads are remembered for this run only");
                None
            }
        };
        let mut cache = Self {
            conn,
            memory: Default::default(),
        };
        cache.take_over(dir);
        cache
    }

    /// 0.1's `uploads.json`: its entries into the table, the file kept renamed.
    fn take_over(&mut self, dir: &Path) {
        let path = dir.join(FILE_0_1);
        let Ok(bytes) = std::fs::read(&path) else {
            return;
        };
        let entries: std::collections::BTreeMap<String, CachedUpload> =
            match serde_json::from_slice(&bytes) {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::warn!(
                        "{}: ignoring an unreadable upload cache: {e}",
                        path.display()
                    );
                    return;
                }
            };
        for (key, entry) in entries {
            if let Some((project, hash)) = key.split_once(':') {
                let project = (project != "-").then_some(project);
                if let Err(e) = self.insert(hash, project, entry) {
                    tracing::warn!("upload cache: {e}");
                    return;
                }
            }
        }
        if self.conn.is_some() {
            let _ = std::fs::rename(&path, dir.join(format!("{FILE_0_1}.imported")));
        }
    }

    pub fn get(&self, hash: &str, project: Option<&str>) -> Option<CachedUpload> {
        let key = (project_key(project), hash.to_string());
        let Some(conn) = &self.conn else {
            return self.memory.get(&key).cloned();
        };
        conn.query_row(
            "SELECT asset_id, file, size FROM upload_cache
             WHERE project = ?1 AND content_hash = ?2",
            params![key.0, key.1],
            |r| {
                Ok(CachedUpload {
                    asset_id: r.get(0)?,
                    file: r.get(1)?,
                    size: r.get::<_, i64>(2)?.max(0) as u64,
                })
            },
        )
        .optional()
        .unwrap_or_else(|e| {
            tracing::warn!("upload cache: {e}");
            None
        })
    }

    /// Records an upload, durably.
    pub fn insert(
        &mut self,
        hash: &str,
        project: Option<&str>,
        entry: CachedUpload,
    ) -> std::io::Result<()> {
        let key = (project_key(project), hash.to_string());
        let Some(conn) = &self.conn else {
            self.memory.insert(key, entry);
            return Ok(());
        };
        conn.execute(
            "INSERT INTO upload_cache (project, content_hash, asset_id, file, size, uploaded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (project, content_hash) DO UPDATE SET
                asset_id = excluded.asset_id, file = excluded.file, size = excluded.size,
                uploaded_at = excluded.uploaded_at",
            params![
                key.0,
                key.1,
                entry.asset_id,
                entry.file,
                i64::try_from(entry.size).unwrap_or(i64::MAX),
                jiff::Timestamp::now().to_string(),
            ],
        )
        .map(drop)
        .map_err(std::io::Error::other)
    }
}

/// Why a file could not become an asset.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
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

/// The lock of one content's upload, shared by every task of this process that wants it.
fn in_flight(key: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static SLOTS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut slots = SLOTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    // Slots nobody holds any more go: one per content being uploaded, not per content seen.
    slots.retain(|_, slot| Arc::strong_count(slot) > 1);
    slots.entry(key.to_string()).or_default().clone()
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
    // An id kept before ids were checked is taken only in the shape every new one has.
    let kept = |hit: Option<CachedUpload>| {
        hit.map(|c| c.asset_id)
            .filter(|id| crate::api::server_id("asset id", id).is_ok())
    };
    let hit = kept(lock().get(&hash, project.as_deref()));
    if let Some(asset_id) = hit {
        return Ok((asset_id, true));
    }
    // One upload of a content at a time: requests that name the same file at once (a
    // batch's) wait for the first and reuse its asset.
    let key = format!("{}\0{hash}", project.as_deref().unwrap_or(""));
    let slot = in_flight(&key);
    let _turn = slot.lock().await;
    let hit = kept(lock().get(&hash, project.as_deref()));
    if let Some(asset_id) = hit {
        return Ok((asset_id, true));
    }
    let (asset_id, sent_hash) = client
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
    // Filed under the bytes actually sent: a file changed while it went up is never reused
    // for the content it had before.
    if sent_hash != hash {
        tracing::warn!("{}: changed while it was uploaded", entry.file);
    }
    if let Err(e) = lock().insert(&sent_hash, project.as_deref(), entry) {
        tracing::warn!("cannot record an upload for reuse: {e}");
    }
    Ok((asset_id, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_0_1_cache_file_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_0_1),
            r#"{"p1:abc": {"asset_id": "asset_9", "file": "x.png", "size": 3}}"#,
        )
        .unwrap();
        let cache = UploadCache::load(dir.path());
        assert_eq!(cache.get("abc", Some("p1")).unwrap().asset_id, "asset_9");
        assert!(!dir.path().join(FILE_0_1).exists());
        assert!(dir.path().join("uploads.json.imported").exists());
        // Usable beside the ledger's writer.
        let _writer = crate::engine::Ledger::open(dir.path()).unwrap();
        let mut other = UploadCache::load(dir.path());
        other
            .insert(
                "def",
                None,
                CachedUpload {
                    asset_id: "asset_10".into(),
                    file: "y.png".into(),
                    size: 4,
                },
            )
            .unwrap();
        assert_eq!(cache.get("def", None).unwrap().asset_id, "asset_10");
    }

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
        assert_eq!(again.get(&hash, Some("p1")), Some(entry));
        assert_eq!(again.get(&hash, Some("p2")), None);
        assert_eq!(again.get(&hash, None), None);
    }
}
