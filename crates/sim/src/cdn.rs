//! The CDN: a separate host serving signed, expiring links without credentials, with byte
//! ranges, validators, and bodies streamed in chunks.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{
    ACCEPT_RANGES, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_RANGE,
    LAST_MODIFIED, RANGE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use futures_util::{Stream, StreamExt, stream};

use super::Route;
use super::cdn_tricks as tricks;
use super::faults::Breakage;
use super::gate::query_map;
use super::picture::{self, Still};
use super::range::{Wanted, parse_range};
use super::signing::Denial;
use super::state::{Sim, unix_now};
use super::upload_routes::{PART_BODY_LIMIT, put_part};
use super::uploads::etag_of;
use super::video::{VideoFile, break_after};

pub(crate) fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/cdn/{file}", get(download))
        .route(
            "/upload/{upload_id}/{part}",
            put(put_part).layer(DefaultBodyLimit::max(PART_BODY_LIMIT)),
        )
        .fallback(no_such_key)
        .with_state(sim)
}

/// Bodies of stored files go out in pieces of this size.
const CHUNK: usize = 64 * 1024;

/// What a link serves: a generated video, or a stored file (uploaded, or a video's still).
pub(crate) enum Content {
    Video(VideoFile),
    Stored(Bytes),
}

impl Content {
    fn len(&self) -> u64 {
        match self {
            Content::Video(video) => video.len(),
            Content::Stored(bytes) => bytes.len() as u64,
        }
    }

    pub(crate) fn stream(
        self,
        start: u64,
        end: u64,
    ) -> Box<dyn Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static> {
        match self {
            Content::Video(video) => Box::new(Box::pin(video.stream(start, end))),
            Content::Stored(bytes) => {
                let start = usize::try_from(start)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                let end = usize::try_from(end).unwrap_or(usize::MAX).min(bytes.len());
                let chunks: Vec<std::io::Result<Bytes>> = (start..end)
                    .step_by(CHUNK)
                    .map(|at| Ok(bytes.slice(at..end.min(at + CHUNK))))
                    .collect();
                Box::new(stream::iter(chunks))
            }
        }
    }
}

/// An error in the XML shape CloudFront and S3 use.
pub(crate) fn xml(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>\n"
    );
    (status, [(CONTENT_TYPE, "text/xml")], body).into_response()
}

async fn no_such_key() -> Response {
    missing()
}

fn missing() -> Response {
    xml(
        StatusCode::NOT_FOUND,
        "NoSuchKey",
        "The specified key does not exist.",
    )
}

/// A CDN body being sent, counted open until it is dropped: sent to its end, or the client
/// hung up. Tests read the count to see a client really stop a transfer.
struct OpenBody(Arc<Sim>);

impl Drop for OpenBody {
    fn drop(&mut self) {
        self.0
            .open_bodies
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn counted<S: Stream + Send + 'static>(
    sim: &Arc<Sim>,
    body: S,
) -> impl Stream<Item = S::Item> + Send + use<S> {
    sim.open_bodies
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let open = OpenBody(sim.clone());
    body.map(move |chunk| {
        let _held = &open;
        chunk
    })
}

async fn download(
    State(sim): State<Arc<Sim>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query_map(raw);
    let mut inner = sim.lock();
    sim.log_request(&mut inner, Route::Cdn);
    inner.stats.count(Route::Cdn);
    let asked = headers
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    inner.stats.cdn_ranges.push(asked);
    if headers.contains_key(AUTHORIZATION) {
        // Credentials sent to the CDN host have leaked off the API: refuse, and count it.
        inner.stats.cdn_with_authorization += 1;
        return xml(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; the signed query and an Authorization header were both given",
        );
    }
    if let Some(status) = inner.faults.api_status(Route::Cdn) {
        return inner.error_code(status);
    }
    if inner.roll(sim.config.faults.rate_5xx) {
        let status = inner.pick_5xx();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return xml(status, "ServiceUnavailable", "Please try again.");
    }

    // Every link ends in its file's extension; the id is what comes before it.
    let asset_id = path.ok().and_then(|Path(file)| {
        file.rsplit_once('.')
            .map(|(stem, _)| stem.to_owned())
            .filter(|stem| !stem.is_empty())
    });
    let expires = query
        .get("Expires")
        .and_then(|e| e.trim().parse::<u64>().ok());
    let signature = query.get("Signature");
    let key_pair = query.get("Key-Pair-Id").map(String::as_str);
    let (Some(asset_id), Some(expires), Some(signature), Some("SIM")) =
        (asset_id, expires, signature, key_pair)
    else {
        return xml(StatusCode::FORBIDDEN, "AccessDenied", "Access denied");
    };
    match inner
        .links
        .check(&asset_id, expires, signature, unix_now().as_secs_f64())
    {
        Ok(()) => {}
        Err(Denial::Invalid) => {
            return xml(StatusCode::FORBIDDEN, "AccessDenied", "Access denied");
        }
        Err(Denial::Expired) => {
            return xml(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
        }
    }
    let now = sim.now();
    let (content, mime, etag, last_modified) =
        if let Some(asset) = inner.uploads.asset(&asset_id, now) {
            (
                Content::Stored(asset.bytes.clone()),
                header_value(asset.mime_type.clone()),
                asset.etag.clone(),
                httpdate::fmt_http_date(asset.created_wall),
            )
        } else if let Some((video, still)) = Still::split(&asset_id)
            && inner
                .jobs
                .finished_asset(video, sim.video_count(), now, sim.time_scale)
                .is_some()
        {
            let png = picture::png(video, still);
            let etag = etag_of(&png);
            (
                Content::Stored(Bytes::from(png)),
                HeaderValue::from_static("image/png"),
                etag,
                httpdate::fmt_http_date(sim.started_wall),
            )
        } else if let Some((_, take)) =
            inner
                .jobs
                .finished_asset(&asset_id, sim.video_count(), now, sim.time_scale)
        {
            let file = sim.video_file(take);
            (
                Content::Video(file),
                HeaderValue::from_static(file.mime()),
                file.etag(),
                httpdate::fmt_http_date(sim.started_wall),
            )
        } else {
            return missing();
        };

    let size = content.len();
    let range = headers.get(RANGE).and_then(|v| v.to_str().ok());
    // If-Range: only resume when the validator still matches; otherwise send it all afresh.
    let validator_holds = headers
        .get(IF_RANGE)
        .is_none_or(|v| v.to_str().is_ok_and(|v| v == etag || v == last_modified));
    let mut wanted = match range {
        Some(range) if validator_holds => parse_range(range, size),
        _ => Wanted::Whole,
    };
    if range.is_some() && inner.faults.cdn_ignore_range() {
        wanted = Wanted::Whole;
    }
    let (status, start, end) = match wanted {
        Wanted::Whole => (StatusCode::OK, 0, size),
        Wanted::Part(first, last) => (StatusCode::PARTIAL_CONTENT, first, last + 1),
        Wanted::Unsatisfiable => {
            let headers = [
                (CONTENT_RANGE, header_value(format!("bytes */{size}"))),
                (ACCEPT_RANGES, HeaderValue::from_static("bytes")),
            ];
            return (StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response();
        }
    };
    let breakage = inner.faults.cdn_breakage();
    drop(inner);

    let body = match breakage {
        None => Body::from_stream(counted(&sim, content.stream(start, end))),
        Some(Breakage::Truncate) => Body::from_stream(counted(
            &sim,
            break_after(content.stream(start, start + (end - start) / 2)),
        )),
        Some(Breakage::Reset) => Body::from_stream(counted(&sim, break_after(stream::empty()))),
        Some(Breakage::Stall) => Body::from_stream(counted(
            &sim,
            content
                .stream(start, start + (end - start) / 2)
                .chain(stream::pending()),
        )),
        Some(Breakage::Corrupt(nth)) => Body::from_stream(counted(
            &sim,
            tricks::flip_middle(
                content.stream(start, end),
                start,
                (size / 2 + nth).min(size.saturating_sub(1)),
            ),
        )),
        Some(Breakage::ForeignEtag) => Body::from_stream(counted(&sim, content.stream(start, end))),
        Some(trick) => return tricks::answer(trick, content.stream(0, size), size, mime),
    };
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    out.insert(CONTENT_TYPE, mime);
    // Set by hand: a streamed body has no length of its own, and clients need it.
    out.insert(CONTENT_LENGTH, HeaderValue::from(end - start));
    out.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if breakage == Some(Breakage::ForeignEtag) {
        out.insert(
            ETAG,
            HeaderValue::from_static("\"0123456789abcdef0123456789abcdef\""),
        );
    } else {
        out.insert(ETAG, header_value(etag));
    }
    out.insert(LAST_MODIFIED, header_value(last_modified));
    if status == StatusCode::PARTIAL_CONTENT {
        let content_range = format!("bytes {start}-{}/{size}", end - 1);
        out.insert(CONTENT_RANGE, header_value(content_range));
    }
    response
}

/// Header values built here are plain ASCII; an impossible failure degrades to empty.
fn header_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}
