//! What every API request goes through before its handler: logging, latency, Basic auth,
//! then one-shot faults, then rate-based faults.

use std::collections::HashMap;

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::state::Sim;
use super::{Route, SimConfig};

/// The query string as name/value pairs; repeated names keep the last value.
pub(crate) fn query_map(raw: Option<String>) -> HashMap<String, String> {
    raw.map(|raw| {
        url::form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// Checks `Authorization: Basic base64(key:secret)`.
fn authorized(headers: &HeaderMap, config: &SimConfig) -> bool {
    let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let expected = format!("{}:{}", config.api_key, config.api_secret);
    STANDARD
        .decode(encoded.trim())
        .is_ok_and(|decoded| decoded == expected.as_bytes())
}

/// Lets a request through to its handler, or answers it here.
pub(crate) async fn gate(
    sim: &Sim,
    route: Route,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<(), Response> {
    {
        let mut inner = sim.lock();
        sim.log_request(&mut inner, route);
        if let Some(project) = query.get("projectId") {
            inner.stats.last_project_id = Some(project.clone());
        }
    }
    let latency = sim.config.faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut inner = sim.lock();
    if !authorized(headers, &sim.config) {
        inner.stats.unauthorized += 1;
        return Err(inner.error(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    inner.stats.count(route);
    if let Some(status) = inner.faults.api_status(route) {
        return Err(inner.error_code(status));
    }
    if let Some(seconds) = inner.faults.api_wait(route) {
        let body = serde_json::json!({
            "reason": "Too many requests",
            "trace_id": inner.trace_id(),
            "remainingSeconds": seconds,
        });
        return Err(inner.error_body(StatusCode::TOO_MANY_REQUESTS, body));
    }
    if route.is_get() && inner.roll(sim.config.faults.rate_5xx) {
        let status = inner.pick_5xx();
        return Err(inner.error_code(status));
    }
    Ok(())
}
