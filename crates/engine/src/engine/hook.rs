//! `on_finish`: the user's own program, run for each job that comes to rest (failed or
//! canceled, or succeeded and downloaded), with what it needs in its environment. An argument
//! list, never a shell, so nothing in a prompt or a file name is ever run; stdin closed, output
//! to the engine's log; ended after a timeout; a few at a time, never holding up the engine.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
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
            // From the server: made safe as everywhere else. The prompt is the user's own and
            // goes as typed (the README says so).
            .env("KLING_TUI_JOB_ID", clean(&sanitize(&job.job_id)))
            .env("KLING_TUI_STATUS", clean(&sanitize(&job.status)))
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
                    // Everything it started, those that left its group with setsid included,
                    // then the group itself.
                    for descendant in descendants(pid) {
                        // SAFETY: a plain signal to a process found under the hook.
                        unsafe {
                            libc::kill(descendant, libc::SIGKILL);
                        }
                    }
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

/// Each line a hook writes, into the log, within bounds: read as bytes (a byte that is not
/// UTF-8 never stops the reading, which would leave the hook to die of SIGPIPE), each line cut
/// at [`MAX_LINE_BYTES`], at most [`MAX_LINES`] lines and [`MAX_LOGGED_BYTES`] logged per
/// stream and run. Past that the output is still read, so the hook is never blocked, and
/// dropped.
fn log_lines(
    id: LocalId,
    stream: &'static str,
    pipe: impl AsyncRead + Unpin + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = Lines::default();
        let mut pipe = pipe;
        let mut chunk = vec![0u8; 8192];
        loop {
            match pipe.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    for line in lines.feed(&chunk[..n]) {
                        tracing::info!("on_finish for job {id} ({stream}): {line}");
                    }
                }
            }
        }
        if let Some(line) = lines.finish() {
            tracing::info!("on_finish for job {id} ({stream}): {line}");
        }
        if lines.dropped > 0 {
            tracing::info!(
                "on_finish for job {id} ({stream}): {} more lines not logged",
                lines.dropped
            );
        }
    })
}

/// The processes below `root` (children, theirs, ...), found by their parents in /proc: a
/// child that called setsid left the hook's group, not its family.
fn descendants(root: i32) -> Vec<i32> {
    let mut parents: Vec<(i32, i32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // After the command name in parentheses: state, then the parent's pid.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<i32>().ok());
        if let Some(ppid) = ppid {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// The longest part of one line of a hook's output that is logged.
const MAX_LINE_BYTES: usize = 4096;
/// The most of a hook's output logged per stream and run.
const MAX_LOGGED_BYTES: usize = 64 * 1024;

/// A hook's output cut into loggable lines, holding at most one line's bounded start.
#[derive(Default)]
struct Lines {
    current: Vec<u8>,
    /// The current line went past [`MAX_LINE_BYTES`]: the rest of it is skipped.
    cut: bool,
    logged: usize,
    logged_bytes: usize,
    dropped: usize,
}

impl Lines {
    /// The lines `bytes` completes, ready to log.
    fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut done = Vec::new();
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            let (body, ends) = match piece.strip_suffix(b"\n") {
                Some(body) => (body, true),
                None => (piece, false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.current.len());
            if body.len() > room {
                self.cut = true;
            }
            self.current
                .extend_from_slice(&body[..body.len().min(room)]);
            if ends && let Some(line) = self.end_line() {
                done.push(line);
            }
        }
        done
    }

    /// What is left of an output that did not end with a newline.
    fn finish(&mut self) -> Option<String> {
        if self.current.is_empty() && !self.cut {
            return None;
        }
        self.end_line()
    }

    fn end_line(&mut self) -> Option<String> {
        let bytes = std::mem::take(&mut self.current);
        let cut = std::mem::take(&mut self.cut);
        if self.logged >= MAX_LINES || self.logged_bytes + bytes.len() > MAX_LOGGED_BYTES {
            self.dropped += 1;
            return None;
        }
        self.logged += 1;
        self.logged_bytes += bytes.len();
        let mut line = sanitize(&String::from_utf8_lossy(&bytes));
        if cut {
            line.push_str(" [cut]");
        }
        Some(line)
    }
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

    /// Whether `pid` still runs after up to 2 s of looks (a zombie counts as gone).
    async fn still_runs(pid: i32) -> bool {
        for _ in 0..100 {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if state.is_empty() || state.contains(") Z ") {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
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
        let alive = still_runs(pid).await;
        assert!(!alive, "the hook's own child still runs");
    }

    #[test]
    fn output_is_cut_into_bounded_lines_whatever_its_bytes() {
        let mut lines = Lines::default();
        // Not UTF-8, split across reads, then a line far too long, then many short ones.
        let mut got = lines.feed(b"caf\xe9 ok\nhalf");
        got.extend(lines.feed(b" line\n"));
        assert_eq!(got, ["caf\u{fffd} ok", "half line"]);
        let long = vec![b'x'; 10 * MAX_LINE_BYTES];
        assert!(lines.feed(&long).is_empty());
        assert!(lines.current.len() <= MAX_LINE_BYTES);
        let got = lines.feed(b"\n");
        assert_eq!(got.len(), 1);
        assert!(got[0].ends_with(" [cut]") && got[0].len() < MAX_LINE_BYTES + 10);
        let many = "y\n".repeat(10 * MAX_LINES);
        let logged = lines.feed(many.as_bytes()).len();
        assert_eq!(logged + 3, MAX_LINES);
        assert_eq!(lines.dropped, 10 * MAX_LINES - logged);
        assert_eq!(lines.feed(b"tail").len(), 0);
        assert_eq!(lines.finish(), None);
    }

    #[tokio::test]
    async fn a_child_that_left_the_hooks_group_with_setsid_is_killed_too() {
        if !std::path::Path::new("/usr/bin/setsid").exists() {
            eprintln!("skipped: no setsid here");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!(
            "setsid sh -c 'echo $$ > {}; exec sleep 30' & wait",
            pid_file.display()
        );
        let argv = ["/bin/sh".to_string(), "-c".to_string(), script];
        let hook = FinishHook::new(&argv, Duration::from_millis(500)).unwrap();
        let err = hook.run_now(job()).await.unwrap_err();
        assert!(err.contains("killed"), "{err}");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let alive = still_runs(pid).await;
        assert!(!alive, "the setsid child still runs");
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
