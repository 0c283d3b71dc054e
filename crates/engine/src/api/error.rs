//! Everything that can go wrong talking to Scenario or its CDN. Text that came from the server is
//! sanitized before it is stored here, so printing an error is always safe.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid URL {url}: {rule}")]
    InvalidUrl { url: String, rule: String },

    /// Refused locally before any request.
    #[error("{detail}")]
    InvalidInput { detail: String },

    /// The server answered with an error status.
    #[error("{}", HttpDisplay(self))]
    Http {
        status: u16,
        reason: String,
        trace_id: Option<String>,
        /// From `Retry-After` or a body's `remainingSeconds`.
        retry_after: Option<Duration>,
        /// `details.actionLimit` of a 429 on the team's concurrency ceiling.
        action_limit: Option<u64>,
    },

    /// The connection could not be made: the request provably never reached the server.
    #[error("could not connect to {host}: {detail}")]
    Connect { host: String, detail: String },

    #[error("request to {host} timed out")]
    Timeout { host: String },

    #[error("network error talking to {host}: {detail}")]
    Network { host: String, detail: String },

    /// A generate request may or may not have created (and charged for) a job. Never re-sent.
    #[error(
        "submission outcome unknown ({detail}): the job may have been created and charged; \
         check the job list before submitting again"
    )]
    SubmissionUnknown { detail: String },

    #[error("unexpected answer from {host}: {detail}")]
    Decode { host: String, detail: String },

    #[error("{}: {detail}", path.display())]
    File { path: PathBuf, detail: String },

    /// A local resource ran out (disk space, quota, file descriptors): it passes when the
    /// resource comes back, so the work is tried again by itself.
    #[error("{}: {detail}", path.display())]
    LocalResource { path: PathBuf, detail: String },

    #[error("download of asset {asset_id} failed: {detail}")]
    Download { asset_id: String, detail: String },

    /// What the CDN sent is not the asset the API described (wrong size, type, encoding or
    /// digest): nothing was saved, and fetching it again at once would only repeat that.
    #[error("download of asset {asset_id} refused: {detail}")]
    NotTheAsset { asset_id: String, detail: String },

    /// The server refused or failed to import an uploaded file.
    #[error("{file}: upload failed: {detail}")]
    Upload { file: String, detail: String },
}

struct HttpDisplay<'a>(&'a ApiError);

impl fmt::Display for HttpDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let ApiError::Http {
            status,
            reason,
            trace_id,
            ..
        } = self.0
        {
            let text = reqwest::StatusCode::from_u16(*status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            write!(f, "HTTP {status} {text}: {reason}")?;
            if let Some(trace) = trace_id {
                write!(f, " (trace id {trace})")?;
            }
        }
        Ok(())
    }
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the server asked us to wait, if it did.
    pub fn server_wait(&self) -> Option<Duration> {
        match self {
            ApiError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Worth another try for a request that is safe to repeat (a GET, a dry run).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Connect { .. } | ApiError::Timeout { .. } | ApiError::Network { .. } => true,
            ApiError::Http { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    pub(crate) fn from_reqwest(err: &reqwest::Error, host: &str) -> Self {
        let host = host.to_string();
        if err.is_connect() {
            ApiError::Connect {
                host,
                detail: error_chain(err),
            }
        } else if err.is_timeout() {
            ApiError::Timeout { host }
        } else {
            // Includes reqwest's "decode" errors: a body that broke off mid-way.
            ApiError::Network {
                host,
                detail: error_chain(err),
            }
        }
    }
}

/// The error and its sources on one line; reqwest's own message alone is often just
/// "error sending request". URLs are left out: a signed link is a secret of sorts.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        let text = match text.find(" for url (") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        if !parts.contains(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    crate::sanitize::sanitize(&parts.join(": "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_error_shows_status_reason_and_trace() {
        let e = ApiError::Http {
            status: 400,
            reason: "prompt is required".into(),
            trace_id: Some("abc".into()),
            retry_after: None,
            action_limit: None,
        };
        assert_eq!(
            e.to_string(),
            "HTTP 400 Bad Request: prompt is required (trace id abc)"
        );
    }

    #[test]
    fn which_errors_are_transient() {
        let http = |status| ApiError::Http {
            status,
            reason: String::new(),
            trace_id: None,
            retry_after: None,
            action_limit: None,
        };
        let transient: Vec<bool> = [400, 401, 403, 404, 429, 500, 502, 503, 504, 501]
            .into_iter()
            .map(|s| http(s).is_transient())
            .collect();
        assert_eq!(
            transient,
            [
                false, false, false, false, true, true, true, true, true, false
            ]
        );
        assert!(
            !ApiError::SubmissionUnknown {
                detail: String::new()
            }
            .is_transient()
        );
    }
}
