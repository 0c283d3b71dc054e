//! The ledger: every job, its status history, cost and files, in a SQLite database in the data
//! folder (one per API and project), so that no job is ever lost and users can query it
//! themselves. One process writes it at a time (a lock file says which); any number read it
//! meanwhile (WAL). An intent is durable (`synchronous=FULL`) before its POST, an answer before
//! anything is said about it.
//!
//! On first start beside a 0.1 `journal.jsonl`, every job in it is taken over in one
//! transaction and the file kept as `journal.jsonl.imported`.

mod import;
mod meta;
mod query;
mod rows;
mod schema;

pub use query::{
    BatchSummary, HistoryOrder, JobQuery, PromptEntry, Rejections, Spend, SpendBy, per_kept,
};

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::job::{JobRecord, LocalId, PollTrouble};
use super::lifecycle::place::Place;
use super::record::{Record, apply};
use crate::kling::KlingRequest;

const FILE_NAME: &str = "ledger.sqlite3";
/// Jobs with work left: not refused, not failed or canceled, not succeeded with every file
/// saved (the `settled` column, kept on every save). Only these are held in memory; the rest
/// is history, read page by page.
const LIVE: &str = "settled = 0";
const FINISHED: &str = "settled = 1";
const LOCK_NAME: &str = "ledger.lock";
/// The lock a 0.1 process holds on its journal: held too, so that one still running keeps
/// this version out (and the other way round) instead of both writing.
const LOCK_0_1: &str = "journal.lock";
/// The 0.1 journal, taken over on first start.
const JOURNAL_0_1: &str = "journal.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "{}: in use by another kling-tui process; wait for it to finish, or use `kling-tui jobs` to read it",
        path.display()
    )]
    Locked { path: PathBuf },
    /// The database file itself is damaged: nothing is read from it, and nothing written.
    #[error(
        "{}: the ledger is damaged ({detail}). Nothing was changed. To recover what it holds: \
         sqlite3 {} .recover | sqlite3 recovered.sqlite3, then move the damaged file aside and \
         put recovered.sqlite3 in its place",
        path.display(), path.display()
    )]
    Damaged { path: PathBuf, detail: String },
    #[error("{}: {detail}", path.display())]
    Io { path: PathBuf, detail: String },
}

fn io_err(path: &Path, e: &impl std::fmt::Display) -> LedgerError {
    LedgerError::Io {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// A SQLite failure on `path`: the file being damaged or not a database is told as such.
fn sql_err(path: &Path, e: rusqlite::Error) -> LedgerError {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    match e.sqlite_error_code() {
        Some(DatabaseCorrupt | NotADatabase) => LedgerError::Damaged {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        _ => io_err(path, &e),
    }
}

pub struct Ledger {
    dir: PathBuf,
    conn: Connection,
    /// Held for the life of the ledger: the OS locks go with them.
    _locks: [File; 2],
    jobs: BTreeMap<LocalId, JobRecord>,
    /// `None` once every local id has been used: new intents are then refused rather than
    /// given an id twice.
    next_id: Option<LocalId>,
    /// Whether the connection commits with a full fsync right now.
    full_sync: bool,
    notices: Vec<String>,
    /// A job in memory may have nothing left to do: [`Ledger::evict_settled`] looks through
    /// them only then, not twice a second while a thousand run.
    may_evict: bool,
    /// The file this ledger writes, as the file system knows it (device and inode) when it
    /// was opened: a folder removed (and made again by another engine) leaves this process
    /// writing a file no one else will read.
    identity: Option<(u64, u64)>,
}

/// The device and inode of the file at `path`, if there is one.
pub fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl Ledger {
    /// Opens (or creates) the ledger in `dir` for writing, taking its lock; takes over a 0.1
    /// journal found there.
    pub fn open(dir: &Path) -> Result<Self, LedgerError> {
        crate::config::private_dir(dir).map_err(|e| io_err(dir, &e))?;
        let locks = [lock(dir, LOCK_NAME)?, lock(dir, LOCK_0_1)?];
        let path = dir.join(FILE_NAME);
        let mut conn = Connection::open(&path).map_err(|e| sql_err(&path, e))?;
        // Prompts are private: the file 0600 (SQLite gives its WAL the same mode).
        crate::config::private_file(&path).map_err(|e| io_err(&path, &e))?;
        check(&conn, &path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
        )
        .map_err(|e| sql_err(&path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| sql_err(&path, e))?;
        schema::migrate(&mut conn, schema::MIGRATIONS.len()).map_err(|e| match e {
            schema::SchemaError::Sql(e) => sql_err(&path, e),
            newer => io_err(&path, &newer),
        })?;
        let mut ledger = Self {
            dir: dir.to_path_buf(),
            conn,
            _locks: locks,
            jobs: BTreeMap::new(),
            next_id: None,
            full_sync: true,
            notices: Vec::new(),
            may_evict: true,
            identity: file_identity(&path),
        };
        ledger.take_over_journal()?;
        ledger.jobs = rows::load_where(&ledger.conn, LIVE, &[])
            .map_err(|e| sql_err(&path, e))?
            .into_iter()
            .map(|j| (j.local_id, j))
            .collect();
        let highest = rows::highest_id(&ledger.conn).map_err(|e| sql_err(&path, e))?;
        ledger.next_id = highest.checked_add(1).filter(|n| i64::try_from(*n).is_ok());
        ledger
            .notices
            .extend(damage_notices(&ledger.conn).map_err(|e| sql_err(&path, e))?);
        Ok(ledger)
    }

    /// A plain connection to the ledger in `dir` for tables any process may write (the
    /// upload cache), the ledger made first if there is none.
    pub fn connect(dir: &Path) -> Result<Connection, LedgerError> {
        let path = dir.join(FILE_NAME);
        if !path.exists() {
            match Self::open(dir) {
                Ok(_) | Err(LedgerError::Locked { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let conn = Connection::open(&path).map_err(|e| sql_err(&path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| sql_err(&path, e))?;
        let version = |conn: &Connection| -> Result<i64, LedgerError> {
            conn.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )
            .map_err(|e| sql_err(&path, e))
        };
        if version(&conn)? < schema::MIGRATIONS.len() as i64 {
            // Written by an older kling-tui: brought up to date here, unless a writer holds it.
            match Self::open(dir) {
                Ok(_) => {}
                Err(LedgerError::Locked { .. }) => {
                    return Err(io_err(
                        &path,
                        &"the ledger's schema is older than this kling-tui's, and an older \
                          engine holds it: `kling-tui engine stop`, then try again",
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(conn)
    }

    /// Reads the ledger without locking or writing, while another process may be writing it.
    pub fn read_only(dir: &Path) -> Result<BTreeMap<LocalId, JobRecord>, LedgerError> {
        let path = dir.join(FILE_NAME);
        if !path.exists() {
            // Not taken over yet: what a 0.1 journal there holds, read as it is.
            let journal = dir.join(JOURNAL_0_1);
            return match import::read(&journal) {
                Ok(imported) => Ok(imported.jobs),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
                Err(e) => Err(io_err(&journal, &e)),
            };
        }
        let conn = Self::reader(dir)?.ok_or_else(|| io_err(&path, &"it went away"))?;
        rows::load_all(&conn).map_err(|e| sql_err(&path, e))
    }

    /// Calls `each` with every job `query` picks, oldest first, holding one at a time; read
    /// without locking or writing.
    pub fn query(
        dir: &Path,
        query: &JobQuery,
        each: impl FnMut(JobRecord),
    ) -> Result<(), LedgerError> {
        let conn = Self::reader_or_journal(dir)?;
        query::jobs(&conn, query, each).map_err(|e| sql_err(&dir.join(FILE_NAME), e))
    }

    /// Creative units spent, grouped as asked, read without locking or writing.
    pub fn spend(
        dir: &Path,
        since: Option<jiff::Timestamp>,
        by: SpendBy,
    ) -> Result<Vec<Spend>, LedgerError> {
        let conn = Self::reader_or_journal(dir)?;
        query::spend(&conn, since, by).map_err(|e| sql_err(&dir.join(FILE_NAME), e))
    }

    /// Why takes were rejected, counted, read without locking or writing.
    pub fn rejections(
        dir: &Path,
        since: Option<jiff::Timestamp>,
    ) -> Result<Vec<Rejections>, LedgerError> {
        let conn = Self::reader_or_journal(dir)?;
        query::rejections(&conn, since).map_err(|e| sql_err(&dir.join(FILE_NAME), e))
    }

    /// Where every batch (or the one named) stands, newest first, read without locking or
    /// writing.
    pub fn batch_summaries(
        dir: &Path,
        name: Option<&str>,
    ) -> Result<Vec<BatchSummary>, LedgerError> {
        let conn = Self::reader_or_journal(dir)?;
        query::batches(&conn, name).map_err(|e| sql_err(&dir.join(FILE_NAME), e))
    }

    /// The ledger to read; before any, a 0.1 journal there (not taken over yet) read into a
    /// ledger in memory, so every query is the same SQL whichever holds the jobs.
    fn reader_or_journal(dir: &Path) -> Result<Connection, LedgerError> {
        if let Some(conn) = Self::reader(dir)? {
            return Ok(conn);
        }
        let jobs = Self::read_only(dir)?;
        let path = dir.join(JOURNAL_0_1);
        let mut conn = Connection::open_in_memory().map_err(|e| sql_err(&path, e))?;
        schema::migrate(&mut conn, schema::MIGRATIONS.len()).map_err(|e| io_err(&path, &e))?;
        let tx = conn.transaction().map_err(|e| sql_err(&path, e))?;
        for job in jobs.values() {
            rows::save(&tx, job).map_err(|e| sql_err(&path, e))?;
        }
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(conn)
    }

    /// A read-only connection, checked; `None` when there is no ledger yet.
    fn reader(dir: &Path) -> Result<Option<Connection>, LedgerError> {
        let path = dir.join(FILE_NAME);
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| sql_err(&path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| sql_err(&path, e))?;
        // The writer runs the full check on start; a reader only needs the file to be a
        // database, which its first read tells.
        conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0))
            .map_err(|e| sql_err(&path, e))?;
        Ok(Some(conn))
    }

    /// What the user should be told once, on opening: a journal taken over, damaged records.
    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The jobs with work left (and those that just finished, until [`Self::evict_settled`]).
    pub fn jobs(&self) -> &BTreeMap<LocalId, JobRecord> {
        &self.jobs
    }

    /// Whether a job in memory may have nothing left to do (see [`Ledger::evict_settled`]).
    pub fn may_evict(&self) -> bool {
        self.may_evict
    }

    /// Lets go of jobs that have nothing left to do: memory holds unfinished work only.
    /// Whether any was let go of.
    pub fn evict_settled(&mut self) -> bool {
        if !std::mem::take(&mut self.may_evict) {
            return false;
        }
        let held = self.jobs.len();
        self.jobs
            .retain(|_, job| !Place::on_record(job).is_done() || job.trouble.is_some());
        self.jobs.len() != held
    }

    /// Brings a finished job back into memory, for a command about it; whether it exists.
    pub fn admit(&mut self, id: LocalId) -> bool {
        if self.jobs.contains_key(&id) {
            return true;
        }
        let Ok(sql_id) = rows::sql_id(id) else {
            return false;
        };
        let found = rows::load_where(
            &self.conn,
            "local_id = ?",
            &[rusqlite::types::Value::Integer(sql_id)],
        );
        match found {
            Ok(jobs) => {
                let mut any = false;
                for job in jobs {
                    any = true;
                    self.may_evict = true;
                    self.jobs.insert(job.local_id, job);
                }
                any
            }
            Err(e) => {
                tracing::warn!("cannot read job {id} from the ledger: {e}");
                false
            }
        }
    }

    /// The job the server knows as `server_id`, brought into memory; its local id.
    pub fn find_server_job(&mut self, server_id: &str) -> Option<LocalId> {
        let found: Option<i64> = self
            .conn
            .query_row(
                "SELECT local_id FROM jobs WHERE server_id = ?1 ORDER BY local_id LIMIT 1",
                [server_id],
                |r| r.get(0),
            )
            .optional()
            .unwrap_or_else(|e| {
                tracing::warn!("cannot look up {server_id} in the ledger: {e}");
                None
            });
        let id = found? as LocalId;
        self.admit(id).then_some(id)
    }

    /// The job a client named `token` when it submitted it.
    pub fn find_token(&mut self, token: &str) -> Option<LocalId> {
        if let Some(job) = self
            .jobs()
            .values()
            .find(|j| j.token.as_deref() == Some(token))
        {
            return Some(job.local_id);
        }
        let found: Option<i64> = self
            .conn
            .query_row(
                "SELECT local_id FROM jobs WHERE client_token = ?1 LIMIT 1",
                [token],
                |r| r.get(0),
            )
            .optional()
            .unwrap_or_else(|e| {
                tracing::warn!("cannot look up a submission token in the ledger: {e}");
                None
            });
        let id = found? as LocalId;
        self.admit(id).then_some(id)
    }

    /// Every server id the ledger knows, finished jobs included.
    pub fn server_ids(&self) -> std::collections::HashSet<String> {
        let read = || -> rusqlite::Result<std::collections::HashSet<String>> {
            let mut query = self
                .conn
                .prepare("SELECT server_id FROM jobs WHERE server_id IS NOT NULL")?;
            let ids = query.query_map([], |r| r.get(0))?;
            ids.collect()
        };
        read().unwrap_or_else(|e| {
            tracing::warn!("cannot list the ledger's server ids: {e}");
            self.jobs
                .values()
                .filter_map(|j| j.job_id.clone())
                .collect()
        })
    }

    /// A page of finished jobs whose prompt holds `search`, in `order`, from the `offset`-th,
    /// at most `limit`; and how many finished jobs match in all.
    pub fn history(
        &self,
        search: Option<&str>,
        order: HistoryOrder,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<JobRecord>, u64), LedgerError> {
        query::history(&self.conn, FINISHED, search, order, offset, limit)
            .map_err(|e| sql_err(&self.path(), e))
    }

    /// Every distinct prompt with its latest use, newest first, at most `limit`.
    pub fn prompts(&self, limit: usize) -> Result<Vec<PromptEntry>, LedgerError> {
        query::prompts(&self.conn, limit).map_err(|e| sql_err(&self.path(), e))
    }

    /// Where every batch (or the one named) stands, newest first.
    pub fn batches(&self, name: Option<&str>) -> Result<Vec<BatchSummary>, LedgerError> {
        query::batches(&self.conn, name).map_err(|e| sql_err(&self.path(), e))
    }

    /// The requests of batch `name` whose latest attempt failed or was refused, in order.
    pub fn batch_failures(&self, name: &str) -> Result<Vec<JobRecord>, LedgerError> {
        rows::load_where(
            &self.conn,
            "batch = ?1 AND (phase = 'rejected' OR status = 'failure')
             AND local_id = (SELECT max(local_id) FROM jobs k
                             WHERE k.batch = jobs.batch AND k.batch_index = jobs.batch_index)",
            &[rusqlite::types::Value::Text(name.to_string())],
        )
        .map(|mut jobs| {
            jobs.sort_by_key(|j| j.batch.as_ref().map_or(0, |b| b.index));
            jobs
        })
        .map_err(|e| sql_err(&self.path(), e))
    }

    pub fn job(&self, id: LocalId) -> Option<&JobRecord> {
        self.jobs.get(&id)
    }

    /// The file this ledger writes is still the one at its path: not removed, not replaced.
    /// What is written otherwise reaches no other process: nothing paid may be sent then.
    pub fn on_disk(&self) -> bool {
        self.identity.is_some() && file_identity(&self.path()) == self.identity
    }

    /// Sets what is known of a job's failing polls, in memory only (a fact of this session);
    /// tells whether that changed anything.
    pub fn set_trouble(&mut self, id: LocalId, trouble: Option<PollTrouble>) -> bool {
        match self.jobs.get_mut(&id) {
            Some(job) if job.trouble != trouble => {
                // A finished job is kept while its polls are in trouble, and let go of after.
                self.may_evict |= trouble.is_none();
                job.trouble = trouble;
                true
            }
            _ => false,
        }
    }

    /// Why a job is held and not sent (a spend cap); tells whether that changed anything.
    /// Written to its row too, so that `jobs` and `batch status` read the same reason while
    /// the engine runs (the engine weighs it again at its next start).
    pub fn set_held(&mut self, id: LocalId, held: Option<super::job::Hold>) -> bool {
        match self.jobs.get_mut(&id) {
            Some(job) if job.held != held => {
                let text = held.as_ref().and_then(|h| serde_json::to_string(h).ok());
                job.held = held;
                let written = rows::sql_id(id).and_then(|sql| {
                    self.conn
                        .prepare_cached("UPDATE jobs SET held = ?2 WHERE local_id = ?1")?
                        .execute(rusqlite::params![sql, text])
                });
                if let Err(e) = written {
                    tracing::warn!("job {id}: cannot write why it is held: {e}");
                }
                true
            }
            _ => false,
        }
    }

    /// What counts against a spend cap: the cost of every job the server took or may have
    /// taken (its quote while its cost is not known), failed and canceled ones left out (they
    /// are refunded), forgotten ones kept; made since `since` (RFC 3339), of batch `batch`, where given; job `but`
    /// (the one being weighed, recorded as on its way) left out.
    pub fn committed_spend(
        &self,
        since: Option<&str>,
        batch: Option<&str>,
        but: LocalId,
    ) -> Result<f64, LedgerError> {
        let but = i64::try_from(but).unwrap_or(i64::MAX);
        self.conn
            .query_row(
                // `charged` holds what a job cost as the SDK counts it (0 or the IP-detection
                // charge for a refunded failure); before its cost is known, its quote counts.
                // Forgotten jobs were paid for all the same.
                "SELECT (SELECT COALESCE(SUM(COALESCE(charged, quote)), 0) FROM jobs
                         WHERE phase IN ('sending', 'accepted', 'unconfirmed')
                           AND (?1 IS NULL OR created_at >= ?1)
                           AND (?2 IS NULL OR batch = ?2)
                           AND local_id != ?3)
                      + (SELECT COALESCE(SUM(charged), 0) FROM forgotten_spend
                         WHERE (?1 IS NULL OR created_at >= ?1)
                           AND (?2 IS NULL OR batch = ?2))",
                rusqlite::params![since, batch, but],
                |r| r.get(0),
            )
            .map_err(|e| sql_err(&self.path(), e))
    }

    /// Records a new intent, durably, and returns its local id. Must precede the POST.
    pub fn record_intent(
        &mut self,
        created_at: String,
        request: KlingRequest,
        token: Option<String>,
        batch: Option<super::job::BatchTag>,
    ) -> Result<LocalId, LedgerError> {
        let local_id = self.next_id.ok_or_else(|| LedgerError::Io {
            path: self.path(),
            detail: format!(
                "no local job number is left (the highest, {}, is in use); move this ledger \
                 aside to start a new one",
                i64::MAX
            ),
        })?;
        let uploads = super::job::local_files(&request).len();
        self.append(
            Record::Intent {
                local_id,
                created_at,
                request,
                uploads,
                token,
                batch,
            },
            true,
        )?;
        self.next_id = local_id
            .checked_add(1)
            .filter(|n| i64::try_from(*n).is_ok());
        Ok(local_id)
    }

    /// Records, durably, a job made elsewhere that the server accepted as `job`; returns its
    /// local id. One record: no moment where it looks like a submission on its way.
    pub fn record_import(&mut self, mut job: JobRecord) -> Result<LocalId, LedgerError> {
        let local_id = self.next_id.ok_or_else(|| LedgerError::Io {
            path: self.path(),
            detail: "no local job number is left; move this ledger aside to start a new one".into(),
        })?;
        job.local_id = local_id;
        self.append(Record::Job { job: Box::new(job) }, true)?;
        self.next_id = local_id
            .checked_add(1)
            .filter(|n| i64::try_from(*n).is_ok());
        Ok(local_id)
    }

    /// The local id of every job the server knows, by its server id, finished ones included.
    pub fn local_ids(&self) -> std::collections::HashMap<String, LocalId> {
        let read = || -> rusqlite::Result<std::collections::HashMap<String, LocalId>> {
            let mut query = self.conn.prepare(
                "SELECT server_id, MIN(local_id) FROM jobs WHERE server_id IS NOT NULL
                 GROUP BY server_id",
            )?;
            let ids = query.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as LocalId)))?;
            ids.collect()
        };
        read().unwrap_or_else(|e| {
            tracing::warn!("cannot list the ledger's server ids: {e}");
            self.jobs
                .values()
                .filter_map(|j| Some((j.job_id.clone()?, j.local_id)))
                .collect()
        })
    }

    /// Applies one record and stores the job it changes; `durable` commits it with a full
    /// fsync, others are safe from a crash of the process and made durable by the next.
    pub fn append(&mut self, record: Record, durable: bool) -> Result<(), LedgerError> {
        let path = self.path();
        let id = super::record::record_id(&record);
        let is_intent = matches!(record, Record::Intent { .. });
        // A whole job may be a new one (an import): its number is noted as given too.
        let gives_id = is_intent || matches!(record, Record::Job { .. });
        if !is_intent && !matches!(record, Record::Job { .. }) {
            // A record about a finished job: it is read back before it changes.
            self.admit(id);
        }
        // Applied to a copy of the one job, which replaces it only once committed: what is
        // known in memory is never ahead of what is on disk.
        let mut changed: BTreeMap<LocalId, JobRecord> = self
            .jobs
            .get(&id)
            .map(|job| (id, job.clone()))
            .into_iter()
            .collect();
        apply(&mut changed, record);
        if self.full_sync != durable {
            let mode = if durable { "FULL" } else { "NORMAL" };
            self.conn
                .pragma_update(None, "synchronous", mode)
                .map_err(|e| sql_err(&path, e))?;
            self.full_sync = durable;
        }
        let tx = self.conn.transaction().map_err(|e| sql_err(&path, e))?;
        match changed.get(&id) {
            Some(job) => rows::save_over(&tx, self.jobs.get(&id), job),
            None => rows::delete(&tx, id),
        }
        .map_err(|e| sql_err(&path, e))?;
        if gives_id {
            rows::note_id(&tx, id).map_err(|e| sql_err(&path, e))?;
        }
        tx.commit().map_err(|e| sql_err(&path, e))?;
        match changed.remove(&id) {
            Some(mut job) => {
                // What this session knows of failing polls and holds is not stored; keep it.
                let before = self.jobs.get(&id);
                job.trouble = before.and_then(|j| j.trouble.clone());
                job.held = before.and_then(|j| j.held.clone());
                job.place = Place::on_record(&job);
                self.may_evict |= job.place.is_done();
                self.jobs.insert(id, job);
            }
            None => {
                self.jobs.remove(&id);
            }
        }
        Ok(())
    }

    /// Takes over a 0.1 journal: every job in one transaction, then the file renamed.
    fn take_over_journal(&mut self) -> Result<(), LedgerError> {
        let journal = self.dir.join(JOURNAL_0_1);
        let imported = match import::read(&journal) {
            Ok(imported) => imported,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(&journal, &e)),
        };
        let path = self.path();
        let source = journal.display().to_string();
        let fingerprint = fingerprint(&journal).map_err(|e| io_err(&journal, &e))?;
        let tx = self.conn.transaction().map_err(|e| sql_err(&path, e))?;
        let done: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM meta WHERE key = ?1)",
                [format!("journal_imported:{fingerprint}")],
                |r| r.get(0),
            )
            .map_err(|e| sql_err(&path, e))?;
        // This very file was imported already (the rename did not happen before a stop):
        // only rename. Another one (written by 0.1 after a downgrade) is imported too, its
        // numbers moved past the ledger's where they would clash.
        let mut imported = imported;
        if !done {
            let mut next = rows::highest_id(&tx).map_err(|e| sql_err(&path, e))?;
            let clashing: Vec<LocalId> = imported
                .jobs
                .keys()
                .copied()
                .filter(|id| {
                    tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM jobs WHERE local_id = ?1)",
                        [rows::sql_id(*id).unwrap_or(-1)],
                        |r| r.get::<_, bool>(0),
                    )
                    .unwrap_or(true)
                })
                .collect();
            for id in clashing {
                if let Some(mut job) = imported.jobs.remove(&id) {
                    next += 1;
                    job.local_id = next;
                    imported.jobs.insert(next, job);
                }
            }
            imported.highest_id = imported.highest_id.max(next);
            for job in imported.jobs.values() {
                rows::save(&tx, job).map_err(|e| sql_err(&path, e))?;
            }
            if imported.highest_id > 0 {
                rows::note_id(&tx, imported.highest_id.min(i64::MAX as u64))
                    .map_err(|e| sql_err(&path, e))?;
            }
            for damaged in &imported.damaged {
                tx.execute(
                    "INSERT INTO damaged_records (local_id, raw, source, found_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![
                        damaged.local_id.and_then(|id| i64::try_from(id).ok()),
                        damaged.raw,
                        format!("{source}, line {}", damaged.line),
                        jiff::Timestamp::now().to_string(),
                    ],
                )
                .map_err(|e| sql_err(&path, e))?;
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                [
                    format!("journal_imported:{fingerprint}"),
                    jiff::Timestamp::now().to_string(),
                ],
            )
            .map_err(|e| sql_err(&path, e))?;
        }
        tx.commit().map_err(|e| sql_err(&path, e))?;
        // Never over an earlier kept file.
        let kept = (0..1000)
            .map(|n| match n {
                0 => self.dir.join(format!("{JOURNAL_0_1}.imported")),
                n => self.dir.join(format!("{JOURNAL_0_1}.imported.{n}")),
            })
            .find(|p| std::fs::symlink_metadata(p).is_err())
            .ok_or_else(|| io_err(&journal, &"no free name to keep it under"))?;
        std::fs::rename(&journal, &kept).map_err(|e| io_err(&journal, &e))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        if !done {
            let unreadable = if imported.damaged.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} damaged line(s) kept in the ledger's damaged_records",
                    imported.damaged.len()
                )
            };
            self.notices.push(format!(
                "took over the 0.1 journal: {} job(s) from {source} are in the ledger {} now \
                 (the old file is kept as {}){unreadable}",
                imported.jobs.len(),
                path.display(),
                kept.display()
            ));
        }
        Ok(())
    }
}

/// Takes the lock file `name` in `dir` for as long as the returned file is open.
fn lock(dir: &Path, name: &str) -> Result<File, LedgerError> {
    let path = dir.join(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_err(&path, &e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(LedgerError::Locked {
            path: dir.join(FILE_NAME),
        }),
        Err(TryLockError::Error(e)) => Err(io_err(&path, &e)),
    }
}

/// `PRAGMA quick_check`: a damaged file is stopped at, never read as an empty list.
fn check(conn: &Connection, path: &Path) -> Result<(), LedgerError> {
    let verdict: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| sql_err(path, e))?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(LedgerError::Damaged {
            path: path.to_path_buf(),
            detail: crate::sanitize::sanitize(&verdict),
        })
    }
}

/// The size and SHA-256 of a file: which journal was taken over.
fn fingerprint(path: &Path) -> std::io::Result<String> {
    let hash = super::upload_cache::content_hash(path)?;
    Ok(format!("{}:{hash}", std::fs::metadata(path)?.len()))
}

fn damage_notices(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut query = conn.prepare("SELECT damage FROM jobs WHERE damage IS NOT NULL")?;
    let notes = query.query_map([], |r| r.get(0))?;
    notes.collect()
}

#[cfg(test)]
mod tests;
