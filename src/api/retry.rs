//! When and how long to wait before trying again: exponential backoff with full jitter, capped,
//! unless the server said how long (`Retry-After`, `remainingSeconds`).

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use rand::Rng;

use super::ApiError;

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
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_server_wait: Duration::from_secs(120),
            retry_submit_at_limit: true,
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
            .with_max_times(self.retries);
        op.retry(builder)
            .when(retry_if)
            .adjust(|err, delay| delay.map(|d| self.wait(err, d)))
            .notify(|err, wait| tracing::warn!("{what}: {err}; retrying in {wait:?}"))
            .await
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
