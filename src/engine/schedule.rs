//! When each unfinished job is polled next: soon after a change, then less and less often while
//! nothing changes (with jitter, so a thousand jobs do not poll in step), capped; failures back
//! off further and are counted so a job that keeps failing can be shown as stale.

use std::collections::HashMap;
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

#[derive(Debug)]
pub struct Schedule {
    jobs: HashMap<LocalId, PollState>,
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
        self.jobs.insert(
            id,
            PollState {
                next_at,
                interval: self.initial,
                failures: 0,
                in_flight: false,
            },
        );
    }

    pub fn remove(&mut self, id: LocalId) {
        self.jobs.remove(&id);
    }

    pub fn in_flight(&self) -> usize {
        self.jobs.values().filter(|s| s.in_flight).count()
    }

    /// The earliest moment a job not already being polled is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.jobs
            .values()
            .filter(|s| !s.in_flight)
            .map(|s| s.next_at)
            .min()
    }

    /// Up to `limit` due jobs, most overdue first, marked in flight.
    pub fn take_due(&mut self, limit: usize) -> Vec<LocalId> {
        let now = Instant::now();
        let mut due: Vec<(Instant, LocalId)> = self
            .jobs
            .iter()
            .filter(|(_, s)| !s.in_flight && s.next_at <= now)
            .map(|(id, s)| (s.next_at, *id))
            .collect();
        due.sort_unstable();
        due.truncate(limit);
        for (_, id) in &due {
            if let Some(s) = self.jobs.get_mut(id) {
                s.in_flight = true;
            }
        }
        due.into_iter().map(|(_, id)| id).collect()
    }

    /// The poll saw a change: look again soon.
    pub fn changed(&mut self, id: LocalId) {
        let initial = self.initial;
        if let Some(s) = self.jobs.get_mut(&id) {
            s.in_flight = false;
            s.failures = 0;
            s.interval = initial;
            s.next_at = Instant::now() + jittered(initial);
        }
    }

    /// Nothing changed: wait longer next time, up to the cap.
    pub fn unchanged(&mut self, id: LocalId) {
        let max = self.max;
        if let Some(s) = self.jobs.get_mut(&id) {
            s.in_flight = false;
            s.failures = 0;
            s.interval = s.interval.mul_f64(1.5).min(max);
            s.next_at = Instant::now() + jittered(s.interval);
        }
    }

    /// The poll failed: back off (to twice the cap at most) and return the failures in a row.
    pub fn failed(&mut self, id: LocalId) -> u32 {
        let max = self.max * 2;
        match self.jobs.get_mut(&id) {
            Some(s) => {
                s.in_flight = false;
                s.failures += 1;
                s.interval = (s.interval * 2).min(max);
                s.next_at = Instant::now() + jittered(s.interval);
                s.failures
            }
            None => 0,
        }
    }

    /// Everything due now (a refresh).
    pub fn all_now(&mut self) {
        let now = Instant::now();
        for s in self.jobs.values_mut() {
            s.next_at = now;
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
}
