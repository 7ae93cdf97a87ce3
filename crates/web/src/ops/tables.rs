//! Scoring tables: an authority's templates, and the versions of a
//! group-year's table (a draft the head unit edits, adopted by the group;
//! after adoption a change is a new version with a reason).

use serde::{Deserialize, Serialize};
use serde_json::json;
use thidua_core::Invalid;
use thidua_core::org::Name;
use thidua_core::policy::{Action, Target, readable_authorities};
use thidua_core::scoring::ScoringTable;
use thidua_core::table_edit::{self, Edit};
use thidua_db::org::{self as q, GroupRow};
use thidua_db::scoring::{self as s, TableRow, TemplateRow};
use thidua_db::{Tx, audit};
use utoipa::ToSchema;

use super::{authorize, tree};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};

/// Reads a stored table.
pub fn parse_content(content: &str) -> AppResult<ScoringTable> {
    serde_json::from_str(content).map_err(|e| AppError::Internal(format!("stored table: {e}")))
}

fn to_content(t: &ScoringTable) -> AppResult<String> {
    serde_json::to_string(t).map_err(|e| AppError::Internal(format!("table: {e}")))
}

fn invalid(v: Vec<Invalid>) -> AppError {
    AppError::Invalid(v)
}

// ---------- templates ----------

/// The templates the actor may see: those of the authorities it reads, and
/// those of the authorities above them (a province's groups use the central
/// templates too). Drafts (unpublished) only for those who may manage them.
pub async fn list_templates(st: &AppState, ctx: &Ctx) -> AppResult<Vec<TemplateRow>> {
    let mut tx = st.db.read().await?;
    tx = authorize(st, ctx, tx, Action::ViewDirectory, &Target::system(), "template:*").await?;
    let all = q::authorities(&mut tx).await?;
    let t = tree(&all);
    let readable = readable_authorities(&ctx.actor, &t);
    let rows = s::templates(&mut tx, None).await?;
    tx.rollback().await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            let path = q::path_in(&all, r.authority_id);
            let may_manage =
                thidua_core::policy::decide(&ctx.actor, Action::ManageTemplates, &Target::authority(path)).is_ok();
            let seen =
                readable.as_ref().is_none_or(|ids| ids.iter().any(|a| q::path_in(&all, *a).contains(&r.authority_id)));
            may_manage || (seen && r.published_on.is_some())
        })
        .collect())
}

pub async fn get_template(st: &AppState, ctx: &Ctx, id: i64) -> AppResult<(TemplateRow, ScoringTable, bool)> {
    let visible = list_templates(st, ctx).await?;
    let Some(row) = visible.into_iter().find(|r| r.id == id) else {
        let mut tx = st.db.read().await?;
        let exists = s::template(&mut tx, id).await?;
        tx.rollback().await?;
        return match exists {
            None => Err(AppError::NotFound),
            Some(r) => Err(crate::auth::record_denial_in(
                &st.db,
                &ctx.meta,
                Some(ctx),
                Action::ViewGroup.code(),
                &format!("template:{id}"),
                "Bạn không có quyền xem bảng điểm mẫu này.",
                Some(r.authority_id),
            )
            .await),
        };
    };
    let table = parse_content(&row.content)?;
    let mut tx = st.db.read().await?;
    let path = q::authority_path(&mut tx, row.authority_id).await?;
    tx.rollback().await?;
    let may_edit = thidua_core::policy::decide(&ctx.actor, Action::ManageTemplates, &Target::authority(path)).is_ok();
    Ok((row, table, may_edit))
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct TemplateInput {
    pub authority_id: i64,
    pub name: String,
    /// The legal basis and the document that issues the template.
    #[serde(default)]
    pub legal_basis: String,
    /// Start from a copy of this template (else from an empty table).
    #[serde(default)]
    pub copy_of: Option<i64>,
}

pub async fn create_template(st: &AppState, ctx: &Ctx, input: &TemplateInput) -> AppResult<TemplateRow> {
    let name = Name::parse("Tên bảng điểm mẫu", &input.name)?;
    let mut tx = st.db.begin().await?;
    if q::authority(&mut tx, input.authority_id).await?.is_none() {
        return Err(AppError::invalid("Cơ quan", "Cơ quan không tồn tại."));
    }
    let path = q::authority_path(&mut tx, input.authority_id).await?;
    tx = authorize(st, ctx, tx, Action::ManageTemplates, &Target::authority(path), "template:new").await?;
    let table = match input.copy_of {
        Some(id) => parse_content(&s::template(&mut tx, id).await?.ok_or(AppError::NotFound)?.content)?,
        None => table_edit::blank(),
    };
    let id = s::insert_template(
        &mut tx,
        input.authority_id,
        name.as_str(),
        input.legal_basis.trim(),
        &to_content(&table)?,
        Some(ctx.user.id),
    )
    .await?;
    let row = s::template(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut e = ctx.entry("template.create", "template", id);
    e.authority_id = Some(input.authority_id);
    e.after = Some(json!({ "name": row.name, "legal_basis": row.legal_basis, "copy_of": input.copy_of }));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(row)
}

async fn template_for_change(st: &AppState, ctx: &Ctx, id: i64) -> AppResult<(Tx, TemplateRow)> {
    let mut tx = st.db.begin().await?;
    let row = s::template(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let path = q::authority_path(&mut tx, row.authority_id).await?;
    tx = authorize(st, ctx, tx, Action::ManageTemplates, &Target::authority(path), &format!("template:{id}")).await?;
    Ok((tx, row))
}

/// Applies one editor step to a template.
pub async fn edit_template(st: &AppState, ctx: &Ctx, id: i64, edit: Edit) -> AppResult<ScoringTable> {
    let (mut tx, row) = template_for_change(st, ctx, id).await?;
    let table = table_edit::apply_all(&parse_content(&row.content)?, edit.clone()).map_err(AppError::Invalid)?;
    s::update_template(&mut tx, id, &row.name, &row.legal_basis, &to_content(&table)?).await?;
    let mut e = ctx.entry("template.edit", "template", id);
    e.authority_id = Some(row.authority_id);
    e.after = Some(json!(edit));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(table)
}

/// Replaces a template's whole table (API, import).
pub async fn replace_template(st: &AppState, ctx: &Ctx, id: i64, table: &ScoringTable, reason: &str) -> AppResult<()> {
    let (mut tx, row) = template_for_change(st, ctx, id).await?;
    s::update_template(&mut tx, id, &row.name, &row.legal_basis, &to_content(table)?).await?;
    let mut e = ctx.entry("template.replace", "template", id);
    e.authority_id = Some(row.authority_id);
    e.before = Some(serde_json::from_str(&row.content).unwrap_or_default());
    e.after = Some(json!(table));
    e.reason = Some(reason.to_string());
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(())
}

/// Publishes a template so that groups can start from it. It must be valid.
pub async fn publish_template(st: &AppState, ctx: &Ctx, id: i64) -> AppResult<TemplateRow> {
    let (mut tx, row) = template_for_change(st, ctx, id).await?;
    parse_content(&row.content)?.validate().map_err(invalid)?;
    let today = super::today().to_string();
    s::publish_template(&mut tx, id, &today).await?;
    let mut e = ctx.entry("template.publish", "template", id);
    e.authority_id = Some(row.authority_id);
    e.after = Some(json!({ "published_on": today }));
    audit::append(&mut tx, e).await?;
    let row = s::template(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(row)
}

// ---------- a group-year's table ----------

/// Everything the table page of a group-year shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TableOverview {
    pub group: GroupRow,
    pub year: i32,
    /// Every version, oldest first.
    pub versions: Vec<TableRow>,
    /// The version being edited (never adopted), if any.
    pub draft: Option<TableRow>,
    /// The adopted version in force today, if any.
    pub in_force: Option<TableRow>,
    /// Published templates the group may start from.
    pub templates: Vec<TemplateRow>,
    /// The group's adopted table of last year, to start from.
    pub last_year: Option<TableRow>,
    /// Whether the actor may edit and adopt (head or deputy unit, or the secretariat).
    pub may_lead: bool,
}

/// The adopted version in force on a day: the latest effective on or before it.
pub fn in_force_on(versions: &[TableRow], day: &str) -> Option<TableRow> {
    versions
        .iter()
        .filter(|v| v.adopted_at.is_some() && v.effective_from.as_deref().is_some_and(|d| d <= day))
        .max_by(|a, b| a.effective_from.cmp(&b.effective_from).then(a.version.cmp(&b.version)))
        .cloned()
}

async fn group_target(tx: &mut Tx, g: &GroupRow, year: i32) -> AppResult<Target> {
    let path = q::authority_path(tx, g.authority_id).await?;
    Ok(Target::group(path, q::group_ctx(tx, g.id, Some(year)).await?))
}

pub async fn overview(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<TableOverview> {
    let mut tx = st.db.read().await?;
    let group = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, year).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &t, &format!("group:{group_id}")).await?;
    let may_lead = thidua_core::policy::decide(&ctx.actor, Action::LeadGroupYear, &t).is_ok();
    let gy = q::find_group_year(&mut tx, group_id, year).await?;
    let versions = match gy {
        Some(gy) => s::versions(&mut tx, gy).await?,
        None => vec![],
    };
    let last_year = match q::find_group_year(&mut tx, group_id, year - 1).await? {
        Some(id) => s::versions(&mut tx, id).await?.into_iter().rev().find(|v| v.adopted_at.is_some()),
        None => None,
    };
    let path = q::authority_path(&mut tx, group.authority_id).await?;
    let templates: Vec<TemplateRow> =
        s::templates(&mut tx, Some(&path)).await?.into_iter().filter(|r| r.published_on.is_some()).collect();
    tx.rollback().await?;
    let today = super::today().to_string();
    Ok(TableOverview {
        draft: versions.iter().find(|v| v.adopted_at.is_none()).cloned(),
        in_force: in_force_on(&versions, &today),
        group,
        year,
        versions,
        templates,
        last_year,
        may_lead,
    })
}

/// Where a group-year's first table comes from.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Source {
    Template { template_id: i64 },
    LastYear,
    Blank,
}

/// Starts the group-year's table (its first version, a draft).
pub async fn start(st: &AppState, ctx: &Ctx, group_id: i64, year: i32, source: &Source) -> AppResult<TableRow> {
    let mut tx = st.db.begin().await?;
    let group = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, year).await?;
    tx = authorize(st, ctx, tx, Action::LeadGroupYear, &t, &format!("group:{group_id}")).await?;
    if !q::years(&mut tx).await?.contains(&year) {
        return Err(AppError::invalid("Năm", format!("Năm thi đua {year} chưa được mở.")));
    }
    let gy = q::group_year(&mut tx, group_id, year).await?;
    if !s::versions(&mut tx, gy).await?.is_empty() {
        return Err(AppError::Conflict(format!("Bảng điểm năm {year} của cụm, khối này đã có; hãy sửa bảng đó.")));
    }
    let (table, source_code) = match source {
        Source::Template { template_id } => {
            let tpl = s::template(&mut tx, *template_id)
                .await?
                .filter(|r| r.published_on.is_some())
                .ok_or_else(|| AppError::invalid("Bảng điểm mẫu", "Không có bảng điểm mẫu đã ban hành này."))?;
            let path = q::authority_path(&mut tx, group.authority_id).await?;
            if !path.contains(&tpl.authority_id) {
                return Err(AppError::invalid(
                    "Bảng điểm mẫu",
                    "Bảng điểm mẫu này không thuộc cơ quan tổ chức cụm, khối.",
                ));
            }
            (parse_content(&tpl.content)?, format!("template:{template_id}"))
        }
        Source::LastYear => {
            let last = match q::find_group_year(&mut tx, group_id, year - 1).await? {
                Some(id) => s::versions(&mut tx, id).await?.into_iter().rev().find(|v| v.adopted_at.is_some()),
                None => None,
            }
            .ok_or_else(|| {
                AppError::invalid("Nguồn", format!("Năm {} cụm, khối chưa có bảng điểm được thông qua.", year - 1))
            })?;
            (parse_content(&last.content)?, format!("year:{}", year - 1))
        }
        Source::Blank => (table_edit::blank(), "blank".to_string()),
    };
    let id = s::insert_version(&mut tx, gy, 1, &to_content(&table)?, &source_code, "", Some(ctx.user.id)).await?;
    let row = s::table(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut e = ctx.entry("table.start", "table", id);
    e.authority_id = Some(group.authority_id);
    e.after = Some(json!({ "group_id": group_id, "year": year, "source": source_code }));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(row)
}

/// Loads a version for a change by the head unit; refuses adopted versions.
async fn draft_for_change(st: &AppState, ctx: &Ctx, table_id: i64) -> AppResult<(Tx, TableRow, GroupRow)> {
    let mut tx = st.db.begin().await?;
    let row = s::table(&mut tx, table_id).await?.ok_or(AppError::NotFound)?;
    let (group_id, year): (i64, i32) =
        tx.one("SELECT group_id, year FROM group_years WHERE id = $1", thidua_db::args![row.group_year_id]).await?;
    let group = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, year).await?;
    tx = authorize(st, ctx, tx, Action::LeadGroupYear, &t, &format!("table:{table_id}")).await?;
    if row.adopted_at.is_some() {
        return Err(AppError::Conflict(format!(
            "Phiên bản {} của bảng điểm đã được thông qua nên không sửa trực tiếp được. Hãy tạo phiên bản mới (kèm lý do) rồi sửa.",
            row.version
        )));
    }
    Ok((tx, row, group))
}

/// Applies one editor step to a draft.
pub async fn edit_draft(st: &AppState, ctx: &Ctx, table_id: i64, edit: Edit) -> AppResult<ScoringTable> {
    let (mut tx, row, group) = draft_for_change(st, ctx, table_id).await?;
    let table = table_edit::apply_all(&parse_content(&row.content)?, edit.clone()).map_err(AppError::Invalid)?;
    s::update_draft(&mut tx, table_id, &to_content(&table)?).await?;
    let mut e = ctx.entry("table.edit", "table", table_id);
    e.authority_id = Some(group.authority_id);
    e.after = Some(json!(edit));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(table)
}

/// Replaces a draft's whole table (API, xlsx import). It must be valid.
pub async fn replace_draft(st: &AppState, ctx: &Ctx, table_id: i64, table: &ScoringTable) -> AppResult<()> {
    table.validate().map_err(invalid)?;
    let (mut tx, row, group) = draft_for_change(st, ctx, table_id).await?;
    s::update_draft(&mut tx, table_id, &to_content(table)?).await?;
    let mut e = ctx.entry("table.replace", "table", table_id);
    e.authority_id = Some(group.authority_id);
    e.before = Some(serde_json::from_str(&row.content).unwrap_or_default());
    e.after = Some(json!(table));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AdoptInput {
    /// The day from which the version is in force, dd/mm/yyyy.
    pub effective_from: String,
    /// Required for any version after the first (e.g. the mid-year review's decision).
    #[serde(default)]
    pub reason: String,
}

/// Records that the group adopted a draft. The table must be valid; a later
/// version needs a reason and cannot take effect before the one it replaces.
pub async fn adopt(st: &AppState, ctx: &Ctx, table_id: i64, input: &AdoptInput) -> AppResult<TableRow> {
    let day = thidua_core::org::parse_date_field("Ngày có hiệu lực", &input.effective_from)?;
    let (mut tx, row, group) = draft_for_change(st, ctx, table_id).await?;
    parse_content(&row.content)?.validate().map_err(invalid)?;
    let earlier: Vec<TableRow> =
        s::versions(&mut tx, row.group_year_id).await?.into_iter().filter(|v| v.adopted_at.is_some()).collect();
    let reason = input.reason.trim();
    if let Some(prev) = earlier.last() {
        if reason.is_empty() {
            return Err(AppError::invalid(
                "Lý do",
                "Phiên bản sau khi bảng điểm đã thông qua cần ghi lý do thay đổi (ví dụ: theo kết luận hội nghị sơ kết).",
            ));
        }
        if prev.effective_from.as_deref().is_some_and(|p| day.to_string().as_str() < p) {
            return Err(AppError::invalid(
                "Ngày có hiệu lực",
                format!(
                    "Ngày có hiệu lực phải từ {} trở đi (ngày có hiệu lực của phiên bản {}).",
                    crate::view::date_vn(&prev.effective_from),
                    prev.version
                ),
            ));
        }
    }
    let reason = if reason.is_empty() { "Cụm, khối thống nhất thông qua bảng điểm." } else { reason };
    s::adopt(&mut tx, table_id, ctx.user.id, &day.to_string(), reason).await?;
    let after = s::table(&mut tx, table_id).await?.ok_or(AppError::NotFound)?;
    let mut e = ctx.entry("table.adopt", "table", table_id);
    e.authority_id = Some(group.authority_id);
    e.after = Some(json!({ "version": after.version, "effective_from": after.effective_from }));
    e.reason = Some(reason.to_string());
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(after)
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewVersionInput {
    /// Why the adopted table changes.
    pub reason: String,
}

/// Starts a new draft version from the latest adopted one.
pub async fn new_version(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    input: &NewVersionInput,
) -> AppResult<TableRow> {
    let reason = input.reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid("Lý do", "Hãy ghi lý do sửa bảng điểm đã thông qua."));
    }
    let mut tx = st.db.begin().await?;
    let group = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, year).await?;
    tx = authorize(st, ctx, tx, Action::LeadGroupYear, &t, &format!("group:{group_id}")).await?;
    let gy = q::group_year(&mut tx, group_id, year).await?;
    let versions = s::versions(&mut tx, gy).await?;
    if versions.iter().any(|v| v.adopted_at.is_none()) {
        return Err(AppError::Conflict("Đang có một phiên bản dự thảo chưa thông qua; hãy sửa phiên bản đó.".into()));
    }
    let last = versions
        .iter()
        .rev()
        .find(|v| v.adopted_at.is_some())
        .ok_or_else(|| AppError::invalid("Bảng điểm", "Chưa có bảng điểm được thông qua để tạo phiên bản mới."))?;
    let version = last.version + 1;
    let id = s::insert_version(
        &mut tx,
        gy,
        version,
        &last.content,
        &format!("version:{}", last.version),
        reason,
        Some(ctx.user.id),
    )
    .await?;
    let row = s::table(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut e = ctx.entry("table.new_version", "table", id);
    e.authority_id = Some(group.authority_id);
    e.after = Some(json!({ "group_id": group_id, "year": year, "version": version }));
    e.reason = Some(reason.to_string());
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(row)
}

/// A version with its table, for viewing (members and readers of the group).
pub async fn get_version(
    st: &AppState,
    ctx: &Ctx,
    table_id: i64,
) -> AppResult<(TableRow, ScoringTable, GroupRow, i32, bool)> {
    let mut tx = st.db.read().await?;
    let row = s::table(&mut tx, table_id).await?.ok_or(AppError::NotFound)?;
    let (group_id, year): (i64, i32) =
        tx.one("SELECT group_id, year FROM group_years WHERE id = $1", thidua_db::args![row.group_year_id]).await?;
    let group = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &group, year).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &t, &format!("table:{table_id}")).await?;
    tx.rollback().await?;
    let may_lead = thidua_core::policy::decide(&ctx.actor, Action::LeadGroupYear, &t).is_ok();
    let table = parse_content(&row.content)?;
    Ok((row, table, group, year, may_lead))
}
