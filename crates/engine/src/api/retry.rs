//! When and how long to wait before trying again: exponential backoff with full jitter, capped,
//! unless the server said how long (`Retry-After`, `remainingSeconds`).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use rand::Rng;

use super::ApiError;

/// One retry about to happen: what failed, and how long until the next try.
#[derive(Debug)]
pub struct RetryEvent<'a> {
    pub what: &'a str,
    pub error: &'a ApiError,
    pub wait: Duration,
    /// No further try: the wait would pass the give-up bound.
    pub giving_up: bool,
}

impl fmt::Display for RetryEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::units::human_duration;
        if self.giving_up {
            return write!(
                f,
                "{} failed: {}; not trying again: waiting {} more would pass the give-up bound",
                self.what,
                self.error,
                human_duration(self.wait)
            );
        }
        match self.error.server_wait() {
            Some(asked) if asked > self.wait + Duration::from_secs(1) => write!(
                f,
                "the server asked to wait {} ({}); trying again in {}, the longest kling-tui waits",
                human_duration(asked),
                self.error,
                human_duration(self.wait)
            ),
            Some(asked) => write!(
                f,
                "the server asked to wait {} ({}); trying again then",
                human_duration(asked),
                self.error
            ),
            None => write!(
                f,
                "{} failed: {}; trying again in {:.1} s",
                self.what,
                self.error,
                self.wait.as_secs_f64()
            ),
        }
    }
}

/// Told of every retry, so that a front-end can show failures as they happen instead of
/// waiting in silence.
#[derive(Clone)]
pub struct RetryNotice(pub Arc<dyn Fn(&RetryEvent<'_>) + Send + Sync>);

impl fmt::Debug for RetryNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RetryNotice")
    }
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: usize,
    /// First backoff before jitter.
    pub base_delay: Duration,
    /// No computed backoff exceeds this.
    pub max_delay: Duration,
    /// A server-requested wait is honoured up to this long.
    pub max_server_wait: Duration,
    /// Whether a submission refused at the team's concurrency ceiling (429 with
    /// `details.actionLimit`) is retried here; the engine queues such submissions instead.
    pub retry_submit_at_limit: bool,
    /// No more retries once this much time has gone into waiting.
    pub give_up_after: Option<Duration>,
    pub notice: Option<RetryNotice>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_server_wait: Duration::from_secs(120),
            retry_submit_at_limit: true,
            give_up_after: None,
            notice: None,
        }
    }
}

impl RetryPolicy {
    /// Exponential delays, before jitter, one per allowed retry.
    pub fn backoff(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.retries)
            .build()
    }

    /// The wait before the next try: the server's word when it gave one, else full jitter
    /// (uniform in 0..=delay) so that many clients do not retry in step.
    pub fn wait(&self, err: &ApiError, delay: Duration) -> Duration {
        match err.server_wait() {
            // A wait of 0 (or a date already past) must not turn into a tight loop.
            Some(asked) => asked.min(self.max_server_wait).max(full_jitter(delay)),
            None => full_jitter(delay),
        }
    }

    /// Runs `op` until it succeeds, fails with an error `retry_if` rejects, or retries run out.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        what: &str,
        op: F,
        retry_if: impl FnMut(&ApiError) -> bool,
    ) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let builder = ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.retries)
            .with_total_delay(self.give_up_after);
        let started = std::time::Instant::now();
        op.retry(builder)
            .when(retry_if)
            .adjust(|err, delay| {
                let wait = self.wait(err, delay?);
                if let Some(bound) = self.give_up_after
                    && started.elapsed() + wait > bound
                {
                    self.tell_event(&RetryEvent {
                        what,
                        error: err,
                        wait,
                        giving_up: true,
                    });
                    return None;
                }
                Some(wait)
            })
            .notify(|error, wait| self.tell(what, error, wait))
            .await
    }

    /// Logs a retry and passes it to the notice, if there is one.
    pub(crate) fn tell(&self, what: &str, error: &ApiError, wait: Duration) {
        self.tell_event(&RetryEvent {
            what,
            error,
            wait,
            giving_up: false,
        });
    }

    fn tell_event(&self, event: &RetryEvent<'_>) {
        tracing::warn!("{event}");
        if let Some(notice) = &self.notice {
            (notice.0)(event);
        }
    }
}

fn full_jitter(delay: Duration) -> Duration {
    let max = delay.as_millis().min(u64::MAX as u128) as u64;
    Duration::from_millis(rand::rng().random_range(0..=max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            retries: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_server_wait: Duration::from_secs(5),
            retry_submit_at_limit: true,
            ..RetryPolicy::default()
        };
        let delays: Vec<_> = policy.backoff().collect();
        assert_eq!(delays.len(), 8);
        let millis: Vec<u128> = delays.iter().map(|d| d.as_millis()).collect();
        assert_eq!(&millis[..4], [100, 200, 400, 800]);
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(1)));
        assert_eq!(millis[7], 1000);
    }

    #[test]
    fn server_wait_wins_but_is_capped_and_jitter_stays_in_range() {
        let policy = RetryPolicy {
            max_server_wait: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let asked = |secs| ApiError::Http {
            status: 429,
            reason: String::new(),
            trace_id: None,
            retry_after: Some(Duration::from_secs(secs)),
            action_limit: None,
        };
        assert_eq!(
            policy.wait(&asked(2), Duration::ZERO),
            Duration::from_secs(2)
        );
        let zero = policy.wait(&asked(0), Duration::from_millis(400));
        assert!(zero <= Duration::from_millis(400));
        assert_eq!(
            policy.wait(&asked(600), Duration::ZERO),
            Duration::from_secs(5)
        );
        let plain = ApiError::Timeout { host: "h".into() };
        for _ in 0..100 {
            assert!(policy.wait(&plain, Duration::from_millis(300)) <= Duration::from_millis(300));
        }
    }
}
