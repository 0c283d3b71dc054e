//! What users ask of their history, as queries on the ledger: jobs by status, time and prompt
//! text, and what was spent.

use rusqlite::Connection;
use rusqlite::types::Value;

use super::rows;
use crate::engine::job::JobRecord;

/// Which jobs to list. Every field narrows the list; none lists everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobQuery {
    /// The server's status (`success`, `failure`, ...) or, for jobs the server does not know,
    /// where the submission stands (`queued`, `unconfirmed`, `rejected`, ...).
    pub status: Option<String>,
    /// Made at or after this moment (RFC 3339).
    pub since: Option<jiff::Timestamp>,
    /// Text the prompt contains, in any case.
    pub search: Option<String>,
    /// At most this many, the newest.
    pub limit: Option<usize>,
    /// The job the server knows by this id.
    pub server_id: Option<String>,
    /// The job of this local number.
    pub local_id: Option<crate::engine::LocalId>,
    /// The jobs of this batch.
    pub batch: Option<String>,
    /// The jobs marked so: `keep` or `reject`.
    pub mark: Option<String>,
}

/// Creative units spent in one group.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spend {
    /// The day (`YYYY-MM-DD`, UTC) or mode it stands for; `total` when not grouped.
    pub group: String,
    pub jobs: u64,
    pub creative_units: f64,
    /// Of those jobs, the takes marked kept and rejected.
    pub kept: u64,
    pub rejected: u64,
    /// What a usable clip cost: everything spent over the kept takes (none while none is kept).
    pub per_kept_clip: Option<f64>,
}

/// How many takes were rejected for one reason (`None`: no reason given).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rejections {
    pub reason: Option<String>,
    pub jobs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendBy {
    Total,
    Day,
    Mode,
}

/// `created_at` is RFC 3339 with any number of fractional digits: compared as a time, not text.
const SINCE: &str = "julianday(created_at) >= julianday(?)";

/// Calls `each` with every job the query picks, oldest first, one at a time.
pub(super) fn jobs(
    conn: &Connection,
    q: &JobQuery,
    each: impl FnMut(JobRecord),
) -> rusqlite::Result<()> {
    let mut clauses = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(status) = &q.status {
        // The words of `JobRecord::standing`: a local state, or the server's status, with a
        // success that named no video told apart.
        match status.as_str() {
            "held" => clauses.push("(phase = 'queued' AND held IS NOT NULL)"),
            "queued-locally" | "queued" => clauses.push("(phase = 'queued' AND held IS NULL)"),
            "submitting" => clauses.push("phase = 'sending'"),
            "waiting-for-video" | "no-video" => clauses.push(
                "(phase = 'accepted' AND status = 'success'
                  AND NOT EXISTS (SELECT 1 FROM downloads d WHERE d.local_id = jobs.local_id))",
            ),
            "success" => clauses.push(
                "(phase = 'accepted' AND status = 'success'
                  AND EXISTS (SELECT 1 FROM downloads d WHERE d.local_id = jobs.local_id))",
            ),
            _ => {
                clauses.push("(status = ? OR phase = ?)");
                values.push(Value::Text(status.clone()));
                values.push(Value::Text(status.clone()));
            }
        }
    }
    if let Some(since) = q.since {
        clauses.push(SINCE);
        values.push(Value::Text(since.to_string()));
    }
    if let Some(id) = &q.server_id {
        clauses.push("server_id = ?");
        values.push(Value::Text(id.clone()));
    }
    if let Some(name) = &q.batch {
        clauses.push("batch = ?");
        values.push(Value::Text(name.clone()));
    }
    if let Some(id) = q.local_id {
        clauses.push("local_id = ?");
        values.push(Value::Integer(rows::sql_id(id)?));
    }
    if let Some(mark) = &q.mark {
        clauses.push("local_id IN (SELECT local_id FROM marks WHERE mark = ?)");
        values.push(Value::Text(mark.clone()));
    }
    if let Some(text) = &q.search {
        clauses.push("prompt LIKE ? ESCAPE '\\'");
        values.push(Value::Text(format!("%{}%", like_escaped(text))));
    }
    let filter = if clauses.is_empty() {
        "1".to_string()
    } else {
        clauses.join(" AND ")
    };
    let limit = q.limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    values.push(Value::Integer(limit));
    rows::for_each_where(
        conn,
        &format!(
            "local_id IN (SELECT local_id FROM jobs WHERE {filter}
                          ORDER BY local_id DESC LIMIT ?)"
        ),
        &values,
        each,
    )
}

/// The order in which history is paged: the app's sort orders, as SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HistoryOrder {
    #[default]
    Newest,
    Oldest,
    /// What needs attention first: refused and failed, then succeeded, then canceled.
    Status,
    Progress,
}

impl HistoryOrder {
    fn sql(self) -> &'static str {
        match self {
            HistoryOrder::Newest => "local_id DESC",
            HistoryOrder::Oldest => "local_id ASC",
            HistoryOrder::Status => {
                "CASE WHEN phase = 'unconfirmed' THEN 0
                      WHEN phase = 'rejected' OR status = 'failure' THEN 1
                      WHEN status = 'success' THEN 5
                      WHEN status = 'canceled' THEN 6
                      ELSE 4 END, local_id DESC"
            }
            HistoryOrder::Progress => "progress DESC, local_id DESC",
        }
    }
}

/// The `finished` jobs (an SQL condition) that pass the app's filter `search`, in `order`, from the
/// `offset`-th, at most `limit`; and how many match in all.
pub(super) fn history(
    conn: &Connection,
    finished: &str,
    search: Option<&str>,
    order: HistoryOrder,
    offset: usize,
    limit: usize,
) -> rusqlite::Result<(Vec<JobRecord>, u64)> {
    let mut filter = finished.to_string();
    let mut values: Vec<Value> = Vec::new();
    if let Some(text) = search {
        // The app's filter, as the app applies it to the jobs it holds.
        let (condition, given) = crate::engine::JobFilter::parse(text).finished_sql();
        if !condition.is_empty() {
            filter.push_str(" AND ");
            filter.push_str(&condition);
            values = given;
        }
    }
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM jobs WHERE {filter}"),
        rusqlite::params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    values.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    values.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    let page = rows::load_where(
        conn,
        &format!(
            "local_id IN (SELECT local_id FROM jobs WHERE {filter}
                          ORDER BY {} LIMIT ? OFFSET ?)",
            order.sql()
        ),
        &values,
    )?;
    Ok((page, total.max(0) as u64))
}

fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// What the jobs the server took cost, as the SDK counts it (see `JobRecord::charged`):
/// add-ons and IP detection included, refunded failures left out.
pub(super) fn spend(
    conn: &Connection,
    since: Option<jiff::Timestamp>,
    by: SpendBy,
) -> rusqlite::Result<Vec<Spend>> {
    let group = match by {
        SpendBy::Total => "'total'",
        SpendBy::Day => "substr(created_at, 1, 10)",
        SpendBy::Mode => "mode",
    };
    // Forgotten jobs were paid for all the same: their cost is kept apart and counted.
    let sql = format!(
        "SELECT grp, count(*), COALESCE(sum(charged), 0),
                COALESCE(sum(m.mark = 'keep'), 0), COALESCE(sum(m.mark = 'reject'), 0)
         FROM (
             SELECT {group} AS grp, charged, local_id FROM jobs
             WHERE phase = 'accepted' AND charged IS NOT NULL
               AND (charged > 0 OR COALESCE(status, '') NOT IN ('failure', 'canceled'))
               AND (?1 IS NULL OR julianday(created_at) >= julianday(?1))
             UNION ALL
             SELECT {group} AS grp, charged, local_id FROM forgotten_spend
             WHERE ?1 IS NULL OR julianday(created_at) >= julianday(?1)) AS spent
         LEFT JOIN marks m ON m.local_id = spent.local_id
         GROUP BY grp ORDER BY grp"
    );
    let mut query = conn.prepare(&sql)?;
    let since = since.map(|t| t.to_string());
    let rows = query.query_map([since], |row| {
        let creative_units: f64 = row.get(2)?;
        let kept = row.get::<_, i64>(3)?.max(0) as u64;
        Ok(Spend {
            group: row.get(0)?,
            jobs: row.get::<_, i64>(1)?.max(0) as u64,
            creative_units,
            kept,
            rejected: row.get::<_, i64>(4)?.max(0) as u64,
            per_kept_clip: per_kept(creative_units, kept),
        })
    })?;
    rows.collect()
}

/// Everything spent over the kept takes.
pub fn per_kept(spent: f64, kept: u64) -> Option<f64> {
    (kept > 0).then(|| spent / kept as f64)
}

/// The reasons takes made since `since` were rejected, the most common first.
pub(super) fn rejections(
    conn: &Connection,
    since: Option<jiff::Timestamp>,
) -> rusqlite::Result<Vec<Rejections>> {
    let mut query = conn.prepare(
        "SELECT m.reason, count(*) FROM marks m
         WHERE m.mark = 'reject'
           AND (?1 IS NULL OR EXISTS (
                 SELECT 1 FROM jobs j WHERE j.local_id = m.local_id
                   AND julianday(j.created_at) >= julianday(?1))
               OR EXISTS (
                 SELECT 1 FROM forgotten_spend f WHERE f.local_id = m.local_id
                   AND julianday(f.created_at) >= julianday(?1)))
         GROUP BY m.reason ORDER BY count(*) DESC, m.reason",
    )?;
    let since = since.map(|t| t.to_string());
    let rows = query.query_map([since], |row| {
        Ok(Rejections {
            reason: row.get(0)?,
            jobs: row.get::<_, i64>(1)?.max(0) as u64,
        })
    })?;
    rows.collect()
}

/// Where one batch stands, counted over the latest job of each of its requests (a request
/// sent again after a failure counts once, as its newest attempt).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSummary {
    pub name: String,
    /// Requests of it in the ledger.
    pub total: u64,
    pub succeeded: u64,
    /// Failed on the server or refused by it.
    pub failed: u64,
    pub canceled: u64,
    /// Held by a spend cap: a fact of the engine's run, filled in by the engine.
    #[serde(default)]
    pub held: u64,
    /// What its jobs cost (add-ons and IP detection included), refunded ones left out.
    pub spent: f64,
    /// The most it may spend (`--max-cost`), if capped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost: Option<f64>,
    /// When its first request was recorded (RFC 3339).
    pub created_at: String,
}

/// Every batch (or the one named), newest first.
pub(super) fn batches(
    conn: &Connection,
    name: Option<&str>,
) -> rusqlite::Result<Vec<BatchSummary>> {
    let mut query = conn.prepare_cached(
        "SELECT batch, count(*),
                sum(status = 'success'),
                sum(phase = 'rejected' OR status = 'failure'),
                sum(status = 'canceled'),
                COALESCE(sum(charged), 0),
                max(batch_max_cost),
                min(created_at)
         FROM jobs j
         WHERE batch IS NOT NULL AND (?1 IS NULL OR batch = ?1)
           AND local_id = (SELECT max(local_id) FROM jobs k
                           WHERE k.batch = j.batch AND k.batch_index = j.batch_index)
         GROUP BY batch ORDER BY min(local_id) DESC",
    )?;
    let count = |n: Option<i64>| n.unwrap_or(0).max(0) as u64;
    let rows = query.query_map([name], |row| {
        Ok(BatchSummary {
            name: row.get(0)?,
            total: count(row.get(1)?),
            succeeded: count(row.get(2)?),
            failed: count(row.get(3)?),
            canceled: count(row.get(4)?),
            held: 0,
            spent: row.get(5)?,
            max_cost: row.get(6)?,
            created_at: row.get(7)?,
        })
    })?;
    rows.collect()
}

/// A prompt used before, with the parameters of its latest use, for the prompt history.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptEntry {
    /// Its latest job.
    pub local_id: crate::engine::LocalId,
    pub request: crate::kling::KlingRequest,
    /// When that job was made (RFC 3339).
    pub created_at: String,
    /// Where that job ended or stands: the server's status, else the submission's phase.
    pub state: String,
}

/// Every distinct prompt, each with its latest use, newest first, at most `limit`.
pub(super) fn prompts(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<PromptEntry>> {
    let mut query = conn.prepare_cached(
        "SELECT local_id, request, prompt, created_at, COALESCE(status, phase) FROM jobs
         WHERE local_id IN (SELECT max(local_id) FROM jobs WHERE prompt != '' GROUP BY prompt)
         ORDER BY local_id DESC LIMIT ?1",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = query.query_map([limit], |row| {
        let text: String = row.get(1)?;
        // A request this version cannot read still gives its prompt.
        let request =
            serde_json::from_str::<crate::kling::KlingRequest>(&text).unwrap_or_else(|_| {
                crate::kling::KlingRequest::new(row.get::<_, String>(2).unwrap_or_default())
            });
        Ok(PromptEntry {
            local_id: row.get::<_, i64>(0)?.max(0) as crate::engine::LocalId,
            request,
            created_at: row.get(3)?,
            state: row.get(4)?,
        })
    })?;
    rows.collect()
}
