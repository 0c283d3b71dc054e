//! Credentials never follow a redirect to another host.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use kling_tui::api::{ClientOptions, Credentials, ScenarioClient, parse_api_url};

async fn serve(router: Router, ip: &str) -> String {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_with_credentials() {
    // The "other host" records every Authorization header it is sent.
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let record = seen.clone();
    let other = Router::new().route(
        "/{*rest}",
        get(move |headers: HeaderMap| {
            let record = record.clone();
            async move {
                let auth = headers
                    .get(header::AUTHORIZATION)
                    .map(|v| v.to_str().unwrap_or("").to_string());
                record.lock().unwrap().push(auth);
                (
                    StatusCode::OK,
                    r#"{"job":{"jobId":"job_1","status":"success"}}"#,
                )
            }
        }),
    );
    let other_url = serve(other, "127.0.0.1").await;
    let target = format!("{other_url}/v1/jobs/job_1");
    let api = Router::new().route(
        "/v1/jobs/{id}",
        get(move || {
            let target = target.clone();
            async move { (StatusCode::FOUND, [(header::LOCATION, target)]).into_response() }
        }),
    );
    let api_url = serve(api, "127.0.0.1").await;

    let options = ClientOptions::new(
        parse_api_url(&format!("{api_url}/v1")).unwrap(),
        Credentials::new("key", "secret"),
    );
    let client = ScenarioClient::new(options).unwrap();
    let err = client.get_job("job_1").await.unwrap_err();
    assert_eq!(err.status(), Some(302), "{err}");
    // It says where it was sent and why it did not go.
    let text = err.to_string();
    assert!(
        text.contains("/v1/jobs/job_1") && text.contains("was not followed"),
        "{text}"
    );
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().all(|auth| auth.is_none()),
        "credentials reached another host: {seen:?}"
    );
}

#[tokio::test]
async fn a_redirect_within_the_api_host_is_followed() {
    let api = Router::new()
        .route(
            "/v1/jobs/old",
            get(|| async {
                (StatusCode::FOUND, [(header::LOCATION, "/v1/jobs/new")]).into_response()
            }),
        )
        .route(
            "/v1/jobs/new",
            get(|headers: HeaderMap| async move {
                let authed = headers.contains_key(header::AUTHORIZATION);
                let status = if authed { "success" } else { "failure" };
                format!(r#"{{"job":{{"jobId":"job_new","status":"{status}"}}}}"#)
            }),
        );
    let api_url = serve(api, "127.0.0.1").await;
    let options = ClientOptions::new(
        parse_api_url(&format!("{api_url}/v1")).unwrap(),
        Credentials::new("key", "secret"),
    );
    let job = ScenarioClient::new(options)
        .unwrap()
        .get_job("old")
        .await
        .unwrap();
    assert_eq!(job.job_id, "job_new");
    assert_eq!(
        job.status.as_str(),
        "success",
        "credentials were not kept on the same host"
    );
}
