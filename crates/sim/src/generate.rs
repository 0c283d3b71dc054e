//! `POST /v1/generate/custom/{model}`: dry runs, validation, the concurrency ceiling, job
//! creation, and the faults that hit a generate after its job exists.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::{Value, json};

use super::assets::image_problem;
use super::cost::{cost_details, cost_with};
use super::faults::AfterCreate;
use super::gate::{gate, query_map};
use super::models::HDR_MODE;
use super::state::{Inner, Sim};
use super::variation::{DRY_RUN, GENERATE};
use super::video::break_after;
use super::{ModelSchema, Route};
use kling::{KlingRequest, MODEL_ID};

/// The status the live API gives a dry run.
const DRY_RUN_STATUS: u16 = 269;

pub(crate) async fn generate(
    State(sim): State<Arc<Sim>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = query_map(raw);
    let dry_run = query
        .get("dryRun")
        .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let route = route_of(dry_run);
    if let Err(answer) = gate(&sim, route, &headers, &query).await {
        return answer;
    }
    // The lock is taken and let go in `answer`: nothing here holds it across a wait.
    let (response, delay) = answer(&sim, path, dry_run, &body);
    if let Some(millis) = delay {
        tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
    }
    response
}

fn route_of(dry_run: bool) -> Route {
    if dry_run {
        Route::DryRun
    } else {
        Route::Generate
    }
}

/// The answer to a generate request, and how long to hold it back.
fn answer(
    sim: &Arc<Sim>,
    path: Result<Path<String>, PathRejection>,
    dry_run: bool,
    body: &Bytes,
) -> (Response, Option<u64>) {
    let now = |r: Response| (r, None);
    let mut inner = sim.lock();
    if !path.is_ok_and(|Path(model)| model == MODEL_ID) {
        return now(inner.error(StatusCode::NOT_FOUND, "Model not found"));
    }
    let raw_body: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            let reason = format!("Invalid JSON body: {e}");
            return now(inner.error(StatusCode::BAD_REQUEST, &reason));
        }
    };
    inner.stats.last_generate_body = Some(raw_body.clone());
    inner
        .stats
        .generate_bodies
        .push((route_of(dry_run), raw_body.clone()));
    let extended = sim.config.model_schema == ModelSchema::Extended;
    let (request, input, hdr) = match read_request(raw_body, extended) {
        Ok(read) => read,
        Err(reason) => return now(inner.error(StatusCode::BAD_REQUEST, &reason)),
    };
    // The rules the model endpoint describes, no more and no fewer.
    let problems: Vec<String> = request
        .validate_with(&super::models::rules(extended))
        .iter()
        .map(ToString::to_string)
        .collect();
    if !problems.is_empty() {
        return now(inner.error(StatusCode::BAD_REQUEST, &problems.join("; ")));
    }
    // The frames must be assets of this account, as the real API checks (a dry run too).
    let frames = [
        ("startImage", request.start_image.as_ref()),
        ("endImage", request.end_image.as_ref()),
    ];
    let at = sim.now();
    let frame_problems: Vec<String> = frames
        .into_iter()
        .filter_map(|(field, id)| image_problem(sim, &inner, field, id?.as_str(), at))
        .collect();
    if !frame_problems.is_empty() {
        return now(inner.error(StatusCode::BAD_REQUEST, &frame_problems.join("; ")));
    }
    let cost = cost_with(&request, hdr);
    if dry_run {
        let status = StatusCode::from_u16(DRY_RUN_STATUS).unwrap_or(StatusCode::OK);
        let answer = json!({
            "creativeUnitsCost": cost,
            "creativeUnitsDiscount": 0,
            "costDetails": cost_details(cost),
        });
        return now(sim.reply_status(status, &DRY_RUN, answer));
    }

    let limit = sim.config.concurrency_limit;
    if let Some(seconds) = inner.faults.generate_429() {
        return now(too_many(&mut inner, limit, seconds));
    }
    let (active, soonest) = inner.jobs.active(sim.now(), sim.time_scale);
    if active >= limit {
        let seconds = if soonest.is_finite() {
            soonest.ceil() as u64
        } else {
            0
        };
        return now(too_many(&mut inner, limit, seconds));
    }
    let job = sim
        .create_job(&mut inner, request, input, cost)
        .render(sim, sim.now());
    let mut body = json!({
        "job": job,
        "creativeUnitsCost": cost,
        "creativeUnitsDiscount": 0,
        "costDetails": cost_details(cost),
    });
    if sim.config.billing_extras {
        body["ipDetection"] = json!({
            "action": "allowed",
            "analyzedImagesCount": 0,
            "creativeUnitsCharged": super::config::BILLED_IP_DETECTION,
            "evaluatedFilters": 1,
            "findings": [],
            "flagged": false,
        });
    }
    let answer = sim.written(&GENERATE, body);
    match inner.faults.after_create() {
        None => now(Json(answer).into_response()),
        Some(AfterCreate::Status(status)) => now(inner.error_code(status)),
        Some(AfterCreate::Reset) => {
            drop(inner);
            now(reset_mid_answer(&answer))
        }
        Some(AfterCreate::Delay(millis)) => (Json(answer).into_response(), Some(millis)),
    }
}

/// The body as the real server reads it: a JSON object whose bare-string `referenceImages`
/// is silently dropped, then typed. Returns the request, the input to store on the job, and
/// whether its mode is `4k-hdr` (which only the `extended` model has; typed as `4k`).
fn read_request(mut body: Value, extended: bool) -> Result<(KlingRequest, Value, bool), String> {
    let Some(fields) = body.as_object_mut() else {
        return Err("The request body must be a JSON object".to_string());
    };
    if fields.get("referenceImages").is_some_and(Value::is_string) {
        fields.remove("referenceImages");
    }
    let hdr = extended && fields.get("mode").and_then(Value::as_str) == Some(HDR_MODE);
    let mut typed = body.clone();
    if hdr {
        typed["mode"] = "4k".into();
    }
    match serde_path_to_error::deserialize::<_, KlingRequest>(&typed) {
        Ok(request) => Ok((request, body, hdr)),
        Err(e) => {
            let field = e.path().to_string();
            let message = e.inner().to_string();
            // The root path is "."; a message that already names its field needs no prefix.
            if field == "." || message.starts_with(&field) {
                Err(message)
            } else {
                Err(format!("{field}: {message}"))
            }
        }
    }
}

/// 429 on the team's concurrency ceiling, with the details clients read.
fn too_many(inner: &mut Inner, limit: usize, remaining_seconds: u64) -> Response {
    let body = json!({
        "reason": format!("Too many concurrent generate actions: the limit is {limit}"),
        "trace_id": inner.trace_id(),
        "details": {"actionName": "generate", "actionLimit": limit},
        "remainingSeconds": remaining_seconds,
    });
    inner.error_body(StatusCode::TOO_MANY_REQUESTS, body)
}

/// A 200 whose body stops half-way and whose connection then breaks: the job exists, but
/// the client cannot know it.
fn reset_mid_answer(answer: &Value) -> Response {
    let body = Bytes::from(serde_json::to_vec(answer).unwrap_or_default());
    let half = body.slice(..body.len() / 2);
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (CONTENT_LENGTH, HeaderValue::from(body.len())),
    ];
    let stream = break_after(stream::iter([Ok(half)]));
    (StatusCode::OK, headers, Body::from_stream(stream)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_string_reference_image_is_dropped() {
        let (request, input, _) = read_request(
            json!({
                "prompt": "x", "aspectRatio": "16:9", "referenceImages": "asset_1"
            }),
            false,
        )
        .unwrap();
        assert!(request.reference_images.is_empty());
        assert!(input.get("referenceImages").is_none());
    }

    #[test]
    fn type_errors_name_their_field() {
        let read = |body| read_request(body, false);
        let reason = read(json!({"prompt": "x", "duration": "five"})).unwrap_err();
        assert!(reason.starts_with("duration: "), "{reason}");
        let reason = read(json!({"mode": "pro"})).unwrap_err();
        assert!(reason.contains("prompt"), "{reason}");
        let reason = read(json!({"prompt": "x", "multiPrompt": "[1]"})).unwrap_err();
        assert!(
            reason.starts_with("multiPrompt: ") && !reason.contains("multiPrompt: multiPrompt")
        );
        assert!(read(json!([1])).is_err());
    }

    /// A generate POST to `sim`, answered: its status and its JSON body.
    async fn post(sim: &Arc<Sim>, body: Value, dry_run: bool) -> (StatusCode, Value) {
        let bytes = Bytes::from(body.to_string());
        let (response, _) = answer(sim, Ok(Path(MODEL_ID.to_string())), dry_run, &bytes);
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn frames_must_be_the_simulators_own_images() {
        let config = crate::SimConfig {
            seed_jobs: 1,
            ..crate::SimConfig::default()
        };
        let sim = Arc::new(Sim::new(config, "http://127.0.0.2:9/cdn".into()));
        let video = sim.lock().jobs.all()[0].asset_id.clone();
        let last_frame = format!(
            "{video}{}",
            super::super::picture::Still::LastFrame.suffix()
        );

        // A finished video's last frame carries a shot on, in a dry run and for real.
        let from = json!({"prompt": "on", "startImage": last_frame});
        for dry_run in [true, false] {
            let (status, body) = post(&sim, from.clone(), dry_run).await;
            assert!(status.is_success(), "{status} {body}");
        }
        let (status, _) = post(
            &sim,
            json!({"prompt": "on", "startImage": format!("{video}_frame"),
                   "endImage": last_frame}),
            false,
        )
        .await;
        assert!(status.is_success());
        let created = sim.lock().stats.jobs_created;

        // An id the simulator never gave out is refused, naming its field, and makes no job.
        for (body, field) in [
            (
                json!({"prompt": "on", "startImage": "asset_made_up"}),
                "startImage",
            ),
            (
                json!({"prompt": "on", "startImage": last_frame, "endImage": "asset_nope_last"}),
                "endImage",
            ),
            // The video itself is no image, and a still of a video that does not exist is none.
            (json!({"prompt": "on", "startImage": video}), "startImage"),
            (
                json!({"prompt": "on", "startImage": "asset_000000000000000000000000_last"}),
                "startImage",
            ),
        ] {
            for dry_run in [true, false] {
                let (status, answer) = post(&sim, body.clone(), dry_run).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
                let reason = answer["reason"].as_str().unwrap();
                assert!(reason.starts_with(&format!("{field}: ")), "{reason}");
                assert!(answer["trace_id"].is_string(), "{answer}");
            }
        }
        assert_eq!(sim.lock().stats.jobs_created, created);
        let plain = json!({"prompt": "no frames", "aspectRatio": "16:9"});
        let (status, _) = post(&sim, plain, false).await;
        assert!(status.is_success());
    }

    #[test]
    fn the_hdr_mode_exists_only_in_the_extended_model() {
        let body = json!({"prompt": "x", "aspectRatio": "16:9", "mode": "4k-hdr"});
        let reason = read_request(body.clone(), false).unwrap_err();
        assert!(reason.starts_with("mode: "), "{reason}");
        let (request, input, hdr) = read_request(body, true).unwrap();
        assert!(hdr);
        assert_eq!(request.mode, kling::Mode::FourK);
        assert_eq!(input["mode"], "4k-hdr");
    }
}
