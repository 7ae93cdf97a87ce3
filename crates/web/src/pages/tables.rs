//! Pages of scoring tables: the authority's templates and each group-year's
//! table, with an editor that works without JavaScript (one step a form).

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use thidua_core::Invalid;
use thidua_core::policy::{Action, Target, decide};
use thidua_core::scoring::{Method, NotApplicableRule, Points, ScoringTable};
use thidua_core::table_edit::{self, Edit};

use super::org::{Opt, errors_of, join, options};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::tables::{self as ops, AdoptInput, NewVersionInput, Source, TemplateInput};
use crate::view::{Layout, date_vn, html, redirect_with, stamp_vn};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/bang-diem-mau", get(templates).post(create_template))
        .route("/bang-diem-mau/{id}", get(template))
        .route("/bang-diem-mau/{id}/sua", post(edit_template))
        .route("/bang-diem-mau/{id}/ban-hanh", post(publish_template))
        .route("/cum-khoi/{id}/nam/{year}/bang-diem", get(group_table))
        .route("/cum-khoi/{id}/nam/{year}/bang-diem/bat-dau", post(start))
        .route("/cum-khoi/{id}/nam/{year}/bang-diem/phien-ban-moi", post(new_version))
        .route("/bang-diem/{id}", get(version))
        .route("/bang-diem/{id}/sua", post(edit_version))
        .route("/bang-diem/{id}/thong-qua", post(adopt))
        .route("/bang-diem/{id}/excel", get(version_xlsx))
        .route("/bang-diem-mau/{id}/excel", get(template_xlsx))
        .route("/bang-diem/{id}/nhap-excel", post(version_import))
        .route("/bang-diem-mau/{id}/nhap-excel", post(template_import))
        .layer(axum::extract::DefaultBodyLimit::max(6 * 1024 * 1024))
}

/// The table as the officers' xlsx layout, or why it cannot be written.
fn table_download(title: &str, table: &ScoringTable, file_name: &str) -> AppResult<Response> {
    let problems = thidua_export::table_xlsx::export_problems(table);
    if !problems.is_empty() {
        return Err(AppError::BadRequest(format!("Chưa xuất được bảng điểm ra Excel: {}", problems.join(" "))));
    }
    let bytes =
        thidua_export::table_xlsx::table_to_xlsx(title, table).map_err(|e| AppError::BadRequest(e.message_vi()))?;
    Ok(super::import::xlsx_download(bytes, file_name))
}

async fn version_xlsx(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let (row, table, group, year, _) = ops::get_version(&st, &ctx, id).await?;
    let title =
        format!("BẢNG CHẤM ĐIỂM THI ĐUA NĂM {year} – {} (phiên bản {})", group.name.to_uppercase(), row.version);
    table_download(&title, &table, &format!("bang-diem-{year}-phien-ban-{}.xlsx", row.version))
}

async fn template_xlsx(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let (row, table, _) = ops::get_template(&st, &ctx, id).await?;
    table_download(&row.name.to_uppercase(), &table, &format!("bang-diem-mau-{id}.xlsx"))
}

/// Reads an uploaded table; the errors, row by row, as field errors.
async fn read_table(mp: axum::extract::Multipart) -> AppResult<Result<ScoringTable, Vec<Invalid>>> {
    let bytes = super::import::read_file(mp).await?;
    Ok(thidua_export::table_xlsx::table_from_xlsx(&bytes, &thidua_export::Limits::default()).map_err(|e| {
        e.rows
            .into_iter()
            .map(|(row, m)| Invalid::new(if row == 0 { "Tệp".to_string() } else { format!("Dòng {row}") }, m))
            .collect()
    }))
}

async fn version_import(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
    mp: axum::extract::Multipart,
) -> AppResult<Response> {
    let errors = match read_table(mp).await? {
        Ok(table) => match ops::replace_draft(&st, &ctx, id, &table).await {
            Ok(()) => {
                return Ok(redirect_with(
                    &format!("/bang-diem/{id}"),
                    "ok",
                    "Đã nhập bảng điểm từ tệp Excel vào dự thảo.",
                ));
            }
            Err(e) => errors_of(e)?,
        },
        Err(rows) => rows,
    };
    version_page(&st, &ctx, &headers, id, errors).await
}

async fn template_import(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
    mp: axum::extract::Multipart,
) -> AppResult<Response> {
    let errors = match read_table(mp).await? {
        Ok(table) => match ops::replace_template(&st, &ctx, id, &table, "Nhập từ tệp Excel").await {
            Ok(()) => {
                return Ok(redirect_with(&format!("/bang-diem-mau/{id}"), "ok", "Đã nhập bảng điểm mẫu từ tệp Excel."));
            }
            Err(e) => errors_of(e)?,
        },
        Err(rows) => rows,
    };
    template_page(&st, &ctx, &headers, id, errors).await
}

// ---------- the editor, shared by templates and group tables ----------

/// One line of the table as the editor shows it.
pub struct EditorRow {
    pub depth: usize,
    /// The parent line's code ("" for a section).
    pub parent: String,
    /// The maximum in hundredths, for the page's script.
    pub max_h: i64,
    pub indent: String,
    pub code: String,
    pub name: String,
    pub guidance: String,
    pub max: String,
    pub method: String,
    pub method_label: String,
    pub params: String,
    pub levels: String,
    pub per: String,
    pub cap: String,
    pub evidence: bool,
    pub is_parent: bool,
    /// The children's total, when it differs from the line's own maximum.
    pub mismatch: Option<String>,
}

/// Everything the editor partial reads.
pub struct Editor {
    pub rows: Vec<EditorRow>,
    pub post: String,
    pub editable: bool,
    pub nominal: String,
    pub max_total: String,
    pub bonus: String,
    pub penalties: String,
    pub bonus_cap: String,
    pub penalty_cap: String,
    pub may_exceed: bool,
    pub bands: String,
    pub tie_breaks: String,
    pub scaled: bool,
    /// The thresholds of the head review's flags.
    pub flag_far: String,
    pub flag_outlier: String,
    pub flag_units: String,
    pub problems: Vec<Invalid>,
    pub errors: Vec<Invalid>,
    pub parents: Vec<Opt>,
    pub csrf: String,
    /// Download of the table as xlsx.
    pub xlsx: String,
    /// Upload of a whole table from xlsx.
    pub import_url: String,
}

fn method_code(m: &Option<Method>) -> &'static str {
    match m {
        None => "",
        Some(Method::Qualitative { .. }) => "qualitative",
        Some(Method::Target) => "target",
        Some(Method::Count { .. }) => "count",
        Some(Method::Manual) => "manual",
    }
}

pub fn editor(table: &ScoringTable, post: &str, editable: bool, errors: Vec<Invalid>, csrf: &str) -> Editor {
    let mut parents_of = std::collections::HashMap::new();
    for (_, l) in table_edit::flatten(table) {
        for c in &l.children {
            parents_of.insert(c.code.clone(), l.code.clone());
        }
    }
    let rows = table_edit::flatten(table)
        .into_iter()
        .map(|(depth, l)| {
            let (levels, per, cap, params) = match &l.method {
                Some(Method::Qualitative { levels }) => (
                    table_edit::format_levels(levels),
                    String::new(),
                    String::new(),
                    levels.iter().map(|x| format!("{}: {}", x.label, x.points)).collect::<Vec<_>>().join("; "),
                ),
                Some(Method::Count { per, cap }) => {
                    (String::new(), per.to_string(), cap.to_string(), format!("{per} điểm/lần, tối đa {cap}"))
                }
                _ => (String::new(), String::new(), String::new(), String::new()),
            };
            let sum = table_edit::children_sum(l);
            EditorRow {
                depth,
                parent: parents_of.get(&l.code).cloned().unwrap_or_default(),
                max_h: l.max.hundredths(),
                indent: format!("depth-{}", depth.min(5)),
                code: l.code.clone(),
                name: l.name.clone(),
                guidance: l.guidance.clone(),
                max: l.max.to_string(),
                method: method_code(&l.method).to_string(),
                method_label: l
                    .method
                    .as_ref()
                    .map(|m| m.label().to_string())
                    .unwrap_or_else(|| "tổng các dòng con".into()),
                params,
                levels,
                per,
                cap,
                evidence: l.evidence_required,
                is_parent: !l.children.is_empty(),
                mismatch: sum.filter(|s| *s != l.max).map(|s| s.to_string()),
            }
        })
        .collect::<Vec<_>>();
    let mut parents =
        vec![Opt { value: String::new(), label: "(phần mới, cấp cao nhất)".into(), selected: true }];
    parents.extend(table_edit::flatten(table).into_iter().filter(|(_, l)| l.method.is_none()).map(|(_, l)| Opt {
        value: l.code.clone(),
        label: format!("{} {}", l.code, l.name),
        selected: false,
    }));
    Editor {
        rows,
        post: post.to_string(),
        editable,
        nominal: table.nominal_max().to_string(),
        max_total: table.max_total().map(|p| p.to_string()).unwrap_or_default(),
        bonus: table_edit::format_adjust_lines(&table.bonus),
        penalties: table_edit::format_adjust_lines(&table.penalties),
        bonus_cap: table.bonus_cap.map(|p| p.to_string()).unwrap_or_default(),
        penalty_cap: table.penalty_cap.map(|p| p.to_string()).unwrap_or_default(),
        may_exceed: table.may_exceed_nominal,
        bands: table_edit::format_bands(&table.bands),
        tie_breaks: table_edit::format_tie_breaks(&table.tie_breaks),
        scaled: table.not_applicable_rule == NotApplicableRule::Scaled,
        flag_far: table.review_flags.far_above_percent.to_string(),
        flag_outlier: table.review_flags.outlier_percent.to_string(),
        flag_units: table.review_flags.outlier_min_units.to_string(),
        problems: table.validate().err().unwrap_or_default(),
        errors,
        parents,
        csrf: csrf.to_string(),
        xlsx: post.trim_end_matches("/sua").to_string() + "/excel",
        import_url: post.trim_end_matches("/sua").to_string() + "/nhap-excel",
    }
}

/// The editor's form: one step of editing.
#[derive(Deserialize, Default)]
pub struct EditForm {
    op: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    new_code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    guidance: String,
    #[serde(default)]
    max: String,
    #[serde(default)]
    evidence: Option<String>,
    #[serde(default)]
    method: String,
    #[serde(default)]
    levels: String,
    #[serde(default)]
    per: String,
    #[serde(default)]
    cap: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    bonus: String,
    #[serde(default)]
    penalties: String,
    #[serde(default)]
    bonus_cap: String,
    #[serde(default)]
    penalty_cap: String,
    #[serde(default)]
    may_exceed: Option<String>,
    #[serde(default)]
    bands: String,
    #[serde(default)]
    tie_breaks: String,
    #[serde(default)]
    na_rule: String,
    #[serde(default)]
    flag_far: String,
    #[serde(default)]
    flag_outlier: String,
    #[serde(default)]
    flag_units: String,
}

/// A whole number typed in a form field ("20", " 20 ", "20%").
fn whole(field: &str, text: &str) -> Result<u32, Invalid> {
    let t = text.trim().trim_end_matches('%').trim();
    t.parse::<u32>().map_err(|_| {
        Invalid::new(
            field,
            format!("\"{}\" không hợp lệ: ghi một số nguyên dương, không có phần thập phân, ví dụ 20.", text.trim()),
        )
    })
}

fn parse_method(f: &EditForm, max: Points) -> Result<Option<Method>, Invalid> {
    Ok(match f.method.as_str() {
        "" | "none" => None,
        "qualitative" => {
            if f.levels.trim().is_empty() {
                Some(Method::met_or_not(max))
            } else {
                Some(Method::Qualitative { levels: table_edit::parse_levels(&f.levels)? })
            }
        }
        "target" => Some(Method::Target),
        "count" => {
            let per = Points::parse("Điểm mỗi lần", &f.per)?;
            let cap = if f.cap.trim().is_empty() { max } else { Points::parse("Tối đa", &f.cap)? };
            Some(Method::Count { per, cap })
        }
        "manual" => Some(Method::Manual),
        other => return Err(Invalid::new("Cách chấm", format!("Cách chấm \"{other}\" không có trong danh mục."))),
    })
}

fn opt_points(field: &str, s: &str) -> Result<Option<Points>, Invalid> {
    if s.trim().is_empty() { Ok(None) } else { Points::parse(field, s).map(Some) }
}

/// Turns the editor's form into one editing step, or says what is wrong
/// with each of its fields.
pub fn parse_edit(f: &EditForm) -> Result<Edit, Vec<Invalid>> {
    if f.op == "set_flags" {
        let far = whole("Cảnh báo so với kiểm tra chéo", &f.flag_far);
        let outlier = whole("Cảnh báo so với trung vị", &f.flag_outlier);
        let units = whole("Số đơn vị tối thiểu", &f.flag_units);
        return match (far, outlier, units) {
            (Ok(far), Ok(outlier), Ok(units)) => Ok(Edit::SetFlags {
                far_above_percent: far,
                outlier_percent: outlier,
                outlier_min_units: units as usize,
            }),
            (far, outlier, units) => Err([far.err(), outlier.err(), units.err()].into_iter().flatten().collect()),
        };
    }
    parse_step(f).map_err(|e| vec![e])
}

/// [`parse_edit`] for the steps whose fields are checked one after another.
fn parse_step(f: &EditForm) -> Result<Edit, Invalid> {
    let code = f.code.trim().to_string();
    Ok(match f.op.as_str() {
        "set_line" => {
            let max = Points::parse("Điểm tối đa", &f.max)?;
            Edit::SetLine {
                code,
                new_code: f.new_code.clone(),
                name: f.name.clone(),
                guidance: f.guidance.clone(),
                max,
                evidence_required: f.evidence.is_some(),
                method: parse_method(f, max)?,
            }
        }
        "add_line" => {
            let max = Points::parse("Điểm tối đa", &f.max)?;
            Edit::AddLine {
                parent: Some(f.parent.trim().to_string()).filter(|p| !p.is_empty()),
                code: f.new_code.clone(),
                name: f.name.clone(),
                max,
                method: parse_method(f, max)?,
            }
        }
        "delete" => Edit::Delete { code },
        "move_up" => Edit::MoveUp { code },
        "move_down" => Edit::MoveDown { code },
        "indent" => Edit::Indent { code },
        "outdent" => Edit::Outdent { code },
        "set_adjustments" => Edit::SetAdjustments {
            bonus: table_edit::parse_adjust_lines("Điểm thưởng", &f.bonus)?,
            penalties: table_edit::parse_adjust_lines("Điểm trừ", &f.penalties)?,
            bonus_cap: opt_points("Tổng điểm thưởng tối đa", &f.bonus_cap)?,
            penalty_cap: opt_points("Tổng điểm trừ tối đa", &f.penalty_cap)?,
            may_exceed_nominal: f.may_exceed.is_some(),
        },
        "set_rules" => Edit::SetRules {
            bands: table_edit::parse_bands(&f.bands)?,
            tie_breaks: table_edit::parse_tie_breaks(&f.tie_breaks)?,
            not_applicable_rule: if f.na_rule == "unscaled" {
                NotApplicableRule::Unscaled
            } else {
                NotApplicableRule::Scaled
            },
        },
        other => return Err(Invalid::new("Thao tác", format!("Thao tác \"{other}\" không có."))),
    })
}

// ---------- templates ----------

struct TemplateLine {
    id: i64,
    name: String,
    authority: String,
    legal_basis: String,
    published: String,
}

#[derive(Template)]
#[template(path = "templates_list.html")]
struct TemplatesPage {
    l: Layout,
    items: Vec<TemplateLine>,
    authorities: Vec<Opt>,
    copies: Vec<Opt>,
    errors: Vec<Invalid>,
}

async fn templates_page(st: &AppState, ctx: &Ctx, headers: &HeaderMap, errors: Vec<Invalid>) -> AppResult<Response> {
    let rows = ops::list_templates(st, ctx).await?;
    let all = crate::ops::org::list_authorities(st, ctx).await?;
    let managed: Vec<_> = all
        .iter()
        .filter(|a| {
            let path = thidua_db::org::path_in(&all, a.id);
            decide(&ctx.actor, Action::ManageTemplates, &Target::authority(path)).is_ok()
        })
        .collect();
    let mut copies = vec![Opt { value: String::new(), label: "(bảng trống)".into(), selected: true }];
    copies.extend(options(rows.iter().map(|r| (r.id.to_string(), r.name.clone())), ""));
    let page = TemplatesPage {
        l: Layout::new("Bảng điểm mẫu", ctx, headers, "/bang-diem-mau"),
        items: rows
            .iter()
            .map(|r| TemplateLine {
                id: r.id,
                name: r.name.clone(),
                authority: r.authority_name.clone(),
                legal_basis: r.legal_basis.clone(),
                published: date_vn(&r.published_on),
            })
            .collect(),
        authorities: options(managed.iter().map(|a| (a.id.to_string(), a.name.clone())), ""),
        copies,
        errors,
    };
    html(&page, headers)
}

async fn templates(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap) -> AppResult<Response> {
    templates_page(&st, &ctx, &headers, vec![]).await
}

#[derive(Deserialize)]
struct NewTemplateForm {
    #[serde(default)]
    authority_id: String,
    name: String,
    #[serde(default)]
    legal_basis: String,
    #[serde(default)]
    copy_of: String,
}

async fn create_template(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<NewTemplateForm>,
) -> AppResult<Response> {
    let input = TemplateInput {
        authority_id: f.authority_id.trim().parse().unwrap_or(0),
        name: f.name,
        legal_basis: f.legal_basis,
        copy_of: f.copy_of.trim().parse().ok(),
    };
    match ops::create_template(&st, &ctx, &input).await {
        Ok(r) => {
            Ok(redirect_with(&format!("/bang-diem-mau/{}", r.id), "ok", "Đã tạo bảng điểm mẫu; hãy soạn các tiêu chí."))
        }
        Err(e) => templates_page(&st, &ctx, &headers, errors_of(e)?).await,
    }
}

#[derive(Template)]
#[template(path = "template_edit.html")]
struct TemplateEditPage {
    l: Layout,
    id: i64,
    name: String,
    authority: String,
    legal_basis: String,
    published: String,
    e: Editor,
}

async fn template(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    template_page(&st, &ctx, &headers, id, vec![]).await
}

async fn template_page(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: i64,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let (row, table, may_edit) = ops::get_template(st, ctx, id).await?;
    let page = TemplateEditPage {
        l: Layout::new(row.name.clone(), ctx, headers, "/bang-diem-mau"),
        id,
        name: row.name,
        authority: row.authority_name,
        legal_basis: row.legal_basis,
        published: date_vn(&row.published_on),
        e: editor(&table, &format!("/bang-diem-mau/{id}/sua"), may_edit, errors, &ctx.csrf),
    };
    html(&page, headers)
}

/// After an editing step: back to the editor, at the line edited.
fn after_edit(base: &str, r: AppResult<String>, anchor: &str) -> AppResult<Response> {
    let to = if anchor.is_empty() { base.to_string() } else { format!("{base}#dong-{anchor}") };
    match r {
        Ok(m) => Ok(redirect_with(&to, "ok", &m)),
        Err(AppError::Invalid(v)) => Ok(redirect_with(&to, "error", &join(&v))),
        Err(AppError::Conflict(m)) => Ok(redirect_with(&to, "error", &m)),
        Err(e) => Err(e),
    }
}

fn done_message(edit: &Edit) -> String {
    match edit {
        Edit::SetLine { new_code, .. } => format!("Đã lưu dòng {new_code}."),
        Edit::AddLine { code, .. } => format!("Đã thêm dòng {code}."),
        Edit::Delete { code } => format!("Đã xoá dòng {code} và các dòng con."),
        Edit::MoveUp { code } | Edit::MoveDown { code } | Edit::Indent { code } | Edit::Outdent { code } => {
            format!("Đã chuyển dòng {code}.")
        }
        Edit::SetAdjustments { .. } => "Đã lưu điểm thưởng, điểm trừ.".into(),
        Edit::SetRules { .. } => "Đã lưu xếp loại và thứ tự ưu tiên.".into(),
        Edit::SetFlags { .. } => "Đã lưu ngưỡng cảnh báo khi tổng hợp.".into(),
    }
}

fn anchor_of(edit: &Edit) -> String {
    match edit {
        Edit::SetLine { new_code, .. } => new_code.trim().to_string(),
        Edit::AddLine { code, .. } => code.trim().to_string(),
        Edit::MoveUp { code } | Edit::MoveDown { code } | Edit::Indent { code } | Edit::Outdent { code } => {
            code.clone()
        }
        _ => String::new(),
    }
}

async fn edit_template(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<EditForm>,
) -> AppResult<Response> {
    let base = format!("/bang-diem-mau/{id}");
    let edit = match parse_edit(&f) {
        Ok(e) => e,
        Err(errs) => return after_edit(&base, Err(AppError::Invalid(errs)), f.code.trim()),
    };
    let (msg, anchor) = (done_message(&edit), anchor_of(&edit));
    let r = ops::edit_template(&st, &ctx, id, edit).await.map(|_| msg);
    after_edit(&base, r, &anchor)
}

async fn publish_template(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let r = ops::publish_template(&st, &ctx, id).await.map(|_| "Đã ban hành bảng điểm mẫu.".to_string());
    after_edit(&format!("/bang-diem-mau/{id}"), r, "")
}

// ---------- a group-year's table ----------

struct VersionLine {
    id: i64,
    version: i32,
    status: String,
    effective: String,
    reason: String,
    created: String,
    in_force: bool,
}

#[derive(Template)]
#[template(path = "group_table.html")]
struct GroupTablePage {
    l: Layout,
    group_id: i64,
    group_name: String,
    year: i32,
    versions: Vec<VersionLine>,
    may_lead: bool,
    sources: Vec<Opt>,
    has_adopted: bool,
    draft_id: Option<i64>,
    in_force_id: Option<i64>,
}

async fn group_table(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    let o = ops::overview(&st, &ctx, id, year).await?;
    let in_force = o.in_force.as_ref().map(|v| v.id);
    let mut sources = Vec::new();
    for t in &o.templates {
        sources.push(Opt {
            value: format!("template:{}", t.id),
            label: format!("Bảng điểm mẫu: {} ({})", t.name, t.authority_name),
            selected: sources.is_empty(),
        });
    }
    if let Some(ly) = &o.last_year {
        sources.push(Opt {
            value: "last_year".into(),
            label: format!("Bảng điểm năm {} của cụm, khối (phiên bản {})", year - 1, ly.version),
            selected: sources.is_empty(),
        });
    }
    sources
        .push(Opt { value: "blank".into(), label: "Bảng trống, tự soạn".into(), selected: sources.is_empty() });
    let page = GroupTablePage {
        l: Layout::new(format!("Bảng điểm năm {year} – {}", o.group.name), &ctx, &headers, "/cum-khoi"),
        group_id: id,
        group_name: o.group.name.clone(),
        year,
        versions: o
            .versions
            .iter()
            .rev()
            .map(|v| VersionLine {
                id: v.id,
                version: v.version,
                status: if v.adopted_at.is_some() { "Đã thông qua".into() } else { "Dự thảo".into() },
                effective: date_vn(&v.effective_from),
                reason: v.reason.clone(),
                created: stamp_vn(&v.created_at),
                in_force: Some(v.id) == in_force,
            })
            .collect(),
        may_lead: o.may_lead,
        sources,
        has_adopted: o.versions.iter().any(|v| v.adopted_at.is_some()),
        draft_id: o.draft.as_ref().map(|d| d.id),
        in_force_id: in_force,
    };
    html(&page, &headers)
}

#[derive(Deserialize)]
struct StartForm {
    source: String,
}

async fn start(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Form(f): Form<StartForm>,
) -> AppResult<Response> {
    let source = match f.source.as_str() {
        "blank" => Source::Blank,
        "last_year" => Source::LastYear,
        s => match s.strip_prefix("template:").and_then(|x| x.parse().ok()) {
            Some(template_id) => Source::Template { template_id },
            None => return Err(AppError::invalid("Nguồn", "Hãy chọn nguồn của bảng điểm.")),
        },
    };
    let back = format!("/cum-khoi/{id}/nam/{year}/bang-diem");
    match ops::start(&st, &ctx, id, year, &source).await {
        Ok(t) => Ok(redirect_with(
            &format!("/bang-diem/{}", t.id),
            "ok",
            "Đã tạo dự thảo bảng điểm; hãy điều chỉnh rồi thông qua.",
        )),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => after_edit(&back, Err(e), ""),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct NewVersionForm {
    #[serde(default)]
    reason: String,
}

async fn new_version(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Form(f): Form<NewVersionForm>,
) -> AppResult<Response> {
    let back = format!("/cum-khoi/{id}/nam/{year}/bang-diem");
    match ops::new_version(&st, &ctx, id, year, &NewVersionInput { reason: f.reason }).await {
        Ok(t) => Ok(redirect_with(
            &format!("/bang-diem/{}", t.id),
            "ok",
            &format!("Đã tạo dự thảo phiên bản {}.", t.version),
        )),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => after_edit(&back, Err(e), ""),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "table_version.html")]
struct VersionPage {
    l: Layout,
    id: i64,
    group_id: i64,
    group_name: String,
    year: i32,
    version: i32,
    adopted: bool,
    effective: String,
    reason: String,
    may_lead: bool,
    today: String,
    first: bool,
    e: Editor,
}

async fn version(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>) -> AppResult<Response> {
    version_page(&st, &ctx, &headers, id, vec![]).await
}

async fn version_page(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: i64,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let (row, table, group, year, may_lead) = ops::get_version(st, ctx, id).await?;
    let adopted = row.adopted_at.is_some();
    let page = VersionPage {
        l: Layout::new(format!("Bảng điểm năm {year} – phiên bản {}", row.version), ctx, headers, "/cum-khoi"),
        id,
        group_id: group.id,
        group_name: group.name,
        year,
        version: row.version,
        adopted,
        effective: date_vn(&row.effective_from),
        reason: row.reason.clone(),
        may_lead,
        today: thidua_core::text::format_date(crate::ops::today()),
        first: row.version == 1,
        e: editor(&table, &format!("/bang-diem/{id}/sua"), may_lead && !adopted, errors, &ctx.csrf),
    };
    html(&page, headers)
}

async fn edit_version(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<EditForm>,
) -> AppResult<Response> {
    let base = format!("/bang-diem/{id}");
    let edit = match parse_edit(&f) {
        Ok(e) => e,
        Err(errs) => return after_edit(&base, Err(AppError::Invalid(errs)), f.code.trim()),
    };
    let (msg, anchor) = (done_message(&edit), anchor_of(&edit));
    let r = ops::edit_draft(&st, &ctx, id, edit).await.map(|_| msg);
    after_edit(&base, r, &anchor)
}

#[derive(Deserialize)]
struct AdoptForm {
    effective_from: String,
    #[serde(default)]
    reason: String,
}

async fn adopt(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<AdoptForm>,
) -> AppResult<Response> {
    let input = AdoptInput { effective_from: f.effective_from, reason: f.reason };
    let r = ops::adopt(&st, &ctx, id, &input).await.map(|t| {
        format!("Đã ghi nhận cụm, khối thông qua phiên bản {} (hiệu lực từ {}).", t.version, date_vn(&t.effective_from))
    });
    after_edit(&format!("/bang-diem/{id}"), r, "")
}
