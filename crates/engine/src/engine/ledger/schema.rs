//! The ledger's tables, as forward migrations: each runs once, in order, in its own transaction,
//! and `schema_version` says how far a file has come. A file from a newer kling-tui is refused
//! rather than misread.
//!
//! Stable for users' own queries (`sqlite3 ledger.sqlite3`): `jobs`, `status_history`,
//! `downloads` and `upload_cache`, their columns only ever added to. The rest is the
//! program's own.

use rusqlite::Connection;

/// Version N is `MIGRATIONS[N - 1]`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: jobs, what the server said of them, and their files.
    "CREATE TABLE jobs (
        local_id     INTEGER PRIMARY KEY,
        created_at   TEXT NOT NULL,            -- RFC 3339, when the intent was recorded
        request      TEXT NOT NULL,            -- the request as sent, JSON in the API's names
        prompt       TEXT NOT NULL,
        mode         TEXT NOT NULL,
        duration     INTEGER NOT NULL,
        phase        TEXT NOT NULL,            -- queued, uploading, sending, unconfirmed, rejected, accepted
        phase_reason TEXT,
        server_id    TEXT,                     -- the server's job id, once accepted
        status       TEXT,                     -- the server's status, once known
        progress     REAL NOT NULL DEFAULT 0,
        cost         REAL,                     -- creative units
        error        TEXT,
        hint         TEXT,
        upload_total INTEGER NOT NULL DEFAULT 0,
        updated_at   TEXT NOT NULL
    );
    CREATE INDEX jobs_by_server_id ON jobs(server_id);
    CREATE INDEX jobs_by_created_at ON jobs(created_at);
    CREATE INDEX jobs_by_status ON jobs(status);
    CREATE TABLE status_history (
        local_id INTEGER NOT NULL REFERENCES jobs(local_id) ON DELETE CASCADE,
        seq      INTEGER NOT NULL,
        date     TEXT NOT NULL,
        status   TEXT NOT NULL,
        PRIMARY KEY (local_id, seq)
    );
    CREATE TABLE downloads (
        local_id INTEGER NOT NULL REFERENCES jobs(local_id) ON DELETE CASCADE,
        idx      INTEGER NOT NULL,             -- the asset's place in the job's output, from 0
        asset_id TEXT NOT NULL,
        file     TEXT,                         -- where it was saved, once done
        size     INTEGER,
        placing  TEXT,                         -- the name it was being given, before `file`
        error    TEXT,
        PRIMARY KEY (local_id, idx)
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 2: what could not be read of a job, kept beside what was recovered.
    "ALTER TABLE jobs ADD COLUMN damage TEXT;
    CREATE TABLE damaged_records (
        id        INTEGER PRIMARY KEY,
        local_id  INTEGER,                     -- the job it seems to belong to, if that could be read
        raw       TEXT NOT NULL,               -- the record as it was found
        source    TEXT NOT NULL,               -- where it was found
        found_at  TEXT NOT NULL
    );",
    // 3: whether a job has work left, kept with it, so that unfinished work and pages of
    // history are index lookups however long the history.
    "ALTER TABLE jobs ADD COLUMN settled INTEGER NOT NULL DEFAULT 0;
    UPDATE jobs SET settled = (phase = 'rejected'
        OR (phase = 'accepted' AND COALESCE(status, '') IN ('failure', 'canceled'))
        OR (phase = 'accepted' AND COALESCE(status, '') = 'success'
            AND NOT EXISTS (SELECT 1 FROM downloads d
                            WHERE d.local_id = jobs.local_id AND d.file IS NULL)));
    CREATE INDEX jobs_by_settled ON jobs(settled, local_id);",
    // 4: files already uploaded, by content and project, so the same bytes are not sent twice.
    "CREATE TABLE upload_cache (
        project      TEXT NOT NULL,            -- '-' when none
        content_hash TEXT NOT NULL,            -- SHA-256 of the file's bytes
        asset_id     TEXT NOT NULL,
        file         TEXT NOT NULL,            -- the file it came from last
        size         INTEGER NOT NULL,
        uploaded_at  TEXT NOT NULL,
        PRIMARY KEY (project, content_hash)
    );",
    // 5: where a job's videos go, as the client that sent it asked.
    // and the submitting client's name for it, so a submission sent again is found.
    "ALTER TABLE jobs ADD COLUMN download_dir TEXT;
    ALTER TABLE jobs ADD COLUMN client_token TEXT;
    CREATE INDEX jobs_by_client_token ON jobs(client_token) WHERE client_token IS NOT NULL;",
    // 6: the batch a job belongs to, its place in the expanded batch and its line in the file.
    "ALTER TABLE jobs ADD COLUMN batch TEXT;
    ALTER TABLE jobs ADD COLUMN batch_index INTEGER;
    ALTER TABLE jobs ADD COLUMN batch_row INTEGER;
    CREATE INDEX jobs_by_batch ON jobs(batch, batch_index) WHERE batch IS NOT NULL;",
    // 7: spend caps: what a dry run quoted for a job before it was sent, and its batch's cap.
    "ALTER TABLE jobs ADD COLUMN quote REAL;
    ALTER TABLE jobs ADD COLUMN batch_max_cost REAL;",
    // 8: what dry runs said requests cost, so a batch planned again is priced from here.
    "CREATE TABLE quotes (
        request   TEXT PRIMARY KEY,           -- SHA-256 of the request's JSON, as sent
        cost      REAL NOT NULL,              -- creative units
        quoted_at TEXT NOT NULL               -- RFC 3339
    );",
    // 9: what a job cost as the SDK counts it: add-on fees (`cuCostDetails`), IP detection
    // billed outside the job, failures that are not refunded, and the total (`charged`, what
    // spend and the caps add up). A success that named no video is not settled: its video
    // is still to come.
    "ALTER TABLE jobs ADD COLUMN add_on_cost REAL;
    ALTER TABLE jobs ADD COLUMN ip_detection_cost REAL;
    ALTER TABLE jobs ADD COLUMN no_refund INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN charged REAL;
    ALTER TABLE jobs ADD COLUMN held TEXT;     -- why a queued job is not sent (JSON), if it is held
    UPDATE jobs SET charged = CASE WHEN COALESCE(status, '') IN ('failure', 'canceled') THEN 0
                                   ELSE cost END;
    UPDATE jobs SET settled = 0
        WHERE phase = 'accepted' AND status = 'success'
          AND NOT EXISTS (SELECT 1 FROM downloads d WHERE d.local_id = jobs.local_id);",
    // 10: what forgotten jobs cost: a job that leaves the ledger was still paid for, and
    // still counts in spend and against the caps.
    "CREATE TABLE forgotten_spend (
        local_id   INTEGER PRIMARY KEY,        -- the job's number, no longer in jobs
        created_at TEXT NOT NULL,
        mode       TEXT NOT NULL,
        batch      TEXT,
        charged    REAL NOT NULL               -- what it cost (its quote, if that was not known)
    );",
    // 11: from takes to a cut. What the server says of each saved video that the next shot
    // needs (its last frame, an image asset usable as a startImage; its length). Keep and
    // reject marks with their reasons; which job continues or re-renders which; named
    // sequences of shots, each with its takes and at most one chosen. Marks, links and
    // sequences are the user's own and outlive a forgotten job's row: no foreign key to jobs.
    "ALTER TABLE downloads ADD COLUMN last_frame TEXT;   -- asset id of the video's lastFrame
    ALTER TABLE downloads ADD COLUMN duration REAL;        -- seconds, as the server measured it
    CREATE TABLE marks (
        local_id  INTEGER PRIMARY KEY,
        mark      TEXT NOT NULL CHECK (mark IN ('keep', 'reject')),
        reason    TEXT,                                -- why, from the user's list, if given
        marked_at TEXT NOT NULL
    );
    CREATE TABLE links (
        child  INTEGER PRIMARY KEY,                    -- the newer job
        parent INTEGER NOT NULL,
        kind   TEXT NOT NULL CHECK (kind IN ('continues', 'hero'))
    );
    CREATE INDEX links_by_parent ON links(parent);
    CREATE TABLE sequences (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE shots (
        id       INTEGER PRIMARY KEY,
        sequence INTEGER NOT NULL REFERENCES sequences(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,                     -- from 1, no gaps
        chosen   INTEGER,                              -- the chosen take's local id
        created_at TEXT NOT NULL
    );
    CREATE INDEX shots_by_sequence ON shots(sequence, position);
    CREATE TABLE takes (
        shot     INTEGER NOT NULL REFERENCES shots(id) ON DELETE CASCADE,
        local_id INTEGER NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (shot, local_id)
    );
    CREATE INDEX takes_by_job ON takes(local_id);",
];

#[derive(Debug, thiserror::Error)]
pub(super) enum SchemaError {
    #[error("written by a newer kling-tui (schema {found}, this one knows up to {known})")]
    Newer { found: u32, known: u32 },
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

/// Brings the file to the latest schema; returns the version it was at.
pub(super) fn migrate(conn: &mut Connection, upto: usize) -> Result<u32, SchemaError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let found: u32 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |row| row.get(0),
    )?;
    let known = upto as u32;
    if found > known {
        return Err(SchemaError::Newer { found, known });
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(upto)
        .skip(found as usize)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [index as i64 + 1],
        )?;
        tx.commit()?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_at_version_1_moves_forward_keeping_its_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(migrate(&mut conn, 1).unwrap(), 0);
        conn.execute(
            "INSERT INTO jobs (local_id, created_at, request, prompt, mode, duration, phase, updated_at)
             VALUES (7, 'x', '{}', 'a fox', 'pro', 5, 'accepted', 'x')",
            [],
        )
        .unwrap();
        drop(conn);
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(migrate(&mut conn, MIGRATIONS.len()).unwrap(), 1);
        let (prompt, damage): (String, Option<String>) = conn
            .query_row(
                "SELECT prompt, damage FROM jobs WHERE local_id = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((prompt.as_str(), damage), ("a fox", None));
        let version: u32 = conn
            .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        // Running it again changes nothing.
        assert_eq!(migrate(&mut conn, MIGRATIONS.len()).unwrap(), version);
    }

    #[test]
    fn a_file_from_a_newer_version_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, MIGRATIONS.len()).unwrap();
        conn.execute("INSERT INTO schema_version (version) VALUES (99)", [])
            .unwrap();
        let err = migrate(&mut conn, MIGRATIONS.len())
            .unwrap_err()
            .to_string();
        assert!(err.contains("newer kling-tui (schema 99"), "{err}");
    }
}
