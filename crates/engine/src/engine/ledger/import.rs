//! Reading the 0.1 journal (`journal.jsonl`, one JSON record per line) to take it over. Nothing
//! that can be read is lost: a line that cannot be read is kept whole, and what it still tells
//! (which job, the server's id) is recovered so the job can be followed to the end.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::engine::job::{JobRecord, LocalId, Submission};
use crate::engine::record::{Record, apply, record_id};
use crate::kling::KlingRequest;

/// A line that could not be read, and what it seemed to be about.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Damaged {
    pub line: usize,
    pub raw: String,
    pub local_id: Option<LocalId>,
}

/// What a 0.1 journal held.
#[derive(Debug, Default)]
pub(super) struct Imported {
    pub jobs: BTreeMap<LocalId, JobRecord>,
    pub highest_id: LocalId,
    pub damaged: Vec<Damaged>,
}

pub(super) fn read(path: &Path) -> std::io::Result<Imported> {
    let mut out = Imported::default();
    let mut reader = BufReader::new(std::fs::File::open(path)?);
    let mut buf = Vec::new();
    let mut line = 0;
    // Forgotten on purpose: later records about them (0.1 wrote some) do not bring them back.
    let mut forgotten = std::collections::BTreeSet::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line += 1;
        let complete = buf.ends_with(b"\n");
        match serde_json::from_slice::<Record>(&buf) {
            Ok(record) if complete && i64::try_from(record_id(&record)).is_ok() => {
                let id = record_id(&record);
                out.highest_id = out.highest_id.max(id);
                match &record {
                    Record::Forgotten { .. } => {
                        forgotten.insert(id);
                    }
                    Record::Intent { .. } | Record::Job { .. } => {
                        forgotten.remove(&id);
                    }
                    _ if forgotten.contains(&id) => continue,
                    _ => adopt_orphan(&mut out.jobs, &record),
                }
                apply(&mut out.jobs, record);
            }
            _ if String::from_utf8_lossy(&buf).trim().is_empty() => {}
            _ => {
                let raw = String::from_utf8_lossy(&buf).trim_end().to_string();
                let local_id =
                    number_after(&raw, "\"local_id\":").filter(|id| i64::try_from(*id).is_ok());
                if let Some(id) = local_id {
                    out.highest_id = out.highest_id.max(id);
                }
                if !local_id.is_some_and(|id| forgotten.contains(&id)) {
                    recover(&mut out.jobs, local_id, &raw);
                }
                out.damaged.push(Damaged {
                    line,
                    raw,
                    local_id,
                });
            }
        }
    }
    for damaged in &out.damaged {
        let Some(job) = damaged.local_id.and_then(|id| out.jobs.get_mut(&id)) else {
            continue;
        };
        let known = if job.job_id.is_some() {
            "server id known"
        } else {
            "server id not known"
        };
        job.damage = Some(format!(
            "damaged record for #{} — recovered: {known}",
            job.local_id
        ));
    }
    Ok(out)
}

/// A record about a job whose intent could not be read: the job is made from what is known,
/// so the record (an accepted answer, say) still counts.
fn adopt_orphan(jobs: &mut BTreeMap<LocalId, JobRecord>, record: &Record) {
    if matches!(record, Record::Intent { .. } | Record::Job { .. }) {
        return;
    }
    let id = record_id(record);
    jobs.entry(id).or_insert_with(|| placeholder(id));
}

/// A job known only by its number: its request could not be read.
fn placeholder(id: LocalId) -> JobRecord {
    let mut job = JobRecord::new(
        id,
        String::new(),
        KlingRequest::new("(unknown: its record was damaged)"),
    );
    job.submission = Submission::Unconfirmed {
        reason: "its record was damaged: it may or may not have been sent".into(),
    };
    job
}

/// What a damaged line still tells: the job it is about, and the server's id if it names one.
fn recover(jobs: &mut BTreeMap<LocalId, JobRecord>, local_id: Option<LocalId>, raw: &str) {
    let Some(id) = local_id else {
        return;
    };
    let job = jobs.entry(id).or_insert_with(|| placeholder(id));
    if job.job_id.is_none()
        && let Some(server_id) = string_after(raw, "\"job_id\":\"")
    {
        job.job_id = Some(server_id);
        job.submission = Submission::Accepted;
        job.status
            .get_or_insert(crate::api::types::JobStatus::Pending);
    }
}

fn number_after(text: &str, key: &str) -> Option<LocalId> {
    let rest = &text[text.find(key)? + key.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A server id as the API spells them; anything else in a damaged line is not trusted.
fn string_after(text: &str, key: &str) -> Option<String> {
    let rest = &text[text.find(key)? + key.len()..];
    let value: String = rest.chars().take_while(|c| *c != '"').collect();
    let plausible = rest.len() > value.len()
        && !value.is_empty()
        && value.len() <= 100
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    plausible.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_intent_leaves_a_job_that_can_still_be_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let lines = [
            r#"{"type":"intent","local_id":1,"created_at":"2026-01-01T00:00:00Z","request":{"prompt":"kept","mode":"pro","duration":5}}"#,
            r#"{"type":"intent","local_id":2,"created_at":"2026-01-01T00:00:01Z","request":{"prompt":"dam#@!aged"#,
            r#"{"type":"accepted","local_id":2,"job_id":"job_two","cost":75.0}"#,
            r#"{"type":"accepted","local_id":3,"job_id":"job_thr"#,
            r#"{"type":"accepted","local_id":1,"job_id":"job_one","cost":75.0}"#,
        ];
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let imported = read(&path).unwrap();
        assert_eq!(imported.jobs.len(), 3);
        assert_eq!(imported.highest_id, 3);
        let two = &imported.jobs[&2];
        assert_eq!(two.job_id.as_deref(), Some("job_two"));
        assert_eq!(two.submission, Submission::Accepted);
        assert_eq!(
            two.damage.as_deref(),
            Some("damaged record for #2 — recovered: server id known")
        );
        // Cut in the middle of its server id: the number survives, the id is not guessed.
        let three = &imported.jobs[&3];
        assert_eq!(three.job_id, None);
        assert!(matches!(three.submission, Submission::Unconfirmed { .. }));
        assert_eq!(
            three.damage.as_deref(),
            Some("damaged record for #3 — recovered: server id not known")
        );
        assert_eq!(imported.jobs[&1].damage, None);
        assert_eq!(imported.damaged.len(), 2);
        assert_eq!(imported.damaged[0].line, 2);
    }

    #[test]
    fn a_forgotten_job_is_not_brought_back_by_its_late_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let lines = [
            r#"{"type":"intent","local_id":1,"created_at":"x","request":{"prompt":"gone","mode":"pro","duration":5}}"#,
            r#"{"type":"forgotten","local_id":1}"#,
            r#"{"type":"downloaded","local_id":1,"index":0,"file":"a.mp4"}"#,
            r#"{"type":"accepted","local_id":1,"job_id":"job_late"#,
        ];
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let imported = read(&path).unwrap();
        assert!(imported.jobs.is_empty(), "{:?}", imported.jobs);
        assert_eq!(imported.highest_id, 1, "its number stays used");
    }
}
