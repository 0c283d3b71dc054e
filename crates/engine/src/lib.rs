//! kling-tui's engine and everything below it: `api` (the wire protocol and its client),
//! `engine` (jobs, their lifecycle, the ledger), `daemon` (the engine behind a socket), `batch`
//! (plans from files), `config`, `media` (local files checked before upload), `takes` (marks,
//! lineage, sequences and the provenance beside each video), `cut` (clips joined into one film
//! by ffmpeg), with the plain helpers they share. No terminal code: the
//! front-ends are another crate, so the compiler keeps the engine from ever drawing or reaching
//! back into them.

pub mod api;
pub mod batch;
pub mod config;
pub mod cut;
pub mod daemon;
pub mod engine;
pub use kling;
pub mod media;
pub mod sanitize;
pub mod takes;
pub mod units;
