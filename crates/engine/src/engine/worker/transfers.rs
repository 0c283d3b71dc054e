//! A job's files: local references uploaded before it is sent, its videos downloaded once it
//! succeeds.

use super::*;

impl Worker {
    /// Uploads the job's local files one after the other (each checked again: it may have
    /// changed since), reusing earlier uploads of the same content.
    pub(super) fn start_uploads(&mut self, id: LocalId) {
        if self.step(id, Step::Upload).is_ok() {
            self.spawn_uploads(id);
        }
    }

    pub(super) fn spawn_uploads(&mut self, id: LocalId) {
        let Some(files) = self.ledger.job(id).map(JobRecord::local_files) else {
            return;
        };
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        let cache = self.uploads.clone();
        self.tasks.spawn(id, Kind::Upload, async move {
            for (file, role) in files {
                let outcome = upload_with_cache(
                    &client,
                    &cache,
                    std::path::Path::new(&file),
                    role,
                    &mut |_| {},
                )
                .await;
                let message = match outcome {
                    Ok((asset_id, _)) => Internal::Uploaded {
                        local_id: id,
                        file,
                        asset_id,
                    },
                    Err(error) => {
                        let passing = matches!(error, UploadError::Passing(_));
                        let _ = tx.send(Internal::UploadFailed {
                            local_id: id,
                            error: Failure::from(&error),
                            passing,
                        });
                        return;
                    }
                };
                if tx.send(message).is_err() {
                    return;
                }
            }
        });
    }

    pub(super) fn forget_missing_files(&mut self, id: LocalId) {
        let gone: Vec<usize> = self
            .ledger
            .job(id)
            .map(|job| {
                job.downloads
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| match (&d.file, d.size) {
                        (Some(file), size) => !std::fs::symlink_metadata(file)
                            .is_ok_and(|m| m.is_file() && size.is_none_or(|s| s == m.len())),
                        (None, _) => false,
                    })
                    .map(|(index, _)| index)
                    .collect()
            })
            .unwrap_or_default();
        for index in gone {
            tracing::info!("job {id}: file {} is gone: downloading it again", index + 1);
            self.record(
                Record::FileGone {
                    local_id: id,
                    index,
                },
                true,
            );
        }
    }

    pub(super) fn start_downloads(&mut self, id: LocalId) {
        let Some(job) = self.ledger.job(id) else {
            return;
        };
        if self.halted.is_some() {
            return;
        }
        let Some(job_id) = job.job_id.clone() else {
            return;
        };
        if !job.succeeded() {
            return;
        }
        let pending: Vec<DownloadTask> = job
            .downloads
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.is_done())
            .map(|(index, d)| DownloadTask {
                client: self.client.clone(),
                local_id: id,
                index,
                asset_id: d.asset_id.clone(),
                dir: job
                    .download_dir
                    .clone()
                    .unwrap_or_else(|| self.config.download_dir.clone()),
                // A batch's files sort in the order of its requests.
                stem: match &job.batch {
                    Some(b) => format!("{:04}_{}", b.index, job_file_stem(&job_id, index + 1)),
                    None => job_file_stem(&job_id, index + 1),
                },
                recorded: d.recorded().map(|(p, s)| (p.to_path_buf(), s)),
            })
            .collect();
        for task in pending {
            if self.step(id, Step::Fetch { index: task.index }).is_ok() {
                let run = task.run(
                    self.download_slots.clone(),
                    self.internal_tx.clone(),
                    self.parts.clone(),
                );
                self.tasks.spawn(id, Kind::Download, run);
            }
        }
    }
}
