//! Local media files used as references: what they are (by content, never by name), their size
//! and dimensions read from their headers, and the rules Kling sets for them, all checked before
//! anything is uploaded or charged.

mod check;
mod image;
mod kind;
mod video;

pub use check::{MediaInfo, Role, check_file};
pub use image::image_dimensions;
pub use kind::MediaKind;
pub use video::{VideoFacts, video_facts};

/// Opens `path` for reading only if it is a regular file, without ever blocking: a FIFO (or a
/// device) put where a reference file was would hang an `open` for ever.
pub fn open_regular(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}
