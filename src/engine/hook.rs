//! `on_finish`: the user's own program, run for each job that comes to rest (failed or
//! canceled, or succeeded and downloaded), with what it needs in its environment. An argument
//! list, never a shell, so nothing in a prompt or a file name is ever run; stdin closed, output
//! to the engine's log; ended after a timeout; a few at a time, never holding up the engine.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::Semaphore;

use super::LocalId;
use crate::sanitize::sanitize;

/// A hook still running after this long is killed, with everything it started.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(60);
/// Hooks running at once; more wait their turn.
const AT_ONCE: usize = 4;
/// Lines of a hook's output kept in the log, per stream.
const MAX_LINES: usize = 200;
/// How long the output of a hook that ended is still read: a program it left running in the
/// background may hold the pipe open for ever.
const DRAIN: Duration = Duration::from_secs(2);

/// What a hook is told of the job.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub local_id: LocalId,
    pub job_id: String,
    pub status: String,
    /// Absolute paths.
    pub files: Vec<PathBuf>,
    pub prompt: String,
}

#[derive(Debug, Clone)]
pub(crate) struct FinishHook {
    argv: Arc<[String]>,
    timeout: Duration,
    slots: Arc<Semaphore>,
}

impl FinishHook {
    /// The hook `argv` names (program, then arguments); none for an empty list.
    pub(crate) fn new(argv: &[String], timeout: Duration) -> Option<Self> {
        argv.first().filter(|p| !p.trim().is_empty())?;
        Some(Self {
            argv: argv.into(),
            timeout,
            slots: Arc::new(Semaphore::new(AT_ONCE)),
        })
    }

    /// Starts the hook for `job` in the background.
    pub(crate) fn run(&self, job: Finished) {
        let hook = self.clone();
        tokio::spawn(async move {
            // Never closed: a permit always comes.
            let Ok(_slot) = hook.slots.acquire().await else {
                return;
            };
            let id = job.local_id;
            if let Err(e) = hook.run_now(job).await {
                tracing::warn!("on_finish for job {id}: {e}");
            }
        });
    }

    async fn run_now(&self, job: Finished) -> Result<(), String> {
        let id = job.local_id;
        let mut command = tokio::process::Command::new(&self.argv[0]);
        command
            .args(&self.argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Its own process group, so a timeout ends whatever it started as well.
        #[cfg(unix)]
        command.process_group(0);
        // The credentials are the engine's business only.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SCENARIO_") {
                command.env_remove(name);
            }
        }
        let files: Vec<String> = job
            .files
            .iter()
            .map(|f| {
                std::path::absolute(f)
                    .unwrap_or_else(|_| f.clone())
                    .display()
                    .to_string()
            })
            .collect();
        // A NUL cannot pass through the environment; nothing else is changed.
        let clean = |text: &str| text.replace('\0', "");
        command
            .env("KLING_TUI_LOCAL_ID", id.to_string())
            .env("KLING_TUI_JOB_ID", clean(&job.job_id))
            .env("KLING_TUI_STATUS", clean(&job.status))
            .env("KLING_TUI_FILES", clean(&files.join("\n")))
            .env("KLING_TUI_PROMPT", clean(&job.prompt));
        let program = sanitize(&self.argv[0]);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let out = child.stdout.take().map(|s| log_lines(id, "out", s));
        let err = child.stderr.take().map(|s| log_lines(id, "err", s));
        let status = match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(status) => status.map_err(|e| format!("{program}: {e}"))?,
            Err(_) => {
                #[cfg(unix)]
                if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                    // SAFETY: a plain signal to the group this child leads.
                    unsafe {
                        libc::kill(-pid, libc::SIGKILL);
                    }
                }
                let _ = child.kill().await;
                for task in [out, err].into_iter().flatten() {
                    task.abort();
                }
                return Err(format!(
                    "{program} still ran after {} s and was killed",
                    self.timeout.as_secs()
                ));
            }
        };
        for mut task in [out, err].into_iter().flatten() {
            if tokio::time::timeout(DRAIN, &mut task).await.is_err() {
                task.abort();
                tracing::debug!("on_finish for job {id}: output left unread");
            }
        }
        if status.success() {
            tracing::info!("on_finish for job {id}: {program} done");
            Ok(())
        } else {
            Err(format!("{program} ended with {status}"))
        }
    }
}

/// Each line a hook writes, into the log.
fn log_lines(
    id: LocalId,
    stream: &'static str,
    pipe: impl AsyncRead + Unpin + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        let mut kept = 0;
        while let Ok(Some(line)) = lines.next_line().await {
            if kept < MAX_LINES {
                tracing::info!("on_finish for job {id} ({stream}): {}", sanitize(&line));
            }
            kept += 1;
        }
        if kept > MAX_LINES {
            tracing::info!(
                "on_finish for job {id} ({stream}): {} more lines not logged",
                kept - MAX_LINES
            );
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Finished {
        Finished {
            local_id: 7,
            job_id: "job_1".into(),
            status: "success".into(),
            files: vec![PathBuf::from("relative.mp4")],
            prompt: "a\0b".into(),
        }
    }

    #[tokio::test]
    async fn a_hook_past_its_time_is_killed_with_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        // The hook starts a child of its own, then both outlive the timeout.
        let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let argv = ["/bin/sh".to_string(), "-c".to_string(), script];
        let hook = FinishHook::new(&argv, Duration::from_millis(300)).unwrap();
        let started = std::time::Instant::now();
        let err = hook.run_now(job()).await.unwrap_err();
        assert!(err.contains("killed"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Gone, or at most a zombie waiting for a parent that was killed too.
        let mut alive = true;
        for _ in 0..100 {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            alive = !state.is_empty() && !state.contains(") Z ");
            if !alive {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!alive, "the hook's own child still runs");
    }

    #[tokio::test]
    async fn what_cannot_start_or_fails_is_an_error_to_log() {
        let missing = FinishHook::new(&["/nonexistent/hook".into()], HOOK_TIMEOUT).unwrap();
        let err = missing.run_now(job()).await.unwrap_err();
        assert!(err.contains("cannot start"), "{err}");
        let failing = FinishHook::new(&["/bin/false".into()], HOOK_TIMEOUT).unwrap();
        let err = failing.run_now(job()).await.unwrap_err();
        assert!(err.contains("ended with"), "{err}");
        assert!(FinishHook::new(&[], HOOK_TIMEOUT).is_none());
        assert!(FinishHook::new(&[" ".into()], HOOK_TIMEOUT).is_none());
    }
}
