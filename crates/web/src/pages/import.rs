//! The page of Excel imports and exports: upload forms for units and
//! memberships (multipart, CSRF token in the query string), the report of an
//! import, empty templates and exports.

use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use thidua_core::org::UnitKind;
use thidua_core::policy::readable_authorities;

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::import::{
    self as ops, ExportParams, ImportReport, ImportRights, MAX_BYTES, XLSX_MIME, member_cols, unit_cols,
};
use crate::ops::tree;
use crate::view::{Layout, html};

/// The largest multipart body: the file and a little for the form's other parts.
const MULTIPART_LIMIT: usize = MAX_BYTES + 256 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/nhap-xuat", get(page))
        .route("/nhap-xuat/don-vi", post(upload_units))
        .route("/nhap-xuat/thanh-vien", post(upload_memberships))
        .layer(DefaultBodyLimit::max(MULTIPART_LIMIT))
        .route("/nhap-xuat/mau/don-vi.xlsx", get(template_units))
        .route("/nhap-xuat/mau/thanh-vien.xlsx", get(template_memberships))
        .route("/xuat/don-vi.xlsx", get(export_units))
        .route("/xuat/thanh-vien.xlsx", get(export_memberships))
}

/// An `.xlsx` download.
pub fn xlsx_download(bytes: Vec<u8>, file_name: &str) -> Response {
    // file names are our own ASCII constants
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(XLSX_MIME));
    h.insert(header::CONTENT_DISPOSITION, disposition);
    resp
}

/// The file name of a memberships export.
pub fn memberships_file_name(year: Option<i32>) -> String {
    match year {
        Some(y) => format!("thanh-vien-cum-khoi-{y}.xlsx"),
        None => "thanh-vien-cum-khoi.xlsx".into(),
    }
}

struct ColHelp {
    name: &'static str,
    required: bool,
    help: String,
}

struct Opt {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    l: Layout,
    rights: ImportRights,
    unit_help: Vec<ColHelp>,
    member_help: Vec<ColHelp>,
    years: Vec<Opt>,
    authorities: Vec<Opt>,
}

fn unit_help() -> Vec<ColHelp> {
    use unit_cols as c;
    let kinds: Vec<&str> = UnitKind::ALL.iter().map(|k| k.label()).collect();
    vec![
        ColHelp {
            name: c::NAME,
            required: true,
            help: "Tên đầy đủ của đơn vị. Đơn vị đã có (cùng tên, cùng cơ quan quản lý) được cập nhật; chưa có thì \
                   được thêm mới."
                .into(),
        },
        ColHelp { name: c::SHORT_NAME, required: false, help: "Để trống thì dùng tên đơn vị.".into() },
        ColHelp { name: c::KIND, required: true, help: format!("Một trong: {}.", kinds.join("; ")) },
        ColHelp {
            name: c::AUTHORITY,
            required: true,
            help: "Tên cơ quan quản lý đơn vị, đúng như trong danh mục Cơ quan tổ chức cụm, khối.".into(),
        },
        ColHelp {
            name: c::FROM,
            required: false,
            help: "Ngày bắt đầu hoạt động, dạng dd/mm/yyyy (ví dụ 01/07/2025); để trống nếu không rõ.".into(),
        },
        ColHelp {
            name: c::TO,
            required: false,
            help: "Ngày thôi hoạt động (dd/mm/yyyy); để trống nếu đơn vị còn hoạt động.".into(),
        },
    ]
}

fn member_help() -> Vec<ColHelp> {
    use member_cols as c;
    vec![
        ColHelp { name: c::YEAR, required: true, help: "Năm thi đua đã được mở, ví dụ 2026.".into() },
        ColHelp { name: c::GROUP, required: true, help: "Tên cụm, khối thi đua, đúng như đã lưu.".into() },
        ColHelp {
            name: c::GROUP_KIND,
            required: false,
            help: "Cụm thi đua hoặc Khối thi đua. Ghi cột này để tạo mới cụm, khối chưa có.".into(),
        },
        ColHelp { name: c::GROUP_AUTHORITY, required: true, help: "Cơ quan tổ chức cụm, khối.".into() },
        ColHelp {
            name: c::UNIT,
            required: true,
            help: "Tên đơn vị thuộc cơ quan tổ chức hoặc cơ quan cấp dưới của cơ quan đó.".into(),
        },
        ColHelp {
            name: c::ROLE,
            required: true,
            help: "Trưởng, Phó hoặc Thành viên; ô để trống là Thành viên. Mỗi cụm, khối có một trưởng và tối đa một \
                   phó trong một năm."
                .into(),
        },
        ColHelp {
            name: c::UNIT_AUTHORITY,
            required: false,
            help: "Cơ quan quản lý đơn vị; chỉ cần khi có hai đơn vị trùng tên thuộc các cơ quan khác nhau.".into(),
        },
    ]
}

async fn page(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap) -> AppResult<Response> {
    let rights = ops::rights(&st, &ctx).await?;
    let years = crate::ops::org::list_years(&st, &ctx).await?;
    let all = crate::ops::org::list_authorities(&st, &ctx).await?;
    let readable = readable_authorities(&ctx.actor, &tree(&all));
    let mut year_opts: Vec<Opt> =
        vec![Opt { value: String::new(), label: "Tất cả các năm".into(), selected: years.is_empty() }];
    year_opts.extend(years.iter().enumerate().map(|(i, y)| Opt {
        value: y.to_string(),
        label: y.to_string(),
        selected: i == 0,
    }));
    let mut authorities =
        vec![Opt { value: String::new(), label: "Tất cả trong phạm vi của tôi".into(), selected: true }];
    authorities.extend(all.iter().filter(|a| readable.as_ref().is_none_or(|r| r.contains(&a.id))).map(|a| Opt {
        value: a.id.to_string(),
        label: a.name.clone(),
        selected: false,
    }));
    let p = ImportPage {
        l: Layout::new("Nhập, xuất Excel", &ctx, &headers, "/nhap-xuat"),
        rights,
        unit_help: unit_help(),
        member_help: member_help(),
        years: year_opts,
        authorities,
    };
    html(&p, &headers)
}

#[derive(Template)]
#[template(path = "import_result.html")]
struct ResultPage {
    l: Layout,
    what: &'static str,
    file_name: String,
    /// A problem with the file as a whole (not an .xlsx, too big, missing columns).
    failure: Option<String>,
    report: Option<ImportReport>,
    bad_rows: usize,
}

/// The uploaded form.
struct Upload {
    bytes: Vec<u8>,
    file_name: String,
    dry_run: bool,
}

fn multipart_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge(ops::too_large_message())
    } else {
        tracing::debug!(error = %e.body_text(), "bad multipart");
        AppError::BadRequest("Không đọc được dữ liệu tải lên. Hãy chọn lại tệp rồi gửi lại biểu mẫu.".into())
    }
}

/// The file of an upload form (its field "file"), within the import limit.
pub async fn read_file(mp: Multipart) -> AppResult<Vec<u8>> {
    Ok(read_form(mp).await?.bytes)
}

async fn read_form(mut mp: Multipart) -> AppResult<Upload> {
    let mut up = Upload { bytes: Vec::new(), file_name: String::new(), dry_run: false };
    let mut has_file = false;
    while let Some(mut field) = mp.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => {
                up.file_name = field.file_name().unwrap_or("").chars().take(200).collect();
                has_file = true;
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    if up.bytes.len() + chunk.len() > MAX_BYTES {
                        return Err(AppError::TooLarge(ops::too_large_message()));
                    }
                    up.bytes.extend_from_slice(&chunk);
                }
            }
            Some("dry_run") => {
                let v = field.text().await.map_err(multipart_error)?;
                up.dry_run = matches!(v.trim(), "1" | "on" | "true");
            }
            _ => {}
        }
    }
    if !has_file || (up.bytes.is_empty() && up.file_name.is_empty()) {
        return Err(AppError::BadRequest("Chưa chọn tệp. Hãy chọn tệp Excel (.xlsx) cần nhập rồi gửi lại.".into()));
    }
    Ok(up)
}

async fn show_result(
    ctx: &Ctx,
    headers: &HeaderMap,
    what: &'static str,
    file_name: String,
    outcome: AppResult<ImportReport>,
) -> AppResult<Response> {
    let (status, failure, report) = match outcome {
        Ok(r) if r.errors.is_empty() => (StatusCode::OK, None, Some(r)),
        Ok(r) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(r)),
        Err(e @ (AppError::BadRequest(_) | AppError::TooLarge(_))) => (e.status(), Some(e.user_message()), None),
        Err(e) => return Err(e),
    };
    let bad_rows = report.as_ref().map(ImportReport::bad_rows).unwrap_or(0);
    let p = ResultPage {
        l: Layout::new(format!("Kết quả nhập {what}"), ctx, headers, "/nhap-xuat"),
        what,
        file_name,
        failure,
        report,
        bad_rows,
    };
    let mut resp = html(&p, headers)?;
    *resp.status_mut() = status;
    Ok(resp)
}

async fn upload_units(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, mp: Multipart) -> AppResult<Response> {
    let outcome = match read_form(mp).await {
        Ok(up) => {
            let r = ops::import_units(&st, &ctx, &up.bytes, up.dry_run).await;
            return show_result(&ctx, &headers, "danh sách đơn vị", up.file_name, r).await;
        }
        Err(e) => Err(e),
    };
    show_result(&ctx, &headers, "danh sách đơn vị", String::new(), outcome).await
}

async fn upload_memberships(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    mp: Multipart,
) -> AppResult<Response> {
    let outcome = match read_form(mp).await {
        Ok(up) => {
            let r = ops::import_memberships(&st, &ctx, &up.bytes, up.dry_run).await;
            return show_result(&ctx, &headers, "thành viên cụm, khối", up.file_name, r).await;
        }
        Err(e) => Err(e),
    };
    show_result(&ctx, &headers, "thành viên cụm, khối", String::new(), outcome).await
}

async fn template_units(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    ops::rights(&st, &ctx).await?;
    Ok(xlsx_download(ops::template_units().await?, "mau-don-vi.xlsx"))
}

async fn template_memberships(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    ops::rights(&st, &ctx).await?;
    Ok(xlsx_download(ops::template_memberships().await?, "mau-thanh-vien-cum-khoi.xlsx"))
}

async fn export_units(State(st): State<AppState>, ctx: Ctx, Query(p): Query<ExportParams>) -> AppResult<Response> {
    let bytes = ops::export_units(&st, &ctx, p.authority_id()?).await?;
    Ok(xlsx_download(bytes, "don-vi.xlsx"))
}

async fn export_memberships(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(p): Query<ExportParams>,
) -> AppResult<Response> {
    let year = p.year()?;
    let bytes = ops::export_memberships(&st, &ctx, year, p.authority_id()?).await?;
    Ok(xlsx_download(bytes, &memberships_file_name(year)))
}
