//! The score chain of a group-year after the self-assessment: the phase of
//! the year (stored in `score_years`), inspectors' proposals, the head unit's
//! review table with its flags and proposals, the units' explanations, the
//! secretariat's appraisal, finalisation and publication, the results and the
//! public page, and the evidence files of each line. The rules are
//! `thidua_core::workflow`'s; every write appends entries (never changes one)
//! in one transaction with its audit entry.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use serde_json::json;
use thidua_core::Invalid;
use thidua_core::calendar::Event;
use thidua_core::policy::{Action, GroupCtx, Role, Target, decide};
use thidua_core::scoring::{
    Explain, Figure, GroupResult, Line, LineResult, LineStatus, Points, RawValue, ScoringTable, UnitInput, UnitResult,
    compute, compute_with,
};
use thidua_core::workflow::{self as wf, Deadlines, Phase, ScoreEntry, SheetState, Stage, WriteCtx, Writer};
use thidua_db::org::{self as q, GroupRow};
use thidua_db::scores::{self as sc, EntryRow, EvidenceRow, NewEntry, NewEvidence, YearRow};
use thidua_db::scoring as s;
use thidua_db::{Tx, audit, inspection as iq};
use utoipa::ToSchema;

use super::documents::{Download, Upload, check_file, store_file};
use super::scores::{LineInput, event_date, parse_typed, to_entry, value_text};
use super::tables::{in_force_on, parse_content};
use super::{authorize, today};
use crate::AppState;
use crate::auth::{Ctx, record_denial_in};
use crate::error::{AppError, AppResult};
use crate::files::{self, BlobKey};

/// The most evidence files on one line.
pub const MAX_EVIDENCE_PER_LINE: usize = 20;

// ---------- loading ----------

/// Everything the chain's operations need about a group-year.
pub(crate) struct Year {
    pub g: GroupRow,
    pub authority_name: String,
    pub path: Vec<i64>,
    pub gctx: GroupCtx,
    pub gy: i64,
    pub year: i32,
    pub members: Vec<(i64, String)>,
    pub table: Option<(i32, ScoringTable)>,
    pub targets: Vec<s::TargetRow>,
    pub rows: Vec<EntryRow>,
    pub entries: wf::Entries,
    pub sheets: BTreeMap<i64, SheetState>,
    pub phase: Phase,
    pub stored: Option<YearRow>,
    pub deadlines: Deadlines,
    pub evidence: Vec<EvidenceRow>,
    /// inspected unit → inspector unit
    pub inspector_of: BTreeMap<i64, i64>,
    /// The figures, computed once on first use (a cached year is shared).
    computed: Computed,
}

type Computation = Result<GroupResult, Vec<Invalid>>;
/// A unit's figures (none if it is not a member), or why they cannot be computed.
pub(crate) type OwnResult = Result<Option<Arc<UnitResult>>, Vec<Invalid>>;

/// How many units' own figures are computed one by one for a group-year
/// before the whole group's (with every explanation) are computed instead.
const OWN_RESULTS: usize = 2;
/// The figures with the inspection proposals in place, and the lines proposed.
type Inspection = (GroupResult, BTreeSet<(i64, String)>);

#[derive(Default)]
struct Computed {
    selfs: OnceLock<Computation>,
    /// Units' figures on the self-assessment values, each explained for
    /// itself alone (its own sheet), while the whole group's are not computed.
    own_selfs: std::sync::Mutex<BTreeMap<i64, OwnResult>>,
    current: OnceLock<Computation>,
    inspection: OnceLock<Option<Inspection>>,
    line_flags: OnceLock<Vec<wf::Flag>>,
    /// The review table's parts, for the day they were built on.
    review: OnceLock<(chrono::NaiveDate, Arc<ReviewParts>)>,
    /// Each unit's sheet as everyone who may read it sees it.
    sheets: std::sync::Mutex<HashMap<i64, Arc<super::scores::SheetParts>>>,
    /// How many times sheet or review parts were built for this copy.
    parts_built: std::sync::atomic::AtomicUsize,
}

fn no_table() -> Vec<Invalid> {
    vec![]
}

impl Year {
    pub fn target(&self, unit_id: Option<i64>) -> Target {
        Target { authority_path: self.path.clone(), unit_id, group: Some(self.gctx.clone()) }
    }

    pub fn name_of(&self, unit: i64) -> String {
        self.members.iter().find(|m| m.0 == unit).map(|m| m.1.clone()).unwrap_or_default()
    }

    pub fn table(&self) -> AppResult<&ScoringTable> {
        self.table.as_ref().map(|t| &t.1).ok_or_else(|| {
            AppError::invalid(
                "Bảng điểm",
                format!(
                    "{} chưa có bảng chấm điểm năm {} đang có hiệu lực: đơn vị trưởng cần thông qua bảng điểm trước.",
                    self.g.name, self.year
                ),
            )
        })
    }

    pub fn targets_of(&self, unit: i64) -> BTreeMap<String, Points> {
        self.targets
            .iter()
            .filter(|t| t.unit_id == unit)
            .map(|t| (t.line_code.clone(), Points::from_hundredths(t.target)))
            .collect()
    }

    pub fn bases(&self) -> Vec<UnitInput> {
        self.members
            .iter()
            .map(|(id, name)| UnitInput {
                unit_id: *id,
                name: name.clone(),
                targets: self.targets_of(*id),
                ..Default::default()
            })
            .collect()
    }

    pub fn sheet(&self, unit: i64) -> SheetState {
        self.sheets.get(&unit).cloned().unwrap_or(SheetState::Draft)
    }

    /// The same group-year with entries appended since it was loaded (rows
    /// in id order, all after this year's last); its figures are computed
    /// again on first use.
    pub(crate) fn with_new_entries(&self, rows: Vec<EntryRow>) -> Year {
        let mut entries = self.entries.clone();
        for r in &rows {
            if let Some(e) = to_entry(r) {
                entries.push(e);
            }
        }
        let mut all = self.rows.clone();
        all.extend(rows);
        Year {
            g: self.g.clone(),
            authority_name: self.authority_name.clone(),
            path: self.path.clone(),
            gctx: self.gctx.clone(),
            gy: self.gy,
            year: self.year,
            members: self.members.clone(),
            table: self.table.clone(),
            targets: self.targets.clone(),
            rows: all,
            entries,
            sheets: self.sheets.clone(),
            phase: self.phase.clone(),
            stored: self.stored.clone(),
            deadlines: self.deadlines,
            evidence: self.evidence.clone(),
            inspector_of: self.inspector_of.clone(),
            computed: Computed::default(),
        }
    }

    /// The id of the last entry (0 when there is none).
    pub(crate) fn last_row_id(&self) -> i64 {
        self.rows.last().map(|r| r.id).unwrap_or(0)
    }

    /// The stored row of an entry (rows are read in id order).
    pub(crate) fn row(&self, seq: u64) -> Option<&EntryRow> {
        let i = self.rows.binary_search_by_key(&(seq as i64), |r| r.id).ok()?;
        self.rows.get(i)
    }

    /// The evidence files named by an entry.
    pub fn files_of(&self, e: &ScoreEntry) -> Vec<EvidenceLink> {
        e.evidence
            .iter()
            .filter_map(|k| k.parse::<i64>().ok())
            .filter_map(|id| self.evidence.iter().find(|f| f.id == id))
            .map(|f| EvidenceLink { id: f.id, file_name: f.file_name.clone(), size_bytes: f.size_bytes })
            .collect()
    }

    /// A unit's sheet parts, built by `build` the first time they are asked for.
    pub(crate) fn sheet_parts(
        &self,
        unit: i64,
        build: impl FnOnce() -> super::scores::SheetParts,
    ) -> Arc<super::scores::SheetParts> {
        if let Some(p) = self.computed.sheets.lock().unwrap_or_else(|p| p.into_inner()).get(&unit) {
            return p.clone();
        }
        // built outside the lock: two requests may both build, the first kept
        let built = Arc::new(build());
        self.computed.parts_built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.computed.sheets.lock().unwrap_or_else(|p| p.into_inner()).entry(unit).or_insert(built).clone()
    }

    /// How many times sheet or review parts were built for this copy.
    pub(crate) fn parts_built(&self) -> usize {
        self.computed.parts_built.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a unit's sheet parts are kept.
    pub(crate) fn has_sheet_parts(&self, unit: i64) -> bool {
        self.computed.sheets.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&unit)
    }

    /// Computes the figures on the self-assessment values, if not yet done,
    /// on a thread for blocking work: computing a group's figures with their
    /// explanations takes milliseconds, and on the async threads it would
    /// hold back every other request, the writer of a batch of saves too.
    pub async fn with_self_result(self: &Arc<Self>) {
        if self.computed.selfs.get().is_some() {
            return;
        }
        let y = self.clone();
        // a failure here (the task panicked) leaves the figures to the caller
        let _ = tokio::task::spawn_blocking(move || {
            let _ = y.self_result();
        })
        .await;
    }

    /// One unit's figures on the self-assessment values, with its own
    /// explanation (its sheet). The figures need the whole group (a target
    /// criterion compares with the group's leader) but the explanations only
    /// this unit's: computing the group's figures with one unit's explanation
    /// costs a fraction of every unit's. Right after a save a group-year is
    /// read again and usually shown to that one unit; when more units ask,
    /// the whole group's are computed once and serve them all.
    pub async fn own_self_result(self: &Arc<Self>, unit: i64) -> OwnResult {
        let find = move |g: &GroupResult| g.units.iter().find(|u| u.unit_id == unit).cloned().map(Arc::new);
        if let Some(r) = self.computed.selfs.get() {
            return r.as_ref().map(find).map_err(|e| e.clone());
        }
        let asked = {
            let own = self.computed.own_selfs.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(r) = own.get(&unit) {
                return r.clone();
            }
            own.len()
        };
        if asked >= OWN_RESULTS {
            self.with_self_result().await;
            return self.self_result().map(find);
        }
        let y = self.clone();
        let r = tokio::task::spawn_blocking(move || match &y.table {
            None => Err(no_table()),
            Some((_, table)) => {
                let inputs =
                    wf::unit_inputs(table, &y.bases(), &y.entries, |l| wf::latest_of(l, Stage::SelfAssessment));
                compute_with(table, &inputs, Explain::Unit(unit)).map(|g| find(&g))
            }
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "computing a unit's figures failed");
            vec![Invalid::new("Điểm", "Chưa tính được điểm lúc này: hãy tải lại trang sau ít phút.")]
        })?;
        self.computed.own_selfs.lock().unwrap_or_else(|p| p.into_inner()).insert(unit, r.clone());
        r
    }

    /// The figures on the self-assessment values.
    pub fn self_result(&self) -> Result<&GroupResult, Vec<Invalid>> {
        let r = self.computed.selfs.get_or_init(|| {
            let Some((_, table)) = &self.table else { return Err(no_table()) };
            let inputs =
                wf::unit_inputs(table, &self.bases(), &self.entries, |l| wf::latest_of(l, Stage::SelfAssessment));
            compute(table, &inputs)
        });
        r.as_ref().map_err(|e| e.clone())
    }

    /// The figures on the values in force.
    pub fn current_result(&self) -> Result<&GroupResult, Vec<Invalid>> {
        let r = self.computed.current.get_or_init(|| {
            let Some((_, table)) = &self.table else { return Err(no_table()) };
            compute(table, &wf::inputs_in_force(table, &self.bases(), &self.entries))
        });
        r.as_ref().map_err(|e| e.clone())
    }

    /// The figures of the self-assessment with the inspection proposals in
    /// their place, and the lines that have a proposal.
    fn inspection_result(&self) -> Option<&Inspection> {
        self.computed
            .inspection
            .get_or_init(|| {
                let (_, table) = self.table.as_ref()?;
                let (inputs, proposed) = wf::inspection_inputs(table, &self.bases(), &self.entries);
                compute(table, &inputs).ok().map(|r| (r, proposed))
            })
            .as_ref()
    }

    /// The flags of the head review at `now` (those on lines computed once).
    fn review_flags(&self, now: &str) -> Vec<wf::Flag> {
        let Some((_, table)) = &self.table else { return vec![] };
        let bases = self.bases();
        let lines = self.computed.line_flags.get_or_init(|| match (self.self_result(), self.inspection_result()) {
            (Ok(selfs), Some((insps, proposed))) => {
                wf::line_flags(table, &bases, &self.entries, selfs, insps, proposed, &table.review_flags)
            }
            _ => vec![],
        });
        if self.self_result().is_err() || self.inspection_result().is_none() {
            return vec![];
        }
        let sheets: Vec<(i64, SheetState)> = self.members.iter().map(|(u, _)| (*u, self.sheet(*u))).collect();
        let Ok(mut flags) = wf::sheet_flags(&bases, &sheets, &self.deadlines, now) else { return vec![] };
        flags.extend(lines.iter().cloned());
        wf::sort_flags(&mut flags);
        flags
    }
}

/// The table a year's scores are computed with: the version in force on the
/// year's last day (or today, for the current year), else today's.
pub(crate) fn table_of_year(versions: &[s::TableRow], year: i32) -> AppResult<Option<(i32, ScoringTable)>> {
    let day = today().min(chrono::NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_else(today)).to_string();
    let v = in_force_on(versions, &day).or_else(|| in_force_on(versions, &today().to_string()));
    Ok(match v {
        Some(v) => Some((v.version, parse_content(&v.content)?)),
        None => None,
    })
}

/// Loads a group-year (no policy check: the callers authorize).
pub(crate) async fn load(tx: &mut Tx, group_id: i64, year: i32) -> AppResult<Year> {
    let g = q::group(tx, group_id).await?.ok_or(AppError::NotFound)?;
    let path = q::authority_path(tx, g.authority_id).await?;
    let authority_name = q::authority(tx, g.authority_id).await?.map(|a| a.name).unwrap_or_default();
    let mut gctx = q::group_ctx(tx, g.id, Some(year)).await?;
    let gy = q::find_group_year(tx, group_id, year).await?.ok_or(AppError::NotFound)?;
    let pairs = iq::pairs(tx, gy).await?;
    gctx.inspections = pairs.iter().map(|p| (p.inspector_unit_id, p.inspected_unit_id)).collect();
    let inspector_of = pairs.iter().map(|p| (p.inspected_unit_id, p.inspector_unit_id)).collect();
    let members: Vec<(i64, String)> = q::members_of_group(tx, group_id)
        .await?
        .into_iter()
        .filter(|m| m.year == year)
        .map(|m| (m.unit_id, m.unit_name))
        .collect();
    let versions = s::versions(tx, gy).await?;
    let table = table_of_year(&versions, year)?;
    let targets = match s::covenant(tx, gy).await? {
        Some(cv) => s::targets(tx, cv.id).await?,
        None => vec![],
    };
    let rows = sc::entries(tx, gy).await?;
    let entries = rows.iter().filter_map(to_entry).collect();
    let sheets = sc::sheets(tx, gy)
        .await?
        .into_iter()
        .map(|r| {
            let st = match r.state.as_str() {
                "submitted" => SheetState::Submitted {
                    by: r.submitted_by.unwrap_or_default(),
                    at: r.submitted_at.unwrap_or_default(),
                },
                "reopened" => SheetState::Reopened {
                    by: r.reopened_by.unwrap_or_default(),
                    reason: r.reopen_reason.unwrap_or_default(),
                },
                _ => SheetState::Draft,
            };
            (r.unit_id, st)
        })
        .collect();
    let stored = sc::year(tx, gy).await?;
    let phase = stored
        .as_ref()
        .and_then(|r| Phase::from_code(&r.phase, r.decision.as_deref()))
        .unwrap_or(Phase::SelfAssessment);
    let deadlines = Deadlines {
        self_assessment: event_date(tx, &g, gy, year, Event::SelfAssessmentDeadline).await?,
        explanation: event_date(tx, &g, gy, year, Event::Explanation).await?,
    };
    let evidence = sc::evidence(tx, gy).await?;
    Ok(Year {
        g,
        authority_name,
        path,
        gctx,
        gy,
        year,
        members,
        table,
        targets,
        rows,
        entries,
        sheets,
        phase,
        stored,
        deadlines,
        evidence,
        inspector_of,
        computed: Computed::default(),
    })
}

/// The actor's context for writing on a unit's sheet.
pub(crate) fn write_ctx(ctx: &Ctx, y: &Year, unit: i64) -> WriteCtx {
    let own = |role: Role| ctx.actor.grants.iter().any(|g| g.role == role && g.unit_id == Some(unit));
    let mine = ctx.actor.unit_ids();
    let actor_unit = if own(Role::UnitLeader) || own(Role::UnitOfficer) {
        Some(unit)
    } else {
        // the unit that gives the actor a part in this group-year: inspector, head or deputy, else any
        let inspector = y.inspector_of.get(&unit).copied();
        let head = if y.gctx.head_unit == Some(unit) { y.gctx.deputy_unit } else { y.gctx.head_unit };
        [inspector, head].into_iter().flatten().find(|u| mine.contains(u)).or_else(|| mine.first().copied())
    };
    WriteCtx {
        actor_unit,
        actor_is_leader: own(Role::UnitLeader),
        actor_is_secretariat: ctx.actor.has_role(Role::Secretariat)
            && decide(&ctx.actor, Action::Appraise, &y.target(None)).is_ok(),
        sheet_unit: unit,
        inspector_unit: y.inspector_of.get(&unit).copied(),
        head_unit: y.gctx.head_unit,
        deputy_unit: y.gctx.deputy_unit,
    }
}

fn object(y: &Year, unit: Option<i64>) -> String {
    match unit {
        Some(u) => format!("group:{}/year:{}/unit:{u}", y.g.id, y.year),
        None => format!("group:{}/year:{}", y.g.id, y.year),
    }
}

fn audit_entry(ctx: &Ctx, y: &Year, action: &str, unit: Option<i64>) -> audit::Entry {
    let mut a = match unit {
        Some(u) => ctx.entry(action, "unit", u),
        None => ctx.entry(action, "group", y.g.id),
    };
    a.authority_id = Some(y.g.authority_id);
    a
}

// ---------- views ----------

/// The phase and the publication of a group-year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct YearStatus {
    /// self_assessment | inspection | head_review | explanation | appraisal | final | final_reopened
    pub phase: String,
    pub phase_label: String,
    /// The decision that reopened final results.
    pub decision: Option<String>,
    /// When the results were published (UTC), if they are.
    pub published_at: Option<String>,
    /// Whether the public page shows the reasons of the adjustments.
    pub publish_reasons: bool,
    pub self_deadline: Option<String>,
    pub explanation_deadline: Option<String>,
}

fn status(y: &Year) -> YearStatus {
    YearStatus {
        phase: y.phase.code().into(),
        phase_label: y.phase.label(),
        decision: match &y.phase {
            Phase::FinalReopened { decision } => Some(decision.clone()),
            _ => None,
        },
        published_at: y.stored.as_ref().and_then(|r| r.published_at.clone()),
        publish_reasons: y.stored.as_ref().is_some_and(|r| r.publish_reasons == 1),
        self_deadline: y.deadlines.self_assessment.map(|d| d.to_string()),
        explanation_deadline: y.deadlines.explanation.map(|d| d.to_string()),
    }
}

/// An evidence file of a line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceLink {
    pub id: i64,
    pub file_name: String,
    pub size_bytes: i64,
}

/// The latest entry of one stage on a line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Cell {
    pub seq: i64,
    pub value: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}

/// One entry of a line's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryItem {
    pub seq: i64,
    pub stage: String,
    pub stage_label: String,
    pub value: String,
    pub reason: String,
    pub evidence: Vec<EvidenceLink>,
    pub by: String,
    pub at: String,
}

/// One line of a unit's chain: a heading, a criterion, a bonus or a penalty line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainLine {
    pub code: String,
    pub name: String,
    /// heading | criterion | bonus | penalty
    pub kind: String,
    pub depth: u32,
    pub max: String,
    pub method_label: String,
    /// A qualitative criterion's levels, best first.
    pub levels: Vec<String>,
    pub target: Option<String>,
    pub self_value: Option<Cell>,
    pub self_points: Option<String>,
    pub inspection: Option<Cell>,
    pub head_review: Option<Cell>,
    /// Whether the head unit's proposal still waits for the unit's answer.
    pub open_proposal: bool,
    pub explanation: Option<Cell>,
    pub appraisal: Option<Cell>,
    pub final_value: Option<Cell>,
    /// The value in force and its points.
    pub value: String,
    pub points: Option<String>,
    /// How the points in force were computed.
    pub steps: Vec<String>,
    /// The unit's evidence files on this line.
    pub evidence: Vec<EvidenceLink>,
    pub evidence_required: bool,
    /// The base of the next write (the latest entry's sequence number).
    pub base_seq: Option<i64>,
    pub history: Vec<HistoryItem>,
    /// Only the secretariat scores this line (penalties such as the unsigned covenant).
    pub secretariat_only: bool,
}

/// A unit's whole chain for a group-year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainView {
    pub group_id: i64,
    pub group_name: String,
    pub year: i32,
    pub unit_id: i64,
    pub unit_name: String,
    pub status: YearStatus,
    pub table_version: Option<i32>,
    /// draft | submitted | reopened
    pub sheet_state: String,
    pub inspector: Option<String>,
    pub lines: Vec<ChainLine>,
    pub self_total: Option<String>,
    pub total: Option<String>,
    pub class: Option<String>,
    pub rank: Option<u32>,
    /// How the total, the class and the rank in force were computed.
    pub explanation: Vec<String>,
    pub compute_errors: Vec<String>,
    /// The stage the caller writes now (code and label), if any; else why not.
    pub write_stage: Option<String>,
    pub write_stage_label: Option<String>,
    pub write_refusal: Option<String>,
    /// Whether the caller may add evidence files now (the unit, at self-assessment or explanation).
    pub may_add_evidence: bool,
    /// Whether the caller may reopen this unit's sheet (the secretariat).
    pub may_reopen_sheet: bool,
}

fn cell(y: &Year, e: Option<&ScoreEntry>, line: Option<&Line>) -> Option<Cell> {
    let e = e?;
    let r = y.row(e.seq);
    Some(Cell {
        seq: e.seq as i64,
        value: value_text(&e.value, line.and_then(|l| l.method.as_ref())).0,
        reason: match &e.value {
            RawValue::Manual { reason, .. } if e.reason.is_empty() => reason.clone(),
            _ => e.reason.clone(),
        },
        by: r.map(|r| r.by_name.clone()).unwrap_or_default(),
        at: r.map(|r| r.at.clone()).unwrap_or_default(),
    })
}

fn walk<'a>(l: &'a Line, depth: u32, out: &mut Vec<(u32, &'a Line)>) {
    out.push((depth, l));
    for c in &l.children {
        walk(c, depth + 1, out);
    }
}

/// Every line of the table with its depth, in order.
pub(crate) fn lines_of(table: &ScoringTable) -> Vec<(u32, &Line)> {
    let mut all = vec![];
    for l in &table.lines {
        walk(l, 0, &mut all);
    }
    all
}

fn chain_view(ctx: &Ctx, y: &Year, unit: i64, now: &str) -> ChainView {
    let es = &y.entries;
    let selfs = y.self_result().ok();
    // a member sees the other members' figures (rank, their invalid values) only once published
    let sees_all = decide(&ctx.actor, Action::ReviewGroupYear, &y.target(None)).is_ok() || published(y);
    let (current, compute_errors) = match y.current_result() {
        Ok(r) => (Some(r), vec![]),
        Err(v) => (None, own_errors(v, &y.name_of(unit), sees_all)),
    };
    let mine = |r: &Option<&GroupResult>| r.and_then(|r| r.units.iter().find(|u| u.unit_id == unit).cloned());
    let (sres, cres) = (mine(&selfs), mine(&current));
    let targets = y.targets_of(unit);
    let mut lines = vec![];
    let history = |code: &str, line: Option<&Line>| -> Vec<HistoryItem> {
        wf::history(es, unit, code)
            .into_iter()
            .map(|e| {
                let c = cell(y, Some(e), line);
                HistoryItem {
                    seq: e.seq as i64,
                    stage: e.stage.code().into(),
                    stage_label: e.stage.label().into(),
                    value: c.as_ref().map(|c| c.value.clone()).unwrap_or_default(),
                    reason: c.as_ref().map(|c| c.reason.clone()).unwrap_or_default(),
                    evidence: y.files_of(e),
                    by: c.as_ref().map(|c| c.by.clone()).unwrap_or_default(),
                    at: e.at.clone(),
                }
            })
            .collect()
    };
    let one = |code: &str, line: Option<&Line>, kind: &str, depth: u32, max: String, secretariat_only: bool| {
        let leaf = kind != "heading";
        let stage = |st: Stage| if leaf { cell(y, wf::latest(es, unit, code, st), line) } else { None };
        let cur = wf::current(es, unit, code);
        let points_of = |r: &Option<thidua_core::scoring::UnitResult>| -> Option<String> {
            let r = r.as_ref()?;
            match kind {
                "bonus" => r.bonus_lines.iter().find(|x| x.code == code).map(|x| x.points.to_string()),
                "penalty" => r.penalty_lines.iter().find(|x| x.code == code).map(|x| x.points.to_string()),
                _ => {
                    r.line(code).filter(|l| l.status != LineStatus::NotEntered || !l.leaf).map(|l| l.points.to_string())
                }
            }
        };
        ChainLine {
            code: code.to_string(),
            name: String::new(),
            kind: kind.into(),
            depth,
            max,
            method_label: line.and_then(|l| l.method.as_ref()).map(|m| m.label().to_string()).unwrap_or_default(),
            levels: match line.and_then(|l| l.method.as_ref()) {
                Some(thidua_core::scoring::Method::Qualitative { levels }) => {
                    levels.iter().map(|lv| lv.label.clone()).collect()
                }
                _ => vec![],
            },
            target: targets.get(code).map(|p| p.to_string()),
            self_value: stage(Stage::SelfAssessment),
            self_points: if leaf {
                points_of(&sres)
            } else {
                sres.as_ref().and_then(|r| r.line(code)).map(|l| l.points.to_string())
            },
            inspection: stage(Stage::InspectionProposal),
            head_review: stage(Stage::HeadReview),
            open_proposal: leaf && wf::open_proposal(es, unit, code).is_some(),
            explanation: stage(Stage::Explanation),
            appraisal: stage(Stage::Appraisal),
            final_value: stage(Stage::Final),
            value: cur.map(|e| value_text(&e.value, line.and_then(|l| l.method.as_ref())).0).unwrap_or_default(),
            points: points_of(&cres),
            steps: cres
                .as_ref()
                .map(|r| r.explanation.for_line(code).map(|s| s.text.clone()).collect())
                .unwrap_or_default(),
            evidence: wf::own_latest(es, unit, code).map(|e| y.files_of(e)).unwrap_or_default(),
            evidence_required: line.is_some_and(|l| l.evidence_required),
            base_seq: wf::latest_any(es, unit, code).map(|e| e.seq as i64),
            history: if leaf { history(code, line) } else { vec![] },
            secretariat_only,
        }
    };
    let mut compute_ok = false;
    if let Some((_, table)) = &y.table {
        compute_ok = true;
        for (depth, l) in lines_of(table) {
            let kind = if l.is_leaf() { "criterion" } else { "heading" };
            let mut cl = one(&l.code, Some(l), kind, depth, l.max.to_string(), false);
            cl.name = l.name.clone();
            lines.push(cl);
        }
        for (kind, adj) in [("bonus", &table.bonus), ("penalty", &table.penalties)] {
            for a in adj {
                let mut cl = one(&a.code, None, kind, 0, a.per.to_string(), a.secretariat_only);
                cl.name = a.name.clone();
                cl.method_label =
                    format!("{} điểm mỗi lần{}", a.per, a.cap.map(|c| format!(", tối đa {c}")).unwrap_or_default());
                lines.push(cl);
            }
        }
    }
    let wctx = write_ctx(ctx, y, unit);
    let (write_stage, write_refusal) = match wf::stage_for(&wctx, &y.phase) {
        Some((st, w)) => match wf::may_write(&w, st, &y.sheet(unit), y.phase.clone(), now, &y.deadlines) {
            Ok(()) => (Some(st), None),
            Err(e) => (None, Some(e.message)),
        },
        None => (None, Some(no_stage_message(&wctx, &y.phase))),
    };
    let may_add_evidence = compute_ok
        && matches!(write_stage, Some(Stage::SelfAssessment | Stage::Explanation))
        && wctx.actor_unit == Some(unit);
    let figures = |f: Figure| -> Vec<String> {
        cres.as_ref().map(|r| r.explanation.for_figure(f).map(|s| s.text.clone()).collect()).unwrap_or_default()
    };
    let mut explanation = figures(Figure::Total);
    // how the compared total was reached, when the class and rank go by another total
    if cres.as_ref().is_some_and(|r| r.compared_differs()) {
        explanation.extend(figures(Figure::Compared));
    }
    explanation.extend(figures(Figure::Class));
    if sees_all {
        explanation.extend(figures(Figure::Rank));
    }
    ChainView {
        group_id: y.g.id,
        group_name: y.g.name.clone(),
        year: y.year,
        unit_id: unit,
        unit_name: y.name_of(unit),
        status: status(y),
        table_version: y.table.as_ref().map(|t| t.0),
        sheet_state: match y.sheet(unit) {
            SheetState::Draft => "draft",
            SheetState::Submitted { .. } => "submitted",
            SheetState::Reopened { .. } => "reopened",
        }
        .into(),
        inspector: y.inspector_of.get(&unit).map(|i| y.name_of(*i)),
        lines,
        self_total: sres.as_ref().map(|r| r.total.to_string()),
        total: cres.as_ref().map(|r| r.total.to_string()),
        class: cres.as_ref().and_then(|r| r.class.as_ref()).map(|c| c.label.clone()),
        rank: cres.as_ref().filter(|_| sees_all).map(|r| r.rank),
        explanation,
        compute_errors,
        write_stage: write_stage.map(|s| s.code().to_string()),
        write_stage_label: write_stage.map(|s| s.label().to_string()),
        write_refusal,
        may_add_evidence,
        may_reopen_sheet: wctx.actor_is_secretariat && y.phase != Phase::Final,
    }
}

/// The errors of the group's computation a member may see: its own; the
/// others only as a count, unless the caller sees every member.
pub(crate) fn own_errors(errs: Vec<Invalid>, unit_name: &str, sees_all: bool) -> Vec<String> {
    if sees_all {
        return errs.into_iter().map(|e| e.message).collect();
    }
    let n = errs.len();
    let mut mine: Vec<String> = errs.into_iter().map(|e| e.message).filter(|m| m.contains(unit_name)).collect();
    if mine.len() < n {
        mine.push(format!(
            "Phiếu của {} đơn vị khác trong cụm, khối còn giá trị chưa hợp lệ, nên chưa tính được điểm, xếp hạng của cả cụm, khối.",
            n - mine.len()
        ));
    }
    mine
}

fn no_stage_message(w: &WriteCtx, phase: &Phase) -> String {
    if *phase == Phase::Final {
        return "Kết quả cuối cùng của cụm, khối đã chốt và bị khóa.".into();
    }
    let stages: Vec<&str> = phase.open_stages().iter().map(|s| s.label()).collect();
    let who = Writer::resolve(w, phase.open_stages().first().copied().unwrap_or(Stage::SelfAssessment));
    let open = if stages.is_empty() { "không có bước nào".to_string() } else { stages.join(", ") };
    match who {
        Writer::Other => format!(
            "Cụm, khối đang ở bước {} (mở: {open}). Bạn không có phần việc ghi điểm nào trên phiếu này ở bước này.",
            phase.label()
        ),
        _ => format!("Cụm, khối đang ở bước {} (mở: {open}): bước này không do bạn ghi trên phiếu này.", phase.label()),
    }
}

// ---------- reading ----------

/// A unit's chain: every stage's value on every line, evidence, history,
/// the figures in force, and what the caller may write now.
pub async fn unit_chain(st: &AppState, ctx: &Ctx, group_id: i64, year: i32, unit: i64) -> AppResult<ChainView> {
    let mut tx = st.db.read().await?;
    let y = st.years.get(&mut tx, group_id, year).await?;
    if !y.members.iter().any(|m| m.0 == unit) {
        return Err(AppError::NotFound);
    }
    let tx = authorize(st, ctx, tx, Action::ViewSheet, &y.target(Some(unit)), &object(&y, Some(unit))).await?;
    tx.rollback().await?;
    Ok(chain_view(ctx, &y, unit, &thidua_db::now()))
}

/// One member in the review table.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewUnit {
    pub unit_id: i64,
    pub name: String,
    pub role: String,
    /// draft | submitted | reopened
    pub sheet_state: String,
    pub submitted_at: Option<String>,
    pub inspector: Option<String>,
    pub self_total: Option<String>,
    /// The self-assessment with the inspection proposals put in their place.
    pub inspection_total: Option<String>,
    pub total: Option<String>,
    pub class: Option<String>,
    pub rank: Option<u32>,
    pub flags: usize,
    pub missing_evidence: usize,
    pub open_proposals: usize,
}

/// One member's cell on a line of the review table.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewCell {
    pub unit_id: i64,
    pub self_value: String,
    pub self_points: Option<String>,
    pub inspection: Option<String>,
    pub head_review: Option<String>,
    pub explanation: Option<String>,
    pub appraisal: Option<String>,
    /// The points in force.
    pub points: Option<String>,
    pub evidence: usize,
    /// The line requires evidence, the unit scored it and attached none.
    pub missing_evidence: bool,
    pub flagged: bool,
}

/// A line of the review table (headings have no cells).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewRow {
    pub code: String,
    pub name: String,
    pub depth: u32,
    pub leaf: bool,
    pub max: String,
    pub cells: Vec<ReviewCell>,
}

/// A flag of the head review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewFlag {
    pub unit_id: i64,
    pub unit_name: String,
    pub line_code: Option<String>,
    /// full_without_evidence | far_above_inspection | outlier | late_submission | not_submitted
    pub kind: String,
    pub message: String,
}

/// The head-review (and appraisal) table of a group-year: every member side by side.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewView {
    pub group_id: i64,
    pub group_name: String,
    pub year: i32,
    pub status: YearStatus,
    pub table_version: Option<i32>,
    #[schema(value_type = Vec<ReviewUnit>)]
    pub units: Arc<Vec<ReviewUnit>>,
    #[schema(value_type = Vec<ReviewRow>)]
    pub rows: Arc<Vec<ReviewRow>>,
    #[schema(value_type = Vec<ReviewFlag>)]
    pub flags: Arc<Vec<ReviewFlag>>,
    #[schema(value_type = Vec<String>)]
    pub compute_errors: Arc<Vec<String>>,
    /// The next phase the caller may move the year to (label), else why not.
    pub next_phase: Option<String>,
    pub advance_refusal: Option<String>,
    pub may_finalise: bool,
    pub may_reopen_final: bool,
    pub may_publish: bool,
    pub is_secretariat: bool,
    /// The members whose self-assessment sheet is not submitted (their drafts
    /// lock when the year leaves the self-assessment).
    #[schema(value_type = Vec<String>)]
    pub unsent: Arc<Vec<String>>,
    /// The shared parts the members, rows and flags came from: the page
    /// keeps its rendering of them there.
    #[serde(skip)]
    #[schema(ignore)]
    pub(crate) shared: Arc<ReviewParts>,
}

/// What the review table shows the same to everyone who may see it: built
/// once per kept group-year and day (its flags depend on the day: a sheet
/// not submitted is flagged once its deadline has passed).
#[derive(Debug)]
pub(crate) struct ReviewParts {
    units: Arc<Vec<ReviewUnit>>,
    rows: Arc<Vec<ReviewRow>>,
    flags: Arc<Vec<ReviewFlag>>,
    compute_errors: Arc<Vec<String>>,
    unsent: Arc<Vec<String>>,
    /// The page's HTML of the members, the flags and the rows, rendered for
    /// the first reader and the same for every other.
    html: std::sync::OnceLock<crate::gzip::Piece>,
}

impl ReviewParts {
    /// The page's HTML of these parts, as `render` makes it the first time.
    pub(crate) fn html(&self, render: impl FnOnce() -> AppResult<String>) -> AppResult<crate::gzip::Piece> {
        // members write explanations into it and may not read the others'
        // figures beside them: never compressed (`crate::gzip`)
        crate::view::rendered_once(&self.html, crate::gzip::Piece::stored, render)
    }
}

/// The day (in Vietnam) of a UTC stamp, as the deadlines count it.
fn local_day(now: &str) -> Option<chrono::NaiveDate> {
    wf::parse_stamp("", now).ok().map(wf::local_date)
}

/// The review table's parts at `now`: kept with the group-year for the day.
fn review_parts(y: &Year, now: &str) -> Arc<ReviewParts> {
    let day = local_day(now);
    if let (Some(day), Some((kept_day, parts))) = (day, y.computed.review.get())
        && *kept_day == day
    {
        return parts.clone();
    }
    let parts = Arc::new(build_review_parts(y, now));
    y.computed.parts_built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Some(day) = day {
        // the first day asked keeps it; another day builds its own
        let _ = y.computed.review.set((day, parts.clone()));
    }
    parts
}

fn flag_code(k: wf::FlagKind) -> &'static str {
    match k {
        wf::FlagKind::FullWithoutEvidence => "full_without_evidence",
        wf::FlagKind::FarAboveInspection => "far_above_inspection",
        wf::FlagKind::Outlier => "outlier",
        wf::FlagKind::LateSubmission => "late_submission",
        wf::FlagKind::NotSubmitted => "not_submitted",
    }
}

/// The head unit's (or the secretariat's) writer role on the group-year.
fn lead_writer(ctx: &Ctx, y: &Year) -> Writer {
    let t = y.target(None);
    if ctx.actor.has_role(Role::Secretariat) && decide(&ctx.actor, Action::Appraise, &t).is_ok() {
        Writer::Secretariat
    } else if decide(&ctx.actor, Action::LeadGroupYear, &t).is_ok() {
        Writer::HeadUnit
    } else {
        Writer::Other
    }
}

/// Every line result of a group's result, by unit and line code.
fn lines_by_unit(r: Option<&GroupResult>) -> HashMap<(i64, &str), &LineResult> {
    r.iter()
        .flat_map(|r| r.units.iter())
        .flat_map(|u| u.lines.iter().map(move |l| ((u.unit_id, l.code.as_str()), l)))
        .collect()
}

fn review_view(ctx: &Ctx, y: &Year, now: &str) -> ReviewView {
    let parts = review_parts(y, now);
    let who = lead_writer(ctx, y);
    let (next_phase, advance_refusal) = match wf::advance(&who, &y.phase, now, &y.deadlines) {
        Ok(p) => (Some(p.label()), None),
        Err(e) => (None, Some(e.message)),
    };
    let sec = who == Writer::Secretariat;
    ReviewView {
        group_id: y.g.id,
        group_name: y.g.name.clone(),
        year: y.year,
        status: status(y),
        table_version: y.table.as_ref().map(|t| t.0),
        units: parts.units.clone(),
        rows: parts.rows.clone(),
        flags: parts.flags.clone(),
        compute_errors: parts.compute_errors.clone(),
        next_phase,
        advance_refusal,
        may_finalise: sec && wf::finalise(&who, &y.phase).is_ok(),
        may_reopen_final: sec && y.phase == Phase::Final,
        may_publish: sec && y.phase == Phase::Final,
        is_secretariat: sec,
        unsent: parts.unsent.clone(),
        shared: parts,
    }
}

fn build_review_parts(y: &Year, now: &str) -> ReviewParts {
    let es = &y.entries;
    let selfs = y.self_result().ok();
    let (current, compute_errors) = match y.current_result() {
        Ok(r) => (Some(r), vec![]),
        Err(v) => (None, v.into_iter().map(|e| e.message).collect()),
    };
    let mut flags: Vec<ReviewFlag> = vec![];
    let mut inspection_totals: BTreeMap<i64, Points> = BTreeMap::new();
    let mut rows = vec![];
    if let Some((_, table)) = &y.table {
        flags = y
            .review_flags(now)
            .into_iter()
            .map(|f| ReviewFlag {
                unit_id: f.unit_id,
                unit_name: y.name_of(f.unit_id),
                line_code: f.line_code,
                kind: flag_code(f.kind).into(),
                message: f.message_vi,
            })
            .collect();
        if let Some((r, _)) = y.inspection_result() {
            inspection_totals = r.units.iter().map(|u| (u.unit_id, u.total)).collect();
        }
        // each unit's line results and the flagged cells, looked up once per cell
        let (self_lines, current_lines) = (lines_by_unit(selfs), lines_by_unit(current));
        let pts = |lines: &HashMap<(i64, &str), &LineResult>, u: i64, code: &str| -> Option<String> {
            lines.get(&(u, code)).filter(|l| l.status != LineStatus::NotEntered).map(|l| l.points.to_string())
        };
        let flagged: HashSet<(i64, &str)> =
            flags.iter().filter_map(|f| Some((f.unit_id, f.line_code.as_deref()?))).collect();
        for (depth, l) in lines_of(table) {
            let m = l.method.as_ref();
            let cells = if l.is_leaf() {
                y.members
                    .iter()
                    .map(|(u, _)| {
                        // the cell's entries, found once
                        let on = es.on(*u, &l.code);
                        let text = |st: Stage| wf::latest_of(on, st).map(|e| value_text(&e.value, m).0);
                        let ev = wf::own_latest_of(on).map(|e| e.evidence.len()).unwrap_or(0);
                        let scored = self_lines
                            .get(&(*u, l.code.as_str()))
                            .is_some_and(|x| x.status == LineStatus::Scored && x.points.is_positive());
                        ReviewCell {
                            unit_id: *u,
                            self_value: text(Stage::SelfAssessment).unwrap_or_default(),
                            self_points: pts(&self_lines, *u, &l.code),
                            inspection: text(Stage::InspectionProposal),
                            head_review: text(Stage::HeadReview),
                            explanation: text(Stage::Explanation),
                            appraisal: text(Stage::Appraisal),
                            points: pts(&current_lines, *u, &l.code),
                            evidence: ev,
                            missing_evidence: l.evidence_required && scored && ev == 0,
                            flagged: flagged.contains(&(*u, l.code.as_str())),
                        }
                    })
                    .collect()
            } else {
                vec![]
            };
            rows.push(ReviewRow {
                code: l.code.clone(),
                name: l.name.clone(),
                depth,
                leaf: l.is_leaf(),
                max: l.max.to_string(),
                cells,
            });
        }
    }
    let units = y
        .members
        .iter()
        .map(|(u, name)| {
            let sres = selfs.as_ref().and_then(|r| r.units.iter().find(|x| x.unit_id == *u));
            let cres = current.as_ref().and_then(|r| r.units.iter().find(|x| x.unit_id == *u));
            let sheet = y.sheet(*u);
            let role = if y.gctx.head_unit == Some(*u) {
                "Đơn vị trưởng"
            } else if y.gctx.deputy_unit == Some(*u) {
                "Đơn vị phó"
            } else {
                "Thành viên"
            };
            ReviewUnit {
                unit_id: *u,
                name: name.clone(),
                role: role.into(),
                sheet_state: match &sheet {
                    SheetState::Draft => "draft",
                    SheetState::Submitted { .. } => "submitted",
                    SheetState::Reopened { .. } => "reopened",
                }
                .into(),
                submitted_at: match &sheet {
                    SheetState::Submitted { at, .. } => Some(at.clone()),
                    _ => None,
                },
                inspector: y.inspector_of.get(u).map(|i| y.name_of(*i)),
                self_total: sres.map(|r| r.total.to_string()),
                inspection_total: inspection_totals.get(u).map(|p| p.to_string()),
                total: cres.map(|r| r.total.to_string()),
                class: cres.and_then(|r| r.class.as_ref()).map(|c| c.label.clone()),
                rank: cres.map(|r| r.rank),
                flags: flags.iter().filter(|f| f.unit_id == *u).count(),
                missing_evidence: rows
                    .iter()
                    .flat_map(|r| r.cells.iter())
                    .filter(|c| c.unit_id == *u && c.missing_evidence)
                    .count(),
                open_proposals: y
                    .table
                    .as_ref()
                    .map(|(_, t)| {
                        t.walk().iter().filter(|l| l.is_leaf() && wf::open_proposal(es, *u, &l.code).is_some()).count()
                    })
                    .unwrap_or(0),
            }
        })
        .collect();
    ReviewParts {
        units: Arc::new(units),
        rows: Arc::new(rows),
        flags: Arc::new(flags),
        compute_errors: Arc::new(compute_errors),
        unsent: Arc::new(
            y.members
                .iter()
                .filter(|(u, _)| !matches!(y.sheet(*u), SheetState::Submitted { .. }))
                .map(|(_, n)| n.clone())
                .collect(),
        ),
        html: Default::default(),
    }
}

/// The review table: every member's sheet side by side, with flags (the
/// head and deputy units, the authority's readers).
pub async fn review(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<ReviewView> {
    // the kept group-year when nothing was committed since (one statement,
    // no transaction) and the caller may see the table; anything else (a
    // denial to record among them) takes the way below
    if let Some(y) = st.years.current(&st.db, ctx.head, group_id, year).await?
        && decide(&ctx.actor, Action::ReviewGroupYear, &y.target(None)).is_ok()
    {
        st.years.answered_current();
        return Ok(review_view(ctx, &y, &thidua_db::now()));
    }
    let mut tx = st.db.read().await?;
    let y = st.years.get(&mut tx, group_id, year).await?;
    let tx = authorize(st, ctx, tx, Action::ReviewGroupYear, &y.target(None), &object(&y, None)).await?;
    tx.rollback().await?;
    Ok(review_view(ctx, &y, &thidua_db::now()))
}

// ---------- writing a stage ----------

/// The lines written at the caller's stage: each non-empty value becomes an
/// entry of that stage, with its reason.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct StageInput {
    pub lines: Vec<LineInput>,
}

/// Opens a write transaction on the group-year with the policy's read check on the unit.
async fn open_write(st: &AppState, ctx: &Ctx, group_id: i64, year: i32, unit: Option<i64>) -> AppResult<(Tx, Year)> {
    let mut tx = st.db.begin().await?;
    let gy = q::find_group_year(&mut tx, group_id, year).await?.ok_or(AppError::NotFound)?;
    sc::lock(&mut tx, gy).await?;
    let y = load(&mut tx, group_id, year).await?;
    if let Some(u) = unit
        && !y.members.iter().any(|m| m.0 == u)
    {
        return Err(AppError::NotFound);
    }
    let action = if unit.is_some() { Action::ViewSheet } else { Action::ReviewGroupYear };
    let tx = authorize(st, ctx, tx, action, &y.target(unit), &object(&y, unit)).await?;
    Ok((tx, y))
}

async fn deny(st: &AppState, ctx: &Ctx, tx: Tx, y: &Year, unit: i64, message: String) -> AppError {
    if let Err(e) = tx.rollback().await {
        return e.into();
    }
    let _ = record_denial_in(
        &st.db,
        &ctx.meta,
        Some(ctx),
        "write_score",
        &object(y, Some(unit)),
        &message,
        Some(y.g.authority_id),
    )
    .await;
    AppError::Forbidden(message)
}

/// A write on a unit's sheet that the workflow refuses (see [`super::refused_write`]).
async fn refuse(st: &AppState, ctx: &Ctx, tx: Tx, y: &Year, unit: i64, action: &str, refusal: Invalid) -> AppError {
    if let Err(e) = tx.rollback().await {
        return e.into();
    }
    super::refused_write(st, ctx, action, &object(y, Some(unit)), y.g.authority_id, refusal).await
}

/// Writes the caller's stage on a unit's sheet (inspection proposal, head
/// review proposal, explanation, appraisal, or a final value after a
/// reopening decision): every line with a value becomes a new entry with its
/// reason, all in one transaction; refused as a whole when a value, a reason,
/// the stage, the date or the base of a line is wrong.
pub async fn write_stage(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    unit: i64,
    input: &StageInput,
) -> AppResult<ChainView> {
    let (mut tx, y) = open_write(st, ctx, group_id, year, Some(unit)).await?;
    let table = y.table()?.clone();
    let now = thidua_db::now();
    let wctx = write_ctx(ctx, &y, unit);
    let Some((stage, who)) = wf::stage_for(&wctx, &y.phase) else {
        let msg = no_stage_message(&wctx, &y.phase);
        return Err(deny(st, ctx, tx, &y, unit, msg).await);
    };
    if stage == Stage::SelfAssessment {
        tx.rollback().await?;
        return Err(AppError::invalid(
            "Bước",
            "Tự chấm được ghi trên phiếu tự chấm của đơn vị (trang Tự chấm điểm), không ở trang này.",
        ));
    }
    if let Err(refusal) = wf::may_write(&who, stage, &y.sheet(unit), y.phase.clone(), &now, &y.deadlines) {
        return Err(refuse(st, ctx, tx, &y, unit, "write_score", refusal).await);
    }
    let unit_name = y.name_of(unit);
    let es = &y.entries;
    let by_unit = wctx.actor_unit.filter(|_| who != Writer::Secretariat);
    super::scores::check_lines(&input.lines)?;
    let mut errs: Vec<Invalid> = vec![];
    let mut changed: Vec<ScoreEntry> = vec![];
    for li in &input.lines {
        let code = li.line_code.trim();
        let text = li.value.trim();
        if text.is_empty() {
            continue;
        }
        let mut reason = li.remark.split_whitespace().collect::<Vec<_>>().join(" ");
        if reason.chars().count() > 2000 {
            errs.push(Invalid::new(code, format!("{code}: lý do quá dài (tối đa 2000 ký tự).")));
            continue;
        }
        let manual_reason = if li.reason.trim().is_empty() { reason.as_str() } else { li.reason.as_str() };
        let value = match parse_typed(&table, code, text, manual_reason) {
            Ok(v) => v,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        if stage == Stage::Explanation {
            match wf::check_answer(es, &table, unit, code, &value) {
                Ok(true) if reason.is_empty() => reason = "Đồng ý với đề xuất của đơn vị trưởng.".into(),
                Ok(_) => {}
                Err(e) => {
                    errs.push(e);
                    continue;
                }
            }
        }
        if let Some(prev) = wf::latest(es, unit, code, stage)
            && prev.value == value
            && prev.reason == reason
        {
            continue;
        }
        let evidence = if stage == Stage::Explanation {
            wf::own_latest(es, unit, code).map(|e| e.evidence.clone()).unwrap_or_default()
        } else {
            vec![]
        };
        let e = ScoreEntry {
            unit_id: unit,
            line_code: code.to_string(),
            stage,
            value,
            reason,
            evidence,
            by_user: ctx.user.id,
            by_unit,
            at: now.clone(),
            seq: 0,
        };
        if let Err(x) = wf::check_entry(&e, &table, &unit_name) {
            errs.push(x);
            continue;
        }
        let latest = wf::latest_any(es, unit, code);
        let latest_row = latest.and_then(|l| y.row(l.seq));
        if let Err(x) = wf::check_base(
            latest.map(|l| l.seq),
            li.base_seq.and_then(|b| u64::try_from(b).ok()),
            latest_row.map(|r| r.by_name.as_str()).unwrap_or(""),
            latest_row.map(|r| r.at.as_str()).unwrap_or(""),
        ) {
            errs.push(Invalid::new(code, format!("{code}: {}", x.message)));
            continue;
        }
        changed.push(e);
    }
    if !errs.is_empty() {
        tx.rollback().await?;
        return Err(AppError::Invalid(errs));
    }
    if changed.is_empty() {
        tx.rollback().await?;
        return Err(AppError::invalid("Phiếu", "Chưa ghi giá trị nào mới: chưa lưu gì."));
    }
    for e in &changed {
        append(&mut tx, y.gy, e).await?;
    }
    let mut a = audit_entry(ctx, &y, &format!("score.{}", stage.code()), Some(unit));
    a.after = Some(json!({
        "year": year,
        "unit": unit_name,
        "stage": stage.code(),
        "lines": changed.iter().map(|e| json!({"line": e.line_code, "value": e.value, "reason": e.reason})).collect::<Vec<_>>(),
    }));
    audit::append(&mut tx, a).await?;
    let y = load(&mut tx, group_id, year).await?;
    tx.commit().await?;
    Ok(chain_view(ctx, &y, unit, &now))
}

/// The stored row of an entry just appended with the id `id` by `by_name`.
pub(crate) fn entry_row(gy: i64, id: i64, e: &ScoreEntry, by_name: &str) -> EntryRow {
    EntryRow {
        id,
        group_year_id: gy,
        unit_id: e.unit_id,
        line_code: e.line_code.clone(),
        stage: e.stage.code().to_string(),
        value_json: serde_json::to_string(&e.value).unwrap_or_default(),
        reason: e.reason.clone(),
        evidence_json: serde_json::to_string(&e.evidence).unwrap_or_default(),
        by_user: e.by_user,
        by_name: by_name.to_string(),
        by_unit: e.by_unit,
        at: e.at.clone(),
    }
}

pub(crate) async fn append(tx: &mut Tx, gy: i64, e: &ScoreEntry) -> AppResult<i64> {
    Ok(sc::append(tx, gy, &new_entry(e)?).await?)
}

/// An entry as the database stores it.
pub(crate) fn new_entry(e: &ScoreEntry) -> AppResult<NewEntry> {
    Ok(NewEntry {
        unit_id: e.unit_id,
        line_code: e.line_code.clone(),
        stage: e.stage.code().to_string(),
        value_json: serde_json::to_string(&e.value).map_err(|x| AppError::Internal(format!("value: {x}")))?,
        reason: e.reason.clone(),
        evidence_json: serde_json::to_string(&e.evidence).map_err(|x| AppError::Internal(format!("evidence: {x}")))?,
        by_user: e.by_user,
        by_unit: e.by_unit,
        at: e.at.clone(),
    })
}

// ---------- the year's phase ----------

fn totals_json(y: &Year) -> serde_json::Value {
    match y.current_result() {
        Ok(r) => json!(
            r.units
                .iter()
                .map(|u| json!({"unit": u.name, "total": u.total.to_string(), "class": u.class.as_ref().map(|c| c.label.clone()), "rank": u.rank}))
                .collect::<Vec<_>>()
        ),
        Err(_) => serde_json::Value::Null,
    }
}

/// Moves the group-year to its next phase (the head unit, up to handing it
/// to the secretariat; or the secretariat).
pub async fn advance(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<ReviewView> {
    let (tx, y) = open_write(st, ctx, group_id, year, None).await?;
    let mut tx = authorize(st, ctx, tx, Action::LeadGroupYear, &y.target(None), &object(&y, None)).await?;
    y.table()?;
    let now = thidua_db::now();
    let next = wf::advance(&lead_writer(ctx, &y), &y.phase, &now, &y.deadlines)?;
    sc::set_phase(&mut tx, y.gy, next.code(), None, ctx.user.id, &now).await?;
    let mut a = audit_entry(ctx, &y, "score.phase", None);
    a.before = Some(json!({"year": year, "phase": y.phase.code()}));
    a.after = Some(json!({"year": year, "phase": next.code()}));
    audit::append(&mut tx, a).await?;
    finish(tx, ctx, group_id, year, &now).await
}

async fn finish(mut tx: Tx, ctx: &Ctx, group_id: i64, year: i32, now: &str) -> AppResult<ReviewView> {
    let y = load(&mut tx, group_id, year).await?;
    tx.commit().await?;
    Ok(review_view(ctx, &y, now))
}

/// The secretariat finalises the group-year: every value in force is
/// recorded as a final entry and the results are locked.
pub async fn finalise(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<ReviewView> {
    let (tx, y) = open_write(st, ctx, group_id, year, None).await?;
    let mut tx = authorize(st, ctx, tx, Action::Appraise, &y.target(None), &object(&y, None)).await?;
    let table = y.table()?.clone();
    let next = wf::finalise(&Writer::Secretariat, &y.phase)?;
    if let Err(errs) = y.current_result() {
        tx.rollback().await?;
        return Err(AppError::Invalid(errs));
    }
    let now = thidua_db::now();
    let mut codes: Vec<String> = table.walk().iter().filter(|l| l.is_leaf()).map(|l| l.code.clone()).collect();
    codes.extend(table.bonus.iter().chain(table.penalties.iter()).map(|a| a.code.clone()));
    let mut n = 0;
    for (u, _) in &y.members {
        for c in &codes {
            if let Some(cur) = wf::current(&y.entries, *u, c)
                && cur.stage != Stage::Final
            {
                let e = ScoreEntry {
                    stage: Stage::Final,
                    reason: format!("Chốt kết quả cuối cùng (giá trị của bước {}).", cur.stage.label().to_lowercase()),
                    by_user: ctx.user.id,
                    by_unit: None,
                    at: now.clone(),
                    seq: 0,
                    ..cur.clone()
                };
                append(&mut tx, y.gy, &e).await?;
                n += 1;
            }
        }
    }
    sc::set_phase(&mut tx, y.gy, next.code(), None, ctx.user.id, &now).await?;
    let mut a = audit_entry(ctx, &y, "score.finalise", None);
    a.before = Some(json!({"year": year, "phase": y.phase.code()}));
    a.after = Some(json!({"year": year, "phase": next.code(), "final_entries": n, "results": totals_json(&y)}));
    audit::append(&mut tx, a).await?;
    finish(tx, ctx, group_id, year, &now).await
}

/// The secretariat reopens final results by a recorded decision.
pub async fn reopen_final(st: &AppState, ctx: &Ctx, group_id: i64, year: i32, decision: &str) -> AppResult<ReviewView> {
    let (tx, y) = open_write(st, ctx, group_id, year, None).await?;
    let mut tx = authorize(st, ctx, tx, Action::Appraise, &y.target(None), &object(&y, None)).await?;
    let next = wf::reopen_final(&Writer::Secretariat, &y.phase, decision)?;
    let now = thidua_db::now();
    let Phase::FinalReopened { decision } = &next else {
        return Err(AppError::Internal("reopen_final".into()));
    };
    sc::set_phase(&mut tx, y.gy, next.code(), Some(decision), ctx.user.id, &now).await?;
    // the published results were the old ones: they are withdrawn until published again
    let was_published = y.stored.as_ref().and_then(|r| r.published_at.clone());
    sc::set_published(&mut tx, y.gy, None, None, false).await?;
    let mut a = audit_entry(ctx, &y, "score.reopen_final", None);
    a.before =
        Some(json!({"year": year, "phase": y.phase.code(), "published_at": was_published, "results": totals_json(&y)}));
    a.after = Some(json!({"year": year, "phase": next.code(), "published_at": null}));
    a.reason = Some(decision.clone());
    audit::append(&mut tx, a).await?;
    finish(tx, ctx, group_id, year, &now).await
}

/// The secretariat publishes the final results of a group-year (or withdraws them).
pub async fn publish(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    publish: bool,
    reasons: bool,
) -> AppResult<ReviewView> {
    let (tx, y) = open_write(st, ctx, group_id, year, None).await?;
    let mut tx = authorize(st, ctx, tx, Action::Appraise, &y.target(None), &object(&y, None)).await?;
    if publish && y.phase != Phase::Final {
        tx.rollback().await?;
        return Err(AppError::invalid(
            "Công bố",
            format!(
                "Cụm, khối đang ở bước {}: chỉ công bố kết quả sau khi cơ quan thường trực chốt kết quả cuối cùng.",
                y.phase.label()
            ),
        ));
    }
    if !publish && y.stored.as_ref().and_then(|r| r.published_at.as_ref()).is_none() {
        tx.rollback().await?;
        return Err(AppError::invalid("Công bố", "Kết quả chưa được công bố: không có gì để thu hồi."));
    }
    let now = thidua_db::now();
    if publish {
        sc::set_published(&mut tx, y.gy, Some(ctx.user.id), Some(&now), reasons).await?;
    } else {
        sc::set_published(&mut tx, y.gy, None, None, false).await?;
    }
    let mut a = audit_entry(ctx, &y, if publish { "score.publish" } else { "score.unpublish" }, None);
    a.after = Some(json!({"year": year, "published": publish, "reasons": reasons}));
    audit::append(&mut tx, a).await?;
    finish(tx, ctx, group_id, year, &now).await
}

/// The secretariat reopens one unit's self-assessment sheet, with a reason.
pub async fn reopen_sheet(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    unit: i64,
    reason: &str,
) -> AppResult<ChainView> {
    let (tx, y) = open_write(st, ctx, group_id, year, Some(unit)).await?;
    let mut tx = authorize(st, ctx, tx, Action::Appraise, &y.target(Some(unit)), &object(&y, Some(unit))).await?;
    let state = wf::reopen_sheet(&Writer::Secretariat, &y.phase, ctx.user.id, reason)?;
    let SheetState::Reopened { reason, .. } = &state else {
        return Err(AppError::Internal("reopen_sheet".into()));
    };
    sc::set_reopened(&mut tx, y.gy, unit, ctx.user.id, reason).await?;
    let mut a = audit_entry(ctx, &y, "score.reopen_sheet", Some(unit));
    a.before = Some(json!({"year": year, "unit": y.name_of(unit), "sheet": y.sheet(unit)}));
    a.after = Some(json!({"year": year, "unit": y.name_of(unit), "sheet": state}));
    a.reason = Some(reason.clone());
    audit::append(&mut tx, a).await?;
    let now = thidua_db::now();
    let y = load(&mut tx, group_id, year).await?;
    tx.commit().await?;
    Ok(chain_view(ctx, &y, unit, &now))
}

// ---------- evidence ----------

/// The unit's own stage open to it now, for evidence (self-assessment or explanation).
fn evidence_stage(ctx: &Ctx, y: &Year, unit: i64, now: &str) -> Result<Stage, String> {
    let wctx = write_ctx(ctx, y, unit);
    if wctx.actor_unit != Some(unit) {
        return Err("Chỉ chính đơn vị mới tải lên hay gỡ minh chứng của phiếu mình.".into());
    }
    let phase = if matches!(y.sheet(unit), SheetState::Reopened { .. }) && y.phase != Phase::Final {
        Phase::SelfAssessment
    } else {
        y.phase.clone()
    };
    match wf::stage_for(&wctx, &phase) {
        Some((st @ (Stage::SelfAssessment | Stage::Explanation), w)) => {
            wf::may_write(&w, st, &y.sheet(unit), phase, now, &y.deadlines).map(|_| st).map_err(|e| e.message)
        }
        _ => Err(format!(
            "Cụm, khối đang ở bước {}: đơn vị chỉ bổ sung minh chứng khi tự chấm hoặc khi giải trình.",
            y.phase.label()
        )),
    }
}

/// The value the unit's new evidence entry carries: its latest
/// self-assessment value on the line. Evidence belongs to the unit's own
/// line, so an evidence change is a self-assessment entry with the same
/// value, whatever the phase: it never answers a proposal nor changes a value in force.
fn evidence_base<'a>(y: &'a Year, unit: i64, code: &str) -> Option<&'a ScoreEntry> {
    wf::latest(&y.entries, unit, code, Stage::SelfAssessment)
}

/// Adds an evidence file to a line of the unit's sheet: the file is checked
/// by content and size, stored, and a new entry of the unit's open stage
/// carries the line's value with the file added.
pub async fn add_evidence(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    unit: i64,
    line_code: &str,
    up: &Upload,
) -> AppResult<ChainView> {
    let file = match check_file(st, up).await? {
        Ok(f) => f,
        Err(e) => return Err(AppError::Invalid(vec![e])),
    };
    let (tx, y) = open_write(st, ctx, group_id, year, Some(unit)).await?;
    let table = y.table()?.clone();
    let now = thidua_db::now();
    match evidence_stage(ctx, &y, unit, &now) {
        Ok(_) => {}
        Err(m) if write_ctx(ctx, &y, unit).actor_unit != Some(unit) => return Err(deny(st, ctx, tx, &y, unit, m).await),
        Err(m) => return Err(refuse(st, ctx, tx, &y, unit, "write_score", Invalid::new("Minh chứng", m)).await),
    };
    let mut tx = tx;
    let code = line_code.trim();
    if table.find(code).filter(|l| l.is_leaf()).is_none()
        && table.find_bonus(code).or_else(|| table.find_penalty(code)).is_none()
    {
        tx.rollback().await?;
        return Err(AppError::invalid(
            "Minh chứng",
            format!("Bảng điểm không có dòng mã \"{code}\" để gắn minh chứng."),
        ));
    }
    let Some(base) = evidence_base(&y, unit, code) else {
        tx.rollback().await?;
        return Err(AppError::invalid(
            "Minh chứng",
            format!("{code}: hãy ghi và lưu giá trị tự chấm của dòng này trước, rồi tải minh chứng lên."),
        ));
    };
    let mut evidence = wf::own_latest(&y.entries, unit, code).map(|e| e.evidence.clone()).unwrap_or_default();
    if evidence.len() >= MAX_EVIDENCE_PER_LINE {
        tx.rollback().await?;
        return Err(AppError::invalid(
            "Minh chứng",
            format!(
                "{code} đã có {MAX_EVIDENCE_PER_LINE} tệp minh chứng, là số tối đa của một dòng: gộp bớt tệp rồi tải lên."
            ),
        ));
    }
    store_file(st, &file).await?;
    let id = sc::add_evidence(
        &mut tx,
        y.gy,
        &NewEvidence {
            unit_id: unit,
            line_code: code.to_string(),
            sha256: file.key.as_str().to_string(),
            size_bytes: file.bytes.len() as i64,
            file_type: file.file_type.code().to_string(),
            file_name: file.file_name.clone(),
            uploaded_by: ctx.user.id,
            uploaded_at: now.clone(),
        },
    )
    .await?;
    evidence.push(id.to_string());
    let e = ScoreEntry {
        stage: Stage::SelfAssessment,
        reason: format!("Bổ sung minh chứng: {}", file.file_name),
        evidence,
        by_user: ctx.user.id,
        by_unit: Some(unit),
        at: now.clone(),
        seq: 0,
        ..base.clone()
    };
    append(&mut tx, y.gy, &e).await?;
    let mut a = audit_entry(ctx, &y, "score.evidence_add", Some(unit));
    a.after = Some(
        json!({"year": year, "unit": y.name_of(unit), "line": code, "file": file.file_name, "evidence_id": id, "sha256": file.key.as_str()}),
    );
    audit::append(&mut tx, a).await?;
    let y = load(&mut tx, group_id, year).await?;
    tx.commit().await?;
    Ok(chain_view(ctx, &y, unit, &now))
}

/// Takes an evidence file off a line (the file itself is kept, with the history).
pub async fn remove_evidence(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    unit: i64,
    evidence_id: i64,
) -> AppResult<ChainView> {
    let (tx, y) = open_write(st, ctx, group_id, year, Some(unit)).await?;
    let now = thidua_db::now();
    match evidence_stage(ctx, &y, unit, &now) {
        Ok(_) => {}
        Err(m) if write_ctx(ctx, &y, unit).actor_unit != Some(unit) => return Err(deny(st, ctx, tx, &y, unit, m).await),
        Err(m) => return Err(refuse(st, ctx, tx, &y, unit, "write_score", Invalid::new("Minh chứng", m)).await),
    };
    let mut tx = tx;
    let Some(f) = y.evidence.iter().find(|f| f.id == evidence_id && f.unit_id == unit) else {
        return Err(AppError::NotFound);
    };
    let key = evidence_id.to_string();
    let latest = wf::own_latest(&y.entries, unit, &f.line_code).filter(|e| e.evidence.contains(&key));
    let (Some(latest), Some(base)) = (latest, evidence_base(&y, unit, &f.line_code)) else {
        tx.rollback().await?;
        return Err(AppError::invalid(
            "Minh chứng",
            format!("Tệp \"{}\" không còn gắn với dòng {}.", f.file_name, f.line_code),
        ));
    };
    let e = ScoreEntry {
        stage: Stage::SelfAssessment,
        reason: format!("Gỡ minh chứng: {}", f.file_name),
        evidence: latest.evidence.iter().filter(|k| **k != key).cloned().collect(),
        by_user: ctx.user.id,
        by_unit: Some(unit),
        at: now.clone(),
        seq: 0,
        ..base.clone()
    };
    append(&mut tx, y.gy, &e).await?;
    let mut a = audit_entry(ctx, &y, "score.evidence_remove", Some(unit));
    a.after = Some(
        json!({"year": year, "unit": y.name_of(unit), "line": f.line_code, "file": f.file_name, "evidence_id": f.id}),
    );
    audit::append(&mut tx, a).await?;
    let y = load(&mut tx, group_id, year).await?;
    tx.commit().await?;
    Ok(chain_view(ctx, &y, unit, &now))
}

/// An evidence file, for whoever may read the unit's sheet.
pub async fn evidence_file(st: &AppState, ctx: &Ctx, id: i64) -> AppResult<Download> {
    let mut tx = st.db.read().await?;
    let f = sc::evidence_file(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let (group_id, year): (i64, i32) = q::group_year_key(&mut tx, f.group_year_id).await?.ok_or(AppError::NotFound)?;
    let y = st.years.get(&mut tx, group_id, year).await?;
    let tx = authorize(st, ctx, tx, Action::ViewSheet, &y.target(Some(f.unit_id)), &format!("evidence:{id}")).await?;
    tx.rollback().await?;
    let key = BlobKey::parse(&f.sha256).ok_or_else(|| AppError::Internal(format!("bad key {}", f.sha256)))?;
    let file_type = thidua_core::documents::FileType::parse(&f.file_type)
        .ok_or_else(|| AppError::Internal(format!("bad type {}", f.file_type)))?;
    let bytes = files::store(st)
        .get(&key)
        .await
        .map_err(|e| AppError::Internal(format!("file store get {key}: {e}")))?
        .ok_or_else(|| AppError::Internal(format!("evidence file {key} is missing")))?;
    Ok(Download { bytes, file_type, file_name: thidua_core::documents::download_name(&f.file_name, file_type) })
}

// ---------- results ----------

/// One unit in the summary of results.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultLine {
    pub unit_id: i64,
    pub rank: Option<u32>,
    pub name: String,
    pub self_total: Option<String>,
    pub bonus: Option<String>,
    pub penalty: Option<String>,
    pub total: Option<String>,
    pub class: Option<String>,
    /// Total minus self total, signed ("+12,50", "-5").
    pub difference: Option<String>,
    /// The lines whose value in force differs from the unit's own, with the
    /// stage and the reason (left out of the public page unless chosen).
    pub adjustments: Vec<String>,
}

/// The group's summary of results (bảng tổng hợp kết quả chấm điểm).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultsView {
    pub group_id: i64,
    pub group_name: String,
    pub authority_name: String,
    pub year: i32,
    pub status: YearStatus,
    /// Whether these are final results (else figures so far).
    pub is_final: bool,
    pub table_version: Option<i32>,
    pub max_total: Option<String>,
    pub lines: Vec<ResultLine>,
    pub compute_errors: Vec<String>,
}

fn signed(p: Points) -> String {
    if p.is_positive() { format!("+{p}") } else { p.to_string() }
}

struct Figures {
    view: ResultsView,
    rows: Vec<thidua_export::results_xlsx::ResultRow>,
}

fn figures(y: &Year, with_adjustments: bool) -> Figures {
    let es = &y.entries;
    let selfs = y.self_result().ok();
    let (current, compute_errors) = match y.current_result() {
        Ok(r) => (Some(r), vec![]),
        Err(v) => (None, v.into_iter().map(|e| e.message).collect()),
    };
    let mut order: Vec<(i64, String)> = y.members.clone();
    if let Some(r) = &current {
        order.sort_by_key(|(u, n)| {
            (
                r.units.iter().find(|x| x.unit_id == *u).map(|x| x.rank).unwrap_or(u32::MAX),
                thidua_core::text::sort_key(n),
            )
        });
    }
    let mut lines = vec![];
    let mut rows = vec![];
    for (u, name) in &order {
        let s = selfs.as_ref().and_then(|r| r.units.iter().find(|x| x.unit_id == *u));
        let c = current.as_ref().and_then(|r| r.units.iter().find(|x| x.unit_id == *u));
        let mut adjustments = vec![];
        if with_adjustments && let Some((_, table)) = &y.table {
            let mut codes: Vec<(String, Option<&Line>)> =
                table.walk().into_iter().filter(|l| l.is_leaf()).map(|l| (l.code.clone(), Some(l))).collect();
            codes.extend(table.bonus.iter().chain(table.penalties.iter()).map(|a| (a.code.clone(), None)));
            for (code, line) in codes {
                let m = line.and_then(|l| l.method.as_ref());
                let Some(cur) = wf::current(es, *u, &code) else { continue };
                let own = wf::latest(es, *u, &code, Stage::SelfAssessment);
                if cur.stage == Stage::SelfAssessment || own.is_some_and(|o| o.value == cur.value) {
                    continue;
                }
                if own.is_none() && cur.value == RawValue::Count(0) {
                    continue;
                }
                let why = es
                    .iter()
                    .filter(|e| e.unit_id == *u && e.line_code == code && e.stage.sets_value())
                    .filter(|e| e.stage != Stage::SelfAssessment && e.value == cur.value)
                    .filter(|e| !(e.stage == Stage::Final && e.reason.starts_with("Chốt kết quả cuối cùng")))
                    .max_by_key(|e| e.seq)
                    .unwrap_or(cur);
                adjustments.push(format!(
                    "{code}: tự chấm {} → {} ({}: {})",
                    own.map(|o| value_text(&o.value, m).0).unwrap_or_else(|| "chưa ghi".into()),
                    value_text(&cur.value, m).0,
                    why.stage.label().to_lowercase(),
                    why.reason
                ));
            }
        }
        lines.push(ResultLine {
            unit_id: *u,
            rank: c.map(|r| r.rank),
            name: name.clone(),
            self_total: s.map(|r| r.total.to_string()),
            bonus: c.map(|r| r.bonus.to_string()),
            penalty: c.map(|r| r.penalty.to_string()),
            total: c.map(|r| r.total.to_string()),
            class: c.and_then(|r| r.class.as_ref()).map(|k| k.label.clone()),
            difference: match (s, c) {
                (Some(s), Some(c)) => Some(signed(c.total - s.total)),
                _ => None,
            },
            adjustments,
        });
        rows.push(thidua_export::results_xlsx::ResultRow {
            rank: c.map(|r| r.rank),
            unit: name.clone(),
            self_total: s.map(|r| r.total.hundredths()),
            bonus: c.map(|r| r.bonus.hundredths()).unwrap_or(0),
            penalty: c.map(|r| r.penalty.hundredths()).unwrap_or(0),
            total: c.map(|r| r.total.hundredths()),
            class: c.and_then(|r| r.class.as_ref()).map(|k| k.label.clone()).unwrap_or_default(),
            note: String::new(),
        });
    }
    let max_total = y.table.as_ref().map(|(_, t)| t.max_total().unwrap_or_else(|| t.nominal_max()));
    Figures {
        view: ResultsView {
            group_id: y.g.id,
            group_name: y.g.name.clone(),
            authority_name: y.authority_name.clone(),
            year: y.year,
            status: status(y),
            is_final: y.phase == Phase::Final,
            table_version: y.table.as_ref().map(|t| t.0),
            max_total: max_total.map(|p| p.to_string()),
            lines,
            compute_errors,
        },
        rows,
    }
}

fn published(y: &Year) -> bool {
    y.phase == Phase::Final && y.stored.as_ref().is_some_and(|r| r.published_at.is_some())
}

/// The group's results: the figures in force (final once finalised) with
/// every unit's self total beside its total. The head and deputy units and
/// the authority's readers see them at any time; members once published.
pub async fn results(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<ResultsView> {
    let mut tx = st.db.read().await?;
    let y = st.years.get(&mut tx, group_id, year).await?;
    let t = y.target(None);
    let action = if decide(&ctx.actor, Action::ReviewGroupYear, &t).is_err() && published(&y) {
        Action::ViewGroup
    } else {
        Action::ReviewGroupYear
    };
    let tx = authorize(st, ctx, tx, action, &t, &object(&y, None)).await?;
    tx.rollback().await?;
    let reasons = action == Action::ReviewGroupYear || y.stored.as_ref().is_some_and(|r| r.publish_reasons == 1);
    Ok(figures(&y, reasons).view)
}

/// The results as an xlsx file in the officers' layout; with the file name.
pub async fn results_xlsx(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<(Vec<u8>, String)> {
    let mut tx = st.db.read().await?;
    let y = st.years.get(&mut tx, group_id, year).await?;
    let t = y.target(None);
    let action = if decide(&ctx.actor, Action::ReviewGroupYear, &t).is_err() && published(&y) {
        Action::ViewGroup
    } else {
        Action::ReviewGroupYear
    };
    let tx = authorize(st, ctx, tx, action, &t, &object(&y, None)).await?;
    tx.rollback().await?;
    let f = figures(&y, false);
    let summary = thidua_export::results_xlsx::Summary {
        authority: y.authority_name.clone(),
        group: y.g.name.clone(),
        year,
        status: status_text(&y),
        table_version: y.table.as_ref().map(|t| t.0),
        max_total: y
            .table
            .as_ref()
            .map(|(_, t)| t.max_total().unwrap_or_else(|| t.nominal_max()).hundredths())
            .unwrap_or(0),
        made_on: today(),
        rows: f.rows,
    };
    let bytes = thidua_export::results_xlsx::summary_to_xlsx(&summary)
        .map_err(|e| AppError::Internal(format!("results xlsx: {}", e.message_vi())))?;
    Ok((bytes, format!("ket-qua-cham-diem-{year}-{}.xlsx", file_slug(&y.g.name))))
}

fn status_text(y: &Year) -> String {
    match &y.phase {
        Phase::Final => "Kết quả cuối cùng".into(),
        p => format!("Tạm tính, chưa chốt (bước {})", p.label()),
    }
}

fn file_slug(name: &str) -> String {
    thidua_core::text::fold(name)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// A unit's sheet (every stage and the result) as an xlsx file; with the file name.
pub async fn unit_xlsx(st: &AppState, ctx: &Ctx, group_id: i64, year: i32, unit: i64) -> AppResult<(Vec<u8>, String)> {
    let v = unit_chain(st, ctx, group_id, year, unit).await?;
    let mut tx = st.db.read().await?;
    let authority = match q::group(&mut tx, group_id).await? {
        Some(g) => q::authority(&mut tx, g.authority_id).await?.map(|a| a.name).unwrap_or_default(),
        None => String::new(),
    };
    tx.rollback().await?;
    let hundredths = |s: &Option<String>| -> Option<i64> {
        s.as_deref().and_then(|x| Points::parse("", x).ok()).map(|p| p.hundredths())
    };
    let lines = v
        .lines
        .iter()
        .map(|l| {
            let mut proposal = vec![];
            if let Some(c) = &l.inspection {
                proposal.push(format!("Kiểm tra chéo: {}", c.value));
            }
            if let Some(c) = &l.head_review {
                proposal.push(format!("Đơn vị trưởng: {}", c.value));
            }
            let mut reason = vec![];
            for (label, c) in [
                ("Kiểm tra chéo", &l.inspection),
                ("Đơn vị trưởng", &l.head_review),
                ("Giải trình", &l.explanation),
                ("Thẩm định", &l.appraisal),
            ] {
                if let Some(c) = c
                    && !c.reason.is_empty()
                {
                    reason.push(format!("{label}: {}", c.reason));
                }
            }
            thidua_export::results_xlsx::SheetLineX {
                code: l.code.clone(),
                name: l.name.clone(),
                depth: l.depth,
                leaf: l.kind != "heading",
                max: hundredths(&Some(l.max.clone())).unwrap_or(0),
                self_value: l.self_value.as_ref().map(|c| c.value.clone()).unwrap_or_default(),
                self_points: hundredths(&l.self_points),
                proposal: proposal.join("; "),
                final_value: l.value.clone(),
                final_points: hundredths(&l.points),
                evidence: l.evidence.len() as u32,
                reason: reason.join("; "),
            }
        })
        .collect();
    let sheet = thidua_export::results_xlsx::UnitSheet {
        authority,
        group: v.group_name.clone(),
        unit: v.unit_name.clone(),
        year,
        status: if v.status.phase == "final" {
            "Kết quả cuối cùng".into()
        } else {
            format!("Tạm tính (bước {})", v.status.phase_label)
        },
        lines,
        self_total: hundredths(&v.self_total),
        total: hundredths(&v.total),
        class: v.class.clone().unwrap_or_default(),
        rank: v.rank,
        made_on: today(),
    };
    let bytes = thidua_export::results_xlsx::unit_sheet_to_xlsx(&sheet)
        .map_err(|e| AppError::Internal(format!("sheet xlsx: {}", e.message_vi())))?;
    Ok((bytes, format!("phieu-cham-diem-{year}-{}.xlsx", file_slug(&v.unit_name))))
}

/// A published group-year's results for everyone (no login): totals,
/// classes and ranks; the reasons of adjustments only if the secretariat
/// chose to show them; never evidence.
pub async fn public_results(st: &AppState, group_id: i64, year: i32) -> AppResult<ResultsView> {
    let mut tx = st.db.read().await?;
    // an unpublished year is refused before it is read (and kept in the cache)
    let gy = q::find_group_year(&mut tx, group_id, year).await?.ok_or(AppError::NotFound)?;
    if sc::year(&mut tx, gy).await?.is_none_or(|r| r.published_at.is_none()) {
        return Err(AppError::NotFound);
    }
    let y = st.years.get(&mut tx, group_id, year).await?;
    tx.rollback().await?;
    if !published(&y) {
        return Err(AppError::NotFound);
    }
    let reasons = y.stored.as_ref().is_some_and(|r| r.publish_reasons == 1);
    let mut view = figures(&y, reasons).view;
    for l in &mut view.lines {
        // the public sees the results, not the units' own figures
        l.self_total = None;
        l.difference = None;
    }
    Ok(view)
}

/// The published results, newest year first.
pub async fn public_list(st: &AppState) -> AppResult<Vec<sc::PublishedRow>> {
    let mut tx = st.db.read().await?;
    let rows = sc::published(&mut tx).await?;
    tx.rollback().await?;
    Ok(rows)
}

/// Whether the caller may see the review table of a group-year (to show its link).
pub async fn may_review(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<bool> {
    // the kept group-year knows the group's place and its head and deputy
    if let Some(y) = st.years.current(&st.db, ctx.head, group_id, year).await? {
        return Ok(decide(&ctx.actor, Action::ReviewGroupYear, &y.target(None)).is_ok());
    }
    let mut tx = st.db.read().await?;
    let g = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let path = q::authority_path(&mut tx, g.authority_id).await?;
    let gctx = q::group_ctx(&mut tx, g.id, Some(year)).await?;
    tx.rollback().await?;
    Ok(decide(&ctx.actor, Action::ReviewGroupYear, &Target::group(path, gctx)).is_ok())
}

/// The caller's own unit among the group-year's members, if any.
pub async fn own_member(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<Option<i64>> {
    let mut tx = st.db.read().await?;
    let mine = ctx.actor.unit_ids();
    let found = q::members_of_group(&mut tx, group_id)
        .await?
        .into_iter()
        .find(|m| m.year == year && mine.contains(&m.unit_id))
        .map(|m| m.unit_id);
    tx.rollback().await?;
    Ok(found)
}
