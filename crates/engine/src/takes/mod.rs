//! What the user says of their takes, beside the jobs themselves: keep and reject marks with
//! reasons, which job continues or re-renders which, and named sequences of shots. Kept in
//! the ledger's own file (tables `marks`, `links`, `sequences`, `shots`, `takes`), written by
//! whichever front-end the user is in, through a plain connection like the upload cache: the
//! engine's lock guards the jobs, and these rows are not jobs.

pub mod film;
mod marks;
mod sequences;
pub mod sidecar;
#[cfg(test)]
mod tests;

pub use marks::{DEFAULT_REASONS, Mark, MarkEntry, RejectReasons};
pub use sequences::{Placement, Sequence, SequenceSummary, Shot};

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::engine::LocalId;
use crate::engine::{Ledger, LedgerError};

#[derive(Debug, thiserror::Error)]
pub enum TakesError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{}: {detail}", path.display())]
    Sql { path: PathBuf, detail: String },
    /// What the user asked for cannot be done as asked; the text says why and what to do.
    #[error("{0}")]
    Refused(String),
}

/// How one job came from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// Its start image is the other's last frame.
    Continues,
    /// The same request again at a higher mode.
    Hero,
}

impl LinkKind {
    fn as_str(self) -> &'static str {
        match self {
            LinkKind::Continues => "continues",
            LinkKind::Hero => "hero",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "continues" => Some(LinkKind::Continues),
            "hero" => Some(LinkKind::Hero),
            _ => None,
        }
    }
}

/// The user's takes: marks, links and sequences, over one connection to the ledger.
pub struct Takes {
    conn: Connection,
    path: PathBuf,
}

impl Takes {
    /// The takes in the ledger in `ledger_dir`, the ledger made first if there is none.
    pub fn open(ledger_dir: &Path) -> Result<Self, TakesError> {
        let conn = Ledger::connect(ledger_dir)?;
        let path = ledger_dir.join("ledger.sqlite3");
        // Per connection: shots and takes go with their sequence.
        conn.execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(|e| sql(&path, e))?;
        Ok(Self { conn, path })
    }

    fn sql(&self, e: rusqlite::Error) -> TakesError {
        sql(&self.path, e)
    }

    /// Records that `child` came from `parent`; a child has one parent, the last said.
    pub fn link(&self, child: LocalId, parent: LocalId, kind: LinkKind) -> Result<(), TakesError> {
        if child == parent {
            return Err(TakesError::Refused(format!(
                "job {child} cannot come from itself"
            )));
        }
        self.conn
            .execute(
                "INSERT INTO links (child, parent, kind) VALUES (?1, ?2, ?3)
                 ON CONFLICT (child) DO UPDATE SET parent = excluded.parent, kind = excluded.kind",
                params![id(child)?, id(parent)?, kind.as_str()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The job `child` came from, and how.
    pub fn parent_of(&self, child: LocalId) -> Result<Option<(LocalId, LinkKind)>, TakesError> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT parent, kind FROM links WHERE child = ?1",
                [id(child)?],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(row.and_then(|(p, k)| Some((p as LocalId, LinkKind::parse(&k)?))))
    }

    /// The jobs that came from `parent`, oldest first, and how.
    pub fn children_of(&self, parent: LocalId) -> Result<Vec<(LocalId, LinkKind)>, TakesError> {
        let mut stmt = self
            .conn
            .prepare("SELECT child, kind FROM links WHERE parent = ?1 ORDER BY child")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([id(parent)?], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (child, kind) = row.map_err(|e| self.sql(e))?;
            if let Some(kind) = LinkKind::parse(&kind) {
                out.push((child as LocalId, kind));
            }
        }
        Ok(out)
    }
}

fn sql(path: &Path, e: rusqlite::Error) -> TakesError {
    TakesError::Sql {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Local ids are SQLite integers.
fn id(local_id: LocalId) -> Result<i64, TakesError> {
    i64::try_from(local_id).map_err(|_| TakesError::Refused(format!("no job {local_id}")))
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}
