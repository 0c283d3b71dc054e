//! The engine process's view of its clients: what the jobs the engine holds look like on the
//! wire (for snapshots), numbered deltas fanned out to every client, and the answers to one
//! client's questions sent to that client only.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc};

use super::protocol::{ServerMsg, encode};
use crate::engine::{Command, Event, JobRecord, LocalId};

/// Deltas a client may fall behind by before it is sent a fresh snapshot instead.
const DELTA_BACKLOG: usize = 4096;
/// Finished jobs kept in the mirror for clients that attach later; older ones are history
/// (a ledger query).
const SETTLED_KEPT: usize = 256;

/// One numbered change, already encoded once for every client.
pub(super) type Delta = (u64, Bytes);

pub(super) struct Hub {
    state: Mutex<State>,
    deltas: broadcast::Sender<Delta>,
}

/// A job as the mirror keeps it: its record as JSON, a slice of the delta that last told it
/// (shared, not copied), which a snapshot joins as it is; and what the status needs of it.
/// Kept as records, the mirror was a second copy of every job the engine holds, cloned at
/// each change and cloned again and serialized for each snapshot.
struct Held {
    json: Bytes,
    /// The engine says it is done.
    settled: bool,
    /// Still the server's to change (see [`crate::engine::Place::on_server`]).
    on_server: bool,
}

#[derive(Default)]
struct State {
    seq: u64,
    jobs: BTreeMap<LocalId, Held>,
    settled_order: VecDeque<LocalId>,
    halted: Option<String>,
    /// The engine said everything came to rest (and has not said otherwise since).
    at_rest: bool,
    /// Questions in flight: the engine's seq → the client and its own seq.
    routes: HashMap<u64, (u64, u64)>,
    next_route: u64,
    clients: HashMap<u64, mpsc::UnboundedSender<Bytes>>,
    next_client: u64,
    /// Notices given while no client was attached: told to the next one (they are said once).
    untold: Vec<Bytes>,
}

impl Hub {
    pub(super) fn new() -> Self {
        let (deltas, _) = broadcast::channel(DELTA_BACKLOG);
        Self {
            state: Mutex::new(State::default()),
            deltas,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding it leaves plain data behind: still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A client joins: its id, where its answers go, the snapshot it starts from, and the
    /// deltas after it. Taken under one lock, so nothing falls between the two.
    pub(super) fn join(
        &self,
    ) -> (
        u64,
        mpsc::UnboundedReceiver<Bytes>,
        (u64, Bytes),
        broadcast::Receiver<Delta>,
    ) {
        let mut state = self.lock();
        state.next_client += 1;
        let id = state.next_client;
        let (tx, rx) = mpsc::unbounded_channel();
        for notice in state.untold.drain(..) {
            let _ = tx.send(notice);
        }
        state.clients.insert(id, tx);
        let deltas = self.deltas.subscribe();
        let snapshot = snapshot_of(&state);
        (id, rx, snapshot, deltas)
    }

    /// A client went: the questions it left unanswered, by the engine's numbers.
    pub(super) fn leave(&self, client: u64) -> Vec<u64> {
        let mut state = self.lock();
        state.clients.remove(&client);
        let mut unanswered = Vec::new();
        state.routes.retain(|route, (c, _)| {
            let theirs = *c == client;
            if theirs {
                unanswered.push(*route);
            }
            !theirs
        });
        unanswered
    }

    /// A fresh snapshot, for a client that fell behind.
    pub(super) fn snapshot(&self) -> (u64, Bytes) {
        snapshot_of(&self.lock())
    }

    pub(super) fn clients(&self) -> usize {
        self.lock().clients.len()
    }

    /// Jobs held, and how many of them still have work.
    pub(super) fn counts(&self) -> (usize, usize) {
        let state = self.lock();
        let unfinished = state.jobs.values().filter(|j| !j.settled).count();
        (state.jobs.len(), unfinished)
    }

    /// The engine said everything came to rest (and has not said otherwise since).
    pub(super) fn at_rest(&self) -> bool {
        self.lock().at_rest
    }

    /// Work is in flight or will be: the engine has not come to rest, or a job is still on
    /// the server (even one whose polls were given up).
    pub(super) fn busy(&self) -> bool {
        let state = self.lock();
        !state.at_rest || state.jobs.values().any(|j| j.on_server)
    }

    /// A client's command, its question numbers made the engine's own so that the answer
    /// finds its way back.
    pub(super) fn route(&self, client: u64, mut command: Command) -> Command {
        let mut state = self.lock();
        if command == Command::Refresh {
            // A refresh releases a halt: clients attaching later must not see it.
            state.halted = None;
        }
        if let Some(seq) = command.seq_mut() {
            state.next_route += 1;
            let route = state.next_route;
            state.routes.insert(route, (client, *seq));
            *seq = route;
        }
        command
    }

    /// One event from the engine: an answer goes to the client that asked, anything else
    /// updates the mirror and goes to everyone.
    pub(super) fn publish(&self, mut event: Event) {
        let mut state = self.lock();
        if let Some((seq, last)) = event.answer_mut() {
            // More words on the same question may follow: the route stays until the last.
            let found = if last {
                state.routes.remove(seq)
            } else {
                state.routes.get(seq).copied()
            };
            let Some((client, theirs)) = found else {
                return;
            };
            *seq = theirs;
            if let Some(tx) = state.clients.get(&client) {
                let _ = tx.send(encode(&ServerMsg::Event { seq: 0, event }));
            }
            return;
        }
        match &event {
            Event::Job(job) => {
                let id = job.local_id;
                let settled = job.place.is_done();
                if settled && !state.settled_order.contains(&id) {
                    state.settled_order.push_back(id);
                }
                state.seq += 1;
                let seq = state.seq;
                let (frame, json) = encode_job(seq, job);
                let on_server = job.place.on_server();
                state.jobs.insert(
                    id,
                    Held {
                        json,
                        settled,
                        on_server,
                    },
                );
                while state.settled_order.len() > SETTLED_KEPT {
                    if let Some(old) = state.settled_order.pop_front()
                        && state.jobs.get(&old).is_some_and(|j| j.settled)
                    {
                        state.jobs.remove(&old);
                    }
                }
                let _ = self.deltas.send((seq, frame));
                return;
            }
            Event::Forgotten(id) => {
                state.jobs.remove(id);
            }
            Event::Halted { reason } => state.halted = Some(reason.clone()),
            Event::Notice { .. } if state.clients.is_empty() => {
                state.untold.truncate(63);
                state
                    .untold
                    .push(encode(&ServerMsg::Event { seq: 0, event }));
                return;
            }
            Event::Settled => state.at_rest = true,
            Event::Busy => state.at_rest = false,
            _ => {}
        }
        state.seq += 1;
        let seq = state.seq;
        // Nobody listening is fine: the mirror has it.
        let _ = self
            .deltas
            .send((seq, encode(&ServerMsg::Event { seq, event })));
    }
}

/// The delta telling `job`, and the record's own JSON within it. Written by hand around the
/// record so that the mirror can keep that part: the same bytes as [`encode`] would give.
fn encode_job(seq: u64, job: &JobRecord) -> (Bytes, Bytes) {
    let mut out = Vec::with_capacity(1024);
    let _ = write!(out, r#"{{"kind":"event","seq":{seq},"event":{{"job":"#);
    let start = out.len();
    if serde_json::to_writer(&mut out, job).is_err() {
        // Our own type always serializes; a record that did not is left out of snapshots.
        let frame = encode(&ServerMsg::Event {
            seq,
            event: Event::Job(Box::new(job.clone())),
        });
        return (frame, Bytes::new());
    }
    let end = out.len();
    out.extend_from_slice(b"}}");
    // Kept for as long as the job is held: no spare capacity.
    out.shrink_to_fit();
    let frame = Bytes::from(out);
    let json = frame.slice(start..end);
    (frame, json)
}

/// Every job held, as of delta `seq`: the records' JSON joined as kept, the same bytes as
/// [`encode`] of a [`ServerMsg::Snapshot`] of them would give.
fn snapshot_of(state: &State) -> (u64, Bytes) {
    let jobs = state.jobs.values().filter(|j| !j.json.is_empty());
    let size: usize = jobs.clone().map(|j| j.json.len() + 1).sum();
    let mut out = Vec::with_capacity(size + 128);
    let _ = write!(out, r#"{{"kind":"snapshot","seq":{},"jobs":["#, state.seq);
    for (n, job) in jobs.enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&job.json);
    }
    out.extend_from_slice(br#"],"halted":"#);
    let _ = serde_json::to_writer(&mut out, &state.halted);
    let _ = write!(out, r#","at_rest":{}}}"#, state.at_rest);
    (state.seq, Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::JobStatus;
    use crate::engine::Submission;
    use crate::kling::KlingRequest;

    fn job(id: LocalId, done: bool) -> Event {
        let mut job = JobRecord::new(id, "2026-01-01T00:00:00Z".into(), KlingRequest::new("x"));
        job.submission = Submission::Accepted;
        job.status = Some(if done {
            JobStatus::Failure
        } else {
            JobStatus::InProgress
        });
        // As the engine sends it: judged.
        job.place = crate::engine::Place::of(&job, None, true);
        Event::Job(Box::new(job))
    }

    #[test]
    fn answers_go_to_the_asker_with_its_own_number() {
        let hub = Hub::new();
        let (a, mut a_rx, _, mut a_deltas) = hub.join();
        let (b, mut b_rx, _, _) = hub.join();
        let routed = hub.route(
            a,
            Command::Estimate {
                seq: 7,
                request: KlingRequest::new("x"),
            },
        );
        let Command::Estimate {
            seq: engine_seq, ..
        } = routed
        else {
            panic!("{routed:?}");
        };
        let _ = hub.route(
            b,
            Command::Estimate {
                seq: 7,
                request: KlingRequest::new("y"),
            },
        );
        hub.publish(Event::Estimate {
            seq: engine_seq,
            cost: Ok(5.0),
        });
        let frame = a_rx.try_recv().unwrap();
        let text = String::from_utf8_lossy(&frame);
        assert!(
            text.contains(r#""seq":7"#) && text.contains("5.0"),
            "{text}"
        );
        assert!(b_rx.try_recv().is_err());
        assert!(a_deltas.try_recv().is_err(), "answers are not deltas");
    }

    #[test]
    fn deltas_are_numbered_and_the_mirror_keeps_unfinished_jobs() {
        let hub = Hub::new();
        let (_, _, (seq0, _), mut deltas) = hub.join();
        assert_eq!(seq0, 0);
        for id in 1..=SETTLED_KEPT as u64 + 10 {
            hub.publish(job(id, true));
        }
        hub.publish(job(1_000, false));
        let (held, unfinished) = hub.counts();
        assert_eq!((held, unfinished), (SETTLED_KEPT + 1, 1));
        let mut last = 0;
        while let Ok((seq, _)) = deltas.try_recv() {
            assert_eq!(seq, last + 1);
            last = seq;
        }
        assert_eq!(last, SETTLED_KEPT as u64 + 11);
        assert!(hub.busy(), "a job still on the server is work");
    }

    /// What a job's record looks like to a client: its `Event::Job` delta.
    fn record(event: &Event) -> JobRecord {
        match event {
            Event::Job(job) => (**job).clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deltas_and_snapshots_are_the_bytes_serde_gives() {
        let hub = Hub::new();
        let (_, _, (_, empty), mut deltas) = hub.join();
        let expected = ServerMsg::Snapshot {
            seq: 0,
            jobs: Vec::new(),
            halted: None,
            at_rest: false,
        };
        assert_eq!(empty, encode(&expected));
        let mut latest = BTreeMap::new();
        for (id, done) in [(3, false), (1, true), (3, true), (2, false)] {
            let event = job(id, done);
            latest.insert(id, record(&event));
            hub.publish(event.clone());
            let (seq, frame) = deltas.try_recv().unwrap();
            assert_eq!(frame, encode(&ServerMsg::Event { seq, event }));
        }
        hub.publish(Event::Halted {
            reason: "refused \"quoted\"".into(),
        });
        hub.publish(Event::Settled);
        let (seq, frame) = hub.snapshot();
        assert_eq!(seq, 6);
        let expected = ServerMsg::Snapshot {
            seq,
            jobs: latest.into_values().collect(),
            halted: Some("refused \"quoted\"".into()),
            at_rest: true,
        };
        assert_eq!(frame, encode(&expected));
    }

    #[test]
    fn a_client_that_falls_behind_is_told_so() {
        let hub = Hub::new();
        let (_, _, _, mut deltas) = hub.join();
        for id in 0..DELTA_BACKLOG as u64 + 5 {
            hub.publish(job(id % 10, true));
        }
        assert!(matches!(
            deltas.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
        let (seq, _) = hub.snapshot();
        assert_eq!(seq, DELTA_BACKLOG as u64 + 5);
    }
}
