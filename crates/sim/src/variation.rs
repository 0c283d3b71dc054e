//! Other ways to write the same answers, each still valid against the official SDK's schemas
//! (see [`super::Variation`]): optional fields left out or null, unknown fields, whole numbers
//! as floats, times with an offset. Clients must read them all alike.
//!
//! Leaving out or nulling "every optional field" needs to know which fields are required: the
//! [`Shape`]s below copy the `required` lists of the SDK's response models (scenario-sdk
//! 2.4.0, tests/fixtures/sdk-schemas/), for the objects the simulator writes. In those
//! schemas a field is nullable exactly when it is optional.

use jiff::Timestamp;
use jiff::tz::{self, TimeZone};
use serde_json::{Map, Number, Value, json};

use super::Variation;

/// Which fields of an object are required, which optional ones are kept all the same, and
/// the shapes of the objects inside it.
pub(crate) struct Shape {
    required: &'static [&'static str],
    /// Optional fields a client cannot work without: kept while they hold something (not
    /// null, not an empty list).
    keep: &'static [&'static str],
    children: &'static [(&'static str, Kid)],
}

/// An object's child: one object, or a list of them.
enum Kid {
    One(&'static Shape),
    Many(&'static Shape),
}

/// Every field is required: nothing to leave out.
const ALL: &[&str] = &["*"];

const fn shape(
    required: &'static [&'static str],
    keep: &'static [&'static str],
    children: &'static [(&'static str, Kid)],
) -> Shape {
    Shape {
        required,
        keep,
        children,
    }
}

static STATUS_CHANGE: Shape = shape(&["date", "status"], &[], &[]);
static BILLING: Shape = shape(&["cuCost", "cuDiscount"], &[], &[]);
static JOB_METADATA: Shape = shape(&[], &["assetIds"], &[]);
static JOB: Shape = shape(
    &[
        "createdAt",
        "jobId",
        "jobType",
        "metadata",
        "progress",
        "status",
        "statusHistory",
        "updatedAt",
    ],
    &[],
    &[
        ("metadata", Kid::One(&JOB_METADATA)),
        ("statusHistory", Kid::Many(&STATUS_CHANGE)),
        ("billing", Kid::One(&BILLING)),
    ],
);

/// `GET /jobs/{id}` (and a job action's answer).
pub(crate) static JOB_ENVELOPE: Shape = shape(&["job"], &[], &[("job", Kid::One(&JOB))]);
/// `POST /generate/custom/{model}`.
pub(crate) static GENERATE: Shape = shape(&["job"], &[], &[("job", Kid::One(&JOB))]);
/// The same POST with `dryRun=true`: the generate answer without its job.
pub(crate) static DRY_RUN: Shape = shape(&[], &["creativeUnitsCost"], &[]);
/// `GET /jobs`: the SDK types the items (`JobListResponse` is one job); the page around them
/// is its paginator's.
pub(crate) static JOB_PAGE: Shape = shape(
    &["jobs"],
    &["nextPaginationToken"],
    &[("jobs", Kid::Many(&JOB))],
);

static PICTURE: Shape = shape(&["assetId", "url"], &[], &[]);
static ASSET_METADATA: Shape = shape(&["kind", "type"], &[], &[]);
static ASSET_PROPERTIES: Shape = shape(&["size"], &[], &[]);
static ASSET: Shape = shape(
    &[
        "id",
        "authorId",
        "collectionIds",
        "createdAt",
        "editCapabilities",
        "kind",
        "metadata",
        "mimeType",
        "ownerId",
        "privacy",
        "properties",
        "source",
        "status",
        "tags",
        "updatedAt",
        "url",
    ],
    &[],
    &[
        ("metadata", Kid::One(&ASSET_METADATA)),
        ("properties", Kid::One(&ASSET_PROPERTIES)),
        ("thumbnail", Kid::One(&PICTURE)),
        ("firstFrame", Kid::One(&PICTURE)),
        ("lastFrame", Kid::One(&PICTURE)),
        ("preview", Kid::One(&PICTURE)),
    ],
);
/// `GET /assets/{id}` and `POST /assets`.
pub(crate) static ASSET_ENVELOPE: Shape = shape(
    &["asset"],
    &[],
    &[("asset", Kid::One(&ASSET)), ("job", Kid::One(&JOB))],
);

static UPLOAD_PART: Shape = shape(&["expires", "number", "url"], &[], &[]);
static UPLOAD: Shape = shape(
    &[
        "id",
        "authorId",
        "createdAt",
        "fileName",
        "kind",
        "ownerId",
        "source",
        "status",
        "updatedAt",
    ],
    &["entityId", "parts"],
    &[("parts", Kid::Many(&UPLOAD_PART))],
);
/// `POST /uploads`, `GET /uploads/{id}` and `POST /uploads/{id}/action`.
pub(crate) static UPLOAD_ENVELOPE: Shape =
    shape(&["upload"], &[], &[("upload", Kid::One(&UPLOAD))]);

static MODEL_INPUT: Shape = shape(&["name", "type"], &[], &[]);
static PERFORMANCE_VARIANT: Shape = shape(&["capability", "computedAt", "variantKey"], &[], &[]);
static PERFORMANCE: Shape = shape(
    &["variants"],
    &[],
    &[("variants", Kid::Many(&PERFORMANCE_VARIANT))],
);
static MODEL: Shape = shape(
    &[
        "id",
        "capabilities",
        "collectionIds",
        "createdAt",
        "custom",
        "exampleAssetIds",
        "privacy",
        "source",
        "status",
        "tags",
        "trainingImagesNumber",
        "type",
        "updatedAt",
    ],
    &["inputs"],
    &[
        ("inputs", Kid::Many(&MODEL_INPUT)),
        ("performanceStats", Kid::One(&PERFORMANCE)),
    ],
);
/// `GET /models/{id}`.
pub(crate) static MODEL_ENVELOPE: Shape = shape(&["model"], &[], &[("model", Kid::One(&MODEL))]);

static EVERYTHING: Shape = shape(ALL, &[], &[]);
/// `GET /teams/{id}/limits`: every field of it is required.
pub(crate) static TEAM_LIMITS: Shape = shape(
    &["limits", "oneShotCreativeUnits", "period", "plan", "values"],
    &[],
    &[
        ("limits", Kid::One(&EVERYTHING)),
        ("oneShotCreativeUnits", Kid::Many(&EVERYTHING)),
        ("period", Kid::One(&EVERYTHING)),
        ("values", Kid::One(&EVERYTHING)),
    ],
);

/// The field [`Variation::UnknownFields`] adds to every object.
pub(crate) const UNKNOWN_FIELD: &str = "simUnknownField";

/// Writes `body` as `variation` says. `shape` is what the SDK types the body as; `None` for
/// bodies it has no type for (errors), which only get the changes that need no schema.
pub(crate) fn apply(variation: Variation, shape: Option<&Shape>, body: &mut Value) {
    match variation {
        Variation::OptionalAbsent => {
            if let Some(shape) = shape {
                prune(body, shape, Pruning::Remove);
            }
        }
        Variation::NullableNull => {
            if let Some(shape) = shape {
                prune(body, shape, Pruning::Null);
            }
        }
        Variation::UnknownFields => add_unknown(body),
        Variation::FloatNumbers => floats(body),
        Variation::TimeOffsets => offsets(body),
        // Not ways of writing: they change what the simulator makes.
        Variation::SeveralAssets | Variation::Quicktime => {}
    }
}

#[derive(Clone, Copy)]
enum Pruning {
    Remove,
    Null,
}

/// Something a kept field must hold to be kept.
fn holds_something(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Array(items) => !items.is_empty(),
        _ => true,
    }
}

fn prune(value: &mut Value, shape: &Shape, how: Pruning) {
    let Some(fields) = value.as_object_mut() else {
        return;
    };
    let every = shape.required == ALL;
    let names: Vec<String> = fields.keys().cloned().collect();
    for name in names {
        let required = every || shape.required.contains(&name.as_str());
        let kept =
            shape.keep.contains(&name.as_str()) && fields.get(&name).is_some_and(holds_something);
        if required || kept {
            let kid = shape.children.iter().find(|(child, _)| *child == name);
            if let (Some((_, kid)), Some(child)) = (kid, fields.get_mut(&name)) {
                match kid {
                    Kid::One(inner) => prune(child, inner, how),
                    Kid::Many(inner) => {
                        for item in child.as_array_mut().into_iter().flatten() {
                            prune(item, inner, how);
                        }
                    }
                }
            }
        } else {
            match how {
                Pruning::Remove => {
                    fields.remove(&name);
                }
                Pruning::Null => {
                    fields.insert(name, Value::Null);
                }
            }
        }
    }
}

fn add_unknown(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.values_mut().for_each(add_unknown);
            fields.insert(UNKNOWN_FIELD.into(), unknown_value());
        }
        Value::Array(items) => items.iter_mut().for_each(add_unknown),
        _ => {}
    }
}

/// What the unknown field holds: a little of everything JSON has.
fn unknown_value() -> Value {
    let mut value = Map::new();
    value.insert("since".into(), "a later API version".into());
    value.insert("values".into(), json!([1, 2.5, "three", null, true, {}]));
    Value::Object(value)
}

fn floats(value: &mut Value) {
    match value {
        Value::Number(n) if !n.is_f64() => {
            if let Some(float) = n.as_f64().and_then(Number::from_f64) {
                *n = float;
            }
        }
        Value::Object(fields) => fields.values_mut().for_each(floats),
        Value::Array(items) => items.iter_mut().for_each(floats),
        _ => {}
    }
}

fn offsets(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let Some(shifted) = with_offset(text) {
                *text = shifted;
            }
        }
        Value::Object(fields) => fields.values_mut().for_each(offsets),
        Value::Array(items) => items.iter_mut().for_each(offsets),
        _ => {}
    }
}

/// An ISO 8601 time (`2026-12-02T16:04:05.123Z`) rewritten at `+02:00`, whole seconds; None
/// for any other text.
fn with_offset(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let looks_like_a_time = bytes.len() >= 20
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && bytes[10] == b'T';
    if !looks_like_a_time {
        return None;
    }
    let at: Timestamp = text.parse().ok()?;
    let zoned = at.to_zoned(TimeZone::fixed(tz::offset(2)));
    Some(zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Value {
        json!({"job": {
            "jobId": "job_1", "jobType": "custom", "status": "success", "progress": 1,
            "createdAt": "2026-12-02T16:04:05.678Z", "updatedAt": "2026-12-02T16:06:05.000Z",
            "statusHistory": [{"date": "2026-12-02T16:04:05.678Z", "status": "pending"}],
            "authorId": "user_1",
            "metadata": {"assetIds": ["asset_1"], "input": {"prompt": "x", "duration": 5}},
            "billing": {"cuCost": 75, "cuDiscount": 0, "cuCostDetails": {"quality-gate": 0}},
        }})
    }

    #[test]
    fn optional_fields_go_but_kept_ones_stay() {
        let mut body = job();
        apply(Variation::OptionalAbsent, Some(&JOB_ENVELOPE), &mut body);
        let job = &body["job"];
        assert!(job.get("authorId").is_none());
        assert!(job.get("billing").is_none());
        assert_eq!(job["metadata"], json!({"assetIds": ["asset_1"]}));
        assert_eq!(job["statusHistory"][0]["status"], "pending");

        let mut body = job_with_no_assets();
        apply(Variation::OptionalAbsent, Some(&JOB_ENVELOPE), &mut body);
        assert_eq!(body["job"]["metadata"], json!({}));
    }

    fn job_with_no_assets() -> Value {
        let mut body = job();
        body["job"]["metadata"]["assetIds"] = json!([]);
        body
    }

    #[test]
    fn optional_fields_turn_null() {
        let mut body = job();
        apply(Variation::NullableNull, Some(&JOB_ENVELOPE), &mut body);
        let job = &body["job"];
        assert_eq!(job["authorId"], Value::Null);
        assert_eq!(job["billing"], Value::Null);
        assert_eq!(job["metadata"]["input"], Value::Null);
        assert_eq!(job["metadata"]["assetIds"], json!(["asset_1"]));
        assert_eq!(job["progress"], 1);
    }

    #[test]
    fn inside_a_kept_object_only_its_own_optional_fields_go() {
        let mut body = json!({"asset": {
            "id": "a", "url": "u", "properties": {"size": 5, "width": 2},
            "metadata": {"kind": "image", "type": "uploaded", "size": 5},
        }});
        apply(Variation::OptionalAbsent, Some(&ASSET_ENVELOPE), &mut body);
        assert_eq!(body["asset"]["properties"], json!({"size": 5}));
        assert_eq!(
            body["asset"]["metadata"],
            json!({"kind": "image", "type": "uploaded"})
        );
        let mut body = json!({"limits": {"a": 1}, "plan": "pro", "extra": 2});
        apply(Variation::NullableNull, Some(&TEAM_LIMITS), &mut body);
        assert_eq!(
            body,
            json!({"limits": {"a": 1}, "plan": "pro", "extra": null})
        );
    }

    #[test]
    fn unknown_fields_at_every_level() {
        let mut body = job();
        apply(Variation::UnknownFields, None, &mut body);
        assert!(body[UNKNOWN_FIELD].is_object());
        assert!(body["job"]["statusHistory"][0][UNKNOWN_FIELD].is_object());
        assert!(body["job"]["metadata"]["input"][UNKNOWN_FIELD].is_object());
        assert!(body[UNKNOWN_FIELD].get(UNKNOWN_FIELD).is_none());
    }

    #[test]
    fn whole_numbers_become_floats() {
        let mut body = job();
        apply(Variation::FloatNumbers, None, &mut body);
        let text = body.to_string();
        assert!(text.contains("\"cuCost\":75.0"), "{text}");
        assert!(text.contains("\"duration\":5.0"), "{text}");
        assert!(text.contains("\"progress\":1.0"), "{text}");
    }

    #[test]
    fn times_move_to_plus_two_hours_in_whole_seconds() {
        let mut body = job();
        apply(Variation::TimeOffsets, None, &mut body);
        assert_eq!(body["job"]["createdAt"], "2026-12-02T18:04:05+02:00");
        assert_eq!(
            body["job"]["statusHistory"][0]["date"],
            "2026-12-02T18:04:05+02:00"
        );
        assert_eq!(body["job"]["jobId"], "job_1");
        assert_eq!(with_offset("2026-12-02 is a date"), None);
        let back: Timestamp = "2026-12-02T18:04:05+02:00".parse().unwrap();
        assert_eq!(back, "2026-12-02T16:04:05Z".parse().unwrap());
    }
}
