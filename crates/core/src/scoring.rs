//! Scoring: the table, a unit's raw values, and the one pure function that
//! turns a group's raw values into points, totals, classes and ranks, each
//! figure explained in Vietnamese. No I/O, no clock, no floating point: every
//! figure is an exact number of hundredths ([`Points`]) and every division is
//! done on integers (`i128`) and rounded once.
//!
//! # Design choices (the rules the code follows, stated once)
//!
//! **Numbers.** [`Points`] are exact hundredths, serialised as the integer
//! number of hundredths. Input is read by [`Points::parse`]: `,` is the
//! decimal separator; `.` followed by exactly three digits is a thousands
//! separator ("1.000" is one thousand); any other `.` is a decimal point
//! ("12.5"); more than two decimals is refused rather than guessed ("1,000",
//! "12,345"). Output uses [`crate::text::format_hundredths`] ("1.234,56").
//!
//! **Rounding.** [`round_hundredths`]: half away from zero, to hundredths.
//! Each figure is computed exactly and rounded once: a target criterion's
//! points, and the scaled content of a unit with criteria not applicable.
//! Everything else (levels, counts, manual points, sums, caps) is exact.
//!
//! **Maxima are exactly attainable** ([`ScoringTable::validate`]): a parent's
//! children add up to exactly its maximum, a qualitative ladder's first level
//! is worth the maximum, a count's cap equals the maximum. A parent's points
//! are still capped at its maximum, defensively.
//!
//! **Nominal maximum.** [`ScoringTable::nominal_max`] is the sum of the
//! sections (the content). With `may_exceed_nominal` the bonus comes on top
//! of it (the sample table: 950 content + up to 50 bonus = 1.000, see
//! [`ScoringTable::max_total`]); without it the total is capped at the
//! nominal maximum, so the bonus only makes up for points lost.
//!
//! **Target criteria** (A actual, T the unit's own target, M the max). Each
//! unit's exceedance is e = (A − T) / T. The *leading unit* of the criterion
//! is the unit with the highest e among the units it applies to, provided
//! e > 0 (several units share the lead when their e are exactly equal).
//! - A < T: 0,5·M·A/T;
//! - A = T: 0,5·M;
//! - A > T: 0,5·M + 0,5·M·e/e_lead, so the leader gets exactly M and nobody
//!   more. With equal targets this is DOMAIN's 0,5·M + 0,5·M·(A−T)/(A_lead−T);
//!   with targets that differ per unit, (A_lead − T) is read as the leader's
//!   exceedance relative to its own target, the only reading that stays
//!   within M and agrees with how the leader is chosen.
//!
//! A target must be > 0 and an actual ≥ 0. Raising the leader's actual
//! lowers the others' points, never its own.
//!
//! **Not applicable.** A criterion does not apply to a unit when the unit
//! says so ([`RawValue::NotApplicable`]) or, for a target criterion, when it
//! was given no target. Its maximum leaves the unit's applicable maximum.
//! With [`NotApplicableRule::Scaled`] the unit is compared on
//! content × nominal max ÷ applicable max (rounded once) + bonus − penalty,
//! and the bands' section floors measure each section against its applicable
//! part (a section where nothing applies is not checked): bonus and penalties
//! count events, not shares of a maximum, so they are not scaled. With `Unscaled` the plain total is compared against the
//! full maxima. A leaf with no value counts 0 ("chưa nhập"), and applies.
//!
//! **Totals.** content + bonus − penalty; bonus and penalty after their
//! per-line caps, then their total caps; capped at the nominal maximum unless
//! the table allows more; never below 0 (penalties take away what a unit has,
//! not more).
//!
//! **Classes.** Bands are listed best first; a unit gets the first band whose
//! minimum total its compared total reaches and whose section floor every
//! section meets. `validate` refuses a band that could never be reached
//! because an earlier band asks no more.
//!
//! **Ranks.** By compared total, then each tie-break in order. Units still
//! equal share a rank, *competition ranking* (1, 2, 2, 4): rank = 1 + the
//! number of units strictly better. There is no tie-break by name. The
//! result lists units by rank, then name in Vietnamese order, then id, and
//! does not depend on the order of the input.
//!
//! **Limits.** Table figures up to [`SCORE_LIMIT`], quantities up to
//! [`QUANTITY_LIMIT`], counts up to [`MAX_COUNT`], at most [`MAX_LINES`]
//! lines: far beyond real tables, and enough to keep every product in `i128`.

mod compute;
mod input;
mod points;
mod sample;
mod table;

pub use compute::{
    AdjustResult, ClassResult, Explain, Explanation, Figure, GroupResult, LineResult, LineStatus, SectionResult, Step,
    TargetLead, UnitResult, compute, compute_with,
};
pub use input::{MAX_COUNT, RawValue, UnitInput, check_value};
pub use points::{Points, QUANTITY_LIMIT, SCORE_LIMIT, round_hundredths};
pub use sample::sample_table;
pub use table::{
    AdjustLine, Band, FlagRules, Level, Line, MAX_ADJUST_LINES, MAX_CODE_CHARS, MAX_LINES, MAX_OUTLIER_MIN_UNITS,
    Method, NotApplicableRule, ScoringTable, TieBreak,
};
