//! The editor's unsent work, kept across a restart (a closed terminal, a dropped SSH session):
//! the prompt and the parameters, written atomically beside the ledger once typing pauses and
//! when the app leaves, read back when it opens.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::kling::KlingRequest;

const FILE_NAME: &str = "draft.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The request with the editor's text as its prompt.
    pub request: KlingRequest,
}

pub fn path(ledger_dir: &Path) -> PathBuf {
    ledger_dir.join(FILE_NAME)
}

/// The draft left last time; none if there is none or it cannot be read (it is only a
/// convenience: a damaged one is left for the next write to replace).
pub fn load(file: &Path) -> Option<Draft> {
    let text = std::fs::read_to_string(file).ok()?;
    match serde_json::from_str(&text) {
        Ok(draft) => Some(draft),
        Err(e) => {
            tracing::warn!("{}: not read: {e}", file.display());
            None
        }
    }
}

/// Writes the draft whole or not at all; an empty prompt with default parameters removes it.
pub fn save(file: &Path, draft: &Draft) {
    if draft.request == KlingRequest::default() {
        let _ = std::fs::remove_file(file);
        return;
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let written = serde_json::to_vec(draft)
        .map_err(std::io::Error::other)
        .and_then(|bytes| {
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            tmp.write_all(&bytes)?;
            tmp.persist(file).map_err(|e| e.error)?;
            Ok(())
        });
    if let Err(e) = written {
        tracing::warn!("{}: cannot keep the draft: {e}", file.display());
    }
}
