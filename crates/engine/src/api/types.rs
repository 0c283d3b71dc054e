//! The Scenario API's JSON bodies. Lenient on the way in: unknown fields are ignored, unknown
//! statuses kept, numbers that arrive as strings accepted, so a server that grows new fields
//! or values never breaks a client in the middle of a paid job.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Where a job is in its life. Only `Success`, `Failure` and `Canceled` are final.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum JobStatus {
    #[default]
    Pending,
    Queued,
    WarmingUp,
    InProgress,
    Finalizing,
    Success,
    Failure,
    Canceled,
    /// A status this client does not know yet, kept as the server spelled it.
    Unknown(String),
}

impl JobStatus {
    pub fn as_str(&self) -> &str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Queued => "queued",
            JobStatus::WarmingUp => "warming-up",
            JobStatus::InProgress => "in-progress",
            JobStatus::Finalizing => "finalizing",
            JobStatus::Success => "success",
            JobStatus::Failure => "failure",
            JobStatus::Canceled => "canceled",
            JobStatus::Unknown(s) => s,
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "pending" => JobStatus::Pending,
            "queued" => JobStatus::Queued,
            "warming-up" => JobStatus::WarmingUp,
            "in-progress" => JobStatus::InProgress,
            "finalizing" => JobStatus::Finalizing,
            "success" => JobStatus::Success,
            "failure" => JobStatus::Failure,
            "canceled" => JobStatus::Canceled,
            other => JobStatus::Unknown(other.to_string()),
        }
    }

    /// No further change will happen: stop polling.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            JobStatus::Success | JobStatus::Failure | JobStatus::Canceled
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::sanitize::sanitize(self.as_str()))
    }
}

impl Serialize for JobStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for JobStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(JobStatus::parse(&s))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub status: JobStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobMetadata {
    #[serde(default, deserialize_with = "null_as_default")]
    pub asset_ids: Vec<String>,
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub error: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
}

/// What a job cost, as the SDK describes it: `cuCost` for the main action, plus add-on fees per
/// action in `cuCostDetails` (the job's total is the sum). On failure the add-ons read 0
/// (refunded) while `cuCost` still shows the original charge; `disableRefund` says a failed
/// job is not refunded at all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Billing {
    #[serde(default, deserialize_with = "lenient_f64")]
    pub cu_cost: Option<f64>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub cu_discount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cu_cost_details: Option<Value>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub disable_refund: Option<bool>,
}

impl Billing {
    /// The add-on fees, summed: every number in `cuCostDetails` (numbers in strings too;
    /// anything else counts as nothing).
    pub fn add_ons(&self) -> Option<f64> {
        let details = self.cu_cost_details.as_ref()?.as_object()?;
        let sum = details
            .values()
            .filter_map(|v| match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .filter(|n| n.is_finite() && *n >= 0.0)
            .sum();
        Some(sum)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    #[serde(default)]
    pub status: JobStatus,
    /// 0 to 1.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub progress: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub status_history: Vec<StatusChange>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: JobMetadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<Billing>,
}

impl Job {
    /// Progress as a fraction from 0 to 1; a finished successful job counts as complete. The
    /// SDK says 0 to 1, but a value above 1 can only be a percentage (`25` is a quarter).
    pub fn progress_fraction(&self) -> f64 {
        if self.status == JobStatus::Success {
            return 1.0;
        }
        self.progress
            .filter(|p| p.is_finite())
            .map_or(0.0, |p| if p > 1.0 { p / 100.0 } else { p })
            .clamp(0.0, 1.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEnvelope {
    pub job: Job,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateResponse {
    pub job: Job,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub creative_units_cost: Option<f64>,
    /// IP detection, charged outside the job (`creativeUnitsCharged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_detection: Option<Value>,
}

impl GenerateResponse {
    /// What IP detection charged for this request, outside the job's own billing.
    pub fn ip_detection_charge(&self) -> Option<f64> {
        let v = self.ip_detection.as_ref()?.get("creativeUnitsCharged")?;
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }?;
        (n.is_finite() && n > 0.0).then_some(n)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRunResponse {
    #[serde(default, deserialize_with = "lenient_f64")]
    pub creative_units_cost: Option<f64>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub creative_units_discount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_details: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobList {
    #[serde(default, deserialize_with = "null_as_default")]
    pub jobs: Vec<Job>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_pagination_token: Option<String>,
    /// Why listed jobs were left out (an id that is not an identifier), made safe to show.
    #[serde(skip)]
    pub left_out: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssetMetadata {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub width: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub height: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssetProperties {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub duration: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    pub id: String,
    /// A signed, temporary CDN link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: AssetMetadata,
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: AssetProperties,
    /// A still picture of a video: shown without decoding it.
    #[serde(
        default,
        deserialize_with = "lenient_image",
        skip_serializing_if = "Option::is_none"
    )]
    pub thumbnail: Option<AssetImage>,
    /// The video's first frame, as an image.
    #[serde(
        default,
        deserialize_with = "lenient_image",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_frame: Option<AssetImage>,
    /// The video's last frame, as an image: what a shot that continues this one starts from.
    #[serde(
        default,
        deserialize_with = "lenient_image",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_frame: Option<AssetImage>,
}

/// An image that stands for an asset (its thumbnail, its first frame): an asset of its own,
/// with a signed CDN link fetched without credentials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetImage {
    #[serde(default, deserialize_with = "lenient_string")]
    pub asset_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub url: Option<String>,
}

impl Asset {
    /// The size the file must have once downloaded, where the server says: the SDK's byte
    /// size is `properties.size`. `metadata.size` is one of the generation's parameters, not
    /// the file's size, and is never used for it.
    pub fn expected_size(&self) -> Option<u64> {
        self.properties.size
    }

    /// The asset id of the video's last frame, where the server names one.
    pub fn last_frame_id(&self) -> Option<&str> {
        self.last_frame.as_ref()?.asset_id.as_deref()
    }

    /// The video's length in seconds, where the server says (`properties.duration`).
    pub fn duration(&self) -> Option<f64> {
        self.properties
            .duration
            .filter(|d| d.is_finite() && *d >= 0.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetEnvelope {
    pub asset: Asset,
}

/// One part of a multipart upload: where to `PUT` its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadPart {
    /// A number from 1; the SDK types it `number`, so `1.0` is as good as `1`.
    #[serde(deserialize_with = "part_number")]
    pub number: u32,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// A multipart upload: `pending → validating → validated → imported` (or `failed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub parts: Vec<UploadPart>,
    /// The asset id, once imported.
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub entity_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadEnvelope {
    pub upload: Upload,
}

/// An error body: `{"reason", "trace_id"|"traceId"}` or `{"message"}`, with the 429 extras.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default, deserialize_with = "lenient_string")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub message: Option<String>,
    #[serde(default, alias = "trace_id", deserialize_with = "lenient_string")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub remaining_seconds: Option<f64>,
}

impl ErrorBody {
    /// `details.actionLimit` of a 429 on the team's concurrency ceiling.
    pub fn action_limit(&self) -> Option<u64> {
        let v = self.details.as_ref()?.get("actionLimit")?;
        v.as_u64().or_else(|| v.as_str()?.parse().ok())
    }
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A picture field in any other shape than an object (a bare string, a number) is as good
/// as absent: it never fails the asset it belongs to.
fn lenient_image<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AssetImage>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A part number: a whole number, written as an integer or a float (`1.0`), or a string.
fn part_number<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match n {
        Some(n) if n.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(&n) => Ok(n as u32),
        _ => Err(serde::de::Error::custom(
            "a part number must be a whole number from 1",
        )),
    }
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_every_known_status_and_keeps_unknown_ones() {
        for s in [
            "pending",
            "queued",
            "warming-up",
            "in-progress",
            "finalizing",
            "success",
            "failure",
            "canceled",
        ] {
            let status: JobStatus = serde_json::from_value(json!(s)).unwrap();
            assert_eq!(status.as_str(), s);
            assert!(!matches!(status, JobStatus::Unknown(_)), "{s}");
        }
        let status: JobStatus = serde_json::from_value(json!("moderating")).unwrap();
        assert_eq!(status, JobStatus::Unknown("moderating".into()));
        assert!(!status.is_final());
        assert_eq!(serde_json::to_value(&status).unwrap(), json!("moderating"));
    }

    #[test]
    fn only_three_states_are_final() {
        let finals: Vec<_> = ["success", "failure", "canceled", "in-progress", "x"]
            .iter()
            .map(|s| JobStatus::parse(s).is_final())
            .collect();
        assert_eq!(finals, [true, true, true, false, false]);
    }

    #[test]
    fn job_ignores_unknown_fields_and_tolerates_nulls() {
        let job: Job = serde_json::from_value(json!({
            "jobId": "job_1", "status": "success", "progress": "1", "newField": {"a": 1},
            "statusHistory": null, "metadata": {"assetIds": ["asset_1"], "error": null,
            "somethingElse": true}, "billing": {"cuCost": 12, "cuDiscount": null}
        }))
        .unwrap();
        assert_eq!(job.metadata.asset_ids, ["asset_1"]);
        assert_eq!(job.progress, Some(1.0));
        assert_eq!(job.billing.unwrap().cu_cost, Some(12.0));
    }

    #[test]
    fn asset_pictures_are_read_leniently() {
        let asset: Asset = serde_json::from_value(json!({
            "id": "asset_1", "thumbnail": {"assetId": "asset_2", "url": "https://c/t.png"},
            "firstFrame": "not an object"
        }))
        .unwrap();
        let thumbnail = asset.thumbnail.unwrap();
        assert_eq!(thumbnail.asset_id.as_deref(), Some("asset_2"));
        assert_eq!(thumbnail.url.as_deref(), Some("https://c/t.png"));
        assert_eq!(asset.first_frame, None);
        let bare: Asset = serde_json::from_value(json!({"id": "a", "thumbnail": null})).unwrap();
        assert_eq!(bare.thumbnail, None);
    }

    #[test]
    fn the_last_frame_and_the_duration_are_read_leniently() {
        let asset: Asset = serde_json::from_value(json!({
            "id": "asset_1", "lastFrame": {"assetId": "asset_1_last", "url": "https://c/l.png"},
            "properties": {"duration": "5.04"}
        }))
        .unwrap();
        assert_eq!(asset.last_frame_id(), Some("asset_1_last"));
        assert_eq!(asset.duration(), Some(5.04));
        for odd in [
            json!({"id": "a", "lastFrame": "asset_x", "properties": {"duration": "long"}}),
            json!({"id": "a", "lastFrame": {"url": 3}, "properties": {"duration": -2}}),
            json!({"id": "a", "lastFrame": null, "properties": null}),
            json!({"id": "a"}),
        ] {
            let asset: Asset = serde_json::from_value(odd.clone()).unwrap();
            assert_eq!(asset.last_frame_id(), None, "{odd}");
            assert_eq!(asset.duration(), None, "{odd}");
        }
        let asset: Asset =
            serde_json::from_value(json!({"id": "a", "properties": {"duration": 10}})).unwrap();
        assert_eq!(asset.duration(), Some(10.0));
    }

    #[test]
    fn progress_is_clamped() {
        let mut job = Job {
            job_id: "j".into(),
            progress: Some(7.0),
            ..Job::default()
        };
        assert_eq!(job.progress_fraction(), 0.07);
        job.progress = Some(25.0);
        assert_eq!(job.progress_fraction(), 0.25);
        job.progress = Some(250.0);
        assert_eq!(job.progress_fraction(), 1.0);
        job.progress = Some(0.4);
        assert_eq!(job.progress_fraction(), 0.4);
        job.progress = Some(-1.0);
        assert_eq!(job.progress_fraction(), 0.0);
        job.progress = Some(f64::NAN);
        assert_eq!(job.progress_fraction(), 0.0);
    }

    #[test]
    fn the_byte_size_is_properties_size_never_metadata_size() {
        let asset: Asset = serde_json::from_value(json!({
            "id": "a", "metadata": {"size": 1024}, "properties": {"size": 2_000_000}
        }))
        .unwrap();
        assert_eq!(asset.expected_size(), Some(2_000_000));
        let asset: Asset =
            serde_json::from_value(json!({"id": "a", "metadata": {"size": 1024}})).unwrap();
        assert_eq!(asset.expected_size(), None);
    }

    #[test]
    fn billing_add_ons_and_refunds_are_read_leniently() {
        let billing: Billing = serde_json::from_value(json!({
            "cuCost": 75.0, "cuDiscount": 0, "cuCostDetails": {"quality-gate": 5, "upscale": "2.5",
            "odd": {"x": 1}}, "disableRefund": true
        }))
        .unwrap();
        assert_eq!(billing.add_ons(), Some(7.5));
        assert_eq!(billing.disable_refund, Some(true));
        let answer: GenerateResponse = serde_json::from_value(json!({
            "job": {"jobId": "j"}, "creativeUnitsCost": 75,
            "ipDetection": {"creativeUnitsCharged": 3.0, "other": null}
        }))
        .unwrap();
        assert_eq!(answer.ip_detection_charge(), Some(3.0));
    }

    #[test]
    fn part_numbers_may_be_floats_but_must_be_whole() {
        let part: UploadPart = serde_json::from_value(json!({"number": 1.0, "url": "u"})).unwrap();
        assert_eq!(part.number, 1);
        assert!(serde_json::from_value::<UploadPart>(json!({"number": 1.5, "url": "u"})).is_err());
        assert!(serde_json::from_value::<UploadPart>(json!({"number": 0, "url": "u"})).is_err());
    }

    #[test]
    fn error_body_accepts_both_trace_id_spellings() {
        let a: ErrorBody =
            serde_json::from_value(json!({"reason": "r", "trace_id": "t1"})).unwrap();
        let b: ErrorBody = serde_json::from_value(json!({"reason": "r", "traceId": "t2"})).unwrap();
        assert_eq!(a.trace_id.as_deref(), Some("t1"));
        assert_eq!(b.trace_id.as_deref(), Some("t2"));
        let c: ErrorBody = serde_json::from_value(json!({
            "reason": "limit", "details": {"actionName": "generate", "actionLimit": 4},
            "remainingSeconds": 2
        }))
        .unwrap();
        assert_eq!(c.action_limit(), Some(4));
        assert_eq!(c.remaining_seconds, Some(2.0));
    }
}
