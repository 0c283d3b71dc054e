//! A client's side of the socket, as the two channels of an [`EngineHandle`]: whoever holds
//! it sends commands and reads events as if the engine ran in-process. When the connection
//! breaks, the link reattaches by itself (starting the engine again if it died), sends again
//! what was never answered, and says so with [`Event::Detached`] and [`Event::Attached`].

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc;

use super::DaemonError;
use super::protocol::{self, ClientMsg, EngineStatus, ServerMsg};
use super::spawn::{Connection, Reach, connect};
use crate::engine::{Command, EngineHandle, Event};

/// An attached client: the engine's channels and what it said of itself.
pub struct Attach {
    pub handle: EngineHandle,
    pub status: EngineStatus,
}

/// Attaches to the engine of `reach`, starting it if none runs.
pub async fn attach(reach: Reach) -> Result<Attach, DaemonError> {
    let connection = connect(&reach, true, true).await?;
    let status = connection.status.clone();
    let (command_tx, command_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let link = Link {
        reach,
        pid: status.pid,
        events: event_tx,
        unanswered: BTreeMap::new(),
        next_seq: 0,
    };
    let task = tokio::spawn(link.run(connection, command_rx));
    Ok(Attach {
        handle: EngineHandle::remote(command_tx, event_rx, task),
        status,
    })
}

struct Link {
    reach: Reach,
    /// The engine attached to last: another one after a reconnection is a restart.
    pid: u32,
    events: mpsc::UnboundedSender<Event>,
    /// Questions and submissions sent and not answered, by the link's own number, with the
    /// client's: sent again after a reconnection (a submission carries a token, so the
    /// engine never makes it twice).
    unanswered: BTreeMap<u64, (u64, Command)>,
    next_seq: u64,
}

enum Lost {
    /// The client is done: nothing more to do.
    ClientGone,
    /// The connection broke; `stopped` when the engine said it was stopping on purpose.
    Broken { reason: String, stopped: bool },
}

impl Link {
    async fn run(
        mut self,
        mut connection: Connection,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        loop {
            let (reason, stopped) = match self.attached(&mut connection, &mut commands).await {
                Lost::ClientGone => return,
                Lost::Broken { reason, stopped } => (reason, stopped),
            };
            tracing::info!("lost the engine: {reason}");
            let _ = self.events.send(Event::Detached {
                reason: reason.clone(),
                stopped,
            });
            let mut wait = Duration::from_millis(100);
            let mut pending: Vec<Command> = Vec::new();
            connection = loop {
                // Commands given while away are kept, and a command is reason enough to start
                // an engine that was stopped on purpose.
                loop {
                    match commands.try_recv() {
                        Ok(command) => pending.push(self.track(command)),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => return,
                    }
                }
                let may_start = !stopped || !pending.is_empty() || !self.unanswered.is_empty();
                match connect(&self.reach, true, may_start).await {
                    Ok(connection) => break connection,
                    Err(DaemonError::NotRunning(_)) => {}
                    Err(e) => tracing::warn!("cannot reattach yet: {e}"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    command = commands.recv() => match command {
                        Some(command) => pending.push(self.track(command)),
                        None => return,
                    }
                }
                wait = (wait * 2).min(Duration::from_secs(2));
            };
            // A listing of the team's jobs is not asked again of a restarted engine (the
            // listing may be what ended the last one): answered here, to be asked anew.
            let lost_listings: Vec<u64> = self
                .unanswered
                .iter()
                .filter(|(_, (_, c))| matches!(c, Command::Remote { .. }))
                .map(|(ours, _)| *ours)
                .collect();
            for ours in lost_listings {
                if let Some((theirs, _)) = self.unanswered.remove(&ours) {
                    let _ = self.events.send(Event::Remote {
                        seq: theirs,
                        result: Err(crate::engine::Failure::new(
                            crate::engine::FailureKind::Unavailable,
                            format!(
                                "the engine was lost during the listing ({reason}); it was not \
                                 asked again: run the listing again"
                            ),
                        )),
                        incomplete: None,
                    });
                }
            }
            let mut resend: Vec<Command> = self
                .unanswered
                .values()
                .map(|(_, c)| c.clone())
                .filter(|c| !pending.contains(c))
                .collect();
            resend.extend(pending);
            for command in resend {
                if protocol::send(
                    &mut connection.writer,
                    &ClientMsg::Command {
                        command: Box::new(command),
                    },
                )
                .await
                .is_err()
                {
                    break;
                }
            }
        }
    }

    /// Relays until the connection breaks or the client is done.
    async fn attached(
        &mut self,
        connection: &mut Connection,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> Lost {
        let mut last = 0;
        let mut stopping: Option<String> = None;
        loop {
            tokio::select! {
                message = protocol::next::<_, ServerMsg>(&mut connection.reader) => match message {
                    Ok(Some(ServerMsg::Snapshot { seq, jobs, halted, at_rest })) => {
                        last = seq;
                        let restarted = connection.status.pid != self.pid;
                        self.pid = connection.status.pid;
                        let _ = self.events.send(Event::Attached { jobs, halted, at_rest, restarted });
                    }
                    Ok(Some(ServerMsg::Event { seq: 0, event })) => {
                        if let Some(event) = self.answered(event) {
                            let _ = self.events.send(event);
                        }
                    }
                    Ok(Some(ServerMsg::Event { seq, event })) => {
                        if seq > last {
                            last = seq;
                            let _ = self.events.send(event);
                        }
                    }
                    Ok(Some(ServerMsg::Stopping { reason })) => stopping = Some(reason),
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return Lost::Broken {
                            reason: stopping
                                .clone()
                                .map(|r| format!("the engine stopped ({r})"))
                                .unwrap_or_else(|| "the engine closed the connection".into()),
                            stopped: stopping.is_some(),
                        };
                    }
                    Err(e) => {
                        return Lost::Broken {
                            reason: e.to_string(),
                            stopped: stopping.is_some(),
                        };
                    }
                },
                command = commands.recv() => {
                    let Some(command) = command else {
                        return Lost::ClientGone;
                    };
                    let command = self.track(command);
                    if let Err(e) =
                        protocol::send(&mut connection.writer, &ClientMsg::Command { command: Box::new(command) }).await
                    {
                        return Lost::Broken {
                            reason: e.to_string(),
                            stopped: stopping.is_some(),
                        };
                    }
                }
            }
        }
    }

    /// Numbers a question or submission of the client's in the link's own sequence (and gives
    /// a submission its token), so its answer can be matched after a reconnection.
    fn track(&mut self, mut command: Command) -> Command {
        // Paths mean what they meant here: the engine works in a folder of its own.
        match &mut command {
            Command::Submit {
                token,
                request,
                download_dir,
                ..
            } => {
                token.get_or_insert_with(|| format!("{:032x}", rand::random::<u128>()));
                *request = crate::engine::with_absolute_files(std::mem::take(request));
                *download_dir = download_dir.take().map(absolute);
            }
            Command::Upload { file, .. } => *file = absolute(std::mem::take(file)),
            Command::Destination { dir, .. } => *dir = absolute(std::mem::take(dir)),
            _ => {}
        }
        if let Some(seq) = command.seq_mut() {
            self.next_seq += 1;
            let theirs = std::mem::replace(seq, self.next_seq);
            self.unanswered
                .insert(self.next_seq, (theirs, command.clone()));
        }
        command
    }

    /// An answer, given back its client's number; `None` for one already answered.
    fn answered(&mut self, mut event: Event) -> Option<Event> {
        if let Some((seq, last)) = event.answer_mut() {
            // Upload progress is not the last word: the question stays open until it is.
            let theirs = if last {
                self.unanswered.remove(seq)?.0
            } else {
                self.unanswered.get(seq)?.0
            };
            *seq = theirs;
        }
        Some(event)
    }
}

/// `path` against this process's working folder (as it is, if that cannot be read).
fn absolute(path: std::path::PathBuf) -> std::path::PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}
