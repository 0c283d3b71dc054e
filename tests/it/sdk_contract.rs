//! The simulator against the official SDK's types: every kind of answer it gives, driven over
//! loopback HTTP, is validated against the JSON Schema of the SDK response model it stands for
//! (scenario-sdk, exported by scripts/export-sdk-schemas.sh into tests/fixtures/sdk-schemas/),
//! once as the simulator writes answers by default and once per `Variation`. The files the
//! CDN serves must be what the assets say. The switches of `SimConfig` that change answers
//! are checked here too.

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonschema::Validator;
use kling_sim::{
    self as sim, Fault, LateAssets, ModelSchema, SimConfig, SimHandle, UNKNOWN_FIELD, UploadDone,
    Variation,
};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

const MODEL_ID: &str = "model_kling-v3-omni-video";
const GENERATE: &str = "generate/custom/model_kling-v3-omni-video";
/// Stills of a video, by the asset field that names them and the suffix of their asset id.
const STILLS: [(&str, &str); 4] = [
    ("thumbnail", "_thumb"),
    ("firstFrame", "_frame"),
    ("lastFrame", "_last"),
    ("preview", "_preview"),
];

// ---------------------------------------------------------------------------------------------
// The schemas

/// The SDK model an answer stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Sdk {
    Generate,
    /// The generate answer without its `job`: the SDK types only the 200 answer, and a dry
    /// run (269) creates no job.
    DryRun,
    JobRetrieve,
    /// A page of `GET /jobs` as the SDK's paginator reads it; its items are `JobListResponse`.
    JobPage,
    AssetRetrieve,
    AssetUpload,
    UploadCreate,
    UploadRetrieve,
    UploadAction,
    ModelRetrieve,
    TeamLimits,
}

const ALL_SDK: [Sdk; 11] = [
    Sdk::Generate,
    Sdk::DryRun,
    Sdk::JobRetrieve,
    Sdk::JobPage,
    Sdk::AssetRetrieve,
    Sdk::AssetUpload,
    Sdk::UploadCreate,
    Sdk::UploadRetrieve,
    Sdk::UploadAction,
    Sdk::ModelRetrieve,
    Sdk::TeamLimits,
];

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sdk-schemas")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (see scripts/export-sdk-schemas.sh)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Sdk {
    fn schema(self) -> Value {
        match self {
            Sdk::Generate => fixture("generate_run_model_response"),
            Sdk::DryRun => {
                let mut schema = fixture("generate_run_model_response");
                schema["required"] = json!([]);
                schema
            }
            Sdk::JobRetrieve => fixture("job_retrieve_response"),
            Sdk::JobPage => fixture("job_list_page"),
            Sdk::AssetRetrieve => fixture("asset_retrieve_response"),
            Sdk::AssetUpload => fixture("asset_upload_response"),
            Sdk::UploadCreate => fixture("upload_create_response"),
            Sdk::UploadRetrieve => fixture("upload_retrieve_response"),
            Sdk::UploadAction => fixture("upload_trigger_action_response"),
            Sdk::ModelRetrieve => fixture("model_retrieve_response"),
            Sdk::TeamLimits => fixture("team_retrieve_limits_response"),
        }
    }
}

/// Every validator, built once. Nothing is fetched: the schemas' `$ref`s are all local.
fn validator(model: Sdk) -> &'static Validator {
    static VALIDATORS: OnceLock<HashMap<Sdk, Validator>> = OnceLock::new();
    let all = VALIDATORS.get_or_init(|| {
        ALL_SDK
            .into_iter()
            .map(|model| {
                let validator = jsonschema::validator_for(&model.schema())
                    .unwrap_or_else(|e| panic!("the schema of {model:?} does not compile: {e}"));
                (model, validator)
            })
            .collect()
    });
    &all[&model]
}

/// Every way `body` breaks the schema of `model`, each with its JSON path.
fn violations(model: Sdk, body: &Value) -> Vec<String> {
    validator(model)
        .iter_errors(body)
        .map(|e| {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() { "/".to_string() } else { at };
            format!("at {at}: {e}")
        })
        .collect()
}

/// The answers checked so far, and every violation found.
#[derive(Default)]
struct Contract {
    label: String,
    checked: BTreeMap<Sdk, usize>,
    violations: Vec<String>,
}

impl Contract {
    fn new(label: &str) -> Self {
        Self {
            label: label.to_string(),
            ..Self::default()
        }
    }

    fn check(&mut self, model: Sdk, what: &str, body: &Value) {
        *self.checked.entry(model).or_default() += 1;
        for violation in violations(model, body) {
            self.violations
                .push(format!("{what} (as {model:?}) {violation}"));
        }
    }

    /// A job's `progress` must be a fraction, whatever the schema lets through.
    fn progress(&mut self, what: &str, job: &Value) {
        if let Some(progress) = job["progress"].as_f64()
            && !(0.0..=1.0).contains(&progress)
        {
            self.violations.push(format!(
                "{what} at /job/progress: {progress} is not between 0 and 1"
            ));
        }
    }

    /// Fails with every violation, or when a kind of answer was never seen.
    fn finish(self, expected: &[Sdk]) {
        let missing: Vec<&Sdk> = expected
            .iter()
            .filter(|m| !self.checked.contains_key(m))
            .collect();
        assert!(
            missing.is_empty(),
            "{}: never checked {missing:?}",
            self.label
        );
        if !self.violations.is_empty() {
            let mut seen = BTreeSet::new();
            let unique: Vec<&String> = self
                .violations
                .iter()
                .filter(|v| seen.insert(v.as_str()))
                .collect();
            panic!(
                "{}: {} violation(s) of the SDK's schemas ({} distinct):\n  {}",
                self.label,
                self.violations.len(),
                unique.len(),
                unique
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            );
        }
        let total: usize = self.checked.values().sum();
        eprintln!("{}: {total} answers valid: {:?}", self.label, self.checked);
    }
}

// ---------------------------------------------------------------------------------------------
// Talking to the simulator

struct Api {
    c: reqwest::Client,
    sim: SimHandle,
}

impl Api {
    async fn start(config: SimConfig) -> Self {
        // Plain HTTP needs no TLS, but building a client needs a provider installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let c = reqwest::Client::builder().no_proxy().build().unwrap();
        Self {
            c,
            sim: common::start(config).await,
        }
    }

    async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not JSON ({status}): {e}: {text}"));
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .c
            .get(format!("{}/{path}", self.sim.api_url))
            .basic_auth(sim::DEMO_API_KEY, Some(sim::DEMO_API_SECRET))
            .send()
            .await
            .unwrap();
        Self::answer(response).await
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .c
            .post(format!("{}/{path}", self.sim.api_url))
            .basic_auth(sim::DEMO_API_KEY, Some(sim::DEMO_API_SECRET))
            .json(body)
            .send()
            .await
            .unwrap();
        Self::answer(response).await
    }

    /// A CDN download, without credentials: status, type and body.
    async fn download(&self, url: &str) -> (StatusCode, String, Vec<u8>) {
        let response = self.c.get(url).send().await.unwrap();
        let status = response.status();
        let mime = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, mime, response.bytes().await.unwrap().to_vec())
    }
}

fn request() -> Value {
    json!({"prompt": "A fox in snow", "mode": "pro", "aspectRatio": "16:9", "duration": 5})
}

fn text<'a>(value: &'a Value, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what}: not a string: {value}"))
}

/// A number as the SDK reads it: any JSON number, whole or not.
fn number(value: &Value, what: &str) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {value}"))
}

fn asset_ids(job: &Value) -> Vec<String> {
    job["metadata"]["assetIds"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .map(|id| text(id, "asset id").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// What the first bytes of a file say it is, as the client's sniffer tells them apart.
fn sniffed(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg"
    } else if bytes.get(4..8) == Some(b"ftyp") {
        if bytes.get(8..12) == Some(b"qt  ") {
            "video/quicktime"
        } else {
            "video/mp4"
        }
    } else {
        "unknown"
    }
}

// ---------------------------------------------------------------------------------------------
// Every answer, once

/// How fast simulated jobs run here: slow enough that every status can be seen by polling
/// (pending lasts 150 ms), fast enough that a job is done in about 6 s.
const SCALE: f64 = 20.0;
const SEEDED: usize = 25;

fn contract_config(variation: Option<Variation>) -> SimConfig {
    SimConfig {
        time_scale: SCALE,
        seed: 7,
        failure_rate: 0.5,
        seed_jobs: SEEDED,
        seed_other_models: 0.2,
        variation,
        // The fuller bill (add-ons, no refund, IP detection) is checked too.
        billing_extras: true,
        ..SimConfig::default()
    }
}

/// Drives every kind of answer the simulator gives and checks each against its schema.
async fn every_answer(variation: Option<Variation>) {
    let label = format!("{variation:?}");
    let api = Api::start(contract_config(variation)).await;
    let mut contract = Contract::new(&label);

    dry_run(&api, &mut contract).await;
    let finished = jobs(&api, &mut contract, variation).await;
    job_pages(&api, &mut contract, finished.len()).await;
    cancel(&api, &finished).await;
    let videos: Vec<String> = finished
        .iter()
        .filter(|job| job["status"] == "success")
        .flat_map(asset_ids)
        .collect();
    assert!(!videos.is_empty(), "{label}: no video to look at");
    for id in &videos {
        video_asset(&api, &mut contract, id, variation).await;
    }
    if variation == Some(Variation::SeveralAssets) {
        several_videos_are_distinct_files(&api, &finished).await;
    }
    inline_image(&api, &mut contract).await;
    multipart_upload(&api, &mut contract, variation).await;
    model(&api, &mut contract).await;
    team_limits(&api, &mut contract).await;
    assert_eq!(api.sim.stats().cdn_with_authorization, 0);

    contract.finish(&ALL_SDK);
}

async fn dry_run(api: &Api, contract: &mut Contract) {
    let (status, body) = api
        .post(&format!("{GENERATE}?dryRun=true"), &request())
        .await;
    assert_eq!(status.as_u16(), 269, "{body}");
    contract.check(Sdk::DryRun, "dry run (269)", &body);
    assert_eq!(
        number(&body["creativeUnitsCost"], "creativeUnitsCost"),
        75.0,
        "{body}"
    );
    // The schema lets any key through; the SDK names these.
    let sdk_keys = Sdk::Generate.schema()["$defs"]["CostDetails"]["properties"].clone();
    if let Some(details) = body["costDetails"].as_object() {
        for key in details.keys() {
            assert!(
                key == UNKNOWN_FIELD || sdk_keys.get(key).is_some(),
                "costDetails key {key:?} is not one of the SDK's: {body}"
            );
        }
    }
}

/// Creates jobs and polls them to their end, checking every answer; returns the final
/// bodies. Sees every status by a GET, and both a success and a failure.
async fn jobs(api: &Api, contract: &mut Contract, variation: Option<Variation>) -> Vec<Value> {
    let mut ids = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut finals: BTreeMap<String, Value> = BTreeMap::new();
    let check_job = |contract: &mut Contract, what: &str, job: &Value| {
        contract.check(Sdk::JobRetrieve, what, &json!({ "job": job }));
        contract.progress(what, job);
    };
    for round in 0..4 {
        for _ in 0..4 {
            let (status, body) = api.post(GENERATE, &request()).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            contract.check(Sdk::Generate, "generate (200)", &body);
            if variation == Some(Variation::UnknownFields) {
                assert!(body["job"][UNKNOWN_FIELD].is_object(), "{body}");
            }
            let id = text(&body["job"]["jobId"], "jobId").to_string();
            // At once, while it is pending.
            let (status, got) = api.get(&format!("jobs/{id}")).await;
            assert_eq!(status, StatusCode::OK);
            contract.check(Sdk::JobRetrieve, "job get", &got);
            seen.insert(text(&got["job"]["status"], "status").to_string());
            ids.push(id);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while finals.len() < ids.len() {
            assert!(Instant::now() < deadline, "jobs never finished: {seen:?}");
            for id in &ids {
                if finals.contains_key(id) {
                    continue;
                }
                let (status, got) = api.get(&format!("jobs/{id}")).await;
                assert_eq!(status, StatusCode::OK);
                let job = &got["job"];
                let now = text(&job["status"], "status").to_string();
                if seen.insert(now.clone()) || matches!(now.as_str(), "success" | "failure") {
                    check_job(contract, &format!("job get ({now})"), job);
                }
                if matches!(now.as_str(), "success" | "failure" | "canceled") {
                    finals.insert(id.clone(), job.clone());
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let ends: BTreeSet<&str> = finals
            .values()
            .filter_map(|job| job["status"].as_str())
            .collect();
        if ends.contains("success") && ends.contains("failure") && seen.contains("pending") {
            break;
        }
        assert!(round < 3, "only saw {seen:?} after {} jobs", ids.len());
    }
    for status in ["pending", "in-progress", "success", "failure"] {
        assert!(seen.contains(status), "never saw {status}: {seen:?}");
    }
    // Left out or null in those two: the error texts and the billing.
    let optional_kept = !matches!(
        variation,
        Some(Variation::OptionalAbsent | Variation::NullableNull)
    );
    for job in finals.values() {
        match job["status"].as_str() {
            Some("failure") if optional_kept => {
                assert!(job["metadata"]["error"].is_string(), "{job}");
                let cost = number(&job["billing"]["cuCost"], "cuCost");
                assert_eq!(cost, 75.0, "the original charge: {job}");
            }
            Some("success") => assert!(!asset_ids(job).is_empty(), "{job}"),
            _ => {}
        }
        if variation == Some(Variation::TimeOffsets) {
            assert!(text(&job["createdAt"], "createdAt").ends_with("+02:00"));
        }
        if variation == Some(Variation::OptionalAbsent) {
            assert!(job.get("authorId").is_none(), "{job}");
        }
    }
    finals.into_values().collect()
}

async fn job_pages(api: &Api, contract: &mut Contract, created: usize) {
    let mut token: Option<String> = None;
    let mut listed = BTreeSet::new();
    for page in 0.. {
        assert!(page < 50, "paging never ends");
        let path = match &token {
            None => "jobs?pageSize=10".to_string(),
            Some(token) => format!("jobs?pageSize=10&paginationToken={token}"),
        };
        let (status, body) = api.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        contract.check(Sdk::JobPage, &format!("job list page {page}"), &body);
        for job in body["jobs"].as_array().into_iter().flatten() {
            contract.progress(&format!("job list page {page}"), job);
            listed.insert(text(&job["jobId"], "jobId").to_string());
        }
        match body["nextPaginationToken"].as_str() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(listed.len(), SEEDED + created);
}

/// A generation job refuses to be canceled: the answer is an error, not a job.
async fn cancel(api: &Api, finished: &[Value]) {
    let id = text(&finished[0]["jobId"], "jobId");
    let (status, body) = api
        .post(&format!("jobs/{id}/action"), &json!({"action": "cancel"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["reason"].is_string(), "{body}");
}

/// A video asset, its file on the CDN, and each of its pictures as an asset and a file.
async fn video_asset(api: &Api, contract: &mut Contract, id: &str, variation: Option<Variation>) {
    let (status, body) = api.get(&format!("assets/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    contract.check(Sdk::AssetRetrieve, "video asset", &body);
    let asset = &body["asset"];
    assert_eq!(asset["kind"], "video");
    let mime = text(&asset["mimeType"], "mimeType");
    let expected = if variation == Some(Variation::Quicktime) {
        "video/quicktime"
    } else {
        "video/mp4"
    };
    assert_eq!(mime, expected);
    let (status, served_as, bytes) = api.download(text(&asset["url"], "url")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served_as, mime);
    assert_eq!(sniffed(&bytes), mime, "the file is what the asset says");
    if let Some(size) = asset["properties"]["size"].as_f64() {
        assert_eq!(size, bytes.len() as f64, "properties.size is the byte size");
    }

    let mut pictures = BTreeMap::new();
    for (field, suffix) in STILLS {
        let named = &asset[field];
        let still_id = if named.is_object() {
            text(&named["assetId"], "assetId").to_string()
        } else {
            // Left out or null in some variations: the still is there all the same.
            assert!(
                matches!(
                    variation,
                    Some(Variation::OptionalAbsent | Variation::NullableNull)
                ),
                "{field} missing: {asset}"
            );
            format!("{id}{suffix}")
        };
        let (status, body) = api.get(&format!("assets/{still_id}")).await;
        assert_eq!(status, StatusCode::OK, "{field}: {body}");
        contract.check(Sdk::AssetRetrieve, &format!("{field} asset"), &body);
        let still = &body["asset"];
        assert_eq!(still["kind"], "image");
        let size = number(&still["properties"]["size"], "properties.size");
        let still_mime = text(&still["mimeType"], "mimeType");
        let url = if named.is_object() {
            text(&named["url"], "url")
        } else {
            text(&still["url"], "url")
        };
        let (status, served_as, png) = api.download(url).await;
        assert_eq!(status, StatusCode::OK, "{field}");
        assert_eq!(served_as, still_mime);
        assert_eq!(sniffed(&png), still_mime, "{field} is a real picture");
        assert_eq!(size, png.len() as f64);
        image::load_from_memory(&png).unwrap_or_else(|e| panic!("{field} does not decode: {e}"));
        pictures.insert(field, png);
    }
    assert_ne!(pictures["firstFrame"], pictures["lastFrame"]);
}

/// With two videos a job, each is a file of its own.
async fn several_videos_are_distinct_files(api: &Api, finished: &[Value]) {
    for job in finished.iter().filter(|job| job["status"] == "success") {
        let ids = asset_ids(job);
        assert_eq!(ids.len(), 2, "{job}");
        let mut files = Vec::new();
        for id in &ids {
            let (_, body) = api.get(&format!("assets/{id}")).await;
            let (_, _, bytes) = api.download(text(&body["asset"]["url"], "url")).await;
            files.push(bytes);
        }
        assert_ne!(files[0], files[1]);
    }
}

async fn inline_image(api: &Api, contract: &mut Contract) {
    let png = SimHandle::thumbnail_bytes("an upload");
    let (status, body) = api
        .post(
            "assets",
            &json!({"image": STANDARD.encode(&png), "name": "ref.png"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    contract.check(Sdk::AssetUpload, "POST /assets", &body);
    let id = text(&body["asset"]["id"], "id");
    let (status, body) = api.get(&format!("assets/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    contract.check(Sdk::AssetRetrieve, "uploaded image asset", &body);
    assert_eq!(
        number(&body["asset"]["properties"]["size"], "size"),
        png.len() as f64
    );
}

/// Creates, fills, completes and polls a one-part video upload; returns the statuses seen
/// and the final body.
async fn upload_once(
    api: &Api,
    contract: &mut Contract,
    variation: Option<Variation>,
) -> (Vec<String>, Value) {
    let video = api.sim.video_bytes().unwrap();
    let (status, body) = api
        .post(
            "uploads",
            &json!({"fileName": "clip.mp4", "contentType": "video/mp4", "kind": "video",
                "parts": 1, "fileSize": video.len()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    contract.check(Sdk::UploadCreate, "POST /uploads", &body);
    let upload = &body["upload"];
    let id = text(&upload["id"], "id").to_string();
    let part = &upload["parts"][0];
    if variation == Some(Variation::FloatNumbers) {
        assert!(part["number"].is_f64(), "{part}");
    }
    assert_eq!(number(&part["number"], "number"), 1.0);
    let mut statuses = Vec::new();
    let (_, body) = api.get(&format!("uploads/{id}")).await;
    contract.check(Sdk::UploadRetrieve, "upload get (pending)", &body);
    statuses.push(text(&body["upload"]["status"], "status").to_string());

    let put = api
        .c
        .put(text(&part["url"], "url"))
        .header(CONTENT_TYPE, "video/mp4")
        .body(video.to_vec())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let (status, body) = api
        .post(
            &format!("uploads/{id}/action"),
            &json!({"action": "complete"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    contract.check(Sdk::UploadAction, "upload action complete", &body);
    statuses.push(text(&body["upload"]["status"], "status").to_string());

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            Instant::now() < deadline,
            "the upload never ended: {statuses:?}"
        );
        let (status, body) = api.get(&format!("uploads/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        let upload = &body["upload"];
        let now = text(&upload["status"], "status").to_string();
        let done = upload["entityId"].is_string() || now == "failed";
        if statuses.last() != Some(&now) || done {
            contract.check(Sdk::UploadRetrieve, &format!("upload get ({now})"), &body);
            statuses.push(now);
        }
        if done {
            return (statuses, upload.clone());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn multipart_upload(api: &Api, contract: &mut Contract, variation: Option<Variation>) {
    let (statuses, upload) = upload_once(api, contract, variation).await;
    assert_eq!(statuses.first().map(String::as_str), Some("pending"));
    assert!(statuses.iter().any(|s| s == "validating"), "{statuses:?}");
    assert!(statuses.iter().any(|s| s == "validated"), "{statuses:?}");
    assert_eq!(upload["status"], "imported", "{upload}");
    let asset_id = text(&upload["entityId"], "entityId");
    let (status, body) = api.get(&format!("assets/{asset_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    contract.check(Sdk::AssetRetrieve, "uploaded video asset", &body);

    api.sim.inject(Fault::ImportFail { count: 1 });
    let (_, upload) = upload_once(api, contract, variation).await;
    assert_eq!(upload["status"], "failed", "{upload}");
}

async fn model(api: &Api, contract: &mut Contract) {
    let (status, body) = api.get(&format!("models/{MODEL_ID}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    contract.check(Sdk::ModelRetrieve, "model", &body);
    let (status, _) = api.get("models/model_flux-1-dev").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn team_limits(api: &Api, contract: &mut Contract) {
    let (status, body) = api.get("teams/team_whatever/limits").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    contract.check(Sdk::TeamLimits, "team limits", &body);
    assert_eq!(
        number(&body["limits"]["parallelCustomJobs"], "parallelCustomJobs"),
        SimConfig::default().concurrency_limit as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_matches_the_sdk_schemas() {
    every_answer(None).await;
}

macro_rules! per_variation {
    ($($name:ident => $variation:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                every_answer(Some(Variation::$variation)).await;
            }
        )+
    };
}

per_variation! {
    every_answer_matches_with_optional_fields_absent => OptionalAbsent,
    every_answer_matches_with_nullable_fields_null => NullableNull,
    every_answer_matches_with_unknown_fields => UnknownFields,
    every_answer_matches_with_float_numbers => FloatNumbers,
    every_answer_matches_with_time_offsets => TimeOffsets,
    every_answer_matches_with_several_assets => SeveralAssets,
    every_answer_matches_with_quicktime_videos => Quicktime,
}

// ---------------------------------------------------------------------------------------------
// The checks themselves, and the switches

#[test]
fn a_broken_answer_fails_with_every_violation_and_its_path() {
    let body = json!({"asset": {
        "id": "asset_1", "url": "https://cdn/x.mp4", "mimeType": "video/mp4", "kind": "video",
        "status": "success", "source": "txt2video", "ownerId": "team_1",
        "privacy": "private", "collectionIds": [], "tags": [], "editCapabilities": [],
        "createdAt": "2026-12-02T16:00:00.000Z", "updatedAt": "2026-12-02T16:00:00.000Z",
        "metadata": {"kind": "video", "type": "txt2video"},
        "properties": {"size": null},
        "thumbnail": {"assetId": "asset_1_thumb"},
    }});
    let found = violations(Sdk::AssetRetrieve, &body);
    let all = found.join("\n");
    assert!(
        all.contains("at /asset: \"authorId\" is a required property"),
        "{all}"
    );
    assert!(
        all.contains("at /asset/properties/size: null is not of type"),
        "{all}"
    );
    assert!(all.contains("at /asset/thumbnail"), "{all}");
    assert_eq!(found.len(), 3, "{all}");
    let mut contract = Contract::new("broken");
    contract.check(Sdk::AssetRetrieve, "a broken asset", &body);
    let panic = std::panic::catch_unwind(move || contract.finish(&[]))
        .expect_err("a violation fails the test");
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("3 violation(s)"), "{message}");
    assert!(message.contains("a broken asset (as AssetRetrieve) at /asset/properties/size"));
}

async fn final_job(api: &Api, id: &str, deadline: Duration) -> Value {
    let until = Instant::now() + deadline;
    loop {
        let (_, body) = api.get(&format!("jobs/{id}")).await;
        if matches!(body["job"]["status"].as_str(), Some("success" | "failure")) {
            return body;
        }
        assert!(Instant::now() < until, "job {id} never finished");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn create(api: &Api, body: &Value) -> String {
    let (status, answer) = api.post(GENERATE, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    text(&answer["job"]["jobId"], "jobId").to_string()
}

#[tokio::test]
async fn asset_ids_come_late_or_never_while_the_job_reads_success() {
    for (late, label) in [
        (
            LateAssets {
                after: Some(Duration::from_millis(400)),
                key_absent: false,
            },
            "empty, then listed",
        ),
        (
            LateAssets {
                after: Some(Duration::from_millis(400)),
                key_absent: true,
            },
            "absent, then listed",
        ),
        (
            LateAssets {
                after: None,
                key_absent: false,
            },
            "never",
        ),
    ] {
        let api = Api::start(SimConfig {
            late_assets: Some(late.clone()),
            ..common::quick_config()
        })
        .await;
        let id = create(&api, &request()).await;
        let body = final_job(&api, &id, Duration::from_secs(10)).await;
        let reached = Instant::now();
        assert!(violations(Sdk::JobRetrieve, &body).is_empty());
        let job = &body["job"];
        assert_eq!(job["status"], "success", "{label}");
        let empty_form = |job: &Value| {
            if late.key_absent {
                job["metadata"].get("assetIds").is_none()
            } else {
                job["metadata"]["assetIds"] == json!([])
            }
        };
        assert!(empty_form(job), "{label}: {job}");
        let (_, page) = api.get("jobs").await;
        assert!(violations(Sdk::JobPage, &page).is_empty());
        assert!(
            empty_form(&page["jobs"][0]),
            "{label}: the list agrees: {page}"
        );

        tokio::time::sleep(Duration::from_millis(600).saturating_sub(reached.elapsed())).await;
        let (_, body) = api.get(&format!("jobs/{id}")).await;
        let (_, page) = api.get("jobs").await;
        if late.after.is_some() {
            assert_eq!(asset_ids(&body["job"]).len(), 1, "{label}: {body}");
            assert_eq!(asset_ids(&page["jobs"][0]).len(), 1, "{label}: {page}");
        } else {
            assert!(empty_form(&body["job"]), "{label}: {body}");
            assert!(empty_form(&page["jobs"][0]), "{label}: {page}");
        }
    }
}

#[tokio::test]
async fn metadata_size_is_a_parameter_and_properties_size_the_bytes() {
    let api = Api::start(SimConfig {
        asset_metadata_size: Some(1234),
        ..common::quick_config()
    })
    .await;
    let id = create(&api, &request()).await;
    let job = final_job(&api, &id, Duration::from_secs(10)).await;
    let asset_id = &asset_ids(&job["job"])[0];
    let (_, body) = api.get(&format!("assets/{asset_id}")).await;
    assert!(violations(Sdk::AssetRetrieve, &body).is_empty());
    let asset = &body["asset"];
    assert_eq!(asset["metadata"]["size"], 1234);
    assert_eq!(asset["properties"]["size"], sim::DEMO_VIDEO_LEN);
    let (_, _, bytes) = api.download(text(&asset["url"], "url")).await;
    assert_eq!(bytes.len(), sim::DEMO_VIDEO_LEN);
}

#[tokio::test]
async fn uploads_end_at_the_configured_status_with_their_entity() {
    for (done, expected) in [
        (
            UploadDone::Imported,
            vec!["pending", "validating", "validated", "imported"],
        ),
        (UploadDone::Complete, vec!["pending", "complete"]),
        (
            UploadDone::Validated,
            vec!["pending", "validating", "validated"],
        ),
    ] {
        let api = Api::start(SimConfig {
            upload_done_status: done,
            time_scale: SCALE,
            ..SimConfig::default()
        })
        .await;
        let mut contract = Contract::new(&format!("{done:?}"));
        let (mut statuses, upload) = upload_once(&api, &mut contract, None).await;
        statuses.dedup();
        assert_eq!(statuses, expected, "{done:?}");
        let entity = text(&upload["entityId"], "entityId");
        let (status, body) = api.get(&format!("assets/{entity}")).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{done:?}: the asset exists once named: {body}"
        );
        contract.finish(&[Sdk::UploadCreate, Sdk::UploadRetrieve, Sdk::UploadAction]);
    }
}

fn input<'a>(model: &'a Value, name: &str) -> &'a Value {
    model["model"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|input| input["name"] == name)
        .unwrap_or_else(|| panic!("no input {name}"))
}

#[tokio::test]
async fn the_model_states_the_rules_and_can_change_or_vanish() {
    // Built in: the rules the client's table knows.
    let api = Api::start(common::quick_config()).await;
    let (status, model) = api.get(&format!("models/{MODEL_ID}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(violations(Sdk::ModelRetrieve, &model).is_empty());
    assert_eq!(input(&model, "prompt")["maxLength"], 2500);
    assert_eq!(input(&model, "prompt")["required"]["always"], true);
    assert_eq!(
        input(&model, "mode")["allowedValues"],
        json!(["standard", "pro", "4k"])
    );
    assert_eq!(input(&model, "duration")["min"], 3);
    assert_eq!(input(&model, "duration")["max"], 15);
    assert_eq!(input(&model, "referenceImages")["type"], "file_array");
    let variants = model["model"]["performanceStats"]["variants"]
        .as_array()
        .unwrap();
    assert_eq!(variants.len(), 3);
    let pro = variants.iter().find(|v| v["variantKey"] == "pro").unwrap();
    assert_eq!(pro["costPerAssetP50CU"], 75);
    // 120 simulated seconds at 600 times real time.
    assert_eq!(number(&pro["totalLatencyP50Sec"], "latency"), 0.2);
    let mut hdr = request();
    hdr["mode"] = "4k-hdr".into();
    let (status, _) = api.post(GENERATE, &hdr).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut twelve = request();
    twelve["duration"] = 12.into();
    let (status, _) = api.post(GENERATE, &twelve).await;
    assert_eq!(status, StatusCode::OK);

    // Extended: a new mode, and a tighter duration the generate route enforces.
    let api = Api::start(SimConfig {
        model_schema: ModelSchema::Extended,
        ..common::quick_config()
    })
    .await;
    let (_, model) = api.get(&format!("models/{MODEL_ID}")).await;
    assert!(violations(Sdk::ModelRetrieve, &model).is_empty());
    assert_eq!(
        input(&model, "mode")["allowedValues"],
        json!(["standard", "pro", "4k", "4k-hdr"])
    );
    assert_eq!(input(&model, "duration")["max"], 10);
    let (status, body) = api.post(GENERATE, &twelve).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        text(&body["reason"], "reason").contains("duration"),
        "{body}"
    );
    let (status, body) = api.post(&format!("{GENERATE}?dryRun=true"), &hdr).await;
    assert_eq!(status.as_u16(), 269, "{body}");
    assert_eq!(body["creativeUnitsCost"], 200);
    let (status, body) = api.post(GENERATE, &hdr).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(violations(Sdk::Generate, &body).is_empty());
    assert_eq!(body["job"]["metadata"]["input"]["mode"], "4k-hdr");

    // Missing: no model at all.
    let api = Api::start(SimConfig {
        model_schema: ModelSchema::Missing,
        ..common::quick_config()
    })
    .await;
    let (status, _) = api.get(&format!("models/{MODEL_ID}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.post(GENERATE, &request()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "generating does not need the model endpoint"
    );
}

#[tokio::test]
async fn team_limits_answer_for_any_team_with_the_concurrency_ceiling() {
    let api = Api::start(SimConfig {
        concurrency_limit: 3,
        ..common::quick_config()
    })
    .await;
    for team in ["team_a", "some-other-team"] {
        let (status, body) = api.get(&format!("teams/{team}/limits")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(violations(Sdk::TeamLimits, &body).is_empty());
        assert_eq!(body["limits"]["parallelCustomJobs"], 3);
    }
}
