//! Uploaded media: assets made from a base64 image, and multipart uploads whose parts are
//! PUT to the CDN host, assembled on `complete`, then imported over a few simulated seconds.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::UploadDone;
use super::assets::Common;
use super::sniff::FileType;
use super::state::{AUTHOR_ID, OWNER_ID, iso};

/// Most parts one upload may have, as with S3.
pub(crate) const MAX_PARTS: u64 = 10_000;
/// Every part but the last must be at least this big, as with S3.
pub(crate) const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
pub(crate) const MAX_VIDEO_SIZE: u64 = 200_000_000;
pub(crate) const MAX_IMAGE_SIZE: u64 = 10_000_000;
/// `POST /assets` takes images strictly under this many decoded bytes.
pub(crate) const MAX_INLINE_IMAGE: u64 = 6_000_000;
/// Simulated seconds an upload spends validating, then validated, before it is imported.
const PHASE_SECONDS: f64 = 3.0;
/// What the import of a completed upload says when an `ImportFail` fault hits it.
pub(crate) const IMPORT_FAILED: &str = "The file could not be imported";

/// A file the simulator holds: from `POST /assets` or an imported upload.
#[derive(Debug, Clone)]
pub(crate) struct StoredAsset {
    pub id: String,
    pub name: Option<String>,
    /// `image` or `video`.
    pub kind: &'static str,
    pub mime_type: String,
    pub bytes: Bytes,
    pub dimensions: Option<(u64, u64)>,
    pub etag: String,
    pub created_at: Timestamp,
    pub created_wall: SystemTime,
    /// Neither the API nor the CDN knows the asset before this.
    pub available: Instant,
}

impl StoredAsset {
    /// The API's asset object; `url` is a signed CDN link.
    pub(crate) fn render(&self, url: String) -> Value {
        let size = self.bytes.len() as u64;
        let mut metadata = Map::new();
        let mut properties = Map::new();
        metadata.insert("size".into(), size.into());
        properties.insert("size".into(), size.into());
        if let Some((width, height)) = self.dimensions {
            for fields in [&mut metadata, &mut properties] {
                fields.insert("width".into(), width.into());
                fields.insert("height".into(), height.into());
            }
        }
        let mut asset = Common {
            id: &self.id,
            url,
            kind: self.kind,
            mime_type: &self.mime_type,
            source: if self.kind == "video" {
                "uploaded-video"
            } else {
                "uploaded"
            },
            created_at: self.created_at,
            metadata,
            properties,
        }
        .render();
        if let (Some(name), Some(fields)) = (&self.name, asset.as_object_mut()) {
            fields.insert("name".into(), name.clone().into());
        }
        asset
    }
}

/// A strong validator for stored content: its MD5, as S3 gives for a file in one piece.
pub(crate) fn etag_of(bytes: &[u8]) -> String {
    use md5::Digest;
    let digest = md5::Md5::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// What an upload was declared to be on creation.
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    pub file_name: String,
    pub content_type: String,
    /// `image` or `video`.
    pub kind: &'static str,
    pub parts: u32,
    pub file_size: u64,
}

/// A multipart upload.
#[derive(Debug)]
pub(crate) struct SimUpload {
    pub id: String,
    pub declared: Declared,
    pub created_at: Timestamp,
    /// Parts received so far, by number; a part PUT again replaces the earlier one.
    received: BTreeMap<u32, Bytes>,
    completion: Option<Completion>,
}

#[derive(Debug)]
struct Completion {
    at: Instant,
    at_wall: Timestamp,
    /// The new asset's id, or why the import failed.
    outcome: Result<String, String>,
}

/// Why `complete` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    AlreadyCompleted(&'static str),
    MissingParts(Vec<u32>),
    /// Part numbers and sizes of parts below the minimum that are not the last.
    SmallParts(Vec<(u32, u64)>),
}

impl Refusal {
    pub(crate) fn reason(&self) -> String {
        match self {
            Refusal::AlreadyCompleted(status) => {
                format!("The upload was already completed (status: {status})")
            }
            Refusal::MissingParts(numbers) => {
                let list = listed(numbers.iter().map(u32::to_string));
                format!("Cannot complete the upload: parts not uploaded: {list}")
            }
            Refusal::SmallParts(parts) => {
                let list = listed(
                    parts
                        .iter()
                        .map(|(number, size)| format!("part {number} is {size} bytes")),
                );
                format!(
                    "Cannot complete the upload: every part but the last must be at least 5 MiB ({MIN_PART_SIZE} bytes): {list}"
                )
            }
        }
    }
}

/// A comma-separated list that stops after a handful of items, saying how many it left out.
fn listed(items: impl ExactSizeIterator<Item = String>) -> String {
    const SHOWN: usize = 20;
    let total = items.len();
    let mut text: Vec<String> = items.take(SHOWN).collect();
    if total > SHOWN {
        text.push(format!("and {} more", total - SHOWN));
    }
    text.join(", ")
}

impl SimUpload {
    pub(crate) fn new(id: String, declared: Declared) -> Self {
        Self {
            id,
            declared,
            created_at: Timestamp::now(),
            received: BTreeMap::new(),
            completion: None,
        }
    }

    pub(crate) fn is_pending(&self) -> bool {
        self.completion.is_none()
    }

    /// Stores a part; the caller has checked the number against the signed link.
    pub(crate) fn put_part(&mut self, number: u32, bytes: Bytes) {
        self.received.insert(number, bytes);
    }

    /// Checks that every part is there and big enough, and hands over the assembled file.
    pub(crate) fn assemble(&mut self, now: Instant, time_scale: f64) -> Result<Bytes, Refusal> {
        if self.completion.is_some() {
            return Err(Refusal::AlreadyCompleted(
                self.status(now, time_scale, UploadDone::Imported).0,
            ));
        }
        let parts = self.declared.parts;
        let missing: Vec<u32> = (1..=parts)
            .filter(|n| !self.received.contains_key(n))
            .collect();
        if !missing.is_empty() {
            return Err(Refusal::MissingParts(missing));
        }
        let small: Vec<(u32, u64)> = self
            .received
            .iter()
            .filter(|(number, bytes)| **number < parts && (bytes.len() as u64) < MIN_PART_SIZE)
            .map(|(number, bytes)| (*number, bytes.len() as u64))
            .collect();
        if !small.is_empty() {
            return Err(Refusal::SmallParts(small));
        }
        let total: usize = self.received.values().map(Bytes::len).sum();
        let mut whole = Vec::with_capacity(total);
        for part in std::mem::take(&mut self.received).into_values() {
            whole.extend_from_slice(&part);
        }
        Ok(Bytes::from(whole))
    }

    /// Marks the upload completed with the import's eventual outcome.
    pub(crate) fn complete(&mut self, now: Instant, outcome: Result<String, String>) {
        self.completion = Some(Completion {
            at: now,
            at_wall: Timestamp::now(),
            outcome,
        });
    }

    /// The status at `now`, the simulated seconds after completion it began at, and whether
    /// the upload is done (its asset exists). `end` is the status a successful one ends at.
    fn status(&self, now: Instant, time_scale: f64, end: UploadDone) -> (&'static str, f64, bool) {
        let Some(done) = &self.completion else {
            return ("pending", 0.0, false);
        };
        let elapsed = now.saturating_duration_since(done.at).as_secs_f64() * time_scale;
        let first = match end {
            UploadDone::Complete => "complete",
            UploadDone::Imported | UploadDone::Validated => "validating",
        };
        if elapsed < PHASE_SECONDS {
            return (first, 0.0, false);
        }
        let (second, last) = match end {
            UploadDone::Imported => ("validated", "imported"),
            UploadDone::Validated => ("validated", "validated"),
            UploadDone::Complete => ("complete", "complete"),
        };
        match &done.outcome {
            Err(_) => ("failed", PHASE_SECONDS, false),
            Ok(_) if elapsed < 2.0 * PHASE_SECONDS => (second, PHASE_SECONDS, false),
            Ok(_) => (last, 2.0 * PHASE_SECONDS, true),
        }
    }

    /// The upload as `GET /uploads/{id}` shows it at `now`, `end` being the status a
    /// successful one ends at.
    pub(crate) fn render(&self, now: Instant, time_scale: f64, end: UploadDone) -> Value {
        let (status, since, finished) = self.status(now, time_scale, end);
        let d = &self.declared;
        let mut upload = json!({
            "id": self.id,
            "status": status,
            "fileName": d.file_name,
            "contentType": d.content_type,
            "kind": d.kind,
            "fileSize": d.file_size,
            "partsCount": d.parts,
            "source": "multipart",
            "authorId": AUTHOR_ID,
            "ownerId": OWNER_ID,
            "createdAt": iso(self.created_at),
        });
        let updated = match &self.completion {
            None => self.created_at,
            Some(done) => {
                let real =
                    SignedDuration::try_from_secs_f64(since / time_scale).unwrap_or_default();
                done.at_wall.checked_add(real).unwrap_or(done.at_wall)
            }
        };
        let Some(fields) = upload.as_object_mut() else {
            return upload;
        };
        fields.insert("updatedAt".into(), iso(updated).into());
        match (status, self.completion.as_ref().map(|done| &done.outcome)) {
            (_, Some(Ok(asset_id))) if finished => {
                fields.insert("entityId".into(), asset_id.clone().into());
            }
            ("failed", Some(Err(message))) => {
                fields.insert("errorMessage".into(), message.clone().into());
            }
            _ => {}
        }
        upload
    }
}

/// When an imported upload's asset appears: once the upload reads done, with `entityId`.
pub(crate) fn import_delay(time_scale: f64) -> Duration {
    Duration::try_from_secs_f64(2.0 * PHASE_SECONDS / time_scale).unwrap_or_default()
}

/// Why assembled bytes cannot become the declared asset, if they cannot.
pub(crate) fn import_problem(declared: &Declared, bytes: &[u8]) -> Option<String> {
    let size = bytes.len() as u64;
    if size != declared.file_size {
        return Some(format!(
            "The uploaded file is {size} bytes, but fileSize was {} bytes",
            declared.file_size
        ));
    }
    let wanted = FileType::from_mime(&declared.content_type);
    if wanted.is_none() || FileType::sniff(bytes) != wanted {
        return Some(format!(
            "The file is not a valid {} file",
            declared.content_type
        ));
    }
    None
}

/// Every upload and uploaded asset.
#[derive(Debug, Default)]
pub(crate) struct UploadStore {
    uploads: HashMap<String, SimUpload>,
    assets: HashMap<String, StoredAsset>,
}

impl UploadStore {
    pub(crate) fn insert_upload(&mut self, upload: SimUpload) -> &SimUpload {
        let id = upload.id.clone();
        self.uploads.entry(id).or_insert(upload)
    }

    pub(crate) fn upload(&self, id: &str) -> Option<&SimUpload> {
        self.uploads.get(id)
    }

    pub(crate) fn upload_mut(&mut self, id: &str) -> Option<&mut SimUpload> {
        self.uploads.get_mut(id)
    }

    pub(crate) fn insert_asset(&mut self, asset: StoredAsset) -> &StoredAsset {
        let id = asset.id.clone();
        self.assets.entry(id).or_insert(asset)
    }

    /// An uploaded asset, once it exists.
    pub(crate) fn asset(&self, id: &str, now: Instant) -> Option<&StoredAsset> {
        self.assets.get(id).filter(|asset| now >= asset.available)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(parts: u32, file_size: u64) -> Declared {
        Declared {
            file_name: "clip.mp4".into(),
            content_type: "video/mp4".into(),
            kind: "video",
            parts,
            file_size,
        }
    }

    #[test]
    fn complete_wants_every_part_and_big_parts_but_the_last() {
        let now = Instant::now();
        let mut upload = SimUpload::new("upload_1".into(), declared(3, 0));
        upload.put_part(2, Bytes::from_static(b"tiny"));
        assert_eq!(
            upload.assemble(now, 1.0),
            Err(Refusal::MissingParts(vec![1, 3]))
        );
        upload.put_part(1, Bytes::from(vec![0; MIN_PART_SIZE as usize]));
        upload.put_part(3, Bytes::from_static(b"end"));
        let refusal = upload.assemble(now, 1.0).unwrap_err();
        assert_eq!(refusal, Refusal::SmallParts(vec![(2, 4)]));
        assert!(
            refusal.reason().contains("part 2 is 4 bytes"),
            "{refusal:?}"
        );
        upload.put_part(2, Bytes::from(vec![1; MIN_PART_SIZE as usize]));
        let whole = upload.assemble(now, 1.0).unwrap();
        assert_eq!(whole.len() as u64, 2 * MIN_PART_SIZE + 3);
        assert!(whole.ends_with(b"\x01end"));
    }

    #[test]
    fn status_walks_to_imported_or_stops_at_failed() {
        let start = Instant::now();
        let end = UploadDone::Imported;
        let mut ok = SimUpload::new("upload_1".into(), declared(1, 1));
        assert_eq!(ok.status(start, 1.0, end).0, "pending");
        ok.complete(start, Ok("asset_1".into()));
        let at = |s: f64| start + Duration::from_secs_f64(s);
        assert_eq!(ok.status(at(1.0), 1.0, end).0, "validating");
        assert_eq!(ok.status(at(4.0), 1.0, end).0, "validated");
        assert!(ok.render(at(4.0), 1.0, end).get("entityId").is_none());
        assert_eq!(ok.status(at(6.0), 1.0, end).0, "imported");
        assert_eq!(ok.render(at(6.0), 1.0, end)["entityId"], "asset_1");
        assert_eq!(ok.status(at(0.01), 600.0, end).0, "imported");

        for (end, statuses) in [
            (UploadDone::Complete, ["complete", "complete", "complete"]),
            (
                UploadDone::Validated,
                ["validating", "validated", "validated"],
            ),
        ] {
            let seen: Vec<(&str, bool)> = [1.0, 4.0, 6.0]
                .iter()
                .map(|s| {
                    let shown = ok.render(at(*s), 1.0, end);
                    let status = ok.status(at(*s), 1.0, end).0;
                    (status, shown.get("entityId").is_some())
                })
                .collect();
            assert_eq!(
                seen,
                [
                    (statuses[0], false),
                    (statuses[1], false),
                    (statuses[2], true)
                ]
            );
        }

        let mut bad = SimUpload::new("upload_2".into(), declared(1, 1));
        bad.complete(start, Err("no".into()));
        assert_eq!(bad.status(at(1.0), 1.0, end).0, "validating");
        let shown = bad.render(at(3.0), 1.0, end);
        assert_eq!(shown["status"], "failed");
        assert_eq!(shown["errorMessage"], "no");
        assert!(shown.get("entityId").is_none());
    }

    #[test]
    fn imports_check_size_then_type() {
        let mp4 = b"\0\0\0\x18ftypisom....";
        assert_eq!(import_problem(&declared(1, mp4.len() as u64), mp4), None);
        let reason = import_problem(&declared(1, 3), mp4).unwrap();
        assert!(reason.contains("fileSize"), "{reason}");
        let webm = [0x1A, 0x45, 0xDF, 0xA3];
        let reason = import_problem(&declared(1, 4), &webm).unwrap();
        assert_eq!(reason, "The file is not a valid video/mp4 file");
    }
}
