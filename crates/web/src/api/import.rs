//! Excel import and export through the API: the request body of an import
//! is the `.xlsx` file itself; the answer is the import's report.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::import::{self as ops, ExportParams, ImportParams, ImportReport, MAX_BYTES};
use crate::pages::import::{memberships_file_name, xlsx_download};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/import/units", post(import_units))
        .route("/import/memberships", post(import_memberships))
        .route("/export/units.xlsx", get(export_units))
        .route("/export/memberships.xlsx", get(export_memberships))
}

/// Reads the raw body, refusing more than the import limit (and a form upload).
async fn read_body(headers: &HeaderMap, body: Body) -> AppResult<Vec<u8>> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("multipart/") || ct.starts_with("application/x-www-form-urlencoded") {
        return Err(AppError::BadRequest(
            "Hãy gửi nội dung tệp .xlsx trực tiếp làm thân yêu cầu (Content-Type: \
             application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), không dùng biểu mẫu."
                .into(),
        ));
    }
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BYTES as u64) {
        return Err(AppError::TooLarge(ops::too_large_message()));
    }
    match axum::body::to_bytes(body, MAX_BYTES).await {
        Ok(b) => Ok(b.to_vec()),
        // the only failure of a body still being sent is its length
        Err(_) => Err(AppError::TooLarge(ops::too_large_message())),
    }
}

/// 200 with the report, or 422 with the report when rows have errors.
fn report_response(r: ImportReport) -> Response {
    let status = if r.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    (status, Json(r)).into_response()
}

/// Nhập danh sách đơn vị từ tệp Excel, theo nguyên tắc tất cả hoặc không.
///
/// Các cột: Tên đơn vị, Tên viết tắt, Loại, Cơ quan quản lý, Hoạt động từ,
/// Hoạt động đến (dd/mm/yyyy). Đơn vị được nhận biết theo cơ quan quản lý và
/// tên: chưa có thì thêm mới, khác thì cập nhật. Nếu có dòng lỗi, không có dữ
/// liệu nào được lưu và báo cáo (mã 422) liệt kê từng dòng lỗi.
#[utoipa::path(
    post,
    path = "/api/v1/import/units",
    tag = "Nhập, xuất",
    params(ImportParams),
    request_body(
        description = "Tệp Excel .xlsx (tối đa 5 MB), gửi trực tiếp làm thân yêu cầu.",
        content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    ),
    responses(
        (status = 200, description = "Đã nhập (hoặc đã kiểm tra khi dry_run=true), không có lỗi.", body = ImportReport),
        (status = 422, description = "Có dòng lỗi; không có dữ liệu nào được lưu.", body = ImportReport),
        (status = 400, description = "Tệp không phải .xlsx, thiếu cột, cột trùng hoặc không có dữ liệu."),
        (status = 403, description = "Có dòng ngoài phạm vi quản lý (đã ghi nhật ký); không có dữ liệu nào được lưu."),
        (status = 413, description = "Tệp quá lớn, hoặc quá nhiều dòng, cột, thành phần nén (zip bomb).")
    )
)]
pub async fn import_units(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(p): Query<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    let bytes = read_body(&headers, body).await?;
    Ok(report_response(ops::import_units(&st, &ctx, &bytes, p.dry_run()).await?))
}

/// Nhập thành viên cụm, khối theo năm từ tệp Excel, theo nguyên tắc tất cả hoặc không.
///
/// Các cột: Năm, Cụm, khối, Loại cụm, khối (ghi để tạo cụm, khối chưa có),
/// Cơ quan tổ chức, Đơn vị, Vai trò (Trưởng/Phó/Thành viên) và, nếu cần, Cơ
/// quan quản lý đơn vị. Thành viên mới được thêm, vai trò khác được cập nhật;
/// không xoá gì. Nếu có dòng lỗi, không có dữ liệu nào được lưu và báo cáo
/// (mã 422) liệt kê từng dòng lỗi.
#[utoipa::path(
    post,
    path = "/api/v1/import/memberships",
    tag = "Nhập, xuất",
    params(ImportParams),
    request_body(
        description = "Tệp Excel .xlsx (tối đa 5 MB), gửi trực tiếp làm thân yêu cầu.",
        content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    ),
    responses(
        (status = 200, description = "Đã nhập (hoặc đã kiểm tra khi dry_run=true), không có lỗi.", body = ImportReport),
        (status = 422, description = "Có dòng lỗi; không có dữ liệu nào được lưu.", body = ImportReport),
        (status = 400, description = "Tệp không phải .xlsx, thiếu cột, cột trùng hoặc không có dữ liệu."),
        (status = 403, description = "Có dòng ngoài phạm vi quản lý (đã ghi nhật ký); không có dữ liệu nào được lưu."),
        (status = 413, description = "Tệp quá lớn, hoặc quá nhiều dòng, cột, thành phần nén (zip bomb).")
    )
)]
pub async fn import_memberships(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(p): Query<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    let bytes = read_body(&headers, body).await?;
    Ok(report_response(ops::import_memberships(&st, &ctx, &bytes, p.dry_run()).await?))
}

/// Xuất danh sách đơn vị bạn được xem, đúng các cột của tệp nhập đơn vị.
#[utoipa::path(
    get,
    path = "/api/v1/export/units.xlsx",
    tag = "Nhập, xuất",
    params(ExportParams),
    responses(
        (status = 200, description = "Tệp Excel danh sách đơn vị; nhập lại tệp này không thay đổi gì.",
            content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "Tham số không hợp lệ."),
        (status = 403, description = "Không có quyền xem đơn vị."),
        (status = 404, description = "Không có cơ quan này.")
    )
)]
pub async fn export_units(State(st): State<AppState>, ctx: Ctx, Query(p): Query<ExportParams>) -> AppResult<Response> {
    let bytes = ops::export_units(&st, &ctx, p.authority_id()?).await?;
    Ok(xlsx_download(bytes, "don-vi.xlsx"))
}

/// Xuất thành viên cụm, khối bạn được xem (một năm hoặc mọi năm), đúng các
/// cột của tệp nhập thành viên.
#[utoipa::path(
    get,
    path = "/api/v1/export/memberships.xlsx",
    tag = "Nhập, xuất",
    params(ExportParams),
    responses(
        (status = 200, description = "Tệp Excel thành viên cụm, khối; nhập lại tệp này không thay đổi gì.",
            content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "Tham số không hợp lệ."),
        (status = 403, description = "Không có quyền xem cụm, khối."),
        (status = 404, description = "Không có cơ quan này.")
    )
)]
pub async fn export_memberships(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(p): Query<ExportParams>,
) -> AppResult<Response> {
    let year = p.year()?;
    let bytes = ops::export_memberships(&st, &ctx, year, p.authority_id()?).await?;
    Ok(xlsx_download(bytes, &memberships_file_name(year)))
}
