//! The score chain of a group-year: every value at every stage, appended,
//! never overwritten; who may write which stage at which date; the flags of
//! the head review; the conflict check of concurrent saves. Pure: no I/O, no
//! clock (the current time is an argument, a UTC stamp).
//!
//! # The chain
//!
//! [`Stage`]s in order: self-assessment (tự chấm) → cross-inspection proposal
//! → head review (the head unit proposes adjustments) → explanation (giải
//! trình) → appraisal (thẩm định) → final. Each write is a [`ScoreEntry`]
//! with its author, time, reason, evidence and a sequence number `seq` given
//! by the store (strictly increasing in the order of commits). Nothing is
//! overwritten: a correction is a new entry.
//!
//! # Which value is in force ([`current`])
//!
//! The stages that *set* the value used for scoring are self-assessment,
//! explanation, appraisal and final ([`Stage::sets_value`]). The value in
//! force on a line is the latest entry (highest `seq`) of the latest such
//! stage (chain order) that has one. So:
//! - an inspection proposal and a head-review proposal are **proposals**: they
//!   are shown beside the unit's value and feed the flags, but never replace
//!   it by themselves;
//! - in the explanation stage the unit answers a proposal with an entry: the
//!   proposed value (it accepts) or its own value (it keeps it, saying why);
//!   either way the explanation entry is then in force;
//! - the secretariat's appraisal outranks the unit's values, and the final
//!   value outranks everything. A proposal nobody answered is decided by the
//!   appraisal: if the secretariat writes nothing for the line, the unit's own
//!   value stays in force.
//!
//! Ordering by stage first means a late self-assessment entry (a sheet
//! reopened during the head review) never outranks an explanation or an
//! appraisal already recorded.
//!
//! # Who may write ([`may_write`])
//!
//! | stage | writer | phase of the group-year | dates |
//! |---|---|---|---|
//! | self-assessment | the unit's officer or leader | self-assessment, sheet not submitted | until the self-assessment deadline, unless the secretariat reopened the sheet (then in any phase before final) |
//! | inspection proposal | the unit assigned to inspect it | self-assessment or inspection | — |
//! | head review | the head unit (the deputy for the head's own sheet) | head review | — |
//! | explanation | the unit's officer or leader | explanation | until the explanation date |
//! | appraisal, final | the secretariat | appraisal, or final reopened by a recorded decision | — |
//!
//! A unit never writes a proposal, a head review or an appraisal for itself:
//! [`Writer::resolve`] gives an actor of the unit itself the unit's own role
//! before any other, so those writes are refused. The dates of the head
//! review and the appraisal are guidance for the head unit and the
//! secretariat, who open and close those phases themselves; only the unit's
//! own stages are bound to a date.
//!
//! A deadline is a day ([`crate::calendar`]): it ends at midnight, Vietnam
//! time (UTC+7), i.e. at 17:00 UTC that day.
//!
//! # The sheet ([`SheetState`])
//!
//! The unit officer saves drafts; the unit leader signs and submits
//! ([`submit`]) before the deadline. After submission, or after the deadline,
//! the sheet is locked unless the secretariat reopened it for that unit with a
//! reason ([`reopen_sheet`]); a reopened sheet is submitted again by the
//! leader. The final results of the group are locked ([`Phase::Final`]) and
//! reopened only by a recorded decision of the secretariat ([`reopen_final`]).
//!
//! # Flags of the head review ([`review_flags`])
//!
//! Computed on the self-assessment sheets (each unit's latest self entry per
//! line), with [`crate::scoring::compute`] so that points are the table's own:
//! - full marks without evidence on a line that requires evidence;
//! - self points above the inspection proposal's points (the self sheet with
//!   the proposals put in its place, computed the same way) by more than
//!   [`FlagRules::far_above_percent`] of the line's maximum;
//! - self points above the group's median on the line by more than
//!   [`FlagRules::outlier_percent`] of the line's maximum (only units that
//!   entered a value the line applies to count; with an even number of units the median
//!   is the mean of the two middle values, rounded down to a hundredth; at
//!   least [`FlagRules::outlier_min_units`] units);
//! - a sheet submitted after the deadline, or not submitted once it passed.
//!
//! Flags are on criteria (leaves), not on bonus or penalty lines.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::calendar::Event;
use crate::error::Invalid;
use crate::scoring::{
    GroupResult, LineStatus, MAX_COUNT, Points, RawValue, ScoringTable, UnitInput, compute, round_hundredths,
};
use crate::text::format_date;

/// A stage of the score chain, in chain order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    SelfAssessment,
    InspectionProposal,
    HeadReview,
    Explanation,
    Appraisal,
    Final,
}

impl Stage {
    pub const ALL: &'static [Stage] = &[
        Stage::SelfAssessment,
        Stage::InspectionProposal,
        Stage::HeadReview,
        Stage::Explanation,
        Stage::Appraisal,
        Stage::Final,
    ];

    /// The code stored in the database and used by the API.
    pub fn code(self) -> &'static str {
        match self {
            Stage::SelfAssessment => "self_assessment",
            Stage::InspectionProposal => "inspection_proposal",
            Stage::HeadReview => "head_review",
            Stage::Explanation => "explanation",
            Stage::Appraisal => "appraisal",
            Stage::Final => "final",
        }
    }

    /// The Vietnamese label shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Stage::SelfAssessment => "Tự chấm",
            Stage::InspectionProposal => "Đề xuất của đoàn kiểm tra chéo",
            Stage::HeadReview => "Đơn vị trưởng đề xuất điều chỉnh",
            Stage::Explanation => "Giải trình",
            Stage::Appraisal => "Thẩm định",
            Stage::Final => "Kết quả cuối cùng",
        }
    }

    /// Parses a code, or a Vietnamese label (with or without diacritics).
    pub fn parse(s: &str) -> Option<Stage> {
        // a stored entry has the code: no folding needed
        if let Some(st) = Stage::ALL.iter().copied().find(|st| st.code() == s) {
            return Some(st);
        }
        let f = crate::text::fold(s);
        Stage::ALL.iter().copied().find(|st| st.code() == s.trim() || crate::text::fold(st.label()) == f)
    }

    /// Whether an entry of this stage is the value used for scoring (see the
    /// module documentation); the others are proposals.
    pub fn sets_value(self) -> bool {
        !self.is_proposal()
    }

    /// An inspection proposal or a head-review proposal.
    pub fn is_proposal(self) -> bool {
        matches!(self, Stage::InspectionProposal | Stage::HeadReview)
    }

    /// The calendar event whose date closes this stage for the unit, if any.
    fn deadline_event(self) -> Option<Event> {
        match self {
            Stage::SelfAssessment => Some(Event::SelfAssessmentDeadline),
            Stage::Explanation => Some(Event::Explanation),
            _ => None,
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One value written for one line of one unit at one stage. Appended, never
/// overwritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreEntry {
    pub unit_id: i64,
    /// A leaf criterion, a bonus line or a penalty line of the table.
    pub line_code: String,
    pub stage: Stage,
    /// For a bonus or penalty line, [`RawValue::Count`].
    pub value: RawValue,
    /// Required after the self-assessment stage ([`check_entry`]).
    pub reason: String,
    /// Keys of the evidence files.
    #[serde(default)]
    pub evidence: Vec<String>,
    pub by_user: i64,
    /// The writer's unit (none for the secretariat).
    pub by_unit: Option<i64>,
    /// UTC stamp, RFC 3339 or "YYYY-MM-DD HH:MM:SS".
    pub at: String,
    /// Given by the store, strictly increasing in the order of commits.
    pub seq: u64,
}

/// The entries of a group-year, kept in the order (unit, line, `seq`), so that
/// the entries of one line of one unit are found by a binary search instead
/// of a scan of the whole year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries(Vec<ScoreEntry>);

fn entry_key(e: &ScoreEntry) -> (i64, &str, u64) {
    (e.unit_id, e.line_code.as_str(), e.seq)
}

impl Entries {
    pub fn new(mut entries: Vec<ScoreEntry>) -> Entries {
        entries.sort_by(|a, b| entry_key(a).cmp(&entry_key(b)));
        Entries(entries)
    }

    /// Adds an entry in its place.
    pub fn push(&mut self, e: ScoreEntry) {
        let at = self.0.partition_point(|x| entry_key(x) <= entry_key(&e));
        self.0.insert(at, e);
    }

    /// Every entry, by unit, line and `seq`.
    pub fn iter(&self) -> std::slice::Iter<'_, ScoreEntry> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every entry of one unit, by line and `seq`.
    pub fn of_unit(&self, unit: i64) -> &[ScoreEntry] {
        let lo = self.0.partition_point(|e| e.unit_id < unit);
        let hi = lo + self.0[lo..].partition_point(|e| e.unit_id == unit);
        &self.0[lo..hi]
    }

    /// Every entry of one line of one unit, oldest first.
    pub fn on(&self, unit: i64, line: &str) -> &[ScoreEntry] {
        let es = self.of_unit(unit);
        let lo = es.partition_point(|e| e.line_code.as_str() < line);
        let hi = lo + es[lo..].partition_point(|e| e.line_code == line);
        &es[lo..hi]
    }

    /// The lines of one unit that have entries, each with its entries
    /// (oldest first), in code order.
    pub fn lines_of(&self, unit: i64) -> impl Iterator<Item = (&str, &[ScoreEntry])> {
        self.of_unit(unit).chunk_by(|a, b| a.line_code == b.line_code).map(|c| (c[0].line_code.as_str(), c))
    }

    /// The largest `seq` of all (0 when there is none).
    pub fn last_seq(&self) -> u64 {
        self.0.iter().map(|e| e.seq).max().unwrap_or(0)
    }
}

impl From<Vec<ScoreEntry>> for Entries {
    fn from(v: Vec<ScoreEntry>) -> Entries {
        Entries::new(v)
    }
}

impl FromIterator<ScoreEntry> for Entries {
    fn from_iter<I: IntoIterator<Item = ScoreEntry>>(it: I) -> Entries {
        Entries::new(it.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Entries {
    type Item = &'a ScoreEntry;
    type IntoIter = std::slice::Iter<'a, ScoreEntry>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The entry in force among the entries of one line (oldest first): the
/// latest entry of the latest stage that sets the value.
pub fn current_of(line: &[ScoreEntry]) -> Option<&ScoreEntry> {
    line.iter().filter(|e| e.stage.sets_value()).max_by_key(|e| (e.stage, e.seq))
}

/// The latest entry of one stage among the entries of one line (oldest first).
pub fn latest_of(line: &[ScoreEntry], stage: Stage) -> Option<&ScoreEntry> {
    line.iter().rev().find(|e| e.stage == stage)
}

/// The entry in force on a line: the latest entry of the latest stage that
/// sets the value ([`Stage::sets_value`]). `None` when the line has no value
/// yet (a proposal alone is not a value).
pub fn current<'a>(entries: &'a Entries, unit: i64, line: &str) -> Option<&'a ScoreEntry> {
    current_of(entries.on(unit, line))
}

/// Every entry of a line, oldest first (by `seq`).
pub fn history<'a>(entries: &'a Entries, unit: i64, line: &str) -> Vec<&'a ScoreEntry> {
    entries.on(unit, line).iter().collect()
}

/// The latest entry of one stage on a line.
pub fn latest<'a>(entries: &'a Entries, unit: i64, line: &str, stage: Stage) -> Option<&'a ScoreEntry> {
    latest_of(entries.on(unit, line), stage)
}

/// The latest entry of a line at any stage: the base of the next save ([`check_base`]).
pub fn latest_any<'a>(entries: &'a Entries, unit: i64, line: &str) -> Option<&'a ScoreEntry> {
    entries.on(unit, line).last()
}

/// The latest entry of the unit's own stages (self-assessment or
/// explanation) on a line: the one whose evidence files are the line's.
pub fn own_latest<'a>(entries: &'a Entries, unit: i64, line: &str) -> Option<&'a ScoreEntry> {
    own_latest_of(entries.on(unit, line))
}

/// [`own_latest`] among one line's entries ([`Entries::on`]).
pub fn own_latest_of(line: &[ScoreEntry]) -> Option<&ScoreEntry> {
    line.iter().rev().find(|e| matches!(e.stage, Stage::SelfAssessment | Stage::Explanation))
}

/// The head unit's proposal on a line that still waits for the unit's
/// answer: the latest head-review entry, unless an explanation, appraisal or
/// final entry came after it.
pub fn open_proposal<'a>(entries: &'a Entries, unit: i64, line: &str) -> Option<&'a ScoreEntry> {
    let on = entries.on(unit, line);
    let p = latest_of(on, Stage::HeadReview)?;
    let answered = on.iter().any(|e| e.stage > Stage::HeadReview && e.seq > p.seq);
    (!answered).then_some(p)
}

/// What a code is in a table, for [`unit_inputs`].
#[derive(Clone, Copy)]
enum CodeKind {
    Leaf,
    Bonus,
    Penalty,
}

fn code_kinds(table: &ScoringTable) -> HashMap<&str, CodeKind> {
    let mut m = HashMap::new();
    for a in &table.penalties {
        m.insert(a.code.as_str(), CodeKind::Penalty);
    }
    for a in &table.bonus {
        m.insert(a.code.as_str(), CodeKind::Bonus);
    }
    for l in table.walk() {
        if l.is_leaf() {
            m.insert(l.code.as_str(), CodeKind::Leaf);
        }
    }
    m
}

/// Builds each unit's input from the entries: `bases` give the name and the
/// targets (from the covenant); their values, bonus and penalties are
/// replaced by the value `pick` chooses among the entries of each line (a
/// leaf, a bonus or a penalty line of the table; other codes are left out).
/// With [`current_of`], this is the input of the ranking.
pub fn unit_inputs<'a>(
    table: &ScoringTable,
    bases: &[UnitInput],
    entries: &'a Entries,
    pick: impl Fn(&'a [ScoreEntry]) -> Option<&'a ScoreEntry>,
) -> Vec<UnitInput> {
    let kinds = code_kinds(table);
    bases
        .iter()
        .map(|b| {
            let mut u = UnitInput {
                unit_id: b.unit_id,
                name: b.name.clone(),
                targets: b.targets.clone(),
                ..Default::default()
            };
            for (code, line) in entries.lines_of(b.unit_id) {
                let Some(kind) = kinds.get(code) else { continue };
                let Some(e) = pick(line) else { continue };
                match (kind, &e.value) {
                    (CodeKind::Leaf, v) => {
                        u.values.insert(code.to_string(), v.clone());
                    }
                    (CodeKind::Bonus, RawValue::Count(n)) => {
                        u.bonus.insert(code.to_string(), *n);
                    }
                    (CodeKind::Penalty, RawValue::Count(n)) => {
                        u.penalties.insert(code.to_string(), *n);
                    }
                    _ => {}
                }
            }
            u
        })
        .collect()
}

/// The inputs in force (for the ranking).
pub fn inputs_in_force(table: &ScoringTable, bases: &[UnitInput], entries: &Entries) -> Vec<UnitInput> {
    unit_inputs(table, bases, entries, current_of)
}

/// The state of a unit's self-assessment sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SheetState {
    /// The unit's officer saves drafts.
    Draft,
    /// Signed and submitted by the unit's leader: locked.
    Submitted { by: i64, at: String },
    /// Reopened for this unit by the secretariat, with a reason: writable
    /// again, whatever the date, until the leader submits it again.
    Reopened { by: i64, reason: String },
}

/// The phase of a group-year: which stage is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Units score themselves; inspectors may already propose.
    SelfAssessment,
    /// Sheets are in; inspectors finish their proposals.
    Inspection,
    HeadReview,
    Explanation,
    /// The secretariat appraises and finalises.
    Appraisal,
    /// Locked.
    Final,
    /// Final results reopened by a recorded decision of the secretariat.
    FinalReopened {
        decision: String,
    },
}

impl Phase {
    /// The stages that may be written in this phase (a reopened sheet's
    /// self-assessment aside).
    pub fn open_stages(&self) -> &'static [Stage] {
        match self {
            Phase::SelfAssessment => &[Stage::SelfAssessment, Stage::InspectionProposal],
            Phase::Inspection => &[Stage::InspectionProposal],
            Phase::HeadReview => &[Stage::HeadReview],
            Phase::Explanation => &[Stage::Explanation],
            Phase::Appraisal => &[Stage::Appraisal],
            Phase::FinalReopened { .. } => &[Stage::Final],
            Phase::Final => &[],
        }
    }

    pub fn opens(&self, stage: Stage) -> bool {
        self.open_stages().contains(&stage)
    }

    /// The code stored in the database and used by the API.
    pub fn code(&self) -> &'static str {
        match self {
            Phase::SelfAssessment => "self_assessment",
            Phase::Inspection => "inspection",
            Phase::HeadReview => "head_review",
            Phase::Explanation => "explanation",
            Phase::Appraisal => "appraisal",
            Phase::Final => "final",
            Phase::FinalReopened { .. } => "final_reopened",
        }
    }

    /// The phase stored as `code`, with the decision that reopened final
    /// results. `None` for an unknown code.
    pub fn from_code(code: &str, decision: Option<&str>) -> Option<Phase> {
        Some(match code {
            "self_assessment" => Phase::SelfAssessment,
            "inspection" => Phase::Inspection,
            "head_review" => Phase::HeadReview,
            "explanation" => Phase::Explanation,
            "appraisal" => Phase::Appraisal,
            "final" => Phase::Final,
            "final_reopened" => Phase::FinalReopened { decision: decision.unwrap_or_default().to_string() },
            _ => return None,
        })
    }

    /// The phase that follows this one by [`advance`] (final results come by
    /// [`finalise`], not by `advance`).
    pub fn next(&self) -> Option<Phase> {
        match self {
            Phase::SelfAssessment => Some(Phase::Inspection),
            Phase::Inspection => Some(Phase::HeadReview),
            Phase::HeadReview => Some(Phase::Explanation),
            Phase::Explanation => Some(Phase::Appraisal),
            _ => None,
        }
    }

    /// Whether results are final (locked, or reopened by a decision and not yet final again).
    pub fn is_final(&self) -> bool {
        matches!(self, Phase::Final)
    }

    pub fn label(&self) -> String {
        match self {
            Phase::SelfAssessment => "tự chấm".into(),
            Phase::Inspection => "kiểm tra chéo".into(),
            Phase::HeadReview => "đơn vị trưởng tổng hợp, đề xuất điều chỉnh".into(),
            Phase::Explanation => "giải trình".into(),
            Phase::Appraisal => "thẩm định".into(),
            Phase::Final => "đã chốt kết quả cuối cùng".into(),
            Phase::FinalReopened { decision } => format!("mở lại kết quả theo quyết định {decision}"),
        }
    }
}

/// The dates that close the unit's own stages (the effective dates of the
/// group's calendar). A missing date sets no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Deadlines {
    pub self_assessment: Option<NaiveDate>,
    pub explanation: Option<NaiveDate>,
}

impl Deadlines {
    /// From the effective dates of the calendar ([`crate::calendar::effective`]).
    pub fn from_calendar(dates: &[(Event, NaiveDate)]) -> Self {
        let get = |ev: Event| dates.iter().find(|(e, _)| *e == ev).map(|(_, d)| *d);
        Deadlines { self_assessment: get(Event::SelfAssessmentDeadline), explanation: get(Event::Explanation) }
    }

    fn of(&self, stage: Stage) -> Option<NaiveDate> {
        match stage.deadline_event()? {
            Event::SelfAssessmentDeadline => self.self_assessment,
            Event::Explanation => self.explanation,
            _ => None,
        }
    }
}

/// Parses a UTC stamp: RFC 3339 (any offset, converted to UTC), or
/// "YYYY-MM-DD HH:MM:SS" / "YYYY-MM-DDTHH:MM:SS" (fractions allowed) read as UTC.
pub fn parse_stamp(field: &str, s: &str) -> Result<NaiveDateTime, Invalid> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.naive_utc());
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(d);
        }
    }
    Err(Invalid::new(field, format!("{field} \"{t}\" không phải là thời điểm hợp lệ (dạng 2026-12-05T09:30:00Z).")))
}

/// A stamp as a Vietnamese reader sees it: Vietnam time, "05/12/2026 16:30".
/// An unreadable stamp is shown as it is.
pub fn format_stamp(s: &str) -> String {
    match parse_stamp("", s) {
        Ok(d) => (d + Duration::hours(7)).format("%d/%m/%Y %H:%M").to_string(),
        Err(_) => s.to_string(),
    }
}

/// The day in Vietnam (UTC+7) at `t` (UTC): the day deadlines count.
pub fn local_date(t: NaiveDateTime) -> NaiveDate {
    (t + Duration::hours(7)).date()
}

/// Whether the day `d` is over at `now` (UTC): a day ends at midnight, Vietnam time.
pub fn is_past(now: NaiveDateTime, d: NaiveDate) -> bool {
    local_date(now) > d
}

/// The role an actor has towards the sheet being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Writer {
    /// The unit's officer for emulation work (cán bộ thi đua).
    OwnUnitOfficer,
    /// The unit's leader, who signs the sheet.
    OwnUnitLeader,
    /// The unit assigned to inspect this unit.
    Inspector,
    /// The head unit of the group (the deputy for the head unit's own sheet).
    HeadUnit,
    /// The authority's secretariat (Cơ quan thường trực / Ban TĐKT).
    Secretariat,
    Other,
}

/// What the store knows about an actor and a sheet, to resolve the [`Writer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteCtx {
    /// The actor's unit, if they hold a unit role.
    pub actor_unit: Option<i64>,
    /// Whether the actor is a leader of their unit.
    pub actor_is_leader: bool,
    /// Whether the actor holds the secretariat role over the group's authority.
    pub actor_is_secretariat: bool,
    /// The unit whose sheet is written.
    pub sheet_unit: i64,
    /// The unit assigned to inspect the sheet's unit this year.
    pub inspector_unit: Option<i64>,
    pub head_unit: Option<i64>,
    pub deputy_unit: Option<i64>,
}

impl Writer {
    /// The role of the actor for writing `stage` on the sheet. The unit
    /// itself comes first: an actor of the sheet's own unit is always
    /// `OwnUnit*`, so a unit never inspects, reviews or appraises itself. The
    /// deputy unit acts as head for the head unit's own sheet.
    pub fn resolve(ctx: &WriteCtx, stage: Stage) -> Writer {
        let mine = |u: Option<i64>| u.is_some() && u == ctx.actor_unit;
        if ctx.actor_unit == Some(ctx.sheet_unit) {
            return if ctx.actor_is_leader { Writer::OwnUnitLeader } else { Writer::OwnUnitOfficer };
        }
        let head = if ctx.head_unit == Some(ctx.sheet_unit) { ctx.deputy_unit } else { ctx.head_unit };
        let mut roles = Vec::new();
        if ctx.actor_is_secretariat {
            roles.push(Writer::Secretariat);
        }
        if mine(ctx.inspector_unit) {
            roles.push(Writer::Inspector);
        }
        if mine(head) {
            roles.push(Writer::HeadUnit);
        }
        let wanted = match stage {
            Stage::InspectionProposal => Writer::Inspector,
            Stage::HeadReview => Writer::HeadUnit,
            Stage::Appraisal | Stage::Final => Writer::Secretariat,
            Stage::SelfAssessment | Stage::Explanation => Writer::Other,
        };
        if roles.contains(&wanted) { wanted } else { roles.first().copied().unwrap_or(Writer::Other) }
    }

    fn is_own(self) -> bool {
        matches!(self, Writer::OwnUnitOfficer | Writer::OwnUnitLeader)
    }
}

fn refuse(msg: impl Into<String>) -> Result<(), Invalid> {
    Err(Invalid::new("Quyền ghi", msg))
}

const FINAL_LOCKED: &str = "Kết quả cuối cùng của cụm, khối đã chốt và bị khóa. Chỉ mở lại được bằng một quyết định của cơ quan thường trực (ghi số, ngày của quyết định).";

fn check_role(who: Writer, stage: Stage) -> Result<(), Invalid> {
    let ok = match stage {
        Stage::SelfAssessment | Stage::Explanation => who.is_own(),
        Stage::InspectionProposal => who == Writer::Inspector,
        Stage::HeadReview => who == Writer::HeadUnit,
        Stage::Appraisal | Stage::Final => who == Writer::Secretariat,
    };
    if ok {
        return Ok(());
    }
    if who == Writer::Other {
        return refuse(format!(
            "Bạn không thuộc đơn vị này, cũng không phải đơn vị kiểm tra chéo, đơn vị trưởng hay cơ quan thường trực: không được ghi \"{}\" cho đơn vị này.",
            stage.label()
        ));
    }
    match stage {
        Stage::SelfAssessment | Stage::Explanation => refuse(format!(
            "\"{}\" do chính đơn vị ghi. Nếu cần điều chỉnh điểm của đơn vị, hãy ghi ở bước của bạn.",
            stage.label()
        )),
        Stage::InspectionProposal if who.is_own() => refuse(
            "Đơn vị không tự ghi đề xuất kiểm tra chéo cho chính mình: việc này do đơn vị được phân công kiểm tra đơn vị ghi.",
        ),
        Stage::InspectionProposal => {
            refuse("Chỉ đơn vị được phân công kiểm tra chéo đơn vị này mới ghi đề xuất của đoàn kiểm tra.")
        }
        Stage::HeadReview if who.is_own() => refuse(
            "Đơn vị không tự đề xuất điều chỉnh điểm của chính mình. Với phiếu của đơn vị trưởng, đơn vị phó đề xuất.",
        ),
        Stage::HeadReview => {
            refuse("Chỉ đơn vị trưởng của cụm, khối (đơn vị phó với phiếu của đơn vị trưởng) mới đề xuất điều chỉnh.")
        }
        Stage::Appraisal | Stage::Final if who.is_own() => {
            refuse("Đơn vị không tự thẩm định hay chốt điểm của chính mình: việc này do cơ quan thường trực thực hiện.")
        }
        Stage::Appraisal | Stage::Final => refuse("Chỉ cơ quan thường trực mới thẩm định và chốt kết quả cuối cùng."),
    }
}

fn wrong_phase(stage: Stage, phase: &Phase) -> Result<(), Invalid> {
    refuse(format!(
        "Cụm, khối đang ở bước {}, không nhận \"{}\". Hãy ghi khi bước này mở, hoặc liên hệ đơn vị trưởng, cơ quan thường trực.",
        phase.label(),
        stage.label()
    ))
}

fn check_date(stage: Stage, now: NaiveDateTime, deadlines: &Deadlines) -> Result<(), Invalid> {
    match deadlines.of(stage) {
        Some(d) if is_past(now, d) && stage == Stage::SelfAssessment => refuse(format!(
            "Đã quá hạn tự chấm ({}). Hãy đề nghị cơ quan thường trực mở lại phiếu của đơn vị.",
            format_date(d)
        )),
        Some(d) if is_past(now, d) => refuse(format!(
            "Đã quá hạn giải trình ({}). Hãy liên hệ cơ quan thường trực để được xem xét ở bước thẩm định.",
            format_date(d)
        )),
        _ => Ok(()),
    }
}

/// May `who` write an entry of `stage` on the sheet now? Every refusal says
/// why and what to do, in Vietnamese. See the table in the module
/// documentation.
pub fn may_write(
    who: &Writer,
    stage: Stage,
    sheet: &SheetState,
    group_phase: Phase,
    now: &str,
    deadlines: &Deadlines,
) -> Result<(), Invalid> {
    let now = parse_stamp("Thời điểm", now)?;
    check_role(*who, stage)?;
    if group_phase == Phase::Final {
        return refuse(FINAL_LOCKED);
    }
    if stage == Stage::SelfAssessment {
        return match sheet {
            SheetState::Reopened { .. } => Ok(()),
            SheetState::Submitted { at, .. } => refuse(format!(
                "Phiếu tự chấm đã được lãnh đạo đơn vị ký gửi lúc {} và đã khóa. Nếu cần sửa, hãy đề nghị cơ quan thường trực mở lại phiếu của đơn vị.",
                format_stamp(at)
            )),
            SheetState::Draft => {
                check_date(stage, now, deadlines)?;
                if group_phase.opens(stage) { Ok(()) } else { wrong_phase(stage, &group_phase) }
            }
        };
    }
    if !group_phase.opens(stage) {
        return wrong_phase(stage, &group_phase);
    }
    check_date(stage, now, deadlines)
}

/// May `who` sign and submit the sheet now? Only the unit's leader, before
/// the deadline, or at any time on a sheet the secretariat reopened.
pub fn may_submit(
    who: &Writer,
    sheet: &SheetState,
    group_phase: &Phase,
    now: &str,
    deadlines: &Deadlines,
) -> Result<(), Invalid> {
    let now = parse_stamp("Thời điểm", now)?;
    match who {
        Writer::OwnUnitLeader => {}
        Writer::OwnUnitOfficer => {
            return refuse(
                "Chỉ lãnh đạo đơn vị ký và gửi phiếu tự chấm. Bản nháp của bạn đã được lưu; hãy báo lãnh đạo đơn vị ký gửi.",
            );
        }
        _ => return refuse("Chỉ lãnh đạo của chính đơn vị mới ký và gửi phiếu tự chấm của đơn vị."),
    }
    if *group_phase == Phase::Final {
        return refuse(FINAL_LOCKED);
    }
    match sheet {
        SheetState::Submitted { at, .. } => refuse(format!(
            "Phiếu tự chấm đã được ký gửi lúc {}; không cần gửi lại. Nếu cần sửa, hãy đề nghị cơ quan thường trực mở lại phiếu.",
            format_stamp(at)
        )),
        SheetState::Reopened { .. } => Ok(()),
        SheetState::Draft => {
            check_date(Stage::SelfAssessment, now, deadlines)?;
            if group_phase.opens(Stage::SelfAssessment) {
                Ok(())
            } else {
                wrong_phase(Stage::SelfAssessment, group_phase)
            }
        }
    }
}

/// The leader signs and submits: the sheet becomes [`SheetState::Submitted`].
pub fn submit(
    who: &Writer,
    sheet: &SheetState,
    group_phase: &Phase,
    by: i64,
    now: &str,
    deadlines: &Deadlines,
) -> Result<SheetState, Invalid> {
    may_submit(who, sheet, group_phase, now, deadlines)?;
    Ok(SheetState::Submitted { by, at: now.trim().to_string() })
}

fn need_text(field: &str, s: &str, msg: &str) -> Result<String, Invalid> {
    let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        Err(Invalid::new(field, msg))
    } else if t.chars().count() > 1000 {
        Err(Invalid::new(field, format!("{field} quá dài (tối đa 1000 ký tự).")))
    } else {
        Ok(t)
    }
}

/// The secretariat reopens one unit's sheet, with a reason (after the
/// deadline, or after submission).
pub fn reopen_sheet(who: &Writer, group_phase: &Phase, by: i64, reason: &str) -> Result<SheetState, Invalid> {
    if *who != Writer::Secretariat {
        return Err(Invalid::new("Quyền ghi", "Chỉ cơ quan thường trực mới mở lại phiếu tự chấm của một đơn vị."));
    }
    if *group_phase == Phase::Final {
        return Err(Invalid::new("Quyền ghi", FINAL_LOCKED));
    }
    let reason = need_text(
        "Lý do",
        reason,
        "Ghi lý do mở lại phiếu của đơn vị (ví dụ: đơn vị bổ sung minh chứng theo đề nghị).",
    )?;
    Ok(SheetState::Reopened { by, reason })
}

/// Moves a group-year to the next phase ([`Phase::next`]): the head unit
/// runs the year up to handing it to the secretariat for appraisal; the
/// secretariat may move it too. Moving on from the self-assessment needs its
/// deadline to be over, so no unit loses days it was given.
pub fn advance(who: &Writer, from: &Phase, now: &str, deadlines: &Deadlines) -> Result<Phase, Invalid> {
    let now = parse_stamp("Thời điểm", now)?;
    if !matches!(who, Writer::HeadUnit | Writer::Secretariat) {
        return Err(Invalid::new(
            "Quyền ghi",
            "Chỉ đơn vị trưởng của cụm, khối hoặc cơ quan thường trực mới chuyển bước chấm điểm của cụm, khối.",
        ));
    }
    let Some(next) = from.next() else {
        return Err(Invalid::new(
            "Giai đoạn",
            match from {
                Phase::Appraisal | Phase::FinalReopened { .. } => {
                    "Cụm, khối đang ở bước thẩm định: bước tiếp theo là cơ quan thường trực chốt kết quả cuối cùng."
                        .to_string()
                }
                p => format!("Cụm, khối đang ở bước {}: không còn bước nào để chuyển.", p.label()),
            },
        ));
    };
    if *from == Phase::SelfAssessment
        && let Some(d) = deadlines.self_assessment
        && !is_past(now, d)
        && *who != Writer::Secretariat
    {
        return Err(Invalid::new(
            "Giai đoạn",
            format!(
                "Hạn tự chấm là hết ngày {}: chỉ chuyển sang kiểm tra chéo sau hạn này (hoặc đề nghị cơ quan thường trực quyết định chuyển sớm).",
                format_date(d)
            ),
        ));
    }
    if *from == Phase::Explanation
        && let Some(d) = deadlines.explanation
        && !is_past(now, d)
        && *who != Writer::Secretariat
    {
        return Err(Invalid::new(
            "Giai đoạn",
            format!(
                "Hạn giải trình là hết ngày {}: chỉ chuyển sang thẩm định sau hạn này (hoặc đề nghị cơ quan thường trực quyết định chuyển sớm).",
                format_date(d)
            ),
        ));
    }
    Ok(next)
}

/// The stage `who` writes on a sheet in `phase`, if any: the first stage the
/// phase opens that `who` may write (see [`may_write`] for dates and the sheet).
pub fn stage_for(ctx: &WriteCtx, phase: &Phase) -> Option<(Stage, Writer)> {
    phase.open_stages().iter().find_map(|st| {
        let w = Writer::resolve(ctx, *st);
        check_role(w, *st).ok().map(|_| (*st, w))
    })
}

/// The secretariat finalises the group-year: the results are locked.
pub fn finalise(who: &Writer, group_phase: &Phase) -> Result<Phase, Invalid> {
    if *who != Writer::Secretariat {
        return Err(Invalid::new("Quyền ghi", "Chỉ cơ quan thường trực mới chốt kết quả cuối cùng."));
    }
    match group_phase {
        Phase::Appraisal | Phase::FinalReopened { .. } => Ok(Phase::Final),
        Phase::Final => Err(Invalid::new("Giai đoạn", "Kết quả cuối cùng đã được chốt.")),
        p => Err(Invalid::new(
            "Giai đoạn",
            format!("Cụm, khối đang ở bước {}: chỉ chốt kết quả sau khi thẩm định.", p.label()),
        )),
    }
}

/// The secretariat reopens the final results by a recorded decision (its
/// number and date).
pub fn reopen_final(who: &Writer, group_phase: &Phase, decision: &str) -> Result<Phase, Invalid> {
    if *who != Writer::Secretariat {
        return Err(Invalid::new("Quyền ghi", FINAL_LOCKED));
    }
    if *group_phase != Phase::Final {
        return Err(Invalid::new("Giai đoạn", "Kết quả chưa chốt: không cần mở lại."));
    }
    let decision = need_text(
        "Quyết định",
        decision,
        "Ghi số, ngày của quyết định mở lại kết quả cuối cùng (ví dụ: 12/QĐ-BTĐKT ngày 20/01/2027).",
    )?;
    Ok(Phase::FinalReopened { decision })
}

/// Checks an entry before it is appended: the line is a leaf, a bonus or a
/// penalty line of the table; the value has the line's shape and range; a
/// secretariat-only line is scored at appraisal or final; after the
/// self-assessment stage a reason is required; evidence keys are not blank.
/// `unit_name` names the unit in the messages.
pub fn check_entry(e: &ScoreEntry, table: &ScoringTable, unit_name: &str) -> Result<(), Invalid> {
    let c = e.line_code.trim();
    let secretariat_stage = matches!(e.stage, Stage::Appraisal | Stage::Final);
    if let Some(l) = table.find(c) {
        // The target comes from the covenant; only the value's own range is checked here.
        let target = matches!(e.value, RawValue::Actual { .. }).then(|| Points::whole(1));
        crate::scoring::check_value(l, e.unit_id, unit_name, &e.value, target.as_ref())?;
    } else if let Some(a) = table.find_bonus(c).or_else(|| table.find_penalty(c)) {
        let RawValue::Count(n) = e.value else {
            return Err(Invalid::new(c, format!("{unit_name}: {c} ({}) nhận số lần: ghi số nguyên không âm.", a.name)));
        };
        if n > MAX_COUNT {
            return Err(Invalid::new(c, format!("{unit_name}: số lần của {c} là {n}, quá lớn (tối đa {MAX_COUNT}).")));
        }
        if a.secretariat_only && !secretariat_stage {
            return Err(Invalid::new(
                c,
                format!("{c} ({}) do cơ quan thường trực chấm ở bước thẩm định: đơn vị không ghi dòng này.", a.name),
            ));
        }
    } else {
        return Err(Invalid::new(
            c,
            format!("{unit_name}: bảng chấm điểm không có dòng mã {c} (tiêu chí, điểm thưởng hay điểm trừ): sửa mã."),
        ));
    }
    if e.stage != Stage::SelfAssessment && e.reason.trim().is_empty() {
        return Err(Invalid::new(
            "Lý do",
            format!(
                "{unit_name}: {c} ở bước \"{}\" cần ghi lý do (sau bước tự chấm, mọi thay đổi đều phải có lý do).",
                e.stage.label()
            ),
        ));
    }
    if e.evidence.iter().any(|k| k.trim().is_empty()) {
        return Err(Invalid::new("Minh chứng", format!("{unit_name}: {c} có tệp minh chứng không tên: tải lại tệp.")));
    }
    parse_stamp("Thời điểm", &e.at)?;
    Ok(())
}

/// A raw value as a reader sees it: a level's label, the result, the number
/// of occurrences, the points, or "Không áp dụng".
pub fn value_label(v: &RawValue, method: Option<&crate::scoring::Method>) -> String {
    match v {
        RawValue::Level(i) => match method {
            Some(crate::scoring::Method::Qualitative { levels }) => {
                levels.get(*i).map(|l| l.label.clone()).unwrap_or_default()
            }
            _ => String::new(),
        },
        RawValue::Actual { actual } => actual.to_string(),
        RawValue::Count(n) => n.to_string(),
        RawValue::Manual { points, .. } => points.to_string(),
        RawValue::NotApplicable => "Không áp dụng".into(),
    }
}

/// Two values are the same answer (a manual criterion by its points, whatever its reason).
fn same_value(a: &RawValue, b: &RawValue) -> bool {
    match (a, b) {
        (RawValue::Manual { points: x, .. }, RawValue::Manual { points: y, .. }) => x == y,
        _ => a == b,
    }
}

/// An explanation answers the head unit's open proposal on the line: the
/// unit accepts the proposed value (`Ok(true)`) or keeps its own latest
/// self-assessment value (`Ok(false)`); nothing else. A disagreement of
/// another kind goes in the reason, for the appraisal.
pub fn check_answer(
    entries: &Entries,
    table: &ScoringTable,
    unit: i64,
    code: &str,
    value: &RawValue,
) -> Result<bool, Invalid> {
    let Some(p) = open_proposal(entries, unit, code) else {
        return Err(Invalid::new(
            code,
            format!("{code}: không có đề xuất điều chỉnh nào của đơn vị trưởng đang chờ giải trình ở dòng này."),
        ));
    };
    if same_value(value, &p.value) {
        return Ok(true);
    }
    let own = latest(entries, unit, code, Stage::SelfAssessment);
    if own.is_some_and(|o| same_value(value, &o.value)) {
        return Ok(false);
    }
    let m = table.find(code).and_then(|l| l.method.as_ref());
    Err(Invalid::new(
        code,
        format!(
            "{code}: khi giải trình, chọn đồng ý với giá trị đề xuất ({}) hoặc giữ giá trị tự chấm của đơn vị ({}). Ý kiến khác hãy ghi trong lý do để cơ quan thường trực xem xét khi thẩm định.",
            value_label(&p.value, m),
            own.map(|o| value_label(&o.value, m)).unwrap_or_else(|| "chưa ghi".into())
        ),
    ))
}

/// Two people saving the same line at once: a save carries the `seq` of the
/// latest entry of the line it was based on (`None` for a line with no entry
/// yet). If the line's latest entry is another one, the save is refused and
/// nothing of it is stored; `latest_by` and `latest_at` name who saved the
/// latest entry and when.
pub fn check_base(
    latest_seq: Option<u64>,
    base_seq: Option<u64>,
    latest_by: &str,
    latest_at: &str,
) -> Result<(), Invalid> {
    if latest_seq == base_seq {
        return Ok(());
    }
    Err(Invalid::new(
        "base_seq",
        format!(
            "Dòng này vừa được {} lưu lúc {}; hãy tải lại để xem giá trị mới rồi lưu lại. Giá trị của bạn chưa được lưu.",
            latest_by.trim(),
            format_stamp(latest_at)
        ),
    ))
}

/// What a head-review flag points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    FullWithoutEvidence,
    FarAboveInspection,
    Outlier,
    LateSubmission,
    NotSubmitted,
}

/// One flag of the head review, with its Vietnamese explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub unit_id: i64,
    pub line_code: Option<String>,
    pub kind: FlagKind,
    pub message_vi: String,
}

pub use crate::scoring::FlagRules;

fn share(max: Points, percent: u32) -> Points {
    round_hundredths(i128::from(max.hundredths()) * i128::from(percent), 100)
}

fn median(mut v: Vec<Points>) -> Points {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        Points::from_hundredths((v[n / 2 - 1].hundredths() + v[n / 2].hundredths()).div_euclid(2))
    }
}

/// The self-assessment values with the inspection proposals put in their
/// place (the latest proposal on each leaf that has one), and the lines that
/// have a proposal: what the inspection total and the "far above the
/// inspection" flag are computed on.
pub fn inspection_inputs(
    table: &ScoringTable,
    bases: &[UnitInput],
    entries: &Entries,
) -> (Vec<UnitInput>, BTreeSet<(i64, String)>) {
    let mut inputs = unit_inputs(table, bases, entries, |line| latest_of(line, Stage::SelfAssessment));
    let mut proposed: BTreeSet<(i64, String)> = BTreeSet::new();
    let kinds = code_kinds(table);
    for u in &mut inputs {
        for (code, line) in entries.lines_of(u.unit_id) {
            if !matches!(kinds.get(code), Some(CodeKind::Leaf)) {
                continue;
            }
            if let Some(p) = latest_of(line, Stage::InspectionProposal) {
                u.values.insert(code.to_string(), p.value.clone());
                proposed.insert((u.unit_id, code.to_string()));
            }
        }
    }
    (inputs, proposed)
}

/// The flags of the head review over a group's entries (see the module
/// documentation). `bases` give each unit's name and targets; `sheets` each
/// unit's sheet state (a unit missing there counts as a draft). Errors when
/// the sheets cannot be computed (a value the table refuses).
pub fn review_flags(
    table: &ScoringTable,
    bases: &[UnitInput],
    entries: &Entries,
    sheets: &[(i64, SheetState)],
    deadlines: &Deadlines,
    now: &str,
    rules: &FlagRules,
) -> Result<Vec<Flag>, Vec<Invalid>> {
    let mut flags = sheet_flags(bases, sheets, deadlines, now).map_err(|e| vec![e])?;
    let self_inputs = unit_inputs(table, bases, entries, |line| latest_of(line, Stage::SelfAssessment));
    let selfs = compute(table, &self_inputs)?;
    let (insp_inputs, proposed) = inspection_inputs(table, bases, entries);
    let insps = compute(table, &insp_inputs)?;
    flags.extend(line_flags(table, bases, entries, &selfs, &insps, &proposed, rules));
    sort_flags(&mut flags);
    Ok(flags)
}

/// The order flags are shown in: by unit, line, kind.
pub fn sort_flags(flags: &mut [Flag]) {
    flags.sort_by(|a, b| (a.unit_id, &a.line_code, a.kind).cmp(&(b.unit_id, &b.line_code, b.kind)));
}

/// The flags on lines (full marks without evidence, far above the
/// inspection, outliers), from the figures of the self-assessment (`selfs`)
/// and of [`inspection_inputs`] (`insps`, `proposed`). They do not depend on
/// the time.
pub fn line_flags(
    table: &ScoringTable,
    bases: &[UnitInput],
    entries: &Entries,
    selfs: &GroupResult,
    insps: &GroupResult,
    proposed: &BTreeSet<(i64, String)>,
    rules: &FlagRules,
) -> Vec<Flag> {
    let own = |es: &Entries, u: i64, l: &str| latest(es, u, l, Stage::SelfAssessment).map(|e| e.value.clone());
    let name = |id: i64| bases.iter().find(|b| b.unit_id == id).map(|b| b.name.clone()).unwrap_or_default();
    let mut flags = Vec::new();
    let leaves: Vec<_> = table.walk().into_iter().filter(|l| l.is_leaf()).collect();
    for l in &leaves {
        let c = l.code.as_str();
        let scored: Vec<(i64, Points)> = selfs
            .units
            .iter()
            .filter_map(|r| r.line(c).filter(|lr| lr.status == LineStatus::Scored).map(|lr| (r.unit_id, lr.points)))
            .collect();
        for &(u, p) in &scored {
            let n = name(u);
            if l.evidence_required
                && l.max.is_positive()
                && p == l.max
                && latest(entries, u, c, Stage::SelfAssessment).is_some_and(|e| e.evidence.is_empty())
            {
                flags.push(Flag {
                    unit_id: u,
                    line_code: Some(c.to_string()),
                    kind: FlagKind::FullWithoutEvidence,
                    message_vi: format!(
                        "{n}: {c} tự chấm đủ điểm tối đa ({}) nhưng chưa có tài liệu minh chứng, trong khi tiêu chí này yêu cầu minh chứng.",
                        l.max
                    ),
                });
            }
            if proposed.contains(&(u, c.to_string())) {
                let ip = insps.units.iter().find(|r| r.unit_id == u).map(|r| r.points(c)).unwrap_or_default();
                let t = share(l.max, rules.far_above_percent);
                if p - ip > t {
                    flags.push(Flag {
                        unit_id: u,
                        line_code: Some(c.to_string()),
                        kind: FlagKind::FarAboveInspection,
                        message_vi: format!(
                            "{n}: {c} tự chấm {p} điểm, cao hơn đề xuất của đoàn kiểm tra chéo ({ip} điểm) {} điểm, vượt ngưỡng {t} điểm ({}% điểm tối đa).",
                            p - ip,
                            rules.far_above_percent
                        ),
                    });
                }
            }
        }
        if scored.len() >= rules.outlier_min_units.max(1) {
            let m = median(scored.iter().map(|(_, p)| *p).collect());
            let t = share(l.max, rules.outlier_percent);
            for &(u, p) in &scored {
                if p - m > t && own(entries, u, c).is_some() {
                    flags.push(Flag {
                        unit_id: u,
                        line_code: Some(c.to_string()),
                        kind: FlagKind::Outlier,
                        message_vi: format!(
                            "{}: {c} tự chấm {p} điểm, cao hơn trung vị của cụm, khối ({m} điểm) {} điểm, vượt ngưỡng {t} điểm ({}% điểm tối đa).",
                            name(u),
                            p - m,
                            rules.outlier_percent
                        ),
                    });
                }
            }
        }
    }
    flags
}

/// The flags on sheets: submitted after the self-assessment deadline, or
/// not submitted once it passed (at `now`).
pub fn sheet_flags(
    bases: &[UnitInput],
    sheets: &[(i64, SheetState)],
    deadlines: &Deadlines,
    now: &str,
) -> Result<Vec<Flag>, Invalid> {
    let now = parse_stamp("Thời điểm", now)?;
    let mut flags = Vec::new();
    if let Some(d) = deadlines.self_assessment {
        let sheet_of: BTreeMap<i64, &SheetState> = sheets.iter().map(|(u, s)| (*u, s)).collect();
        for b in bases {
            let n = &b.name;
            match sheet_of.get(&b.unit_id).copied().unwrap_or(&SheetState::Draft) {
                SheetState::Submitted { at, .. } if parse_stamp("", at).is_ok_and(|t| is_past(t, d)) => {
                    flags.push(Flag {
                        unit_id: b.unit_id,
                        line_code: None,
                        kind: FlagKind::LateSubmission,
                        message_vi: format!(
                            "{n}: lãnh đạo đơn vị ký gửi phiếu tự chấm lúc {}, sau hạn tự chấm {}.",
                            format_stamp(at),
                            format_date(d)
                        ),
                    });
                }
                SheetState::Submitted { .. } => {}
                _ if is_past(now, d) => flags.push(Flag {
                    unit_id: b.unit_id,
                    line_code: None,
                    kind: FlagKind::NotSubmitted,
                    message_vi: format!("{n}: chưa ký gửi phiếu tự chấm, hạn tự chấm là {}.", format_date(d)),
                }),
                _ => {}
            }
        }
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_day_ends_at_midnight_in_vietnam() {
        let at = |s: &str| super::parse_stamp("", s).expect("stamp");
        let d = chrono::NaiveDate::from_ymd_opt(2026, 12, 19).expect("date");
        assert_eq!(super::local_date(at("2026-12-19 16:59:59")), d);
        assert!(!super::is_past(at("2026-12-19 16:59:59"), d));
        assert_eq!(super::local_date(at("2026-12-19 17:00:00")), d.succ_opt().expect("next"));
        assert!(super::is_past(at("2026-12-19 17:00:00"), d));
    }

    use super::*;
    use crate::scoring::sample_table;
    use proptest::prelude::*;

    fn e(unit: i64, line: &str, stage: Stage, value: RawValue, seq: u64) -> ScoreEntry {
        ScoreEntry {
            unit_id: unit,
            line_code: line.into(),
            stage,
            value,
            reason: if stage == Stage::SelfAssessment { String::new() } else { "vì".into() },
            evidence: vec![],
            by_user: 1,
            by_unit: Some(unit),
            at: "2026-12-01T08:00:00Z".into(),
            seq,
        }
    }

    fn dl() -> Deadlines {
        Deadlines {
            self_assessment: NaiveDate::from_ymd_opt(2026, 12, 5),
            explanation: NaiveDate::from_ymd_opt(2027, 1, 10),
        }
    }

    const BEFORE: &str = "2026-12-05T16:59:59Z";
    const AFTER: &str = "2026-12-05T17:00:00Z";
    const SELF: Stage = Stage::SelfAssessment;
    use Writer::*;

    fn msg(r: Result<(), Invalid>) -> String {
        r.unwrap_err().message
    }

    #[test]
    fn stage_codes_and_labels() {
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.code()), Some(*s));
            assert_eq!(Stage::parse(s.label()), Some(*s));
        }
        assert_eq!(Stage::parse("giai trinh"), Some(Stage::Explanation));
    }

    #[test]
    fn self_stage_rules() {
        let p = Phase::SelfAssessment;
        assert!(may_write(&OwnUnitOfficer, SELF, &SheetState::Draft, p.clone(), BEFORE, &dl()).is_ok());
        assert_eq!(
            msg(may_write(&OwnUnitOfficer, SELF, &SheetState::Draft, p.clone(), AFTER, &dl())),
            "Đã quá hạn tự chấm (05/12/2026). Hãy đề nghị cơ quan thường trực mở lại phiếu của đơn vị."
        );
        let sub = SheetState::Submitted { by: 9, at: "2026-12-04T03:00:00Z".into() };
        assert!(msg(may_write(&OwnUnitOfficer, SELF, &sub, p.clone(), BEFORE, &dl())).contains("04/12/2026 10:00"));
        let re = reopen_sheet(&Secretariat, &Phase::HeadReview, 3, " bổ sung minh chứng ").unwrap();
        assert_eq!(re, SheetState::Reopened { by: 3, reason: "bổ sung minh chứng".into() });
        assert!(may_write(&OwnUnitOfficer, SELF, &re, Phase::HeadReview, "2027-01-02T00:00:00Z", &dl()).is_ok());
        assert!(reopen_sheet(&Secretariat, &p, 3, "  ").is_err());
        assert!(reopen_sheet(&HeadUnit, &p, 3, "x").is_err());
        assert!(
            msg(may_write(&Inspector, SELF, &SheetState::Draft, p.clone(), BEFORE, &dl())).contains("chính đơn vị")
        );
        assert!(msg(may_write(&Other, SELF, &SheetState::Draft, p, BEFORE, &dl())).contains("không thuộc đơn vị"));
        assert!(may_write(&OwnUnitOfficer, SELF, &re, Phase::Final, BEFORE, &dl()).is_err());
    }

    #[test]
    fn leader_only_submission() {
        let p = Phase::SelfAssessment;
        assert!(msg(may_submit(&OwnUnitOfficer, &SheetState::Draft, &p, BEFORE, &dl())).contains("Chỉ lãnh đạo"));
        assert!(may_submit(&Secretariat, &SheetState::Draft, &p, BEFORE, &dl()).is_err());
        let s = submit(&OwnUnitLeader, &SheetState::Draft, &p, 4, BEFORE, &dl()).unwrap();
        assert_eq!(s, SheetState::Submitted { by: 4, at: BEFORE.into() });
        assert!(msg(may_submit(&OwnUnitLeader, &s, &p, BEFORE, &dl())).contains("đã được ký gửi"));
        assert!(msg(may_submit(&OwnUnitLeader, &SheetState::Draft, &p, AFTER, &dl())).contains("quá hạn tự chấm"));
        let re = SheetState::Reopened { by: 3, reason: "x".into() };
        assert!(may_submit(&OwnUnitLeader, &re, &Phase::Inspection, AFTER, &dl()).is_ok());
    }

    #[test]
    fn later_stages_roles_and_phases() {
        let d = SheetState::Draft;
        let now = "2026-12-20T00:00:00Z";
        assert!(may_write(&Inspector, Stage::InspectionProposal, &d, Phase::Inspection, now, &dl()).is_ok());
        assert!(
            msg(may_write(&OwnUnitLeader, Stage::InspectionProposal, &d, Phase::Inspection, now, &dl()))
                .contains("không tự ghi đề xuất kiểm tra chéo")
        );
        assert!(
            msg(may_write(&Inspector, Stage::InspectionProposal, &d, Phase::HeadReview, now, &dl()))
                .contains("Cụm, khối đang ở bước")
        );
        assert!(may_write(&HeadUnit, Stage::HeadReview, &d, Phase::HeadReview, now, &dl()).is_ok());
        assert!(may_write(&HeadUnit, Stage::HeadReview, &d, Phase::Explanation, now, &dl()).is_err());
        assert!(may_write(&OwnUnitOfficer, Stage::Explanation, &d, Phase::Explanation, now, &dl()).is_ok());
        assert!(
            msg(may_write(&OwnUnitOfficer, Stage::Explanation, &d, Phase::Explanation, "2027-01-11T00:00:00Z", &dl()))
                .contains("quá hạn giải trình (10/01/2027)")
        );
        assert!(may_write(&Secretariat, Stage::Appraisal, &d, Phase::Appraisal, now, &dl()).is_ok());
        assert!(
            msg(may_write(&OwnUnitLeader, Stage::Appraisal, &d, Phase::Appraisal, now, &dl()))
                .contains("không tự thẩm định")
        );
        assert!(msg(may_write(&Secretariat, Stage::Final, &d, Phase::Final, now, &dl())).contains("đã chốt"));
        assert!(may_write(&Secretariat, Stage::Final, &d, Phase::Appraisal, "nope", &dl()).is_err());
    }

    #[test]
    fn final_locked_and_reopened_by_decision() {
        let f = finalise(&Secretariat, &Phase::Appraisal).unwrap();
        assert_eq!(f, Phase::Final);
        assert!(finalise(&HeadUnit, &Phase::Appraisal).is_err());
        assert!(finalise(&Secretariat, &Phase::HeadReview).is_err());
        assert!(reopen_final(&Secretariat, &f, " ").is_err());
        assert!(reopen_final(&OwnUnitLeader, &f, "12/QĐ").is_err());
        let r = reopen_final(&Secretariat, &f, "12/QĐ-BTĐKT").unwrap();
        assert!(may_write(&Secretariat, Stage::Final, &SheetState::Draft, r.clone(), BEFORE, &dl()).is_ok());
        assert_eq!(finalise(&Secretariat, &r), Ok(Phase::Final));
    }

    #[test]
    fn writer_resolution_never_lets_a_unit_judge_itself() {
        let ctx = WriteCtx {
            actor_unit: Some(1),
            sheet_unit: 1,
            inspector_unit: Some(1),
            head_unit: Some(1),
            deputy_unit: Some(2),
            ..Default::default()
        };
        assert_eq!(Writer::resolve(&ctx, Stage::InspectionProposal), OwnUnitOfficer);
        let deputy = WriteCtx { actor_unit: Some(2), ..ctx };
        assert_eq!(Writer::resolve(&deputy, Stage::HeadReview), HeadUnit);
        let both = WriteCtx { actor_unit: Some(1), sheet_unit: 5, inspector_unit: Some(1), ..ctx };
        assert_eq!(Writer::resolve(&both, Stage::HeadReview), HeadUnit);
        assert_eq!(Writer::resolve(&both, Stage::InspectionProposal), Inspector);
        let sec = WriteCtx { actor_unit: None, actor_is_secretariat: true, sheet_unit: 5, ..Default::default() };
        assert_eq!(Writer::resolve(&sec, Stage::Appraisal), Secretariat);
        assert_eq!(
            Writer::resolve(&WriteCtx { actor_unit: Some(9), sheet_unit: 5, ..Default::default() }, SELF),
            Other
        );
    }

    #[test]
    fn reason_required_after_self_stage() {
        let t = sample_table();
        let mut x = e(1, "II.1", Stage::Explanation, RawValue::Level(0), 1);
        x.reason = " ".into();
        assert!(check_entry(&x, &t, "Sở A").unwrap_err().message.contains("cần ghi lý do"));
        x.stage = SELF;
        assert!(check_entry(&x, &t, "Sở A").is_ok());
        x.value = RawValue::Level(7);
        assert!(check_entry(&x, &t, "Sở A").is_err());
        let tr = e(1, "TR.1", SELF, RawValue::Count(1), 2);
        assert!(check_entry(&tr, &t, "Sở A").unwrap_err().message.contains("cơ quan thường trực"));
        assert!(check_entry(&e(1, "TR.1", Stage::Appraisal, RawValue::Count(1), 2), &t, "Sở A").is_ok());
        assert!(check_entry(&e(1, "ZZ", SELF, RawValue::Count(1), 2), &t, "Sở A").is_err());
        assert!(check_entry(&e(1, "TH.1", SELF, RawValue::Level(0), 2), &t, "Sở A").is_err());
    }

    #[test]
    fn current_ignores_proposals_until_answered() {
        let mut es = Entries::from(vec![e(1, "II.3", SELF, RawValue::Count(5), 1)]);
        es.push(e(1, "II.3", Stage::InspectionProposal, RawValue::Count(2), 2));
        es.push(e(1, "II.3", Stage::HeadReview, RawValue::Count(3), 3));
        assert_eq!(current(&es, 1, "II.3").map(|x| x.seq), Some(1));
        assert_eq!(open_proposal(&es, 1, "II.3").map(|x| x.seq), Some(3));
        es.push(e(1, "II.3", Stage::Explanation, RawValue::Count(3), 4));
        assert_eq!(current(&es, 1, "II.3").map(|x| x.seq), Some(4));
        assert_eq!(open_proposal(&es, 1, "II.3"), None);
        // A self entry on a reopened sheet does not outrank the explanation.
        es.push(e(1, "II.3", SELF, RawValue::Count(4), 5));
        assert_eq!(current(&es, 1, "II.3").map(|x| x.seq), Some(4));
        es.push(e(1, "II.3", Stage::Appraisal, RawValue::Count(1), 6));
        assert_eq!(current(&es, 1, "II.3").map(|x| x.seq), Some(6));
        assert_eq!(history(&es, 1, "II.3").iter().map(|x| x.seq).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
        assert!(current(&es, 2, "II.3").is_none());
        let only = Entries::from(vec![e(1, "II.3", Stage::InspectionProposal, RawValue::Count(2), 1)]);
        assert!(current(&only, 1, "II.3").is_none());
        let bases = vec![UnitInput { unit_id: 1, name: "Sở A".into(), ..Default::default() }];
        let ins = inputs_in_force(&sample_table(), &bases, &es);
        assert_eq!(ins[0].values.get("II.3"), Some(&RawValue::Count(1)));
    }

    #[test]
    fn concurrent_save_refused_with_who_and_when() {
        assert!(check_base(None, None, "", "").is_ok());
        assert!(check_base(Some(4), Some(4), "", "").is_ok());
        let m = check_base(Some(5), Some(4), "Nguyễn Văn A", "2026-12-04T03:05:00Z").unwrap_err().message;
        assert_eq!(
            m,
            "Dòng này vừa được Nguyễn Văn A lưu lúc 04/12/2026 10:05; hãy tải lại để xem giá trị mới rồi lưu lại. Giá trị của bạn chưa được lưu."
        );
        assert!(check_base(Some(1), None, "B", "x").is_err());
    }

    #[test]
    fn flags_on_a_small_group() {
        let t = sample_table();
        let bases: Vec<UnitInput> =
            (1..=4).map(|i| UnitInput { unit_id: i, name: format!("Sở {i}"), ..Default::default() }).collect();
        let mut es = Entries::default();
        for (i, n) in [(1, 5), (2, 1), (3, 1), (4, 2)] {
            es.push(e(i, "II.3", SELF, RawValue::Count(n), i as u64));
        }
        // Unit 1: full marks on II.1 (evidence required) without evidence.
        es.push(e(1, "II.1", SELF, RawValue::Level(0), 10));
        let mut with_ev = e(2, "II.1", SELF, RawValue::Level(0), 11);
        with_ev.evidence = vec!["f1".into()];
        es.push(with_ev);
        es.push(e(1, "II.3", Stage::InspectionProposal, RawValue::Count(2), 12));
        let sheets = vec![
            (1, SheetState::Submitted { by: 1, at: "2026-12-05T18:00:00Z".into() }),
            (2, SheetState::Submitted { by: 2, at: BEFORE.into() }),
            (3, SheetState::Submitted { by: 3, at: BEFORE.into() }),
        ];
        let f = review_flags(&t, &bases, &es, &sheets, &dl(), "2026-12-10T00:00:00Z", &FlagRules::default()).unwrap();
        let got: Vec<(i64, Option<&str>, FlagKind)> =
            f.iter().map(|x| (x.unit_id, x.line_code.as_deref(), x.kind)).collect();
        assert_eq!(
            got,
            vec![
                (1, None, FlagKind::LateSubmission),
                (1, Some("II.1"), FlagKind::FullWithoutEvidence),
                (1, Some("II.3"), FlagKind::FullWithoutEvidence),
                (1, Some("II.3"), FlagKind::FarAboveInspection),
                (1, Some("II.3"), FlagKind::Outlier),
                (4, None, FlagKind::NotSubmitted),
            ]
        );
        assert!(
            f[3].message_vi
                .contains("Sở 1: II.3 tự chấm 50 điểm, cao hơn đề xuất của đoàn kiểm tra chéo (20 điểm) 30 điểm")
        );
        assert!(f[4].message_vi.contains("trung vị của cụm, khối (15 điểm)"));
        // the group's own thresholds: 30 points above the inspection is within 80% of the
        // line's maximum, 35 above the median within 90%; the median needs 5 units
        let loose = FlagRules { far_above_percent: 80, outlier_percent: 90, outlier_min_units: 3 };
        let f = review_flags(&t, &bases, &es, &sheets, &dl(), "2026-12-10T00:00:00Z", &loose).unwrap();
        assert!(!f.iter().any(|x| matches!(x.kind, FlagKind::FarAboveInspection | FlagKind::Outlier)), "{f:#?}");
        let few = FlagRules { outlier_min_units: 5, ..FlagRules::default() };
        let f = review_flags(&t, &bases, &es, &sheets, &dl(), "2026-12-10T00:00:00Z", &few).unwrap();
        assert!(f.iter().any(|x| x.kind == FlagKind::FarAboveInspection));
        assert!(!f.iter().any(|x| x.kind == FlagKind::Outlier), "fewer than 5 units entered II.3");
    }

    fn arb_entries() -> impl Strategy<Value = Vec<ScoreEntry>> {
        prop::collection::vec((1i64..3, 0usize..2, 0usize..6, 0u32..6), 0..30).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (u, l, s, n))| e(u, ["II.3", "II.5"][l], Stage::ALL[s], RawValue::Count(n), i as u64 + 1))
                .collect()
        })
    }

    #[test]
    fn an_explanation_accepts_the_proposal_or_keeps_the_units_value() {
        let t = sample_table();
        let mut es = Entries::from(vec![e(1, "II.2", SELF, RawValue::Level(0), 1)]);
        let not_met = RawValue::Level(1);
        assert!(msg(check_answer(&es, &t, 1, "II.2", &not_met).map(|_| ())).contains("không có đề xuất"));
        es.push(e(1, "II.2", Stage::HeadReview, not_met.clone(), 2));
        assert_eq!(check_answer(&es, &t, 1, "II.2", &not_met), Ok(true), "accepts");
        assert_eq!(check_answer(&es, &t, 1, "II.2", &RawValue::Level(0)), Ok(false), "keeps its own");
        assert!(msg(check_answer(&es, &t, 1, "II.2", &RawValue::NotApplicable).map(|_| ())).contains("chọn đồng ý"));
        es.push(e(1, "II.2", Stage::Explanation, RawValue::Level(0), 3));
        assert!(check_answer(&es, &t, 1, "II.2", &not_met).is_err(), "answered: no open proposal");
    }

    #[test]
    fn the_year_moves_one_phase_at_a_time_by_the_head_or_the_secretariat() {
        let d = dl();
        let mut p = Phase::SelfAssessment;
        assert!(msg(advance(&HeadUnit, &p, BEFORE, &d).map(|_| ())).contains("05/12/2026"), "not before the deadline");
        assert!(advance(&Inspector, &p, AFTER, &d).is_err());
        assert!(advance(&OwnUnitLeader, &p, AFTER, &d).is_err());
        assert_eq!(advance(&Secretariat, &p, BEFORE, &d), Ok(Phase::Inspection), "the secretariat may move early");
        let after_explanation = "2027-01-10T17:00:00Z";
        for next in [Phase::Inspection, Phase::HeadReview, Phase::Explanation] {
            p = advance(&HeadUnit, &p, AFTER, &d).expect("next");
            assert_eq!(p, next);
        }
        assert!(msg(advance(&HeadUnit, &p, AFTER, &d).map(|_| ())).contains("Hạn giải trình là hết ngày 10/01/2027"));
        p = advance(&HeadUnit, &p, after_explanation, &d).expect("after the explanation date");
        assert_eq!(p, Phase::Appraisal);
        assert!(msg(advance(&HeadUnit, &p, AFTER, &d).map(|_| ())).contains("chốt kết quả"));
        assert_eq!(finalise(&Secretariat, &p), Ok(Phase::Final));
        assert!(finalise(&HeadUnit, &p).is_err());
        for ph in [Phase::Final, Phase::FinalReopened { decision: "12/QĐ".into() }, Phase::Inspection] {
            assert_eq!(Phase::from_code(ph.code(), Some("12/QĐ")), Some(ph));
        }
        assert_eq!(Phase::from_code("khác", None), None);
    }

    #[test]
    fn each_writer_gets_the_stage_the_phase_opens_for_it() {
        let ctx = |actor: Option<i64>, sec: bool| WriteCtx {
            actor_unit: actor,
            actor_is_leader: false,
            actor_is_secretariat: sec,
            sheet_unit: 2,
            inspector_unit: Some(3),
            head_unit: Some(1),
            deputy_unit: Some(4),
        };
        let st = |c: WriteCtx, p: Phase| stage_for(&c, &p).map(|x| x.0);
        assert_eq!(st(ctx(Some(2), false), Phase::SelfAssessment), Some(SELF));
        assert_eq!(st(ctx(Some(3), false), Phase::SelfAssessment), Some(Stage::InspectionProposal));
        assert_eq!(st(ctx(Some(3), false), Phase::Inspection), Some(Stage::InspectionProposal));
        assert_eq!(st(ctx(Some(2), false), Phase::Inspection), None, "the unit waits");
        assert_eq!(st(ctx(Some(1), false), Phase::HeadReview), Some(Stage::HeadReview));
        assert_eq!(st(ctx(Some(3), false), Phase::HeadReview), None);
        assert_eq!(st(ctx(Some(2), false), Phase::Explanation), Some(Stage::Explanation));
        assert_eq!(st(ctx(None, true), Phase::Appraisal), Some(Stage::Appraisal));
        assert_eq!(st(ctx(None, true), Phase::FinalReopened { decision: "x".into() }), Some(Stage::Final));
        assert_eq!(st(ctx(None, true), Phase::Final), None);
        assert_eq!(st(ctx(Some(1), false), Phase::Appraisal), None, "the head does not appraise");
    }

    proptest! {
        #[test]
        fn appending_keeps_history_and_current_is_an_entry(es in arb_entries(), cut in 0usize..30, rot in 0usize..30) {
            let cut = cut.min(es.len());
            let part_es = Entries::from(es[..cut].to_vec());
            let mut shuffled = es.clone();
            if !shuffled.is_empty() { let k = rot % shuffled.len(); shuffled.rotate_left(k); }
            let shuffled = Entries::from(shuffled);
            let es = Entries::from(es);
            for u in 1..3 {
                for l in ["II.3", "II.5"] {
                    let full: Vec<u64> = history(&es, u, l).iter().map(|x| x.seq).collect();
                    let part: Vec<u64> = history(&part_es, u, l).iter().map(|x| x.seq).collect();
                    prop_assert_eq!(&full[..part.len()], &part[..]);
                    let again: Vec<u64> = history(&shuffled, u, l).iter().map(|x| x.seq).collect();
                    prop_assert_eq!(&again, &full);
                    match current(&es, u, l) {
                        Some(c) => {
                            prop_assert!(es.iter().any(|x| std::ptr::eq(x, c)));
                            prop_assert!(c.stage.sets_value() && c.unit_id == u && c.line_code == l);
                        }
                        None => prop_assert!(!es.iter().any(|x| x.unit_id == u && x.line_code == l && x.stage.sets_value())),
                    }
                    // The index finds exactly what a scan of every entry finds.
                    let scanned: Vec<u64> = es.iter().filter(|x| x.unit_id == u && x.line_code == l).map(|x| x.seq).collect();
                    prop_assert_eq!(&scanned, &full);
                    let scan_latest = es.iter().filter(|x| x.unit_id == u && x.line_code == l).max_by_key(|x| x.seq).map(|x| x.seq);
                    prop_assert_eq!(latest_any(&es, u, l).map(|x| x.seq), scan_latest);
                }
            }
        }
    }
}
