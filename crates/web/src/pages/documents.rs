//! Pages of a group's documents: the list by year and kind with each
//! document's latest version, a document's version history, the upload
//! forms (multipart, CSRF token in the query string), and downloads.

use askama::Template;
use axum::Router;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use thidua_core::Invalid;
use thidua_core::documents::{self as docs, DocumentKind, FileType, Limits};
use thidua_core::policy::Action;
use thidua_db::documents::VersionRow;

use super::org::{Opt, options};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::documents::{self as ops, DocumentInput, Download, MULTIPART_OVERHEAD, Upload};
use crate::ops::org::may;
use crate::view::{Layout, html, redirect_with, stamp_vn};

/// The largest multipart body these routes read (the server's own body
/// limit, 12 MB by default, still applies first).
pub const MULTIPART_LIMIT: usize = Limits::DEFAULT.max_bytes + MULTIPART_OVERHEAD;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cum-khoi/{id}/tai-lieu", get(list_page).post(upload_document))
        .route("/tai-lieu/{id}", get(detail_page).post(upload_version))
        .layer(DefaultBodyLimit::max(MULTIPART_LIMIT))
        .route("/tai-lieu/{id}/phien-ban/{version}", get(download_version))
}

// ---------- shared with the API ----------

/// A document's download: its type, `attachment` with the file name (an
/// ASCII name for old clients and the real one per RFC 5987/6266).
pub fn file_response(d: Download) -> Response {
    let ascii = docs::ascii_file_name(&d.file_name);
    let value = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", rfc5987(&d.file_name));
    let disposition = HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let mut resp = d.bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(d.file_type.mime()));
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    resp
}

/// Percent-encodes a UTF-8 value, keeping only RFC 5987's `attr-char`.
fn rfc5987(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The fields of an upload form (a new document, or a new version).
#[derive(Debug, Default)]
pub struct UploadForm {
    pub input: DocumentInput,
    pub file: Upload,
}

/// Longest text field of the form, in bytes.
const TEXT_LIMIT: usize = 16 * 1024;

fn multipart_error(st: &AppState, e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge(ops::too_large_message(st))
    } else {
        tracing::debug!(error = %e.body_text(), "bad multipart");
        AppError::BadRequest("Không đọc được dữ liệu tải lên. Hãy chọn lại tệp rồi gửi lại biểu mẫu.".into())
    }
}

async fn read_text(st: &AppState, mut field: Field<'_>) -> AppResult<String> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(st, e))? {
        if buf.len() + chunk.len() > TEXT_LIMIT {
            return Err(AppError::BadRequest("Một trường của biểu mẫu quá dài.".into()));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Reads a multipart form: the `file` field as the upload, every other
/// field as text. Stops as soon as the file passes the limit.
pub async fn read_fields(
    st: &AppState,
    mut mp: Multipart,
) -> AppResult<(std::collections::HashMap<String, String>, Upload)> {
    let max = ops::limits(st).max_bytes;
    let mut fields = std::collections::HashMap::new();
    let mut file = Upload::default();
    while let Some(mut field) = mp.next_field().await.map_err(|e| multipart_error(st, e))? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            file.file_name = field.file_name().unwrap_or("").chars().take(1000).collect();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(st, e))? {
                if bytes.len() + chunk.len() > max {
                    return Err(AppError::TooLarge(ops::too_large_message(st)));
                }
                bytes.extend_from_slice(&chunk);
            }
            file.bytes = bytes.into();
        } else if fields.len() < 32 {
            let text = read_text(st, field).await?;
            fields.insert(name, text);
        }
    }
    Ok((fields, file))
}

/// Reads an upload form: `file`, and `kind`, `title`, `year`, `note`.
pub async fn read_form(st: &AppState, mp: Multipart) -> AppResult<UploadForm> {
    let (mut m, file) = read_fields(st, mp).await?;
    let mut take = |k: &str| m.remove(k).unwrap_or_default();
    let input = DocumentInput { kind: take("kind"), title: take("title"), year: take("year"), note: take("note") };
    Ok(UploadForm { input, file })
}

/// The errors of a refused upload shown on the form, with the status to answer; other errors go to the error page.
fn form_errors(e: AppError) -> AppResult<(StatusCode, Vec<Invalid>)> {
    let status = e.status();
    match e {
        AppError::Invalid(v) => Ok((status, v)),
        AppError::TooLarge(m) => Ok((status, vec![Invalid::new("Tệp", m)])),
        AppError::Conflict(m) | AppError::BadRequest(m) => Ok((status, vec![Invalid::new("", m)])),
        other => Err(other),
    }
}

struct VersionLine {
    version: i32,
    file_name: String,
    type_label: &'static str,
    size: String,
    uploaded_at: String,
    uploaded_by: String,
    note: String,
    href: String,
}

fn version_line(v: &VersionRow) -> VersionLine {
    let t = FileType::parse(&v.file_type);
    VersionLine {
        version: v.version,
        file_name: t.map(|t| docs::download_name(&v.file_name, t)).unwrap_or_else(|| v.file_name.clone()),
        type_label: t.map(|t| t.label()).unwrap_or(""),
        size: docs::format_size(v.size_bytes.max(0) as u64),
        uploaded_at: stamp_vn(&v.uploaded_at),
        uploaded_by: v.uploaded_by_name.clone(),
        note: v.note.clone(),
        href: format!("/tai-lieu/{}/phien-ban/{}", v.document_id, v.version),
    }
}

// ---------- the list ----------

struct DocLine {
    id: i64,
    title: String,
    version_count: i64,
    latest: VersionLine,
}

struct KindSection {
    label: &'static str,
    items: Vec<DocLine>,
}

struct YearLink {
    year: i32,
    current: bool,
}

#[derive(Template)]
#[template(path = "documents.html")]
struct ListPage {
    l: Layout,
    group_id: i64,
    group_name: String,
    year: i32,
    years: Vec<YearLink>,
    sections: Vec<KindSection>,
    count: usize,
    may_upload: bool,
    kinds: Vec<Opt>,
    title: String,
    note: String,
    errors: Vec<Invalid>,
    accept: &'static str,
    accepted: &'static str,
    limit: String,
}

#[derive(Deserialize, Default)]
struct YearQuery {
    #[serde(default)]
    nam: String,
}

/// The list page of one year, with the form's values and errors after a refused upload.
async fn list(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    group_id: i64,
    year: Option<i32>,
    form: DocumentInput,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let detail = crate::ops::org::get_group(st, ctx, group_id).await?;
    let group = detail.group;
    // the years to show: those with documents, those with members, and the latest open year
    let mut ys = ops::document_years(st, ctx, &group).await?;
    ys.extend(detail.years.iter().map(|y| y.year));
    if let Some(latest) = crate::ops::org::list_years(st, ctx).await?.first() {
        ys.push(*latest);
    }
    ys.sort_unstable_by(|a, b| b.cmp(a));
    ys.dedup();
    let year = year
        .filter(|y| ys.contains(y))
        .or(ys.first().copied())
        .unwrap_or_else(|| chrono::Datelike::year(&crate::ops::today()));
    let (_, items) = ops::list_documents(st, ctx, group_id, Some(year)).await?;
    let count = items.len();
    let sections = DocumentKind::ALL
        .iter()
        .map(|k| KindSection {
            label: k.label(),
            items: items
                .iter()
                .filter(|d| d.document.kind == k.code())
                .map(|d| DocLine {
                    id: d.document.id,
                    title: d.document.title.clone(),
                    version_count: d.version_count,
                    latest: version_line(&d.latest),
                })
                .collect(),
        })
        .filter(|s| !s.items.is_empty())
        .collect();
    let t = ops::group_year_target(st, &group, Some(year)).await?;
    let selected_kind = if form.kind.is_empty() { DocumentKind::Regulation.code().to_string() } else { form.kind };
    let page = ListPage {
        l: Layout::new(format!("Tài liệu – {}", group.name), ctx, headers, "/cum-khoi"),
        group_id,
        group_name: group.name.clone(),
        year,
        years: ys.iter().map(|y| YearLink { year: *y, current: *y == year }).collect(),
        sections,
        count,
        may_upload: may(ctx, Action::ManageDocuments, &t) && ys.contains(&year),
        kinds: options(DocumentKind::ALL.iter().map(|k| (k.code().to_string(), k.label().to_string())), &selected_kind),
        title: form.title,
        note: form.note,
        errors,
        accept: docs::ACCEPT_ATTR,
        accepted: docs::ACCEPTED_TEXT,
        limit: docs::format_size(ops::limits(st).max_bytes as u64),
    };
    html(&page, headers)
}

async fn list_page(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    let year = q.nam.trim().parse::<i32>().ok();
    list(&st, &ctx, &headers, id, year, DocumentInput::default(), vec![]).await
}

async fn upload_document(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
    mp: Multipart,
) -> AppResult<Response> {
    let (input, outcome) = match read_form(&st, mp).await {
        Ok(f) => {
            let r = ops::create_document(&st, &ctx, id, &f.input, &f.file).await;
            (f.input, r)
        }
        Err(e) => (DocumentInput::default(), Err(e)),
    };
    match outcome {
        Ok(d) => Ok(redirect_with(
            &format!("/tai-lieu/{}", d.document.id),
            "ok",
            &format!("Đã tải lên \"{}\" (phiên bản 1).", d.document.title),
        )),
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            let year = input.year.trim().parse::<i32>().ok();
            let mut resp = list(&st, &ctx, &headers, id, year, input, errors).await?;
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}

// ---------- one document ----------

#[derive(Template)]
#[template(path = "documents_detail.html")]
struct DetailPage {
    l: Layout,
    id: i64,
    group_id: i64,
    group_name: String,
    title: String,
    kind: String,
    year: i32,
    created_by: String,
    created_at: String,
    versions: Vec<VersionLine>,
    may_upload: bool,
    note: String,
    errors: Vec<Invalid>,
    accept: &'static str,
    accepted: &'static str,
    limit: String,
}

async fn detail(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: i64,
    note: String,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let (group, d) = ops::get_document(st, ctx, id).await?;
    let t = ops::group_year_target(st, &group, Some(d.document.year)).await?;
    let page = DetailPage {
        l: Layout::new(d.document.title.clone(), ctx, headers, "/cum-khoi"),
        id,
        group_id: group.id,
        group_name: group.name.clone(),
        title: d.document.title.clone(),
        kind: d.kind_label.clone(),
        year: d.document.year,
        created_by: d.document.created_by.clone(),
        created_at: stamp_vn(&d.document.created_at),
        versions: d.versions.iter().rev().map(version_line).collect(),
        may_upload: may(ctx, Action::ManageDocuments, &t),
        note,
        errors,
        accept: docs::ACCEPT_ATTR,
        accepted: docs::ACCEPTED_TEXT,
        limit: docs::format_size(ops::limits(st).max_bytes as u64),
    };
    html(&page, headers)
}

async fn detail_page(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    detail(&st, &ctx, &headers, id, String::new(), vec![]).await
}

async fn upload_version(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
    mp: Multipart,
) -> AppResult<Response> {
    let (note, outcome) = match read_form(&st, mp).await {
        Ok(f) => {
            let r = ops::add_version(&st, &ctx, id, &f.input.note, &f.file).await;
            (f.input.note, r)
        }
        Err(e) => (String::new(), Err(e)),
    };
    match outcome {
        Ok(v) => Ok(redirect_with(&format!("/tai-lieu/{id}"), "ok", &format!("Đã tải lên phiên bản {}.", v.version))),
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            let mut resp = detail(&st, &ctx, &headers, id, note, errors).await?;
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}

async fn download_version(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, version)): Path<(i64, i32)>,
) -> AppResult<Response> {
    Ok(file_response(ops::download(&st, &ctx, id, Some(version)).await?))
}
