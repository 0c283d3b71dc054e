//! The team's jobs on the server, as listed for a client to pick from and import.

use serde::{Deserialize, Serialize};

use super::LocalId;
use crate::api::types::JobStatus;

/// A Kling V3 Omni job on the server, as `GET /v1/jobs` lists it: a candidate, not a
/// snapshot (it is fetched again when imported). Text in it is already sanitized.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RemoteJob {
    pub job_id: String,
    pub status: JobStatus,
    /// 0 to 1.
    pub progress: f64,
    /// ISO 8601, as the server wrote it.
    pub created_at: String,
    pub prompt: String,
    pub mode: Option<String>,
    /// Seconds.
    pub duration: Option<u32>,
    /// Creative units, where the server says.
    pub cost: Option<f64>,
    /// Its number in this ledger, when it is already there.
    pub local_id: Option<LocalId>,
}
