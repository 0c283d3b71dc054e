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
    slots: Mutex<Slots>,
}

#[derive(Debug)]
struct Slots {
    /// The next free slot in turn.
    next: Instant,
    /// No request before this (a 429's wait).
    paused_until: Instant,
    /// The last slot taken ahead of the queue: those are spaced too.
    last_first: Option<Instant>,
}

impl Pacer {
    /// `rate` requests per second, at least 0.1.
    pub fn new(rate: f64) -> Self {
        let rate = if rate.is_finite() { rate.max(0.1) } else { 5.0 };
        let now = Instant::now();
        Self {
            spacing: Duration::from_secs_f64(1.0 / rate),
            slots: Mutex::new(Slots {
                next: now,
                paused_until: now,
                last_first: None,
            }),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves the next free slot and returns when it is due.
    fn reserve(&self) -> Instant {
        let mut slots = self.slots();
        let now = Instant::now();
        let slot = slots.next.max(now).max(slots.paused_until);
        slots.next = slot + self.spacing;
        slot
    }

    /// A slot ahead of those already reserved: now, unless a 429's wait or the last such slot
    /// says later. Every reserved slot moves one step back, so the budget still holds over
    /// any stretch of time, give or take this one request.
    fn reserve_first(&self) -> Instant {
        let mut slots = self.slots();
        let now = Instant::now();
        let mut slot = now.max(slots.paused_until);
        if let Some(last) = slots.last_first {
            slot = slot.max(last + self.spacing);
        }
        slots.last_first = Some(slot);
        slots.next = slots.next.max(slot) + self.spacing;
        slot
    }

    /// Pushes every future slot past `until`.
    fn pause_until(&self, until: Instant) {
        let mut slots = self.slots();
        if slots.paused_until < until {
            slots.paused_until = until;
        }
        if slots.next < until {
            slots.next = until;
        }
    }
}

impl RequestGate for Pacer {
    fn acquire(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let slot = self.reserve();
        Box::pin(tokio::time::sleep_until(slot))
    }

    fn acquire_first(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let slot = self.reserve_first();
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
    async fn a_request_someone_waits_on_goes_ahead_of_the_polls() {
        let pacer = Pacer::new(5.0);
        // Eight polls hold the next 1.6 s of the budget.
        let polls: Vec<Instant> = (0..8).map(|_| pacer.reserve()).collect();
        let start = Instant::now();
        pacer.acquire_first().await;
        assert_eq!(Instant::now() - start, Duration::ZERO);
        // Two in a row are still spaced by the budget.
        pacer.acquire_first().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(200));
        // The polls waiting already keep their slots; the next one comes after them all,
        // two steps later: over the whole stretch the budget holds.
        let next = pacer.reserve();
        assert_eq!(next - polls[7], Duration::from_millis(600));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_holds_back_requests_taken_first_too() {
        let pacer = Pacer::new(100.0);
        let start = Instant::now();
        pacer.rate_limited(Some(Duration::from_secs(3)));
        pacer.acquire_first().await;
        assert!(Instant::now() - start >= Duration::from_secs(3));
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
