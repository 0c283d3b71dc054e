//! The team's concurrency ceiling as a pure rule: how many jobs may run at once, learnt from
//! the plan's limits or from a 429, and whether one more may be sent now.

/// The most jobs the team may run at once, once known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ceiling(Option<u64>);

impl Ceiling {
    /// From the team's limits (`{"limits": {"parallelCustomJobs": N}}`, or the inner object):
    /// `None` when they name no usable ceiling (absent, zero, negative, not a number).
    pub(crate) fn from_limits(limits: &serde_json::Value) -> Option<Self> {
        let limits = limits.get("limits").unwrap_or(limits);
        let n = limits.get("parallelCustomJobs")?;
        let n = n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 1.0).map(|f| f as u64))?;
        (n >= 1).then_some(Self(Some(n)))
    }

    /// A 429 refused a submission while `running` ran: the server's number when it gave one,
    /// else what ran (at least one, so the queue can still move).
    pub(crate) fn from_refusal(action_limit: Option<u64>, running: u64) -> Self {
        Self(Some(action_limit.unwrap_or(running.max(1))))
    }

    /// Whether the team is at its ceiling with `running` jobs (never, while none is known).
    pub(crate) fn reached(self, running: u64) -> bool {
        self.0.is_some_and(|limit| running >= limit)
    }

    pub(crate) fn limit(self) -> Option<u64> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_plans_limits_are_read_leniently() {
        let table = [
            (json!({"limits": {"parallelCustomJobs": 3}}), Some(3)),
            (json!({"parallelCustomJobs": 5}), Some(5)),
            (json!({"limits": {"parallelCustomJobs": 4.0}}), Some(4)),
            (json!({"limits": {"parallelCustomJobs": 0}}), None),
            (json!({"limits": {"parallelCustomJobs": -2}}), None),
            (json!({"limits": {"parallelCustomJobs": 0.5}}), None),
            (json!({"limits": {"parallelCustomJobs": "3"}}), None),
            (json!({"limits": {}}), None),
        ];
        for (limits, want) in table {
            let got = Ceiling::from_limits(&limits).and_then(Ceiling::limit);
            assert_eq!(got, want, "{limits}");
        }
    }

    #[test]
    fn a_refusal_sets_the_ceiling_and_it_is_reached_at_that_many() {
        // (the server's number, running, then: running now, reached)
        let table = [
            (Some(2), 5, 1, false),
            (Some(2), 5, 2, true),
            (None, 3, 2, false),
            (None, 3, 3, true),
            // Refused with nothing running: one at a time, never zero.
            (None, 0, 0, false),
            (None, 0, 1, true),
        ];
        for (given, running, now, reached) in table {
            let ceiling = Ceiling::from_refusal(given, running);
            assert_eq!(ceiling.reached(now), reached, "{given:?} {running} {now}");
        }
        assert!(!Ceiling::default().reached(1_000), "unknown: never reached");
    }
}
