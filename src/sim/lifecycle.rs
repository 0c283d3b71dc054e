//! A job's status as a pure function of its simulated age, so any poll at any time sees a
//! consistent story without background tasks.

use crate::api::types::JobStatus;

/// Simulated seconds spent in each status before success, in order (120 s in all).
fn phases() -> [(JobStatus, f64); 5] {
    [
        (JobStatus::Pending, 3.0),
        (JobStatus::Queued, 10.0),
        (JobStatus::WarmingUp, 15.0),
        (JobStatus::InProgress, 80.0),
        (JobStatus::Finalizing, 12.0),
    ]
}

/// Where a job stands at one moment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    pub status: JobStatus,
    /// 0 to 1.
    pub progress: f64,
    /// Every status reached so far, with the simulated second it began at.
    pub history: Vec<(JobStatus, f64)>,
}

/// The state of a job `elapsed` simulated seconds after creation. `fail_at`, for a job
/// picked to fail, is the fraction of `in-progress` at which it fails.
pub(crate) fn snapshot(elapsed: f64, fail_at: Option<f64>) -> Snapshot {
    let mut history = Vec::new();
    let mut begin = 0.0;
    for (status, length) in phases() {
        let in_progress = status == JobStatus::InProgress;
        if let (true, Some(fraction)) = (in_progress, fail_at) {
            let fails = begin + length * fraction;
            if elapsed >= fails {
                history.push((status, begin));
                history.push((JobStatus::Failure, fails));
                return Snapshot {
                    status: JobStatus::Failure,
                    progress: fraction,
                    history,
                };
            }
        }
        history.push((status.clone(), begin));
        if elapsed < begin + length {
            let progress = match status {
                JobStatus::InProgress => ((elapsed - begin) / length).clamp(0.0, 1.0),
                JobStatus::Finalizing => 1.0,
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
    history.push((JobStatus::Success, begin));
    Snapshot {
        status: JobStatus::Success,
        progress: 1.0,
        history,
    }
}

/// Simulated seconds from `elapsed` until the job reaches a final status.
pub(crate) fn remaining(elapsed: f64, fail_at: Option<f64>) -> f64 {
    let mut end = 0.0;
    for (status, length) in phases() {
        if let (JobStatus::InProgress, Some(fraction)) = (&status, fail_at) {
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
        assert_eq!(snapshot(0.0, None).status, JobStatus::Pending);
        assert_eq!(snapshot(5.0, None).status, JobStatus::Queued);
        assert_eq!(snapshot(20.0, None).status, JobStatus::WarmingUp);
        let mid = snapshot(68.0, None);
        assert_eq!(mid.status, JobStatus::InProgress);
        assert!((mid.progress - 0.5).abs() < 1e-9);
        assert_eq!(snapshot(110.0, None).status, JobStatus::Finalizing);
        let done = snapshot(500.0, None);
        assert_eq!(done.status, JobStatus::Success);
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
        assert_eq!(before.status, JobStatus::InProgress);
        let failed = snapshot(68.0, Some(0.5));
        assert_eq!(failed.status, JobStatus::Failure);
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
