//! Editing the request beyond the prompt: multi-shot turned on and off, and the question
//! before a request is sent again soon after the same one was.

use super::{App, Effect};
use crate::engine::LocalId;
use crate::kling::{KlingRequest, Shot};
use crate::units::count;

/// The same request again within this long asks first: a second paid job is rarely meant.
pub const REPEAT_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// What this app submitted last.
#[derive(Debug, Clone, PartialEq)]
pub struct LastSubmit {
    pub request: KlingRequest,
    pub at: jiff::Timestamp,
    /// The submission's number, which the engine's answer carries.
    pub seq: u64,
    /// The job it made, once the engine says.
    pub local_id: Option<LocalId>,
}

impl App {
    /// Multi-shot on (its shots back, or one shot of the whole duration) or off (its shots
    /// kept for this session); the prompt alone is sent while it is off.
    pub(super) fn set_multi_shot(&mut self, on: bool, effects: &mut Vec<Effect>) {
        match (on, self.request.multi_prompt.take()) {
            // No shot at all (an old draft's) is no multi-shot either.
            (true, shots) if shots.as_ref().is_none_or(Vec::is_empty) => {
                let shots = if self.shelved_shots.is_empty() {
                    vec![Shot {
                        prompt: String::new(),
                        duration: self.request.duration,
                    }]
                } else {
                    std::mem::take(&mut self.shelved_shots)
                };
                self.request.multi_prompt = Some(shots);
            }
            (false, Some(shots)) => {
                let kept = shots.len();
                if kept > 0 {
                    self.shelved_shots = shots;
                    self.say(format!(
                        "multi-shot off: the prompt alone is sent ({} kept for when it is on)",
                        count(kept, "shot")
                    ));
                } else {
                    self.say("multi-shot off: the prompt alone is sent");
                }
            }
            (_, shots) => {
                self.request.multi_prompt = shots;
                return;
            }
        }
        self.changed(effects);
    }

    /// The question to ask before sending `request`, when the same was sent under a minute
    /// ago.
    pub(super) fn repeat_question(&self, request: &KlingRequest) -> Option<String> {
        let last = self.last_submit.as_ref()?;
        let ago = self.now.duration_since(last.at);
        if last.request != *request || ago >= REPEAT_WINDOW || ago.is_negative() {
            return None;
        }
        let job = last
            .local_id
            .map(|id| format!(" (#{id})"))
            .unwrap_or_default();
        Some(format!(
            "Submit the same request again? It was sent {} s ago{job}; each is a new, paid job.",
            ago.as_secs()
        ))
    }

    /// The engine's answer to a submission: the job of the last one is named in the question.
    pub(super) fn submitted(&mut self, seq: u64, local_id: LocalId) {
        if let Some(last) = &mut self.last_submit
            && last.seq == seq
        {
            last.local_id = Some(local_id);
        }
    }
}
