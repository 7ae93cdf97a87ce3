//! Operations on the organisation registry.

use serde::{Deserialize, Serialize};
use serde_json::json;
use thidua_core::Invalid;
use thidua_core::org::{self, AuthorityLevel, GroupKind, LineageKind, MemberRole, Name, UnitKind};
use thidua_core::policy::{Action, Target, readable_authorities};
use thidua_core::text::sort_vi_by;
use thidua_db::org::{self as q, AuthorityRow, GroupRow, LineageRow, MemberRow, UnitData, UnitRow};
use thidua_db::{Tx, audit};
use utoipa::ToSchema;

use super::{authorize, search_words, today, tree};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};

/// Collects field errors, so a form shows all of them at once.
#[derive(Default)]
pub struct Errors(pub Vec<Invalid>);

impl Errors {
    pub fn take<T>(&mut self, r: Result<T, Invalid>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
    pub fn finish(self) -> AppResult<()> {
        if self.0.is_empty() { Ok(()) } else { Err(AppError::Invalid(self.0)) }
    }
}

// ---------- authorities ----------

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct AuthorityInput {
    pub name: String,
    #[serde(default)]
    pub short_name: String,
    /// central | ministry | province
    pub level: String,
    #[serde(default)]
    pub parent_id: Option<i64>,
}

pub async fn list_authorities(st: &AppState, ctx: &Ctx) -> AppResult<Vec<AuthorityRow>> {
    let mut tx = st.db.read().await?;
    tx = authorize(st, ctx, tx, Action::ViewDirectory, &Target::system(), "authority:*").await?;
    let mut all = q::authorities(&mut tx).await?;
    tx.rollback().await?;
    sort_vi_by(&mut all, |a| a.name.as_str());
    Ok(all)
}

pub async fn get_authority(st: &AppState, ctx: &Ctx, id: i64) -> AppResult<AuthorityRow> {
    let mut tx = st.db.read().await?;
    tx = authorize(st, ctx, tx, Action::ViewDirectory, &Target::system(), &format!("authority:{id}")).await?;
    let a = q::authority(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.rollback().await?;
    Ok(a)
}

fn parse_authority(input: &AuthorityInput) -> AppResult<(Name, String, AuthorityLevel)> {
    let mut e = Errors::default();
    let name = e.take(Name::parse("Tên cơ quan", &input.name));
    let level = e.take(
        AuthorityLevel::parse(&input.level)
            .ok_or_else(|| Invalid::new("Cấp", "Hãy chọn cấp: Trung ương, Bộ, ngành hoặc Tỉnh, thành phố.")),
    );
    let short = name.as_ref().and_then(|n| e.take(org::parse_short_name(&input.short_name, n)));
    e.finish()?;
    match (name, short, level) {
        (Some(n), Some(s), Some(l)) => Ok((n, s, l)),
        _ => Err(AppError::Internal("parse_authority".into())),
    }
}

pub async fn save_authority(
    st: &AppState,
    ctx: &Ctx,
    id: Option<i64>,
    input: &AuthorityInput,
) -> AppResult<AuthorityRow> {
    let (name, short, level) = parse_authority(input)?;
    let mut tx = st.db.begin().await?;
    tx = authorize(st, ctx, tx, Action::ManageAuthority, &Target::system(), &format!("authority:{}", id.unwrap_or(0)))
        .await?;
    if let Some(p) = input.parent_id {
        let all = q::authorities(&mut tx).await?;
        if !all.iter().any(|a| a.id == p) {
            return Err(AppError::invalid("Cơ quan cấp trên", "Cơ quan cấp trên không tồn tại."));
        }
        if let Some(id) = id
            && q::path_in(&all, p).contains(&id)
        {
            return Err(AppError::invalid(
                "Cơ quan cấp trên",
                "Không thể chọn chính cơ quan này hoặc cơ quan cấp dưới của nó làm cấp trên.",
            ));
        }
    }
    let (id, before) = match id {
        Some(id) => {
            let before = q::authority(&mut tx, id).await?.ok_or(AppError::NotFound)?;
            q::update_authority(&mut tx, id, name.as_str(), &short, level.code(), input.parent_id).await?;
            (id, Some(before))
        }
        None => (q::insert_authority(&mut tx, name.as_str(), &short, level.code(), input.parent_id).await?, None),
    };
    let after = q::authority(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut e = ctx.entry(if before.is_some() { "authority.update" } else { "authority.create" }, "authority", id);
    e.authority_id = Some(id);
    e.before = before.map(|b| json!(b));
    e.after = Some(json!(after));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(after)
}

/// Records that an authority no longer organises groups (its history stays).
pub async fn close_authority(st: &AppState, ctx: &Ctx, id: i64, input: &CloseInput) -> AppResult<AuthorityRow> {
    let date = org::parse_date_field("Ngày thôi hoạt động", &input.date)?;
    let mut tx = st.db.begin().await?;
    tx = authorize(st, ctx, tx, Action::ManageAuthority, &Target::system(), &format!("authority:{id}")).await?;
    let before = q::authority(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    q::close_authority(&mut tx, id, Some(date.to_string())).await?;
    let after = q::authority(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut e = ctx.entry("authority.close", "authority", id);
    e.authority_id = Some(id);
    e.before = Some(json!(before));
    e.after = Some(json!(after));
    e.reason = Some(input.reason.trim().to_string());
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(after)
}

// ---------- years ----------

pub async fn list_years(st: &AppState, ctx: &Ctx) -> AppResult<Vec<i32>> {
    let mut tx = st.db.read().await?;
    tx = authorize(st, ctx, tx, Action::ViewDirectory, &Target::system(), "year:*").await?;
    let y = q::years(&mut tx).await?;
    tx.rollback().await?;
    Ok(y)
}

pub async fn open_year(st: &AppState, ctx: &Ctx, year: &str) -> AppResult<i32> {
    let year = org::parse_year(year)?;
    let mut tx = st.db.begin().await?;
    tx = authorize(st, ctx, tx, Action::ManageYears, &Target::system(), &format!("year:{year}")).await?;
    if q::years(&mut tx).await?.contains(&year) {
        return Err(AppError::Conflict(format!("Năm thi đua {year} đã được mở.")));
    }
    q::insert_year(&mut tx, year).await?;
    let mut e = ctx.entry("year.open", "year", year);
    e.after = Some(json!({ "year": year }));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(year)
}

// ---------- units ----------

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct UnitInput {
    pub name: String,
    #[serde(default)]
    pub short_name: String,
    /// department | commune | province | ministry | party | mass | enterprise | other
    pub kind: String,
    pub authority_id: i64,
    /// dd/mm/yyyy or yyyy-mm-dd; empty for none
    #[serde(default)]
    pub active_from: String,
    #[serde(default)]
    pub active_to: String,
}

/// Parses a unit's input into the row to store.
pub fn parse_unit(input: &UnitInput) -> AppResult<UnitData> {
    let mut e = Errors::default();
    let name = e.take(Name::parse("Tên đơn vị", &input.name));
    let kind = e.take(UnitKind::parse(&input.kind).ok_or_else(|| {
        let kinds: Vec<&str> = UnitKind::ALL.iter().map(|k| k.label()).collect();
        Invalid::new(
            "Loại",
            format!(
                "Loại đơn vị \"{}\" không có trong danh mục. Hãy chọn một trong: {}.",
                input.kind.trim(),
                kinds.join("; ")
            ),
        )
    }));
    let from = e.take(org::parse_opt_date("Hoạt động từ", &input.active_from));
    let to = e.take(org::parse_opt_date("Hoạt động đến", &input.active_to));
    if let (Some(f), Some(t)) = (from, to) {
        e.take(org::check_active_period(f, t));
    }
    let short = name.as_ref().and_then(|n| e.take(org::parse_short_name(&input.short_name, n)));
    e.finish()?;
    match (name, short, kind, from, to) {
        (Some(n), Some(s), Some(k), Some(f), Some(t)) => Ok(UnitData {
            name: n.into_string(),
            short_name: s,
            kind: k.code().into(),
            authority_id: input.authority_id,
            active_from: f.map(|d| d.to_string()),
            active_to: t.map(|d| d.to_string()),
        }),
        _ => Err(AppError::Internal("parse_unit".into())),
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
pub struct UnitSearch {
    /// Words to find in the name or short name, with or without diacritics.
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub authority_id: Option<i64>,
    /// Include units no longer active.
    #[serde(default)]
    pub closed: bool,
}

pub async fn search_units(st: &AppState, ctx: &Ctx, s: &UnitSearch) -> AppResult<Vec<UnitRow>> {
    let mut tx = st.db.read().await?;
    let all = q::authorities(&mut tx).await?;
    let mut scope = readable_authorities(&ctx.actor, &tree(&all));
    if let Some(a) = s.authority_id {
        scope = Some(match scope {
            Some(v) => v.into_iter().filter(|x| *x == a).collect(),
            None => vec![a],
        });
    }
    let query = q::UnitQuery {
        words: search_words(&s.q),
        authorities: scope,
        kind: UnitKind::parse(&s.kind).map(|k| k.code().to_string()),
        include_closed: s.closed,
        today: today().to_string(),
        limit: 5000,
    };
    let mut units = q::search_units(&mut tx, &query).await?;
    tx.rollback().await?;
    sort_vi_by(&mut units, |u| u.name.as_str());
    Ok(units)
}

/// A unit with its lineage and memberships.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitDetail {
    pub unit: UnitRow,
    pub lineage: Vec<LineageRow>,
    pub memberships: Vec<MemberRow>,
}

async fn unit_target(tx: &mut Tx, u: &UnitRow) -> AppResult<Target> {
    Ok(Target::unit(q::authority_path(tx, u.authority_id).await?, u.id))
}

pub async fn get_unit(st: &AppState, ctx: &Ctx, id: i64) -> AppResult<UnitDetail> {
    let mut tx = st.db.read().await?;
    let unit = q::unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let t = unit_target(&mut tx, &unit).await?;
    tx = authorize(st, ctx, tx, Action::ViewUnit, &t, &format!("unit:{id}")).await?;
    let lineage = q::lineage_of(&mut tx, id).await?;
    let memberships = q::memberships_of_unit(&mut tx, id).await?;
    tx.rollback().await?;
    Ok(UnitDetail { unit, lineage, memberships })
}

pub async fn create_unit(st: &AppState, ctx: &Ctx, input: &UnitInput) -> AppResult<UnitRow> {
    let data = parse_unit(input)?;
    let mut tx = st.db.begin().await?;
    let path = q::authority_path(&mut tx, data.authority_id).await?;
    if q::authority(&mut tx, data.authority_id).await?.is_none() {
        return Err(AppError::invalid("Cơ quan quản lý", "Cơ quan quản lý không tồn tại."));
    }
    tx = authorize(st, ctx, tx, Action::ManageUnit, &Target::authority(path), "unit:new").await?;
    if q::unit_by_name(&mut tx, data.authority_id, &data.name).await?.is_some() {
        return Err(AppError::Conflict(format!("Đã có đơn vị \"{}\" trong cơ quan này.", data.name)));
    }
    let id = q::insert_unit(&mut tx, &data).await?;
    let row = q::unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    audit_unit(&mut tx, ctx, "unit.create", None, &row, None).await?;
    tx.commit().await?;
    Ok(row)
}

async fn audit_unit(
    tx: &mut Tx,
    ctx: &Ctx,
    action: &str,
    before: Option<&UnitRow>,
    after: &UnitRow,
    reason: Option<String>,
) -> AppResult<()> {
    let mut e = ctx.entry(action, "unit", after.id);
    e.authority_id = Some(after.authority_id);
    e.before = before.map(|b| json!(b));
    e.after = Some(json!(after));
    e.reason = reason;
    audit::append(tx, e).await?;
    Ok(())
}

pub async fn update_unit(st: &AppState, ctx: &Ctx, id: i64, input: &UnitInput) -> AppResult<UnitRow> {
    let data = parse_unit(input)?;
    let mut tx = st.db.begin().await?;
    let before = q::unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let t = unit_target(&mut tx, &before).await?;
    tx = authorize(st, ctx, tx, Action::ManageUnit, &t, &format!("unit:{id}")).await?;
    if data.authority_id != before.authority_id {
        // moving a unit needs the right over the new authority as well
        if q::authority(&mut tx, data.authority_id).await?.is_none() {
            return Err(AppError::invalid("Cơ quan quản lý", "Cơ quan quản lý không tồn tại."));
        }
        let path = q::authority_path(&mut tx, data.authority_id).await?;
        tx = authorize(st, ctx, tx, Action::ManageUnit, &Target::authority(path), &format!("unit:{id}")).await?;
    }
    if let Some(other) = q::unit_by_name(&mut tx, data.authority_id, &data.name).await?
        && other.id != id
    {
        return Err(AppError::Conflict(format!("Đã có đơn vị khác tên \"{}\" trong cơ quan này.", data.name)));
    }
    q::update_unit(&mut tx, id, &data).await?;
    let after = q::unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    audit_unit(&mut tx, ctx, "unit.update", Some(&before), &after, None).await?;
    tx.commit().await?;
    Ok(after)
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CloseInput {
    /// The last day of activity, dd/mm/yyyy.
    pub date: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn close_unit(st: &AppState, ctx: &Ctx, id: i64, input: &CloseInput) -> AppResult<UnitRow> {
    let date = org::parse_date_field("Ngày thôi hoạt động", &input.date)?;
    let mut tx = st.db.begin().await?;
    let before = q::unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let t = unit_target(&mut tx, &before).await?;
    tx = authorize(st, ctx, tx, Action::ManageUnit, &t, &format!("unit:{id}")).await?;
    let from = before.active_from.as_deref().and_then(|d| d.parse().ok());
    org::check_active_period(from, Some(date))?;
    let mut data = UnitData {
        name: before.name.clone(),
        short_name: before.short_name.clone(),
        kind: before.kind.clone(),
        authority_id: before.authority_id,
        active_from: before.active_from.clone(),
        active_to: Some(date.to_string()),
    };
    data.active_to = Some(date.to_string());
    q::update_unit(&mut tx, id, &data).await?;
    let after = q::unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    audit_unit(&mut tx, ctx, "unit.close", Some(&before), &after, Some(input.reason.trim().to_string())).await?;
    tx.commit().await?;
    Ok(after)
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct LineageInput {
    /// The unit that continues this unit's history.
    pub successor_id: i64,
    /// merged | split | renamed
    pub kind: String,
    /// dd/mm/yyyy
    pub effective_on: String,
    #[serde(default)]
    pub note: String,
    /// Also end this unit's activity the day before (for a merger or a renaming).
    #[serde(default)]
    pub close_predecessor: bool,
}

/// Records that unit `id` was merged into, split into, or renamed to another.
pub async fn add_lineage(st: &AppState, ctx: &Ctx, id: i64, input: &LineageInput) -> AppResult<LineageRow> {
    let mut e = Errors::default();
    let kind = e.take(
        LineageKind::parse(&input.kind)
            .ok_or_else(|| Invalid::new("Hình thức", "Hãy chọn: sáp nhập, chia tách hoặc đổi tên.")),
    );
    let date = e.take(org::parse_date_field("Ngày hiệu lực", &input.effective_on));
    e.finish()?;
    let (Some(kind), Some(date)) = (kind, date) else {
        return Err(AppError::Internal("lineage".into()));
    };
    if input.successor_id == id {
        return Err(AppError::invalid("Đơn vị kế thừa", "Đơn vị kế thừa phải khác đơn vị này."));
    }
    let mut tx = st.db.begin().await?;
    let pred = q::unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let succ = q::unit(&mut tx, input.successor_id)
        .await?
        .ok_or_else(|| AppError::invalid("Đơn vị kế thừa", "Đơn vị kế thừa không tồn tại."))?;
    let t1 = unit_target(&mut tx, &pred).await?;
    tx = authorize(st, ctx, tx, Action::ManageUnit, &t1, &format!("unit:{id}")).await?;
    let t2 = unit_target(&mut tx, &succ).await?;
    tx = authorize(st, ctx, tx, Action::ViewUnit, &t2, &format!("unit:{}", succ.id)).await?;
    if q::lineage_of(&mut tx, id).await?.iter().any(|l| l.predecessor_id == id && l.successor_id == succ.id) {
        return Err(AppError::Conflict("Quan hệ kế thừa này đã được ghi nhận.".into()));
    }
    let note = input.note.trim().to_string();
    let lid = q::insert_lineage(&mut tx, id, succ.id, kind.code(), &date.to_string(), &note).await?;
    if input.close_predecessor && kind != LineageKind::Split && pred.active_to.is_none() {
        let last = date.pred_opt().unwrap_or(date);
        let data = UnitData {
            name: pred.name.clone(),
            short_name: pred.short_name.clone(),
            kind: pred.kind.clone(),
            authority_id: pred.authority_id,
            active_from: pred.active_from.clone(),
            active_to: Some(last.to_string()),
        };
        q::update_unit(&mut tx, id, &data).await?;
        let after = q::unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        audit_unit(&mut tx, ctx, "unit.close", Some(&pred), &after, Some(format!("{} {}", kind.label(), succ.name)))
            .await?;
    }
    let row = q::lineage_of(&mut tx, id).await?.into_iter().find(|l| l.id == lid).ok_or(AppError::NotFound)?;
    let mut a = ctx.entry("unit.lineage", "unit", id);
    a.authority_id = Some(pred.authority_id);
    a.after = Some(json!(row));
    audit::append(&mut tx, a).await?;
    tx.commit().await?;
    Ok(row)
}

// ---------- groups ----------

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct GroupInput {
    /// cluster | block
    pub kind: String,
    pub name: String,
    pub authority_id: i64,
}

/// The groups the actor may read, optionally filtered by words.
pub async fn list_groups(st: &AppState, ctx: &Ctx, text: &str) -> AppResult<Vec<GroupRow>> {
    let mut tx = st.db.read().await?;
    let all = q::authorities(&mut tx).await?;
    let scope = readable_authorities(&ctx.actor, &tree(&all));
    let words = search_words(text);
    let mut groups = q::groups(&mut tx, scope.as_deref(), &words).await?;
    if scope.is_some() {
        // and the groups of other authorities that the actor's units belong to
        let mine = q::groups_of_units(&mut tx, &ctx.actor.unit_ids()).await?;
        for g in q::groups(&mut tx, None, &words).await? {
            if mine.contains(&g.id) && !groups.iter().any(|x| x.id == g.id) {
                groups.push(g);
            }
        }
    }
    tx.rollback().await?;
    sort_vi_by(&mut groups, |g| g.name.as_str());
    Ok(groups)
}

/// The year of groups the actor may read (as `list_groups` gave them), by
/// group id, with head, deputy and members: one statement for the whole list.
/// A group with no member that year is absent.
pub async fn members_in_year(
    st: &AppState,
    groups: &[GroupRow],
    year: i32,
) -> AppResult<std::collections::HashMap<i64, GroupYearView>> {
    let ids: Vec<i64> = groups.iter().map(|g| g.id).collect();
    let mut tx = st.db.read().await?;
    let years = years_of_groups(&mut tx, &ids, year).await?;
    tx.rollback().await?;
    Ok(years)
}

/// [`members_in_year`] inside `tx`, for callers that check access themselves.
pub async fn years_of_groups(
    tx: &mut Tx,
    group_ids: &[i64],
    year: i32,
) -> AppResult<std::collections::HashMap<i64, GroupYearView>> {
    let mut by_group: std::collections::HashMap<i64, Vec<MemberRow>> = std::collections::HashMap::new();
    for m in q::members_in_year(tx, group_ids, year).await? {
        by_group.entry(m.group_id).or_default().push(m);
    }
    Ok(by_group.into_iter().filter_map(|(g, rows)| by_year(rows).into_iter().next().map(|y| (g, y))).collect())
}

/// A group with its members by year and its heads over the years.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupDetail {
    pub group: GroupRow,
    pub years: Vec<GroupYearView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupYearView {
    pub year: i32,
    pub head: Option<String>,
    pub deputy: Option<String>,
    pub members: Vec<MemberRow>,
}

async fn group_target(tx: &mut Tx, g: &GroupRow, year: Option<i32>) -> AppResult<Target> {
    let path = q::authority_path(tx, g.authority_id).await?;
    let ctx = q::group_ctx(tx, g.id, year).await?;
    Ok(Target::group(path, ctx))
}

pub async fn get_group(st: &AppState, ctx: &Ctx, id: i64) -> AppResult<GroupDetail> {
    let mut tx = st.db.read().await?;
    let group = q::group(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, None).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &t, &format!("group:{id}")).await?;
    let members = q::members_of_group(&mut tx, id).await?;
    tx.rollback().await?;
    Ok(GroupDetail { group, years: by_year(members) })
}

/// Groups member rows (ordered by year desc, role) into years.
pub fn by_year(members: Vec<MemberRow>) -> Vec<GroupYearView> {
    let mut years: Vec<GroupYearView> = Vec::new();
    for m in members {
        if years.last().is_none_or(|y| y.year != m.year) {
            years.push(GroupYearView { year: m.year, head: None, deputy: None, members: vec![] });
        }
        if let Some(y) = years.last_mut() {
            match m.role.as_str() {
                "head" => y.head = Some(m.unit_name.clone()),
                "deputy" => y.deputy = Some(m.unit_name.clone()),
                _ => {}
            }
            y.members.push(m);
        }
    }
    for y in &mut years {
        // head, deputy, then members in Vietnamese order
        y.members.sort_by(|a, b| {
            let r = |m: &MemberRow| match m.role.as_str() {
                "head" => 0,
                "deputy" => 1,
                _ => 2,
            };
            r(a).cmp(&r(b)).then_with(|| thidua_core::text::vi_cmp(&a.unit_name, &b.unit_name))
        });
    }
    years
}

fn parse_group(input: &GroupInput) -> AppResult<(GroupKind, Name)> {
    let mut e = Errors::default();
    let kind = e.take(
        GroupKind::parse(&input.kind).ok_or_else(|| Invalid::new("Loại", "Hãy chọn Cụm thi đua hoặc Khối thi đua.")),
    );
    let name = e.take(Name::parse("Tên cụm, khối", &input.name));
    e.finish()?;
    match (kind, name) {
        (Some(k), Some(n)) => Ok((k, n)),
        _ => Err(AppError::Internal("parse_group".into())),
    }
}

pub async fn create_group(st: &AppState, ctx: &Ctx, input: &GroupInput) -> AppResult<GroupRow> {
    let (kind, name) = parse_group(input)?;
    let mut tx = st.db.begin().await?;
    if q::authority(&mut tx, input.authority_id).await?.is_none() {
        return Err(AppError::invalid("Cơ quan tổ chức", "Cơ quan tổ chức không tồn tại."));
    }
    let path = q::authority_path(&mut tx, input.authority_id).await?;
    tx = authorize(st, ctx, tx, Action::ManageGroup, &Target::authority(path), "group:new").await?;
    if q::group_by_name(&mut tx, input.authority_id, name.as_str()).await?.is_some() {
        return Err(AppError::Conflict(format!("Đã có cụm, khối \"{}\" của cơ quan này.", name.as_str())));
    }
    let id = q::insert_group(&mut tx, kind.code(), name.as_str(), input.authority_id).await?;
    let row = q::group(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut e = ctx.entry("group.create", "group", id);
    e.authority_id = Some(row.authority_id);
    e.after = Some(json!(row));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn update_group(st: &AppState, ctx: &Ctx, id: i64, input: &GroupInput) -> AppResult<GroupRow> {
    let (kind, name) = parse_group(input)?;
    let mut tx = st.db.begin().await?;
    let before = q::group(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &before, None).await?;
    tx = authorize(st, ctx, tx, Action::ManageGroup, &t, &format!("group:{id}")).await?;
    if let Some(other) = q::group_by_name(&mut tx, before.authority_id, name.as_str()).await?
        && other.id != id
    {
        return Err(AppError::Conflict(format!("Đã có cụm, khối khác tên \"{}\".", name.as_str())));
    }
    q::update_group(&mut tx, id, kind.code(), name.as_str(), before.closed_on.clone()).await?;
    let after = q::group(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut e = ctx.entry("group.update", "group", id);
    e.authority_id = Some(after.authority_id);
    e.before = Some(json!(before));
    e.after = Some(json!(after));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn close_group(st: &AppState, ctx: &Ctx, id: i64, input: &CloseInput) -> AppResult<GroupRow> {
    let date = org::parse_date_field("Ngày giải thể", &input.date)?;
    let mut tx = st.db.begin().await?;
    let before = q::group(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &before, None).await?;
    tx = authorize(st, ctx, tx, Action::ManageGroup, &t, &format!("group:{id}")).await?;
    q::update_group(&mut tx, id, &before.kind, &before.name, Some(date.to_string())).await?;
    let after = q::group(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut e = ctx.entry("group.close", "group", id);
    e.authority_id = Some(after.authority_id);
    e.before = Some(json!(before));
    e.after = Some(json!(after));
    e.reason = Some(input.reason.trim().to_string());
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(after)
}

// ---------- memberships ----------

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct MemberInput {
    pub unit_id: i64,
    /// head | deputy | member
    pub role: String,
}

fn parse_role(s: &str) -> AppResult<MemberRole> {
    MemberRole::parse(s).ok_or_else(|| AppError::invalid("Vai trò", "Hãy chọn vai trò: Trưởng, Phó hoặc Thành viên."))
}

/// Checks a membership against the registry's rules; returns the message of the first broken rule.
pub async fn check_membership(
    tx: &mut Tx,
    group: &GroupRow,
    year: i32,
    unit: &UnitRow,
    role: MemberRole,
    membership_id: Option<i64>,
) -> AppResult<Result<(), String>> {
    if !q::years(tx).await?.contains(&year) {
        return Ok(Err(format!("Năm thi đua {year} chưa được mở.")));
    }
    if group.closed_on.as_deref().is_some_and(|c| c < format!("{year}-01-01").as_str()) {
        return Ok(Err(format!("Cụm, khối \"{}\" đã giải thể trước năm {year}.", group.name)));
    }
    let from = unit.active_from.as_deref().and_then(|d| d.parse().ok());
    let to = unit.active_to.as_deref().and_then(|d| d.parse().ok());
    if !org::is_active_in_year(from, to, year) {
        return Ok(Err(format!("Đơn vị \"{}\" không hoạt động trong năm {year}.", unit.name)));
    }
    let unit_path = q::authority_path(tx, unit.authority_id).await?;
    if !unit_path.contains(&group.authority_id) {
        return Ok(Err(format!(
            "Đơn vị \"{}\" không thuộc {} nên không thể là thành viên của cụm, khối này.",
            unit.name, group.authority_name
        )));
    }
    if let Some(other) = q::other_group_same_year(tx, unit.id, year, group.id, group.authority_id).await? {
        return Ok(Err(format!("Đơn vị \"{}\" đã là thành viên của \"{}\" năm {year}.", unit.name, other.group_name)));
    }
    if role != MemberRole::Member {
        let gy = q::group_year(tx, group.id, year).await?;
        if let Some(m) = role_taken(tx, group, gy, year, role, membership_id).await? {
            return Ok(Err(m));
        }
    }
    Ok(Ok(()))
}

/// The message when another unit already holds a head or deputy role in a group-year.
async fn role_taken(
    tx: &mut Tx,
    group: &GroupRow,
    group_year_id: i64,
    year: i32,
    role: MemberRole,
    except: Option<i64>,
) -> AppResult<Option<String>> {
    let members = q::members_of_group(tx, group.id).await?;
    let holder = members
        .iter()
        .find(|m| m.group_year_id == group_year_id && m.role == role.code() && Some(m.membership_id) != except);
    Ok(holder.map(|h| {
        let kind = GroupKind::parse(&group.kind).unwrap_or(GroupKind::Cluster);
        format!(
            "Năm {year} đã có {} là \"{}\". Hãy đổi vai trò của đơn vị đó trước.",
            role.label_for(kind).to_lowercase(),
            h.unit_name
        )
    }))
}

pub async fn add_member(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    input: &MemberInput,
) -> AppResult<MemberRow> {
    let role = parse_role(&input.role)?;
    let mut tx = st.db.begin().await?;
    let group = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, Some(year)).await?;
    tx = authorize(st, ctx, tx, Action::ManageGroup, &t, &format!("group:{group_id}")).await?;
    let unit =
        q::unit(&mut tx, input.unit_id).await?.ok_or_else(|| AppError::invalid("Đơn vị", "Đơn vị không tồn tại."))?;
    // the unit's name appears in the messages below: only for a unit the actor may see
    let ut = unit_target(&mut tx, &unit).await?;
    tx = authorize(st, ctx, tx, Action::ViewUnit, &ut, &format!("unit:{}", unit.id)).await?;
    let gy = match q::years(&mut tx).await?.contains(&year) {
        true => q::group_year(&mut tx, group_id, year).await?,
        false => {
            return Err(AppError::invalid("Năm", format!("Năm thi đua {year} chưa được mở.")));
        }
    };
    if q::membership_in(&mut tx, gy, unit.id).await?.is_some() {
        return Err(AppError::Conflict(format!("Đơn vị \"{}\" đã là thành viên năm {year}.", unit.name)));
    }
    if let Err(m) = check_membership(&mut tx, &group, year, &unit, role, None).await? {
        return Err(AppError::invalid("Đơn vị", m));
    }
    let mid = q::insert_membership(&mut tx, gy, unit.id, role.code()).await?;
    let row = q::membership(&mut tx, mid).await?.ok_or(AppError::NotFound)?;
    audit_member(&mut tx, ctx, "membership.add", None, Some(&row), &group).await?;
    tx.commit().await?;
    Ok(row)
}

async fn audit_member(
    tx: &mut Tx,
    ctx: &Ctx,
    action: &str,
    before: Option<&MemberRow>,
    after: Option<&MemberRow>,
    group: &GroupRow,
) -> AppResult<()> {
    let id = after.or(before).map(|m| m.membership_id).unwrap_or(0);
    let mut e = ctx.entry(action, "membership", id);
    e.authority_id = Some(group.authority_id);
    e.before = before.map(|b| json!(b));
    e.after = after.map(|a| json!(a));
    audit::append(tx, e).await?;
    Ok(())
}

pub async fn set_member_role(st: &AppState, ctx: &Ctx, membership_id: i64, role: &str) -> AppResult<MemberRow> {
    let role = parse_role(role)?;
    let mut tx = st.db.begin().await?;
    let before = q::membership(&mut tx, membership_id).await?.ok_or(AppError::NotFound)?;
    let group = q::group(&mut tx, before.group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, Some(before.year)).await?;
    tx = authorize(st, ctx, tx, Action::ManageGroup, &t, &format!("membership:{membership_id}")).await?;
    if role != MemberRole::Member
        && let Some(m) =
            role_taken(&mut tx, &group, before.group_year_id, before.year, role, Some(membership_id)).await?
    {
        return Err(AppError::invalid("Vai trò", m));
    }
    q::set_membership_role(&mut tx, membership_id, role.code()).await?;
    let after = q::membership(&mut tx, membership_id).await?.ok_or(AppError::NotFound)?;
    audit_member(&mut tx, ctx, "membership.role", Some(&before), Some(&after), &group).await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn remove_member(st: &AppState, ctx: &Ctx, membership_id: i64) -> AppResult<MemberRow> {
    let mut tx = st.db.begin().await?;
    let before = q::membership(&mut tx, membership_id).await?.ok_or(AppError::NotFound)?;
    let group = q::group(&mut tx, before.group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, Some(before.year)).await?;
    tx = authorize(st, ctx, tx, Action::ManageGroup, &t, &format!("membership:{membership_id}")).await?;
    q::delete_membership(&mut tx, membership_id).await?;
    audit_member(&mut tx, ctx, "membership.remove", Some(&before), None, &group).await?;
    tx.commit().await?;
    Ok(before)
}

/// The units that may join a group in a year: visible to the actor, active
/// that year, registered under the group's authority or below it, and not
/// yet in a group of that authority that year.
pub async fn member_candidates(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<Vec<UnitRow>> {
    let mut tx = st.db.read().await?;
    let group = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, Some(year)).await?;
    tx = authorize(st, ctx, tx, Action::ManageGroup, &t, &format!("group:{group_id}")).await?;
    let all = q::authorities(&mut tx).await?;
    let below = q::descendants_in(&all, group.authority_id);
    let readable = readable_authorities(&ctx.actor, &tree(&all));
    let scope: Vec<i64> = below.into_iter().filter(|a| readable.as_ref().is_none_or(|r| r.contains(a))).collect();
    let query = q::UnitQuery { authorities: Some(scope), include_closed: true, limit: 10_000, ..Default::default() };
    let taken: Vec<i64> = q::memberships(&mut tx, Some(&[group.authority_id]), Some(year))
        .await?
        .into_iter()
        .map(|m| m.unit_id)
        .collect();
    let mut units: Vec<UnitRow> = q::search_units(&mut tx, &query)
        .await?
        .into_iter()
        .filter(|u| !taken.contains(&u.id))
        .filter(|u| {
            let f = u.active_from.as_deref().and_then(|d| d.parse().ok());
            let t = u.active_to.as_deref().and_then(|d| d.parse().ok());
            org::is_active_in_year(f, t, year)
        })
        .collect();
    tx.rollback().await?;
    sort_vi_by(&mut units, |u| u.name.as_str());
    Ok(units)
}

/// Whether the actor may manage this group (for showing edit controls).
pub fn may(ctx: &Ctx, action: Action, target: &Target) -> bool {
    thidua_core::policy::decide(&ctx.actor, action, target).is_ok()
}

/// The target of a unit, for pages deciding which controls to show.
pub async fn unit_target_of(st: &AppState, u: &UnitRow) -> AppResult<Target> {
    let mut tx = st.db.read().await?;
    let t = unit_target(&mut tx, u).await?;
    tx.rollback().await?;
    Ok(t)
}

/// The target of a group, for pages deciding which controls to show.
pub async fn group_target_of(st: &AppState, g: &GroupRow) -> AppResult<Target> {
    let mut tx = st.db.read().await?;
    let t = group_target(&mut tx, g, None).await?;
    tx.rollback().await?;
    Ok(t)
}
