//! kling-tui: a terminal client for Kling V3 Omni video generation through the Scenario API.
//!
//! Layers, each talking to the next through plain types: `kling` (the request model, its own
//! crate), `api` (the wire protocol), `engine` (jobs, the ledger), `daemon` (the engine behind
//! a socket) — these three and what they share are the `kling-engine` crate, re-exported here
//! under their own names — then `headless` and `tui` (the front-ends), and `sim` (a local
//! Scenario, its own crate, with the `demo` feature). The binary's `cli` wires them together.

pub use kling_engine::{api, batch, config, cut, daemon, engine, media, sanitize, takes, units};
pub mod cli;
pub mod entry;
pub mod headless;
pub use kling;
pub mod session;
#[cfg(feature = "demo")]
pub use kling_sim as sim;
pub mod tui;
