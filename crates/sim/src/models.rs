//! `GET /v1/models/{modelId}` for Kling V3 Omni (its inputs, with the rules the generate route
//! enforces, and performance stats), and `GET /v1/teams/{teamId}/limits`, in the official
//! SDK's shapes.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan, Zoned};
use serde_json::{Value, json};

use super::cost::{AUDIO_PER_SECOND, HDR_PER_SECOND, per_second};
use super::gate::{gate, query_map};
use super::lifecycle::{self, Status};
use super::state::{Sim, iso};
use super::variation::{MODEL_ENVELOPE, TEAM_LIMITS};
use super::{ModelSchema, Route};
use kling::{MAX_PROMPT_CHARS, MODEL_ID, Mode};

/// The mode [`ModelSchema::Extended`] adds.
pub(crate) const HDR_MODE: &str = "4k-hdr";
/// The longest video [`ModelSchema::Extended`] allows: a rule the built-in table lacks.
pub(crate) const EXTENDED_MAX_DURATION: u32 = 10;
/// The shortest video [`ModelSchema::Extended`] allows: a value the built-in table refuses.
pub(crate) const EXTENDED_MIN_DURATION: u32 = 2;

// The rules of src/kling/validate.rs and the defaults of src/kling/request.rs, as the model
// states them.
const MIN_DURATION: u32 = 3;
const MAX_DURATION: u32 = 15;
const DEFAULT_DURATION: u32 = 5;
const MAX_REFERENCE_IMAGES: u32 = 7;
const MAX_IMAGE_BYTES: u64 = 10_000_000;
const MAX_VIDEO_BYTES: u64 = 200_000_000;
const MIN_REFERENCE_VIDEO_SECONDS: u32 = 3;
const MAX_REFERENCE_VIDEO_SECONDS: u32 = 10;
const MAX_SHOTS: u32 = 6;

/// When the model was published and last changed, as the catalogue says.
const PUBLISHED: &str = "2026-02-05T09:00:00.000Z";
const CHANGED: &str = "2026-11-18T14:30:00.000Z";

pub(crate) async fn get_model(
    State(sim): State<Arc<Sim>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(answer) = gate(&sim, Route::GetModel, &headers, &query_map(raw)).await {
        return answer;
    }
    let known = path.is_ok_and(|Path(id)| id == MODEL_ID);
    if !known || sim.config.model_schema == ModelSchema::Missing {
        return sim.lock().error(StatusCode::NOT_FOUND, "Model not found");
    }
    let extended = sim.config.model_schema == ModelSchema::Extended;
    sim.reply(
        &MODEL_ENVELOPE,
        json!({ "model": model(extended, sim.time_scale) }),
    )
}

/// The rules the generate route enforces: exactly those the model description states.
pub(crate) fn rules(extended: bool) -> kling::Rules {
    kling::Rules::from_model(&model(extended, 1.0))
}

/// Kling V3 Omni as the models endpoint describes it.
fn model(extended: bool, time_scale: f64) -> Value {
    json!({
        "id": MODEL_ID,
        "name": "Kling V3 Omni",
        "shortDescription": "Video from text, images and a reference video, with native audio, up to 4K.",
        "type": "custom",
        "source": "other",
        "status": "trained",
        "privacy": "public",
        "custom": false,
        "capabilities": ["txt2video", "img2video", "video2video"],
        "collectionIds": [],
        "exampleAssetIds": [],
        "tags": ["video", "kling"],
        "trainingImagesNumber": 0,
        "createdAt": PUBLISHED,
        "updatedAt": CHANGED,
        "inputs": inputs(extended),
        "performanceStats": performance(extended, time_scale),
    })
}

fn modes(extended: bool) -> Vec<&'static str> {
    let mut modes: Vec<&str> = Mode::ALL.iter().map(|m| m.as_str()).collect();
    if extended {
        modes.push(HDR_MODE);
    }
    modes
}

fn inputs(extended: bool) -> Value {
    let max_duration = if extended {
        EXTENDED_MAX_DURATION
    } else {
        MAX_DURATION
    };
    json!([
        {
            "name": "prompt",
            "type": "string",
            "label": "Prompt",
            "description": "What happens in the video. <<<image_N>>> names referenceImages[N-1], <<<video_1>>> the reference video.",
            "minLength": 1,
            "maxLength": MAX_PROMPT_CHARS,
            "prompt": true,
            "required": {"always": true},
        },
        {
            "name": "startImage",
            "type": "file",
            "kind": "image",
            "label": "Start image",
            "description": "The first frame: at least 300 px, aspect between 1:2.5 and 2.5:1.",
            "maxSize": MAX_IMAGE_BYTES,
            "required": {"ifDefined": "endImage"},
        },
        {
            "name": "endImage",
            "type": "file",
            "kind": "image",
            "label": "End image",
            "description": "The last frame; needs a startImage.",
            "maxSize": MAX_IMAGE_BYTES,
        },
        {
            "name": "referenceImages",
            "type": "file_array",
            "kind": "image",
            "label": "Reference images",
            "description": "Elements, scenes and styles: at most 7, at most 4 with a referenceVideo. Always an array.",
            "max": MAX_REFERENCE_IMAGES,
            "maxSize": MAX_IMAGE_BYTES,
        },
        {
            "name": "referenceVideo",
            "type": "file",
            "kind": "video",
            "label": "Reference video",
            "description": "3 to 10 s, mp4 or mov; not with mode 4k, not with generateAudio.",
            "maxSize": MAX_VIDEO_BYTES,
            "minDuration": MIN_REFERENCE_VIDEO_SECONDS,
            "maxDuration": MAX_REFERENCE_VIDEO_SECONDS,
            "required": {
                "conditional": {
                    "values": {"videoReferenceType": ["feature", "base"]},
                    "operator": "or",
                },
            },
        },
        {
            "name": "videoReferenceType",
            "type": "string",
            "label": "Reference video use",
            "description": "feature: a style and camera reference; base: the video to edit. Needs a referenceVideo.",
            "allowedValues": ["feature", "base"],
        },
        {
            "name": "keepOriginalSound",
            "type": "boolean",
            "label": "Keep the original sound",
            "description": "Needs a referenceVideo.",
        },
        {
            "name": "generateAudio",
            "type": "boolean",
            "label": "Generate audio",
            "description": "Native audio; not with a referenceVideo.",
            "default": false,
            "costImpact": true,
        },
        {
            "name": "mode",
            "type": "string",
            "label": "Mode",
            "description": "standard: 720p, pro: 1080p, 4k: 2160p.",
            "allowedValues": modes(extended),
            "default": Mode::Pro.as_str(),
            "costImpact": true,
        },
        {
            "name": "aspectRatio",
            "type": "string",
            "label": "Aspect ratio",
            "description": "Required without a startImage or a base referenceVideo.",
            "allowedValues": ["16:9", "9:16", "1:1"],
            "default": "16:9",
            "required": {"ifNotDefined": "startImage"},
        },
        {
            "name": "duration",
            "type": "number",
            "label": "Duration",
            "description": "Seconds of video.",
            "min": if extended { EXTENDED_MIN_DURATION } else { MIN_DURATION },
            "max": max_duration,
            "step": 1,
            "default": DEFAULT_DURATION,
            "costImpact": true,
        },
        {
            "name": "multiPrompt",
            "type": "string",
            "label": "Shots",
            "description": "A JSON array (sent as a string) of 1 to 6 shots {prompt, duration}: each at least 1 s, adding up to duration.",
            "max": MAX_SHOTS,
        },
    ])
}

/// Cost and latency per mode. Every simulated job takes the same time, so the percentiles
/// agree; they are real seconds at the simulator's time scale.
fn performance(extended: bool, time_scale: f64) -> Value {
    let max_duration = if extended {
        EXTENDED_MAX_DURATION
    } else {
        MAX_DURATION
    };
    let total = lifecycle::success_at() / time_scale;
    // Pending and queued are queue time; the rest is the model at work.
    let inference = (lifecycle::success_at() - 13.0) / time_scale;
    let variants: Vec<Value> = modes(extended)
        .into_iter()
        .map(|mode| {
            let (rate, resolution) = match mode {
                "standard" => (per_second(Mode::Standard), "720p"),
                "pro" => (per_second(Mode::Pro), "1080p"),
                "4k" => (per_second(Mode::FourK), "2160p"),
                _ => (HDR_PER_SECOND, "2160p"),
            };
            json!({
                "variantKey": mode,
                "capability": "txt2video",
                "resolution": resolution,
                "computedAt": CHANGED,
                "costPerAssetMinCU": rate * u64::from(MIN_DURATION),
                "costPerAssetP50CU": rate * u64::from(DEFAULT_DURATION),
                "costPerAssetMaxCU": (rate + AUDIO_PER_SECOND) * u64::from(max_duration),
                "inferenceLatencyP50Sec": inference,
                "inferenceLatencyP75Sec": inference,
                "totalLatencyP50Sec": total,
                "totalLatencyP75Sec": total,
            })
        })
        .collect();
    json!({ "default": Mode::Pro.as_str(), "variants": variants })
}

pub(crate) async fn team_limits(
    State(sim): State<Arc<Sim>>,
    _path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(answer) = gate(&sim, Route::TeamLimits, &headers, &query_map(raw)).await {
        return answer;
    }
    let now = Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC);
    let start = now.date().first_of_month();
    let end = start.checked_add(1.month()).unwrap_or(start);
    let midnight = |date: Date| {
        date.to_zoned(jiff::tz::TimeZone::UTC)
            .map_or_else(|_| Timestamp::now(), |z| z.timestamp())
    };
    let (period_start, period_end) = (midnight(start), midnight(end));
    // Spent this period: every job not refunded.
    let spent: u64 = {
        let inner = sim.lock();
        let instant = sim.now();
        inner
            .jobs
            .all()
            .iter()
            .filter(|job| job.created_at >= period_start)
            .filter(|job| job.snapshot(instant, sim.time_scale).status != Status::Failure)
            .map(|job| job.cost)
            .sum()
    };
    let lot_bought = period_start;
    let lot_expires = midnight(start.checked_add(1.year()).unwrap_or(start));
    let body = json!({
        "plan": "pro",
        "period": {"start": iso(period_start), "end": iso(period_end)},
        "limits": {
            "apiKeys": 10,
            "canvasAssetLayers": 50,
            "canvasAssets": 1000,
            "collections": 1000,
            "creativeUnits": 15000,
            "defaultSeats": 1,
            "downloadAssets": 1000,
            "downloadModel": 10,
            "inferenceBatchSize": 16,
            "maxCooldown": 30,
            "maxTrainingDatasets": 50,
            "minCooldown": 0,
            "models": 100,
            "OTPSessions": 5,
            "parallelCustomJobs": sim.config.concurrency_limit,
            "parallelInferences": 10,
            "parallelTraining": 2,
            "parallelWorkflowRuns": 5,
            "premiumGenerationSamples": 100,
            "projects": 20,
            "scalingFactor": 1,
            "seats": 5,
            "snapshotsRetention": 30,
            "upload": 1000,
        },
        "values": {
            "apiKeys": 1,
            "canvasAssets": 0,
            "collections": 0,
            "creativeUnits": spent,
            "projects": 1,
            "seats": 1,
        },
        "oneShotCreativeUnits": [{
            "amount": 5000,
            "remaining": 5000,
            "createdAt": iso(lot_bought),
            "updatedAt": iso(lot_bought),
            "expiration": iso(lot_expires),
        }],
    });
    sim.reply(&TEAM_LIMITS, body)
}
