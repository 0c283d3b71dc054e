//! A job's life in one place: what is persisted of it ([`job`], moved by the [`record`]s the
//! ledger stores), what only this run of the engine knows ([`phase`], moved only by
//! `Phase::apply`), and the one answer every reader asks of them: where the job is
//! ([`place`]).

pub mod job;
pub(crate) mod phase;
pub mod place;
pub mod record;
