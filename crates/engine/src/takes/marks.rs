//! Keep and reject marks, each with an optional reason from a short list the user can extend.

use rusqlite::{OptionalExtension, params};

use super::{Takes, TakesError, id, now};
use crate::engine::LocalId;

/// The reasons a take is rejected, before the user adds their own (config `reject_reasons`).
pub const DEFAULT_REASONS: &[&str] = &[
    "face drift",
    "motion",
    "off prompt",
    "artifacts",
    "continuity",
    "timing",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    Keep,
    Reject,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Keep => "keep",
            Mark::Reject => "reject",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "keep" | "kept" => Some(Mark::Keep),
            "reject" | "rejected" => Some(Mark::Reject),
            _ => None,
        }
    }
}

/// A job's mark as the ledger holds it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MarkEntry {
    pub mark: Mark,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub marked_at: String,
}

/// The reasons offered: the built-in ones, then the user's, without repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectReasons(Vec<String>);

impl RejectReasons {
    pub fn new(extra: &[String]) -> Self {
        let mut all: Vec<String> = DEFAULT_REASONS.iter().map(|r| r.to_string()).collect();
        for reason in extra {
            let reason = reason.trim();
            if !reason.is_empty() && !all.iter().any(|r| r == reason) {
                all.push(reason.to_string());
            }
        }
        Self(all)
    }

    pub fn all(&self) -> &[String] {
        &self.0
    }

    /// `given` as one of the list (case and spacing aside), or an error that lists them and
    /// says how to add one: counted reasons are only useful if a typo is not a new reason.
    pub fn check(&self, given: &str) -> Result<String, TakesError> {
        let wanted = given.split_whitespace().collect::<Vec<_>>().join(" ");
        self.0
            .iter()
            .find(|r| r.eq_ignore_ascii_case(&wanted))
            .cloned()
            .ok_or_else(|| {
                TakesError::Refused(format!(
                    "reason {given:?} is not one of: {}. Add your own in config.toml: \
                     reject_reasons = [\"{}\"]",
                    self.0.join(", "),
                    wanted
                ))
            })
    }
}

impl Takes {
    /// Marks job `local_id` (or clears its mark with `None`). A reason goes with a reject
    /// only; it is checked against the list by the caller.
    pub fn mark(
        &self,
        local_id: LocalId,
        mark: Option<Mark>,
        reason: Option<&str>,
    ) -> Result<(), TakesError> {
        let key = id(local_id)?;
        match mark {
            None => {
                self.conn
                    .execute("DELETE FROM marks WHERE local_id = ?1", [key])
                    .map_err(|e| self.sql(e))?;
            }
            Some(mark) => {
                if mark == Mark::Keep && reason.is_some() {
                    return Err(TakesError::Refused(
                        "a reason goes with a reject; a kept take needs none".into(),
                    ));
                }
                self.conn
                    .execute(
                        "INSERT INTO marks (local_id, mark, reason, marked_at)
                         VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (local_id) DO UPDATE SET mark = excluded.mark,
                            reason = excluded.reason, marked_at = excluded.marked_at",
                        params![key, mark.as_str(), reason, now()],
                    )
                    .map_err(|e| self.sql(e))?;
            }
        }
        Ok(())
    }

    pub fn mark_of(&self, local_id: LocalId) -> Result<Option<MarkEntry>, TakesError> {
        let row: Option<(String, Option<String>, String)> = self
            .conn
            .query_row(
                "SELECT mark, reason, marked_at FROM marks WHERE local_id = ?1",
                [id(local_id)?],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(row.and_then(|(mark, reason, marked_at)| {
            Some(MarkEntry {
                mark: Mark::parse(&mark)?,
                reason,
                marked_at,
            })
        }))
    }

    /// Every marked job's id, with its mark, in id order.
    pub fn marked(&self, which: Option<Mark>) -> Result<Vec<(LocalId, MarkEntry)>, TakesError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT local_id, mark, reason, marked_at FROM marks
                 WHERE ?1 IS NULL OR mark = ?1 ORDER BY local_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([which.map(Mark::as_str)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (local_id, mark, reason, marked_at) = row.map_err(|e| self.sql(e))?;
            if let Some(mark) = Mark::parse(&mark) {
                out.push((
                    local_id as LocalId,
                    MarkEntry {
                        mark,
                        reason,
                        marked_at,
                    },
                ));
            }
        }
        Ok(out)
    }
}
