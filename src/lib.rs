//! kling-tui: a terminal client for Kling V3 Omni video generation through the Scenario API.
//!
//! Layers, each talking to the next through plain types:
//! `api` (the wire protocol), `kling` (the request model), `sim` (a local Scenario), and the
//! binary's `cli`, which wires them together.

pub mod api;
pub mod batch;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod headless;
pub mod kling;
pub mod media;
pub mod sanitize;
pub mod sim;
pub mod tui;
pub mod units;
