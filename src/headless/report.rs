//! What the headless commands print: one JSON object or one plain line per job on stdout, and
//! progress on stderr (redrawn in place on a terminal, one line per change otherwise).

use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::api::DownloadProgress;
#[cfg(test)]
use crate::api::types::Job;
use crate::api::types::JobStatus;
use crate::engine::{JobRecord, Submission};
use crate::sanitize::sanitize;
pub use crate::units::{format_units, human_bytes};

pub use crate::engine::JobReport;

/// A job report on stdout: its JSON line, or a plain line for people.
pub trait Print {
    fn print(&self, json: bool);
    fn plain(&self) -> String;
}

impl Print for JobReport {
    fn print(&self, json: bool) {
        let line = if json {
            serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        } else {
            self.plain()
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    fn plain(&self) -> String {
        let mut line = format!(
            "{}  {}  {:.0}%",
            self.job_id.as_deref().unwrap_or("-"),
            self.status,
            self.progress * 100.0
        );
        match (self.creative_units, self.refunded) {
            (Some(cost), Some(true)) => {
                line.push_str(&format!("  {} CU refunded", format_units(cost)))
            }
            (Some(cost), _) => line.push_str(&format!("  {} CU", format_units(cost))),
            (None, _) => {}
        }
        for file in &self.files {
            line.push_str(&format!("  {}", sanitize(&file.display().to_string())));
        }
        if self.files.is_empty() && !self.asset_ids.is_empty() {
            line.push_str(&format!("  {}", self.asset_ids.join(",")));
        }
        if let Some(error) = &self.error {
            line.push_str(&format!("  error: {error}"));
        } else if let Some(reason) = &self.reason {
            line.push_str(&format!("  ({reason})"));
        }
        line
    }
}

/// Progress of one job on stderr.
pub struct ProgressLine {
    tty: bool,
    started: Instant,
    last: Option<(JobStatus, u32)>,
    /// The file and the tenth of it last told, off a terminal.
    last_download: Option<(String, Option<u64>)>,
    drawn: bool,
}

impl ProgressLine {
    pub fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: None,
            last_download: None,
            drawn: false,
        }
    }

    pub fn record(&mut self, job: &JobRecord) {
        let status = match (&job.submission, &job.status) {
            (Submission::Accepted, Some(status))
                if job.trouble.is_none() && !job.awaits_video() =>
            {
                status.clone()
            }
            _ => JobStatus::Unknown(job.state_word()),
        };
        self.show(job.job_id.as_deref().unwrap_or("-"), &status, job.progress);
    }

    fn show(&mut self, job_id: &str, status: &JobStatus, fraction: f64) {
        let fraction = fraction.clamp(0.0, 1.0);
        let percent = (fraction * 100.0).round() as u32;
        let now = (status.clone(), percent);
        let elapsed = self.started.elapsed().as_secs();
        let text = format!(
            "{}  {:<12} {} {:>3}%  {}:{:02}",
            sanitize(job_id),
            status.to_string(),
            bar(fraction, 20),
            percent,
            elapsed / 60,
            elapsed % 60
        );
        if self.tty {
            self.redraw(&text);
        } else {
            // One line per status change, or per tenth of progress, for logs.
            let changed = match &self.last {
                None => true,
                Some((status, p)) => *status != now.0 || percent / 10 != p / 10,
            };
            if changed {
                eprintln!("{text}");
            }
        }
        self.last = Some(now);
    }

    pub fn download(&mut self, name: &str, p: DownloadProgress) {
        if !self.tty {
            self.download_logged(name, p);
            return;
        }
        let text = match p.total {
            Some(total) if total > 0 => format!(
                "{name}  {} {}/{}",
                bar(p.bytes as f64 / total as f64, 20),
                human_bytes(p.bytes),
                human_bytes(total)
            ),
            _ => format!("{name}  {}", human_bytes(p.bytes)),
        };
        self.redraw(&text);
    }

    /// Off a terminal: a line when a file starts and each time it passes another tenth.
    fn download_logged(&mut self, name: &str, p: DownloadProgress) {
        let tenth = p
            .total
            .filter(|t| *t > 0)
            .map(|total| (p.bytes.min(total) * 10) / total);
        let now = (name.to_string(), tenth);
        if self.last_download.as_ref() == Some(&now) {
            return;
        }
        // Without a known size, only its start is told.
        if tenth.is_none() && self.last_download.as_ref().is_some_and(|(n, _)| n == name) {
            return;
        }
        let text = match p.total {
            Some(total) if total > 0 => format!(
                "{name}  downloading {:>3}%  {}/{}",
                tenth.unwrap_or(0) * 10,
                human_bytes(p.bytes),
                human_bytes(total)
            ),
            _ => format!("{name}  downloading  {}", human_bytes(p.bytes)),
        };
        eprintln!("{text}");
        self.last_download = Some(now);
    }

    fn redraw(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{text}");
        let _ = err.flush();
        self.drawn = true;
    }

    /// Ends a line redrawn in place, so what follows starts on its own line.
    pub fn finish(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.finish();
    }
}

pub(super) fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("[{}{}]", "#".repeat(filled), " ".repeat(width - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_sizes_read_well() {
        assert_eq!(format_units(75.0), "75");
        assert_eq!(format_units(7.5), "7.50");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(bar(0.5, 4), "[##  ]");
    }

    #[test]
    fn plain_line_is_sanitized() {
        let job: Job = serde_json::from_value(serde_json::json!({
            "jobId": "job_1\u{1b}[2J", "status": "failure", "progress": 0.5,
            "metadata": {"error": "bad\u{1b}]0;x\u{7}thing"}
        }))
        .unwrap();
        let line = JobReport::from_server(&job, vec![]).plain();
        assert_eq!(line, "job_1  failure  50%  error: badthing");
    }
}
