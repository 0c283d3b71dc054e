//! Named sequences: shots in order, each with its takes (jobs) and at most one chosen.
//! Shots are numbered from 1 with no gaps; moving one renumbers the rest.

use rusqlite::{OptionalExtension, params};

use super::{Takes, TakesError, id, now};
use crate::engine::LocalId;

/// The longest name a sequence may have, in characters.
const NAME_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sequence {
    pub name: String,
    pub created_at: String,
    pub shots: Vec<Shot>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Shot {
    /// From 1.
    pub position: u32,
    pub chosen: Option<LocalId>,
    /// Every take of the shot, in the order they were added.
    pub takes: Vec<LocalId>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SequenceSummary {
    pub name: String,
    pub created_at: String,
    pub shots: u32,
    /// Shots with a chosen take.
    pub chosen: u32,
    pub takes: u32,
}

/// Where a job stands in a sequence.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Placement {
    pub sequence: String,
    pub shot: u32,
    /// Its place among the shot's takes, from 1.
    pub take: u32,
    pub chosen: bool,
}

/// A sequence's name, checked: the name is typed on command lines and shown in one line.
pub fn check_name(name: &str) -> Result<&str, TakesError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(TakesError::Refused("a sequence needs a name".into()));
    }
    if trimmed.chars().count() > NAME_MAX {
        return Err(TakesError::Refused(format!(
            "sequence name {trimmed:?} is longer than {NAME_MAX} characters"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(TakesError::Refused(
            "a sequence name cannot hold control characters".into(),
        ));
    }
    Ok(trimmed)
}

impl Takes {
    pub fn new_sequence(&self, name: &str) -> Result<(), TakesError> {
        let name = check_name(name)?;
        if self.sequence_id(name)?.is_some() {
            return Err(TakesError::Refused(format!(
                "there is already a sequence named {name:?}"
            )));
        }
        self.conn
            .execute(
                "INSERT INTO sequences (name, created_at) VALUES (?1, ?2)",
                params![name, now()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Every sequence, oldest first.
    pub fn sequences(&self) -> Result<Vec<SequenceSummary>, TakesError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.name, s.created_at,
                        (SELECT COUNT(*) FROM shots h WHERE h.sequence = s.id),
                        (SELECT COUNT(*) FROM shots h WHERE h.sequence = s.id
                                                      AND h.chosen IS NOT NULL),
                        (SELECT COUNT(*) FROM takes t JOIN shots h ON t.shot = h.id
                          WHERE h.sequence = s.id)
                 FROM sequences s ORDER BY s.id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SequenceSummary {
                    name: r.get(0)?,
                    created_at: r.get(1)?,
                    shots: r.get(2)?,
                    chosen: r.get(3)?,
                    takes: r.get(4)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// The sequence named `name`, its shots in order.
    pub fn sequence(&self, name: &str) -> Result<Sequence, TakesError> {
        let (seq_id, created_at) = self.existing(name)?;
        let mut shots = Vec::new();
        for (shot_id, position, chosen) in self.shot_rows(seq_id)? {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT local_id FROM takes WHERE shot = ?1 ORDER BY added_at, rowid",
                )
                .map_err(|e| self.sql(e))?;
            let takes = stmt
                .query_map([shot_id], |r| r.get::<_, i64>(0))
                .map_err(|e| self.sql(e))?
                .map(|r| r.map(|n| n as LocalId))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.sql(e))?;
            shots.push(Shot {
                position,
                chosen,
                takes,
            });
        }
        Ok(Sequence {
            name: check_name(name)?.to_string(),
            created_at,
            shots,
        })
    }

    /// A new last shot, with `take` (if any) as its one take, chosen. Returns its number.
    pub fn add_shot(&self, name: &str, take: Option<LocalId>) -> Result<u32, TakesError> {
        let (seq_id, _) = self.existing(name)?;
        let position = self.shot_rows(seq_id)?.len() as u32 + 1;
        let tx = self.conn.unchecked_transaction().map_err(|e| self.sql(e))?;
        tx.execute(
            "INSERT INTO shots (sequence, position, chosen, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![seq_id, position, take.map(id).transpose()?, now()],
        )
        .map_err(|e| self.sql(e))?;
        let shot_id = tx.last_insert_rowid();
        if let Some(take) = take {
            tx.execute(
                "INSERT INTO takes (shot, local_id, added_at) VALUES (?1, ?2, ?3)",
                params![shot_id, id(take)?, now()],
            )
            .map_err(|e| self.sql(e))?;
        }
        tx.commit().map_err(|e| self.sql(e))?;
        Ok(position)
    }

    /// Job `take` as one more take of shot `shot` (a number one past the last makes a new
    /// last shot), not chosen. Adding a take twice changes nothing.
    pub fn add_take(&self, name: &str, shot: u32, take: LocalId) -> Result<(), TakesError> {
        let shot_id = self.shot_or_next(name, shot)?;
        self.conn
            .execute(
                "INSERT OR IGNORE INTO takes (shot, local_id, added_at) VALUES (?1, ?2, ?3)",
                params![shot_id, id(take)?, now()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Job `take` as the chosen take of shot `shot`, added to its takes if it was not one.
    pub fn choose(&self, name: &str, shot: u32, take: LocalId) -> Result<(), TakesError> {
        let shot_id = self.shot_or_next(name, shot)?;
        let tx = self.conn.unchecked_transaction().map_err(|e| self.sql(e))?;
        tx.execute(
            "INSERT OR IGNORE INTO takes (shot, local_id, added_at) VALUES (?1, ?2, ?3)",
            params![shot_id, id(take)?, now()],
        )
        .map_err(|e| self.sql(e))?;
        tx.execute(
            "UPDATE shots SET chosen = ?1 WHERE id = ?2",
            params![id(take)?, shot_id],
        )
        .map_err(|e| self.sql(e))?;
        tx.commit().map_err(|e| self.sql(e))
    }

    /// Moves shot `shot` to position `to`; the shots between shift by one.
    pub fn move_shot(&self, name: &str, shot: u32, to: u32) -> Result<(), TakesError> {
        let (seq_id, _) = self.existing(name)?;
        let mut rows = self.shot_rows(seq_id)?;
        let count = rows.len() as u32;
        for (what, n) in [("shot", shot), ("position", to)] {
            if n == 0 || n > count {
                return Err(TakesError::Refused(format!(
                    "{name:?} has shots 1 to {count}; there is no {what} {n}"
                )));
            }
        }
        let moved = rows.remove(shot as usize - 1);
        rows.insert(to as usize - 1, moved);
        let tx = self.conn.unchecked_transaction().map_err(|e| self.sql(e))?;
        for (index, (shot_id, _, _)) in rows.iter().enumerate() {
            tx.execute(
                "UPDATE shots SET position = ?1 WHERE id = ?2",
                params![index as i64 + 1, shot_id],
            )
            .map_err(|e| self.sql(e))?;
        }
        tx.commit().map_err(|e| self.sql(e))
    }

    /// Removes shot `shot` and its takes from the sequence (the jobs stay); the shots after
    /// it move up.
    pub fn remove_shot(&self, name: &str, shot: u32) -> Result<(), TakesError> {
        let (seq_id, _) = self.existing(name)?;
        let rows = self.shot_rows(seq_id)?;
        let Some((shot_id, _, _)) = rows.get((shot as usize).wrapping_sub(1)) else {
            return Err(TakesError::Refused(format!("{name:?} has no shot {shot}")));
        };
        let tx = self.conn.unchecked_transaction().map_err(|e| self.sql(e))?;
        tx.execute("DELETE FROM shots WHERE id = ?1", [shot_id])
            .map_err(|e| self.sql(e))?;
        tx.execute(
            "UPDATE shots SET position = position - 1 WHERE sequence = ?1 AND position > ?2",
            params![seq_id, shot],
        )
        .map_err(|e| self.sql(e))?;
        tx.commit().map_err(|e| self.sql(e))
    }

    /// Every sequence, shot and take job `local_id` is in.
    pub fn placements(&self, local_id: LocalId) -> Result<Vec<Placement>, TakesError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.name, h.position, h.chosen = t.local_id,
                        (SELECT COUNT(*) FROM takes o WHERE o.shot = t.shot
                           AND (o.added_at < t.added_at
                                OR (o.added_at = t.added_at AND o.rowid <= t.rowid)))
                 FROM takes t JOIN shots h ON t.shot = h.id JOIN sequences s ON h.sequence = s.id
                 WHERE t.local_id = ?1 ORDER BY s.id, h.position",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([id(local_id)?], |r| {
                Ok(Placement {
                    sequence: r.get(0)?,
                    shot: r.get(1)?,
                    chosen: r.get::<_, Option<bool>>(2)?.unwrap_or(false),
                    take: r.get(3)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    fn sequence_id(&self, name: &str) -> Result<Option<(i64, String)>, TakesError> {
        self.conn
            .query_row(
                "SELECT id, created_at FROM sequences WHERE name = ?1",
                [name.trim()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn existing(&self, name: &str) -> Result<(i64, String), TakesError> {
        self.sequence_id(check_name(name)?)?.ok_or_else(|| {
            TakesError::Refused(format!(
                "no sequence named {:?}; make it with: kling-tui seq new {:?}",
                name.trim(),
                name.trim()
            ))
        })
    }

    /// The shots of sequence `seq_id` in order: (row id, position, chosen).
    fn shot_rows(&self, seq_id: i64) -> Result<Vec<(i64, u32, Option<LocalId>)>, TakesError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, position, chosen FROM shots WHERE sequence = ?1 ORDER BY position, id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([seq_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, Option<i64>>(2)?.map(|n| n as LocalId),
                ))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// The row id of shot `shot`, or of a new last shot when `shot` is one past the end.
    fn shot_or_next(&self, name: &str, shot: u32) -> Result<i64, TakesError> {
        let (seq_id, _) = self.existing(name)?;
        let rows = self.shot_rows(seq_id)?;
        let count = rows.len() as u32;
        if shot >= 1 && shot <= count {
            return Ok(rows[shot as usize - 1].0);
        }
        if shot == count + 1 {
            self.conn
                .execute(
                    "INSERT INTO shots (sequence, position, created_at) VALUES (?1, ?2, ?3)",
                    params![seq_id, shot, now()],
                )
                .map_err(|e| self.sql(e))?;
            return Ok(self.conn.last_insert_rowid());
        }
        Err(TakesError::Refused(format!(
            "{:?} has {count} shot{}; a take goes to shots 1 to {}",
            name.trim(),
            if count == 1 { "" } else { "s" },
            count + 1
        )))
    }
}
