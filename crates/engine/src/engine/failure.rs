//! Why something a client asked of the engine could not be done, as it crosses to the client:
//! a kind to branch on (an exit code, a colour, whether to offer a retry) and a message made
//! safe to show. The engine's own errors (the API's, the ledger's, a file's) become one of
//! these where they leave it, so no client parses a sentence to learn what went wrong.

use serde::{Deserialize, Serialize};

use crate::api::ApiError;
use crate::sanitize::sanitize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct Failure {
    pub kind: FailureKind,
    /// Ready to show: control characters taken out.
    pub message: String,
}

/// What kind of failure: what the one who asked can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// What was asked is not valid (a request, a file, an id): fix it and ask again.
    Invalid,
    /// Not there: no such job, asset or model.
    NotFound,
    /// The server refused it (an answer of 4xx other than for the credentials).
    Refused,
    /// The API refused the credentials: nothing more is sent until they change.
    Credentials,
    /// The network or the server failed: asking again later may work.
    Network,
    /// This machine: the disk, a file, the ledger, the configuration.
    Local,
    /// It may or may not have happened (a POST whose answer was lost).
    Unknown,
    /// The engine cannot take it now (it is stopping, its ledger was replaced): ask again in
    /// a moment.
    Unavailable,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl AsRef<str>) -> Self {
        Self {
            kind,
            message: sanitize(message.as_ref()),
        }
    }

    pub fn invalid(message: impl AsRef<str>) -> Self {
        Self::new(FailureKind::Invalid, message)
    }

    pub fn local(message: impl AsRef<str>) -> Self {
        Self::new(FailureKind::Local, message)
    }

    /// The same failure, its message led by `context` (what was being done).
    pub fn context(self, context: &str) -> Self {
        Self::new(self.kind, format!("{context}: {}", self.message))
    }
}

impl From<&ApiError> for Failure {
    fn from(e: &ApiError) -> Self {
        let kind = match e {
            ApiError::InvalidUrl { .. } | ApiError::InvalidInput { .. } => FailureKind::Invalid,
            ApiError::Http {
                status: 401 | 403, ..
            } => FailureKind::Credentials,
            ApiError::Http { status: 404, .. } => FailureKind::NotFound,
            ApiError::Http { status, .. } if (400..500).contains(status) && *status != 429 => {
                FailureKind::Refused
            }
            ApiError::SubmissionUnknown { .. } => FailureKind::Unknown,
            ApiError::File { .. } | ApiError::LocalResource { .. } => FailureKind::Local,
            _ => FailureKind::Network,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Self::from(&e)
    }
}

impl From<&super::upload_cache::UploadError> for Failure {
    fn from(e: &super::upload_cache::UploadError) -> Self {
        use super::upload_cache::UploadError;
        let kind = match e {
            UploadError::Invalid(_) => FailureKind::Invalid,
            UploadError::Failed(_) => FailureKind::Refused,
            UploadError::Passing(_) => FailureKind::Network,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<super::LedgerError> for Failure {
    fn from(e: super::LedgerError) -> Self {
        Self::local(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> ApiError {
        ApiError::Http {
            status,
            reason: "no".into(),
            trace_id: None,
            retry_after: None,
            action_limit: None,
        }
    }

    #[test]
    fn each_api_error_has_the_kind_its_asker_can_act_on() {
        let table = [
            (http(401), FailureKind::Credentials),
            (http(403), FailureKind::Credentials),
            (http(404), FailureKind::NotFound),
            (http(422), FailureKind::Refused),
            (http(429), FailureKind::Network),
            (http(503), FailureKind::Network),
            (
                ApiError::SubmissionUnknown {
                    detail: "reset".into(),
                },
                FailureKind::Unknown,
            ),
            (
                ApiError::InvalidInput {
                    detail: "prompt".into(),
                },
                FailureKind::Invalid,
            ),
            (
                ApiError::Timeout { host: "api".into() },
                FailureKind::Network,
            ),
        ];
        for (error, kind) in table {
            assert_eq!(Failure::from(&error).kind, kind, "{error}");
        }
    }

    #[test]
    fn the_message_is_safe_to_show_and_crosses_as_json() {
        let failure = Failure::invalid("bad \u{1b}]52;c;eA==\u{7}id");
        assert!(!failure.message.contains('\u{1b}'), "{}", failure.message);
        let json = serde_json::to_string(&Err::<u64, _>(failure.clone())).unwrap();
        assert!(json.contains(r#""kind":"invalid""#), "{json}");
        let back: Result<u64, Failure> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Err(failure));
    }
}
