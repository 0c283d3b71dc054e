//! What becomes of a take: kept or rejected, continued from its last frame, re-rendered as
//! its hero; and what the runner answers of the takes tables.

use super::{App, Effect, Focus, Popup, new_editor};
use crate::engine::{Command, LocalId};
use crate::kling::KlingRequest;
use crate::takes::{LinkKind, Mark, MarkEntry};
use crate::tui::popup::{HERO_SEQ, Hero, Reasons};
use crate::tui::takes::{Continuing, PendingChild, TakesAnswer, TakesOp, last_frame};

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

    /// `C` on a finished job: the editor takes its request with the video's last frame as
    /// the start image, no end image and no prompt, for the shot that follows; once sent, the
    /// new job is linked to it.
    pub(super) fn continue_from(&mut self, id: LocalId, effects: &mut Vec<Effect>) {
        let Some(job) = self.take_record(id) else {
            return;
        };
        if !job.succeeded() {
            let state = job.state_word();
            self.warn(format!(
                "#{id} is {state}, not a finished video: only a video that succeeded can be \
                 continued"
            ));
            return;
        }
        if !job.downloads.first().is_some_and(|d| d.is_done()) {
            self.warn(format!(
                "#{id} is not saved yet: its last frame is recorded when its video is saved \
                 (d downloads it)"
            ));
            return;
        }
        let Some(frame) = last_frame(job) else {
            self.warn(format!(
                "#{id} was saved with no last frame recorded; the command line asks the server \
                 for it: kling-tui submit --after {id} --prompt ..."
            ));
            return;
        };
        let start_image = crate::kling::AssetId::new(frame);
        self.request = KlingRequest {
            prompt: String::new(),
            start_image: Some(start_image.clone()),
            end_image: None,
            // The parent's shots describe the parent; the new prompt replaces them.
            multi_prompt: None,
            ..job.request.clone()
        };
        self.editor = new_editor("");
        self.takes.continuing = Some(Continuing {
            parent: id,
            start_image,
        });
        self.sequences = None;
        self.focus = Focus::Editor;
        self.recheck_files();
        self.say(format!(
            "continuing #{id} from its last frame: write what happens next, then submit"
        ));
        self.changed(effects);
    }

    /// A submission is sent as number `seq`: if it still starts from the last frame of the
    /// job being continued, it is that job's continuation.
    pub(super) fn sending(&mut self, seq: u64, request: &KlingRequest) {
        if let Some(continuing) = self.takes.continuing.take()
            && request.start_image.as_ref() == Some(&continuing.start_image)
        {
            self.takes.pending.push(PendingChild {
                seq,
                parent: continuing.parent,
                kind: LinkKind::Continues,
            });
        }
    }

    /// `H` on a job: a kept take's request at the next mode up, priced by a dry run before
    /// anything is sent.
    pub(super) fn hero_of(&mut self, id: LocalId, effects: &mut Vec<Effect>) {
        let Some(job) = self.take_record(id) else {
            return;
        };
        let (request, succeeded, state) = (job.request.clone(), job.succeeded(), job.state_word());
        if self.takes.mark_of(id) != Some(Mark::Keep) {
            self.warn(format!(
                "#{id} is not kept: K keeps it, then H re-renders it at a higher mode"
            ));
            return;
        }
        if !succeeded {
            self.warn(format!("#{id} has no video to re-render ({state})"));
            return;
        }
        self.takes.heroes += 1;
        let seq = HERO_SEQ + self.takes.heroes;
        match Hero::new(id, &request, seq) {
            Some(hero) => {
                effects.push(Effect::Engine(Command::Estimate {
                    seq,
                    request: hero.request.clone(),
                }));
                self.popup = Some(Popup::Hero(hero));
            }
            None => self.warn(format!(
                "#{id} was made at {} already: no mode is higher",
                request.mode
            )),
        }
    }

    /// The hero popup's mode changed: its request priced again.
    pub(super) fn requote_hero(&mut self, hero: &mut Hero, effects: &mut Vec<Effect>) {
        self.takes.heroes += 1;
        hero.seq = HERO_SEQ + self.takes.heroes;
        effects.push(Effect::Engine(Command::Estimate {
            seq: hero.seq,
            request: hero.request.clone(),
        }));
    }

    /// Sends a confirmed hero at the price shown; once the engine names its job, it is
    /// linked to its draft.
    pub(super) fn send_hero(
        &mut self,
        parent: LocalId,
        request: KlingRequest,
        quote: f64,
        effects: &mut Vec<Effect>,
    ) {
        let mode = request.mode;
        let seq = self.send_to_engine(&request, Some(quote), effects);
        self.takes.pending.push(PendingChild {
            seq,
            parent,
            kind: LinkKind::Hero,
        });
        self.say(format!(
            "the hero of #{parent} at {mode} sent to the engine"
        ));
    }

    /// The engine named the job of submission `seq`: if it came from another job, the link
    /// is recorded.
    pub(super) fn link_child(&mut self, seq: u64, child: LocalId) {
        let Some(at) = self.takes.pending.iter().position(|p| p.seq == seq) else {
            return;
        };
        let pending = self.takes.pending.remove(at);
        self.takes.outbox.push(TakesOp::Link {
            child,
            parent: pending.parent,
            kind: pending.kind,
        });
        self.takes.stale();
        if let Some(view) = &self.sequences {
            let open = view.selected_name().map(str::to_string);
            self.takes.outbox.push(TakesOp::LoadSequences { open });
        }
    }

    /// Submission `seq` made no job: nothing to link.
    pub(super) fn not_submitted(&mut self, seq: u64) {
        self.takes.pending.retain(|p| p.seq != seq);
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
