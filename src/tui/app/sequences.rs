//! The Sequence view's keys: sequences made, shots added and moved, takes chosen. Each
//! change goes to the ledger through the runner, and the sequence is read again after it.

use super::{App, Confirmed, Effect, Popup};
use crate::engine::{JobRecord, LocalId};
use crate::takes::{Sequence, SequenceSummary};
use crate::tui::keys::Action;
use crate::tui::popup::{Confirm, CutTo, SequenceName};
use crate::tui::sequences::{SeqRow, SequenceView, Side};
use crate::tui::takes::TakesOp;

impl App {
    /// Opens the Sequence view, reading the sequences.
    pub(super) fn open_sequences(&mut self, effects: &mut Vec<Effect>) {
        self.sequences = Some(SequenceView::new());
        effects.push(Effect::Takes(TakesOp::LoadSequences { open: None }));
    }

    /// A key's action while the Sequence view is open.
    pub(super) fn sequence_act(&mut self, action: Action, effects: &mut Vec<Effect>) {
        let Some(view) = &mut self.sequences else {
            return;
        };
        match action {
            Action::Sequences | Action::SequenceBack => self.sequences = None,
            Action::Help | Action::HelpAnywhere | Action::Quit | Action::ForceQuit => {
                self.act(action, effects)
            }
            Action::Up | Action::Down => {
                view.move_by(if action == Action::Up { -1 } else { 1 });
                if let Some(name) = view.wants_reading() {
                    effects.push(Effect::Takes(TakesOp::LoadSequences { open: Some(name) }));
                }
            }
            Action::ToList => view.side = Side::List,
            Action::ToShots => view.side = Side::Shots,
            Action::Continue => {
                if let Some(id) = view.selected_take() {
                    self.continue_from(id, effects);
                }
            }
            Action::Hero => {
                if let Some(id) = view.selected_take() {
                    self.hero_of(id, effects);
                }
            }
            Action::NewSequence => {
                self.popup = Some(Popup::SequenceName(SequenceName::default()));
            }
            Action::AddShot | Action::AddTake => {
                let Some(sequence) = view.selected_name().map(str::to_string) else {
                    self.warn("no sequence yet: n makes one");
                    return;
                };
                let Some(take) = self.queue.selected_id() else {
                    self.warn("select a job in the job list first: Esc goes back to it");
                    return;
                };
                let op = match (action, view.row) {
                    (Action::AddTake, Some(row)) => TakesOp::AddTake {
                        sequence,
                        shot: row.shot(),
                        take,
                    },
                    // A take with no shot to go to makes the first.
                    (Action::AddTake, None) => TakesOp::AddTake {
                        sequence,
                        shot: view.shot_count() + 1,
                        take,
                    },
                    _ => {
                        view.row = Some(SeqRow::Shot(view.shot_count() + 1));
                        TakesOp::AddShot { sequence, take }
                    }
                };
                view.side = Side::Shots;
                effects.push(Effect::Takes(op));
                self.reload_sequence(effects);
            }
            Action::ChooseTake => match (view.side, view.row, view.selected_name()) {
                (Side::List, _, _) => view.side = Side::Shots,
                (Side::Shots, Some(SeqRow::Take { shot, take }), Some(name)) => {
                    let sequence = name.to_string();
                    view.row = Some(SeqRow::Shot(shot));
                    effects.push(Effect::Takes(TakesOp::Choose {
                        sequence,
                        shot,
                        take,
                    }));
                    self.reload_sequence(effects);
                }
                (Side::Shots, Some(SeqRow::Shot(shot)), _) => match view.shot_chosen(shot) {
                    Some(id) => self.say(format!("#{id} is shot {shot}'s chosen take already")),
                    None => self.warn(format!("shot {shot} has no take: t adds one")),
                },
                _ => {}
            },
            Action::ShotEarlier | Action::ShotLater => {
                let (Some(row), Some(name)) = (view.row, view.selected_name()) else {
                    return;
                };
                let shot = row.shot();
                let to = if action == Action::ShotEarlier {
                    shot.saturating_sub(1)
                } else {
                    shot + 1
                };
                if to == 0 || to > view.shot_count() {
                    return;
                }
                let sequence = name.to_string();
                view.row = Some(SeqRow::Shot(to));
                effects.push(Effect::Takes(TakesOp::MoveShot { sequence, shot, to }));
                self.reload_sequence(effects);
            }
            Action::RemoveShot => {
                let (Some(row), Some(name)) = (view.row, view.selected_name()) else {
                    return;
                };
                let shot = row.shot();
                let question = format!(
                    "Remove shot {shot} of {}? Its takes leave the sequence; the jobs and \
                     their files stay.",
                    crate::sanitize::sanitize(name)
                );
                self.popup = Some(Popup::Confirm(Confirm::new(
                    question,
                    Confirmed::RemoveShot {
                        sequence: name.to_string(),
                        shot,
                    },
                )));
            }
            Action::CutFilm => {
                let Some(open) = view.open.as_ref() else {
                    self.warn("no sequence yet: n makes one");
                    return;
                };
                if open.shots.is_empty() {
                    self.warn("no shot to cut yet: a adds the selected job as one");
                    return;
                }
                if let Some(shot) = open.shots.iter().find(|s| s.chosen.is_none()) {
                    let n = shot.position;
                    self.warn(format!(
                        "shot {n} has no chosen take: Enter on a take chooses it"
                    ));
                    return;
                }
                let name = open.name.clone();
                // The name as a file name: letters, digits, - and _ kept, the rest a -.
                let stem: String = name
                    .chars()
                    .map(|c| match c.is_alphanumeric() || c == '-' || c == '_' {
                        true => c,
                        false => '-',
                    })
                    .collect();
                let file = format!("{stem}.mp4");
                let folder = self
                    .download_dir
                    .clone()
                    .or_else(|| self.cwd.clone())
                    .unwrap_or_default();
                let suggested = folder.join(file).display().to_string();
                self.popup = Some(Popup::CutTo(CutTo::new(&name, &suggested)));
            }
            _ => self.warn("not in the Sequence view: Esc goes back to the panes"),
        }
    }

    /// Reads the sequences again, and the selected one.
    pub(super) fn reload_sequence(&mut self, effects: &mut Vec<Effect>) {
        let open = self
            .sequences
            .as_ref()
            .and_then(|v| v.selected_name().map(str::to_string));
        effects.push(Effect::Takes(TakesOp::LoadSequences { open }));
        // Placements change with the sequences.
        self.takes.stale();
    }

    /// The name typed for a new sequence.
    pub(super) fn new_sequence(&mut self, name: String, effects: &mut Vec<Effect>) {
        if let Some(view) = &mut self.sequences {
            view.wanted = Some(name.clone());
            view.side = Side::List;
        }
        effects.push(Effect::Takes(TakesOp::NewSequence(name.clone())));
        effects.push(Effect::Takes(TakesOp::LoadSequences { open: Some(name) }));
    }

    /// What the runner read of the sequences; the selected one is read next if it was not.
    pub(super) fn sequences_read(
        &mut self,
        all: Vec<SequenceSummary>,
        open: Option<(Sequence, Vec<JobRecord>)>,
    ) {
        let Some(view) = &mut self.sequences else {
            return;
        };
        view.read(all, open);
        if let Some(name) = view.wants_reading() {
            self.takes
                .outbox
                .push(TakesOp::LoadSequences { open: Some(name) });
        }
    }

    /// A take's record: the live one if the job list holds it, else the ledger's.
    pub fn take_record(&self, id: LocalId) -> Option<&JobRecord> {
        self.queue
            .jobs
            .get(&id)
            .or_else(|| self.sequences.as_ref().and_then(|view| view.jobs.get(&id)))
    }
}

/// What the runner says of a cut it is making.
#[derive(Debug, Clone, PartialEq)]
pub enum CutNews {
    /// How far it is, from 0 to 1.
    Progress {
        sequence: String,
        fraction: f64,
    },
    /// Written: what to tell.
    Done {
        sequence: String,
        said: String,
    },
    Failed {
        sequence: String,
        why: String,
    },
}

impl App {
    /// The film of `sequence` is to be written to `out`.
    pub(super) fn cut_film(
        &mut self,
        sequence: String,
        out: std::path::PathBuf,
        effects: &mut Vec<Effect>,
    ) {
        let out = self.absolute(&out);
        self.say(format!(
            "cutting {} into {}",
            crate::sanitize::sanitize(&sequence),
            crate::sanitize::sanitize(&out.display().to_string())
        ));
        effects.push(Effect::Cut { sequence, out });
    }

    /// News of a cut running in the background.
    pub fn on_cut(&mut self, news: CutNews) {
        match news {
            CutNews::Progress { sequence, fraction } => {
                let percent = (fraction.clamp(0.0, 1.0) * 100.0).floor();
                self.say(format!(
                    "cutting {} {percent:.0}%",
                    crate::sanitize::sanitize(&sequence)
                ));
            }
            CutNews::Done { sequence, said } => self.say(format!(
                "cut of {}: {}",
                crate::sanitize::sanitize(&sequence),
                crate::sanitize::sanitize(&said)
            )),
            CutNews::Failed { sequence, why } => self.warn(format!(
                "the cut of {} failed: {}",
                crate::sanitize::sanitize(&sequence),
                crate::sanitize::sanitize(&why)
            )),
        }
        self.dirty = true;
    }
}
