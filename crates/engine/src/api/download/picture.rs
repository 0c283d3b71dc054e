//! A small image from a signed CDN link (an asset's thumbnail or first frame): fetched without
//! credentials, held in memory under a size cap, and taken only when its first bytes make it a
//! PNG, JPEG or WebP file, whatever the headers claim.

use std::time::Duration;

use reqwest::header::{ACCEPT_ENCODING, CONTENT_LENGTH};

use super::super::client::error_from_response;
use super::{ApiError, ScenarioClient, fail, refuse, signed_url, verify};

/// Far above any thumbnail; small enough to hold in memory.
pub const MAX_PICTURE_BYTES: u64 = 8 << 20;
/// A picture that takes longer than this, however slowly it drips, is given up.
const PICTURE_TIMEOUT: Duration = Duration::from_secs(60);

/// The image formats a terminal picture can be drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureType {
    Png,
    Jpeg,
    Webp,
}

impl PictureType {
    /// The format a file's first bytes announce, if it is one of these.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(PictureType::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(PictureType::Jpeg)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(PictureType::Webp)
        } else {
            None
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            PictureType::Png => "png",
            PictureType::Jpeg => "jpg",
            PictureType::Webp => "webp",
        }
    }
}

impl ScenarioClient {
    /// The image behind `url`, a signed link to asset `asset_id`, at most `max` bytes.
    pub async fn fetch_picture(
        &self,
        asset_id: &str,
        url: Option<&str>,
        max: u64,
    ) -> Result<(Vec<u8>, PictureType), ApiError> {
        let url = signed_url(url).map_err(|d| fail(asset_id, d))?;
        let attempt = || async {
            tokio::time::timeout(PICTURE_TIMEOUT, self.picture_once(asset_id, &url, max))
                .await
                .unwrap_or_else(|_| {
                    Err(fail(
                        asset_id,
                        format!("not received within {} s", PICTURE_TIMEOUT.as_secs()),
                    ))
                })
        };
        self.retry
            .run("picture", attempt, ApiError::is_transient)
            .await
    }

    async fn picture_once(
        &self,
        asset_id: &str,
        url: &url::Url,
        max: u64,
    ) -> Result<(Vec<u8>, PictureType), ApiError> {
        let host = url.host_str().unwrap_or("cdn").to_string();
        let mut response = self
            .cdn
            .get(url.clone())
            .header(ACCEPT_ENCODING, "identity")
            .send()
            .await
            .map_err(|e| ApiError::from_reqwest(&e, &host))?;
        if !response.status().is_success() {
            return Err(error_from_response(response, &host).await);
        }
        if let Some(encoding) = verify::encoding(&response) {
            return Err(refuse(
                asset_id,
                format!("the CDN sent a {encoding}-encoded body although none was asked for"),
            ));
        }
        if let Some(page) = verify::page_type(&response) {
            return Err(refuse(
                asset_id,
                format!("the CDN sent a {page} document, not a picture"),
            ));
        }
        let announced = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if announced.is_some_and(|n| n > max) {
            return Err(too_big(asset_id, max));
        }
        let mut body: Vec<u8> = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ApiError::from_reqwest(&e, &host))?
        {
            if (body.len() + chunk.len()) as u64 > max {
                return Err(too_big(asset_id, max));
            }
            body.extend_from_slice(&chunk);
        }
        match PictureType::sniff(&body) {
            Some(kind) => Ok((body, kind)),
            None if body.is_empty() => Err(refuse(asset_id, "the CDN sent no bytes".into())),
            None => Err(refuse(
                asset_id,
                format!(
                    "not a PNG, JPEG or WebP image: it starts with {}",
                    verify::first_bytes(&body)
                ),
            )),
        }
    }
}

fn too_big(asset_id: &str, max: u64) -> ApiError {
    refuse(
        asset_id,
        format!(
            "larger than {}, too big for a picture",
            crate::units::human_bytes(max)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_three_formats_and_nothing_else() {
        assert_eq!(
            PictureType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(PictureType::Png)
        );
        assert_eq!(
            PictureType::sniff(&[0xff, 0xd8, 0xff, 0xe0]),
            Some(PictureType::Jpeg)
        );
        assert_eq!(
            PictureType::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(PictureType::Webp)
        );
        assert_eq!(PictureType::sniff(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(PictureType::sniff(b"<html>"), None);
        assert_eq!(PictureType::sniff(b""), None);
    }
}
