//! The prompt history: every prompt of the ledger (each with its latest use, newest first),
//! searched fuzzily as you type, like atuin's or fzf's search: words in any order, letters
//! left out, case ignored. The engine reads the ledger; matching is here, in the app, so each
//! key press re-ranks without a round trip.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use crate::engine::PromptEntry;

/// Prompts asked of the ledger when the search opens.
pub const PROMPTS_ASKED: usize = 100_000;

pub struct PromptSearch {
    pub query: String,
    /// Of the last request; `None` once answered.
    pub pending: Option<u64>,
    entries: Vec<PromptEntry>,
    /// Places in `entries`, best match first.
    pub matches: Vec<usize>,
    /// The highlighted place in `matches`.
    pub selected: usize,
    /// Matches the list showed at the last draw: what PgUp and PgDn move.
    pub page: usize,
    matcher: Matcher,
}

impl PromptSearch {
    pub fn new(seq: u64) -> Self {
        Self {
            query: String::new(),
            pending: Some(seq),
            entries: Vec::new(),
            matches: Vec::new(),
            selected: 0,
            page: 10,
            matcher: Matcher::new(Config::DEFAULT),
        }
    }

    /// The engine's answer: every prompt, newest first.
    pub fn fill(&mut self, entries: Vec<PromptEntry>) {
        self.pending = None;
        self.entries = entries;
        self.refilter();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entry(&self, i: usize) -> Option<&PromptEntry> {
        self.entries.get(*self.matches.get(i)?)
    }

    pub fn selected_entry(&self) -> Option<&PromptEntry> {
        self.entry(self.selected)
    }

    pub fn set_query(&mut self, query: String) {
        self.query = query;
        self.refilter();
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.matches.is_empty() {
            return;
        }
        let last = self.matches.len() as isize - 1;
        self.selected = (self.selected as isize + delta).clamp(0, last) as usize;
    }

    pub fn select_last(&mut self) {
        self.selected = self.matches.len().saturating_sub(1);
    }

    /// Char indices in `text` of the letters the query finds there, for marking them.
    pub fn positions(&mut self, text: &str) -> Vec<usize> {
        let query = self.query.trim();
        if query.is_empty() {
            return Vec::new();
        }
        let pattern = Pattern::parse(query, CaseMatching::Ignore, Normalization::Smart);
        let mut buf = Vec::new();
        let mut indices = Vec::new();
        pattern.indices(
            Utf32Str::new(text, &mut buf),
            &mut self.matcher,
            &mut indices,
        );
        indices.into_iter().map(|i| i as usize).collect()
    }

    /// Ranks every prompt against the query: best score first, newer first among equals.
    fn refilter(&mut self) {
        self.selected = 0;
        let query = self.query.trim();
        if query.is_empty() {
            self.matches = (0..self.entries.len()).collect();
            return;
        }
        // Each word is matched on its own, in any order; a word may leave letters out.
        let pattern = Pattern::parse(query, CaseMatching::Ignore, Normalization::Smart);
        let mut buf = Vec::new();
        let mut scored: Vec<(u32, usize)> = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let score = pattern.score(
                    Utf32Str::new(&e.request.prompt, &mut buf),
                    &mut self.matcher,
                )?;
                Some((score, i))
            })
            .collect();
        // Entries are newest first: a lower place is newer.
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.matches = scored.into_iter().map(|(_, i)| i).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kling::KlingRequest;

    fn entry(id: u64, prompt: &str) -> PromptEntry {
        PromptEntry {
            local_id: id,
            request: KlingRequest::new(prompt),
            created_at: "2026-11-30T10:00:00Z".into(),
            state: "success".into(),
        }
    }

    fn search(prompts: &[&str], query: &str) -> Vec<String> {
        let mut s = PromptSearch::new(1);
        s.fill(
            prompts
                .iter()
                .enumerate()
                .map(|(i, p)| entry(i as u64, p))
                .collect(),
        );
        s.set_query(query.into());
        (0..s.matches.len())
            .filter_map(|i| s.entry(i).map(|e| e.request.prompt.clone()))
            .collect()
    }

    #[test]
    fn words_match_in_any_order_with_letters_left_out() {
        let prompts = [
            "a red fox running through deep snow at dawn",
            "a lighthouse in a storm, waves crashing",
            "time-lapse of a city at night",
        ];
        assert_eq!(search(&prompts, "snow fox")[0], prompts[0]);
        assert_eq!(search(&prompts, "lghthouse strm"), [prompts[1]]);
        assert_eq!(search(&prompts, "NIGHT city"), [prompts[2]]);
        assert!(search(&prompts, "submarine").is_empty());
        // No query: everything, newest first.
        assert_eq!(search(&prompts, "  "), prompts);
    }
}
