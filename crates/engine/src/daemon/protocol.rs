//! What crosses the engine's socket: length-prefixed JSON frames, each one message. The first
//! from each side is a hello; the engine's names its protocol and build, the client's proves
//! the credentials without sending them. A kind of message this version does not know is
//! skipped, so either side may add kinds without breaking the other.

use std::path::PathBuf;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

use crate::engine::{Command, Event, JobRecord};

/// Changes only when an older peer could misread a message (new kinds and fields do not).
pub const PROTOCOL: u32 = 2;
/// A frame larger than this is refused: a snapshot of 100,000 live jobs still fits.
pub(super) const MAX_FRAME: usize = 256 << 20;

pub(super) fn build() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// From the engine.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(super) enum ServerMsg {
    /// First, to every client. `busy`: work is in flight (an upgrade must not replace it).
    Hello {
        protocol: u32,
        build: String,
        pid: u32,
        nonce: String,
        busy: bool,
    },
    /// The client's hello was accepted.
    Welcome {
        status: EngineStatus,
    },
    /// The client's hello was not: why, then the connection closes.
    Refused {
        reason: String,
    },
    /// Every job the engine holds, as of delta `seq`: replaces what the client had.
    Snapshot {
        seq: u64,
        jobs: Vec<JobRecord>,
        halted: Option<String>,
        #[serde(default)]
        at_rest: bool,
    },
    /// A change after the snapshot (`seq` counts up by one), or, with `seq` 0, the answer to
    /// one of this client's commands.
    Event {
        seq: u64,
        event: Event,
    },
    Status {
        status: EngineStatus,
    },
    /// The engine is stopping (`kling-tui engine stop`, a signal, the idle time).
    Stopping {
        reason: String,
    },
}

/// From a client.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(super) enum ClientMsg {
    /// `proof` of the credentials for the engine's nonce; without it the client may only ask
    /// for the status or a stop. `attach`: send the snapshot and every change.
    Hello {
        protocol: u32,
        build: String,
        proof: Option<String>,
        attach: bool,
    },
    Command {
        command: Box<Command>,
    },
    Status,
    Stop,
}

/// What `kling-tui engine status` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineStatus {
    pub pid: u32,
    pub version: String,
    pub protocol: u32,
    pub started_at: String,
    pub uptime_secs: u64,
    /// Jobs held in memory: unfinished, or finished moments ago.
    pub jobs: usize,
    pub unfinished: usize,
    pub clients: usize,
    pub busy: bool,
    pub socket: PathBuf,
    pub log: PathBuf,
    pub ledger: PathBuf,
    /// The ledger file it holds open (device, inode): a client checks it is the one on disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_file: Option<(u64, u64)>,
    /// 0: never.
    pub idle_exit_secs: u64,
}

pub(super) type Reader<R> = FramedRead<R, LengthDelimitedCodec>;
pub(super) type Writer<W> = FramedWrite<W, LengthDelimitedCodec>;

fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME)
        .new_codec()
}

pub(super) fn reader<R: AsyncRead>(r: R) -> Reader<R> {
    FramedRead::new(r, codec())
}

/// The most a client may send in one frame before it has proved it holds the credentials: a
/// hello, a status, a stop. (The codec reserves what a frame announces.)
pub(super) const MAX_FRAME_UNPROVED: usize = 64 << 10;

/// A reader that takes frames of at most [`MAX_FRAME_UNPROVED`] until raised with
/// [`trust`].
pub(super) fn guarded_reader<R: AsyncRead>(r: R) -> Reader<R> {
    let mut reader = reader(r);
    reader
        .decoder_mut()
        .set_max_frame_length(MAX_FRAME_UNPROVED);
    reader
}

/// Lets a client that proved itself send frames up to the protocol's limit.
pub(super) fn trust<R>(reader: &mut Reader<R>) {
    reader.decoder_mut().set_max_frame_length(MAX_FRAME);
}

pub(super) fn writer<W: AsyncWrite>(w: W) -> Writer<W> {
    FramedWrite::new(w, codec())
}

pub(super) fn encode<T: Serialize>(message: &T) -> Bytes {
    // Our own types always serialize; an empty frame would be skipped by the peer.
    Bytes::from(serde_json::to_vec(message).unwrap_or_default())
}

pub(super) async fn send<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut Writer<W>,
    message: &T,
) -> std::io::Result<()> {
    w.send(encode(message)).await
}

/// The next message this version understands; `None` at the end of the stream. Frames of
/// unknown kinds are skipped; a broken stream is an error.
pub(super) async fn next<R: AsyncRead + Unpin, T: for<'de> Deserialize<'de>>(
    r: &mut Reader<R>,
) -> std::io::Result<Option<T>> {
    loop {
        let Some(frame) = r.next().await.transpose()? else {
            return Ok(None);
        };
        match serde_json::from_slice::<T>(&frame) {
            Ok(message) => return Ok(Some(message)),
            Err(e) => tracing::debug!("skipped a message this version does not read: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_kinds_are_skipped_and_known_ones_read() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let mut w = writer(a);
        w.send(Bytes::from_static(br#"{"kind":"from-the-future","x":1}"#))
            .await
            .unwrap();
        send(
            &mut w,
            &ServerMsg::Stopping {
                reason: "bye".into(),
            },
        )
        .await
        .unwrap();
        drop(w);
        let mut r = reader(b);
        let got: Option<ServerMsg> = next(&mut r).await.unwrap();
        assert!(matches!(got, Some(ServerMsg::Stopping { reason }) if reason == "bye"));
        assert!(next::<_, ServerMsg>(&mut r).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_oversized_frame_is_an_error_not_an_allocation() {
        let (a, b) = tokio::io::duplex(64);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut a = a;
            let _ = a.write_all(&(u32::MAX).to_be_bytes()).await;
        });
        let mut r = reader(b);
        assert!(next::<_, ServerMsg>(&mut r).await.is_err());
    }

    #[test]
    fn commands_and_events_round_trip() {
        let command = Command::submit(crate::kling::KlingRequest::new("a fox"));
        let text = serde_json::to_string(&ClientMsg::Command {
            command: Box::new(command.clone()),
        })
        .unwrap();
        let back: ClientMsg = serde_json::from_str(&text).unwrap();
        assert!(matches!(back, ClientMsg::Command { command: c } if *c == command));
    }
}
