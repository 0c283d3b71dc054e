//! The API routes under `/v1`: jobs, job actions and assets (generate lives in generate.rs,
//! uploads in upload_routes.rs).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use serde_json::json;

use super::Route;
use super::assets;
use super::gate::{gate, query_map};
use super::generate::generate;
use super::jobs::{PageFilter, decode_token, encode_token};
use super::models::{get_model, team_limits};
use super::sniff;
use super::state::Sim;
use super::upload_routes::{
    ASSET_BODY_LIMIT, create_asset, create_upload, get_upload, upload_action,
};
use super::variation::{ASSET_ENVELOPE, JOB_ENVELOPE, JOB_PAGE};

const DEFAULT_PAGE_SIZE: usize = 10;
const MAX_PAGE_SIZE: usize = 100;

pub(crate) fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/v1/generate/custom/{model}", post(generate))
        .route("/v1/jobs", get(list_jobs))
        .route("/v1/jobs/{job_id}", get(get_job))
        .route("/v1/jobs/{job_id}/action", post(job_action))
        .route(
            "/v1/assets",
            post(create_asset).layer(DefaultBodyLimit::max(ASSET_BODY_LIMIT)),
        )
        .route("/v1/assets/{asset_id}", get(get_asset))
        .route("/v1/uploads", post(create_upload))
        .route("/v1/uploads/{upload_id}", get(get_upload))
        .route("/v1/uploads/{upload_id}/action", post(upload_action))
        .route("/v1/models/{model_id}", get(get_model))
        .route("/v1/teams/{team_id}/limits", get(team_limits))
        .route("/_sim/stats", get(stats))
        .fallback(not_found)
        .with_state(sim)
}

/// What the simulator has seen so far, for benchmark scripts (not part of the real API, so
/// outside /v1 and without auth: it holds no secrets).
async fn stats(State(sim): State<Arc<Sim>>) -> Response {
    let inner = sim.lock();
    let s = &inner.stats;
    Json(serde_json::json!({
        "generatePosts": s.generate_posts,
        "jobsCreated": s.jobs_created,
        "dryRuns": s.dry_runs,
        "getJob": s.get_job,
        "listJobs": s.list_jobs,
        "cancels": s.cancels,
        "getAsset": s.get_asset,
        "cdnRequests": s.cdn_requests,
        "cdnWithAuthorization": s.cdn_with_authorization,
        "assetUploads": s.asset_uploads,
        "uploadPosts": s.upload_posts,
        "uploadsCreated": s.uploads_created,
        "getUpload": s.get_upload,
        "uploadCompletes": s.upload_completes,
        "uploadPartsPut": s.upload_parts_put,
        "uploadPutWithAuthorization": s.upload_put_with_authorization,
        "getModel": s.get_model,
        "teamLimits": s.team_limits,
        "unauthorized": s.unauthorized,
        "requests": s.requests.len(),
        "uptimeSeconds": sim.now().saturating_duration_since(sim.started).as_secs_f64(),
    }))
    .into_response()
}

async fn not_found(State(sim): State<Arc<Sim>>) -> Response {
    sim.lock().error(StatusCode::NOT_FOUND, "Not found")
}

async fn get_job(
    State(sim): State<Arc<Sim>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(answer) = gate(&sim, Route::GetJob, &headers, &query_map(raw)).await {
        return answer;
    }
    let mut inner = sim.lock();
    let now = sim.now();
    let job = path
        .ok()
        .and_then(|Path(id)| inner.jobs.get(&id).map(|job| job.render(&sim, now)));
    match job {
        Some(job) => sim.reply(&JOB_ENVELOPE, json!({ "job": job })),
        None => inner.error(StatusCode::NOT_FOUND, "Job not found"),
    }
}

async fn list_jobs(
    State(sim): State<Arc<Sim>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query_map(raw);
    if let Err(answer) = gate(&sim, Route::ListJobs, &headers, &query).await {
        return answer;
    }
    let mut inner = sim.lock();
    let size = match query.get("pageSize").map(|s| s.trim().parse::<usize>()) {
        None => DEFAULT_PAGE_SIZE,
        Some(Ok(n)) if n >= 1 => n.min(MAX_PAGE_SIZE),
        Some(_) => {
            let reason = format!("pageSize must be a whole number from 1 to {MAX_PAGE_SIZE}");
            return inner.error(StatusCode::BAD_REQUEST, &reason);
        }
    };
    let before = match query.get("paginationToken").filter(|t| !t.is_empty()) {
        None => None,
        Some(token) => match decode_token(token) {
            Some(seq) => Some(seq),
            None => return inner.error(StatusCode::BAD_REQUEST, "Invalid paginationToken"),
        },
    };
    let status = query
        .get("status")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    let after = match query.get("createdAfter").filter(|t| !t.is_empty()) {
        None => None,
        // As the service documents it: not together with a status filter.
        Some(_) if status.is_some() => {
            let reason = "createdAfter cannot be combined with status";
            return inner.error(StatusCode::BAD_REQUEST, reason);
        }
        Some(text) => match text.parse::<jiff::Timestamp>() {
            Ok(at) => {
                inner.stats.last_created_after = Some(text.clone());
                Some(at)
            }
            Err(_) => {
                let reason = "createdAfter must be an ISO 8601 date";
                return inner.error(StatusCode::BAD_REQUEST, reason);
            }
        },
    };
    if sim.config.endless_listing {
        let page = before.unwrap_or(0) + 1;
        let jobs: Vec<Value> = (0..size).map(|i| endless_job(page, i)).collect();
        let body = json!({ "jobs": jobs, "nextPaginationToken": encode_token(page) });
        return sim.reply(&JOB_PAGE, body);
    }
    let filter = PageFilter { status, after };
    let (jobs, next) = inner.jobs.page(before, size, &filter, &sim, sim.now());
    let mut page = json!({ "jobs": jobs });
    if let Some(next) = next {
        page["nextPaginationToken"] = encode_token(next).into();
    }
    sim.reply(&JOB_PAGE, page)
}

/// A job made up for an endless listing: the `i`-th of page `page`, each with its own id.
fn endless_job(page: u64, i: usize) -> Value {
    json!({
        "jobId": format!("job_endless_{page}_{i}"),
        "jobType": "custom",
        "status": "success",
        "progress": 1,
        "createdAt": "2026-11-01T00:00:00.000Z",
        "updatedAt": "2026-11-01T00:02:00.000Z",
        "statusHistory": [],
        "authorId": "user_sim",
        "ownerId": "team_sim",
        "metadata": {
            "assetIds": [format!("asset_endless_{page}_{i}")],
            "input": {"modelId": kling::MODEL_ID, "prompt": "one more of many"},
        },
    })
}

async fn job_action(
    State(sim): State<Arc<Sim>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(answer) = gate(&sim, Route::CancelJob, &headers, &query_map(raw)).await {
        return answer;
    }
    let mut inner = sim.lock();
    let known = path.is_ok_and(|Path(id)| inner.jobs.get(&id).is_some());
    if !known {
        return inner.error(StatusCode::NOT_FOUND, "Job not found");
    }
    let action = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("action")?.as_str().map(str::to_owned));
    // Like the real service, video generation jobs cannot be canceled once launched.
    let reason = match action.as_deref() {
        Some("cancel") => "Cannot cancel this type of job. Action not permitted.",
        Some(_) => "Unknown action",
        None => "The body must be {\"action\": \"cancel\"}",
    };
    inner.error(StatusCode::BAD_REQUEST, reason)
}

async fn get_asset(
    State(sim): State<Arc<Sim>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(answer) = gate(&sim, Route::GetAsset, &headers, &query_map(raw)).await {
        return answer;
    }
    let mut inner = sim.lock();
    let Ok(Path(id)) = path else {
        return inner.error(StatusCode::NOT_FOUND, "Asset not found");
    };
    let now = sim.now();
    if let Some(asset) = inner.uploads.asset(&id, now) {
        let url = sim.signed_file_url(&inner, &id, sniff::extension(&asset.mime_type));
        return sim.reply(&ASSET_ENVELOPE, json!({ "asset": asset.render(url) }));
    }
    if let Some(still) = assets::still(&sim, &inner, &id, now) {
        return sim.reply(&ASSET_ENVELOPE, json!({ "asset": still }));
    }
    let found = inner
        .jobs
        .finished_asset(&id, sim.video_count(), now, sim.time_scale)
        .map(|(job, take)| (job.clone(), take));
    let Some((job, take)) = found else {
        return inner.error(StatusCode::NOT_FOUND, "Asset not found");
    };
    let with_size = !inner.faults.asset_without_size();
    let pictures = inner.faults.asset_pictures();
    let asset = assets::video(&sim, &inner, &job, take, &id, with_size, pictures);
    sim.reply(&ASSET_ENVELOPE, json!({ "asset": asset }))
}
