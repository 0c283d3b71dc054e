//! A job as rows of the ledger's tables, and back.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::api::types::{JobStatus, StatusChange};
use crate::engine::Place;
use crate::engine::job::{DownloadRecord, JobRecord, LocalId, Submission};
use crate::kling::KlingRequest;

pub(super) fn phase(submission: &Submission) -> (&'static str, Option<&str>) {
    match submission {
        Submission::Queued => ("queued", None),
        Submission::Uploading => ("uploading", None),
        Submission::Sending => ("sending", None),
        Submission::Unconfirmed { reason } => ("unconfirmed", Some(reason)),
        Submission::Rejected { reason } => ("rejected", Some(reason)),
        Submission::Accepted => ("accepted", None),
    }
}

fn submission(phase: &str, reason: Option<String>) -> Submission {
    let reason = reason.unwrap_or_default();
    match phase {
        "queued" => Submission::Queued,
        "uploading" => Submission::Uploading,
        "sending" => Submission::Sending,
        "rejected" => Submission::Rejected { reason },
        "accepted" => Submission::Accepted,
        // Unconfirmed, or a phase this version does not know: never re-sent by itself.
        _ => Submission::Unconfirmed { reason },
    }
}

/// Local ids are SQLite integers: at most `i64::MAX`.
pub(super) fn sql_id(id: LocalId) -> rusqlite::Result<i64> {
    i64::try_from(id).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Writes the job whole: its row, its status history, its downloads.
pub(super) fn save(tx: &Transaction<'_>, job: &JobRecord) -> rusqlite::Result<()> {
    let id = sql_id(job.local_id)?;
    let (phase, reason) = phase(&job.submission);
    let request = serde_json::to_string(&job.request)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let mode = job.request.mode.to_string();
    // Cached: a job's row is written at every change, and parsing the statement each time
    // was a measurable part of the engine's idle cost.
    tx.prepare_cached(
        "INSERT INTO jobs (local_id, created_at, request, prompt, mode, duration, phase,
                           phase_reason, server_id, status, progress, cost, error, hint,
                           upload_total, updated_at, damage, settled, download_dir, client_token,
                           batch, batch_index, batch_row, quote, batch_max_cost,
                           add_on_cost, ip_detection_cost, no_refund, charged)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)
         ON CONFLICT (local_id) DO UPDATE SET
            created_at = excluded.created_at, request = excluded.request,
            prompt = excluded.prompt, mode = excluded.mode, duration = excluded.duration,
            phase = excluded.phase, phase_reason = excluded.phase_reason,
            server_id = excluded.server_id, status = excluded.status,
            progress = excluded.progress, cost = excluded.cost, error = excluded.error,
            hint = excluded.hint, upload_total = excluded.upload_total,
            updated_at = excluded.updated_at, damage = excluded.damage,
            settled = excluded.settled, download_dir = excluded.download_dir,
            client_token = excluded.client_token, batch = excluded.batch,
            batch_index = excluded.batch_index, batch_row = excluded.batch_row,
            quote = excluded.quote, batch_max_cost = excluded.batch_max_cost,
            add_on_cost = excluded.add_on_cost, ip_detection_cost = excluded.ip_detection_cost,
            no_refund = excluded.no_refund, charged = excluded.charged",
    )?
    .execute(params![
        id,
        job.created_at,
        request,
        job.request.prompt,
        mode,
        job.request.duration,
        phase,
        reason,
        job.job_id,
        job.status.as_ref().map(JobStatus::as_str),
        job.progress,
        job.cost,
        job.error,
        job.hint,
        job.upload_total as i64,
        jiff::Timestamp::now().to_string(),
        job.damage,
        Place::on_record(job).is_done(),
        job.download_dir
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
        job.token,
        job.batch.as_ref().map(|b| b.name.clone()),
        job.batch.as_ref().map(|b| b.index as i64),
        job.batch.as_ref().map(|b| b.row as i64),
        job.quote,
        job.batch.as_ref().and_then(|b| b.max_cost),
        job.add_on_cost,
        job.ip_detection_cost,
        job.no_refund,
        job.charged(),
    ])?;
    save_history(tx, id, &job.history, 0)?;
    save_downloads(tx, id, &job.downloads)
}

/// The status history from its `from`-th change on; what was there from then on goes.
fn save_history(
    tx: &Transaction<'_>,
    id: i64,
    history: &[StatusChange],
    from: usize,
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM status_history WHERE local_id = ?1 AND seq >= ?2")?
        .execute(params![id, from as i64])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO status_history (local_id, seq, date, status) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (seq, change) in history.iter().enumerate().skip(from) {
        insert.execute(params![id, seq as i64, change.date, change.status.as_str()])?;
    }
    Ok(())
}

fn save_downloads(
    tx: &Transaction<'_>,
    id: i64,
    downloads: &[DownloadRecord],
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM downloads WHERE local_id = ?1")?
        .execute([id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO downloads (local_id, idx, asset_id, file, size, placing, error,
                                last_frame, duration)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for (idx, d) in downloads.iter().enumerate() {
        insert.execute(params![
            id,
            idx as i64,
            d.asset_id,
            d.file.as_ref().map(|p| p.to_string_lossy().into_owned()),
            d.size.and_then(|s| i64::try_from(s).ok()),
            d.placing.as_ref().map(|p| p.to_string_lossy().into_owned()),
            d.error,
            d.last_frame,
            d.duration.filter(|s| s.is_finite()),
        ])?;
    }
    Ok(())
}

/// Writes job `job` over `before`, the record its rows hold now. What was given when the job
/// was made (its request, token and place in a batch) is left as it is, and an indexed column,
/// the status history or the downloads are written only when they changed: written whole at
/// every poll, a job rewrote its entry in each of the table's six indexes and its whole status
/// history, most of the pages each commit wrote.
pub(super) fn save_over(
    tx: &Transaction<'_>,
    before: Option<&JobRecord>,
    job: &JobRecord,
) -> rusqlite::Result<()> {
    match before {
        Some(before) if made_alike(before, job) => save_changes(tx, before, job),
        _ => save(tx, job),
    }
}

/// What the rows keep of the job as it was made is the same.
fn made_alike(before: &JobRecord, after: &JobRecord) -> bool {
    fn place(j: &JobRecord) -> Option<(&str, usize, usize)> {
        j.batch.as_ref().map(|b| (b.name.as_str(), b.index, b.row))
    }
    before.local_id == after.local_id
        && before.created_at == after.created_at
        && before.request == after.request
        && before.token == after.token
        && place(before) == place(after)
}

fn save_changes(tx: &Transaction<'_>, before: &JobRecord, job: &JobRecord) -> rusqlite::Result<()> {
    // Every field is named, so that one added later has to be placed here.
    let JobRecord {
        local_id,
        // As made: the same as `before`'s.
        created_at: _,
        request: _,
        token: _,
        submission,
        job_id,
        status,
        progress,
        cost,
        error,
        hint,
        history,
        downloads,
        // Facts of this run only, not kept in rows.
        trouble: _,
        held: _,
        expected_at: _,
        // Judged again from the rest each time it is read.
        place: _,
        download_dir,
        batch,
        quote,
        upload_total,
        damage,
        add_on_cost,
        ip_detection_cost,
        no_refund,
    } = job;
    let id = sql_id(*local_id)?;
    let (phase, reason) = phase(submission);
    let updated = tx
        .prepare_cached(
            "UPDATE jobs SET phase = ?2, phase_reason = ?3, progress = ?4, cost = ?5, error = ?6,
                hint = ?7, upload_total = ?8, updated_at = ?9, damage = ?10, download_dir = ?11,
                quote = ?12, batch_max_cost = ?13, add_on_cost = ?14, ip_detection_cost = ?15,
                no_refund = ?16, charged = ?17
             WHERE local_id = ?1",
        )?
        .execute(params![
            id,
            phase,
            reason,
            progress,
            cost,
            error,
            hint,
            *upload_total as i64,
            jiff::Timestamp::now().to_string(),
            damage,
            download_dir
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            quote,
            batch.as_ref().and_then(|b| b.max_cost),
            add_on_cost,
            ip_detection_cost,
            no_refund,
            job.charged(),
        ])?;
    if updated == 0 {
        tracing::debug!("job {local_id} had no row to update: written whole");
        return save(tx, job);
    }
    // Indexed columns: each written only when it changed.
    if *job_id != before.job_id {
        tx.prepare_cached("UPDATE jobs SET server_id = ?2 WHERE local_id = ?1")?
            .execute(params![id, job_id])?;
    }
    if *status != before.status {
        tx.prepare_cached("UPDATE jobs SET status = ?2 WHERE local_id = ?1")?
            .execute(params![id, status.as_ref().map(JobStatus::as_str)])?;
    }
    let settled = Place::on_record(job).is_done();
    if settled != Place::on_record(before).is_done() {
        tx.prepare_cached("UPDATE jobs SET settled = ?2 WHERE local_id = ?1")?
            .execute(params![id, settled])?;
    }
    if *history != before.history {
        // A new status is added to the end; anything else is written again.
        let kept = if history.starts_with(&before.history) {
            before.history.len()
        } else {
            0
        };
        save_history(tx, id, history, kept)?;
    }
    if *downloads != before.downloads {
        save_downloads(tx, id, downloads)?;
    }
    Ok(())
}

/// Forgets job `id`; what it cost (as spend and the caps count it) is kept apart.
pub(super) fn delete(tx: &Transaction<'_>, id: LocalId) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO forgotten_spend (local_id, created_at, mode, batch, charged)
         SELECT local_id, created_at, mode, batch, COALESCE(charged, quote) FROM jobs
         WHERE local_id = ?1 AND phase IN ('sending', 'accepted', 'unconfirmed')
           AND COALESCE(charged, quote) > 0",
        [sql_id(id)?],
    )?;
    tx.execute("DELETE FROM jobs WHERE local_id = ?1", [sql_id(id)?])?;
    Ok(())
}

const COLUMNS: &str = "local_id, created_at, request, prompt, phase, phase_reason, server_id,
    status, progress, cost, error, hint, upload_total, damage, download_dir, client_token, batch,
    batch_index, batch_row, quote, batch_max_cost, add_on_cost, ip_detection_cost, no_refund,
    held";

fn job_from(row: &Row<'_>) -> rusqlite::Result<JobRecord> {
    let id: i64 = row.get(0)?;
    let request_text: String = row.get(2)?;
    // A request this version cannot read keeps its prompt: the job is still shown and followed.
    let request = serde_json::from_str::<KlingRequest>(&request_text)
        .unwrap_or_else(|_| KlingRequest::new(row.get::<_, String>(3).unwrap_or_default()));
    let mut job = JobRecord::new(id as LocalId, row.get(1)?, request);
    job.submission = submission(&row.get::<_, String>(4)?, row.get(5)?);
    job.job_id = row.get(6)?;
    job.status = row
        .get::<_, Option<String>>(7)?
        .map(|s| JobStatus::parse(&s));
    job.progress = row.get(8)?;
    job.cost = row.get(9)?;
    job.error = row.get(10)?;
    job.hint = row.get(11)?;
    job.upload_total = row.get::<_, i64>(12)?.max(0) as usize;
    job.damage = row.get(13)?;
    job.download_dir = row.get::<_, Option<String>>(14)?.map(PathBuf::from);
    job.token = row.get(15)?;
    let batch: Option<String> = row.get(16)?;
    let place = |at: usize| -> usize {
        row.get::<_, Option<i64>>(at)
            .ok()
            .flatten()
            .unwrap_or(0)
            .max(0) as usize
    };
    job.batch = batch.map(|name| super::super::job::BatchTag {
        name,
        index: place(17),
        row: place(18),
        max_cost: row.get::<_, Option<f64>>(20).ok().flatten(),
    });
    job.quote = row.get(19)?;
    job.add_on_cost = row.get(21)?;
    job.ip_detection_cost = row.get(22)?;
    job.no_refund = row.get::<_, Option<bool>>(23)?.unwrap_or(false);
    // Only while it is queued: a hold the engine has not cleared yet means nothing once sent.
    if job.submission == Submission::Queued {
        job.held = row
            .get::<_, Option<String>>(24)?
            .and_then(|text| serde_json::from_str(&text).ok());
    }
    Ok(job)
}

/// Every job, with its history and downloads.
pub(super) fn load_all(conn: &Connection) -> rusqlite::Result<BTreeMap<LocalId, JobRecord>> {
    Ok(load_where(conn, "1", &[])?
        .into_iter()
        .map(|j| (j.local_id, j))
        .collect())
}

/// The jobs whose `local_id` the SQL condition `filter` (on `jobs`) accepts, with their history
/// and downloads.
pub(super) fn load_where(
    conn: &Connection,
    filter: &str,
    values: &[rusqlite::types::Value],
) -> rusqlite::Result<Vec<JobRecord>> {
    let mut jobs = Vec::new();
    for_each_where(conn, filter, values, |job| jobs.push(job))?;
    Ok(jobs)
}

/// Like [`load_where`], one job at a time in `local_id` order, holding only that one: the
/// jobs, their history and their downloads are read side by side, all sorted by `local_id`.
pub(super) fn for_each_where(
    conn: &Connection,
    filter: &str,
    values: &[rusqlite::types::Value],
    mut each: impl FnMut(JobRecord),
) -> rusqlite::Result<()> {
    // One snapshot for the three reads, whatever the writer commits meanwhile.
    let snapshot = conn.unchecked_transaction()?;
    let picked = format!("local_id IN (SELECT local_id FROM jobs WHERE {filter})");
    let mut jobs_query = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE {filter} ORDER BY local_id"
    ))?;
    let mut history_query = conn.prepare(&format!(
        "SELECT local_id, date, status FROM status_history WHERE {picked} ORDER BY local_id, seq"
    ))?;
    let mut downloads_query = conn.prepare(&format!(
        "SELECT local_id, asset_id, file, size, placing, error, last_frame, duration
         FROM downloads WHERE {picked}
         ORDER BY local_id, idx"
    ))?;
    let mut jobs = jobs_query.query(rusqlite::params_from_iter(values.iter()))?;
    let mut history = history_query.query(rusqlite::params_from_iter(values.iter()))?;
    let mut downloads = downloads_query.query(rusqlite::params_from_iter(values.iter()))?;
    let mut next_change = history.next()?.map(change_from).transpose()?;
    let mut next_download = downloads.next()?.map(download_from).transpose()?;
    while let Some(row) = jobs.next()? {
        let mut job = job_from(row)?;
        while let Some((id, change)) = next_change.take() {
            if id > job.local_id {
                next_change = Some((id, change));
                break;
            }
            if id == job.local_id {
                job.history.push(change);
            }
            next_change = history.next()?.map(change_from).transpose()?;
        }
        while let Some((id, download)) = next_download.take() {
            if id > job.local_id {
                next_download = Some((id, download));
                break;
            }
            if id == job.local_id {
                job.downloads.push(download);
            }
            next_download = downloads.next()?.map(download_from).transpose()?;
        }
        job.place = Place::on_record(&job);
        each(job);
    }
    drop((jobs, history, downloads));
    drop((jobs_query, history_query, downloads_query));
    snapshot.finish()
}

fn change_from(row: &Row<'_>) -> rusqlite::Result<(LocalId, StatusChange)> {
    Ok((
        row.get::<_, i64>(0)? as LocalId,
        StatusChange {
            date: row.get(1)?,
            status: JobStatus::parse(&row.get::<_, String>(2)?),
        },
    ))
}

fn download_from(row: &Row<'_>) -> rusqlite::Result<(LocalId, DownloadRecord)> {
    Ok((
        row.get::<_, i64>(0)? as LocalId,
        DownloadRecord {
            asset_id: row.get(1)?,
            file: row.get::<_, Option<String>>(2)?.map(PathBuf::from),
            size: row.get::<_, Option<i64>>(3)?.map(|s| s.max(0) as u64),
            placing: row.get::<_, Option<String>>(4)?.map(PathBuf::from),
            error: row.get(5)?,
            last_frame: row.get(6)?,
            duration: row.get(7)?,
        },
    ))
}

/// The highest local id ever given, whether or not its job is still there.
pub(super) fn highest_id(conn: &Connection) -> rusqlite::Result<LocalId> {
    let from_jobs: Option<i64> =
        conn.query_row("SELECT MAX(local_id) FROM jobs", [], |r| r.get(0))?;
    let from_meta: Option<i64> = conn
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'highest_local_id'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(from_jobs.max(from_meta).unwrap_or(0).max(0) as LocalId)
}

/// Remembers that `id` was given, so that forgetting the newest job never lets its number be
/// given again.
pub(super) fn note_id(tx: &Transaction<'_>, id: LocalId) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('highest_local_id', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value
         WHERE CAST(meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)",
        [sql_id(id)?.to_string()],
    )?;
    Ok(())
}
