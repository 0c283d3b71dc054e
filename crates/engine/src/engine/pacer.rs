//! The global request budget shared by every API call the engine makes: requests are spaced
//! evenly at `rate` per second, so a thousand jobs cost the API no more than a few; a 429 pauses
//! everyone for the wait the server asked for. Hand-written because the pacing and the shared
//! cool-down must be one clock: a token bucket crate would still need the cool-down beside it.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::api::RequestGate;

/// Used when a 429 names no wait.
const DEFAULT_COOL_DOWN: Duration = Duration::from_secs(5);
const MAX_COOL_DOWN: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct Pacer {
    spacing: Duration,
    state: Mutex<State>,
    /// The line moved: a request went, or gave up waiting.
    moved: Notify,
}

/// Slots are given when they are due, never reserved ahead: a request someone waits on can
/// then go before reads that were already waiting, and the budget still holds exactly.
#[derive(Debug)]
struct State {
    /// No request before this: the last one went a spacing ago, or a 429 asked for a wait.
    next: Instant,
    /// Waiting, by ticket (first come, first served within each line): requests someone
    /// waits on, and the rest.
    first: BTreeSet<u64>,
    rest: BTreeSet<u64>,
    tickets: u64,
}

impl State {
    fn line(&mut self, first: bool) -> &mut BTreeSet<u64> {
        if first {
            &mut self.first
        } else {
            &mut self.rest
        }
    }
}

impl Pacer {
    /// `rate` requests per second, at least 0.1.
    pub fn new(rate: f64) -> Self {
        let rate = if rate.is_finite() { rate.max(0.1) } else { 5.0 };
        Self {
            spacing: Duration::from_secs_f64(1.0 / rate),
            state: Mutex::new(State {
                next: Instant::now(),
                first: BTreeSet::new(),
                rest: BTreeSet::new(),
                tickets: 0,
            }),
            moved: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this request's turn: the next slot, once every request ahead in line (those
    /// someone waits on first, then the rest, each in order of arrival) has had its own.
    async fn turn(&self, first: bool) {
        let ticket = {
            let mut state = self.state();
            state.tickets += 1;
            let ticket = state.tickets;
            state.line(first).insert(ticket);
            ticket
        };
        // Leaves the line however this ends, a request given up while waiting included.
        let _in_line = InLine {
            pacer: self,
            first,
            ticket,
        };
        loop {
            // Registered before the line is looked at, so that a move after the look is seen.
            let moved = self.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            let slot = {
                let mut state = self.state();
                let now = Instant::now();
                let ahead = if first {
                    state.first.range(..ticket).count()
                } else {
                    state.first.len() + state.rest.range(..ticket).count()
                };
                if ahead == 0 && state.next <= now {
                    state.next = now + self.spacing;
                    return;
                }
                (ahead == 0).then_some(state.next)
            };
            // Only the first in line waits for the clock; the others wait for the line to move,
            // and look again. Woken each at its own reckoning of its turn, they woke too early
            // (every request ahead goes a little after its slot) and again, several times each.
            match slot {
                Some(slot) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(slot) => {}
                        _ = moved => {}
                    }
                }
                None => moved.await,
            }
        }
    }

    /// Pushes every future slot past `until`.
    fn pause_until(&self, until: Instant) {
        let mut state = self.state();
        if state.next < until {
            state.next = until;
        }
    }
}

struct InLine<'a> {
    pacer: &'a Pacer,
    first: bool,
    ticket: u64,
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        let ticket = self.ticket;
        self.pacer.state().line(self.first).remove(&ticket);
        self.pacer.moved.notify_waiters();
    }
}

impl RequestGate for Pacer {
    fn acquire(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.turn(false))
    }

    fn acquire_first(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.turn(true))
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
    use std::sync::Arc;

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

    /// When each request went: `rest` reads waiting first, then `first` requests someone
    /// waits on, all started together.
    async fn race(pacer: Arc<Pacer>, rest: usize, first: usize) -> (Vec<Duration>, Vec<Duration>) {
        let start = Instant::now();
        let spawn = |urgent: bool| {
            let pacer = pacer.clone();
            tokio::spawn(async move {
                if urgent {
                    pacer.acquire_first().await;
                } else {
                    pacer.acquire().await;
                }
                Instant::now() - start
            })
        };
        let rest: Vec<_> = (0..rest).map(|_| spawn(false)).collect();
        // The polls are waiting before anyone asks for anything.
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        let first: Vec<_> = (0..first).map(|_| spawn(true)).collect();
        let mut times = (Vec::new(), Vec::new());
        for task in rest {
            times.0.push(task.await.unwrap());
        }
        for task in first {
            times.1.push(task.await.unwrap());
        }
        times.0.sort();
        times.1.sort();
        times
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_someone_waits_on_goes_ahead_of_the_polls_within_the_budget() {
        let pacer = Arc::new(Pacer::new(5.0));
        let (polls, firsts) = race(pacer, 8, 2).await;
        // The first poll had taken the slot at once; the two that someone waits on take the
        // next two, before the seven polls still waiting.
        assert_eq!(
            firsts,
            [Duration::from_millis(200), Duration::from_millis(400)]
        );
        assert_eq!(polls[0], Duration::ZERO);
        assert_eq!(polls[1], Duration::from_millis(600));
        // Ten requests, one every 200 ms: the budget holds exactly.
        let mut all: Vec<Duration> = polls.iter().chain(&firsts).copied().collect();
        all.sort();
        for (n, at) in all.iter().enumerate() {
            assert_eq!(*at, Duration::from_millis(200) * n as u32, "{all:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_given_up_while_waiting_leaves_the_line() {
        let pacer = Arc::new(Pacer::new(5.0));
        pacer.acquire().await;
        let waiting = {
            let pacer = pacer.clone();
            tokio::spawn(async move { pacer.acquire_first().await })
        };
        tokio::time::sleep(Duration::from_millis(1)).await;
        waiting.abort();
        let _ = waiting.await;
        let start = Instant::now();
        pacer.acquire().await;
        // Only the spacing after the first request: nobody is left ahead.
        assert!(Instant::now() - start <= Duration::from_millis(200));
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
