//! Answers of a CDN that misbehaves in ways a client must catch: a shorter file with honest
//! headers, an error page sent as 200, a compressed body, extra bytes, no end at all, a
//! damaged byte. Each comes from a one-shot [`super::Fault`].

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt, TryStreamExt, stream};

use super::faults::Breakage;
use super::video::synthetic_bytes;

type Chunks = Box<dyn Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static>;

/// The answer to a whole-file request of `size` bytes served by `file`, gone wrong as `trick`
/// says. Always a 200: each trick is a server that believes it succeeded.
pub(crate) fn answer(trick: Breakage, file: Chunks, size: u64, mime: HeaderValue) -> Response {
    let (body, length, mime, encoding): (Body, Option<u64>, HeaderValue, Option<&str>) = match trick
    {
        Breakage::ShortFile => {
            let half = size / 2;
            (Body::from_stream(take(file, half)), Some(half), mime, None)
        }
        Breakage::HtmlPage => {
            let page = "<html><body>Service unavailable</body></html>\n";
            (
                Body::from(page),
                Some(page.len() as u64),
                HeaderValue::from_static("text/html; charset=utf-8"),
                None,
            )
        }
        Breakage::Gzip => (
            Body::from_stream(stream::once(gzip(file))),
            None,
            mime,
            Some("gzip"),
        ),
        Breakage::Longer(extra) => {
            let tail = stream::iter([Ok(Bytes::from(synthetic_bytes(size, extra as usize)))]);
            (
                Body::from_stream(file.chain(tail)),
                Some(size + extra),
                mime,
                None,
            )
        }
        Breakage::ForeignFile => {
            // As long as the file, so only its bytes tell.
            let text: Vec<u8> = b"This is not the file you asked for.\n"
                .iter()
                .copied()
                .cycle()
                .take(size as usize)
                .collect();
            (Body::from(text), Some(size), mime, None)
        }
        Breakage::Endless => (
            Body::from_stream(file.chain(filler(size))),
            None,
            mime,
            None,
        ),
        Breakage::Truncate
        | Breakage::Reset
        | Breakage::Stall
        | Breakage::Corrupt(_)
        | Breakage::ForeignEtag => {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, mime);
    if let Some(length) = length {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
    if let Some(encoding) = encoding {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    // A validator that is no digest, so only the size and type checks stand in the way.
    headers.insert(ETAG, HeaderValue::from_static("\"served-anyway\""));
    response
}

/// The first `limit` bytes of a stream.
fn take(file: Chunks, limit: u64) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
    file.scan(0u64, move |sent, chunk| {
        let out = chunk.map(|mut c| {
            let room = limit.saturating_sub(*sent) as usize;
            c.truncate(room.min(c.len()));
            *sent += c.len() as u64;
            c
        });
        async move { Some(out) }
    })
    .try_filter(|c| std::future::ready(!c.is_empty()))
}

/// Filler bytes forever (well: a terabyte), 64 KiB at a time, made only as they are sent.
fn filler(from: u64) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
    const PIECE: u64 = 64 * 1024;
    stream::unfold(from, |at| async move {
        (at < (1 << 40)).then(|| {
            (
                Ok(Bytes::from(synthetic_bytes(at, PIECE as usize))),
                at + PIECE,
            )
        })
    })
}

/// A body from byte `from` of a file, with the file's byte at `middle` inverted.
pub(crate) fn flip_middle(
    file: Chunks,
    from: u64,
    middle: u64,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
    file.scan(from, move |at, chunk| {
        let out = chunk.map(|c| {
            let start = *at;
            *at += c.len() as u64;
            if (start..*at).contains(&middle) {
                let mut bytes = c.to_vec();
                let i = (middle - start) as usize;
                bytes[i] = !bytes[i];
                Bytes::from(bytes)
            } else {
                c
            }
        });
        async move { Some(out) }
    })
}

/// The file gzip-compressed, built whole (the trick is for small files): deflate's stored
/// blocks (no compression is needed to be a valid gzip body), then CRC-32 and length.
async fn gzip(file: Chunks) -> std::io::Result<Bytes> {
    let data: Vec<u8> = file
        .try_fold(Vec::new(), |mut all, c| async move {
            all.extend_from_slice(&c);
            Ok(all)
        })
        .await?;
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let pieces: Vec<&[u8]> = data.chunks(65535).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let n = piece.len() as u16;
        out.push(u8::from(i + 1 == pieces.len()));
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(piece);
    }
    if pieces.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    out.extend_from_slice(&(!crc32_update(0xffff_ffff, &data)).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(Bytes::from(out))
}

pub(crate) fn crc32_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_of_a_known_string() {
        assert_eq!(!crc32_update(0xffff_ffff, b"123456789"), 0xcbf4_3926);
    }
}
