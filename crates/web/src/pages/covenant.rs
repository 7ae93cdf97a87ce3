//! The covenant page of a group-year: the text and the table version, the
//! targets grid (and its Excel file), the signature board with the leader's
//! "Ký giao ước" button, the secretariat's penalty form, and the page showing
//! what a unit signed.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use thidua_core::Invalid;
use thidua_core::scoring::Points;

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::covenant::{
    self as ops, CovenantInput, CovenantView, PenaltyInput, SignInput, SignedView, TargetInput, TargetsInput,
};
use crate::ops::import::{ImportReport, MAX_BYTES, too_large_message};
use crate::pages::import::xlsx_download;
use crate::view::{Layout, date_vn, html, redirect_with, stamp_vn};

/// The largest multipart body: the file and a little for the form's other parts.
const MULTIPART_LIMIT: usize = MAX_BYTES + 256 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cum-khoi/{id}/nam/{year}/giao-uoc/nhap-chi-tieu", post(upload_targets))
        .layer(DefaultBodyLimit::max(MULTIPART_LIMIT))
        .route("/cum-khoi/{id}/nam/{year}/giao-uoc", get(page).post(save))
        .route("/cum-khoi/{id}/nam/{year}/giao-uoc/chi-tieu", post(save_targets))
        .route("/cum-khoi/{id}/nam/{year}/giao-uoc/chi-tieu.xlsx", get(download_targets))
        .route("/cum-khoi/{id}/nam/{year}/giao-uoc/ky", post(sign))
        .route("/cum-khoi/{id}/nam/{year}/giao-uoc/tru-diem", post(penalize))
        .route("/cum-khoi/{id}/nam/{year}/giao-uoc/da-ky/{unit_id}", get(signed_page))
}

fn base(id: i64, year: i32) -> String {
    format!("/cum-khoi/{id}/nam/{year}/giao-uoc")
}

struct Opt {
    value: String,
    label: String,
    selected: bool,
}

struct GridCell {
    code: String,
    field: String,
    input_id: String,
    value: String,
}

struct BoardRow {
    unit_id: i64,
    unit_name: String,
    role: &'static str,
    cells: Vec<GridCell>,
    signed: bool,
    status: String,
    signer: String,
    signed_at: String,
    current: bool,
    penalty_reason: String,
    can_sign: bool,
    can_penalize: bool,
}

#[derive(Template)]
#[template(path = "covenant.html")]
struct CovenantPage {
    l: Layout,
    c: CovenantView,
    base: String,
    effective: String,
    paragraphs: Vec<String>,
    form_text: String,
    versions: Vec<Opt>,
    drafts: Vec<i32>,
    rows: Vec<BoardRow>,
    /// Units of the caller that signed: links to what they signed.
    own_signed: Vec<(i64, String)>,
    penalty_default: String,
    may_edit: bool,
    /// The caller sets targets and some member has not signed yet.
    grid_editable: bool,
    errors: Vec<Invalid>,
}

/// What the user typed, shown again when a form is refused.
#[derive(Default)]
struct Posted {
    text: Option<String>,
    table_id: Option<String>,
    targets: HashMap<(i64, String), String>,
}

async fn render(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: i64,
    year: i32,
    posted: Posted,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let c = ops::get(st, ctx, id, year).await?;
    let chosen = posted.table_id.clone().unwrap_or_else(|| c.table_id.map(|t| t.to_string()).unwrap_or_default());
    let mut versions =
        vec![Opt { value: String::new(), label: "— Chưa chọn —".into(), selected: chosen.is_empty() }];
    versions.extend(c.versions.iter().filter(|v| v.adopted).rev().map(|v| {
        let from = date_vn(&v.effective_from);
        Opt {
            value: v.id.to_string(),
            label: if from.is_empty() {
                format!("Phiên bản {}", v.version)
            } else {
                format!("Phiên bản {} (áp dụng từ {from})", v.version)
            },
            selected: chosen == v.id.to_string(),
        }
    }));
    let drafts = c.versions.iter().filter(|v| !v.adopted).map(|v| v.version).collect();
    let rows = c
        .members
        .iter()
        .map(|m| BoardRow {
            unit_id: m.unit_id,
            unit_name: m.unit_name.clone(),
            role: if m.role == "member" { "" } else { ops::role_label(&m.role, &c.group_kind) },
            cells: m
                .targets
                .iter()
                .enumerate()
                .map(|(i, t)| GridCell {
                    code: t.line_code.clone(),
                    field: format!("t:{}:{}", m.unit_id, t.line_code),
                    input_id: format!("t-{}-{i}", m.unit_id),
                    value: posted.targets.get(&(m.unit_id, t.line_code.clone())).cloned().unwrap_or(t.text.clone()),
                })
                .collect(),
            signed: m.signature.is_some(),
            status: m.status_label.clone(),
            signer: m.signature.as_ref().map(|s| s.signer_name.clone()).unwrap_or_default(),
            signed_at: m.signature.as_ref().map(|s| stamp_vn(&s.signed_at)).unwrap_or_default(),
            current: m.signature.as_ref().is_none_or(|s| s.current),
            penalty_reason: m.penalty.as_ref().map(|p| p.reason.clone()).unwrap_or_default(),
            can_sign: c.may_sign.contains(&m.unit_id),
            can_penalize: c.may_penalize && m.signature.is_none() && m.penalty.is_none() && c.covenant_id.is_some(),
        })
        .collect::<Vec<_>>();
    let mine = ctx.actor.unit_ids();
    let own_signed = rows
        .iter()
        .filter(|r| r.signed && mine.contains(&r.unit_id))
        .map(|r| (r.unit_id, r.unit_name.clone()))
        .collect();
    let page = CovenantPage {
        l: Layout::new(format!("Giao ước năm {year} – {}", c.group_name), ctx, headers, "/cum-khoi"),
        base: base(id, year),
        effective: date_vn(&c.table_effective_from),
        paragraphs: c.text.lines().map(str::to_string).collect(),
        form_text: posted.text.unwrap_or_else(|| c.text.clone()),
        versions,
        drafts,
        rows,
        own_signed,
        penalty_default: c.penalty_default.map(|p| Points::from_hundredths(p).to_string()).unwrap_or_default(),
        may_edit: c.may_lead && !c.locked,
        grid_editable: c.may_lead && c.members.iter().any(|m| m.signature.is_none()),
        errors,
        c,
    };
    html(&page, headers)
}

async fn page(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    render(&st, &ctx, &headers, id, year, Posted::default(), vec![]).await
}

/// A refusal that the page shows next to the form (bad input, a conflict), or the error itself.
async fn refused(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: i64,
    year: i32,
    posted: Posted,
    e: AppError,
) -> AppResult<Response> {
    let status = e.status();
    let errors = match e {
        AppError::Invalid(v) => v,
        AppError::Conflict(m) | AppError::BadRequest(m) | AppError::TooLarge(m) => vec![Invalid::new("", m)],
        other => return Err(other),
    };
    let mut resp = render(st, ctx, headers, id, year, posted, errors).await?;
    *resp.status_mut() = status;
    Ok(resp)
}

#[derive(Deserialize)]
struct CovenantForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    table_id: String,
}

async fn save(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
    Form(f): Form<CovenantForm>,
) -> AppResult<Response> {
    let posted = Posted { text: Some(f.text.clone()), table_id: Some(f.table_id.clone()), ..Default::default() };
    let table_id = match f.table_id.trim() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                let e = AppError::invalid("Bảng điểm", "Hãy chọn một phiên bản bảng điểm trong danh sách.");
                return refused(&st, &ctx, &headers, id, year, posted, e).await;
            }
        },
    };
    match ops::update(&st, &ctx, id, year, &CovenantInput { text: f.text, table_id }).await {
        Ok(_) => Ok(redirect_with(&base(id, year), "ok", "Đã lưu nội dung giao ước.")),
        Err(e) => refused(&st, &ctx, &headers, id, year, posted, e).await,
    }
}

async fn save_targets(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let mut targets = Vec::new();
    let mut posted = Posted::default();
    for (k, v) in fields {
        let Some(rest) = k.strip_prefix("t:") else { continue };
        let Some((unit, code)) = rest.split_once(':') else { continue };
        let Ok(unit_id) = unit.parse::<i64>() else { continue };
        posted.targets.insert((unit_id, code.to_string()), v.clone());
        targets.push(TargetInput { unit_id, line_code: code.to_string(), target: v });
    }
    match ops::set_targets(&st, &ctx, id, year, &TargetsInput { targets }).await {
        Ok(_) => Ok(redirect_with(&base(id, year), "ok", "Đã lưu chỉ tiêu giao cho các đơn vị.")),
        Err(e) => refused(&st, &ctx, &headers, id, year, posted, e).await,
    }
}

#[derive(Deserialize)]
struct SignForm {
    #[serde(default)]
    unit_id: String,
}

async fn sign(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
    Form(f): Form<SignForm>,
) -> AppResult<Response> {
    let Ok(unit_id) = f.unit_id.trim().parse::<i64>() else {
        let e = AppError::invalid("Đơn vị", "Hãy bấm nút Ký giao ước ở dòng của đơn vị mình.");
        return refused(&st, &ctx, &headers, id, year, Posted::default(), e).await;
    };
    match ops::sign(&st, &ctx, id, year, &SignInput { unit_id }).await {
        Ok(v) => Ok(redirect_with(
            &format!("{}/da-ky/{unit_id}", base(id, year)),
            "ok",
            &format!("{} đã ký giao ước thi đua năm {year}.", v.unit_name),
        )),
        Err(e) => refused(&st, &ctx, &headers, id, year, Posted::default(), e).await,
    }
}

#[derive(Deserialize)]
struct PenaltyForm {
    #[serde(default)]
    unit_id: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    reason: String,
}

async fn penalize(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
    Form(f): Form<PenaltyForm>,
) -> AppResult<Response> {
    let Ok(unit_id) = f.unit_id.trim().parse::<i64>() else {
        let e = AppError::invalid("Đơn vị", "Hãy chọn đơn vị chưa ký giao ước.");
        return refused(&st, &ctx, &headers, id, year, Posted::default(), e).await;
    };
    let input = PenaltyInput { unit_id, points: f.points, reason: f.reason };
    match ops::penalize(&st, &ctx, id, year, &input).await {
        Ok(p) => Ok(redirect_with(
            &base(id, year),
            "ok",
            &format!("Đã ghi nhận trừ {} điểm của {} vì không ký giao ước.", p.points_text, p.unit_name),
        )),
        Err(e) => refused(&st, &ctx, &headers, id, year, Posted::default(), e).await,
    }
}

async fn download_targets(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    let bytes = ops::targets_xlsx(&st, &ctx, id, year).await?;
    Ok(xlsx_download(bytes, &ops::targets_file_name(id, year)))
}

#[derive(Template)]
#[template(path = "covenant_import.html")]
struct ImportResultPage {
    l: Layout,
    base: String,
    group_name: String,
    year: i32,
    file_name: String,
    failure: Option<String>,
    report: Option<ImportReport>,
    bad_rows: usize,
}

fn multipart_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge(too_large_message())
    } else {
        AppError::BadRequest("Không đọc được dữ liệu tải lên. Hãy chọn lại tệp rồi gửi lại biểu mẫu.".into())
    }
}

/// The uploaded file, its name, and the "only check" box.
async fn read_form(mut mp: Multipart) -> AppResult<(Vec<u8>, String, bool)> {
    let (mut bytes, mut name, mut dry_run, mut has_file) = (Vec::new(), String::new(), false, false);
    while let Some(mut field) = mp.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => {
                name = field.file_name().unwrap_or("").chars().take(200).collect();
                has_file = true;
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    if bytes.len() + chunk.len() > MAX_BYTES {
                        return Err(AppError::TooLarge(too_large_message()));
                    }
                    bytes.extend_from_slice(&chunk);
                }
            }
            Some("dry_run") => {
                let v = field.text().await.map_err(multipart_error)?;
                dry_run = matches!(v.trim(), "1" | "on" | "true");
            }
            _ => {}
        }
    }
    if !has_file || (bytes.is_empty() && name.is_empty()) {
        return Err(AppError::BadRequest("Chưa chọn tệp. Hãy chọn tệp Excel (.xlsx) chỉ tiêu rồi gửi lại.".into()));
    }
    Ok((bytes, name, dry_run))
}

async fn upload_targets(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
    mp: Multipart,
) -> AppResult<Response> {
    let (file_name, outcome) = match read_form(mp).await {
        Ok((bytes, name, dry_run)) => (name, ops::import_targets(&st, &ctx, id, year, &bytes, dry_run).await),
        Err(e) => (String::new(), Err(e)),
    };
    let (status, failure, report) = match outcome {
        Ok(r) if r.errors.is_empty() => (StatusCode::OK, None, Some(r)),
        Ok(r) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(r)),
        Err(e @ (AppError::BadRequest(_) | AppError::TooLarge(_) | AppError::Invalid(_) | AppError::Conflict(_))) => {
            (e.status(), Some(e.user_message()), None)
        }
        Err(e) => return Err(e),
    };
    let c = ops::get(&st, &ctx, id, year).await?;
    let bad_rows = report.as_ref().map(ImportReport::bad_rows).unwrap_or(0);
    let p = ImportResultPage {
        l: Layout::new(format!("Kết quả nhập chỉ tiêu giao ước năm {year}"), &ctx, &headers, "/cum-khoi"),
        base: base(id, year),
        group_name: c.group_name,
        year,
        file_name,
        failure,
        report,
        bad_rows,
    };
    let mut resp = html(&p, &headers)?;
    *resp.status_mut() = status;
    Ok(resp)
}

#[derive(Template)]
#[template(path = "covenant_signed.html")]
struct SignedPage {
    l: Layout,
    s: SignedView,
    base: String,
    signed_at: String,
    paragraphs: Vec<String>,
}

async fn signed_page(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year, unit_id)): Path<(i64, i32, i64)>,
) -> AppResult<Response> {
    let s = ops::signed(&st, &ctx, id, year, unit_id).await?;
    let page = SignedPage {
        l: Layout::new(format!("Giao ước {} đã ký năm {year}", s.unit_name), &ctx, &headers, "/cum-khoi"),
        base: base(id, year),
        signed_at: stamp_vn(&s.signed_at),
        paragraphs: s.document.as_ref().map(|d| d.text.lines().map(str::to_string).collect()).unwrap_or_default(),
        s,
    };
    html(&page, &headers)
}
