//! Bulk batches: a file of requests, expanded and checked whole before anything is sent.

// The expansion that uses it comes next; until then only its tests call it.
#[allow(dead_code)]
mod template;
