//! The integration tests, one binary (linking the crate once, not once per file): real HTTP
//! on loopback against the simulator, the real binary for the CLI, a real pseudo-terminal
//! for the app.

mod common;
mod tui_fixtures;

mod api_client;
mod batch;
mod bounds;
mod cli;
mod cli_continue;
mod cli_cut;
mod cli_list;
mod cli_takes;
mod crash;
mod daemon;
mod downloads;
mod engine;
mod failures;
mod hostile_uploads;
mod json_shape;
mod layers;
mod ledger;
mod model_rules;
mod money;
mod no_panic;
mod on_finish;
mod redirects;
mod remote;
mod sdk_answers;
mod sdk_contract;
mod sim_routes;
mod sim_uploads;
mod thumbnails;
mod tui_editing;
mod tui_failures;
mod tui_layout;
mod tui_moving;
mod tui_pty;
mod tui_selects;
mod tui_sequences;
mod tui_snapshots;
mod tui_state;
mod tui_takes;
mod tui_tmux;
mod uploads;
