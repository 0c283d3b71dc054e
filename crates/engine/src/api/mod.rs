//! The Scenario wire protocol: HTTP client, auth, retries, serde types and errors. Knows nothing
//! of jobs lists, journals or screens.

mod auth;
mod client;
mod download;
mod endpoint;
mod error;
mod retry;
pub mod types;
mod upload;

pub use auth::Credentials;
pub use client::{
    ClientOptions, DEFAULT_MAX_DOWNLOAD, DEFAULT_STALL_TIMEOUT, Gate, RequestGate, ScenarioClient,
    server_id,
};
pub use download::{
    Destination, DownloadObserver, DownloadProgress, MAX_PICTURE_BYTES, OnProgress, PictureType,
    Saved, extension_for_mime, part_path,
};
pub use endpoint::{DEFAULT_API_URL, check_url, parse_api_url};
pub use error::ApiError;
pub use retry::{RetryEvent, RetryNotice, RetryPolicy};
pub use upload::{INLINE_IMAGE_LIMIT, MIN_PART, UploadProgress, part_size};
