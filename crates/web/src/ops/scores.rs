//! Operations on a unit's self-assessment sheet (tự chấm điểm) of a group's
//! year: read by the unit itself, the head and deputy units and the
//! authority's readers (`Action::ViewSheet`); written by the unit's officer or
//! leader, signed and submitted by its leader, under the rules of
//! `thidua_core::workflow` (`may_write`, `submit`, `check_entry`,
//! `check_base`). Values only: evidence files are not part of this slice.
//! Every save appends entries (never changes one) in one transaction.

use std::sync::{Arc, OnceLock};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thidua_core::Invalid;
use thidua_core::calendar::Event;
use thidua_core::policy::{Action, Role, Target, decide};
use thidua_core::scoring::{AdjustLine, Explain, Method, RawValue, ScoringTable, UnitResult, compute_with};
use thidua_core::workflow::{self as wf, ScoreEntry, SheetState, Stage, WriteCtx, Writer};
use thidua_db::org::{self as q, GroupRow};
use thidua_db::scores::{self as sc, EntryRow};
use thidua_db::{Tx, audit, calendar as c};
use utoipa::ToSchema;

use super::authorize;
use super::chain::Year;
use crate::AppState;
use crate::auth::{Ctx, denial_of};
use crate::error::{AppError, AppResult};

// ---------- input ----------

/// What was typed for one line, with the sequence number of the line's
/// latest entry the form was based on (none for a line without entries).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct LineInput {
    pub line_code: String,
    /// A level's label (qualitative), the result (target), a number of
    /// occurrences (count, bonus, penalty), the points (manual); or "Không áp dụng".
    #[serde(default)]
    pub value: String,
    /// The reason of a manual criterion's points.
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub base_seq: Option<i64>,
    /// The reason of an entry after the self-assessment (a finding, a proposal's
    /// reason, an explanation, the appraisal's reason).
    #[serde(default)]
    pub remark: String,
}

/// A draft save of the sheet: every line of the form; only the changed ones are stored.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct SaveInput {
    pub lines: Vec<LineInput>,
    /// A note on this save (optional), kept with the entries and in the audit log.
    #[serde(default)]
    pub note: String,
}

// ---------- views ----------

/// One line of the sheet: a parent (a heading) or a leaf criterion with its input.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SheetLine {
    pub code: String,
    pub name: String,
    pub depth: u32,
    pub leaf: bool,
    /// qualitative | target | count | manual (leaves only).
    pub method: Option<String>,
    pub method_label: String,
    pub max: String,
    /// The labels of a qualitative criterion's levels, best first, with their points.
    pub levels: Vec<String>,
    /// The unit's target from the covenant (target criteria).
    pub target: Option<String>,
    /// The current self-assessment value as typed ("" when none).
    pub value: String,
    /// The reason of a manual criterion's points.
    pub reason: String,
    /// The sequence number of the line's latest entry (the base of the next save).
    pub base_seq: Option<i64>,
    /// Who wrote the latest entry, and when (UTC).
    pub by: Option<String>,
    pub at: Option<String>,
    pub points: Option<String>,
    /// How the points were computed, in Vietnamese.
    pub explanation: Vec<String>,
    /// The evidence files of the line.
    pub evidence: Vec<super::chain::EvidenceLink>,
    pub evidence_required: bool,
}

/// A bonus or penalty line the unit declares (not the secretariat's own lines).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SheetAdjust {
    pub code: String,
    pub name: String,
    pub per: String,
    pub cap: Option<String>,
    /// The declared number of occurrences ("" when none).
    pub value: String,
    pub base_seq: Option<i64>,
    pub points: Option<String>,
    pub explanation: Vec<String>,
}

/// A unit's self-assessment sheet of a group-year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SheetView {
    pub group_id: i64,
    pub group_name: String,
    pub year: i32,
    pub unit_id: i64,
    pub unit_name: String,
    /// The version of the table in force (none: no table adopted yet).
    pub table_version: Option<i32>,
    /// draft | submitted | reopened
    pub state: String,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<String>,
    /// The self-assessment deadline (YYYY-MM-DD), if the calendar sets one.
    pub deadline: Option<String>,
    #[schema(value_type = Vec<SheetLine>)]
    pub lines: Arc<Vec<SheetLine>>,
    #[schema(value_type = Vec<SheetAdjust>)]
    pub bonus: Arc<Vec<SheetAdjust>>,
    #[schema(value_type = Vec<SheetAdjust>)]
    pub penalties: Arc<Vec<SheetAdjust>>,
    /// The unit's total and class computed on the self-assessment values.
    pub total: Option<String>,
    pub class: Option<String>,
    /// How the total and the class were computed.
    #[schema(value_type = Vec<String>)]
    pub explanation: Arc<Vec<String>>,
    /// Why the figures cannot be computed yet, if so.
    pub compute_errors: Vec<String>,
    /// Whether the caller may save drafts now; else why not.
    pub may_write: bool,
    pub write_refusal: Option<String>,
    /// Whether the caller may sign and submit now; else why not.
    pub may_submit: bool,
    pub submit_refusal: Option<String>,
    /// The phase of the group-year (its label).
    pub phase: String,
    /// Whether the caller may add or remove evidence files now.
    pub may_add_evidence: bool,
    /// The shared parts the lines came from (none for a preview's typed
    /// values): the page keeps its rendering of them there.
    #[serde(skip)]
    #[schema(ignore)]
    pub(crate) shared: Option<Arc<SheetParts>>,
}

// ---------- loading ----------

/// Everything an operation needs about a sheet.
struct Sheet {
    /// The group-year (shared with the cache on reads).
    y: Arc<Year>,
    t: Target,
    unit_id: i64,
    unit_name: String,
    sheet: SheetState,
    submitted_by: Option<String>,
    /// A preview's entries: the stored ones with what is typed (never stored).
    typed: Option<wf::Entries>,
    /// The unit's figures, when computed ahead (`Year::own_self_result`).
    own: Option<super::chain::OwnResult>,
}

fn object(group_id: i64, year: i32, unit_id: i64) -> String {
    format!("group:{group_id}/year:{year}/unit:{unit_id}")
}

/// Opens the sheet in `tx` after asking the policy (`Action::ViewSheet`).
/// The group-year comes from the cache of group-years, which is right for a
/// read and for a write that has not written yet in `tx` (what it loads is
/// the committed state); never call it after writing in `tx`.
async fn open(st: &AppState, ctx: &Ctx, tx: Tx, group_id: i64, year: i32, unit_id: i64) -> AppResult<(Tx, Sheet)> {
    let mut tx = tx;
    let y = st.years.get(&mut tx, group_id, year).await?;
    let t = y.target(Some(unit_id));
    let mut tx = authorize(st, ctx, tx, Action::ViewSheet, &t, &object(group_id, year, unit_id)).await?;
    let unit_name = y.members.iter().find(|m| m.0 == unit_id).map(|m| m.1.clone()).ok_or(AppError::NotFound)?;
    let sheet = y.sheet(unit_id);
    let submitted_by = match &sheet {
        SheetState::Submitted { .. } => sc::sheet(&mut tx, y.gy, unit_id).await?.and_then(|r| r.submitted_by_name),
        _ => None,
    };
    Ok((tx, Sheet { y, t, unit_id, unit_name, sheet, submitted_by, typed: None, own: None }))
}

/// The effective date of a calendar event for the group: its own date, else the authority's default.
pub(super) async fn event_date(
    tx: &mut Tx,
    g: &GroupRow,
    gy: i64,
    year: i32,
    ev: Event,
) -> AppResult<Option<NaiveDate>> {
    let code = ev.code();
    let own = c::group_dates(tx, gy).await?.into_iter().find(|r| r.event == code).map(|r| r.date_on);
    let day = match own {
        Some(d) => Some(d),
        None => {
            c::defaults(tx, g.authority_id, year).await?.into_iter().find(|r| r.event == code).map(|r| r.default_on)
        }
    };
    Ok(day.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()))
}

/// A stored row as the chain's entry (`None` for a row whose stage or value
/// cannot be read).
pub fn to_entry(r: &EntryRow) -> Option<ScoreEntry> {
    Some(ScoreEntry {
        unit_id: r.unit_id,
        line_code: r.line_code.clone(),
        stage: Stage::parse(&r.stage)?,
        value: serde_json::from_str(&r.value_json).ok()?,
        reason: r.reason.clone(),
        evidence: serde_json::from_str(&r.evidence_json).unwrap_or_default(),
        by_user: r.by_user,
        by_unit: r.by_unit,
        at: r.at.clone(),
        seq: u64::try_from(r.id).ok()?,
    })
}

/// The actor's role towards the sheet.
fn writer(ctx: &Ctx, sh: &Sheet) -> Writer {
    let own = |role: Role| ctx.actor.grants.iter().any(|g| g.role == role && g.unit_id == Some(sh.unit_id));
    let actor_unit = if own(Role::UnitLeader) || own(Role::UnitOfficer) {
        Some(sh.unit_id)
    } else {
        ctx.actor.unit_ids().first().copied()
    };
    let gctx = sh.t.group.clone().unwrap_or_default();
    let w = WriteCtx {
        actor_unit,
        actor_is_leader: own(Role::UnitLeader),
        actor_is_secretariat: ctx.actor.has_role(Role::Secretariat)
            && decide(&ctx.actor, Action::ManageCalendar, &sh.t).is_ok(),
        sheet_unit: sh.unit_id,
        inspector_unit: None,
        head_unit: gctx.head_unit,
        deputy_unit: gctx.deputy_unit,
    };
    Writer::resolve(&w, Stage::SelfAssessment)
}

fn the_table(sh: &Sheet, year: i32) -> AppResult<&ScoringTable> {
    sh.y.table.as_ref().map(|t| &t.1).ok_or_else(|| {
        AppError::invalid(
            "Bảng điểm",
            format!(
                "{} chưa có bảng chấm điểm năm {year} đang có hiệu lực: đơn vị trưởng cần thông qua bảng điểm trước khi tự chấm.",
                sh.y.g.name
            ),
        )
    })
}

/// A raw value as the form shows it.
pub(super) fn value_text(v: &RawValue, method: Option<&Method>) -> (String, String) {
    let reason = match v {
        RawValue::Manual { reason, .. } => reason.clone(),
        _ => String::new(),
    };
    (wf::value_label(v, method), reason)
}

pub(super) fn method_code(m: &Method) -> &'static str {
    match m {
        Method::Qualitative { .. } => "qualitative",
        Method::Target => "target",
        Method::Count { .. } => "count",
        Method::Manual => "manual",
    }
}

/// What a unit's sheet shows the same to everyone who may read it: its
/// lines with their values, points and explanations, and its figures. Built
/// once per kept group-year and unit ([`Year::sheet_parts`]), or for a
/// preview's typed values.
#[derive(Debug)]
pub(crate) struct SheetParts {
    lines: Arc<Vec<SheetLine>>,
    bonus: Arc<Vec<SheetAdjust>>,
    penalties: Arc<Vec<SheetAdjust>>,
    total: Option<String>,
    class: Option<String>,
    explanation: Arc<Vec<String>>,
    /// Why the figures cannot be computed (shown to each reader as they may see them).
    errors: Option<Vec<Invalid>>,
    /// The page's HTML of these parts, rendered for the first reader and
    /// the same for every other ([`SheetParts::html`]).
    html: [OnceLock<crate::gzip::Piece>; SheetHtml::COUNT],
}

/// The pieces of the self-assessment page that depend only on the shared
/// parts (and, for the lines, on whether the reader may write).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SheetHtml {
    /// The lines and the bonus and penalty tables, with the inputs disabled.
    RowsReadOnly = 0,
    /// The same, with the inputs enabled.
    RowsWritable = 1,
    /// The choice of a line for a new evidence file.
    EvidenceLines = 2,
}

impl SheetHtml {
    const COUNT: usize = 3;
}

impl SheetParts {
    /// `piece` as rendered by `render` the first time it is asked for.
    pub(crate) fn html(
        &self,
        piece: SheetHtml,
        render: impl FnOnce() -> AppResult<String>,
    ) -> AppResult<crate::gzip::Piece> {
        // written only by those who may read all of it: compressed once (`crate::gzip`)
        crate::view::rendered_once(&self.html[piece as usize], crate::gzip::Piece::compressible, render)
    }
}

fn view(ctx: &Ctx, year: i32, sh: &Sheet, now: &str) -> SheetView {
    let (parts, shared) = match &sh.typed {
        // what is typed: for this answer only
        Some(_) => (Arc::new(sheet_parts(sh)), false),
        None => (sh.y.sheet_parts(sh.unit_id, || sheet_parts(sh)), true),
    };
    let compute_errors = match &parts.errors {
        Some(v) => {
            let sees_all = decide(&ctx.actor, Action::ReviewGroupYear, &sh.t).is_ok();
            super::chain::own_errors(v.clone(), &sh.unit_name, sees_all)
        }
        None => vec![],
    };
    let who_am_i = writer(ctx, sh);
    let phase = sh.y.phase.clone();
    let write = wf::may_write(&who_am_i, Stage::SelfAssessment, &sh.sheet, phase.clone(), now, &sh.y.deadlines);
    let sub = wf::may_submit(&who_am_i, &sh.sheet, &phase, now, &sh.y.deadlines);
    let (state, submitted_at) = match &sh.sheet {
        SheetState::Draft => ("draft", None),
        SheetState::Submitted { at, .. } => ("submitted", Some(at.clone())),
        SheetState::Reopened { .. } => ("reopened", None),
    };
    SheetView {
        group_id: sh.y.g.id,
        group_name: sh.y.g.name.clone(),
        year,
        unit_id: sh.unit_id,
        unit_name: sh.unit_name.clone(),
        table_version: sh.y.table.as_ref().map(|t| t.0),
        state: state.into(),
        submitted_by: sh.submitted_by.clone(),
        submitted_at,
        deadline: sh.y.deadlines.self_assessment.map(|d| d.to_string()),
        lines: parts.lines.clone(),
        bonus: parts.bonus.clone(),
        penalties: parts.penalties.clone(),
        total: parts.total.clone(),
        class: parts.class.clone(),
        explanation: parts.explanation.clone(),
        compute_errors,
        may_write: write.is_ok() && sh.y.table.is_some(),
        may_add_evidence: write.is_ok() && sh.y.table.is_some(),
        write_refusal: write.err().map(|e| e.message),
        may_submit: sub.is_ok() && sh.y.table.is_some(),
        submit_refusal: sub.err().map(|e| e.message),
        phase: phase.label(),
        shared: shared.then(|| parts.clone()),
    }
}

/// Builds the parts of a unit's sheet (the typed values, if any, in place of the stored ones).
fn sheet_parts(sh: &Sheet) -> SheetParts {
    let entries: &wf::Entries = sh.typed.as_ref().unwrap_or(&sh.y.entries);
    let mine = |code: &str| wf::latest(entries, sh.unit_id, code, Stage::SelfAssessment);
    let base = |code: &str| wf::latest_any(entries, sh.unit_id, code);
    let who = |seq: u64| sh.y.row(seq);
    let mut result: Option<Arc<UnitResult>> = None;
    let mut errors = None;
    if let Some((_, table)) = &sh.y.table {
        let computed = match &sh.typed {
            Some(typed) => {
                let inputs = wf::unit_inputs(table, &sh.y.bases(), typed, |l| wf::latest_of(l, Stage::SelfAssessment));
                compute_with(table, &inputs, Explain::Unit(sh.unit_id))
                    .map(|r| r.units.into_iter().find(|u| u.unit_id == sh.unit_id).map(Arc::new))
            }
            None => match &sh.own {
                Some(own) => own.clone(),
                None => {
                    sh.y.self_result().map(|r| r.units.iter().find(|u| u.unit_id == sh.unit_id).cloned().map(Arc::new))
                }
            },
        };
        match computed {
            Ok(r) => result = r,
            Err(v) => errors = Some(v),
        }
    }
    let steps = |code: &str| -> Vec<String> {
        result.as_ref().map(|r| r.explanation.for_line(code).map(|s| s.text.clone()).collect()).unwrap_or_default()
    };
    let targets = sh.y.targets_of(sh.unit_id);
    let mut lines = vec![];
    let (mut bonus, mut penalties) = (vec![], vec![]);
    if let Some((_, table)) = &sh.y.table {
        fn walk<'a>(
            l: &'a thidua_core::scoring::Line,
            depth: u32,
            out: &mut Vec<(u32, &'a thidua_core::scoring::Line)>,
        ) {
            out.push((depth, l));
            for ch in &l.children {
                walk(ch, depth + 1, out);
            }
        }
        let mut all = vec![];
        for l in &table.lines {
            walk(l, 0, &mut all);
        }
        for (depth, l) in all {
            let cur = mine(&l.code);
            let (value, reason) = cur.map(|e| value_text(&e.value, l.method.as_ref())).unwrap_or_default();
            let latest = base(&l.code);
            let writer = latest.and_then(|e| who(e.seq));
            lines.push(SheetLine {
                code: l.code.clone(),
                name: l.name.clone(),
                depth,
                leaf: l.is_leaf(),
                method: l.method.as_ref().map(|m| method_code(m).to_string()),
                method_label: l.method.as_ref().map(|m| m.label().to_string()).unwrap_or_default(),
                max: l.max.to_string(),
                levels: match &l.method {
                    Some(Method::Qualitative { levels }) => levels.iter().map(|lv| lv.label.clone()).collect(),
                    _ => vec![],
                },
                target: targets.get(&l.code).map(|p| p.to_string()),
                value,
                reason,
                base_seq: latest.map(|e| e.seq as i64),
                by: writer.map(|r| r.by_name.clone()),
                at: writer.map(|r| r.at.clone()),
                points: result.as_ref().and_then(|r| r.line(&l.code)).map(|x| x.points.to_string()),
                explanation: steps(&l.code),
                evidence: if l.is_leaf() { evidence_of(sh, entries, &l.code) } else { vec![] },
                evidence_required: l.evidence_required,
            });
        }
        let adjust = |a: &AdjustLine, res: Option<&Vec<thidua_core::scoring::AdjustResult>>| SheetAdjust {
            code: a.code.clone(),
            name: a.name.clone(),
            per: a.per.to_string(),
            cap: a.cap.map(|c| c.to_string()),
            value: mine(&a.code).map(|e| value_text(&e.value, None).0).unwrap_or_default(),
            base_seq: base(&a.code).map(|e| e.seq as i64),
            points: res.and_then(|v| v.iter().find(|x| x.code == a.code)).map(|x| x.points.to_string()),
            explanation: steps(&a.code),
        };
        bonus = table
            .bonus
            .iter()
            .filter(|a| !a.secretariat_only)
            .map(|a| adjust(a, result.as_ref().map(|r| &r.bonus_lines)))
            .collect();
        penalties = table
            .penalties
            .iter()
            .filter(|a| !a.secretariat_only)
            .map(|a| adjust(a, result.as_ref().map(|r| &r.penalty_lines)))
            .collect();
    }
    let figures = |f: thidua_core::scoring::Figure| -> Vec<String> {
        result.as_ref().map(|r| r.explanation.for_figure(f).map(|s| s.text.clone()).collect()).unwrap_or_default()
    };
    let mut explanation = figures(thidua_core::scoring::Figure::Total);
    // how the compared total was reached, when the class goes by another total
    if result.as_ref().is_some_and(|r| r.compared_differs()) {
        explanation.extend(figures(thidua_core::scoring::Figure::Compared));
    }
    explanation.extend(figures(thidua_core::scoring::Figure::Class));
    SheetParts {
        lines: Arc::new(lines),
        bonus: Arc::new(bonus),
        penalties: Arc::new(penalties),
        total: result.as_ref().map(|r| r.total.to_string()),
        class: result.as_ref().and_then(|r| r.class.as_ref()).map(|c| c.label.clone()),
        explanation: Arc::new(explanation),
        errors,
        html: Default::default(),
    }
}

/// The evidence keys of a unit's line: those of its latest own entry (self-assessment or explanation).
fn own_evidence(entries: &wf::Entries, unit: i64, code: &str) -> Vec<String> {
    wf::own_latest(entries, unit, code).map(|e| e.evidence.clone()).unwrap_or_default()
}

fn evidence_of(sh: &Sheet, entries: &wf::Entries, code: &str) -> Vec<super::chain::EvidenceLink> {
    own_evidence(entries, sh.unit_id, code)
        .iter()
        .filter_map(|k| k.parse::<i64>().ok())
        .filter_map(|id| sh.y.evidence.iter().find(|f| f.id == id))
        .map(|f| super::chain::EvidenceLink { id: f.id, file_name: f.file_name.clone(), size_bytes: f.size_bytes })
        .collect()
}

/// The most lines one save may carry.
pub const MAX_LINES: usize = 2000;

/// Refuses a save that carries too many lines, a line twice, or a reason too long.
pub(super) fn check_lines(lines: &[LineInput]) -> AppResult<()> {
    if lines.len() > MAX_LINES {
        return Err(AppError::invalid("Phiếu", format!("Một lần ghi có tối đa {MAX_LINES} dòng.")));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut errs = vec![];
    for l in lines {
        let code = l.line_code.trim();
        if !seen.insert(code) {
            errs.push(Invalid::new(code, format!("Dòng {code} có hai lần trong cùng một lần ghi: chỉ ghi một lần.")));
        }
        if l.reason.chars().count() > 1000 || l.remark.chars().count() > 2000 || l.value.chars().count() > 200 {
            errs.push(Invalid::new(code, format!("{code}: giá trị hoặc lý do quá dài (lý do tối đa 1000 ký tự).")));
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(AppError::Invalid(errs)) }
}

/// A write transaction that holds the group-year's lock before anything is read.
async fn locked(st: &AppState, group_id: i64, year: i32) -> AppResult<Tx> {
    let mut tx = st.db.begin().await?;
    if let Some(gy) = q::find_group_year(&mut tx, group_id, year).await? {
        sc::lock(&mut tx, gy).await?;
    }
    Ok(tx)
}

/// Parses what was typed for a line of the table: a leaf's value by its
/// method, or a bonus or penalty line's number of occurrences (empty: 0).
pub(super) fn parse_typed(table: &ScoringTable, code: &str, text: &str, reason: &str) -> Result<RawValue, Invalid> {
    if let Some(l) = table.find(code).filter(|l| l.is_leaf()) {
        l.parse_value(text, reason)
    } else if table.find_bonus(code).or_else(|| table.find_penalty(code)).is_some() {
        match text.parse::<u32>() {
            Ok(n) => Ok(RawValue::Count(n)),
            Err(_) if text.is_empty() => Ok(RawValue::Count(0)),
            Err(_) => Err(Invalid::new(
                code,
                format!("{code}: \"{text}\" không phải là số lần: ghi số nguyên không âm, ví dụ 2."),
            )),
        }
    } else {
        Err(Invalid::new(
            code,
            format!(
                "Bảng chấm điểm đang có hiệu lực không có tiêu chí, dòng thưởng hay dòng trừ mã {code}: tải lại trang."
            ),
        ))
    }
}

fn values_json(year: i32, unit: &str, values: &[(String, Option<RawValue>)]) -> Value {
    let lines: serde_json::Map<String, Value> =
        values.iter().map(|(c, v)| (c.clone(), serde_json::to_value(v).unwrap_or(Value::Null))).collect();
    json!({ "year": year, "unit": unit, "lines": lines })
}

// ---------- operations ----------

/// A unit's self-assessment sheet: the lines of the table in force with the
/// unit's values, the computed figures, and what the caller may do.
pub async fn sheet(st: &AppState, ctx: &Ctx, group_id: i64, year: i32, unit_id: i64) -> AppResult<SheetView> {
    // The kept group-year when nothing changed since (one statement, no
    // transaction), for a sheet the caller may see that is not submitted
    // (whose signer is read from the database); anything else (a denial to
    // record among them) takes the way below.
    if let Some(y) = st.years.current(&st.db, ctx.head, group_id, year).await? {
        let t = y.target(Some(unit_id));
        let sheet = y.sheet(unit_id);
        let member = y.members.iter().find(|m| m.0 == unit_id).map(|m| m.1.clone());
        if let Some(unit_name) = member
            && decide(&ctx.actor, Action::ViewSheet, &t).is_ok()
            && !matches!(sheet, SheetState::Submitted { .. })
        {
            st.years.answered_current();
            // the figures, unless the sheet is kept built
            let own = if y.has_sheet_parts(unit_id) { None } else { Some(y.own_self_result(unit_id).await) };
            let sh = Sheet { y, t, unit_id, unit_name, sheet, submitted_by: None, typed: None, own };
            return Ok(view(ctx, year, &sh, &thidua_db::now()));
        }
    }
    let tx = st.db.read().await?;
    let (tx, mut sh) = open(st, ctx, tx, group_id, year, unit_id).await?;
    tx.rollback().await?;
    if !sh.y.has_sheet_parts(unit_id) {
        sh.own = Some(sh.y.own_self_result(unit_id).await);
    }
    Ok(view(ctx, year, &sh, &thidua_db::now()))
}

/// What a save stores: the new entries, and each changed line's value before and after.
struct Planned {
    changed: Vec<ScoreEntry>,
    before: Vec<(String, Option<RawValue>)>,
    after: Vec<(String, Option<RawValue>)>,
}

/// The entries a save is checked against: the group-year's, or only the
/// unit's with those appended after the group-year's copy (`newer`, by id).
struct Known<'a> {
    entries: &'a wf::Entries,
    seen: &'a crate::years::InBatch,
    y: &'a Year,
}

impl Known<'_> {
    /// The stored row of an entry.
    fn row(&self, seq: u64) -> Option<&EntryRow> {
        self.seen.row(seq as i64).or_else(|| self.y.row(seq))
    }
}

/// Checks a save against the sheet as `sh` and `known` hold it: whether the
/// caller may write now, each typed value, and that each changed line is
/// still as the form had it. Refused as a whole, with every reason, or
/// nothing changed.
#[allow(clippy::too_many_arguments)]
fn plan(
    ctx: &Ctx,
    sh: &Sheet,
    known: &Known<'_>,
    year: i32,
    input: &SaveInput,
    note: &str,
    now: &str,
) -> Result<Planned, Refusal> {
    let table = the_table(sh, year)?;
    let who = writer(ctx, sh);
    if let Err(refusal) =
        wf::may_write(&who, Stage::SelfAssessment, &sh.sheet, sh.y.phase.clone(), now, &sh.y.deadlines)
    {
        return Err(Refusal::Refused {
            object: object(sh.y.g.id, year, sh.unit_id),
            authority_id: sh.y.g.authority_id,
            refusal,
        });
    }
    let unit_id = sh.unit_id;
    let entries = known.entries;
    let by_unit = ctx.actor.unit_ids().contains(&unit_id).then_some(unit_id);
    let mut errs: Vec<Invalid> = vec![];
    let mut p = Planned { changed: vec![], before: vec![], after: vec![] };
    for li in &input.lines {
        let code = li.line_code.trim();
        let text = li.value.trim();
        let old = wf::latest(entries, unit_id, code, Stage::SelfAssessment).map(|e| e.value.clone());
        let leaf = table.find(code).is_some_and(|l| l.is_leaf());
        if leaf && text.is_empty() && old.is_none() {
            continue;
        }
        let value = match parse_typed(table, code, text, &li.reason) {
            Ok(v) => v,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        let unchanged = match &old {
            Some(o) => *o == value,
            None => value == RawValue::Count(0),
        };
        if unchanged {
            continue;
        }
        let e = ScoreEntry {
            unit_id,
            line_code: code.to_string(),
            stage: Stage::SelfAssessment,
            value: value.clone(),
            reason: note.to_string(),
            evidence: own_evidence(entries, unit_id, code),
            by_user: ctx.user.id,
            by_unit,
            at: now.to_string(),
            seq: 0,
        };
        if let Err(x) = wf::check_entry(&e, table, &sh.unit_name) {
            errs.push(x);
            continue;
        }
        let latest = wf::latest_any(entries, unit_id, code);
        let latest_row = latest.and_then(|l| known.row(l.seq));
        if let Err(x) = wf::check_base(
            latest.map(|l| l.seq),
            li.base_seq.and_then(|b| u64::try_from(b).ok()),
            latest_row.map(|r| r.by_name.as_str()).unwrap_or(""),
            latest_row.map(|r| r.at.as_str()).unwrap_or(""),
        ) {
            errs.push(Invalid::new(code, format!("{code}: {}", x.message)));
            continue;
        }
        p.before.push((code.to_string(), old));
        p.after.push((code.to_string(), Some(value)));
        p.changed.push(e);
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs).into());
    }
    if p.changed.is_empty() {
        return Err(AppError::invalid("Phiếu tự chấm", "Không có dòng nào thay đổi: chưa lưu gì.").into());
    }
    Ok(p)
}

/// Saves a draft: every changed line becomes a new self-assessment entry, in
/// one transaction. Refused as a whole (nothing stored) when a value is
/// invalid, when a line was saved by someone else since the form was loaded,
/// or when the sheet is locked (submitted, past the deadline).
///
/// The save is checked and written in its part of a batch of writes
/// (`thidua_db::batch`), on the group-year as the batch sees it: several
/// saves arriving together are committed together, and each is acknowledged
/// only once the commit holding it is done. The checks are in memory (the
/// kept group-year and the entries appended since), so a refused save holds
/// the batch no longer than an accepted one.
pub async fn save(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    unit_id: i64,
    input: &SaveInput,
) -> AppResult<SavedSheet> {
    let note = input.note.split_whitespace().collect::<Vec<_>>().join(" ");
    if note.chars().count() > 1000 {
        return Err(AppError::invalid("Ghi chú", "Ghi chú quá dài (tối đa 1000 ký tự)."));
    }
    check_lines(&input.lines)?;
    // a group-year that is not kept is loaded first, here: the batch's own
    // connection does not load one, and the writes' thread has better to do
    if st.writes.is_shared() {
        st.years.warm(&st.db, group_id, year).await;
    }
    // the write, on the writes' own thread (it runs to its end even if this request is given up)
    let requests = tokio::runtime::Handle::current();
    let (st, ctx, input) = (st.clone(), ctx.clone(), input.clone());
    let writes = st.writes.clone();
    let writer = async move { save_in_batch(&st, &ctx, &requests, group_id, year, unit_id, &input, &note).await };
    writes.run(tracing::Instrument::in_current_span(writer)).await?
}

/// A save's part of a batch of writes, its outcome and, once committed,
/// what the cache may keep. `requests`: the requests' runtime, where a
/// refused save's denial that could not join the batch is recorded on its
/// own (a write transaction of the pool driven from the writes' thread could
/// wait for the next batch's lock while that batch waited for the thread).
#[allow(clippy::too_many_arguments)]
async fn save_in_batch(
    st: &AppState,
    ctx: &Ctx,
    requests: &tokio::runtime::Handle,
    group_id: i64,
    year: i32,
    unit_id: i64,
    input: &SaveInput,
    note: &str,
) -> AppResult<SavedSheet> {
    // a group-year that the batch's own connection cannot bring up to date is
    // loaded outside the turn, and the turn taken again (a few times at most)
    let mut loads = 0;
    let (b, outcome) = loop {
        let mut b = st.writes.begin().await?;
        match write_save(st, ctx, &mut b, group_id, year, unit_id, input, note).await {
            Err(Refusal::Load(head)) if loads < 3 => {
                loads += 1;
                // nothing written: only a batch SQLite ended by itself fails here, and the next turn begins another
                if let Err(x) = b.rollback().await {
                    tracing::warn!(error = %x, "a save's turn given back to load its group-year failed");
                }
                st.years.load_now(&st.db, group_id, year, head).await?;
            }
            outcome => break (b, outcome),
        }
    };
    let written = match outcome {
        Ok(w) => w,
        Err(e) => {
            let (denial, answer) = match e {
                Refusal::Denied { action, authority_id, object, reason } => (
                    Some(denial_of(&ctx.meta, Some(ctx), action.code(), &object, &reason, authority_id)),
                    AppError::Forbidden(reason),
                ),
                Refusal::Refused { object, authority_id, refusal } => (
                    Some(denial_of(&ctx.meta, Some(ctx), "write_score", &object, &refusal.message, Some(authority_id))),
                    AppError::Invalid(vec![refusal]),
                ),
                Refusal::Other(e) => (None, e),
                Refusal::Load(_) => {
                    tracing::warn!(
                        group_id,
                        year,
                        "a save's group-year changed at every load: the save was not stored"
                    );
                    (
                        None,
                        AppError::Conflict(
                            "Dữ liệu chấm điểm của cụm, khối vừa thay đổi nhiều lần trong lúc lưu nên phiếu chưa \
                             được lưu. Hãy bấm «Lưu nháp» lại sau ít giây."
                                .into(),
                        ),
                    )
                }
            };
            // a refusal's denial is this writer's part of the batch: it
            // shares the batch's commit (right after a deadline many late
            // saves come at once, and each waiting for the write lock on its
            // own would hold up the batches); recorded on its own only if
            // that fails. The refusal is answered either way.
            let b = match denial {
                Some(d) => match denial_in_batch(b, d).await {
                    Ok(()) => return Err(answer),
                    Err((b, d, x)) => {
                        tracing::warn!(error = %x, "a refused save's denial could not join the batch");
                        if let Some(b) = b
                            && let Err(x) = b.rollback().await
                        {
                            tracing::error!(error = %x, "a refused save's part could not be rolled back");
                        }
                        let db = st.db.clone();
                        drop(requests.spawn(async move { crate::auth::record(&db, d).await }));
                        return Err(answer);
                    }
                },
                None => b,
            };
            if let Err(x) = b.rollback().await {
                tracing::error!(error = %x, "a refused save's part could not be rolled back");
            }
            return Err(answer);
        }
    };
    b.commit().await?;
    let Written { seen, appended, logged, answer } = written;
    st.years.saved(group_id, year, seen, appended, logged);
    Ok(answer)
}

/// Records a refused save's denial as the writer's part of its batch, and
/// returns once the commit holding it is done. On failure, the batch (if the
/// writer still holds it) and the entry, to record it otherwise.
async fn denial_in_batch(
    mut b: thidua_db::batch::Batch,
    denial: thidua_db::audit::Entry,
) -> Result<(), (Option<thidua_db::batch::Batch>, thidua_db::audit::Entry, thidua_db::DbError)> {
    let appended = thidua_db::audit::append_in(&mut b, denial.clone()).await.map(|_| ());
    if let Err(e) = appended {
        return Err((Some(b), denial, e));
    }
    // kept through `open`, the part drops the batch's memo of the log's head
    // (`years::BatchSeen`): the saves after it in the batch read it again.
    // Once committed, or failed with its batch (then nothing of it is stored)
    b.commit().await.map_err(|e| (None, denial, e))
}

/// What a save stored: each line it changed with its new entry. The sheet's
/// figures are not computed again for it: the sheet (`GET`) shows them, and
/// the preview computes them as the officer types.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SavedSheet {
    pub group_id: i64,
    pub year: i32,
    pub unit_id: i64,
    pub unit_name: String,
    /// draft | reopened
    pub state: String,
    /// When the save was stored (UTC).
    pub saved_at: String,
    /// The lines this save changed, each with the id of its new entry: the
    /// `base_seq` of the line's next save.
    pub lines: Vec<SavedLine>,
}

/// A line a save changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SavedLine {
    pub code: String,
    /// The id of the new entry.
    pub base_seq: i64,
    /// The value as the sheet shows it, and the reason of a manual score.
    pub value: String,
    pub reason: String,
}

/// A save written in its part of a batch, to be acknowledged after the commit.
struct Written {
    /// The group-year the save was checked against.
    seen: crate::years::InBatch,
    /// The rows it appended.
    appended: Vec<EntryRow>,
    /// The id of its log entry.
    logged: i64,
    answer: SavedSheet,
}

/// Why a write in a batch was refused. A denial (by the policy or the
/// workflow) is recorded as the writer's part of the batch, in place of the
/// save ([`denial_in_batch`]).
enum Refusal {
    Denied {
        action: Action,
        authority_id: Option<i64>,
        object: String,
        reason: String,
    },
    /// Refused by the workflow (the date, the stage, a locked sheet): an invalid input, also recorded as a denial.
    Refused {
        object: String,
        authority_id: i64,
        refusal: Invalid,
    },
    Other(AppError),
    /// The group-year must be loaded outside the batch's turn first, as of
    /// this log id at least ([`crate::years::Years::load_now`]).
    Load(i64),
}

impl<E: Into<AppError>> From<E> for Refusal {
    fn from(e: E) -> Self {
        Refusal::Other(e.into())
    }
}

/// The write of a save in its part of a batch: the sheet as the batch sees
/// it, the policy and the checks again, the entries and the audit entry.
#[allow(clippy::too_many_arguments)]
async fn write_save(
    st: &AppState,
    ctx: &Ctx,
    b: &mut thidua_db::batch::Batch,
    group_id: i64,
    year: i32,
    unit_id: i64,
    input: &SaveInput,
    note: &str,
) -> Result<Written, Refusal> {
    // PostgreSQL: the group-year's lock before anything is read (a save, a
    // submission or finalising committed while this one waited must be seen);
    // SQLite: the batch's transaction already is the lock
    if let Some(tx) = b.tx()
        && tx.backend() == thidua_db::Backend::Postgres
        && let Some(gy) = q::find_group_year(tx, group_id, year).await?
    {
        sc::lock(tx, gy).await?;
    }
    // as an earlier save of the batch left it, else read
    let seen = match b.memo::<crate::years::BatchSeen>().and_then(|m| m.get(group_id, year)) {
        Some(seen) => {
            st.years.answered_from_batch();
            seen
        }
        None => st.years.in_batch(b, group_id, year).await?.map_err(Refusal::Load)?,
    };
    let y = seen.year.clone();
    let t = y.target(Some(unit_id));
    if let Err(denied) = decide(&ctx.actor, Action::ViewSheet, &t) {
        return Err(Refusal::Denied {
            action: Action::ViewSheet,
            authority_id: t.authority_path.first().copied(),
            object: object(group_id, year, unit_id),
            reason: denied.to_string(),
        });
    }
    let unit_name = y.members.iter().find(|m| m.0 == unit_id).map(|m| m.1.clone()).ok_or(AppError::NotFound)?;
    let sheet = y.sheet(unit_id);
    let sh = Sheet { y, t, unit_id, unit_name, sheet, submitted_by: None, typed: None, own: None };
    let now = thidua_db::now();
    // the unit's entries on the lines saved, as the batch sees them
    let codes: std::collections::HashSet<&str> = input.lines.iter().map(|l| l.line_code.trim()).collect();
    let mut own: Vec<ScoreEntry> =
        sh.y.entries.of_unit(unit_id).iter().filter(|e| codes.contains(e.line_code.as_str())).cloned().collect();
    own.extend(
        seen.newer().filter(|r| r.unit_id == unit_id && codes.contains(r.line_code.as_str())).filter_map(to_entry),
    );
    let own = wf::Entries::new(own);
    let known = Known { entries: &own, seen: &seen, y: &sh.y };
    let p = plan(ctx, &sh, &known, year, input, note, &now)?;
    let table = the_table(&sh, year)?;
    let rows = p.changed.iter().map(super::chain::new_entry).collect::<AppResult<Vec<_>>>()?;
    let mut a = ctx.entry("score.save", "unit", unit_id);
    a.authority_id = Some(sh.y.g.authority_id);
    a.before = Some(values_json(year, &sh.unit_name, &p.before));
    a.after = Some(values_json(year, &sh.unit_name, &p.after));
    a.reason = (!note.is_empty()).then(|| note.to_string());
    // the entries and the log entry in one call (nothing fallible after it)
    let (ids, head) = sc::append_logged(b, sh.y.gy, &rows, a, &seen.since).await?;
    let logged = head.0;
    let mut appended = Vec::with_capacity(ids.len());
    let mut lines = Vec::with_capacity(ids.len());
    for (e, id) in p.changed.iter().zip(ids) {
        appended.push(super::chain::entry_row(sh.y.gy, id, e, &ctx.user.username));
        let (value, reason) = value_text(&e.value, table.find(&e.line_code).and_then(|l| l.method.as_ref()));
        lines.push(SavedLine { code: e.line_code.clone(), base_seq: id, value, reason });
    }
    // for the next saves of the batch
    if let Some(m) = b.memo::<crate::years::BatchSeen>() {
        m.record(group_id, year, &seen, &appended, head);
    }
    let state = match sh.sheet {
        SheetState::Reopened { .. } => "reopened",
        _ => "draft",
    };
    let answer = SavedSheet {
        group_id,
        year,
        unit_id,
        unit_name: sh.unit_name.clone(),
        state: state.into(),
        saved_at: now,
        lines,
    };
    Ok(Written { seen, appended, logged, answer })
}

/// The answer of a write that committed: the sheet read again after the
/// commit (outside the write lock, with what others wrote since). Should that
/// read fail, `stored` (the sheet as the write left it) answers instead: the
/// write is done, and an error now would have the user write it again.
async fn answer(
    st: &AppState,
    ctx: &Ctx,
    year: i32,
    (group_id, unit_id): (i64, i64),
    stored: impl FnOnce() -> Sheet,
    now: &str,
) -> AppResult<SheetView> {
    match sheet(st, ctx, group_id, year, unit_id).await {
        Ok(v) => Ok(v),
        Err(e) => {
            tracing::warn!(error = %e, "the sheet could not be read again after a committed write; answering from the write");
            Ok(view(ctx, year, &stored(), now))
        }
    }
}

/// The unit's leader signs and submits the sheet before the deadline: the sheet is then locked.
pub async fn submit(st: &AppState, ctx: &Ctx, group_id: i64, year: i32, unit_id: i64) -> AppResult<SheetView> {
    let tx = locked(st, group_id, year).await?;
    let (mut tx, sh) = open(st, ctx, tx, group_id, year, unit_id).await?;
    the_table(&sh, year)?;
    let now = thidua_db::now();
    let who = writer(ctx, &sh);
    let state = match wf::submit(&who, &sh.sheet, &sh.y.phase, ctx.user.id, &now, &sh.y.deadlines) {
        Ok(state) => state,
        Err(refusal) => {
            tx.rollback().await?;
            let object = object(group_id, year, unit_id);
            return Err(super::refused_write(st, ctx, "submit_sheet", &object, sh.y.g.authority_id, refusal).await);
        }
    };
    sc::set_submitted(&mut tx, sh.y.gy, unit_id, ctx.user.id, &now).await?;
    let mut a = ctx.entry("score.submit", "unit", unit_id);
    a.authority_id = Some(sh.y.g.authority_id);
    a.before = Some(json!({ "year": year, "unit": sh.unit_name, "sheet": sh.sheet }));
    a.after = Some(json!({ "year": year, "unit": sh.unit_name, "sheet": state }));
    audit::append(&mut tx, a).await?;
    tx.commit().await?;
    let submitted_by = Some(ctx.user.username.clone());
    answer(st, ctx, year, (group_id, unit_id), || Sheet { sheet: state, submitted_by, ..sh }, &now).await
}

/// The figures the sheet would have with what is typed, without storing
/// anything (our script shows them while the officer types). Lines whose
/// value cannot be read are left as stored and reported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    pub total: Option<String>,
    pub class: Option<String>,
    /// (line code, points) of every line with points.
    pub points: Vec<(String, String)>,
    /// Why a typed value was left out, in Vietnamese.
    pub problems: Vec<String>,
}

pub async fn preview(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    unit_id: i64,
    input: &SaveInput,
) -> AppResult<Preview> {
    let tx = st.db.read().await?;
    let (tx, mut sh) = open(st, ctx, tx, group_id, year, unit_id).await?;
    tx.rollback().await?;
    let table = the_table(&sh, year)?.clone();
    let now = thidua_db::now();
    let mut typed = sh.y.entries.clone();
    let mut next = typed.last_seq();
    let mut problems = vec![];
    for li in input.lines.iter().take(2000) {
        let code = li.line_code.trim();
        let text = li.value.trim();
        if text.is_empty() && table.find(code).is_some_and(|l| l.is_leaf()) {
            continue;
        }
        match parse_typed(&table, code, text, &li.reason) {
            Ok(value) => {
                next += 1;
                typed.push(ScoreEntry {
                    unit_id,
                    line_code: code.to_string(),
                    stage: Stage::SelfAssessment,
                    value,
                    reason: String::new(),
                    evidence: vec![],
                    by_user: ctx.user.id,
                    by_unit: Some(unit_id),
                    at: now.clone(),
                    seq: next,
                });
            }
            Err(e) => problems.push(e.message),
        }
    }
    sh.typed = Some(typed);
    let v = view(ctx, year, &sh, &now);
    problems.extend(v.compute_errors.iter().cloned());
    let mut points: Vec<(String, String)> =
        v.lines.iter().filter_map(|l| l.points.clone().map(|p| (l.code.clone(), p))).collect();
    points
        .extend(v.bonus.iter().chain(v.penalties.iter()).filter_map(|a| a.points.clone().map(|p| (a.code.clone(), p))));
    Ok(Preview { total: v.total, class: v.class, points, problems })
}

/// A member unit whose sheet the caller may read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SheetLink {
    pub unit_id: i64,
    pub name: String,
    /// Whether the caller works for this unit.
    pub own: bool,
}

/// The sheets of a group-year the caller may read (`Action::ViewSheet` on
/// each member): the caller's own unit, or every member for the head and
/// deputy units and the authority's readers.
pub async fn readable_sheets(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
) -> AppResult<(GroupRow, Vec<SheetLink>)> {
    let mut tx = st.db.read().await?;
    let g = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let path = q::authority_path(&mut tx, g.authority_id).await?;
    let gctx = q::group_ctx(&mut tx, g.id, Some(year)).await?;
    let t = Target::group(path.clone(), gctx.clone());
    tx = authorize(st, ctx, tx, Action::ViewGroup, &t, &format!("group:{group_id}")).await?;
    let mine = ctx.actor.unit_ids();
    let links = q::members_of_group(&mut tx, group_id)
        .await?
        .into_iter()
        .filter(|m| m.year == year)
        .filter(|m| {
            let t = Target { authority_path: path.clone(), unit_id: Some(m.unit_id), group: Some(gctx.clone()) };
            decide(&ctx.actor, Action::ViewSheet, &t).is_ok()
        })
        .map(|m| SheetLink { unit_id: m.unit_id, own: mine.contains(&m.unit_id), name: m.unit_name })
        .collect();
    tx.rollback().await?;
    Ok((g, links))
}
