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
}

/// Creative units spent in one group.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spend {
    /// The day (`YYYY-MM-DD`, UTC) or mode it stands for; `total` when not grouped.
    pub group: String,
    pub jobs: u64,
    pub creative_units: f64,
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
        // The server's status, or where a submission stands locally (`queued-locally` is the
        // `queued` phase).
        clauses.push("(status = ? OR phase = ?)");
        values.push(Value::Text(status.clone()));
        values.push(Value::Text(
            status
                .strip_suffix("-locally")
                .unwrap_or(status)
                .to_string(),
        ));
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

/// The `finished` jobs (an SQL condition) whose prompt holds `search`, in `order`, from the
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
    if let Some(text) = search.filter(|t| !t.is_empty()) {
        filter.push_str(" AND prompt LIKE ? ESCAPE '\\'");
        values.push(Value::Text(format!("%{}%", like_escaped(text))));
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

/// Confirmed costs of jobs the server took, less failed ones (they are refunded).
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
    let sql = format!(
        "SELECT {group} AS grp, count(*), COALESCE(sum(cost), 0) FROM jobs
         WHERE phase = 'accepted' AND cost IS NOT NULL AND COALESCE(status, '') != 'failure'
           AND (?1 IS NULL OR julianday(created_at) >= julianday(?1))
         GROUP BY grp ORDER BY grp"
    );
    let mut query = conn.prepare(&sql)?;
    let since = since.map(|t| t.to_string());
    let rows = query.query_map([since], |row| {
        Ok(Spend {
            group: row.get(0)?,
            jobs: row.get::<_, i64>(1)?.max(0) as u64,
            creative_units: row.get(2)?,
        })
    })?;
    rows.collect()
}
