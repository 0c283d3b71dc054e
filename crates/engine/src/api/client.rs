//! The Scenario API client: one authenticated client for the API host, one bare client for the
//! CDN, each with timeouts; retries where repeating is safe and never where it could charge twice.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode, redirect};
use serde::de::DeserializeOwned;
use url::Url;

use super::types::{
    Asset, AssetEnvelope, DryRunResponse, ErrorBody, GenerateResponse, Job, JobEnvelope, JobList,
};
use super::{ApiError, Credentials, RetryPolicy, check_url};
use crate::kling::{KlingRequest, MODEL_ID};
use crate::sanitize::sanitize;

/// Bodies bigger than this are not JSON answers we asked for.
const MAX_JSON_BODY: usize = 16 * 1024 * 1024;
/// A transfer that sends nothing for this long has stalled: it is broken off and resumed.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(20);
/// 4 GiB: far above any video the model makes, far below a full disk.
pub const DEFAULT_MAX_DOWNLOAD: u64 = 4 << 30;
const USER_AGENT: &str = concat!("kling-tui/", env!("CARGO_PKG_VERSION"));

/// Something every API request waits on before it is sent, and tells about rate limiting: the
/// engine's shared request budget. CDN downloads do not pass through it.
pub trait RequestGate: Send + Sync {
    fn acquire(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    /// For a request someone is waiting on (a submission, a cost, an upload): goes ahead of
    /// the background reads already waiting. By default, in turn like any other.
    fn acquire_first(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.acquire()
    }
    /// Called on every 429, with the wait the server asked for, if any.
    fn rate_limited(&self, retry_after: Option<Duration>);
}

#[derive(Clone)]
pub struct Gate(pub Arc<dyn RequestGate>);

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Gate")
    }
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub base_url: Url,
    pub credentials: Credentials,
    pub project_id: Option<String>,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// A CDN download that sends nothing for this long is broken off and resumed.
    pub read_timeout: Duration,
    /// The most a download whose size nobody announced may write.
    pub max_download_bytes: u64,
    pub retry: RetryPolicy,
    pub gate: Option<Gate>,
}

impl ClientOptions {
    pub fn new(base_url: Url, credentials: Credentials) -> Self {
        Self {
            base_url,
            credentials,
            project_id: None,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            read_timeout: DEFAULT_STALL_TIMEOUT,
            max_download_bytes: DEFAULT_MAX_DOWNLOAD,
            retry: RetryPolicy::default(),
            gate: None,
        }
    }
}

#[derive(Clone)]
pub struct ScenarioClient {
    api: reqwest::Client,
    pub(crate) cdn: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    project_id: Option<String>,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_download: u64,
    gate: Option<Gate>,
}

impl fmt::Debug for ScenarioClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScenarioClient")
            .field("base", &self.base.as_str())
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

impl ScenarioClient {
    pub fn new(options: ClientOptions) -> Result<Self, ApiError> {
        check_url(&options.base_url)?;
        // reqwest is built without a bundled crypto provider; ring is the one we ship.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let auth = options
            .credentials
            .header_value()
            .ok_or_else(|| ApiError::InvalidUrl {
                url: String::new(),
                rule: "credentials contain characters not allowed in a header".into(),
            })?;
        let build_err = |e: reqwest::Error| ApiError::Network {
            host: "local".into(),
            detail: format!("cannot build HTTP client: {e}"),
        };
        let api = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            // Credentials ride along only within the API's own origin.
            .redirect(redirect::Policy::custom(|attempt| {
                let first = attempt.previous().first();
                let same = first.is_some_and(|u| same_origin(u, attempt.url()));
                if same && attempt.previous().len() < 5 {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()
            .map_err(build_err)?;
        let cdn = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .redirect(redirect::Policy::custom(|attempt| {
                if attempt.previous().len() >= 5 || check_url(attempt.url()).is_err() {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .map_err(build_err)?;
        Ok(Self {
            api,
            cdn,
            base: options.base_url,
            auth,
            project_id: options.project_id.filter(|p| !p.is_empty()),
            retry: options.retry,
            max_download: options.max_download_bytes,
            gate: options.gate,
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    pub fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    /// Starts a generation. Re-sent only when it provably never reached the server (connect
    /// failure) or the server refused it with 429; any other failure after sending is
    /// reported as [`ApiError::SubmissionUnknown`], never retried.
    pub async fn generate(&self, request: &KlingRequest) -> Result<GenerateResponse, ApiError> {
        let url = self.url(&["generate", "custom", MODEL_ID], &[]);
        let attempt = || async {
            self.pass_gate(&Method::POST).await;
            let sent = self
                .request(Method::POST, url.clone())
                .json(request)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) if e.is_connect() => return Err(ApiError::from_reqwest(&e, self.host())),
                Err(e) => {
                    return Err(ApiError::SubmissionUnknown {
                        detail: ApiError::from_reqwest(&e, self.host()).to_string(),
                    });
                }
            };
            let status = response.status();
            if status.is_server_error() {
                let err = self.error_from(response).await;
                return Err(ApiError::SubmissionUnknown {
                    detail: err.to_string(),
                });
            }
            if !status.is_success() {
                // 4xx: the server read the request and refused it; nothing was created.
                return Err(self.error_from(response).await);
            }
            // A job id that is not an identifier cannot be polled or shown safely: the job
            // may exist (and cost), so this is "unknown", never "refused".
            self.read_json(response)
                .await
                .and_then(|answer: GenerateResponse| {
                    checked_job(&answer.job)?;
                    Ok(answer)
                })
                .map_err(|e| ApiError::SubmissionUnknown {
                    detail: e.to_string(),
                })
        };
        self.retry
            .run("generate", attempt, |e| match e {
                ApiError::Connect { .. } => true,
                // At the team's concurrency ceiling a caller may rather queue than wait here.
                ApiError::Http {
                    status: 429,
                    action_limit,
                    ..
                } => action_limit.is_none() || self.retry.retry_submit_at_limit,
                _ => false,
            })
            .await
    }

    /// The cost of `request` without running it. Free, so retried like a read.
    pub async fn dry_run(&self, request: &KlingRequest) -> Result<DryRunResponse, ApiError> {
        let url = self.url(&["generate", "custom", MODEL_ID], &[("dryRun", "true")]);
        self.retry
            .run(
                "dry run",
                || async {
                    let response = self.send(Method::POST, url.clone(), Some(request)).await?;
                    self.read_json(response).await
                },
                ApiError::is_transient,
            )
            .await
    }

    pub async fn get_job(&self, job_id: &str) -> Result<Job, ApiError> {
        check_id("job id", job_id)?;
        let envelope: JobEnvelope = self.get(self.url(&["jobs", job_id], &[])).await?;
        checked_job(&envelope.job)?;
        Ok(envelope.job)
    }

    /// One page of jobs, newest first; pass the previous page's `next_pagination_token`, and
    /// `created_after` (RFC 3339) to leave older jobs out on the server.
    pub async fn list_jobs(
        &self,
        page_size: u32,
        pagination_token: Option<&str>,
        created_after: Option<&str>,
    ) -> Result<JobList, ApiError> {
        let size = page_size.to_string();
        let mut query = vec![("pageSize", size.as_str())];
        if let Some(token) = pagination_token {
            query.push(("paginationToken", token));
        }
        if let Some(after) = created_after {
            query.push(("createdAfter", after));
        }
        let mut page: JobList = self.get(self.url(&["jobs"], &query)).await?;
        // One malformed job does not hide the page: it is left out, and said.
        let mut left_out = Vec::new();
        page.jobs.retain(|job| match checked_job(job) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("a listed job was left out: {e}");
                left_out.push(e.to_string());
                false
            }
        });
        page.left_out = left_out;
        Ok(page)
    }

    /// Asks the server to cancel. Most generation jobs refuse with 400; that refusal is the
    /// error returned, with the server's reason.
    pub async fn cancel_job(&self, job_id: &str) -> Result<(), ApiError> {
        check_id("job id", job_id)?;
        let url = self.url(&["jobs", job_id, "action"], &[]);
        let body = serde_json::json!({"action": "cancel"});
        self.send(Method::POST, url, Some(&body)).await.map(drop)
    }

    /// Asset metadata with a freshly signed download `url`.
    pub async fn get_asset(&self, asset_id: &str) -> Result<Asset, ApiError> {
        check_id("asset id", asset_id)?;
        let envelope: AssetEnvelope = self.get(self.url(&["assets", asset_id], &[])).await?;
        Ok(envelope.asset)
    }

    /// The model as the server describes it (`{"model": {...}}`), kept as JSON: read
    /// leniently by [`crate::kling::Rules::from_model`].
    pub async fn get_model(&self, model_id: &str) -> Result<serde_json::Value, ApiError> {
        check_id("model id", model_id)?;
        self.get(self.url(&["models", model_id], &[])).await
    }

    /// The team's plan limits (`parallelCustomJobs` among them), as JSON.
    pub async fn team_limits(&self, team_id: &str) -> Result<serde_json::Value, ApiError> {
        check_id("team id", team_id)?;
        self.get(self.url(&["teams", team_id, "limits"], &[])).await
    }

    pub(crate) fn host(&self) -> &str {
        self.base.host_str().unwrap_or("api")
    }

    /// `base/segments...?projectId=..&query..`, each segment percent-encoded so an id can never
    /// reach another route.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(project) = &self.project_id {
                pairs.append_pair("projectId", project);
            }
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.api
            .request(method, url)
            .header(AUTHORIZATION, self.auth.clone())
    }

    /// Waits for the request budget. POSTs are what a person waits on (generate, dry runs,
    /// uploads, cancel): they go ahead of the polls; reads wait their turn.
    async fn pass_gate(&self, method: &Method) {
        if let Some(gate) = &self.gate {
            if method == Method::POST {
                gate.0.acquire_first().await;
            } else {
                gate.0.acquire().await;
            }
        }
    }

    /// A GET of `base/segments...`, retried like every read.
    pub(crate) async fn get_path<T: DeserializeOwned>(
        &self,
        segments: &[&str],
    ) -> Result<T, ApiError> {
        for segment in segments {
            check_id("id", segment)?;
        }
        self.get(self.url(segments, &[])).await
    }

    /// A POST that charges nothing (uploads and their actions), retried like a read.
    pub(crate) async fn post_json<T: DeserializeOwned, B: serde::Serialize + ?Sized>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T, ApiError> {
        for segment in segments {
            check_id("id", segment)?;
        }
        let url = self.url(segments, &[]);
        self.retry
            .run(
                "POST",
                || async {
                    let response = self.send(Method::POST, url.clone(), Some(body)).await?;
                    self.read_json(response).await
                },
                ApiError::is_transient,
            )
            .await
    }

    async fn get<T: DeserializeOwned>(&self, url: Url) -> Result<T, ApiError> {
        self.retry
            .run(
                "GET",
                || async {
                    let response = self.send(Method::GET, url.clone(), None::<&()>).await?;
                    self.read_json(response).await
                },
                ApiError::is_transient,
            )
            .await
    }

    /// One request; a non-2xx answer becomes an [`ApiError::Http`].
    async fn send<B: serde::Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<Response, ApiError> {
        self.pass_gate(&method).await;
        let mut request = self.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ApiError::from_reqwest(&e, self.host()))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(self.error_from(response).await)
        }
    }

    async fn read_json<T: DeserializeOwned>(&self, response: Response) -> Result<T, ApiError> {
        let body = read_limited(response, MAX_JSON_BODY, self.host()).await?;
        serde_json::from_slice(&body).map_err(|e| ApiError::Decode {
            host: self.host().to_string(),
            detail: sanitize(&e.to_string()),
        })
    }

    pub(crate) async fn error_from(&self, response: Response) -> ApiError {
        let err = error_from_response(response, self.host()).await;
        if let (Some(gate), Some(429)) = (&self.gate, err.status()) {
            gate.0.rate_limited(err.server_wait());
        }
        err
    }
}

/// Turns an error answer into [`ApiError::Http`] with the body's reason and trace id.
pub(crate) async fn error_from_response(response: Response, host: &str) -> ApiError {
    let status = response.status();
    if status.is_redirection() {
        // A redirect lands here only when it was refused: say where to and why.
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(sanitize)
            .unwrap_or_else(|| "nowhere said".into());
        return ApiError::Http {
            status: status.as_u16(),
            reason: format!(
                "a redirect to {to} was not followed: the API's credentials go only to its own \
                 origin, and downloads only to https or loopback addresses, within 5 hops"
            ),
            trace_id: None,
            retry_after: None,
            action_limit: None,
        };
    }
    let header_wait = retry_after(response.headers());
    let bytes = read_limited(response, 64 * 1024, host)
        .await
        .unwrap_or_default();
    let body: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
    let reason = body
        .reason
        .clone()
        .or(body.message.clone())
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| fallback_reason(status, &bytes));
    let body_wait = body
        .remaining_seconds
        .filter(|s| s.is_finite() && *s >= 0.0)
        // Kept as asked (to show it), only bounded to stay a valid duration; waits are capped
        // where they happen.
        .map(|s| Duration::from_secs_f64(s.min(1e10)));
    ApiError::Http {
        status: status.as_u16(),
        reason: sanitize(&reason),
        trace_id: body.trace_id.as_deref().map(sanitize),
        retry_after: header_wait.or(body_wait),
        action_limit: body.action_limit(),
    }
}

fn fallback_reason(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() || text.starts_with('<') {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text.chars().take(200).collect()
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

async fn read_limited(
    mut response: Response,
    limit: usize,
    host: &str,
) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ApiError::from_reqwest(&e, host))?
    {
        if body.len() + chunk.len() > limit {
            return Err(ApiError::Decode {
                host: host.to_string(),
                detail: format!("answer larger than {limit} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Ids become path segments; `.`, `..` and empty ones would name another route.
/// An identifier the server handed out (an asset or upload id), taken only in a conservative
/// shape: letters, digits, `_`, `-` and `.` (not two in a row), at most 128, starting with a
/// letter or digit. Anything else (escape sequences, `../`, bidi controls) is refused where it
/// enters, with what it was, made safe to show.
pub fn server_id(what: &str, id: &str) -> Result<String, ApiError> {
    let shaped = !id.is_empty()
        && id.len() <= 128
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !id.contains("..");
    if shaped {
        Ok(id.to_string())
    } else {
        Err(ApiError::Decode {
            host: "the server".into(),
            detail: format!(
                "{what} {:?} is not an identifier (letters, digits, _ - . only); refused",
                sanitize(id)
            ),
        })
    }
}

/// A job as it enters: its id and its assets' ids are identifiers.
fn checked_job(job: &Job) -> Result<(), ApiError> {
    server_id("job id", &job.job_id)?;
    for asset in &job.metadata.asset_ids {
        server_id("asset id", asset)?;
    }
    Ok(())
}

fn check_id(what: &str, id: &str) -> Result<(), ApiError> {
    if id.trim().is_empty() || id == "." || id == ".." {
        return Err(ApiError::InvalidInput {
            detail: format!("{what} {:?} is not valid", sanitize(id)),
        });
    }
    Ok(())
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod server_id_tests {
    use super::server_id;

    #[test]
    fn only_plain_identifiers_are_taken() {
        for good in ["asset_8f3a", "up-1.2", "A9"] {
            assert_eq!(server_id("asset id", good).unwrap(), good);
        }
        for bad in [
            "",
            "../etc/passwd",
            "asset_\u{1b}]52;c;aGk=\u{7}",
            "asset_\u{202e}x",
            "a..b",
            ".hidden",
            "a/b",
            &"x".repeat(129),
        ] {
            let err = server_id("asset id", bad).unwrap_err().to_string();
            assert!(
                !err.contains('\u{1b}') && !err.contains('\u{202e}'),
                "{err}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str, project: Option<&str>) -> ScenarioClient {
        let mut options = ClientOptions::new(
            super::super::parse_api_url(base).unwrap(),
            Credentials::new("k", "s"),
        );
        options.project_id = project.map(String::from);
        ScenarioClient::new(options).unwrap()
    }

    #[test]
    fn urls_encode_ids_and_carry_the_project() {
        let c = client("https://api.example/v1", Some("proj 1"));
        assert_eq!(
            c.url(&["jobs", "../x?y"], &[("pageSize", "5")]).as_str(),
            "https://api.example/v1/jobs/..%2Fx%3Fy?projectId=proj+1&pageSize=5"
        );
        let c = client("https://api.example/v1/", None);
        assert_eq!(
            c.url(&["assets", "a"], &[]).as_str(),
            "https://api.example/v1/assets/a"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(30);
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let wait = retry_after(&h).unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn debug_hides_the_auth_header() {
        let c = client("https://api.example/v1", None);
        let shown = format!("{c:?}");
        assert!(!shown.contains("Basic"), "{shown}");
    }
}
