//! Selects: keep and reject marks on the job list, and what the runner answers of the takes
//! tables.

use super::{App, Effect, Popup};
use crate::engine::LocalId;
use crate::takes::{Mark, MarkEntry};
use crate::tui::popup::Reasons;
use crate::tui::takes::{TakesAnswer, TakesOp};

impl App {
    /// `K` or `X` on the selected job: the mark set, or cleared when it was that mark already.
    /// A reject asks why first.
    pub(super) fn mark_selected(&mut self, mark: Mark, effects: &mut Vec<Effect>) {
        let Some(id) = self.queue.selected_id() else {
            return;
        };
        if self.takes.mark_of(id) == Some(mark) {
            self.set_mark(id, None, None, effects);
            return;
        }
        match mark {
            Mark::Keep => self.set_mark(id, Some(Mark::Keep), None, effects),
            Mark::Reject => {
                self.popup = Some(Popup::Reasons(Reasons::new(id, &self.reject_reasons)));
            }
        }
    }

    /// Marks job `id` here at once and in the ledger, whose marks are read again after.
    pub(super) fn set_mark(
        &mut self,
        id: LocalId,
        mark: Option<Mark>,
        reason: Option<String>,
        effects: &mut Vec<Effect>,
    ) {
        match mark {
            Some(mark) => {
                self.takes.marks.insert(
                    id,
                    MarkEntry {
                        mark,
                        reason: reason.clone(),
                        marked_at: self.now.to_string(),
                    },
                );
            }
            None => {
                self.takes.marks.remove(&id);
            }
        }
        effects.push(Effect::Takes(TakesOp::Mark { id, mark, reason }));
        effects.push(Effect::Takes(TakesOp::LoadMarks));
        self.takes.stale();
    }

    /// The lineage to read now: the selected job's, once.
    pub fn takes_wanted(&mut self) -> Option<TakesOp> {
        if self.server.is_some() {
            return None;
        }
        let id = self.queue.selected_id()?;
        if self.takes.asked == Some(id) {
            return None;
        }
        self.takes.asked = Some(id);
        Some(TakesOp::LoadLineage(id))
    }

    /// What the runner did or found in the takes tables.
    pub fn on_takes(&mut self, answer: TakesAnswer) {
        self.dirty = true;
        match answer {
            TakesAnswer::Marks(marks) => self.takes.marks = marks.into_iter().collect(),
            TakesAnswer::Lineage(lineage) => self.takes.lineage = Some(lineage),
            TakesAnswer::Sequences { all, open } => self.sequences_read(all, open),
            TakesAnswer::Done(text) => {
                if !text.is_empty() {
                    self.say(text);
                }
            }
            TakesAnswer::Failed(why) => {
                self.warn(why);
                if let Some(view) = &mut self.sequences {
                    view.pending = false;
                }
                // A mark shown at once and not written is set right by the reading of the
                // marks that follows every change.
                self.takes.stale();
            }
        }
    }
}
