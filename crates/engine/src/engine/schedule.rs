//! When each unfinished job is polled next: soon after a change, then less and less often while
//! nothing changes (with jitter, so a thousand jobs do not poll in step), capped; failures back
//! off further and are counted so a job that keeps failing can be shown as stale.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use super::job::LocalId;

#[derive(Debug)]
struct PollState {
    next_at: Instant,
    interval: Duration,
    failures: u32,
    in_flight: bool,
}

/// The jobs, and those not being polled ordered by when they are due: the worker asks for the
/// next one after every event, which with a thousand jobs was a pass over all of them (and a
/// sort of every overdue one to take a few).
#[derive(Debug)]
pub struct Schedule {
    jobs: HashMap<LocalId, PollState>,
    /// `(next_at, id)` of every job not in flight.
    due: BTreeSet<(Instant, LocalId)>,
    in_flight: usize,
    initial: Duration,
    max: Duration,
}

/// ±20 %, so jobs submitted together drift apart.
fn jittered(d: Duration) -> Duration {
    d.mul_f64(rand::rng().random_range(0.8..1.2))
}

impl Schedule {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            jobs: HashMap::new(),
            due: BTreeSet::new(),
            in_flight: 0,
            initial,
            max: max.max(initial),
        }
    }

    /// Starts polling a job: now, or after the first interval.
    pub fn add(&mut self, id: LocalId, now: bool) {
        let next_at = if now {
            Instant::now()
        } else {
            Instant::now() + jittered(self.initial)
        };
        self.remove(id);
        self.jobs.insert(
            id,
            PollState {
                next_at,
                interval: self.initial,
                failures: 0,
                in_flight: false,
            },
        );
        self.due.insert((next_at, id));
    }

    pub fn remove(&mut self, id: LocalId) {
        if let Some(s) = self.jobs.remove(&id) {
            self.leave(id, &s);
        }
    }

    /// Takes a job out of the due order, or out of the count in flight.
    fn leave(&mut self, id: LocalId, s: &PollState) {
        if s.in_flight {
            self.in_flight -= 1;
        } else {
            self.due.remove(&(s.next_at, id));
        }
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The earliest moment a job not already being polled is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.due.first().map(|(at, _)| *at)
    }

    /// Up to `limit` due jobs, most overdue first, marked in flight.
    pub fn take_due(&mut self, limit: usize) -> Vec<LocalId> {
        let now = Instant::now();
        let mut taken = Vec::new();
        while taken.len() < limit {
            match self.due.first() {
                Some(&(at, id)) if at <= now => {
                    self.due.pop_first();
                    if let Some(s) = self.jobs.get_mut(&id) {
                        s.in_flight = true;
                        self.in_flight += 1;
                    }
                    taken.push(id);
                }
                _ => break,
            }
        }
        taken
    }

    /// The job's poll is over: it is due again after `interval` (jittered).
    fn again(&mut self, id: LocalId, interval: Duration, failed: bool) -> u32 {
        let Some(mut s) = self.jobs.remove(&id) else {
            return 0;
        };
        self.leave(id, &s);
        s.in_flight = false;
        s.failures = if failed { s.failures + 1 } else { 0 };
        s.interval = interval;
        s.next_at = Instant::now() + jittered(interval);
        let failures = s.failures;
        self.due.insert((s.next_at, id));
        self.jobs.insert(id, s);
        failures
    }

    fn interval(&self, id: LocalId) -> Option<Duration> {
        self.jobs.get(&id).map(|s| s.interval)
    }

    /// The poll saw a change: look again soon.
    pub fn changed(&mut self, id: LocalId) {
        self.again(id, self.initial, false);
    }

    /// Nothing changed: wait longer next time, up to the cap.
    pub fn unchanged(&mut self, id: LocalId) {
        if let Some(interval) = self.interval(id) {
            self.again(id, interval.mul_f64(1.5).min(self.max), false);
        }
    }

    /// The poll failed: back off (to twice the cap at most) and return the failures in a row.
    pub fn failed(&mut self, id: LocalId) -> u32 {
        match self.interval(id) {
            Some(interval) => self.again(id, (interval * 2).min(self.max * 2), true),
            None => 0,
        }
    }

    /// Everything due now (a refresh).
    pub fn all_now(&mut self) {
        let now = Instant::now();
        self.due.clear();
        for (id, s) in &mut self.jobs {
            s.next_at = now;
            if !s.in_flight {
                self.due.insert((now, *id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn intervals_grow_while_unchanged_and_reset_on_change() {
        let mut s = Schedule::new(Duration::from_secs(3), Duration::from_secs(30));
        s.add(1, true);
        assert_eq!(s.take_due(10), [1]);
        assert!(s.take_due(10).is_empty(), "in flight twice");
        for _ in 0..20 {
            s.unchanged(1);
        }
        let wait = s.next_due().unwrap() - Instant::now();
        assert!(
            wait <= Duration::from_secs(36) && wait >= Duration::from_secs(24),
            "{wait:?}"
        );
        s.changed(1);
        let wait = s.next_due().unwrap() - Instant::now();
        assert!(wait <= Duration::from_millis(3600), "{wait:?}");
        assert_eq!(s.failed(1), 1);
        assert_eq!(s.failed(1), 2);
        s.remove(1);
        assert_eq!(s.next_due(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_most_overdue_go_first_and_those_in_flight_are_counted() {
        let mut s = Schedule::new(Duration::from_secs(3), Duration::from_secs(30));
        for id in [5, 3, 9, 1] {
            s.add(id, true);
            tokio::time::advance(Duration::from_millis(10)).await;
        }
        s.add(7, false);
        assert_eq!(s.take_due(3), [5, 3, 9]);
        assert_eq!(s.in_flight(), 3);
        // The one left due now is the next, then the one added for later.
        assert_eq!(
            s.next_due(),
            Some(Instant::now() - Duration::from_millis(10))
        );
        s.remove(3);
        s.unchanged(5);
        assert_eq!(s.in_flight(), 1);
        assert_eq!(s.take_due(10), [1]);
        // Added again while in flight: due now, no longer counted in flight.
        s.add(9, true);
        assert_eq!(s.in_flight(), 1);
        s.all_now();
        let mut all = s.take_due(10);
        all.sort_unstable();
        assert_eq!(all, [5, 7, 9]);
        assert_eq!(s.in_flight(), 4);
        assert_eq!(s.next_due(), None);
        for id in [1, 5, 7, 9] {
            s.changed(id);
        }
        assert_eq!(s.in_flight(), 0);
        assert!(s.next_due().is_some());
        assert!(s.take_due(10).is_empty(), "due after the initial interval");
    }
}
