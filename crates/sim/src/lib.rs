//! A local Scenario: the same endpoints and behaviour as the real API for Kling V3 Omni
//! video, on loopback, for `--demo` mode, for tests, and for trying scripts without spending
//! credits.
//!
//! Two listeners: the API (Basic auth, under `/v1`) and a CDN on another host serving signed,
//! expiring links. Jobs move through their statuses as a function of their age, scaled by
//! [`SimConfig::time_scale`]; ids, failures and fault rolls follow [`SimConfig::seed`].
//!
//! Answers carry every field the official SDK's response models require (scenario-sdk 2.4.0;
//! tests/sdk_contract.rs checks them against its JSON Schemas), and [`SimConfig`] has switches
//! for the ways the real service may differ from the simulator's habits while staying within
//! those types: assets listed late, statuses, a changed model, other ways of writing answers.
//!
//! Reference media come in as on the real service: small images inline (`POST /assets`),
//! anything else as a multipart upload whose parts are PUT to the CDN host without
//! credentials, then imported over a few simulated seconds into an asset.

mod api_routes;
mod assets;
mod cdn;
mod cdn_tricks;
mod config;
mod cost;
mod faults;
mod gate;
mod generate;
mod jobs;
mod lifecycle;
mod models;
mod picture;
mod range;
mod seed;
mod signing;
mod sniff;
mod state;
mod stats;
mod upload_routes;
mod uploads;
mod variation;
mod video;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::{
    BILLED_ADD_ON, BILLED_IP_DETECTION, DEMO_API_KEY, DEMO_API_SECRET, Faults, LateAssets,
    ModelSchema, SimConfig, UploadDone, Variation,
};
pub use cost::cost;
pub use faults::{Fault, Route};
pub use stats::SimStats;

use state::Sim;
use video::{DEMO_VIDEO, VideoSource};

/// The field [`Variation::UnknownFields`] adds to every object of every answer.
pub const UNKNOWN_FIELD: &str = variation::UNKNOWN_FIELD;

/// The size of the clip the simulator serves unless told to make a synthetic body.
pub const DEMO_VIDEO_LEN: usize = DEMO_VIDEO.len();

/// A running simulator. Dropping it (or calling [`SimHandle::shutdown`]) stops both servers.
pub struct SimHandle {
    /// e.g. `http://127.0.0.1:PORT/v1`
    pub api_url: String,
    /// e.g. `http://127.0.0.2:PORT/cdn`
    pub cdn_base: String,
    sim: Arc<Sim>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("api_url", &self.api_url)
            .field("cdn_base", &self.cdn_base)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// A copy of what the simulator has seen so far.
    pub fn stats(&self) -> SimStats {
        self.sim.lock().stats.clone()
    }

    /// CDN bodies being sent at this moment (a client that stops a transfer ends its body).
    pub fn open_downloads(&self) -> usize {
        self.sim
            .open_bodies
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Queues a one-shot fault; `ExpireAllLinks` takes effect at once.
    pub fn inject(&self, fault: Fault) {
        let mut inner = self.sim.lock();
        match fault {
            Fault::ExpireAllLinks => {
                let key = rand::rng().random();
                inner.links.rotate(key);
            }
            fault => inner.faults.push(fault),
        }
    }

    /// Drops every queued fault: the server is healthy again.
    pub fn clear_faults(&self) {
        self.sim.lock().faults = faults::PendingFaults::default();
    }

    /// The bytes of an uploaded asset (from `POST /assets` or an imported upload), once it
    /// exists.
    pub fn uploaded_bytes(&self, asset_id: &str) -> Option<Vec<u8>> {
        let inner = self.sim.lock();
        let asset = inner.uploads.asset(asset_id, self.sim.now())?;
        Some(asset.bytes.to_vec())
    }

    /// `len` bytes of the synthetic body served when `video_size` is set, from `offset`.
    pub fn synthetic_bytes(offset: u64, len: usize) -> Vec<u8> {
        video::synthetic_bytes(offset, len)
    }

    /// The PNG the CDN serves as the `thumbnail` of the finished video `asset_id`.
    pub fn thumbnail_bytes(asset_id: &str) -> Vec<u8> {
        picture::png(asset_id, picture::Still::Thumbnail)
    }

    /// The PNG the CDN serves as the `firstFrame` of the finished video `asset_id`.
    pub fn first_frame_bytes(asset_id: &str) -> Vec<u8> {
        picture::png(asset_id, picture::Still::FirstFrame)
    }

    /// The PNG the CDN serves as the `lastFrame` of the finished video `asset_id`.
    pub fn last_frame_bytes(asset_id: &str) -> Vec<u8> {
        picture::png(asset_id, picture::Still::LastFrame)
    }

    /// The PNG the CDN serves as the `preview` of the finished video `asset_id`.
    pub fn preview_bytes(asset_id: &str) -> Vec<u8> {
        picture::png(asset_id, picture::Still::Preview)
    }

    /// The embedded demo video as the CDN serves a job's first video (with the QuickTime
    /// brand under [`Variation::Quicktime`]), when the demo video is what it serves.
    pub fn video_bytes(&self) -> Option<&'static [u8]> {
        self.take_bytes(0)
    }

    /// The demo video as the CDN serves a job's video number `take` (from 0; the second one
    /// exists under [`Variation::SeveralAssets`]), when the demo video is what it serves.
    pub fn take_bytes(&self, take: usize) -> Option<&'static [u8]> {
        match self.sim.video {
            VideoSource::Demo => {
                let quicktime = self.sim.config.variation == Some(Variation::Quicktime);
                Some(video::demo_bytes(take, quicktime))
            }
            VideoSource::Synthetic(_) => None,
        }
    }

    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        // Servers finish the requests in flight, close idle connections, and stop.
        let _ = self.stop.send(true);
    }
}

/// Starts the API and CDN servers on the current tokio runtime.
pub async fn start(config: SimConfig) -> io::Result<SimHandle> {
    let api_listener = TcpListener::bind(config.api_addr).await?;
    let cdn_listener = bind_cdn(config.api_addr.ip()).await?;
    let api_url = format!("http://{}/v1", reachable(api_listener.local_addr()?));
    let cdn_base = format!("http://{}/cdn", reachable(cdn_listener.local_addr()?));
    let sim = Arc::new(Sim::new(config, cdn_base.clone()));
    let (stop, stopped) = watch::channel(false);
    serve(
        api_listener,
        api_routes::router(sim.clone()),
        stopped.clone(),
    );
    serve(cdn_listener, cdn::router(sim.clone()), stopped);
    Ok(SimHandle {
        api_url,
        cdn_base,
        sim,
        stop,
    })
}

/// The CDN gets its own loopback address when it can, so links point at another host than
/// the API, as with the real service.
async fn bind_cdn(api_ip: IpAddr) -> io::Result<TcpListener> {
    if api_ip.is_loopback() || api_ip.is_unspecified() {
        let other_host = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2), 0));
        if let Ok(listener) = TcpListener::bind(other_host).await {
            return Ok(listener);
        }
        return TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await;
    }
    TcpListener::bind(SocketAddr::new(api_ip, 0)).await
}

/// An address a local client can connect to: a wildcard bind is reached over loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
    } else {
        addr
    }
}

fn serve(listener: TcpListener, router: Router, mut stopped: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let shutdown = async move {
            // Also ends when the handle is gone and the sender with it.
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!("simulator server stopped: {e}");
        }
    });
}
