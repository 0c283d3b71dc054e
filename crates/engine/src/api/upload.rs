//! Uploading reference media: small images inline as base64 (`POST /assets`), everything else
//! through the multipart flow (`POST /uploads`, a credential-free `PUT` per part, `complete`,
//! then polling until the import gives an asset id). Parts are read from disk one at a time, so
//! memory stays at one part whatever the file size.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use url::Url;

use super::client::error_from_response;
use super::download::file_error;
use super::types::{AssetEnvelope, Upload, UploadEnvelope};
use super::{ApiError, ScenarioClient, check_url};
use crate::sanitize::sanitize;

/// Images under this go inline; the API takes base64 bodies up to 6 MB.
pub const INLINE_IMAGE_LIMIT: u64 = 6 * 1000 * 1000;
/// Every part but the last must be at least this big.
pub const MIN_PART: u64 = 5 * 1024 * 1024;
const MAX_PARTS: u64 = 10_000;
/// Polls of an upload's import before giving up.
const IMPORT_POLLS: u32 = 600;

/// How far an upload has come, in bytes sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadProgress {
    pub sent: u64,
    pub total: u64,
}

/// Part size for a file: 5 MiB, or more when 10,000 parts would not hold it.
pub fn part_size(file_size: u64) -> u64 {
    MIN_PART.max(file_size.div_ceil(MAX_PARTS))
}

impl ScenarioClient {
    /// Uploads the file at `path` (already checked: `mime` is its type by content) and returns
    /// the new asset id, with the SHA-256 (hex) of the bytes actually sent: the file may change
    /// while it goes up, and what the asset holds is what was sent.
    pub async fn upload_file(
        &self,
        path: &Path,
        mime: &str,
        progress: &mut (dyn FnMut(UploadProgress) + Send),
        import_poll: Duration,
    ) -> Result<(String, String), ApiError> {
        use sha2::Digest;
        let opened = crate::media::open_regular(path).map_err(|e| file_error(path, &e))?;
        let size = opened.metadata().map_err(|e| file_error(path, &e))?.len();
        let mut digest = sha2::Sha256::new();
        let hex = |digest: sha2::Sha256| -> String {
            digest
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let name = path
            .file_name()
            .map(|n| sanitize(&n.to_string_lossy()))
            .unwrap_or_else(|| "upload".into());
        let is_image = mime.starts_with("image/");
        if is_image && size < INLINE_IMAGE_LIMIT {
            let mut bytes = Vec::new();
            tokio::fs::File::from_std(opened)
                .take(INLINE_IMAGE_LIMIT)
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| file_error(path, &e))?;
            let size = bytes.len() as u64;
            digest.update(&bytes);
            progress(UploadProgress {
                sent: 0,
                total: size,
            });
            let id = self.upload_image(&name, &bytes).await?;
            progress(UploadProgress {
                sent: size,
                total: size,
            });
            return Ok((id, hex(digest)));
        }
        let kind = if is_image { "image" } else { "video" };
        let part = part_size(size);
        let parts = size.div_ceil(part).max(1);
        let upload = self.create_upload(&name, mime, kind, parts, size).await?;
        if upload.parts.len() as u64 != parts {
            return Err(ApiError::Decode {
                host: self.host().to_string(),
                detail: format!("asked for {parts} part links, got {}", upload.parts.len()),
            });
        }
        // Each part once, numbered from 1: a link given twice would leave a part unsent.
        let mut numbers: Vec<u64> = upload.parts.iter().map(|p| u64::from(p.number)).collect();
        numbers.sort_unstable();
        if !numbers.iter().copied().eq(1..=parts) {
            return Err(ApiError::Decode {
                host: self.host().to_string(),
                detail: format!("part links must be numbered 1 to {parts}, each once"),
            });
        }
        let mut file = tokio::fs::File::from_std(opened);
        let mut sent = 0;
        progress(UploadProgress { sent, total: size });
        // Each link takes the bytes of its own number, in whatever order they were listed.
        let mut targets: Vec<_> = upload.parts.iter().collect();
        targets.sort_by_key(|p| p.number);
        for (i, target) in targets.into_iter().enumerate() {
            let offset = i as u64 * part;
            let len = part.min(size - offset);
            let mut chunk = vec![0u8; len as usize];
            file.seek(std::io::SeekFrom::Start(offset))
                .await
                .map_err(|e| file_error(path, &e))?;
            file.read_exact(&mut chunk)
                .await
                .map_err(|e| file_error(path, &e))?;
            digest.update(&chunk);
            self.put_part(&target.url, chunk).await?;
            sent += len;
            progress(UploadProgress { sent, total: size });
        }
        self.complete_upload(&upload.id).await?;
        for _ in 0..IMPORT_POLLS {
            let now = self.get_upload(&upload.id).await?;
            // Done once it names its asset in any of the SDK's done states; `imported`
            // without one is a broken answer, the others may still be working.
            let named = now.entity_id.as_deref().filter(|id| !id.trim().is_empty());
            match (now.status.as_str(), named) {
                ("complete" | "validated" | "imported", Some(id)) => {
                    return Ok((super::server_id("asset id", id)?, hex(digest)));
                }
                ("imported", None) => {
                    return Err(ApiError::Decode {
                        host: self.host().to_string(),
                        detail: "an imported upload without an asset id".into(),
                    });
                }
                ("failed", _) => {
                    return Err(ApiError::Upload {
                        file: sanitize(&path.display().to_string()),
                        detail: sanitize(
                            now.error_message.as_deref().unwrap_or("the import failed"),
                        ),
                    });
                }
                _ => tokio::time::sleep(import_poll).await,
            }
        }
        Err(ApiError::Upload {
            file: sanitize(&path.display().to_string()),
            detail: "the import did not finish".into(),
        })
    }

    /// `POST /assets` with the image inline. Free and idempotent enough to retry: a repeat
    /// makes at worst a second copy of a reference image.
    pub async fn upload_image(&self, name: &str, bytes: &[u8]) -> Result<String, ApiError> {
        let body = serde_json::json!({
            "image": base64::engine::general_purpose::STANDARD.encode(bytes),
            "name": name,
        });
        let envelope: AssetEnvelope = self.post_json(&["assets"], &body).await?;
        super::server_id("asset id", &envelope.asset.id)
    }

    pub async fn create_upload(
        &self,
        file_name: &str,
        content_type: &str,
        kind: &str,
        parts: u64,
        file_size: u64,
    ) -> Result<Upload, ApiError> {
        let body = serde_json::json!({
            "fileName": file_name,
            "contentType": content_type,
            "kind": kind,
            "parts": parts,
            "fileSize": file_size,
        });
        let envelope: UploadEnvelope = self.post_json(&["uploads"], &body).await?;
        super::server_id("upload id", &envelope.upload.id)?;
        Ok(envelope.upload)
    }

    pub async fn complete_upload(&self, upload_id: &str) -> Result<Upload, ApiError> {
        let body = serde_json::json!({"action": "complete"});
        let envelope: UploadEnvelope = self
            .post_json(&["uploads", upload_id, "action"], &body)
            .await?;
        Ok(envelope.upload)
    }

    pub async fn get_upload(&self, upload_id: &str) -> Result<Upload, ApiError> {
        let envelope: UploadEnvelope = self.get_path(&["uploads", upload_id]).await?;
        Ok(envelope.upload)
    }

    /// One part to its signed link, without credentials, retried on passing failures.
    pub async fn put_part(&self, url: &str, bytes: Vec<u8>) -> Result<(), ApiError> {
        let url = Url::parse(url).map_err(|e| ApiError::InvalidUrl {
            url: String::new(),
            rule: format!("part link: {e}"),
        })?;
        check_url(&url)?;
        let host = url.host_str().unwrap_or("storage").to_string();
        let body = bytes::Bytes::from(bytes);
        self.retry
            .run(
                "part upload",
                || async {
                    let response = self
                        .cdn
                        .request(Method::PUT, url.clone())
                        .body(body.clone())
                        .send()
                        .await
                        .map_err(|e| ApiError::from_reqwest(&e, &host))?;
                    if response.status().is_success() {
                        Ok(())
                    } else {
                        Err(error_from_response(response, &host).await)
                    }
                },
                ApiError::is_transient,
            )
            .await
    }
}
