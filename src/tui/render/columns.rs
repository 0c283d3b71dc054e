//! The job lists' columns, chosen by the width there is. The state, the id and the prompt are
//! always there; the others come in order of use as the width allows, so a narrow terminal
//! loses the bar and the dates before it loses what a job is. The ledger's list and the Server
//! view share the columns, so what both show sits in the same place.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::layout::{pad, pad_left};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    State,
    Id,
    Prompt,
    Mode,
    Duration,
    Bar,
    Percent,
    /// Running: how long so far; finished: how long it took.
    Time,
    Files,
    Cost,
    Created,
    /// The Server view: the job's number in this ledger.
    Local,
}

/// The prompt keeps at least this many columns, or a third of the width when that is more.
const MIN_PROMPT: usize = 16;

impl Column {
    /// Its width in columns; the prompt's is what the others leave.
    pub(crate) fn width(self) -> usize {
        match self {
            Column::State => 14,
            Column::Id => 8,
            Column::Prompt => MIN_PROMPT,
            Column::Mode => 8,
            Column::Duration => 3,
            Column::Bar => 10,
            Column::Percent => 4,
            Column::Time => 7,
            Column::Files => 8,
            Column::Cost => 8,
            Column::Created => 11,
            Column::Local => 5,
        }
    }

    /// Numbers read best right-aligned.
    fn right_aligned(self) -> bool {
        matches!(
            self,
            Column::Percent | Column::Time | Column::Cost | Column::Local
        )
    }
}

/// The ledger's list: the columns in the order shown, and in the order they are given room.
pub(crate) const JOBS_SHOWN: &[Column] = &[
    Column::State,
    Column::Id,
    Column::Prompt,
    Column::Mode,
    Column::Duration,
    Column::Bar,
    Column::Percent,
    Column::Time,
    Column::Files,
    Column::Cost,
    Column::Created,
];
pub(crate) const JOBS_ROOM: &[Column] = &[
    Column::Percent,
    Column::Files,
    Column::Time,
    Column::Mode,
    Column::Duration,
    Column::Cost,
    Column::Created,
    Column::Bar,
];

/// The Server view's, likewise.
pub(crate) const SERVER_SHOWN: &[Column] = &[
    Column::State,
    Column::Id,
    Column::Prompt,
    Column::Mode,
    Column::Duration,
    Column::Bar,
    Column::Percent,
    Column::Cost,
    Column::Created,
    Column::Local,
];
pub(crate) const SERVER_ROOM: &[Column] = &[
    Column::Percent,
    Column::Local,
    Column::Mode,
    Column::Duration,
    Column::Cost,
    Column::Created,
    Column::Bar,
];

/// The columns a list `width` wide shows, each with its width; one space between them.
pub(crate) struct Columns {
    pub(crate) chosen: Vec<(Column, usize)>,
}

impl Columns {
    pub(crate) fn choose(width: usize, shown: &[Column], room: &[Column]) -> Self {
        let min_prompt = MIN_PROMPT.max(width / 3);
        let cost = |c: &Column| c.width() + 1;
        let mut taken: Vec<Column> = vec![Column::State, Column::Id];
        let mut used: usize =
            taken.iter().map(cost).sum::<usize>() + min_prompt.max(Column::Prompt.width());
        for column in room {
            if used + cost(column) <= width {
                used += cost(column);
                taken.push(*column);
            }
        }
        let fixed: usize = taken.iter().map(cost).sum();
        let prompt = width.saturating_sub(fixed);
        taken.push(Column::Prompt);
        let chosen = shown
            .iter()
            .filter(|c| taken.contains(c))
            .map(|c| {
                let w = if *c == Column::Prompt {
                    prompt
                } else {
                    c.width()
                };
                (*c, w)
            })
            .collect();
        Self { chosen }
    }

    /// One row: each column's cell cut (with `…`) and padded to its width. `cell` gives a
    /// column's spans; a cell of one span is cut here, one of several (a highlight) is taken
    /// as given.
    pub(crate) fn line<'a>(
        &self,
        mut cell: impl FnMut(Column, usize) -> Vec<Span<'a>>,
    ) -> Line<'a> {
        let mut spans = Vec::new();
        for (n, (column, width)) in self.chosen.iter().enumerate() {
            if n > 0 {
                spans.push(Span::raw(" "));
            }
            let parts = cell(*column, *width);
            match parts.as_slice() {
                [] => spans.push(Span::raw(pad("", *width))),
                [one] => {
                    let text = if column.right_aligned() {
                        pad_left(&one.content, *width)
                    } else {
                        pad(&one.content, *width)
                    };
                    spans.push(Span::styled(text, one.style));
                }
                _ => spans.extend(parts),
            }
        }
        Line::from(spans)
    }
}

/// A cell of one styled text.
pub(crate) fn cell<'a>(text: impl Into<String>, style: Style) -> Vec<Span<'a>> {
    vec![Span::styled(text.into(), style)]
}
