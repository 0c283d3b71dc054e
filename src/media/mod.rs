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
