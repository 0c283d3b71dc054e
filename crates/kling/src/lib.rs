//! The Kling V3 Omni request: its parameters with the API's defaults, the rules the API
//! enforces, and the exact JSON body it expects.

mod recorded;
mod references;
mod request;
mod rules;
mod validate;

pub use references::{PromptRef, prompt_references};
pub use request::{AspectRatio, AssetId, KlingRequest, Mode, ParseError, Shot, VideoReferenceType};
pub use rules::Rules;
pub use validate::{MAX_DURATION, MAX_PROMPT_CHARS, MIN_DURATION, Problem};

/// The model this request is for, as it appears in the generate route.
pub const MODEL_ID: &str = "model_kling-v3-omni-video";
