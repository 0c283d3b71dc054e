//! The simulator's uploads over real loopback HTTP: small images sent inline, multipart
//! uploads through the CDN host, their validation, import, faults and counters.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kling_sim::{self as sim, Fault, SimConfig, SimHandle};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG};
use serde_json::{Value, json};

const MIB: usize = 1024 * 1024;
const GENERATE: &str = "generate/custom/model_kling-v3-omni-video";

fn client() -> reqwest::Client {
    // Plain HTTP needs no TLS, but building a client needs a provider installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn start() -> (SimHandle, reqwest::Client) {
    let sim = sim::start(SimConfig {
        time_scale: 600.0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    (sim, client())
}

async fn post(c: &reqwest::Client, sim: &SimHandle, path: &str, body: &Value) -> reqwest::Response {
    c.post(format!("{}/{path}", sim.api_url))
        .basic_auth(sim::DEMO_API_KEY, Some(sim::DEMO_API_SECRET))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn get(c: &reqwest::Client, sim: &SimHandle, path: &str) -> Value {
    let response = c
        .get(format!("{}/{path}", sim.api_url))
        .basic_auth(sim::DEMO_API_KEY, Some(sim::DEMO_API_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.json().await.unwrap()
}

/// The `reason` of a 400 answer.
async fn refused(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    body["reason"].as_str().unwrap().to_string()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// A real, gray `width` x `height` PNG: 8-bit grayscale, one stored (uncompressed) deflate
/// block.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    let mut raw = Vec::new();
    for _ in 0..height {
        raw.push(0); // filter: none
        raw.extend(std::iter::repeat_n(0x80, width as usize));
    }
    let len = raw.len() as u16;
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&len.to_le_bytes());
    zlib.extend_from_slice(&(!len).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// `len` bytes that start with a valid `ftyp` box, as an MP4 does.
fn mp4(len: usize) -> Vec<u8> {
    let mut bytes = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    bytes.extend((0..).map(|i: u32| (i % 251) as u8).take(len - bytes.len()));
    bytes
}

fn video_upload(parts: usize, file_size: usize) -> Value {
    json!({
        "fileName": "clip.mp4",
        "contentType": "video/mp4",
        "kind": "video",
        "parts": parts,
        "fileSize": file_size,
    })
}

/// Creates an upload and returns it with the URLs of its parts.
async fn create_upload(
    c: &reqwest::Client,
    sim: &SimHandle,
    body: &Value,
) -> (String, Vec<String>) {
    let response = post(c, sim, "uploads", body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    let upload = &answer["upload"];
    assert_eq!(upload["status"], "pending");
    let id = upload["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("upload_"), "{id}");
    let urls = upload["parts"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, part)| {
            assert_eq!(part["number"], i + 1);
            assert!(part["expires"].as_str().unwrap().ends_with('Z'), "{part}");
            part["url"].as_str().unwrap().to_string()
        })
        .collect();
    (id, urls)
}

/// PUTs a part the way a client must: no credentials.
async fn put(c: &reqwest::Client, url: &str, bytes: &[u8]) -> reqwest::Response {
    c.put(url).body(bytes.to_vec()).send().await.unwrap()
}

async fn complete(c: &reqwest::Client, sim: &SimHandle, id: &str) -> reqwest::Response {
    post(
        c,
        sim,
        &format!("uploads/{id}/action"),
        &json!({"action": "complete"}),
    )
    .await
}

/// Polls until the upload is imported or failed; bounded by a number of polls, not by time.
async fn wait_final(c: &reqwest::Client, sim: &SimHandle, id: &str) -> Value {
    let mut seen = Vec::new();
    for _ in 0..2000 {
        let upload = get(c, sim, &format!("uploads/{id}")).await["upload"].clone();
        let status = upload["status"].as_str().unwrap().to_string();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "imported" || status == "failed" {
            // Statuses only move forward.
            let order = ["validating", "validated", "imported", "failed"];
            let ranks: Vec<usize> = seen
                .iter()
                .map(|s| order.iter().position(|o| o == s).unwrap())
                .collect();
            assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
            return upload;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("upload {id} never finished");
}

#[tokio::test]
async fn a_small_png_becomes_an_asset_a_job_can_reference() {
    let (sim, c) = start().await;
    let image = png(3, 2);
    let response = post(
        &c,
        &sim,
        "assets",
        &json!({"image": STANDARD.encode(&image), "name": "frame.png"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let asset = response.json::<Value>().await.unwrap()["asset"].clone();
    let id = asset["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("asset_"), "{asset}");
    assert_eq!(asset["kind"], "image");
    assert_eq!(asset["mimeType"], "image/png");
    assert_eq!(asset["name"], "frame.png");
    assert_eq!(
        asset["metadata"],
        json!({"kind": "image", "type": "uploaded", "size": image.len(), "width": 3, "height": 2})
    );

    // A data URL works as well, and the existing asset route knows both.
    let data_url = format!("data:image/png;base64,{}", STANDARD.encode(&image));
    let response = post(&c, &sim, "assets", &json!({"image": data_url})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let fetched = get(&c, &sim, &format!("assets/{id}")).await["asset"].clone();
    assert_eq!(fetched["id"], id.as_str());
    assert_eq!(fetched["metadata"]["size"], image.len());

    // Its signed link downloads the same bytes from the CDN host, without credentials.
    let url = fetched["url"].as_str().unwrap();
    assert!(url.starts_with(&sim.cdn_base), "{url}");
    let download = c.get(url).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()[CONTENT_TYPE], "image/png");
    assert_eq!(download.bytes().await.unwrap(), image);
    assert_eq!(sim.uploaded_bytes(&id), Some(image));

    // A job that uses it records the ids it was given.
    let body = json!({
        "prompt": "The scene in <<<image_1>>> comes alive",
        "mode": "pro",
        "duration": 5,
        "startImage": id,
        "referenceImages": [id],
    });
    let response = post(&c, &sim, GENERATE, &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let job: Value = response.json().await.unwrap();
    let job_id = job["job"]["jobId"].as_str().unwrap();
    let shown = get(&c, &sim, &format!("jobs/{job_id}")).await;
    let input = &shown["job"]["metadata"]["input"];
    assert_eq!(input["startImage"], id.as_str());
    assert_eq!(input["referenceImages"], json!([id]));

    let stats = sim.stats();
    assert_eq!(stats.asset_uploads, 2);
    assert_eq!(stats.get_asset, 1);
}

#[tokio::test]
async fn inline_images_of_the_wrong_kind_or_size_are_refused() {
    let (sim, c) = start().await;
    let gif = STANDARD.encode(b"GIF89a\x01\0\x01\0\0\0\0;");
    let reason = refused(post(&c, &sim, "assets", &json!({"image": gif})).await).await;
    assert!(reason.starts_with("Unsupported image type"), "{reason}");

    let reason = refused(post(&c, &sim, "assets", &json!({"image": "not base64!"})).await).await;
    assert!(reason.starts_with("image: "), "{reason}");
    let reason = refused(post(&c, &sim, "assets", &json!({"name": "a.png"})).await).await;
    assert!(reason.starts_with("image: "), "{reason}");

    let mut big = png(2, 2);
    big.resize(6_000_000, 0);
    let reason =
        refused(post(&c, &sim, "assets", &json!({"image": STANDARD.encode(&big)})).await).await;
    assert!(reason.contains("multipart upload"), "{reason}");

    let unauthorized = c
        .post(format!("{}/assets", sim.api_url))
        .json(&json!({"image": STANDARD.encode(png(1, 1))}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    let stats = sim.stats();
    assert_eq!((stats.asset_uploads, stats.unauthorized), (4, 1));
}

#[tokio::test]
async fn a_two_part_video_upload_is_imported_as_an_asset() {
    let (sim, c) = start().await;
    let video = mp4(5 * MIB + 1000);
    let (id, urls) = create_upload(&c, &sim, &video_upload(2, video.len())).await;
    assert_eq!(urls.len(), 2);
    for url in &urls {
        assert!(url.contains("/upload/"), "{url}");
        assert!(
            !url.starts_with(&sim.api_url),
            "parts go to the CDN host: {url}"
        );
    }
    let (first, second) = video.split_at(5 * MIB);
    // Out of order, as parallel uploads arrive.
    for (url, bytes) in [(&urls[1], second), (&urls[0], first)] {
        let response = put(&c, url, bytes).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().contains_key(ETAG));
    }
    let response = complete(&c, &sim, &id).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["upload"]["status"], "validating");

    let upload = wait_final(&c, &sim, &id).await;
    assert_eq!(upload["status"], "imported", "{upload}");
    let asset_id = upload["entityId"].as_str().unwrap();
    assert!(asset_id.starts_with("asset_"), "{upload}");
    let asset = get(&c, &sim, &format!("assets/{asset_id}")).await["asset"].clone();
    assert_eq!(asset["kind"], "video");
    assert_eq!(asset["mimeType"], "video/mp4");
    assert_eq!(asset["metadata"]["size"], video.len());
    let download = c.get(asset["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.bytes().await.unwrap() == video);

    // A second complete is refused: the upload is no longer pending.
    let reason = refused(complete(&c, &sim, &id).await).await;
    assert!(reason.contains("already completed"), "{reason}");

    let body = json!({
        "prompt": "Restyle <<<video_1>>>",
        "aspectRatio": "16:9",
        "referenceVideo": asset_id,
        "videoReferenceType": "feature",
    });
    let response = post(&c, &sim, GENERATE, &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["job"]["metadata"]["input"]["referenceVideo"], asset_id);

    let stats = sim.stats();
    assert_eq!(stats.uploads_created, 1);
    assert_eq!(stats.upload_parts_put, 2);
    assert_eq!(stats.upload_completes, 2);
    assert_eq!(stats.upload_put_with_authorization, 0);
}

#[tokio::test]
async fn complete_refuses_missing_parts_and_small_parts_but_the_last() {
    let (sim, c) = start().await;
    let video = mp4(10 * MIB + 10);
    let (id, urls) = create_upload(&c, &sim, &video_upload(3, video.len())).await;
    assert_eq!(
        put(&c, &urls[0], &video[..5 * MIB]).await.status(),
        StatusCode::OK
    );
    let reason = refused(complete(&c, &sim, &id).await).await;
    assert!(reason.contains("parts not uploaded: 2, 3"), "{reason}");

    // Part 2 short: parts 1 and 3 are fine, but only the last may be under 5 MiB.
    let (id, urls) = create_upload(&c, &sim, &video_upload(3, video.len())).await;
    for (url, bytes) in urls.iter().zip([
        &video[..5 * MIB],
        &video[5 * MIB..5 * MIB + 10],
        &video[5 * MIB + 10..],
    ]) {
        assert_eq!(put(&c, url, bytes).await.status(), StatusCode::OK);
    }
    let reason = refused(complete(&c, &sim, &id).await).await;
    assert!(reason.contains("at least 5 MiB"), "{reason}");
    assert!(reason.contains("part 2 is 10 bytes"), "{reason}");
    let upload = get(&c, &sim, &format!("uploads/{id}")).await;
    assert_eq!(upload["upload"]["status"], "pending");

    // Putting the part again replaces it, and then the upload completes.
    assert_eq!(
        put(&c, &urls[1], &video[5 * MIB..10 * MIB]).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        put(&c, &urls[2], &video[10 * MIB..]).await.status(),
        StatusCode::OK
    );
    assert_eq!(complete(&c, &sim, &id).await.status(), StatusCode::OK);
    assert_eq!(wait_final(&c, &sim, &id).await["status"], "imported");
}

#[tokio::test]
async fn bad_upload_requests_and_bad_part_puts_are_refused() {
    let (sim, c) = start().await;
    for (body, field) in [
        (video_upload(0, 100), "parts"),
        (video_upload(10_001, 100), "parts"),
        (video_upload(1, 0), "fileSize"),
        (video_upload(1, 200_000_001), "fileSize"),
        (
            json!({"fileName": "a.png", "contentType": "image/png", "kind": "image", "parts": 2, "fileSize": 10_000_001}),
            "fileSize",
        ),
        (
            json!({"fileName": "a.gif", "contentType": "image/gif", "kind": "image", "parts": 1, "fileSize": 10}),
            "contentType",
        ),
    ] {
        let reason = refused(post(&c, &sim, "uploads", &body).await).await;
        assert!(reason.starts_with(field), "{body}: {reason}");
    }
    assert_eq!(sim.stats().uploads_created, 0);

    let (id, urls) = create_upload(&c, &sim, &video_upload(1, 100)).await;
    // Credentials must never reach the storage host.
    let with_auth = c
        .put(&urls[0])
        .basic_auth(sim::DEMO_API_KEY, Some(sim::DEMO_API_SECRET))
        .body(mp4(100))
        .send()
        .await
        .unwrap();
    assert_eq!(with_auth.status(), StatusCode::BAD_REQUEST);
    // A link for another part, or tampered with, is refused.
    let forged = urls[0].replace("/1?", "/2?");
    assert_eq!(put(&c, &forged, b"x").await.status(), StatusCode::FORBIDDEN);
    let unsigned = urls[0].split('?').next().unwrap();
    assert_eq!(
        put(&c, unsigned, b"x").await.status(),
        StatusCode::FORBIDDEN
    );

    assert!(
        get(&c, &sim, &format!("uploads/{id}")).await["upload"]
            .get("entityId")
            .is_none()
    );
    let missing = c
        .get(format!("{}/uploads/upload_nope", sim.api_url))
        .basic_auth(sim::DEMO_API_KEY, Some(sim::DEMO_API_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let stats = sim.stats();
    assert_eq!(stats.upload_put_with_authorization, 1);
    assert_eq!(stats.upload_parts_put, 3);
}

#[tokio::test]
async fn a_failed_part_put_stores_nothing_and_can_be_retried() {
    let (sim, c) = start().await;
    let video = mp4(4000);
    let (id, urls) = create_upload(&c, &sim, &video_upload(1, video.len())).await;
    sim.inject(Fault::UploadPartFail { count: 1 });
    assert_eq!(
        put(&c, &urls[0], &video).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let reason = refused(complete(&c, &sim, &id).await).await;
    assert!(reason.contains("parts not uploaded: 1"), "{reason}");
    assert_eq!(put(&c, &urls[0], &video).await.status(), StatusCode::OK);
    assert_eq!(complete(&c, &sim, &id).await.status(), StatusCode::OK);
    assert_eq!(wait_final(&c, &sim, &id).await["status"], "imported");
    let stats = sim.stats();
    assert_eq!(stats.upload_parts_put, 2);
    assert_eq!(stats.upload_completes, 2);
}

#[tokio::test]
async fn imports_fail_on_a_fault_the_wrong_type_or_the_wrong_size() {
    let (sim, c) = start().await;
    let video = mp4(4000);
    let image = png(4, 4);
    sim.inject(Fault::ImportFail { count: 1 });
    for (bytes, file_size, message) in [
        (&video, video.len(), "The file could not be imported"),
        (
            &image,
            image.len(),
            "The file is not a valid video/mp4 file",
        ),
        (&video, video.len() + 1, "fileSize"),
    ] {
        let (id, urls) = create_upload(&c, &sim, &video_upload(1, file_size)).await;
        assert_eq!(put(&c, &urls[0], bytes).await.status(), StatusCode::OK);
        assert_eq!(complete(&c, &sim, &id).await.status(), StatusCode::OK);
        let upload = wait_final(&c, &sim, &id).await;
        assert_eq!(upload["status"], "failed", "{upload}");
        let error = upload["errorMessage"].as_str().unwrap();
        assert!(error.contains(message), "{error}");
        assert!(upload.get("entityId").is_none());
    }

    // The fault was used up: the same upload now imports, as an image of its own kind.
    let body = json!({
        "fileName": "still.png", "contentType": "image/png", "kind": "image",
        "parts": 1, "fileSize": image.len(),
    });
    let (id, urls) = create_upload(&c, &sim, &body).await;
    assert_eq!(put(&c, &urls[0], &image).await.status(), StatusCode::OK);
    assert_eq!(complete(&c, &sim, &id).await.status(), StatusCode::OK);
    let upload = wait_final(&c, &sim, &id).await;
    assert_eq!(upload["status"], "imported", "{upload}");
    let asset_id = upload["entityId"].as_str().unwrap();
    let asset = get(&c, &sim, &format!("assets/{asset_id}")).await["asset"].clone();
    assert_eq!(asset["kind"], "image");
    assert_eq!(
        asset["metadata"],
        json!({"kind": "image", "type": "uploaded", "size": image.len(), "width": 4, "height": 4})
    );
}
