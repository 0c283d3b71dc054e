//! A batch's `manifest.jsonl`, beside its videos: one object per expanded request in order,
//! naming the job made for it and, once there, its files. The one writer of it, whichever
//! front-end sent the batch (`kling-tui batch`, or a batch file opened in the app): it is
//! rewritten whole and atomically (a temporary file renamed over it), so a reader never sees
//! half of it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::engine::{Command, Event, JobRecord, JobReport};
use crate::kling::KlingRequest;

/// The file's name, in the batch's folder.
pub const MANIFEST_FILE: &str = "manifest.jsonl";
/// A manifest whose jobs keep changing is written at most this often.
pub const WRITE_EVERY: Duration = Duration::from_millis(500);

/// One line of `manifest.jsonl`: the request and where it came from in the file, beside the
/// job made for it in the one shape of a job (`schemas/job.json`), `not-sent` before the
/// engine has it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestLine<'a> {
    pub row: usize,
    pub index: usize,
    pub request: &'a KlingRequest,
    #[serde(flatten)]
    pub job: JobReport,
}

impl<'a> ManifestLine<'a> {
    /// The line of request `index` (from line `row` of the file), and of its job once made.
    pub fn of(
        row: usize,
        index: usize,
        request: &'a KlingRequest,
        job: Option<&'a JobRecord>,
    ) -> Self {
        Self {
            row,
            index,
            request,
            job: job.map_or_else(JobReport::not_sent, JobReport::from_record),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

struct Entry {
    row: usize,
    request: KlingRequest,
    /// The latest attempt at it.
    job: Option<JobRecord>,
}

impl Entry {
    fn line(&self, index: usize) -> String {
        ManifestLine::of(self.row, index, &self.request, self.job.as_ref()).to_json()
    }
}

/// One batch's manifest: its requests, the jobs made for them, and whether the file on disk
/// is behind.
pub struct Manifest {
    path: PathBuf,
    name: String,
    entries: BTreeMap<usize, Entry>,
    /// Something changed since the file was last written.
    dirty: bool,
    written: Option<Instant>,
    made: Instant,
}

impl Manifest {
    /// The manifest of batch `name` in folder `dir`.
    pub fn new(dir: &Path, name: &str) -> Self {
        Self {
            path: dir.join(MANIFEST_FILE),
            name: name.to_string(),
            entries: BTreeMap::new(),
            dirty: true,
            written: None,
            made: Instant::now(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Request `index` of the batch, from line `row` of its file.
    pub fn request(&mut self, row: usize, index: usize, request: KlingRequest) {
        let job = self.entries.remove(&index).and_then(|e| e.job);
        self.entries.insert(index, Entry { row, request, job });
        self.dirty = true;
    }

    /// Takes a job if it is an attempt at one of this batch's requests, and not older than the
    /// one known; whether its line changed.
    pub fn job(&mut self, job: &JobRecord) -> bool {
        let Some(tag) = job.batch.as_ref().filter(|t| t.name == self.name) else {
            return false;
        };
        let Some(entry) = self.entries.get_mut(&tag.index) else {
            return false;
        };
        if entry
            .job
            .as_ref()
            .is_some_and(|j| j.local_id > job.local_id)
        {
            return false;
        }
        let before = entry.line(tag.index);
        entry.job = Some(job.clone());
        let changed = entry.line(tag.index) != before;
        self.dirty |= changed;
        changed
    }

    /// The job of request `index`, where one is known.
    pub fn job_of(&self, index: usize) -> Option<&JobRecord> {
        self.entries.get(&index)?.job.as_ref()
    }

    /// Every line, in the batch's order.
    pub fn lines(&self) -> Vec<String> {
        self.entries.iter().map(|(i, e)| e.line(*i)).collect()
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// When it should next be written, if it is behind: at once the first time, then no
    /// sooner than [`WRITE_EVERY`] after the last write.
    pub fn due(&self) -> Option<Instant> {
        if !self.dirty {
            return None;
        }
        Some(self.written.map_or(self.made, |at| at + WRITE_EVERY))
    }

    /// Writes the whole file, atomically, in the batch's folder (made if missing).
    pub fn write(&mut self) -> std::io::Result<()> {
        let mut text = self.lines().join("\n");
        text.push('\n');
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(text.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        self.dirty = false;
        self.written = Some(Instant::now());
        Ok(())
    }
}

/// The manifests of the batches a client sent, kept from the commands it sends and the
/// events it hears: what a front-end that sends batches as plain `Submit`s (the app) holds.
#[derive(Default)]
pub struct Manifests {
    list: Vec<Manifest>,
}

impl Manifests {
    /// Notes a batch's request on its way to the engine.
    pub fn sent(&mut self, command: &Command) {
        let Command::Submit {
            request,
            download_dir: Some(dir),
            batch: Some(tag),
            ..
        } = command
        else {
            return;
        };
        let manifest = match self
            .list
            .iter()
            .position(|m| m.name == tag.name && m.path.parent() == Some(dir.as_path()))
        {
            Some(at) => &mut self.list[at],
            None => {
                self.list.push(Manifest::new(dir, &tag.name));
                let last = self.list.len() - 1;
                &mut self.list[last]
            }
        };
        manifest.request(tag.row, tag.index, request.clone());
    }

    /// Takes what the engine tells of the batches' jobs.
    pub fn heard(&mut self, event: &Event) {
        let jobs: &[JobRecord] = match event {
            Event::Job(job) => std::slice::from_ref(&**job),
            Event::Attached { jobs, .. } => jobs,
            _ => return,
        };
        for job in jobs.iter().filter(|j| j.batch.is_some()) {
            for manifest in &mut self.list {
                if job.download_dir.as_deref() == manifest.path.parent() {
                    manifest.job(job);
                }
            }
        }
    }

    /// When the next write is due, if one is.
    pub fn due(&self) -> Option<Instant> {
        self.list.iter().filter_map(Manifest::due).min()
    }

    /// Writes every manifest whose time has come; what could not be written, and why.
    pub fn write_due(&mut self, now: Instant) -> Vec<String> {
        let mut problems = Vec::new();
        for manifest in &mut self.list {
            if manifest.due().is_some_and(|at| at <= now)
                && let Err(e) = manifest.write()
            {
                // Not again until something changes.
                manifest.dirty = false;
                problems.push(format!("cannot write {}: {e}", manifest.path.display()));
            }
        }
        problems
    }

    /// The manifests known, in the order their batches were sent.
    pub fn iter(&self) -> impl Iterator<Item = &Manifest> {
        self.list.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{BatchTag, DownloadRecord, LocalId};

    fn job(local_id: LocalId, index: usize) -> JobRecord {
        let mut job = JobRecord::new(local_id, String::new(), KlingRequest::new("x"));
        job.batch = Some(BatchTag {
            name: "b".into(),
            index,
            row: 1,
            max_cost: None,
        });
        job
    }

    #[test]
    fn every_request_has_a_line_and_the_latest_attempt_names_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = Manifest::new(dir.path(), "b");
        manifest.request(1, 0, KlingRequest::new("a"));
        manifest.request(2, 1, KlingRequest::new("c"));
        let mut first = job(7, 1);
        first.job_id = Some("job_old".into());
        assert!(manifest.job(&first));
        let mut second = job(9, 1);
        second.job_id = Some("job_new".into());
        second.downloads.push(DownloadRecord {
            asset_id: "asset_1".into(),
            file: Some(dir.path().join("0001_job_new.mp4")),
            ..DownloadRecord::default()
        });
        assert!(manifest.job(&second));
        // An older attempt told late does not replace the newer one.
        assert!(!manifest.job(&first));
        manifest.write().unwrap();
        let text = std::fs::read_to_string(dir.path().join(MANIFEST_FILE)).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["status"], "not-sent");
        assert_eq!(lines[0]["request"]["prompt"], "a");
        assert_eq!(lines[1]["jobId"], "job_new");
        assert_eq!(lines[1]["localId"], 9);
        assert!(
            lines[1]["files"][0]
                .as_str()
                .unwrap()
                .ends_with("0001_job_new.mp4")
        );
        assert!(!manifest.is_dirty());
    }

    #[test]
    fn a_client_keeps_the_manifest_of_what_it_sent_and_writes_it_when_due() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b");
        let mut manifests = Manifests::default();
        for index in 0..2 {
            manifests.sent(&Command::Submit {
                seq: 0,
                token: None,
                request: KlingRequest::new("x"),
                download_dir: Some(out.clone()),
                batch: Some(Box::new(BatchTag {
                    name: "b".into(),
                    index,
                    row: 1,
                    max_cost: None,
                })),
                quote: None,
            });
        }
        // A job of another folder is someone else's batch.
        let mut elsewhere = job(3, 0);
        elsewhere.download_dir = Some(dir.path().join("other"));
        manifests.heard(&Event::Job(Box::new(elsewhere)));
        let mut ours = job(4, 0);
        ours.download_dir = Some(out.clone());
        ours.job_id = Some("job_ours".into());
        manifests.heard(&Event::Job(Box::new(ours)));
        let due = manifests.due().unwrap();
        assert!(manifests.write_due(due).is_empty());
        assert_eq!(manifests.due(), None);
        let text = std::fs::read_to_string(out.join(MANIFEST_FILE)).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.lines().next().unwrap().contains("job_ours"), "{text}");
        assert!(!text.contains("\"localId\":3"), "{text}");
    }
}
