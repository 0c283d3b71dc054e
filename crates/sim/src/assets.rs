//! Assets as `GET /assets/{id}` shows them, with every field the official SDK requires: a
//! finished job's videos, and the pictures each video has (`thumbnail`, `firstFrame`,
//! `lastFrame`, `preview`), which are image assets of their own.

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::faults::Pictures;
use super::jobs::SimJob;
use super::picture::{self, Still};
use super::state::{AUTHOR_ID, Inner, OWNER_ID, Sim, iso};
use super::video::FRAME_RATE;
use kling::MODEL_ID;

/// What can be done with an image asset in the web app.
const IMAGE_EDITS: [&str; 7] = [
    "DETECTION",
    "GENERATIVE_FILL",
    "PIXELATE",
    "REFRAME",
    "REMOVE_BACKGROUND",
    "SEGMENTATION",
    "UPSCALE",
];

/// The fields every asset has, around its own: who made and owns it, where it is listed,
/// who may see it, and when.
pub(crate) struct Common<'a> {
    pub id: &'a str,
    pub url: String,
    /// `image` or `video`.
    pub kind: &'a str,
    pub mime_type: &'a str,
    /// How it came to be: `uploaded`, `txt2video`, `video2img`, ...
    pub source: &'a str,
    pub created_at: Timestamp,
    pub metadata: Map<String, Value>,
    pub properties: Map<String, Value>,
}

impl Common<'_> {
    pub(crate) fn render(self) -> Value {
        let mut metadata = Map::new();
        metadata.insert("kind".into(), self.kind.into());
        metadata.insert("type".into(), self.source.into());
        metadata.extend(self.metadata);
        let edits: Vec<&str> = if self.kind == "image" {
            IMAGE_EDITS.to_vec()
        } else {
            Vec::new()
        };
        let at = iso(self.created_at);
        json!({
            "id": self.id,
            "url": self.url,
            "mimeType": self.mime_type,
            "kind": self.kind,
            "status": "success",
            "source": self.source,
            "authorId": AUTHOR_ID,
            "ownerId": OWNER_ID,
            "privacy": "private",
            "collectionIds": [],
            "tags": [],
            "editCapabilities": edits,
            "createdAt": at,
            "updatedAt": at,
            "metadata": metadata,
            "properties": self.properties,
        })
    }
}

/// The `take`th video (from 0) of the finished `job`, as the asset `id`. `with_size` false
/// leaves out its byte size (a fault); `pictures` says which stills it names.
pub(crate) fn video(
    sim: &Sim,
    inner: &Inner,
    job: &SimJob,
    take: usize,
    id: &str,
    with_size: bool,
    pictures: Pictures,
) -> Value {
    let file = sim.video_file(take);
    let (width, height, duration) = sim.video.shape(job.requested_shape());
    let size = file.len();
    let source = job.generation_type();

    let mut metadata = Map::new();
    let model = job.input.get("modelId").and_then(Value::as_str);
    metadata.insert("modelId".into(), model.unwrap_or(MODEL_ID).into());
    for field in ["prompt", "mode", "aspectRatio"] {
        if let Some(value) = job.input.get(field).filter(|v| v.is_string()) {
            metadata.insert(field.into(), value.clone());
        }
    }
    metadata.insert("width".into(), width.into());
    metadata.insert("height".into(), height.into());
    metadata.insert("parentJobId".into(), job.id.clone().into());
    metadata.insert("outputIndex".into(), take.into());
    if with_size {
        // A generation parameter in the SDK's words, not the byte size; usually the same.
        let stated = sim.config.asset_metadata_size.unwrap_or(size);
        metadata.insert("size".into(), stated.into());
    }

    let mut properties = Map::new();
    if with_size {
        properties.insert("size".into(), size.into());
        let bitrate = (size as f64 * 8.0 / duration.max(0.001)).round() as u64;
        properties.insert("bitrate".into(), bitrate.into());
    }
    properties.insert("width".into(), width.into());
    properties.insert("height".into(), height.into());
    properties.insert("duration".into(), duration.into());
    properties.insert("frameRate".into(), FRAME_RATE.into());
    let frames = (duration * FRAME_RATE as f64).round() as u64;
    properties.insert("nbFrames".into(), frames.into());
    properties.insert("codecName".into(), "h264".into());

    let url = sim.signed_file_url(inner, id, file.extension());
    let mut asset = Common {
        id,
        url,
        kind: "video",
        mime_type: file.mime(),
        source,
        created_at: job.finished_at(sim.time_scale),
        metadata,
        properties,
    }
    .render();
    if let Some(fields) = asset.as_object_mut() {
        fields.insert("outputIndex".into(), take.into());
        for still in Still::ALL {
            let shown = match pictures {
                Pictures::All => true,
                Pictures::NoThumbnail => still != Still::Thumbnail,
                Pictures::None => false,
            };
            if shown {
                let still_id = format!("{id}{}", still.suffix());
                let url = sim.signed_file_url(inner, &still_id, "png");
                fields.insert(
                    still.field().into(),
                    json!({"assetId": still_id, "url": url}),
                );
            }
        }
    }
    asset
}

/// A finished video's still, looked up as an asset of its own.
pub(crate) fn still(sim: &Sim, inner: &Inner, id: &str, now: Instant) -> Option<Value> {
    let (video, _) = Still::split(id)?;
    let (job, _) = inner
        .jobs
        .finished_asset(video, sim.video_count(), now, sim.time_scale)?;
    let size = picture::png_len();
    let (width, height) = (u64::from(picture::WIDTH), u64::from(picture::HEIGHT));
    let mut metadata = Map::new();
    metadata.insert("width".into(), width.into());
    metadata.insert("height".into(), height.into());
    metadata.insert("size".into(), size.into());
    metadata.insert("parentId".into(), video.into());
    metadata.insert("rootParentId".into(), video.into());
    metadata.insert("parentJobId".into(), job.id.clone().into());
    let mut properties = Map::new();
    properties.insert("size".into(), size.into());
    properties.insert("width".into(), width.into());
    properties.insert("height".into(), height.into());
    properties.insert("format".into(), "png".into());
    Some(
        Common {
            id,
            url: sim.signed_file_url(inner, id, "png"),
            kind: "image",
            mime_type: "image/png",
            source: "video2img",
            created_at: job.finished_at(sim.time_scale),
            metadata,
            properties,
        }
        .render(),
    )
}

/// Why `id` cannot be the image a generate request names in `field`, if it cannot: the real
/// API takes only its own assets there, an image this account uploaded or a still of one of
/// its finished videos (a `lastFrame` carries a shot on). A video is not an image.
pub(crate) fn image_problem(
    sim: &Sim,
    inner: &Inner,
    field: &str,
    id: &str,
    now: Instant,
) -> Option<String> {
    if let Some(asset) = inner.uploads.asset(id, now) {
        return (asset.kind != "image")
            .then(|| format!("{field}: asset {id} is a {}, not an image", asset.kind));
    }
    let still = Still::split(id).is_some_and(|(video, _)| {
        inner
            .jobs
            .finished_asset(video, sim.video_count(), now, sim.time_scale)
            .is_some()
    });
    (!still).then(|| format!("{field}: asset {id} not found"))
}
