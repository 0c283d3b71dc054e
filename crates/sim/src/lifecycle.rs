//! A job's status as a pure function of its simulated age, so any poll at any time sees a
//! consistent story without background tasks.

/// A job's status, as the API spells it. The simulator's own type, so that how the client
/// reads statuses never changes what the server writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Pending,
    Queued,
    WarmingUp,
    InProgress,
    Finalizing,
    Success,
    Failure,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Queued => "queued",
            Status::WarmingUp => "warming-up",
            Status::InProgress => "in-progress",
            Status::Finalizing => "finalizing",
            Status::Success => "success",
            Status::Failure => "failure",
        }
    }

    pub(crate) fn is_final(self) -> bool {
        matches!(self, Status::Success | Status::Failure)
    }
}

/// Simulated seconds spent in each status before success, in order (120 s in all).
fn phases() -> [(Status, f64); 5] {
    [
        (Status::Pending, 3.0),
        (Status::Queued, 10.0),
        (Status::WarmingUp, 15.0),
        (Status::InProgress, 80.0),
        (Status::Finalizing, 12.0),
    ]
}

/// Where a job stands at one moment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    pub status: Status,
    /// 0 to 1.
    pub progress: f64,
    /// Every status reached so far, with the simulated second it began at.
    pub history: Vec<(Status, f64)>,
}

/// The state of a job `elapsed` simulated seconds after creation. `fail_at`, for a job
/// picked to fail, is the fraction of `in-progress` at which it fails.
pub(crate) fn snapshot(elapsed: f64, fail_at: Option<f64>) -> Snapshot {
    let mut history = Vec::new();
    let mut begin = 0.0;
    for (status, length) in phases() {
        let in_progress = status == Status::InProgress;
        if let (true, Some(fraction)) = (in_progress, fail_at) {
            let fails = begin + length * fraction;
            if elapsed >= fails {
                history.push((status, begin));
                history.push((Status::Failure, fails));
                return Snapshot {
                    status: Status::Failure,
                    progress: fraction,
                    history,
                };
            }
        }
        history.push((status, begin));
        if elapsed < begin + length {
            let progress = match status {
                Status::InProgress => ((elapsed - begin) / length).clamp(0.0, 1.0),
                Status::Finalizing => 1.0,
                _ => 0.0,
            };
            return Snapshot {
                status,
                progress,
                history,
            };
        }
        begin += length;
    }
    history.push((Status::Success, begin));
    Snapshot {
        status: Status::Success,
        progress: 1.0,
        history,
    }
}

/// Simulated seconds from creation to `success`.
pub(crate) fn success_at() -> f64 {
    phases().iter().map(|(_, length)| length).sum()
}

/// Simulated seconds from `elapsed` until the job reaches a final status.
pub(crate) fn remaining(elapsed: f64, fail_at: Option<f64>) -> f64 {
    let mut end = 0.0;
    for (status, length) in phases() {
        if let (Status::InProgress, Some(fraction)) = (&status, fail_at) {
            end += length * fraction;
            return (end - elapsed).max(0.0);
        }
        end += length;
    }
    (end - elapsed).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses(s: &Snapshot) -> Vec<&str> {
        s.history.iter().map(|(st, _)| st.as_str()).collect()
    }

    #[test]
    fn walks_through_every_status_in_order() {
        assert_eq!(snapshot(0.0, None).status, Status::Pending);
        assert_eq!(snapshot(5.0, None).status, Status::Queued);
        assert_eq!(snapshot(20.0, None).status, Status::WarmingUp);
        let mid = snapshot(68.0, None);
        assert_eq!(mid.status, Status::InProgress);
        assert!((mid.progress - 0.5).abs() < 1e-9);
        assert_eq!(snapshot(110.0, None).status, Status::Finalizing);
        let done = snapshot(500.0, None);
        assert_eq!(done.status, Status::Success);
        assert_eq!(done.progress, 1.0);
        assert_eq!(
            statuses(&done),
            [
                "pending",
                "queued",
                "warming-up",
                "in-progress",
                "finalizing",
                "success"
            ]
        );
        let times: Vec<f64> = done.history.iter().map(|(_, t)| *t).collect();
        assert_eq!(times, [0.0, 3.0, 13.0, 28.0, 108.0, 120.0]);
    }

    #[test]
    fn a_failing_job_stops_part_way_through_in_progress() {
        let before = snapshot(40.0, Some(0.5));
        assert_eq!(before.status, Status::InProgress);
        let failed = snapshot(68.0, Some(0.5));
        assert_eq!(failed.status, Status::Failure);
        assert_eq!(
            statuses(&failed),
            ["pending", "queued", "warming-up", "in-progress", "failure"]
        );
        assert_eq!(snapshot(1000.0, Some(0.5)), failed);
    }

    #[test]
    fn remaining_time_counts_down_to_the_final_status() {
        assert_eq!(remaining(0.0, None), 120.0);
        assert_eq!(remaining(100.0, None), 20.0);
        assert_eq!(remaining(200.0, None), 0.0);
        assert_eq!(remaining(0.0, Some(0.5)), 68.0);
    }
}
