//! Downloading an asset to disk: streamed to `<name>.part`, resumed with `Range` after a break
//! or a stall, re-signed on an expired link, then verified against what the API said of the
//! asset (its size, its container, the CDN's MD5 where given) and only then given its name,
//! never over another file.

mod files;
mod picture;
mod verify;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use md5::Digest;
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE,
};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};
use url::Url;

use super::client::error_from_response;
use super::{ApiError, ScenarioClient, check_url};
use verify::{Container, HEAD};

pub(crate) use files::file_error;
pub use files::{extension_for_mime, part_path};
pub use picture::{MAX_PICTURE_BYTES, PictureType};

/// How far a download has come. `total` is known once the API or the CDN says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadProgress {
    pub bytes: u64,
    pub total: Option<u64>,
}

/// What a caller hears of a download, and its say before the file takes its name.
pub trait DownloadObserver: Send {
    fn progress(&mut self, _progress: DownloadProgress) {}

    /// The bytes go to `part` until the file is verified and placed: whoever may abandon the
    /// download (forgetting its job) removes it.
    fn writing(&mut self, _part: &Path) {}

    /// The verified file is about to become `path` (`size` bytes); the move waits for this.
    /// A caller that records downloads records it here, durably, so that a stop right after
    /// never leaves a finished file it does not know about. An error (it could not be
    /// recorded) leaves the verified part where it is, for the next run to finish.
    fn placing<'a>(
        &'a mut self,
        _path: &'a Path,
        _size: u64,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async { Ok(()) })
    }
}

/// An observer that only reports progress.
pub struct OnProgress<F>(pub F);

impl<F: FnMut(DownloadProgress) + Send> DownloadObserver for OnProgress<F> {
    fn progress(&mut self, progress: DownloadProgress) {
        (self.0)(progress);
    }
}

/// Where a download goes.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    pub dir: &'a Path,
    /// The name without extension; `_1`, `_2`, ... are added when it is taken.
    pub stem: &'a str,
    /// A file the caller recorded writing for this asset, with its size: when it is still
    /// there, a regular file of this user of that size, it is the download, and nothing is
    /// fetched. Any other file is never taken as done, nor overwritten.
    pub recorded: Option<(&'a Path, u64)>,
}

/// A finished download.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub path: PathBuf,
    pub size: u64,
    /// It was already on disk, as recorded: nothing was fetched.
    pub existing: bool,
    /// The asset id of the video's last frame, where the asset names one: what a shot that
    /// continues this one starts from, with no decoding here.
    pub last_frame: Option<String>,
    /// The video's length in seconds, as the server measured it.
    pub duration: Option<f64>,
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

/// How one attempt ended, when it did not finish the file.
enum Failure {
    /// Worth another request after a pause: the `.part` is a verified prefix and kept.
    Passing(ApiError),
    /// Give up; the `.part` is still a verified prefix and kept for a later resume.
    Stop(ApiError),
    /// Give up; what was written is not the asset, so the `.part` goes.
    Discard(ApiError),
    /// The whole file failed its digest once: fetch all of it again.
    Again,
}

/// What to do after an attempt that did not fail.
enum Next {
    Done,
    Again,
}

/// Looks at an asset that answers 404 this many times more, waiting twice as long each time
/// from half a second (about 30 s in all), before the 404 counts.
const ASSET_404_RETRIES: u32 = 6;

impl ScenarioClient {
    /// The asset, looked up again a few times while it answers 404: right after its job's
    /// success, an asset may not be visible everywhere yet. (5xx are retried by the client's
    /// own policy.)
    async fn asset_once_visible(
        &self,
        asset_id: &str,
    ) -> Result<crate::api::types::Asset, ApiError> {
        let mut wait = std::time::Duration::from_millis(500);
        for _ in 0..ASSET_404_RETRIES {
            match self.get_asset(asset_id).await {
                Err(e) if e.status() == Some(404) => {
                    tracing::info!(
                        "asset {}: 404, looked at again in {wait:?}",
                        crate::sanitize::sanitize(asset_id)
                    );
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                other => return other,
            }
        }
        self.get_asset(asset_id).await
    }

    /// Downloads asset `asset_id` to `<stem>.<ext>` in the destination folder (or
    /// `<stem>_1.<ext>`, ... when taken) and returns where it went. Data goes to `<name>.part`
    /// first; an earlier attempt's `.part` is resumed when its bytes are a verified prefix.
    pub async fn download_asset(
        &self,
        asset_id: &str,
        to: &Destination<'_>,
        observer: &mut dyn DownloadObserver,
    ) -> Result<Saved, ApiError> {
        let asset = self.asset_once_visible(asset_id).await?;
        let ext = extension_for_mime(asset.mime_type.as_deref());
        if let Some((path, size)) = to.recorded
            && asset.expected_size().is_none_or(|s| s == size)
            && files::recorded_intact(path, size, asset_id)
        {
            observer.progress(DownloadProgress {
                bytes: size,
                total: Some(size),
            });
            return Ok(Saved {
                path: path.to_path_buf(),
                size,
                existing: true,
                last_frame: asset.last_frame_id().map(str::to_string),
                duration: asset.duration(),
            });
        }
        if let Some(size) = asset.expected_size()
            && size > self.max_download
        {
            return Err(refuse(
                asset_id,
                format!(
                    "the API says the file has {size} bytes, more than max_download_bytes \
                     ({}) allows; raise it in config.toml to download it",
                    self.max_download
                ),
            ));
        }
        tokio::fs::create_dir_all(to.dir)
            .await
            .map_err(|e| file_error(to.dir, &e))?;
        let target = files::free_name(to.dir, to.stem, ext);
        let part = files::part_path(&target, asset_id);
        let file = tokio::fs::File::from_std(files::open_part(&part)?);
        observer.writing(&part);
        let url = signed_url(asset.url.as_deref()).map_err(|d| fail(asset_id, d))?;
        let mut transfer = Transfer {
            client: self,
            asset_id,
            url,
            part: part.clone(),
            file: BufWriter::with_capacity(WRITE_BUFFER, file),
            api_size: asset.expected_size(),
            cdn_size: None,
            container: Container::for_mime(asset.mime_type.as_deref()),
            head: Vec::new(),
            validator: None,
            md5: None,
            hasher: Some(md5::Md5::new()),
            hashed: 0,
            mismatch: None,
            refreshes: 0,
            restarts: 0,
            started: std::time::Instant::now(),
        };
        let outcome = transfer.run(observer).await;
        let Transfer { file, .. } = transfer;
        // Still open, and so still locked, until it has its name.
        let file = file.into_inner().into_std().await;
        let size = match outcome {
            Ok(size) => size,
            Err(Failure::Discard(e)) => {
                let _ = tokio::fs::remove_file(&part).await;
                return Err(e);
            }
            Err(Failure::Again) => {
                // `run` never ends with it; should it, nothing verified is kept.
                let _ = tokio::fs::remove_file(&part).await;
                return Err(fail(asset_id, "the download did not settle".into()));
            }
            Err(Failure::Passing(e) | Failure::Stop(e)) => {
                if std::fs::metadata(&part).is_ok_and(|m| m.len() == 0) {
                    // Nothing arrived: leave no empty .part behind.
                    let _ = std::fs::remove_file(&part);
                }
                return Err(e);
            }
        };
        let path = files::place(&part, &file, (to.dir, to.stem, ext), size, observer).await?;
        drop(file);
        files::sync_dir(to.dir).await;
        Ok(Saved {
            path,
            size,
            existing: false,
            last_frame: asset.last_frame_id().map(str::to_string),
            duration: asset.duration(),
        })
    }
}

fn fail(asset_id: &str, detail: String) -> ApiError {
    ApiError::Download {
        asset_id: crate::sanitize::sanitize(asset_id),
        detail,
    }
}

fn refuse(asset_id: &str, detail: String) -> ApiError {
    ApiError::NotTheAsset {
        asset_id: crate::sanitize::sanitize(asset_id),
        detail,
    }
}

/// One download in progress: the `.part` and everything learnt about the asset so far.
struct Transfer<'c> {
    client: &'c ScenarioClient,
    asset_id: &'c str,
    url: Url,
    part: PathBuf,
    file: BufWriter<tokio::fs::File>,
    /// The size the API gave: the one that counts whenever it is known.
    api_size: Option<u64>,
    /// The size the CDN first announced; later answers must agree with it.
    cdn_size: Option<u64>,
    container: Container,
    /// The file's first bytes, up to [`HEAD`].
    head: Vec<u8>,
    validator: Option<String>,
    /// The MD5 the CDN's ETag stands for, when it is a plain one.
    md5: Option<[u8; 16]>,
    /// The digest of the file's first `hashed` bytes, while they came through this process
    /// in order; `None` once they did not (then the file is read back to check it).
    hasher: Option<md5::Md5>,
    hashed: u64,
    /// The digest of a whole download that did not match the ETag: if the next one comes out
    /// the same, the ETag is not the file's MD5 (some CDNs encrypt at rest), not the bytes.
    mismatch: Option<[u8; 16]>,
    refreshes: u32,
    restarts: u32,
    started: std::time::Instant,
}

impl Transfer<'_> {
    fn fail(&self, detail: String) -> ApiError {
        fail(self.asset_id, detail)
    }

    fn refuse(&self, detail: String) -> ApiError {
        refuse(self.asset_id, detail)
    }

    fn expected(&self) -> Option<u64> {
        self.api_size.or(self.cdn_size)
    }

    /// Fetches until the file is whole and verified; returns its size.
    async fn run(&mut self, observer: &mut dyn DownloadObserver) -> Result<u64, Failure> {
        self.check_existing_part().await?;
        loop {
            self.fetch(observer).await?;
            match self.finish().await {
                Err(Failure::Again) => self.truncate().await?,
                done => return done,
            }
        }
    }

    /// Requests until the bytes on disk are the whole body.
    async fn fetch(&mut self, observer: &mut dyn DownloadObserver) -> Result<(), Failure> {
        let mut delays = self.client.retry.backoff();
        let mut attempts = 0;
        loop {
            attempts += 1;
            if attempts > MAX_ATTEMPTS {
                return Err(Failure::Stop(
                    self.fail(format!("gave up after {MAX_ATTEMPTS} requests")),
                ));
            }
            let before = self.len().await?;
            let err = match self.attempt(before, observer).await {
                Ok(Next::Done) => break,
                Ok(Next::Again) => continue,
                Err(Failure::Passing(e)) => e,
                Err(other) => return Err(other),
            };
            if let ApiError::Http { status, .. } = &err
                && !matches!(status, 408 | 429 | 500..=599)
            {
                return Err(Failure::Stop(err));
            }
            let now = self.len().await?;
            if now > before {
                // Progress was made: the connection is flaky, not dead. Start the backoff anew.
                delays = self.client.retry.backoff();
            }
            let Some(delay) = delays.next() else {
                return Err(Failure::Stop(err));
            };
            let wait = self.client.retry.wait(&err, delay);
            if let Some(bound) = self.client.retry.give_up_after
                && self.started.elapsed() + wait > bound
            {
                return Err(Failure::Stop(self.fail(format!(
                    "{err}; not trying again: waiting longer would pass the give-up bound"
                ))));
            }
            let what = format!("download (at {now} bytes)");
            self.client.retry.tell(&what, &err, wait);
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    /// A `.part` left by an earlier attempt is resumed only when it can be the start of this
    /// asset: no longer than the asset, starting like its container. Otherwise it starts over.
    async fn check_existing_part(&mut self) -> Result<(), Failure> {
        let len = self.len().await?;
        if len == 0 {
            return Ok(());
        }
        let mut head = vec![0u8; HEAD.min(len as usize)];
        let file = self.file.get_mut();
        let read = async {
            file.seek(std::io::SeekFrom::Start(0)).await?;
            file.read_exact(&mut head).await
        }
        .await;
        let fits = read.is_ok()
            && self.api_size.is_none_or(|size| len <= size)
            && (head.len() < HEAD && len < HEAD as u64 || self.container.accepts(&head));
        if fits {
            self.head = head;
            // Its bytes did not pass through here: the MD5, if any, is checked on the file.
            self.hasher = None;
        } else {
            tracing::warn!(
                "{}: not a prefix of asset {}; starting over",
                self.part.display(),
                self.asset_id
            );
            self.truncate().await?;
        }
        Ok(())
    }

    /// One request, from the bytes on disk.
    async fn attempt(
        &mut self,
        offset: u64,
        observer: &mut dyn DownloadObserver,
    ) -> Result<Next, Failure> {
        if self
            .expected()
            .is_some_and(|size| size > 0 && offset == size)
        {
            return Ok(Next::Done);
        }
        let host = self.url.host_str().unwrap_or("cdn").to_string();
        let mut request = self
            .client
            .cdn
            .get(self.url.clone())
            .header(ACCEPT_ENCODING, "identity");
        if offset > 0 {
            request = request.header(RANGE, format!("bytes={offset}-"));
            if let Some(v) = &self.validator {
                request = request.header(IF_RANGE, v.as_str());
            }
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::Passing(ApiError::from_reqwest(&e, &host)))?;
        let status = response.status();
        match status {
            StatusCode::OK | StatusCode::PARTIAL_CONTENT => {}
            StatusCode::RANGE_NOT_SATISFIABLE => {
                // What we hold is not a prefix the server recognises.
                self.restart().await?;
                return Ok(Next::Again);
            }
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::GONE => {
                self.refresh(status).await?;
                return Ok(Next::Again);
            }
            _ => return Err(Failure::Passing(error_from_response(response, &host).await)),
        }

        if let Some(encoding) = verify::encoding(&response) {
            return Err(Failure::Stop(self.refuse(format!(
                "the CDN sent a {encoding}-encoded body although none was asked for; \
                 refusing to save it as the file"
            ))));
        }
        if let Some(kind) = verify::page_type(&response) {
            let shown = peek(response).await;
            return Err(Failure::Stop(self.refuse(format!(
                "the CDN answered {status} with {kind} instead of the file; first bytes: {}",
                verify::first_bytes(&shown)
            ))));
        }
        let start = if status == StatusCode::OK { 0 } else { offset };
        if status == StatusCode::PARTIAL_CONTENT && content_range_start(&response) != Some(offset) {
            // A range we did not ask for: start over cleanly.
            self.restart().await?;
            return Ok(Next::Again);
        }
        let etag = header(&response, ETAG);
        self.validator = etag.clone().or_else(|| header(&response, LAST_MODIFIED));
        let md5 = etag.as_deref().and_then(verify::md5_etag);
        if start == 0 {
            self.md5 = md5;
        } else if md5.is_some() && self.md5.is_some() && md5 != self.md5 {
            // The rest of another file: begin again, with the new one.
            self.restart().await?;
            return Ok(Next::Again);
        } else if self.md5.is_none() {
            // A resume whose answer names no digest keeps the one the file started with.
            self.md5 = md5;
        }
        if let Some(total) = body_total(&response) {
            match (self.api_size, self.cdn_size) {
                (Some(api), _) if api != total => {
                    return Err(Failure::Stop(self.refuse(format!(
                        "the CDN announces {total} bytes, but the API says the asset has \
                         {api}; refusing a file that is not the asset"
                    ))));
                }
                (None, Some(first)) if first != total => {
                    // Without the API's word, the CDN must at least agree with itself.
                    tracing::warn!("the CDN's size changed from {first} to {total}; starting over");
                    self.cdn_size = Some(total);
                    self.restart().await?;
                    return Ok(Next::Again);
                }
                _ => self.cdn_size = Some(total),
            }
        }
        if start == 0 && offset > 0 {
            // The server ignored Range: begin again from byte 0.
            self.truncate().await?;
        }
        let end = body_end(&response, start);
        if let (Some(end), Some(size)) = (end, self.expected())
            && end > size
        {
            return Err(Failure::Stop(self.refuse(format!(
                "the CDN announces a body up to byte {end} of a {size}-byte asset"
            ))));
        }
        if self.stream(response, start, end, observer).await? {
            Ok(Next::Done)
        } else {
            Err(Failure::Passing(self.fail("the body ended early".into())))
        }
    }

    /// Writes the body at `start`. `Ok(true)` when it arrived whole: up to `end` when the
    /// answer said where it ends, and up to the asset's size when that is known.
    async fn stream(
        &mut self,
        mut response: reqwest::Response,
        start: u64,
        end: Option<u64>,
        observer: &mut dyn DownloadObserver,
    ) -> Result<bool, Failure> {
        let host = response.url().host_str().unwrap_or("cdn").to_string();
        let part = self.part.clone();
        self.file
            .seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| Failure::Stop(file_error(&part, &e)))?;
        if start == 0 {
            self.head.clear();
            // Hashing costs more than the transfer on a fast link: only when there is an MD5
            // to check.
            self.hasher = self.md5.map(|_| md5::Md5::new());
            self.hashed = 0;
        } else if self.hashed != start {
            self.hasher = None;
        }
        let total = self.expected();
        // No size from anyone: the cap is all that stops an endless body.
        let limit = end.or(total);
        let cap = self.client.max_download;
        let mut written = start;
        let mut writeback_from = start;
        observer.progress(DownloadProgress {
            bytes: written,
            total,
        });
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    // Keep what arrived so the next attempt resumes after it.
                    self.flush().await?;
                    return Err(Failure::Passing(ApiError::from_reqwest(&e, &host)));
                }
            };
            let after = written + chunk.len() as u64;
            if let Some(limit) = limit.or(total)
                && after > limit
            {
                return Err(Failure::Discard(self.refuse(format!(
                    "the CDN sent more than the {limit} bytes announced; refusing it"
                ))));
            }
            if after > cap {
                // The API gave no size (a size it gave is checked against the cap up front).
                let announced = match total {
                    Some(t) => format!("the CDN announced {t} bytes"),
                    None => "no size was announced".into(),
                };
                return Err(Failure::Discard(self.refuse(format!(
                    "{announced} and the body passed {cap} bytes, the most \
                     max_download_bytes allows; stopped"
                ))));
            }
            if self.head.len() < HEAD {
                let want = (HEAD - self.head.len()).min(chunk.len());
                self.head.extend_from_slice(&chunk[..want]);
                if self.head.len() == HEAD && !self.container.accepts(&self.head) {
                    return Err(Failure::Discard(self.not_the_container()));
                }
            }
            self.file
                .write_all(&chunk)
                .await
                .map_err(|e| Failure::Stop(file_error(&part, &e)))?;
            if let Some(hasher) = &mut self.hasher {
                hasher.update(&chunk);
                self.hashed = after;
            }
            written = after;
            if written - writeback_from >= WRITEBACK_EVERY {
                self.flush().await?;
                start_writeback(
                    self.file.get_ref(),
                    writeback_from,
                    written - writeback_from,
                );
                writeback_from = written;
            }
            observer.progress(DownloadProgress {
                bytes: written,
                total,
            });
        }
        self.flush().await?;
        Ok(end.is_none_or(|e| written == e) && total.is_none_or(|t| written == t))
    }

    fn not_the_container(&self) -> ApiError {
        self.refuse(format!(
            "the bytes are not {}; first bytes: {}",
            self.container.describe(),
            verify::first_bytes(&self.head)
        ))
    }

    /// The last checks on the whole file: durable, of the asset's size, of its container, of
    /// the CDN's MD5 where it gave one.
    async fn finish(&mut self) -> Result<u64, Failure> {
        let part = self.part.clone();
        self.flush().await?;
        let file = self.file.get_ref();
        file.sync_data()
            .await
            .map_err(|e| Failure::Stop(file_error(&part, &e)))?;
        let size = self.len().await?;
        if let Some(expected) = self.expected()
            && size != expected
        {
            return Err(Failure::Discard(
                self.refuse(format!("got {size} bytes, but the asset has {expected}")),
            ));
        }
        if !self.container.accepts(&self.head) {
            return Err(Failure::Discard(self.not_the_container()));
        }
        if let Some(want) = self.md5 {
            let got = match self.hasher.take() {
                Some(hasher) if self.hashed == size => hasher.finalize().into(),
                _ => digest_of(&part)
                    .await
                    .map_err(|e| Failure::Stop(file_error(&part, &e)))?,
            };
            if got != want && self.mismatch != Some(got) {
                if self.mismatch.is_none() {
                    // Once more from the start: damage on the way does not repeat itself.
                    self.mismatch = Some(got);
                    return Err(Failure::Again);
                }
                return Err(Failure::Discard(
                    self.refuse(
                        "the file's MD5 does not match the CDN's ETag, in two downloads that also \
                     differ from each other: it is damaged on the way"
                            .into(),
                    ),
                ));
            }
            if got != want {
                tracing::warn!(
                    "asset {}: two whole downloads agree with each other but not with the \
                     ETag, so the ETag is not the file's MD5 here; the file is kept",
                    self.asset_id
                );
            }
        }
        Ok(size)
    }

    async fn refresh(&mut self, status: StatusCode) -> Result<(), Failure> {
        self.refreshes += 1;
        if self.refreshes > MAX_REFRESHES {
            return Err(Failure::Stop(self.fail(format!(
                "the link still answers {status} after {MAX_REFRESHES} fresh links"
            ))));
        }
        tracing::info!("asset link answered {status}; fetching a fresh one");
        let fresh = self
            .client
            .get_asset(self.asset_id)
            .await
            .map_err(Failure::Stop)?;
        self.url = signed_url(fresh.url.as_deref()).map_err(|d| Failure::Stop(self.fail(d)))?;
        if self.api_size.is_none() {
            self.api_size = fresh.expected_size();
        }
        Ok(())
    }

    async fn len(&mut self) -> Result<u64, Failure> {
        self.flush().await?;
        let part = self.part.clone();
        Ok(self
            .file
            .get_ref()
            .metadata()
            .await
            .map_err(|e| Failure::Stop(file_error(&part, &e)))?
            .len())
    }

    async fn flush(&mut self) -> Result<(), Failure> {
        let part = &self.part;
        self.file
            .flush()
            .await
            .map_err(|e| Failure::Stop(file_error(part, &e)))
    }

    async fn restart(&mut self) -> Result<(), Failure> {
        self.restarts += 1;
        if self.restarts > MAX_RESTARTS {
            return Err(Failure::Stop(self.fail(format!(
                "the server keeps answering with ranges that do not fit; gave up after \
                 {MAX_RESTARTS} fresh starts"
            ))));
        }
        self.truncate().await
    }

    async fn truncate(&mut self) -> Result<(), Failure> {
        self.flush().await?;
        let part = &self.part;
        self.file
            .get_ref()
            .set_len(0)
            .await
            .map_err(|e| Failure::Stop(file_error(part, &e)))?;
        self.head.clear();
        self.hasher = Some(md5::Md5::new());
        self.hashed = 0;
        Ok(())
    }
}

/// Up to a few hundred bytes of an answer that is not the file, to show what it was.
async fn peek(mut response: reqwest::Response) -> Vec<u8> {
    let mut bytes = Vec::new();
    while bytes.len() < 256 {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes
}

/// The MD5 of a whole file, read back off the async threads.
async fn digest_of(path: &Path) -> std::io::Result<[u8; 16]> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(path)?;
        let mut hasher = md5::Md5::new();
        std::io::copy(&mut file, &mut hasher)?;
        Ok(hasher.finalize().into())
    })
    .await
    .map_err(std::io::Error::other)?
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
        return last.checked_add(1);
    }
    let len: u64 = header(response, CONTENT_LENGTH)?.trim().parse().ok()?;
    start.checked_add(len)
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
