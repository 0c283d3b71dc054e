//! The job filter people type, as in k9s or gh: `status:failed mode:pro batch:spring fox`.
//! `status:` takes the words scripts read (`JobRecord::standing`), the words of where a job is
//! (`Place`: `saved`, `failed`, `held`, `downloading`…) and `working`/`waiting`/`done`; any
//! word's beginning will do (`status:fail`), and several (`status:failed,canceled`, or the key
//! given twice) mean any of them. `mode:` takes the start of a mode, `batch:` part of a
//! batch's name; the rest is text the prompt, the job id, the batch's name or the state's
//! words hold. The app filters the jobs it holds with [`JobFilter::matches`]; the ledger
//! pages finished jobs with the same filter as SQL, so both agree.

use rusqlite::types::Value;

use super::job::{JobRecord, STATUS_WORDS};
use super::{Outcome, Place, Wait, Work};
use crate::api::types::JobStatus;

/// A filter, parsed. Empty parts do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// `status:` words, lowercased: a job matches if one of its words starts with any.
    pub states: Vec<String>,
    /// `mode:` beginnings, lowercased.
    pub modes: Vec<String>,
    /// `batch:` parts of a name, lowercased.
    pub batches: Vec<String>,
    /// Everything else, lowercased, its words joined by single spaces.
    pub text: String,
}

/// Words that name where a job is, besides [`STATUS_WORDS`].
pub const PLACE_WORDS: &[&str] = &[
    "working",
    "running",
    "waiting",
    "done",
    "finished",
    "quoting",
    "searching",
    "on-server",
    "downloading",
    "unresolved",
    "gave-up-polling",
    "download-failed",
    "saved",
    "succeeded",
    "failed",
];

impl JobFilter {
    pub fn parse(input: &str) -> Self {
        let mut filter = Self::default();
        let mut text = Vec::new();
        for word in input.split_whitespace() {
            let lower = word.to_lowercase();
            let list = |v: &str| -> Vec<String> {
                v.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            if let Some(v) = lower.strip_prefix("status:") {
                filter.states.extend(list(v));
            } else if let Some(v) = lower.strip_prefix("mode:") {
                filter.modes.extend(list(v));
            } else if let Some(v) = lower.strip_prefix("batch:") {
                filter.batches.extend(list(v));
            } else {
                text.push(lower);
            }
        }
        filter.text = text.join(" ");
        filter
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
            && self.modes.is_empty()
            && self.batches.is_empty()
            && self.text.is_empty()
    }

    /// The `status:` words that begin no known word: they match nothing.
    pub fn unknown_states(&self) -> Vec<&str> {
        self.states
            .iter()
            .filter(|s| {
                !STATUS_WORDS
                    .iter()
                    .chain(PLACE_WORDS)
                    .any(|w| w.starts_with(s.as_str()))
            })
            .map(String::as_str)
            .collect()
    }

    fn state_ok<'a>(&self, mut words: impl Iterator<Item = &'a str>) -> bool {
        self.states.is_empty() || words.any(|w| self.states.iter().any(|s| w.starts_with(s)))
    }

    fn mode_ok(&self, mode: &str) -> bool {
        let mode = mode.to_lowercase();
        self.modes.is_empty() || self.modes.iter().any(|m| mode.starts_with(m))
    }

    fn batch_ok(&self, batch: Option<&str>) -> bool {
        self.batches.is_empty()
            || batch.is_some_and(|b| {
                let b = b.to_lowercase();
                self.batches.iter().any(|part| b.contains(part))
            })
    }

    fn text_ok<'a>(&self, mut haystacks: impl Iterator<Item = &'a str>) -> bool {
        self.text.is_empty() || haystacks.any(|h| h.to_lowercase().contains(&self.text))
    }

    /// Whether a job of the ledger passes.
    pub fn matches(&self, job: &JobRecord) -> bool {
        let words = state_words(job);
        let batch = job.batch.as_ref().map(|b| b.name.as_str());
        let said = words.join(" ");
        self.state_ok(words.iter().map(String::as_str))
            && self.mode_ok(&job.request.mode.to_string())
            && self.batch_ok(batch)
            && self.text_ok(
                [
                    Some(job.request.prompt.as_str()),
                    job.job_id.as_deref(),
                    batch,
                    Some(said.as_str()),
                ]
                .into_iter()
                .flatten(),
            )
    }

    /// Whether a job as the server lists it passes (it has no batch).
    pub fn matches_remote(&self, job: &super::RemoteJob) -> bool {
        let words = remote_words(&job.status);
        let said = words.join(" ");
        self.state_ok(words.into_iter())
            && self.mode_ok(job.mode.as_deref().unwrap_or(""))
            && self.batches.is_empty()
            && self.text_ok([job.prompt.as_str(), job.job_id.as_str(), said.as_str()].into_iter())
    }

    /// The filter as an SQL condition over finished jobs (those the ledger pages as history),
    /// with its values, numbered from `?1`.
    pub(crate) fn finished_sql(&self) -> (String, Vec<Value>) {
        // A finished job's words, as `state_words` gives them, from its columns.
        const WORDS: &str = "(' ' || CASE WHEN phase = 'rejected' THEN 'rejected'
                                  WHEN status = 'failure' THEN 'failure failed'
                                  WHEN status = 'canceled' THEN 'canceled'
                                  WHEN status = 'success' THEN 'success saved'
                                  ELSE COALESCE(status, phase) END || ' done finished')";
        let mut clauses = Vec::new();
        let mut values = Vec::new();
        let mut any_of = |column: &str, items: &[String], pattern: &dyn Fn(&str) -> String| {
            if items.is_empty() {
                return;
            }
            let ors: Vec<String> = items
                .iter()
                .map(|item| {
                    values.push(Value::Text(pattern(&like_escaped(item))));
                    format!("lower({column}) LIKE ?{} ESCAPE '\\'", values.len())
                })
                .collect();
            clauses.push(format!("({})", ors.join(" OR ")));
        };
        any_of(WORDS, &self.states, &|s| format!("% {s}%"));
        any_of("mode", &self.modes, &|m| format!("{m}%"));
        any_of("batch", &self.batches, &|b| format!("%{b}%"));
        if !self.text.is_empty() {
            values.push(Value::Text(format!("%{}%", like_escaped(&self.text))));
            let n = values.len();
            clauses.push(format!(
                "(prompt LIKE ?{n} ESCAPE '\\' OR batch LIKE ?{n} ESCAPE '\\' \
                 OR server_id LIKE ?{n} ESCAPE '\\' OR {WORDS} LIKE ?{n} ESCAPE '\\')"
            ));
        }
        (clauses.join(" AND "), values)
    }
}

fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Every word that says where `job` is: its standing, its place, and the place's kind.
pub fn state_words(job: &JobRecord) -> Vec<String> {
    let mut words = vec![job.standing().status];
    words.extend(place_words(&job.place).iter().map(|w| w.to_string()));
    words
}

fn place_words(place: &Place) -> Vec<&'static str> {
    match place {
        Place::Working { on } => {
            let word = match on {
                Work::Quoting => "quoting",
                Work::QueuedLocally => "queued-locally",
                Work::Uploading => "uploading",
                Work::Submitting => "submitting",
                Work::Searching => "searching",
                Work::OnServer => "on-server",
                Work::WaitingForVideo => "waiting-for-video",
                Work::Downloading => "downloading",
            };
            vec![word, "working", "running"]
        }
        Place::Waits { why } => {
            let word = match why {
                Wait::Held { .. } => "held",
                Wait::Unresolved => "unresolved",
                Wait::GaveUpPolling => "gave-up-polling",
                Wait::NoVideo => "no-video",
                Wait::DownloadFailed => "download-failed",
            };
            vec![word, "waiting"]
        }
        Place::Done { how } => {
            let word = match how {
                Outcome::Saved => "saved",
                Outcome::Succeeded => "succeeded",
                Outcome::Failed => "failed",
                Outcome::Canceled => "canceled",
                Outcome::Rejected => "rejected",
            };
            vec![word, "done", "finished"]
        }
    }
}

/// The words of a job as the server lists it: its status, and what that means here.
fn remote_words(status: &JobStatus) -> Vec<&str> {
    let mut words = vec![status.as_str()];
    match status {
        JobStatus::Success => words.extend(["succeeded", "done", "finished"]),
        JobStatus::Failure => words.extend(["failed", "done", "finished"]),
        JobStatus::Canceled => words.extend(["done", "finished"]),
        _ => words.extend(["on-server", "working", "running"]),
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_taken_out_and_the_rest_is_text() {
        let f = JobFilter::parse("  status:Failed,canceled Red mode:pro  batch:Spring fox ");
        assert_eq!(f.states, ["failed", "canceled"]);
        assert_eq!(f.modes, ["pro"]);
        assert_eq!(f.batches, ["spring"]);
        assert_eq!(f.text, "red fox");
        assert!(JobFilter::parse(" ").is_empty());
        // Half typed: no word yet, no filter.
        assert!(JobFilter::parse("status:").is_empty());
        assert_eq!(
            JobFilter::parse("status:fail").unknown_states(),
            [] as [&str; 0]
        );
        assert_eq!(JobFilter::parse("status:nope").unknown_states(), ["nope"]);
    }

    #[test]
    fn a_finished_job_has_the_words_the_ledger_gives_it() {
        // The SQL's words for each finished state, written out: kept in step with
        // `state_words` by this test (the ledger's own test runs the SQL).
        use crate::engine::Submission;
        use crate::kling::KlingRequest;
        let rejected = Submission::Rejected { reason: "x".into() };
        let cases = [
            (rejected, None, "rejected done finished"),
            (
                Submission::Accepted,
                Some(JobStatus::Failure),
                "failure failed done finished",
            ),
            (
                Submission::Accepted,
                Some(JobStatus::Canceled),
                "canceled done finished",
            ),
        ];
        for (submission, status, words) in cases {
            let mut job = JobRecord::new(1, "2026-01-01T00:00:00Z".into(), KlingRequest::new("x"));
            job.submission = submission;
            job.status = status;
            job.place = Place::judge(&job, true);
            let mut ours = state_words(&job);
            ours.dedup();
            assert_eq!(ours.join(" "), words);
        }
    }
}
