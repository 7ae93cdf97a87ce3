//! Operations on the cross-inspection plan of a group's year: generated or
//! adjusted by hand by the head or deputy unit (or the secretariat,
//! `Action::LeadGroupYear`), read by those who read the group
//! (`Action::ViewGroup`). The rules are `thidua_core::inspection`'s; last
//! year's pairs are the stored plan of the group's previous year.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thidua_core::inspection::{self as ins, Member, Pair};
use thidua_core::policy::{Action, Target, decide};
use thidua_db::inspection::{self as i, PairRow};
use thidua_db::org::{self as q, GroupRow};
use thidua_db::{Tx, audit};
use utoipa::ToSchema;

use super::authorize;
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};

// ---------- input ----------

/// One pair of a plan adjusted by hand.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct PairInput {
    pub inspector_unit_id: i64,
    pub inspected_unit_id: i64,
}

/// A whole plan adjusted by hand: every member inspected by exactly one other member.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct AdjustInput {
    pub pairs: Vec<PairInput>,
    /// Why (optional), kept in the audit log.
    #[serde(default)]
    pub reason: String,
}

// ---------- views ----------

/// A member unit of the group-year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberLine {
    pub unit_id: i64,
    pub name: String,
    /// head | deputy | member
    pub role: String,
}

/// One unit inspecting another.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PairLine {
    pub inspector_unit_id: i64,
    pub inspector_name: String,
    pub inspected_unit_id: i64,
    pub inspected_name: String,
}

/// A group-year's cross-inspection plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InspectionPlan {
    pub group_id: i64,
    pub group_name: String,
    pub authority_id: i64,
    pub authority_name: String,
    pub year: i32,
    /// The members of the year (head, deputy, then members).
    pub members: Vec<MemberLine>,
    /// The stored plan, by inspector; empty when none has been made.
    pub pairs: Vec<PairLine>,
    /// Last year's stored plan of the same group.
    pub last_year: Vec<PairLine>,
    /// Warnings about the stored plan (pairs repeated from last year, members changed since), in Vietnamese.
    pub warnings: Vec<String>,
    /// Who made the plan and when (UTC).
    pub created_by: Option<String>,
    pub created_at: Option<String>,
    /// Whether the caller may generate or adjust the plan.
    pub may_lead: bool,
}

fn line(p: &PairRow) -> PairLine {
    PairLine {
        inspector_unit_id: p.inspector_unit_id,
        inspector_name: p.inspector_name.clone(),
        inspected_unit_id: p.inspected_unit_id,
        inspected_name: p.inspected_name.clone(),
    }
}

fn core_pairs(rows: &[PairRow]) -> Vec<Pair> {
    rows.iter().map(|p| Pair::new(p.inspector_unit_id, p.inspected_unit_id)).collect()
}

fn pairs_json(year: i32, pairs: &[Pair], names: &dyn Fn(i64) -> String) -> Value {
    let list: Vec<Value> = pairs
        .iter()
        .map(|p| {
            json!({
                "inspector_unit_id": p.inspector,
                "inspector_name": names(p.inspector),
                "inspected_unit_id": p.inspected,
                "inspected_name": names(p.inspected),
            })
        })
        .collect();
    json!({ "year": year, "pairs": list })
}

async fn check_year_open(tx: &mut Tx, year: i32) -> AppResult<()> {
    if q::years(tx).await?.contains(&year) {
        Ok(())
    } else {
        Err(AppError::invalid("Năm", format!("Năm thi đua {year} chưa được mở.")))
    }
}

async fn group_target(tx: &mut Tx, g: &GroupRow, year: i32) -> AppResult<Target> {
    let path = q::authority_path(tx, g.authority_id).await?;
    let ctx = q::group_ctx(tx, g.id, Some(year)).await?;
    Ok(Target::group(path, ctx))
}

/// The members of a group's year.
async fn members(tx: &mut Tx, group_id: i64, year: i32) -> AppResult<Vec<MemberLine>> {
    Ok(q::members_of_group(tx, group_id)
        .await?
        .into_iter()
        .filter(|m| m.year == year)
        .map(|m| MemberLine { unit_id: m.unit_id, name: m.unit_name, role: m.role })
        .collect())
}

fn core_members(members: &[MemberLine]) -> Vec<Member> {
    members.iter().map(|m| Member::new(m.unit_id, m.name.clone())).collect()
}

/// The stored plans of the year and of the year before.
async fn stored(tx: &mut Tx, group_id: i64, year: i32) -> AppResult<(Option<i64>, Vec<PairRow>, Vec<PairRow>)> {
    let gy = q::find_group_year(tx, group_id, year).await?;
    let now = match gy {
        Some(id) => i::pairs(tx, id).await?,
        None => vec![],
    };
    let last = match q::find_group_year(tx, group_id, year - 1).await? {
        Some(id) => i::pairs(tx, id).await?,
        None => vec![],
    };
    Ok((gy, now, last))
}

async fn load(tx: &mut Tx, ctx: &Ctx, g: &GroupRow, t: &Target, year: i32) -> AppResult<InspectionPlan> {
    let members = members(tx, g.id, year).await?;
    let (_, now, last) = stored(tx, g.id, year).await?;
    let warnings = if now.is_empty() {
        vec![]
    } else {
        match ins::check(&core_members(&members), &core_pairs(&now), &core_pairs(&last)) {
            Ok(w) => w,
            Err(v) => v.into_iter().map(|e| e.message).collect(),
        }
    };
    Ok(InspectionPlan {
        group_id: g.id,
        group_name: g.name.clone(),
        authority_id: g.authority_id,
        authority_name: g.authority_name.clone(),
        year,
        members,
        created_by: now.first().and_then(|p| p.created_by.clone()),
        created_at: now.first().map(|p| p.created_at.clone()),
        pairs: now.iter().map(line).collect(),
        last_year: last.iter().map(line).collect(),
        warnings,
        may_lead: decide(&ctx.actor, Action::LeadGroupYear, t).is_ok(),
    })
}

/// The seed of a group-year's generated plan: the same group-year always gets the same plan.
fn seed(group_year_id: i64, year: i32) -> u64 {
    (group_year_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (year as u64)
}

// ---------- operations ----------

/// A group-year's plan, with last year's and the warnings.
pub async fn plan(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<InspectionPlan> {
    let mut tx = st.db.read().await?;
    let g = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &g, year).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &t, &format!("group:{group_id}")).await?;
    check_year_open(&mut tx, year).await?;
    let view = load(&mut tx, ctx, &g, &t, year).await?;
    tx.rollback().await?;
    Ok(view)
}

/// What a change of the plan starts from: the group, its target, the
/// transaction, the members, the group-year and the stored plans.
struct Start {
    tx: Tx,
    g: GroupRow,
    t: Target,
    members: Vec<Member>,
    gy: Option<i64>,
    before: Vec<Pair>,
    last: Vec<Pair>,
}

async fn start(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<Start> {
    let mut tx = st.db.begin().await?;
    let g = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &g, year).await?;
    tx = authorize(st, ctx, tx, Action::LeadGroupYear, &t, &format!("group:{group_id}")).await?;
    check_year_open(&mut tx, year).await?;
    if g.closed_on.as_deref().is_some_and(|c| c < format!("{year}-01-01").as_str()) {
        return Err(AppError::invalid("Năm", format!("Cụm, khối \"{}\" đã giải thể trước năm {year}.", g.name)));
    }
    if let Some(gy) = q::find_group_year(&mut tx, group_id, year).await? {
        i::lock(&mut tx, gy).await?;
    }
    let members = core_members(&members(&mut tx, group_id, year).await?);
    let (gy, now, last) = stored(&mut tx, group_id, year).await?;
    Ok(Start { tx, g, t, members, gy, before: core_pairs(&now), last: core_pairs(&last) })
}

/// Stores a new plan in place of the old one, audited with both.
async fn store(
    st: Start,
    ctx: &Ctx,
    year: i32,
    action: &str,
    after: Vec<Pair>,
    reason: Option<String>,
) -> AppResult<InspectionPlan> {
    let Start { mut tx, g, t, members, gy, before, .. } = st;
    let gy = match gy {
        Some(id) => id,
        None => q::group_year(&mut tx, g.id, year).await?,
    };
    let rows: Vec<(i64, i64)> = after.iter().map(|p| (p.inspector, p.inspected)).collect();
    i::replace(&mut tx, gy, &rows, ctx.user.id).await?;
    let names = |id: i64| {
        members.iter().find(|m| m.id == id).map(|m| m.name.clone()).unwrap_or_else(|| format!("đơn vị mã {id}"))
    };
    let mut e = ctx.entry(action, "group", g.id);
    e.authority_id = Some(g.authority_id);
    e.before = Some(pairs_json(year, &before, &names));
    e.after = Some(pairs_json(year, &after, &names));
    e.reason = reason;
    audit::append(&mut tx, e).await?;
    let view = load(&mut tx, ctx, &g, &t, year).await?;
    tx.commit().await?;
    Ok(view)
}

/// Generates the plan of a group-year (the same group-year always gets the
/// same plan), in place of the stored one. Refused with fewer than three members.
pub async fn generate(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<InspectionPlan> {
    let mut s = start(st, ctx, group_id, year).await?;
    let gy = match s.gy {
        Some(id) => id,
        None => {
            // too few members: refuse before creating the group-year
            ins::plan(&s.members, &s.last, 0).map_err(|e| AppError::Invalid(vec![e]))?;
            let id = q::group_year(&mut s.tx, group_id, year).await?;
            s.gy = Some(id);
            id
        }
    };
    let p = ins::plan(&s.members, &s.last, seed(gy, year)).map_err(|e| AppError::Invalid(vec![e]))?;
    let mut after = p.pairs;
    after.sort();
    store(s, ctx, year, "inspection.plan", after, Some(p.notes.join(" "))).await
}

/// Replaces the plan of a group-year by one adjusted by hand, checked by the
/// same rules: refused (nothing stored) with messages naming the units.
pub async fn adjust(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    input: &AdjustInput,
) -> AppResult<InspectionPlan> {
    let reason = input.reason.split_whitespace().collect::<Vec<_>>().join(" ");
    if reason.chars().count() > 1000 {
        return Err(AppError::invalid("Lý do", "Lý do quá dài (tối đa 1000 ký tự)."));
    }
    let s = start(st, ctx, group_id, year).await?;
    let mut after: Vec<Pair> =
        input.pairs.iter().map(|p| Pair::new(p.inspector_unit_id, p.inspected_unit_id)).collect();
    after.sort();
    ins::check(&s.members, &after, &s.last).map_err(AppError::Invalid)?;
    store(s, ctx, year, "inspection.adjust", after, Some(reason)).await
}
