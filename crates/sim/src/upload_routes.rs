//! The upload routes: `POST /v1/assets` for small images, the multipart flow under
//! `/v1/uploads`, and the part `PUT` the CDN host takes without credentials.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{AUTHORIZATION, ETAG};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value, json};

use super::Route;
use super::cdn::xml;
use super::gate::{gate, query_map};
use super::signing::Denial;
use super::sniff::{self, FileType};
use super::state::{Sim, part_key, unix_now};
use super::uploads::{
    Declared, IMPORT_FAILED, MAX_IMAGE_SIZE, MAX_INLINE_IMAGE, MAX_PARTS, MAX_VIDEO_SIZE,
    SimUpload, StoredAsset, etag_of, import_delay, import_problem,
};
use super::variation::{ASSET_ENVELOPE, UPLOAD_ENVELOPE};

/// Room for the base64 of an image just under the inline limit, and the JSON around it.
pub(crate) const ASSET_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// Room for a single-part upload of the biggest video.
pub(crate) const PART_BODY_LIMIT: usize = MAX_VIDEO_SIZE as usize + 1024 * 1024;

const VIDEO_TYPES: [&str; 3] = ["video/mp4", "video/quicktime", "video/webm"];
const IMAGE_TYPES: [&str; 3] = ["image/png", "image/jpeg", "image/webp"];

/// Standard base64, with or without padding, as clients variously send it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn too_big_inline(size: Option<u64>) -> String {
    let size = size.map_or_else(String::new, |n| format!(" ({n} bytes)"));
    format!(
        "The image is too large{size}: images of {MAX_INLINE_IMAGE} bytes or more must use the multipart upload (POST /uploads)"
    )
}

/// `POST /assets` with `{"image": "<base64 or data URL>", "name": "file.png"}`.
pub(crate) async fn create_asset(
    State(sim): State<Arc<Sim>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(answer) = gate(&sim, Route::CreateAsset, &headers, &query_map(raw)).await {
        return answer;
    }
    let read = body
        .map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_big_inline(None)
            } else {
                format!("Could not read the request body: {}", e.body_text())
            }
        })
        .and_then(|body| read_inline_image(&body));
    let mut inner = sim.lock();
    let (bytes, name, file_type) = match read {
        Ok(read) => read,
        Err(reason) => return inner.error(StatusCode::BAD_REQUEST, &reason),
    };
    let Some(mime) = file_type.image_mime() else {
        return inner.error(StatusCode::BAD_REQUEST, UNSUPPORTED_IMAGE);
    };
    let drawn = inner.upload_id("asset");
    let id = inner.faults.next_asset_id().unwrap_or(drawn);
    let asset = StoredAsset {
        id: id.clone(),
        name,
        kind: "image",
        mime_type: mime.to_string(),
        dimensions: sniff::image_size(&bytes),
        etag: etag_of(&bytes),
        bytes,
        created_at: jiff::Timestamp::now(),
        created_wall: std::time::SystemTime::now(),
        available: sim.now(),
    };
    let url = sim.signed_file_url(&inner, &id, sniff::extension(mime));
    let asset = inner.uploads.insert_asset(asset).render(url);
    sim.reply(&ASSET_ENVELOPE, json!({ "asset": asset }))
}

const UNSUPPORTED_IMAGE: &str = "Unsupported image type: the image must be PNG, JPEG or WebP";

/// The decoded image, its name, and its type, or why the body is refused.
fn read_inline_image(body: &[u8]) -> Result<(Bytes, Option<String>, FileType), String> {
    let body: Value =
        serde_json::from_slice(body).map_err(|e| format!("Invalid JSON body: {e}"))?;
    let Some(fields) = body.as_object() else {
        return Err("The request body must be a JSON object".to_string());
    };
    let name = match fields.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err("name: must be a string".to_string()),
    };
    let Some(image) = fields.get("image").and_then(Value::as_str) else {
        return Err("image: required, as a base64 string or a data URL".to_string());
    };
    let bytes = decode_image(image)?;
    let file_type = FileType::sniff(&bytes)
        .filter(|t| t.image_mime().is_some())
        .ok_or_else(|| UNSUPPORTED_IMAGE.to_string())?;
    if bytes.len() as u64 >= MAX_INLINE_IMAGE {
        return Err(too_big_inline(Some(bytes.len() as u64)));
    }
    Ok((Bytes::from(bytes), name, file_type))
}

/// Base64, bare or in a `data:<type>;base64,` URL; whitespace inside is ignored.
fn decode_image(image: &str) -> Result<Vec<u8>, String> {
    let encoded = match image.trim().strip_prefix("data:") {
        Some(url) => {
            let Some((header, data)) = url.split_once(',') else {
                return Err("image: a data URL needs a comma before its data".to_string());
            };
            if !header.ends_with(";base64") {
                return Err("image: a data URL must be base64-encoded (;base64,)".to_string());
            }
            data
        }
        None => image,
    };
    let compact: Vec<u8> = encoded
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if compact.is_empty() {
        return Err("image: is empty".to_string());
    }
    BASE64
        .decode(&compact)
        .map_err(|e| format!("image: not valid base64: {e}"))
}

/// `POST /uploads` with `{"fileName", "contentType", "kind", "parts", "fileSize"}`.
pub(crate) async fn create_upload(
    State(sim): State<Arc<Sim>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(answer) = gate(&sim, Route::CreateUpload, &headers, &query_map(raw)).await {
        return answer;
    }
    let mut inner = sim.lock();
    let declared = match read_declared(&body) {
        Ok(declared) => declared,
        Err(reason) => return inner.error(StatusCode::BAD_REQUEST, &reason),
    };
    let id = inner.upload_id("upload");
    let parts: Vec<Value> = (1..=declared.parts)
        .map(|number| {
            let (url, expires) = sim.part_url(&inner, &id, number);
            json!({"number": number, "url": url, "expires": expires})
        })
        .collect();
    inner.stats.uploads_created += 1;
    let mut upload = inner
        .uploads
        .insert_upload(SimUpload::new(id, declared))
        .render(sim.now(), sim.time_scale, sim.config.upload_done_status);
    if let Some(fields) = upload.as_object_mut() {
        fields.insert("parts".into(), parts.into());
    }
    sim.reply(&UPLOAD_ENVELOPE, json!({ "upload": upload }))
}

fn read_declared(body: &[u8]) -> Result<Declared, String> {
    let body: Value =
        serde_json::from_slice(body).map_err(|e| format!("Invalid JSON body: {e}"))?;
    let Some(fields) = body.as_object() else {
        return Err("The request body must be a JSON object".to_string());
    };
    let file_name = text(fields, "fileName")?;
    if file_name.trim().is_empty() {
        return Err("fileName: is empty".to_string());
    }
    let (kind, types, max_size) = match text(fields, "kind")? {
        "video" => ("video", VIDEO_TYPES, MAX_VIDEO_SIZE),
        "image" => ("image", IMAGE_TYPES, MAX_IMAGE_SIZE),
        other => {
            return Err(format!(
                "kind: must be \"video\" or \"image\", got {other:?}"
            ));
        }
    };
    let content_type = text(fields, "contentType")?;
    if !types.contains(&content_type) {
        return Err(format!(
            "contentType: {content_type:?} is not supported for kind {kind}; use one of {}",
            types.join(", ")
        ));
    }
    let parts = whole_number(fields, "parts")?;
    if !(1..=MAX_PARTS).contains(&parts) {
        return Err(format!("parts: must be from 1 to {MAX_PARTS}, got {parts}"));
    }
    let file_size = whole_number(fields, "fileSize")?;
    if file_size == 0 {
        return Err("fileSize: the file is empty".to_string());
    }
    if file_size > max_size {
        return Err(format!(
            "fileSize: {file_size} bytes is over the {max_size} byte limit for {kind} uploads"
        ));
    }
    Ok(Declared {
        file_name: file_name.to_string(),
        content_type: content_type.to_string(),
        kind,
        parts: u32::try_from(parts).map_err(|_| "parts: too many".to_string())?,
        file_size,
    })
}

fn text<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    match fields.get(name) {
        Some(Value::String(text)) => Ok(text),
        None | Some(Value::Null) => Err(format!("{name}: required")),
        Some(_) => Err(format!("{name}: must be a string")),
    }
}

fn whole_number(fields: &Map<String, Value>, name: &str) -> Result<u64, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Err(format!("{name}: required")),
        Some(value) => value
            .as_u64()
            .ok_or_else(|| format!("{name}: must be a whole number, got {value}")),
    }
}

/// `GET /uploads/{id}`.
pub(crate) async fn get_upload(
    State(sim): State<Arc<Sim>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(answer) = gate(&sim, Route::GetUpload, &headers, &query_map(raw)).await {
        return answer;
    }
    let mut inner = sim.lock();
    let end = sim.config.upload_done_status;
    let upload = path.ok().and_then(|Path(id)| {
        inner
            .uploads
            .upload(&id)
            .map(|upload| upload.render(sim.now(), sim.time_scale, end))
    });
    match upload {
        Some(upload) => sim.reply(&UPLOAD_ENVELOPE, json!({ "upload": upload })),
        None => inner.error(StatusCode::NOT_FOUND, "Upload not found"),
    }
}

/// `POST /uploads/{id}/action` with `{"action": "complete"}`.
pub(crate) async fn upload_action(
    State(sim): State<Arc<Sim>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(answer) = gate(&sim, Route::UploadAction, &headers, &query_map(raw)).await {
        return answer;
    }
    let mut guard = sim.lock();
    // Borrow the fields apart: the upload, the faults and the id stream at once.
    let inner = &mut *guard;
    let Some(id) = path
        .ok()
        .map(|Path(id)| id)
        .filter(|id| inner.uploads.upload(id).is_some())
    else {
        return inner.error(StatusCode::NOT_FOUND, "Upload not found");
    };
    let action = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("action")?.as_str().map(str::to_owned));
    match action.as_deref() {
        Some("complete") => {}
        Some(other) => {
            let reason = format!("Unknown action {other:?}: the only action is \"complete\"");
            return inner.error(StatusCode::BAD_REQUEST, &reason);
        }
        None => {
            let reason = "The body must be {\"action\": \"complete\"}";
            return inner.error(StatusCode::BAD_REQUEST, reason);
        }
    }
    let now = sim.now();
    let assembled = match inner.uploads.upload_mut(&id) {
        Some(upload) => upload
            .assemble(now, sim.time_scale)
            .map(|bytes| (bytes, upload.declared.clone())),
        None => return inner.error(StatusCode::NOT_FOUND, "Upload not found"),
    };
    let (bytes, declared) = match assembled {
        Ok(assembled) => assembled,
        Err(refusal) => return inner.error(StatusCode::BAD_REQUEST, &refusal.reason()),
    };
    // Drawn whatever the outcome, so faults never shift later ids.
    let drawn = inner.upload_id("asset");
    let asset_id = inner.faults.next_asset_id().unwrap_or(drawn);
    let problem = if inner.faults.import_fail() {
        Some(IMPORT_FAILED.to_string())
    } else {
        import_problem(&declared, &bytes)
    };
    let outcome = match problem {
        Some(problem) => Err(problem),
        None => {
            let file_type = FileType::from_mime(&declared.content_type);
            let dimensions = file_type
                .filter(|t| t.image_mime().is_some())
                .and_then(|_| sniff::image_size(&bytes));
            inner.uploads.insert_asset(StoredAsset {
                id: asset_id.clone(),
                name: Some(declared.file_name.clone()),
                kind: declared.kind,
                mime_type: declared.content_type.clone(),
                dimensions,
                etag: etag_of(&bytes),
                bytes,
                created_at: jiff::Timestamp::now(),
                created_wall: std::time::SystemTime::now(),
                available: now + import_delay(sim.time_scale),
            });
            Ok(asset_id)
        }
    };
    match inner.uploads.upload_mut(&id) {
        Some(upload) => {
            upload.complete(now, outcome);
            let upload = upload.render(now, sim.time_scale, sim.config.upload_done_status);
            sim.reply(&UPLOAD_ENVELOPE, json!({ "upload": upload }))
        }
        None => inner.error(StatusCode::NOT_FOUND, "Upload not found"),
    }
}

/// `PUT /upload/{uploadId}/{partNumber}?Expires=..&Signature=..` on the CDN host: the raw
/// bytes of one part, answered with its `ETag`, as S3 does.
pub(crate) async fn put_part(
    State(sim): State<Arc<Sim>>,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let query = query_map(raw);
    let mut inner = sim.lock();
    sim.log_request(&mut inner, Route::UploadPart);
    inner.stats.count(Route::UploadPart);
    if headers.contains_key(AUTHORIZATION) {
        // Credentials sent to the storage host have leaked off the API: refuse, and count it.
        inner.stats.upload_put_with_authorization += 1;
        return xml(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; the signed query and an Authorization header were both given",
        );
    }
    if let Some(status) = inner.faults.api_status(Route::UploadPart) {
        return inner.error_code(status);
    }
    if inner.faults.upload_part_fail() {
        return xml(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        );
    }
    let Ok(Path((upload_id, number))) = path else {
        return no_such_upload();
    };
    let Ok(number) = number.parse::<u32>() else {
        return xml(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
        );
    };
    let expires = query
        .get("Expires")
        .and_then(|e| e.trim().parse::<u64>().ok());
    let (Some(expires), Some(signature)) = (expires, query.get("Signature")) else {
        return xml(StatusCode::FORBIDDEN, "AccessDenied", "Access denied");
    };
    let key = part_key(&upload_id, number);
    match inner
        .links
        .check(&key, expires, signature, unix_now().as_secs_f64())
    {
        Ok(()) => {}
        Err(Denial::Invalid) => {
            return xml(StatusCode::FORBIDDEN, "AccessDenied", "Access denied");
        }
        Err(Denial::Expired) => {
            return xml(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
        }
    }
    let bytes = match body {
        Ok(bytes) => bytes,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return xml(
                StatusCode::BAD_REQUEST,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
            );
        }
        Err(_) => {
            return xml(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
            );
        }
    };
    let Some(upload) = inner
        .uploads
        .upload_mut(&upload_id)
        .filter(|upload| upload.is_pending() && (1..=upload.declared.parts).contains(&number))
    else {
        return no_such_upload();
    };
    let etag = etag_of(&bytes);
    upload.put_part(number, bytes);
    let etag = HeaderValue::try_from(etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    (StatusCode::OK, [(ETAG, etag)]).into_response()
}

fn no_such_upload() -> Response {
    xml(
        StatusCode::NOT_FOUND,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_decode_bare_or_as_data_urls() {
        assert_eq!(decode_image("aGk=").unwrap(), b"hi");
        assert_eq!(decode_image("aGk").unwrap(), b"hi");
        assert_eq!(decode_image("data:image/png;base64,aG\nk=").unwrap(), b"hi");
        assert!(decode_image("data:image/png,hi").is_err());
        assert!(decode_image("***").unwrap_err().starts_with("image: "));
        assert!(decode_image("  ").unwrap_err().starts_with("image: "));
    }

    #[test]
    fn declared_uploads_are_checked() {
        let ok = br#"{"fileName":"a.mp4","contentType":"video/mp4","kind":"video","parts":2,"fileSize":6000000}"#;
        let declared = read_declared(ok).unwrap();
        assert_eq!((declared.parts, declared.kind), (2, "video"));
        for (body, needle) in [
            (
                r#"{"fileName":"a","contentType":"video/mp4","kind":"video","parts":0,"fileSize":1}"#,
                "parts",
            ),
            (
                r#"{"fileName":"a","contentType":"video/mp4","kind":"video","parts":10001,"fileSize":1}"#,
                "parts",
            ),
            (
                r#"{"fileName":"a","contentType":"video/mp4","kind":"video","parts":1.5,"fileSize":1}"#,
                "parts",
            ),
            (
                r#"{"fileName":"a","contentType":"video/mp4","kind":"video","parts":1,"fileSize":0}"#,
                "fileSize",
            ),
            (
                r#"{"fileName":"a","contentType":"video/mp4","kind":"video","parts":1,"fileSize":200000001}"#,
                "fileSize",
            ),
            (
                r#"{"fileName":"a","contentType":"image/png","kind":"image","parts":1,"fileSize":10000001}"#,
                "fileSize",
            ),
            (
                r#"{"fileName":"a","contentType":"image/png","kind":"video","parts":1,"fileSize":1}"#,
                "contentType",
            ),
            (
                r#"{"fileName":"a","contentType":"audio/mpeg","kind":"audio","parts":1,"fileSize":1}"#,
                "kind",
            ),
            (
                r#"{"contentType":"video/mp4","kind":"video","parts":1,"fileSize":1}"#,
                "fileName",
            ),
        ] {
            let reason = read_declared(body.as_bytes()).unwrap_err();
            assert!(reason.starts_with(needle), "{body}: {reason}");
        }
    }
}
