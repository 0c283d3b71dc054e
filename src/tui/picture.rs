//! Pictures of finished videos: which protocol the terminal draws images with (asked once, at
//! start, with a short deadline), and each job's picture decoded for it. The engine fetches
//! the pictures and keeps them on disk; the app only reads the file it is given.

use std::collections::HashMap;
#[cfg(feature = "preview")]
use std::io::Write;
#[cfg(feature = "preview")]
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;
#[cfg(feature = "preview")]
use std::time::Instant;

#[cfg(feature = "preview")]
use ratatui_image::FontSize;
#[cfg(feature = "preview")]
use ratatui_image::picker::{Picker, ProtocolType};

use crate::config::PreviewMode;
use crate::engine::LocalId;

/// How long a terminal has to answer; one that does not gets half-blocks.
pub const QUERY_TIMEOUT: Duration = Duration::from_millis(250);

/// The kitty graphics query (a 1×1 image that is only checked, never shown), the cell size in
/// pixels, and the primary device attributes, which every terminal answers: the sentinel.
#[cfg(feature = "preview")]
const KITTY_QUERY: &str = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\";
#[cfg(feature = "preview")]
const CELL_SIZE_QUERY: &str = "\x1b[16t";
#[cfg(feature = "preview")]
const DEVICE_ATTRIBUTES: &str = "\x1b[c";

/// What the terminal said of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub kitty: bool,
    pub sixel: bool,
    pub cell: Option<(u16, u16)>,
    /// The device attributes came back: the terminal answered everything it would.
    pub complete: bool,
}

/// Reads what the terminal wrote back so far.
pub fn parse_answer(bytes: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(bytes);
    let kitty = text.contains("\x1b_Gi=31;OK");
    // `ESC [ 6 ; height ; width t`
    let cell = text.split("\x1b[6;").nth(1).and_then(|rest| {
        let end = rest.find('t')?;
        let mut parts = rest[..end].split(';');
        let height = parts.next()?.parse().ok()?;
        let width = parts.next()?.parse().ok()?;
        Some((width, height))
    });
    // `ESC [ ? 62 ; 4 ; ... c`: attribute 4 is sixel graphics.
    let attributes = text.split("\x1b[?").skip(1).find_map(|rest| {
        let end = rest.find('c')?;
        let body = &rest[..end];
        body.bytes()
            .all(|b| b.is_ascii_digit() || b == b';')
            .then_some(body)
    });
    Answer {
        kitty,
        sixel: attributes.is_some_and(|a| a.split(';').any(|n| n == "4")),
        cell,
        complete: attributes.is_some(),
    }
}

/// Asks the terminal (stdin/stdout, already in raw mode, before anything else reads its input)
/// how it draws pictures, waiting at most `timeout`. Inside tmux the queries go through to the
/// outer terminal in a passthrough (tmux answers the device attributes itself). What no answer
/// settles falls back to half-blocks, which draw anywhere.
#[cfg(feature = "preview")]
pub fn picker(mode: PreviewMode, in_tmux: bool, timeout: Duration) -> Picker {
    if mode != PreviewMode::Auto {
        return Picker::halfblocks();
    }
    let wrap = |q: &str| {
        if in_tmux {
            format!("\x1bPtmux;{}\x1b\\", q.replace('\x1b', "\x1b\x1b"))
        } else {
            q.to_string()
        }
    };
    let query = format!(
        "{}{}{DEVICE_ATTRIBUTES}",
        wrap(KITTY_QUERY),
        wrap(CELL_SIZE_QUERY)
    );
    let mut out = std::io::stdout();
    if out
        .write_all(query.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        return Picker::halfblocks();
    }
    let answer = read_answer(timeout, in_tmux);
    let protocol = if answer.kitty {
        ProtocolType::Kitty
    } else if answer.sixel {
        ProtocolType::Sixel
    } else if iterm2_by_name() {
        ProtocolType::Iterm2
    } else {
        ProtocolType::Halfblocks
    };
    let (width, height) = answer.cell.unwrap_or((10, 20));
    // The font size is what the terminal said; the picker's own query is not used, because it
    // leaves a thread blocked on stdin when a terminal stays silent.
    #[allow(deprecated)]
    let mut picker = Picker::from_fontsize(FontSize::new(width.max(1), height.max(1)));
    picker.set_protocol_type(protocol);
    picker
}

/// iTerm2 answers no query for its own protocol: it is known by name (sent along over SSH as
/// `LC_TERMINAL`).
#[cfg(feature = "preview")]
fn iterm2_by_name() -> bool {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    var("TERM_PROGRAM") == "iTerm.app" || var("LC_TERMINAL") == "iTerm2"
}

/// Reads stdin until the device attributes come back or `timeout` passes, never longer: a
/// silent terminal costs the deadline, not a hang.
#[cfg(feature = "preview")]
fn read_answer(timeout: Duration, in_tmux: bool) -> Answer {
    let fd = std::io::stdin().as_raw_fd();
    let start = Instant::now();
    let mut bytes = Vec::new();
    // Inside tmux the outer terminal's answers may come after tmux's own.
    let mut grace_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let deadline = grace_until.unwrap_or(start + timeout);
        if now >= deadline {
            break;
        }
        let left = (deadline - now).as_millis().min(i32::MAX as u128) as i32;
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the call's duration.
        let ready = unsafe { libc::poll(&mut poll, 1, left) };
        if ready <= 0 {
            break;
        }
        let mut buf = [0u8; 512];
        // SAFETY: reading into a buffer we own, of its length.
        let read = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if read <= 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..read as usize]);
        let answer = parse_answer(&bytes);
        if answer.complete {
            if !in_tmux || answer.kitty {
                return answer;
            }
            grace_until.get_or_insert(Instant::now() + Duration::from_millis(60));
        }
    }
    parse_answer(&bytes)
}

/// A picture ready to draw, in the terminal's protocol.
#[cfg(feature = "preview")]
pub type Shown = ratatui_image::protocol::StatefulProtocol;
/// Built without the `preview` feature, no picture is ever ready.
#[cfg(not(feature = "preview"))]
pub enum Shown {}

/// Where one job's picture stands.
pub enum Picture {
    /// Asked of the engine.
    Loading,
    Ready(Box<Shown>),
    /// Why there is none (no picture, a failed fetch, a file that is no image).
    Failed(String),
}

/// The largest picture decoded, a side: a small file can claim 11000×11000 pixels (500 MB
/// once decoded), which is refused before a byte of it is held.
pub const MAX_PICTURE_SIDE: u32 = 8192;
/// The most one decode may allocate.
pub const MAX_DECODE_BYTES: u64 = 96 * 1024 * 1024;
/// A picture is kept scaled to at most this, a side: more than a terminal's cells show.
pub const KEPT_SIDE: u32 = 768;
/// The most the decoded pictures kept may weigh together; the oldest go first.
pub const MAX_KEPT_BYTES: usize = 48 * 1024 * 1024;

/// Pictures by job, decoded for the terminal's protocol, within [`MAX_KEPT_BYTES`].
pub struct Pictures {
    pub mode: PreviewMode,
    #[cfg(feature = "preview")]
    pub picker: Picker,
    pub by_job: HashMap<LocalId, Picture>,
    /// Numbers the asks, so an answer is matched to its job.
    pub asked: u64,
    /// What each kept picture weighs, oldest first.
    kept: std::collections::VecDeque<(LocalId, usize)>,
    kept_bytes: usize,
}

impl Pictures {
    pub fn new(mode: PreviewMode) -> Self {
        Self {
            // Without the feature there is nothing to draw pictures with: none are asked for.
            #[cfg(not(feature = "preview"))]
            mode: {
                let _ = mode;
                PreviewMode::Off
            },
            #[cfg(feature = "preview")]
            mode,
            #[cfg(feature = "preview")]
            picker: Picker::halfblocks(),
            by_job: HashMap::new(),
            asked: 0,
            kept: std::collections::VecDeque::new(),
            kept_bytes: 0,
        }
    }

    /// Reads and decodes the picture the engine kept at `file`, within bounds, scaled down to
    /// what a terminal shows.
    #[cfg(feature = "preview")]
    pub fn load(&mut self, id: LocalId, file: &Path) {
        let picture = match decode(file) {
            Ok(image) => {
                let weight = image.as_bytes().len();
                self.keep(id, weight);
                Picture::Ready(Box::new(self.picker.new_resize_protocol(image)))
            }
            Err(e) => Picture::Failed(format!("the picture cannot be read: {e}")),
        };
        self.by_job.insert(id, picture);
    }

    /// Built without the `preview` feature: said, never decoded.
    #[cfg(not(feature = "preview"))]
    pub fn load(&mut self, id: LocalId, _file: &Path) {
        self.by_job.insert(
            id,
            Picture::Failed("this build draws no pictures (the `preview` feature is off)".into()),
        );
    }

    /// Counts a picture in, letting the oldest go while the total is over the bound.
    #[cfg_attr(not(feature = "preview"), allow(dead_code))]
    fn keep(&mut self, id: LocalId, weight: usize) {
        if let Some(at) = self.kept.iter().position(|(kept, _)| *kept == id)
            && let Some((_, old)) = self.kept.remove(at)
        {
            self.kept_bytes -= old;
        }
        self.kept.push_back((id, weight));
        self.kept_bytes += weight;
        while self.kept_bytes > MAX_KEPT_BYTES && self.kept.len() > 1 {
            let Some((old_id, old)) = self.kept.pop_front() else {
                break;
            };
            self.kept_bytes -= old;
            // Asked again if it is shown again.
            self.by_job.remove(&old_id);
        }
    }

    /// What the kept pictures weigh together, decoded.
    pub fn kept_bytes(&self) -> usize {
        self.kept_bytes
    }
}

/// The picture at `file`, decoded with limits on its size and allocation, scaled down to at
/// most [`KEPT_SIDE`] a side.
#[cfg(feature = "preview")]
pub fn decode(file: &Path) -> Result<image::DynamicImage, String> {
    let mut reader = image::ImageReader::open(file)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_PICTURE_SIDE);
    limits.max_image_height = Some(MAX_PICTURE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| e.to_string())?;
    Ok(if image.width() > KEPT_SIDE || image.height() > KEPT_SIDE {
        image.thumbnail(KEPT_SIDE, KEPT_SIDE)
    } else {
        image
    })
}

#[cfg(all(test, feature = "preview"))]
mod tests {
    use super::*;

    fn png(dir: &Path, name: &str, w: u32, h: u32) -> std::path::PathBuf {
        let path = dir.join(name);
        image::RgbImage::from_pixel(w, h, image::Rgb([200, 90, 20]))
            .save(&path)
            .unwrap();
        path
    }

    /// A PNG chunk with its CRC.
    fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut crc = 0xffff_ffffu32;
        for byte in kind.iter().chain(body) {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out.extend_from_slice(&(!crc).to_be_bytes());
        out
    }

    #[test]
    fn a_picture_that_claims_too_many_pixels_is_refused_before_decoding() {
        let dir = tempfile::tempdir().unwrap();
        // A tiny file whose header claims 11000×11000 (363 MB decoded): refused by the limits
        // before any pixel is held.
        let mut ihdr = 11_000u32.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&11_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend(chunk(b"IHDR", &ihdr));
        bytes.extend(chunk(b"IEND", &[]));
        let path = dir.path().join("bomb.png");
        std::fs::write(&path, bytes).unwrap();
        let err = decode(&path).unwrap_err();
        assert!(err.to_lowercase().contains("limit"), "{err}");
        // A large but allowed one is kept scaled down.
        let big = png(dir.path(), "big.png", 3000, 1500);
        let image = decode(&big).unwrap();
        assert_eq!((image.width(), image.height()), (KEPT_SIDE, KEPT_SIDE / 2));
    }

    #[test]
    fn kept_pictures_stay_within_their_bound_oldest_going_first() {
        let dir = tempfile::tempdir().unwrap();
        let big = png(dir.path(), "big.png", 800, 800);
        let mut pictures = Pictures::new(PreviewMode::Halfblocks);
        for id in 0..40 {
            pictures.load(id, &big);
        }
        assert!(pictures.kept_bytes() <= MAX_KEPT_BYTES);
        assert!(pictures.by_job.len() < 40);
        assert!(pictures.by_job.contains_key(&39), "the newest is kept");
        assert!(!pictures.by_job.contains_key(&0), "the oldest went");
    }

    #[test]
    fn answers_are_read_whatever_their_order_and_company() {
        let kitty = parse_answer(b"\x1b_Gi=31;OK\x1b\\\x1b[6;20;9t\x1b[?62;22c");
        assert_eq!(
            kitty,
            Answer {
                kitty: true,
                sixel: false,
                cell: Some((9, 20)),
                complete: true
            }
        );
        let sixel = parse_answer(b"\x1b[?63;1;2;4;6;9;15;22c");
        assert!(sixel.sixel && !sixel.kitty && sixel.complete);
        let partial = parse_answer(b"\x1b_Gi=31;OK\x1b\\");
        assert!(partial.kitty && !partial.complete);
        assert!(!parse_answer(b"").complete);
        // An error from kitty's query is no support.
        assert!(!parse_answer(b"\x1b_Gi=31;ENOTSUPPORTED\x1b\\\x1b[?62c").kitty);
    }
}
