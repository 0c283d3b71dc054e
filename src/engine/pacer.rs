//! The global request budget shared by every API call the engine makes: requests are spaced
//! evenly at `rate` per second, so a thousand jobs cost the API no more than a few; a 429 pauses
//! everyone for the wait the server asked for. Hand-written because the pacing and the shared
//! cool-down must be one clock: a token bucket crate would still need the cool-down beside it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::api::RequestGate;

/// Used when a 429 names no wait.
const DEFAULT_COOL_DOWN: Duration = Duration::from_secs(5);
const MAX_COOL_DOWN: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct Pacer {
    spacing: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    /// `rate` requests per second, at least 0.1.
    pub fn new(rate: f64) -> Self {
        let rate = if rate.is_finite() { rate.max(0.1) } else { 5.0 };
        Self {
            spacing: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Reserves the next free slot and returns when it is due.
    fn reserve(&self) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let slot = (*next).max(now);
        *next = slot + self.spacing;
        slot
    }

    /// Pushes every future slot past `until`.
    fn pause_until(&self, until: Instant) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        if *next < until {
            *next = until;
        }
    }
}

impl RequestGate for Pacer {
    fn acquire(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let slot = self.reserve();
        Box::pin(tokio::time::sleep_until(slot))
    }

    fn rate_limited(&self, retry_after: Option<Duration>) {
        let wait = retry_after.unwrap_or(DEFAULT_COOL_DOWN).min(MAX_COOL_DOWN);
        tracing::warn!("rate limited: pausing all requests for {wait:?}");
        self.pause_until(Instant::now() + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_budget() {
        let pacer = Pacer::new(5.0);
        let start = Instant::now();
        for _ in 0..11 {
            pacer.acquire().await;
        }
        // 11 requests at 5/s: the last one goes out 2 s after the first.
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_everyone() {
        let pacer = Pacer::new(100.0);
        pacer.acquire().await;
        let start = Instant::now();
        pacer.rate_limited(Some(Duration::from_secs(3)));
        pacer.acquire().await;
        assert!(Instant::now() - start >= Duration::from_secs(3));
    }
}
