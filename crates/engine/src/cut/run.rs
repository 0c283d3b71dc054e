//! Running ffmpeg or ffprobe: stdout handed over line by line, stderr kept as its last few
//! lines for the error, both within bounds whatever the child writes, and the child killed if
//! the cut is dropped half-way.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::Path;
use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::sanitize::sanitize;

/// A longer line is cut here (the rest of it is read and dropped).
const MAX_LINE_BYTES: usize = 16 * 1024;
/// How many of stderr's last lines an error shows, and how much of each.
const TAIL_LINES: usize = 12;
const TAIL_CHARS: usize = 300;

pub(super) struct Finished {
    pub status: ExitStatus,
    /// stderr's last lines, free of control characters.
    pub tail: Vec<String>,
}

/// Runs `program` to its end with no stdin, calling `on_line` with each line of its stdout.
pub(super) async fn run_tool(
    program: &Path,
    args: &[OsString],
    mut on_line: impl FnMut(&[u8]),
) -> std::io::Result<Finished> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A cut dropped half-way (Ctrl+C) stops ffmpeg; the unfinished file goes with it.
        .kill_on_drop(true);
    let mut child = command.spawn()?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut tail: VecDeque<String> = VecDeque::new();
    let read_out = async {
        if let Some(out) = stdout {
            read_lines(out, &mut on_line).await;
        }
    };
    let read_err = async {
        if let Some(err) = stderr {
            read_lines(err, |line| {
                let text = sanitize(&String::from_utf8_lossy(line));
                let text = text.trim();
                if text.is_empty() {
                    return;
                }
                if tail.len() == TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(text.chars().take(TAIL_CHARS).collect());
            })
            .await;
        }
    };
    let ((), (), status) = tokio::join!(read_out, read_err, child.wait());
    Ok(Finished {
        status: status?,
        tail: tail.into(),
    })
}

/// Every line of `pipe`, each cut at [`MAX_LINE_BYTES`]; read to the end, so the child never
/// blocks on a full pipe.
async fn read_lines(mut pipe: impl AsyncRead + Unpin, mut on_line: impl FnMut(&[u8])) {
    let mut line = Vec::new();
    let mut chunk = vec![0u8; 8192];
    loop {
        let n = match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &byte in &chunk[..n] {
            if byte == b'\n' || byte == b'\r' {
                if !line.is_empty() {
                    on_line(&line);
                    line.clear();
                }
            } else if line.len() < MAX_LINE_BYTES {
                line.push(byte);
            }
        }
    }
    if !line.is_empty() {
        on_line(&line);
    }
}
