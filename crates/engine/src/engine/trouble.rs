//! Failing polls, per job: when a streak of failures is worth telling (after a couple, then
//! every minute, with how long it has lasted) and when it has lasted long enough to give up.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::job::{LocalId, PollTrouble};
use crate::units::human_duration;

/// A streak is told again this often while it lasts.
const REPORT_EVERY: Duration = Duration::from_secs(60);

struct Streak {
    since: Instant,
    since_wall: String,
    last_report: Option<Instant>,
}

/// What to do about a failed poll.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Nothing new to tell.
    Quiet,
    /// Tell the user: the message, and the job's trouble to show.
    Report(String, PollTrouble),
    /// Stop polling the job: the message, and the job's trouble to show.
    GiveUp(String, PollTrouble),
}

pub(crate) struct Troubles {
    streaks: HashMap<LocalId, Streak>,
    report_after: u32,
    give_up_after: Option<Duration>,
    /// Jobs the server calls a success without naming their video: since when, here.
    without_video: HashMap<LocalId, (Instant, String)>,
}

impl Troubles {
    pub(crate) fn new(report_after: u32, give_up_after: Option<Duration>) -> Self {
        Self {
            streaks: HashMap::new(),
            report_after: report_after.max(1),
            give_up_after,
            without_video: HashMap::new(),
        }
    }

    /// The server called `id` a success again without naming its video. After `bound` of
    /// that, the wait is given up: the message and the trouble to show. The job is still
    /// looked at again on a refresh, a `download`, or the engine's next start.
    pub(crate) fn no_video(
        &mut self,
        id: LocalId,
        bound: Duration,
        now: Instant,
    ) -> Option<(String, PollTrouble)> {
        let (since, since_wall) = self
            .without_video
            .entry(id)
            .or_insert_with(|| (now, jiff::Timestamp::now().to_string()));
        let waited = now.saturating_duration_since(*since);
        if waited < bound {
            return None;
        }
        let error = format!(
            "success without a video: the server named no video file in {}",
            human_duration(waited)
        );
        let trouble = PollTrouble {
            since: since_wall.clone(),
            failures: 0,
            error: error.clone(),
            gave_up: true,
        };
        self.without_video.remove(&id);
        let message = format!(
            "{error}; nothing was saved. `kling-tui download`, a refresh or the engine's next \
             start looks again"
        );
        Some((message, trouble))
    }

    /// The job named its video, or is no longer waited for.
    pub(crate) fn video_named(&mut self, id: LocalId) {
        self.without_video.remove(&id);
    }

    /// The poll of `id` failed for the `failures`-th time in a row, with `error`.
    pub(crate) fn failed(
        &mut self,
        id: LocalId,
        failures: u32,
        error: &str,
        now: Instant,
    ) -> Verdict {
        let streak = self.streaks.entry(id).or_insert_with(|| Streak {
            since: now,
            since_wall: jiff::Timestamp::now().to_string(),
            last_report: None,
        });
        let lasted = now.saturating_duration_since(streak.since);
        let trouble = |gave_up| PollTrouble {
            since: streak.since_wall.clone(),
            failures,
            error: error.to_string(),
            gave_up,
        };
        if self.give_up_after.is_some_and(|bound| lasted >= bound) {
            let message = format!(
                "gave up polling after {} of failures: {error}; the job stays in the ledger \
                 (refresh, or run `kling-tui watch`, to try again)",
                human_duration(lasted)
            );
            let verdict = Verdict::GiveUp(message, trouble(true));
            self.streaks.remove(&id);
            return verdict;
        }
        let due = match streak.last_report {
            None => failures >= self.report_after,
            Some(at) => now.saturating_duration_since(at) >= REPORT_EVERY,
        };
        if !due {
            return Verdict::Quiet;
        }
        streak.last_report = Some(now);
        let message = format!("polls failing for {}: {error}", human_duration(lasted));
        Verdict::Report(message, trouble(false))
    }

    /// A good answer ends the streak.
    pub(crate) fn cleared(&mut self, id: LocalId) {
        self.streaks.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn told_after_a_couple_then_each_minute_then_given_up() {
        let mut t = Troubles::new(2, Some(Duration::from_secs(600)));
        let start = Instant::now();
        let at = |s| start + Duration::from_secs(s);
        assert_eq!(t.failed(1, 1, "HTTP 500", at(0)), Verdict::Quiet);
        let Verdict::Report(text, trouble) = t.failed(1, 2, "HTTP 500", at(12)) else {
            panic!("the second failure is told");
        };
        assert_eq!(text, "polls failing for 12 s: HTTP 500");
        assert!(!trouble.gave_up && trouble.failures == 2);
        assert_eq!(t.failed(1, 3, "HTTP 500", at(40)), Verdict::Quiet);
        assert!(
            matches!(t.failed(1, 4, "HTTP 502", at(75)), Verdict::Report(m, _) if m == "polls failing for 1 min: HTTP 502")
        );
        assert!(matches!(t.failed(1, 9, "x", at(600)), Verdict::GiveUp(_, t) if t.gave_up));
        // A new streak starts from nothing.
        assert_eq!(t.failed(1, 1, "x", at(601)), Verdict::Quiet);
        t.cleared(1);
        assert_eq!(t.failed(1, 1, "x", at(700)), Verdict::Quiet);
    }

    #[test]
    fn a_success_without_a_video_is_waited_for_then_given_up() {
        let mut t = Troubles::new(2, None);
        let start = Instant::now();
        let bound = Duration::from_secs(600);
        assert_eq!(t.no_video(3, bound, start), None);
        assert_eq!(t.no_video(3, bound, start + Duration::from_secs(599)), None);
        let (message, trouble) = t.no_video(3, bound, start + bound).unwrap();
        assert!(message.contains("no video file in 10 min"), "{message}");
        assert!(trouble.gave_up);
        // Looked at again later: a new wait starts.
        assert_eq!(t.no_video(3, bound, start + bound * 2), None);
        t.video_named(3);
        assert_eq!(t.no_video(3, bound, start + bound * 4), None);
    }

    #[test]
    fn without_a_bound_it_never_gives_up() {
        let mut t = Troubles::new(2, None);
        let start = Instant::now();
        for i in 1..100u32 {
            let v = t.failed(7, i, "x", start + Duration::from_secs(u64::from(i) * 3600));
            assert!(!matches!(v, Verdict::GiveUp(..)));
        }
    }
}
