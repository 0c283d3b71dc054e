//! The spend caps as a pure rule: whether a request of a known price fits under what was
//! already committed today and in its batch. The worker gathers the figures (the quote, the
//! ledger's committed spend); the verdict, and the words that explain a hold, are decided here.

use super::job::Hold;
use crate::units::format_units;

/// Slack for sums of prices in floating point: a request that exactly fills a cap fits.
const EPSILON: f64 = 1e-9;

/// One cap and what already counts against it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tally {
    pub cap: f64,
    pub spent: f64,
}

/// Whether a request quoted `quote` may be sent: under `day` (`max_spend_per_day`, counted
/// from 00:00 UTC, which starts again at `tomorrow`) and under its batch's `--max-cost`.
/// The day's cap is weighed first, so a hold names it when both are over.
pub(crate) fn weigh(
    quote: f64,
    day: Option<Tally>,
    batch: Option<Tally>,
    tomorrow: Option<String>,
) -> Result<(), Hold> {
    if let Some(Tally { cap, spent }) = day
        && spent + quote > cap + EPSILON
    {
        return Err(Hold {
            reason: format!(
                "spend cap ({} of {} CU today, this one {})",
                format_units(spent),
                format_units(cap),
                format_units(quote)
            ),
            cap: Some(cap),
            // Tomorrow's count starts from nothing; a request dearer than the whole cap
            // waits for a person.
            until: (quote <= cap + EPSILON).then_some(tomorrow).flatten(),
        });
    }
    if let Some(Tally { cap, spent }) = batch
        && spent + quote > cap + EPSILON
    {
        return Err(Hold {
            reason: format!(
                "spend cap ({} of {} CU for the batch, this one {})",
                format_units(spent),
                format_units(cap),
                format_units(quote)
            ),
            cap: Some(cap),
            until: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOMORROW: &str = "2026-12-03T00:00:00Z";

    fn tally(cap: f64, spent: f64) -> Option<Tally> {
        Some(Tally { cap, spent })
    }

    /// (quote, day, batch, held, cap named, goes by itself tomorrow)
    type Row = (f64, Option<Tally>, Option<Tally>, bool, Option<f64>, bool);

    #[test]
    fn each_cap_holds_what_would_pass_it_and_says_which() {
        let table: &[Row] = &[
            (75.0, None, None, false, None, false),
            (25.0, tally(100.0, 75.0), None, false, None, false),
            // Exactly full fits, whatever floating point makes of the sum.
            (0.3, tally(0.6, 0.1 + 0.2), None, false, None, false),
            (75.0, tally(100.0, 75.0), None, true, Some(100.0), true),
            // Dearer than the whole day's cap: no tomorrow will let it through.
            (150.0, tally(100.0, 0.0), None, true, Some(100.0), false),
            (75.0, None, tally(500.0, 450.0), true, Some(500.0), false),
            (50.0, None, tally(500.0, 450.0), false, None, false),
            // Both over: the day's cap is named.
            (
                75.0,
                tally(100.0, 50.0),
                tally(60.0, 0.0),
                true,
                Some(100.0),
                true,
            ),
            // The day fits, the batch does not.
            (
                75.0,
                tally(1000.0, 0.0),
                tally(60.0, 0.0),
                true,
                Some(60.0),
                false,
            ),
        ];
        for (n, &(quote, day, batch, held, cap, until)) in table.iter().enumerate() {
            let verdict = weigh(quote, day, batch, Some(TOMORROW.into()));
            assert_eq!(verdict.is_err(), held, "row {n}: {verdict:?}");
            if let Err(hold) = verdict {
                assert_eq!(hold.cap, cap, "row {n}");
                assert_eq!(hold.until.as_deref() == Some(TOMORROW), until, "row {n}");
                let which = if cap == day.map(|d| d.cap) {
                    "today"
                } else {
                    "for the batch"
                };
                assert!(hold.reason.contains(which), "row {n}: {}", hold.reason);
            }
        }
    }

    #[test]
    fn a_hold_says_what_was_spent_what_the_cap_is_and_what_this_costs() {
        let hold = weigh(75.0, tally(100.0, 75.0), None, None).unwrap_err();
        assert_eq!(hold.reason, "spend cap (75 of 100 CU today, this one 75)");
        assert_eq!(hold.until, None);
    }
}
