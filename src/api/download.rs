//! Downloading an asset to disk: streamed to `<name>.part`, resumed with `Range` after a break,
//! re-signed on an expired link, size-checked, then moved into place without ever overwriting.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};
use url::Url;

use super::client::error_from_response;
use super::{ApiError, ScenarioClient, check_url};

/// How far a download has come. `total` is known once the server says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadProgress {
    pub bytes: u64,
    pub total: Option<u64>,
}

/// Times a link may be re-signed during one download before giving up.
const MAX_REFRESHES: u32 = 4;
const WRITE_BUFFER: usize = 1024 * 1024;
/// Every this many bytes, the kernel is asked to start writing them to disk, so the fsync at
/// the end finds little left to do: disk and network work side by side instead of in turn.
const WRITEBACK_EVERY: u64 = 16 * 1024 * 1024;
/// Requests one download may make in all, however much progress each one makes.
const MAX_ATTEMPTS: u32 = 64;
/// Times a download may start again from byte 0.
const MAX_RESTARTS: u32 = 3;

/// The file extension for a MIME type, from a fixed allow-list; never taken from the server's
/// file names. Unknown types get `bin`.
pub fn extension_for_mime(mime: Option<&str>) -> &'static str {
    let essence = mime
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        "video/webm" => "webm",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "audio/mpeg" => "mp3",
        "audio/wav" | "audio/x-wav" => "wav",
        _ => "bin",
    }
}

/// `<jobId>_<n>`, with only `[A-Za-z0-9_-]` kept from the job id so that no id can name a
/// path outside the download folder.
pub fn job_file_stem(job_id: &str, n: usize) -> String {
    let safe: String = job_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(100)
        .collect();
    let safe = if safe.is_empty() { "job".into() } else { safe };
    format!("{safe}_{n}")
}

/// What the server told us about the body on this attempt.
struct Validator(Option<String>);

impl ScenarioClient {
    /// Downloads asset `asset_id` into `dir` as `<stem>.<ext>` (or `<stem>_1.<ext>`, ... when
    /// taken) and returns the path. Data goes to `<name>.part` first; an interrupted earlier
    /// attempt's `.part` is resumed.
    pub async fn download_asset(
        &self,
        asset_id: &str,
        dir: &Path,
        stem: &str,
        progress: &mut (dyn FnMut(DownloadProgress) + Send),
    ) -> Result<PathBuf, ApiError> {
        self.fetch_asset(asset_id, dir, stem, false, progress).await
    }

    /// Like [`Self::download_asset`], for work that may be repeated after a crash: when
    /// `<stem>.<ext>` is already there with the asset's exact size, it is taken as this
    /// download, finished before the crash could record it, and any leftover `.part` removed.
    pub async fn download_asset_once(
        &self,
        asset_id: &str,
        dir: &Path,
        stem: &str,
        progress: &mut (dyn FnMut(DownloadProgress) + Send),
    ) -> Result<PathBuf, ApiError> {
        self.fetch_asset(asset_id, dir, stem, true, progress).await
    }

    async fn fetch_asset(
        &self,
        asset_id: &str,
        dir: &Path,
        stem: &str,
        adopt: bool,
        progress: &mut (dyn FnMut(DownloadProgress) + Send),
    ) -> Result<PathBuf, ApiError> {
        let asset = self.get_asset(asset_id).await?;
        let ext = extension_for_mime(asset.mime_type.as_deref());
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| file_error(dir, &e))?;
        if adopt {
            let done = candidate(dir, stem, ext, 0);
            let size = tokio::fs::metadata(&done).await.map(|m| m.len()).ok();
            if size.is_some() && size == asset.expected_size() {
                let _ = tokio::fs::remove_file(part_path(&done)).await;
                progress(DownloadProgress {
                    bytes: size.unwrap_or(0),
                    total: size,
                });
                return Ok(done);
            }
        }
        let target = free_name(dir, stem, ext);
        let part = part_path(&target);
        let fail = |detail: String| ApiError::Download {
            asset_id: crate::sanitize::sanitize(asset_id),
            detail,
        };

        let mut url = signed_url(asset.url.as_deref()).map_err(&fail)?;
        let mut refreshes = 0;
        let mut delays = self.retry.backoff();
        let mut validator = Validator(None);
        let mut metadata_size = asset.expected_size();
        // Fresh starts (Range ignored or refused) and resumed attempts are bounded too, so a
        // misbehaving server can never keep us looping.
        let mut restarts = 0;
        let mut attempts = 0;

        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&part)
            .await
            .map_err(|e| file_error(&part, &e))?;
        let mut file = BufWriter::with_capacity(WRITE_BUFFER, file);
        let result: Result<PathBuf, ApiError> = async {

            loop {
                attempts += 1;
                if attempts > MAX_ATTEMPTS {
                    return Err(fail(format!("gave up after {MAX_ATTEMPTS} attempts")));
                }
                let offset = file_len(&mut file, &part).await?;
                if metadata_size.is_some_and(|size| offset == size && size > 0) {
                    break;
                }
                let mut request = self.cdn.get(url.clone());
                if offset > 0 {
                    request = request.header(RANGE, format!("bytes={offset}-"));
                    if let Some(v) = &validator.0 {
                        request = request.header(IF_RANGE, v.as_str());
                    }
                }
                let outcome = match request.send().await {
                    Err(e) => Err(ApiError::from_reqwest(&e, url.host_str().unwrap_or("cdn"))),
                    Ok(response) => {
                        let status = response.status();
                        match status {
                            StatusCode::OK | StatusCode::PARTIAL_CONTENT => {
                                validator = Validator(
                                    header(&response, ETAG)
                                        .or_else(|| header(&response, LAST_MODIFIED)),
                                );
                                let start = if status == StatusCode::OK { 0 } else { offset };
                                if status == StatusCode::PARTIAL_CONTENT
                                    && content_range_start(&response) != Some(offset)
                                {
                                    // A range we did not ask for: start over cleanly.
                                    restart(&mut restarts, &mut file, &part, &fail).await?;
                                    continue;
                                }
                                if let Some(total) = body_total(&response) {
                                    metadata_size = Some(total);
                                }
                                let end = body_end(&response, start);
                                if start == 0 && offset > 0 {
                                    // The server ignored Range: begin again from byte 0.
                                    truncate(&mut file, &part).await?;
                                }
                                let made =
                                    stream_body(
                                        response,
                                        &mut file,
                                        &part,
                                        start,
                                        end,
                                        metadata_size,
                                        progress,
                                    )
                                    .await;
                                match made {
                                    Ok(true) => break,
                                    Ok(false) => Err(fail("the body ended early".into())),
                                    Err(e @ ApiError::File { .. }) => return Err(e),
                                    Err(e) => Err(e),
                                }
                            }
                            StatusCode::RANGE_NOT_SATISFIABLE => {
                                // What we hold is not a prefix the server recognises.
                                restart(&mut restarts, &mut file, &part, &fail).await?;
                                continue;
                            }
                            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::GONE => {
                                refreshes += 1;
                                if refreshes > MAX_REFRESHES {
                                    return Err(fail(format!(
                                        "the link still answers {status} after {MAX_REFRESHES} fresh links"
                                    )));
                                }
                                tracing::info!("asset link answered {status}; fetching a fresh one");
                                let fresh = self.get_asset(asset_id).await?;
                                url = signed_url(fresh.url.as_deref()).map_err(&fail)?;
                                metadata_size = metadata_size.or(fresh.expected_size());
                                continue;
                            }
                            _ => Err(
                                error_from_response(response, url.host_str().unwrap_or("cdn")).await,
                            ),
                        }
                    }
                };
                // Only transient failures get here: wait, then resume from the bytes on disk.
                let err = match outcome {
                    Ok(()) => continue,
                    Err(e) => e,
                };
                if let ApiError::Http { status, .. } = &err
                    && !matches!(status, 408 | 429 | 500..=599)
                {
                    return Err(err);
                }
                let before = offset;
                let now = file_len(&mut file, &part).await?;
                if now > before {
                    // Progress was made: the connection is flaky, not dead. Start the backoff anew.
                    delays = self.retry.backoff();
                }
                match delays.next() {
                    Some(delay) => {
                        let wait = self.retry.wait(&err, delay);
                        tracing::warn!(
                            "download of {asset_id} broke off at {now} bytes: {err}; resuming in {wait:?}"
                        );
                        tokio::time::sleep(wait).await;
                    }
                    None => return Err(err),
                }
            }

            file.flush().await.map_err(|e| file_error(&part, &e))?;
            let file = file.into_inner();
            file.sync_data().await.map_err(|e| file_error(&part, &e))?;
            let size = file
                .metadata()
                .await
                .map_err(|e| file_error(&part, &e))?
                .len();
            drop(file);
            if let Some(expected) = metadata_size
                && size != expected
            {
                return Err(fail(format!(
                    "got {size} bytes, expected {expected}; kept {}",
                    part.display()
                )));
            }
            let placed = place(&part, dir, stem, ext).await?;
            sync_dir(dir).await;
            Ok(placed)
        }
        .await;
        if result.is_err() && std::fs::metadata(&part).is_ok_and(|m| m.len() == 0) {
            // Nothing arrived: leave no empty .part behind.
            let _ = std::fs::remove_file(&part);
        }
        result
    }
}

/// The asset's link, refusing anything that could leak (plain http off loopback, userinfo).
fn signed_url(url: Option<&str>) -> Result<Url, String> {
    let text = url.ok_or("the asset has no download link yet")?;
    let url = Url::parse(text).map_err(|e| format!("its link is not a URL: {e}"))?;
    check_url(&url).map_err(|e| match e {
        // The query is the signature: show where the link points, not the link.
        ApiError::InvalidUrl { rule, .. } => format!(
            "refused its link to {}://{}: {rule}",
            url.scheme(),
            crate::sanitize::sanitize(url.host_str().unwrap_or(""))
        ),
        other => other.to_string(),
    })?;
    Ok(url)
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::to_string)
}

/// `Content-Range: bytes a-b/total` → a.
fn content_range_start(response: &reqwest::Response) -> Option<u64> {
    let value = header(response, CONTENT_RANGE)?;
    let range = value.strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

/// The full size of the file: Content-Range's total for a 206 (none when it is `*`: the end of
/// one range is not the size of the file), Content-Length for a 200.
fn body_total(response: &reqwest::Response) -> Option<u64> {
    if response.status() == StatusCode::PARTIAL_CONTENT {
        let value = header(response, CONTENT_RANGE)?;
        return value.rsplit('/').next().and_then(|t| t.trim().parse().ok());
    }
    header(response, CONTENT_LENGTH)?.trim().parse().ok()
}

/// Where this response's body ends, if known: the file's total, or a range's last byte + 1.
fn body_end(response: &reqwest::Response, start: u64) -> Option<u64> {
    if response.status() == StatusCode::PARTIAL_CONTENT {
        let value = header(response, CONTENT_RANGE)?;
        let last: u64 = value
            .strip_prefix("bytes ")?
            .split('/')
            .next()?
            .split('-')
            .nth(1)?
            .trim()
            .parse()
            .ok()?;
        return Some(last + 1);
    }
    let len: u64 = header(response, CONTENT_LENGTH)?.trim().parse().ok()?;
    Some(start + len)
}

/// Writes the body at `start`. `Ok(true)` when it arrived whole: up to `end` when the answer
/// said where it ends, and up to the file's `total` when that is known.
#[allow(clippy::too_many_arguments)]
async fn stream_body(
    mut response: reqwest::Response,
    file: &mut BufWriter<tokio::fs::File>,
    part: &Path,
    start: u64,
    end: Option<u64>,
    total: Option<u64>,
    progress: &mut (dyn FnMut(DownloadProgress) + Send),
) -> Result<bool, ApiError> {
    let host = response.url().host_str().unwrap_or("cdn").to_string();
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(|e| file_error(part, &e))?;
    let mut written = start;
    let mut writeback_from = start;
    progress(DownloadProgress {
        bytes: written,
        total,
    });
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                // Keep what arrived so the next attempt resumes after it.
                file.flush().await.map_err(|e| file_error(part, &e))?;
                return Err(ApiError::from_reqwest(&e, &host));
            }
        };
        if end
            .or(total)
            .is_some_and(|t| written + chunk.len() as u64 > t)
        {
            file.flush().await.map_err(|e| file_error(part, &e))?;
            return Err(ApiError::Network {
                host,
                detail: "more bytes than announced".into(),
            });
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| file_error(part, &e))?;
        written += chunk.len() as u64;
        if written - writeback_from >= WRITEBACK_EVERY {
            file.flush().await.map_err(|e| file_error(part, &e))?;
            start_writeback(file.get_ref(), writeback_from, written - writeback_from);
            writeback_from = written;
        }
        progress(DownloadProgress {
            bytes: written,
            total,
        });
    }
    file.flush().await.map_err(|e| file_error(part, &e))?;
    Ok(end.is_none_or(|e| written == e) && total.is_none_or(|t| written == t))
}

/// Starts writing `len` bytes at `offset` back to disk without waiting for it (Linux's
/// `sync_file_range`); the final fsync still makes the file durable. Elsewhere a no-op.
#[cfg(target_os = "linux")]
fn start_writeback(file: &tokio::fs::File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the descriptor is open for the life of `file`, and sync_file_range only reads
    // its arguments; a failure is harmless (the final fsync covers everything).
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &tokio::fs::File, _offset: u64, _len: u64) {}

async fn file_len(file: &mut BufWriter<tokio::fs::File>, part: &Path) -> Result<u64, ApiError> {
    file.flush().await.map_err(|e| file_error(part, &e))?;
    Ok(file
        .get_ref()
        .metadata()
        .await
        .map_err(|e| file_error(part, &e))?
        .len())
}

async fn restart(
    restarts: &mut u32,
    file: &mut BufWriter<tokio::fs::File>,
    part: &Path,
    fail: &impl Fn(String) -> ApiError,
) -> Result<(), ApiError> {
    *restarts += 1;
    if *restarts > MAX_RESTARTS {
        return Err(fail(format!(
            "the server keeps answering with ranges that do not fit; gave up after {MAX_RESTARTS} fresh starts"
        )));
    }
    truncate(file, part).await
}

async fn truncate(file: &mut BufWriter<tokio::fs::File>, part: &Path) -> Result<(), ApiError> {
    file.flush().await.map_err(|e| file_error(part, &e))?;
    file.get_ref()
        .set_len(0)
        .await
        .map_err(|e| file_error(part, &e))
}

fn part_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    target.with_file_name(name)
}

fn candidate(dir: &Path, stem: &str, ext: &str, n: u32) -> PathBuf {
    if n == 0 {
        dir.join(format!("{stem}.{ext}"))
    } else {
        dir.join(format!("{stem}_{n}.{ext}"))
    }
}

/// The first `<stem>[_n].<ext>` not yet on disk.
fn free_name(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    (0..)
        .map(|n| candidate(dir, stem, ext, n))
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join(format!("{stem}.{ext}")))
}

/// Moves the finished `.part` to the first free name. A hard link fails rather than replace an
/// existing file, so even a file that appeared meanwhile is never overwritten.
async fn place(part: &Path, dir: &Path, stem: &str, ext: &str) -> Result<PathBuf, ApiError> {
    for n in 0..10_000 {
        let target = candidate(dir, stem, ext, n);
        match tokio::fs::hard_link(part, &target).await {
            Ok(()) => {
                tokio::fs::remove_file(part)
                    .await
                    .map_err(|e| file_error(part, &e))?;
                return Ok(target);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(_) => {
                // A file system without hard links: rename, having checked the name is free.
                if tokio::fs::try_exists(&target).await.unwrap_or(true) {
                    continue;
                }
                tokio::fs::rename(part, &target)
                    .await
                    .map_err(|e| file_error(&target, &e))?;
                return Ok(target);
            }
        }
    }
    Err(file_error(
        dir,
        &std::io::Error::other("no free file name left"),
    ))
}

async fn sync_dir(dir: &Path) {
    // Makes the rename durable; harmless where directories cannot be opened.
    if let Ok(d) = tokio::fs::File::open(dir).await {
        let _ = d.sync_all().await;
    }
}

pub(crate) fn file_error(path: &Path, err: &std::io::Error) -> ApiError {
    let detail = match err.raw_os_error() {
        Some(28) => "no space left on device (the partial file is kept for a later resume)".into(),
        _ => err.to_string(),
    };
    ApiError::File {
        path: path.to_path_buf(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_come_from_the_allow_list() {
        assert_eq!(extension_for_mime(Some("video/mp4")), "mp4");
        assert_eq!(extension_for_mime(Some("Video/MP4; codecs=avc1")), "mp4");
        assert_eq!(extension_for_mime(Some("application/x-sh")), "bin");
        assert_eq!(extension_for_mime(None), "bin");
    }

    #[test]
    fn stems_cannot_escape_the_folder() {
        assert_eq!(job_file_stem("job_abc", 1), "job_abc_1");
        assert_eq!(job_file_stem("../../etc/passwd", 2), "etcpasswd_2");
        assert_eq!(job_file_stem("/..", 1), "job_1");
    }

    #[test]
    fn names_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let first = free_name(dir.path(), "job_1", "mp4");
        assert_eq!(first.file_name().unwrap(), "job_1.mp4");
        std::fs::write(&first, b"x").unwrap();
        let second = free_name(dir.path(), "job_1", "mp4");
        assert_eq!(second.file_name().unwrap(), "job_1_1.mp4");
        assert_eq!(part_path(&second).file_name().unwrap(), "job_1_1.mp4.part");
    }
}
