//! The covenant (giao ước thi đua) of a group-year: its text, the adopted
//! version of the group-year's scoring table it refers to, each member unit's
//! targets for the table's target criteria, each member's signature by its
//! leader, and the penalty the secretariat records for a unit that did not sign.
//!
//! # Rules (stated once)
//!
//! - **Who.** The text, the table version and the targets are set by the
//!   officers of the head and deputy units of the group-year, or by the
//!   secretariat (`Action::LeadGroupYear`). Only a member unit's leader signs,
//!   for that unit (`Action::SignCovenant`). The secretariat records the
//!   penalty (`Action::PenalizeUnsigned`). Members and readers of the group
//!   see everything (`Action::ViewGroup`).
//! - **Edits stop at the first signature.** Once any unit has signed, the text
//!   and the table version are refused (409, with a message); a unit's targets
//!   are frozen once that unit has signed (the targets of units that have not
//!   signed yet, a unit added later for instance, can still be set).
//! - **Table version.** Only an adopted version of this group-year's table can
//!   be chosen; a draft is refused. Targets of lines that are not target lines
//!   of the chosen version stay stored and are ignored (choosing the other
//!   version again brings them back).
//! - **Targets.** One per member and target criterion (`Method::Target`), a
//!   number greater than 0 typed as officers type it ("1.250,5"); an empty
//!   value removes it. All or nothing: one bad value and nothing is stored.
//! - **Signing** needs the text, a chosen version and a target for every
//!   member on every target criterion (the message names what is missing).
//!   A unit signs once. The signature records who, when, and the SHA-256 of
//!   exactly what was signed: the canonical JSON of [`SignedDocument`] (the
//!   text, the table version and the SHA-256 of its content, and the unit's
//!   targets). The document itself is kept in the signature's entry of the
//!   append-only audit log, so a unit can always read what it signed and see
//!   whether the covenant changed since (its hash differs).
//! - **Penalty** for not signing: once per unit, only for a member that has
//!   not signed, with a reason. The points default to the table's penalty
//!   line for it (a secretariat-only penalty line whose name mentions "giao
//!   ước"), else must be given. A unit may still sign later; the penalty stays.
//!
//! Every change is audited (`covenant.update`, `covenant.target`,
//! `covenant.sign`, `covenant.penalty`) with before and after; every refusal
//! through [`super::authorize`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use thidua_core::Invalid;
use thidua_core::org::{GroupKind, MemberRole};
use thidua_core::policy::{Action, GroupCtx, Target, decide};
use thidua_core::scoring::{AdjustLine, Line, Method, Points, QUANTITY_LIMIT, SCORE_LIMIT, ScoringTable};
use thidua_core::text::{fold, vi_cmp};
use thidua_db::org::{self as q, GroupRow, MemberRow};
use thidua_db::scoring::{self as s, CovenantRow, PenaltyRow, SignatureRow, TableRow, TargetRow};
use thidua_db::{Tx, audit};
use thidua_export::{Cell, Sheet, Table};
use utoipa::ToSchema;

use super::authorize;
use super::import::{ImportReport, MAX_BYTES, RowChange, RowError, limits, too_large_message, xlsx_error};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};

/// The longest covenant text, in characters.
pub const MAX_TEXT_CHARS: usize = 100_000;
/// The longest reason of a penalty, in characters.
pub const MAX_REASON_CHARS: usize = 2_000;
/// The format tag of a signed document.
pub const DOCUMENT_FORMAT: &str = "thidua/giao-uoc/1";
/// The unit column of the targets workbook.
pub const UNIT_COLUMN: &str = "Đơn vị";

// ---------- input ----------

/// The covenant's text and the table version it adopts.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct CovenantInput {
    /// The covenant's text (line breaks kept; `\r\n` is stored as `\n`).
    pub text: String,
    /// The adopted version of the group-year's scoring table (`scoring_tables.id`); null: not chosen yet.
    #[serde(default)]
    pub table_id: Option<i64>,
}

/// One unit's target on one target criterion.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct TargetInput {
    pub unit_id: i64,
    /// The code of a target criterion of the chosen table version ("I.1").
    pub line_code: String,
    /// The target as officers type it: "1.250,5" (comma decimals, dot
    /// thousands; "12.5" is also read); greater than 0. Empty removes it.
    #[serde(default)]
    pub target: String,
}

/// Targets to set; cells not listed stay as they are.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct TargetsInput {
    pub targets: Vec<TargetInput>,
}

/// Who signs: the unit the leader signs for.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct SignInput {
    pub unit_id: i64,
}

/// The penalty of a unit that did not sign.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct PenaltyInput {
    pub unit_id: i64,
    /// Points deducted, as officers type them ("8"); empty: the table's penalty line for not signing.
    #[serde(default)]
    pub points: String,
    /// Why (required): the decision, the deadline missed.
    #[serde(default)]
    pub reason: String,
}

// ---------- views ----------

/// A version of the group-year's table, as offered for the covenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionChoice {
    pub id: i64,
    pub version: i32,
    /// Only adopted versions can be chosen.
    pub adopted: bool,
    pub adopted_at: Option<String>,
    pub effective_from: Option<String>,
    pub reason: String,
}

/// A target criterion of the chosen table version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetLineView {
    pub code: String,
    pub name: String,
    /// The criterion's maximum, in hundredths.
    pub max: i64,
}

/// A unit's target on one criterion.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetCell {
    pub line_code: String,
    /// Hundredths; none when not set.
    pub target: Option<i64>,
    /// As shown: "1.250,5"; empty when not set.
    pub text: String,
}

/// A member's signature.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignatureView {
    pub signed_by: i64,
    pub signer_name: String,
    pub signed_at: String,
    pub content_hash: String,
    /// Whether what the covenant says for this unit now still hashes to what it signed.
    pub current: bool,
}

/// A penalty recorded for not signing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PenaltyView {
    pub unit_id: i64,
    pub unit_name: String,
    /// Points deducted, in hundredths (positive).
    pub points: i64,
    /// As shown: "8".
    pub points_text: String,
    pub reason: String,
    pub decided_by: i64,
    pub decided_by_name: String,
    pub decided_at: String,
}

/// One member unit of the year on the covenant's board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberCovenant {
    pub unit_id: i64,
    pub unit_name: String,
    /// head | deputy | member
    pub role: String,
    /// One cell per target criterion, in the table's order.
    pub targets: Vec<TargetCell>,
    pub signature: Option<SignatureView>,
    pub penalty: Option<PenaltyView>,
    /// signed | unsigned
    pub status: String,
    /// "Đã ký", "Chưa ký", "Chưa ký – đã trừ 8 điểm".
    pub status_label: String,
}

/// A group-year's covenant, its targets, the signature board and the caller's rights.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CovenantView {
    pub group_id: i64,
    pub group_name: String,
    /// cluster | block
    pub group_kind: String,
    pub authority_id: i64,
    pub authority_name: String,
    pub year: i32,
    /// None until the text or the table version is first saved.
    pub covenant_id: Option<i64>,
    pub text: String,
    pub table_id: Option<i64>,
    pub table_version: Option<i32>,
    pub table_effective_from: Option<String>,
    pub updated_at: Option<String>,
    /// Every version of the group-year's table (drafts cannot be chosen).
    pub versions: Vec<VersionChoice>,
    /// The target criteria of the chosen version, in the table's order.
    pub target_lines: Vec<TargetLineView>,
    /// The members of the year: head, deputy, then the others in Vietnamese order.
    pub members: Vec<MemberCovenant>,
    /// What still stops a unit from signing, in Vietnamese (empty when ready).
    pub not_ready: Vec<String>,
    pub signed: usize,
    pub unsigned: usize,
    /// Whether the text and the table version are frozen (someone has signed).
    pub locked: bool,
    /// The table's penalty line for not signing, if one is recognised.
    pub penalty_line: Option<String>,
    /// Its points, in hundredths.
    pub penalty_default: Option<i64>,
    /// The caller may set the targets (and the text and version while not locked).
    pub may_lead: bool,
    pub may_penalize: bool,
    /// The units the caller may sign for now (its leader's units that have not signed).
    pub may_sign: Vec<i64>,
}

/// A unit's target as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignedTarget {
    pub line_code: String,
    /// Hundredths.
    pub target: i64,
}

/// Exactly what a unit signs. Its canonical form is its JSON (fields in this
/// order, targets sorted by code); the signature's `content_hash` is the
/// SHA-256 of it. Names are left out on purpose: renaming a unit does not
/// change what it signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignedDocument {
    /// "thidua/giao-uoc/1".
    pub format: String,
    pub group_id: i64,
    pub year: i32,
    pub unit_id: i64,
    pub text: String,
    pub table_id: i64,
    pub table_version: i32,
    /// SHA-256 of the table version's content as stored (an adopted version never changes).
    pub table_sha256: String,
    pub targets: Vec<SignedTarget>,
}

impl SignedDocument {
    /// The SHA-256 of the canonical JSON, in hex.
    pub fn hash(&self) -> String {
        let canonical = serde_json::to_string(self).unwrap_or_default();
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }
}

/// A target as signed, with the criterion's name when the table still has it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignedTargetView {
    pub line_code: String,
    pub line_name: String,
    pub target: i64,
    pub text: String,
}

/// What a unit signed, and whether the covenant changed since.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignedView {
    pub group_id: i64,
    pub group_name: String,
    pub year: i32,
    pub unit_id: i64,
    pub unit_name: String,
    pub signed_by: i64,
    pub signer_name: String,
    pub signed_at: String,
    pub content_hash: String,
    /// The document as recorded when signing (from the audit log).
    pub document: Option<SignedDocument>,
    /// Whether the recorded document hashes to the signature's `content_hash`.
    pub document_matches: bool,
    /// The table version of the signed document.
    pub table_version: Option<i32>,
    pub targets: Vec<SignedTargetView>,
    /// The hash of what the covenant says for this unit now.
    pub current_hash: Option<String>,
    /// Whether the covenant changed since the signature (the hashes differ).
    pub changed_since: bool,
}

// ---------- loading ----------

/// A group-year's covenant with everything around it, read in one transaction.
struct Loaded {
    group: GroupRow,
    path: Vec<i64>,
    year: i32,
    gctx: GroupCtx,
    members: Vec<MemberRow>,
    versions: Vec<TableRow>,
    covenant: Option<CovenantRow>,
    table: Option<(TableRow, ScoringTable)>,
    targets: Vec<TargetRow>,
    signatures: Vec<SignatureRow>,
    penalties: Vec<PenaltyRow>,
}

fn role_rank(role: &str) -> u8 {
    match role {
        "head" => 0,
        "deputy" => 1,
        _ => 2,
    }
}

fn parse_table(row: &TableRow) -> AppResult<ScoringTable> {
    serde_json::from_str(&row.content)
        .map_err(|e| AppError::Internal(format!("scoring table {} does not parse: {e}", row.id)))
}

async fn load(tx: &mut Tx, group_id: i64, year: i32) -> AppResult<Loaded> {
    let group = q::group(tx, group_id).await?.ok_or(AppError::NotFound)?;
    let path = q::authority_path(tx, group.authority_id).await?;
    let gctx = q::group_ctx(tx, group_id, Some(year)).await?;
    let gy = s::covenant_group_year(tx, group_id, year).await?;
    let mut members: Vec<MemberRow> =
        q::members_of_group(tx, group_id).await?.into_iter().filter(|m| m.year == year).collect();
    members
        .sort_by(|a, b| role_rank(&a.role).cmp(&role_rank(&b.role)).then_with(|| vi_cmp(&a.unit_name, &b.unit_name)));
    let (versions, covenant) = match gy {
        Some(gy) => (s::versions(tx, gy).await?, s::covenant(tx, gy).await?),
        None => (vec![], None),
    };
    let table = match covenant.as_ref().and_then(|c| c.table_id) {
        Some(id) => {
            let row = s::table(tx, id).await?.ok_or_else(|| AppError::Internal(format!("table {id} missing")))?;
            let parsed = parse_table(&row)?;
            Some((row, parsed))
        }
        None => None,
    };
    let (targets, signatures, penalties) = match &covenant {
        Some(c) => (s::targets(tx, c.id).await?, s::signatures(tx, c.id).await?, s::penalties(tx, c.id).await?),
        None => (vec![], vec![], vec![]),
    };
    Ok(Loaded { group, path, year, gctx, members, versions, covenant, table, targets, signatures, penalties })
}

/// Begins a write transaction with the group-year's covenant locked, and loads it.
async fn begin_locked(st: &AppState, group_id: i64, year: i32) -> AppResult<(Tx, Loaded)> {
    let mut tx = st.db.begin().await?;
    if let Some(gy) = s::covenant_group_year(&mut tx, group_id, year).await? {
        s::lock_covenant(&mut tx, gy).await?;
    }
    let l = load(&mut tx, group_id, year).await?;
    Ok((tx, l))
}

impl Loaded {
    fn object(&self) -> String {
        format!("group:{}/year:{}/covenant", self.group.id, self.year)
    }

    fn group_target(&self) -> Target {
        Target::group(self.path.clone(), self.gctx.clone())
    }

    /// A unit of the group-year: the group as it is this year (its members of this year only).
    fn unit_target(&self, unit_id: i64) -> Target {
        Target {
            authority_path: self.path.clone(),
            unit_id: Some(unit_id),
            group: Some(GroupCtx {
                head_unit: self.gctx.head_unit,
                deputy_unit: self.gctx.deputy_unit,
                member_units: self.members.iter().map(|m| m.unit_id).collect(),
                inspections: vec![],
            }),
        }
    }

    fn member(&self, unit_id: i64) -> Option<&MemberRow> {
        self.members.iter().find(|m| m.unit_id == unit_id)
    }

    fn unit_name(&self, unit_id: i64) -> String {
        self.member(unit_id).map(|m| m.unit_name.clone()).unwrap_or_else(|| format!("đơn vị mã {unit_id}"))
    }

    /// The target criteria of the chosen version, in the table's order.
    fn target_lines(&self) -> Vec<&Line> {
        match &self.table {
            Some((_, t)) => {
                t.walk().into_iter().filter(|l| l.is_leaf() && matches!(l.method, Some(Method::Target))).collect()
            }
            None => vec![],
        }
    }

    fn target_of(&self, unit_id: i64, code: &str) -> Option<i64> {
        self.targets.iter().find(|t| t.unit_id == unit_id && t.line_code == code).map(|t| t.target)
    }

    fn signature(&self, unit_id: i64) -> Option<&SignatureRow> {
        self.signatures.iter().find(|s| s.unit_id == unit_id)
    }

    fn penalty(&self, unit_id: i64) -> Option<&PenaltyRow> {
        self.penalties.iter().find(|p| p.unit_id == unit_id)
    }

    /// Signatures of this year's members.
    fn member_signatures(&self) -> Vec<&SignatureRow> {
        self.signatures.iter().filter(|s| self.member(s.unit_id).is_some()).collect()
    }

    fn penalty_line(&self) -> Option<&AdjustLine> {
        self.table.as_ref().and_then(|(_, t)| penalty_line(t))
    }

    /// What stops a signature, in Vietnamese; empty when a unit may sign.
    fn not_ready(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.members.is_empty() {
            out.push(format!("Cụm, khối chưa có thành viên năm {}.", self.year));
        }
        let text_empty = self.covenant.as_ref().is_none_or(|c| c.text.trim().is_empty());
        if text_empty {
            out.push("Giao ước chưa có nội dung: đơn vị trưởng (hoặc phó) cần soạn nội dung giao ước.".into());
        }
        if self.table.is_none() {
            out.push(
                "Giao ước chưa chọn phiên bản bảng điểm áp dụng: đơn vị trưởng (hoặc phó) cần chọn một phiên bản đã \
                 thông qua."
                    .into(),
            );
        }
        let lines = self.target_lines();
        for m in &self.members {
            let missing: Vec<&str> = lines
                .iter()
                .filter(|l| self.target_of(m.unit_id, &l.code).is_none())
                .map(|l| l.code.as_str())
                .collect();
            if !missing.is_empty() {
                out.push(format!(
                    "{} chưa có chỉ tiêu cho tiêu chí {} (tiêu chí tính điểm theo chỉ tiêu được giao): đơn vị trưởng \
                     (hoặc phó) cần nhập chỉ tiêu trước khi ký.",
                    m.unit_name,
                    missing.join(", ")
                ));
            }
        }
        out
    }

    /// What the unit signs (or would sign) now; none without a covenant and a table version.
    fn document(&self, unit_id: i64) -> Option<SignedDocument> {
        let c = self.covenant.as_ref()?;
        let (row, _) = self.table.as_ref()?;
        let mut targets: Vec<SignedTarget> = self
            .target_lines()
            .iter()
            .filter_map(|l| {
                self.target_of(unit_id, &l.code).map(|t| SignedTarget { line_code: l.code.clone(), target: t })
            })
            .collect();
        targets.sort_by(|a, b| a.line_code.cmp(&b.line_code));
        Some(SignedDocument {
            format: DOCUMENT_FORMAT.into(),
            group_id: self.group.id,
            year: self.year,
            unit_id,
            text: c.text.clone(),
            table_id: row.id,
            table_version: row.version,
            table_sha256: hex::encode(Sha256::digest(row.content.as_bytes())),
            targets,
        })
    }
}

/// The penalty line for not signing the covenant (a rule of the domain).
pub fn penalty_line(t: &ScoringTable) -> Option<&AdjustLine> {
    t.covenant_penalty()
}

fn may(ctx: &Ctx, action: Action, t: &Target) -> bool {
    decide(&ctx.actor, action, t).is_ok()
}

fn points_text(h: i64) -> String {
    Points::from_hundredths(h).to_string()
}

async fn user_name(tx: &mut Tx, id: i64) -> AppResult<String> {
    Ok(thidua_db::users::user(tx, id).await?.map(|u| u.full_name).unwrap_or_else(|| format!("tài khoản {id}")))
}

async fn penalty_view(tx: &mut Tx, l: &Loaded, p: &PenaltyRow) -> AppResult<PenaltyView> {
    Ok(PenaltyView {
        unit_id: p.unit_id,
        unit_name: l.unit_name(p.unit_id),
        points: p.points,
        points_text: points_text(p.points),
        reason: p.reason.clone(),
        decided_by: p.decided_by,
        decided_by_name: user_name(tx, p.decided_by).await?,
        decided_at: p.decided_at.clone(),
    })
}

async fn view_of(tx: &mut Tx, ctx: &Ctx, l: &Loaded) -> AppResult<CovenantView> {
    let lines = l.target_lines();
    let mut members = Vec::new();
    for m in &l.members {
        let targets = lines
            .iter()
            .map(|line| {
                let t = l.target_of(m.unit_id, &line.code);
                TargetCell { line_code: line.code.clone(), target: t, text: t.map(points_text).unwrap_or_default() }
            })
            .collect();
        let signature = l.signature(m.unit_id).map(|sg| SignatureView {
            signed_by: sg.signed_by,
            signer_name: sg.signer_name.clone(),
            signed_at: sg.signed_at.clone(),
            content_hash: sg.content_hash.clone(),
            current: l.document(m.unit_id).is_some_and(|d| d.hash() == sg.content_hash),
        });
        let penalty = match l.penalty(m.unit_id) {
            Some(p) => Some(penalty_view(tx, l, p).await?),
            None => None,
        };
        let status_label = match (&signature, &penalty) {
            (Some(_), Some(p)) => format!("Đã ký (ký muộn, đã bị trừ {} điểm)", p.points_text),
            (Some(_), None) => "Đã ký".to_string(),
            (None, Some(p)) => format!("Chưa ký – đã trừ {} điểm", p.points_text),
            (None, None) => "Chưa ký".to_string(),
        };
        members.push(MemberCovenant {
            unit_id: m.unit_id,
            unit_name: m.unit_name.clone(),
            role: m.role.clone(),
            targets,
            status: if signature.is_some() { "signed" } else { "unsigned" }.into(),
            signature,
            penalty,
            status_label,
        });
    }
    let signed = l.member_signatures().len();
    let may_sign = l
        .members
        .iter()
        .filter(|m| l.signature(m.unit_id).is_none())
        .filter(|m| may(ctx, Action::SignCovenant, &l.unit_target(m.unit_id)))
        .map(|m| m.unit_id)
        .collect();
    let pline = l.penalty_line();
    Ok(CovenantView {
        group_id: l.group.id,
        group_name: l.group.name.clone(),
        group_kind: l.group.kind.clone(),
        authority_id: l.group.authority_id,
        authority_name: l.group.authority_name.clone(),
        year: l.year,
        covenant_id: l.covenant.as_ref().map(|c| c.id),
        text: l.covenant.as_ref().map(|c| c.text.clone()).unwrap_or_default(),
        table_id: l.table.as_ref().map(|t| t.0.id),
        table_version: l.table.as_ref().map(|t| t.0.version),
        table_effective_from: l.table.as_ref().and_then(|t| t.0.effective_from.clone()),
        updated_at: l.covenant.as_ref().map(|c| c.updated_at.clone()),
        versions: l
            .versions
            .iter()
            .map(|v| VersionChoice {
                id: v.id,
                version: v.version,
                adopted: v.adopted_at.is_some(),
                adopted_at: v.adopted_at.clone(),
                effective_from: v.effective_from.clone(),
                reason: v.reason.clone(),
            })
            .collect(),
        target_lines: lines
            .iter()
            .map(|line| TargetLineView { code: line.code.clone(), name: line.name.clone(), max: line.max.hundredths() })
            .collect(),
        members,
        not_ready: l.not_ready(),
        signed,
        unsigned: l.members.len() - signed,
        locked: !l.signatures.is_empty(),
        penalty_line: pline.map(|p| format!("{} – {}", p.code, p.name)),
        penalty_default: pline.map(|p| p.per.hundredths()),
        may_lead: may(ctx, Action::LeadGroupYear, &l.group_target()),
        may_penalize: may(ctx, Action::PenalizeUnsigned, &l.group_target()),
        may_sign,
    })
}

/// The message of a refused change once units have signed.
fn locked_message(l: &Loaded) -> String {
    let first = l.signatures.iter().min_by(|a, b| a.signed_at.cmp(&b.signed_at));
    let who = first
        .map(|f| format!(" (đầu tiên: {}, lúc {})", l.unit_name(f.unit_id), crate::view::stamp_vn(&f.signed_at)))
        .unwrap_or_default();
    format!(
        "Giao ước đã có {} đơn vị ký{who}: nội dung và phiên bản bảng điểm không sửa được nữa, để mọi đơn vị cùng ký \
         một nội dung. Nếu cần thay đổi, hãy lập phụ lục giao ước theo quy chế của cụm, khối.",
        l.signatures.len()
    )
}

// ---------- reading ----------

/// A group-year's covenant, its targets and its signature board.
pub async fn get(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<CovenantView> {
    let mut tx = st.db.read().await?;
    let l = load(&mut tx, group_id, year).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &l.group_target(), &l.object()).await?;
    let view = view_of(&mut tx, ctx, &l).await?;
    tx.rollback().await?;
    Ok(view)
}

/// What a unit signed (as recorded when it signed), and whether the covenant changed since.
pub async fn signed(st: &AppState, ctx: &Ctx, group_id: i64, year: i32, unit_id: i64) -> AppResult<SignedView> {
    let mut tx = st.db.read().await?;
    let l = load(&mut tx, group_id, year).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &l.group_target(), &l.object()).await?;
    let (Some(c), Some(sg)) = (l.covenant.as_ref(), l.signature(unit_id)) else {
        return Err(AppError::NotFound);
    };
    let recorded = s::signed_document(&mut tx, c.id, unit_id).await?;
    tx.rollback().await?;
    let document: Option<SignedDocument> = recorded
        .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
        .and_then(|v| serde_json::from_value(v.get("document")?.clone()).ok());
    let document_matches = document.as_ref().is_some_and(|d| d.hash() == sg.content_hash);
    let current_hash = l.document(unit_id).map(|d| d.hash());
    let names: BTreeMap<&str, &str> = l.target_lines().iter().map(|x| (x.code.as_str(), x.name.as_str())).collect();
    let targets = document
        .as_ref()
        .map(|d| {
            d.targets
                .iter()
                .map(|t| SignedTargetView {
                    line_code: t.line_code.clone(),
                    line_name: names.get(t.line_code.as_str()).map(|n| n.to_string()).unwrap_or_default(),
                    target: t.target,
                    text: points_text(t.target),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(SignedView {
        group_id: l.group.id,
        group_name: l.group.name.clone(),
        year,
        unit_id,
        unit_name: l.unit_name(unit_id),
        signed_by: sg.signed_by,
        signer_name: sg.signer_name.clone(),
        signed_at: sg.signed_at.clone(),
        content_hash: sg.content_hash.clone(),
        table_version: document.as_ref().map(|d| d.table_version),
        changed_since: current_hash.as_deref() != Some(sg.content_hash.as_str()),
        document,
        document_matches,
        targets,
        current_hash,
    })
}

// ---------- the text and the table version ----------

fn parse_text(text: &str) -> AppResult<String> {
    let t = text.replace("\r\n", "\n").replace('\r', "\n");
    let t = t.trim().to_string();
    if t.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::invalid(
            "Nội dung giao ước",
            format!(
                "Nội dung giao ước quá dài (tối đa {MAX_TEXT_CHARS} ký tự): hãy rút gọn hoặc đưa phần phụ lục vào tài liệu của cụm, khối."
            ),
        ));
    }
    Ok(t)
}

async fn check_year_open(tx: &mut Tx, year: i32) -> AppResult<()> {
    if q::years(tx).await?.contains(&year) {
        Ok(())
    } else {
        Err(AppError::invalid("Năm", format!("Năm thi đua {year} chưa được mở.")))
    }
}

/// Saves the covenant's text and the table version it adopts. Refused once a unit has signed.
pub async fn update(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    input: &CovenantInput,
) -> AppResult<CovenantView> {
    let text = parse_text(&input.text)?;
    let (mut tx, l) = begin_locked(st, group_id, year).await?;
    tx = authorize(st, ctx, tx, Action::LeadGroupYear, &l.group_target(), &l.object()).await?;
    check_year_open(&mut tx, year).await?;
    if !l.signatures.is_empty() {
        return Err(AppError::Conflict(locked_message(&l)));
    }
    if let Some(id) = input.table_id {
        let Some(v) = l.versions.iter().find(|v| v.id == id) else {
            return Err(AppError::invalid(
                "Bảng điểm",
                format!(
                    "Phiên bản bảng điểm mã {id} không thuộc {} năm {year}: hãy chọn một phiên bản trong danh sách.",
                    l.group.name
                ),
            ));
        };
        if v.adopted_at.is_none() {
            return Err(AppError::invalid(
                "Bảng điểm",
                format!(
                    "Phiên bản {} của bảng điểm mới là bản dự thảo, chưa được thông qua: giao ước chỉ áp dụng một \
                     phiên bản đã thông qua. Hãy chọn phiên bản khác, hoặc thông qua phiên bản này trước.",
                    v.version
                ),
            ));
        }
    }
    let before = l.covenant.clone();
    if before.as_ref().is_some_and(|c| c.text == text && c.table_id == input.table_id) {
        let view = view_of(&mut tx, ctx, &l).await?;
        tx.rollback().await?;
        return Ok(view);
    }
    let id = match &before {
        Some(c) => {
            s::update_covenant(&mut tx, c.id, &text, input.table_id).await?;
            c.id
        }
        None => {
            let gy = q::group_year(&mut tx, group_id, year).await?;
            s::insert_covenant(&mut tx, gy, &text, input.table_id).await?
        }
    };
    let l = load(&mut tx, group_id, year).await?;
    let mut e = ctx.entry("covenant.update", "covenant", id);
    e.authority_id = Some(l.group.authority_id);
    e.before = before.map(|b| json!(b));
    e.after = l.covenant.as_ref().map(|a| json!(a));
    audit::append(&mut tx, e).await?;
    let view = view_of(&mut tx, ctx, &l).await?;
    tx.commit().await?;
    Ok(view)
}

// ---------- targets ----------

/// One target to change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    unit_id: i64,
    unit_name: String,
    line_code: String,
    before: Option<i64>,
    after: Option<i64>,
}

fn change_json(c: &Change, value: Option<i64>) -> serde_json::Value {
    json!({ "unit_id": c.unit_id, "unit_name": c.unit_name, "line_code": c.line_code, "target": value })
}

/// Checks a target value: greater than 0, within the quantity limit.
fn check_target(field: &str, p: Points) -> Result<i64, String> {
    if !p.is_positive() {
        return Err(format!(
            "{field}: chỉ tiêu phải lớn hơn 0 (ghi {p}); công thức tính điểm chia cho chỉ tiêu. Để trống nếu chưa giao."
        ));
    }
    if p > QUANTITY_LIMIT {
        return Err(format!("{field}: chỉ tiêu quá lớn (tối đa {QUANTITY_LIMIT})."));
    }
    Ok(p.hundredths())
}

/// Needs a covenant with a chosen table version.
fn need_table(l: &Loaded) -> AppResult<i64> {
    match (&l.covenant, &l.table) {
        (Some(c), Some(_)) => Ok(c.id),
        _ => Err(AppError::invalid(
            "Bảng điểm",
            "Giao ước chưa chọn phiên bản bảng điểm: hãy chọn phiên bản bảng điểm trước, vì chỉ tiêu gắn với các tiêu \
             chí tính theo chỉ tiêu của bảng điểm.",
        )),
    }
}

fn target_codes(l: &Loaded) -> String {
    let codes: Vec<&str> = l.target_lines().iter().map(|x| x.code.as_str()).collect();
    if codes.is_empty() {
        "(bảng điểm không có tiêu chí nào tính theo chỉ tiêu)".into()
    } else {
        codes.join(", ")
    }
}

/// Plans the changes of a list of targets; every problem at once.
fn plan(l: &Loaded, input: &[TargetInput]) -> Result<Vec<Change>, Vec<Invalid>> {
    let lines = l.target_lines();
    let mut errs = Vec::new();
    let mut seen: Vec<(i64, String)> = Vec::new();
    let mut out = Vec::new();
    for t in input {
        let code = t.line_code.trim();
        let Some(m) = l.member(t.unit_id) else {
            errs.push(Invalid::new(
                "Đơn vị",
                format!(
                    "Đơn vị mã {} không phải thành viên của {} năm {}: chỉ giao chỉ tiêu cho các thành viên.",
                    t.unit_id, l.group.name, l.year
                ),
            ));
            continue;
        };
        let field = format!("{} – {code}", m.unit_name);
        let Some(line) = lines.iter().find(|x| x.code == code) else {
            errs.push(Invalid::new(
                &field,
                format!(
                    "\"{code}\" không phải tiêu chí tính theo chỉ tiêu của bảng điểm đã chọn. Các tiêu chí cần chỉ \
                     tiêu: {}.",
                    target_codes(l)
                ),
            ));
            continue;
        };
        if seen.iter().any(|(u, c)| *u == m.unit_id && c == code) {
            errs.push(Invalid::new(
                &field,
                format!("Chỉ tiêu của {} cho tiêu chí {code} được ghi hai lần.", m.unit_name),
            ));
            continue;
        }
        seen.push((m.unit_id, code.to_string()));
        let after = if t.target.trim().is_empty() {
            None
        } else {
            match Points::parse(&field, &t.target).map_err(|i| i.message).and_then(|p| check_target(&field, p)) {
                Ok(v) => Some(v),
                Err(msg) => {
                    errs.push(Invalid::new(&field, msg));
                    continue;
                }
            }
        };
        let before = l.target_of(m.unit_id, &line.code);
        if before == after {
            continue;
        }
        if let Some(sg) = l.signature(m.unit_id) {
            errs.push(Invalid::new(
                &field,
                format!(
                    "{} đã ký giao ước lúc {}: chỉ tiêu của đơn vị đã ký không sửa được.",
                    m.unit_name,
                    crate::view::stamp_vn(&sg.signed_at)
                ),
            ));
            continue;
        }
        out.push(Change {
            unit_id: m.unit_id,
            unit_name: m.unit_name.clone(),
            line_code: line.code.clone(),
            before,
            after,
        });
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

/// Writes planned changes and their audit entry.
async fn apply(
    tx: &mut Tx,
    ctx: &Ctx,
    l: &Loaded,
    covenant_id: i64,
    changes: &[Change],
    reason: Option<String>,
) -> AppResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    for c in changes {
        s::set_target(tx, covenant_id, c.unit_id, &c.line_code, c.after, ctx.user.id).await?;
    }
    let mut e = ctx.entry("covenant.target", "covenant", covenant_id);
    e.authority_id = Some(l.group.authority_id);
    e.before = Some(json!({ "targets": changes.iter().map(|c| change_json(c, c.before)).collect::<Vec<_>>() }));
    e.after = Some(json!({ "targets": changes.iter().map(|c| change_json(c, c.after)).collect::<Vec<_>>() }));
    e.reason = reason;
    audit::append(tx, e).await?;
    Ok(())
}

/// Sets targets (all or nothing); targets not listed stay as they are.
pub async fn set_targets(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    input: &TargetsInput,
) -> AppResult<CovenantView> {
    let (mut tx, l) = begin_locked(st, group_id, year).await?;
    tx = authorize(st, ctx, tx, Action::LeadGroupYear, &l.group_target(), &l.object()).await?;
    check_year_open(&mut tx, year).await?;
    let covenant_id = need_table(&l)?;
    let changes = plan(&l, &input.targets).map_err(AppError::Invalid)?;
    if changes.is_empty() {
        let view = view_of(&mut tx, ctx, &l).await?;
        tx.rollback().await?;
        return Ok(view);
    }
    apply(&mut tx, ctx, &l, covenant_id, &changes, None).await?;
    let l = load(&mut tx, group_id, year).await?;
    let view = view_of(&mut tx, ctx, &l).await?;
    tx.commit().await?;
    Ok(view)
}

// ---------- targets in Excel ----------

/// The file name of a group-year's targets workbook.
pub fn targets_file_name(group_id: i64, year: i32) -> String {
    format!("chi-tieu-giao-uoc-{group_id}-{year}.xlsx")
}

/// The targets workbook: one row per member, one column per target criterion
/// (headed by its code), filled with the current targets. It is the template
/// of the import, and importing it back changes nothing.
pub async fn targets_xlsx(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<Vec<u8>> {
    let mut tx = st.db.read().await?;
    let l = load(&mut tx, group_id, year).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &l.group_target(), &l.object()).await?;
    tx.rollback().await?;
    need_table(&l)?;
    let lines = l.target_lines();
    let mut headers: Vec<String> = vec![UNIT_COLUMN.to_string()];
    headers.extend(lines.iter().map(|x| x.code.clone()));
    let rows: Vec<Vec<String>> = l
        .members
        .iter()
        .map(|m| {
            let mut r = vec![m.unit_name.clone()];
            r.extend(lines.iter().map(|x| l.target_of(m.unit_id, &x.code).map(points_text).unwrap_or_default()));
            r
        })
        .collect();
    let described: Vec<String> = lines.iter().map(|x| format!("{}: {}", x.code, x.name)).collect();
    let title = format!(
        "Chỉ tiêu giao ước thi đua năm {year} – {}. {}. Số ghi như 1.250,5 (dấu phẩy thập phân); ô trống: chưa giao.",
        l.group.name,
        described.join("; ")
    );
    tokio::task::spawn_blocking(move || {
        let h: Vec<&str> = headers.iter().map(String::as_str).collect();
        thidua_export::write_table("Chỉ tiêu", Some(&title), &h, &rows)
    })
    .await
    .map_err(|e| AppError::Internal(format!("xlsx writer: {e}")))?
    .map_err(|e| AppError::Internal(format!("xlsx write: {e}")))
}

/// Reads the workbook off the async threads: the sheet (for the cells' types) and the table.
async fn read_upload(bytes: &[u8], headers: Vec<String>) -> AppResult<(Sheet, Table)> {
    if bytes.len() > MAX_BYTES {
        return Err(AppError::TooLarge(too_large_message()));
    }
    let owned = bytes.to_vec();
    let read = tokio::task::spawn_blocking(move || {
        let h: Vec<&str> = headers.iter().map(String::as_str).collect();
        thidua_export::read_sheet(&owned, &limits(), None)
            .and_then(|sheet| thidua_export::table_from_sheet(&sheet, &h, &[]).map(|t| (sheet, t)))
            .map_err(|e| xlsx_error(e, &owned))
    })
    .await
    .map_err(|e| AppError::Internal(format!("xlsx reader: {e}")))?;
    let (sheet, table) = read?;
    if table.rows.is_empty() {
        return Err(AppError::BadRequest(format!(
            "Tệp chỉ có dòng tiêu đề (dòng {}), chưa có dòng dữ liệu nào. Hãy tải tệp chỉ tiêu của giao ước, điền chỉ \
             tiêu rồi tải lên lại.",
            table.header_row
        )));
    }
    Ok((sheet, table))
}

/// A cell's target: none when empty. Numbers typed in Excel are read as
/// numbers (a decimal point), text as officers type it ("1.250,5").
fn cell_target(cell: &Cell, field: &str) -> Result<Option<i64>, String> {
    let parsed = match cell {
        Cell::Empty => return Ok(None),
        Cell::Text(t) if t.trim().is_empty() => return Ok(None),
        Cell::Text(t) => Points::parse(field, t).map_err(|i| i.message)?,
        Cell::Int(i) => match i.checked_mul(100) {
            Some(h) => Points::from_hundredths(h),
            None => return Err(format!("{field}: chỉ tiêu quá lớn (tối đa {QUANTITY_LIMIT}).")),
        },
        Cell::Decimal(d) => Points::parse(field, &d.replace('.', ",")).map_err(|i| i.message)?,
        Cell::Bool(_) | Cell::Date(_) | Cell::Error(_) => {
            return Err(format!(
                "{field}: ô \"{}\" không phải là số. Ghi chỉ tiêu bằng số, ví dụ 1.250,5, hoặc để trống.",
                cell.as_text()
            ));
        }
    };
    check_target(field, parsed).map(Some)
}

/// Finds a member by the name written in a row: exact, else without
/// diacritics and case, else by short name.
fn find_member<'a>(l: &'a Loaded, name: &str) -> Option<&'a MemberRow> {
    let n = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let f = fold(&n);
    l.members
        .iter()
        .find(|m| m.unit_name == n)
        .or_else(|| l.members.iter().find(|m| fold(&m.unit_name) == f))
        .or_else(|| l.members.iter().find(|m| !m.unit_short_name.is_empty() && fold(&m.unit_short_name) == f))
}

fn row_err(row: usize, column: &str, message: impl Into<String>) -> RowError {
    RowError { row, column: Some(column.to_string()), message: message.into() }
}

/// Imports targets from the workbook, all or nothing: every bad row is
/// reported with its Excel row number and nothing is stored.
pub async fn import_targets(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    bytes: &[u8],
    dry_run: bool,
) -> AppResult<ImportReport> {
    // first the right and the columns, without holding the write lock while reading the file
    let mut tx = st.db.read().await?;
    let l = load(&mut tx, group_id, year).await?;
    tx = authorize(st, ctx, tx, Action::LeadGroupYear, &l.group_target(), &l.object()).await?;
    tx.rollback().await?;
    need_table(&l)?;
    let table_id = l.table.as_ref().map(|t| t.0.id);
    let codes: Vec<String> = l.target_lines().iter().map(|x| x.code.clone()).collect();
    let mut headers = vec![UNIT_COLUMN.to_string()];
    headers.extend(codes.iter().cloned());
    let (sheet, table) = read_upload(bytes, headers).await?;

    let (mut tx, l) = if dry_run {
        let mut tx = st.db.read().await?;
        let l = load(&mut tx, group_id, year).await?;
        (tx, l)
    } else {
        begin_locked(st, group_id, year).await?
    };
    tx = authorize(st, ctx, tx, Action::LeadGroupYear, &l.group_target(), &l.object()).await?;
    if l.table.as_ref().map(|t| t.0.id) != table_id {
        return Err(AppError::Conflict(
            "Phiên bản bảng điểm của giao ước vừa được đổi: hãy tải lại tệp chỉ tiêu mới rồi nhập lại.".into(),
        ));
    }
    let covenant_id = need_table(&l)?;
    let mut report = ImportReport { rows: table.rows.len(), dry_run, ..Default::default() };
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    let mut all_changes: Vec<Change> = Vec::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let name = cells.first().map(|c| c.trim()).unwrap_or("");
        let Some(m) = find_member(&l, name) else {
            let list: Vec<&str> = l.members.iter().take(10).map(|m| m.unit_name.as_str()).collect();
            let msg = if name.is_empty() {
                "Chưa ghi tên đơn vị. Hãy ghi tên đơn vị thành viên như trong danh sách của cụm, khối.".to_string()
            } else {
                format!(
                    "\"{name}\" không phải thành viên của {} năm {year}. Các thành viên: {}{}.",
                    l.group.name,
                    list.join("; "),
                    if l.members.len() > 10 { "; …" } else { "" }
                )
            };
            report.errors.push(row_err(row, UNIT_COLUMN, msg));
            continue;
        };
        if let Some(first) = seen.get(&m.unit_id) {
            report.errors.push(row_err(
                row,
                UNIT_COLUMN,
                format!(
                    "{} đã có ở dòng {first}. Mỗi đơn vị chỉ ghi một dòng; hãy xoá hoặc gộp dòng trùng.",
                    m.unit_name
                ),
            ));
            continue;
        }
        seen.insert(m.unit_id, row);
        let mut input = Vec::new();
        let mut bad = false;
        for (i, code) in codes.iter().enumerate() {
            let col = table.columns.get(i + 1).copied().flatten();
            let cell = col.map(|c| sheet.cell(row - 1, c)).cloned().unwrap_or_default();
            let field = format!("{} – {code}", m.unit_name);
            match cell_target(&cell, &field) {
                Ok(v) => input.push(TargetInput {
                    unit_id: m.unit_id,
                    line_code: code.clone(),
                    target: v.map(points_text).unwrap_or_default(),
                }),
                Err(msg) => {
                    report.errors.push(row_err(row, code, msg));
                    bad = true;
                }
            }
        }
        if bad {
            continue;
        }
        match plan(&l, &input) {
            Ok(changes) if changes.is_empty() => report.unchanged += 1,
            Ok(changes) => {
                if changes.iter().all(|c| c.before.is_none()) {
                    report.created += 1;
                } else {
                    report.updated += 1;
                }
                let show = |v: Option<i64>| v.map(points_text).unwrap_or_else(|| "(trống)".into());
                let detail: Vec<String> = changes
                    .iter()
                    .map(|c| format!("{}: {} → {}", c.line_code, show(c.before), show(c.after)))
                    .collect();
                report.changes.push(RowChange {
                    row,
                    action: "Giao chỉ tiêu".into(),
                    object: m.unit_name.clone(),
                    detail: detail.join("; "),
                });
                all_changes.extend(changes);
            }
            Err(list) => {
                for i in list {
                    let column = codes.iter().find(|c| i.field.ends_with(&format!(" – {c}"))).cloned();
                    report.errors.push(RowError { row, column, message: i.message });
                }
            }
        }
    }
    if !report.errors.is_empty() || dry_run {
        tx.rollback().await?;
        return Ok(report);
    }
    let reason = format!("Nhập từ tệp Excel ({} byte, SHA-256 {})", bytes.len(), hex::encode(Sha256::digest(bytes)));
    apply(&mut tx, ctx, &l, covenant_id, &all_changes, Some(reason)).await?;
    report.committed = true;
    tx.commit().await?;
    Ok(report)
}

// ---------- signing ----------

/// Signs the covenant for a unit: only its leader, once, when the covenant is complete.
pub async fn sign(st: &AppState, ctx: &Ctx, group_id: i64, year: i32, input: &SignInput) -> AppResult<SignedView> {
    let unit_id = input.unit_id;
    let (mut tx, l) = begin_locked(st, group_id, year).await?;
    tx = authorize(
        st,
        ctx,
        tx,
        Action::SignCovenant,
        &l.unit_target(unit_id),
        &format!("{}/unit:{unit_id}", l.object()),
    )
    .await?;
    let name = l.unit_name(unit_id);
    if let Some(sg) = l.signature(unit_id) {
        return Err(AppError::Conflict(format!(
            "{name} đã ký giao ước năm {year} lúc {} (người ký: {}). Mỗi đơn vị chỉ ký một lần; không cần ký lại.",
            crate::view::stamp_vn(&sg.signed_at),
            sg.signer_name
        )));
    }
    let not_ready = l.not_ready();
    if !not_ready.is_empty() {
        return Err(AppError::Invalid(
            not_ready.into_iter().map(|m| Invalid::new("Giao ước", format!("Chưa ký được: {m}"))).collect(),
        ));
    }
    let (Some(c), Some(doc)) = (l.covenant.as_ref(), l.document(unit_id)) else {
        return Err(AppError::Internal("covenant ready without document".into()));
    };
    let hash = doc.hash();
    s::insert_signature(&mut tx, c.id, unit_id, ctx.user.id, &ctx.user.full_name, &hash).await?;
    let mut e = ctx.entry("covenant.sign", "covenant_signature", format!("{}/{unit_id}", c.id));
    e.authority_id = Some(l.group.authority_id);
    e.after = Some(json!({
        "covenant_id": c.id,
        "unit_id": unit_id,
        "unit_name": name,
        "signed_by": ctx.user.id,
        "signer_name": ctx.user.full_name,
        "content_hash": hash,
        "document": doc,
    }));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    signed(st, ctx, group_id, year, unit_id).await
}

// ---------- the penalty for not signing ----------

/// Records the penalty of a member that has not signed: once per unit, with a reason.
pub async fn penalize(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    input: &PenaltyInput,
) -> AppResult<PenaltyView> {
    let mut errs = Vec::new();
    let reason = input.reason.trim().to_string();
    if reason.is_empty() {
        errs.push(Invalid::new(
            "Lý do",
            "Hãy ghi lý do trừ điểm (ví dụ: quá hạn ký giao ước theo kế hoạch của cụm, khối, số văn bản nhắc).",
        ));
    } else if reason.chars().count() > MAX_REASON_CHARS {
        errs.push(Invalid::new("Lý do", format!("Lý do quá dài (tối đa {MAX_REASON_CHARS} ký tự).")));
    }
    let given = if input.points.trim().is_empty() {
        None
    } else {
        match Points::parse("Số điểm trừ", &input.points) {
            Ok(p) if !p.is_positive() => {
                errs.push(Invalid::new("Số điểm trừ", format!("Số điểm trừ phải lớn hơn 0 (ghi {p}), ví dụ 8.")));
                None
            }
            Ok(p) if p > SCORE_LIMIT => {
                errs.push(Invalid::new("Số điểm trừ", format!("Số điểm trừ quá lớn (tối đa {SCORE_LIMIT}).")));
                None
            }
            Ok(p) => Some(p),
            Err(i) => {
                errs.push(i);
                None
            }
        }
    };
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let unit_id = input.unit_id;
    let (mut tx, l) = begin_locked(st, group_id, year).await?;
    tx = authorize(
        st,
        ctx,
        tx,
        Action::PenalizeUnsigned,
        &l.unit_target(unit_id),
        &format!("{}/unit:{unit_id}", l.object()),
    )
    .await?;
    let Some(m) = l.member(unit_id) else {
        return Err(AppError::invalid(
            "Đơn vị",
            format!("Đơn vị mã {unit_id} không phải thành viên của {} năm {year}.", l.group.name),
        ));
    };
    let Some(c) = l.covenant.as_ref() else {
        return Err(AppError::invalid(
            "Giao ước",
            format!("{} năm {year} chưa có giao ước để ký: chưa thể trừ điểm vì không ký.", l.group.name),
        ));
    };
    if let Some(sg) = l.signature(unit_id) {
        return Err(AppError::Conflict(format!(
            "{} đã ký giao ước lúc {}: không trừ điểm không ký giao ước cho đơn vị đã ký.",
            m.unit_name,
            crate::view::stamp_vn(&sg.signed_at)
        )));
    }
    if let Some(p) = l.penalty(unit_id) {
        return Err(AppError::Conflict(format!(
            "Đã ghi nhận trừ {} điểm của {} vì không ký giao ước (lúc {}). Mỗi đơn vị chỉ bị trừ một lần.",
            points_text(p.points),
            m.unit_name,
            crate::view::stamp_vn(&p.decided_at)
        )));
    }
    let points = match (given, l.penalty_line()) {
        (Some(p), _) => p,
        (None, Some(line)) => line.per,
        (None, None) => {
            return Err(AppError::invalid(
                "Số điểm trừ",
                "Bảng điểm của giao ước không có dòng điểm trừ cho việc không ký giao ước: hãy ghi số điểm trừ theo \
                 quy chế của cụm, khối.",
            ));
        }
    };
    s::insert_penalty(&mut tx, c.id, unit_id, points.hundredths(), &reason, ctx.user.id).await?;
    let l = load(&mut tx, group_id, year).await?;
    let row = l.penalty(unit_id).cloned().ok_or_else(|| AppError::Internal("penalty not stored".into()))?;
    let view = penalty_view(&mut tx, &l, &row).await?;
    let mut e = ctx.entry("covenant.penalty", "covenant", c.id);
    e.authority_id = Some(l.group.authority_id);
    e.after = Some(json!(view));
    e.reason = Some(reason);
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(view)
}

/// The label of a member's role in the group.
pub fn role_label(role: &str, group_kind: &str) -> &'static str {
    let kind = GroupKind::parse(group_kind).unwrap_or(GroupKind::Cluster);
    MemberRole::parse(role).map(|r| r.label_for(kind)).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_read_as_numbers_or_as_officers_type_them() {
        let f = "Sở Y tế – I.1";
        assert_eq!(cell_target(&Cell::Empty, f), Ok(None));
        assert_eq!(cell_target(&Cell::Text("  ".into()), f), Ok(None));
        assert_eq!(cell_target(&Cell::Text("1.250,5".into()), f), Ok(Some(125_050)));
        assert_eq!(cell_target(&Cell::Text("12.5".into()), f), Ok(Some(1_250)));
        assert_eq!(cell_target(&Cell::Int(900), f), Ok(Some(90_000)));
        // an Excel number's decimal point is a decimal point, even before three digits
        assert_eq!(cell_target(&Cell::Decimal("1250.5".into()), f), Ok(Some(125_050)));
        assert!(
            cell_target(&Cell::Decimal("1.125".into()), f).is_err(),
            "three decimals are refused, not read as 1125"
        );
        assert!(cell_target(&Cell::Int(0), f).unwrap_err().contains("lớn hơn 0"));
        assert!(cell_target(&Cell::Text("-3".into()), f).unwrap_err().contains("lớn hơn 0"));
        assert!(cell_target(&Cell::Bool(true), f).unwrap_err().contains("không phải là số"));
        assert!(cell_target(&Cell::Int(i64::MAX), f).unwrap_err().contains("quá lớn"));
    }

    fn doc(targets: Vec<SignedTarget>) -> SignedDocument {
        SignedDocument {
            format: DOCUMENT_FORMAT.into(),
            group_id: 1,
            year: 2026,
            unit_id: 2,
            text: "Giao ước".into(),
            table_id: 3,
            table_version: 1,
            table_sha256: "ab".into(),
            targets,
        }
    }

    #[test]
    fn the_hash_covers_exactly_what_is_signed() {
        let t = |v| vec![SignedTarget { line_code: "I.1".into(), target: v }];
        let a = doc(t(125_050));
        assert_eq!(a.hash(), doc(t(125_050)).hash());
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), doc(t(125_051)).hash());
        assert_ne!(a.hash(), SignedDocument { text: "Giao ước.".into(), ..a.clone() }.hash());
        assert_ne!(a.hash(), SignedDocument { table_id: 4, ..a.clone() }.hash());
        // the recorded document reads back to the same hash
        let back: SignedDocument = serde_json::from_str(&serde_json::to_string(&a).expect("json")).expect("back");
        assert_eq!(back.hash(), a.hash());
    }

    #[test]
    fn the_sample_table_has_a_penalty_line_for_not_signing() {
        let t = thidua_core::scoring::sample_table();
        let line = penalty_line(&t).expect("line");
        assert_eq!((line.code.as_str(), line.per), ("TR.1", Points::whole(8)));
    }
}
