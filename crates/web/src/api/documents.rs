//! Group documents through the API: list, upload (multipart), versions,
//! download. Uploads carry the session's CSRF token in `X-CSRF-Token`.

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use thidua_db::documents::VersionRow;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::documents::{self as ops, DocumentDetail, DocumentSummary};
use crate::pages::documents::{MULTIPART_LIMIT, file_response, read_form};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups/{id}/documents", get(list).post(create))
        .route("/documents/{id}/versions", get(versions).post(add_version))
        .layer(DefaultBodyLimit::max(MULTIPART_LIMIT))
        .route("/documents/{id}", get(get_document))
        .route("/documents/{id}/versions/{version}/file", get(download))
}

/// `?year=`: chỉ tài liệu của năm này; bỏ trống: mọi năm.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Năm thi đua, ví dụ 2026; bỏ trống: mọi năm.
    #[serde(default)]
    #[param(value_type = Option<i32>)]
    pub year: String,
}

/// Biểu mẫu tải lên tài liệu mới (multipart/form-data).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewDocumentForm {
    /// Loại: regulation (quy chế hoạt động) | covenant (giao ước thi đua) | plan (kế hoạch) |
    /// minutes (biên bản) | other (khác).
    kind: String,
    /// Tên tài liệu (2 đến 250 ký tự); duy nhất trong một loại của cụm, khối trong năm.
    title: String,
    /// Năm thi đua đã mở, ví dụ 2026.
    year: i32,
    /// Ghi chú của phiên bản (không bắt buộc, tối đa 1 000 ký tự).
    note: Option<String>,
    /// Tệp PDF, Word (.docx), Excel (.xlsx), ảnh PNG, JPEG hoặc WebP; tối đa 10 MB.
    /// Loại tệp được xác định theo nội dung.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
}

/// Biểu mẫu tải lên phiên bản mới (multipart/form-data).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewVersionForm {
    /// Ghi chú: thay đổi gì so với phiên bản trước (không bắt buộc, tối đa 1 000 ký tự).
    note: Option<String>,
    /// Tệp PDF, Word (.docx), Excel (.xlsx), ảnh PNG, JPEG hoặc WebP; tối đa 10 MB.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
}

/// Danh sách tài liệu của cụm, khối, mỗi tài liệu kèm phiên bản mới nhất.
///
/// Theo năm (mới nhất trước), loại, tên. Thành viên và người được xem cụm, khối đều xem được.
#[utoipa::path(get, path = "/api/v1/groups/{id}/documents", tag = "Tài liệu", operation_id = "list_documents",
    params(("id" = i64, Path, description = "Mã cụm, khối"), ListParams),
    responses(
        (status = 200, body = Vec<DocumentSummary>),
        (status = 400, description = "Năm không hợp lệ."),
        (status = 403, description = "Không được xem cụm, khối này (đã ghi nhật ký)."),
        (status = 404, description = "Không có cụm, khối này.")
    ))]
pub async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(p): Query<ListParams>,
) -> AppResult<Json<Vec<DocumentSummary>>> {
    let year = match p.year.trim() {
        "" => None,
        y => Some(thidua_core::org::parse_year(y).map_err(|i| AppError::BadRequest(i.message))?),
    };
    Ok(Json(ops::list_documents(&st, &ctx, id, year).await?.1))
}

/// Tải lên tài liệu mới của cụm, khối cho một năm, với phiên bản 1.
///
/// Do đơn vị trưởng, phó cụm, khối của năm đó hoặc cơ quan thường trực thực
/// hiện. Loại tệp được xác định theo nội dung (không theo tên tệp hay
/// Content-Type); tệp bị từ chối thì không có gì được lưu.
#[utoipa::path(post, path = "/api/v1/groups/{id}/documents", tag = "Tài liệu", operation_id = "create_document",
    params(("id" = i64, Path, description = "Mã cụm, khối")),
    request_body(content = inline(NewDocumentForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Đã lưu tài liệu và phiên bản 1.", body = DocumentDetail),
        (status = 403, description = "Không có quyền tải lên (đã ghi nhật ký)."),
        (status = 404, description = "Không có cụm, khối này."),
        (status = 409, description = "Đã có tài liệu cùng loại, cùng tên trong năm: hãy tải lên phiên bản mới."),
        (status = 413, description = "Tệp quá lớn."),
        (status = 422, description = "Dữ liệu chưa hợp lệ: loại tài liệu, tên, năm, ghi chú; \
            hoặc loại tệp không được nhận (PDF, .docx, .xlsx, PNG, JPEG, WebP), tệp rỗng.")
    ))]
pub async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    mp: Multipart,
) -> AppResult<(StatusCode, Json<DocumentDetail>)> {
    let f = read_form(&st, mp).await?;
    Ok((StatusCode::CREATED, Json(ops::create_document(&st, &ctx, id, &f.input, &f.file).await?)))
}

/// Một tài liệu với mọi phiên bản (cũ nhất trước).
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "Tài liệu", operation_id = "get_document",
    params(("id" = i64, Path, description = "Mã tài liệu")),
    responses((status = 200, body = DocumentDetail), (status = 403), (status = 404)))]
pub async fn get_document(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Json<DocumentDetail>> {
    Ok(Json(ops::get_document(&st, &ctx, id).await?.1))
}

/// Các phiên bản của một tài liệu (cũ nhất trước).
#[utoipa::path(get, path = "/api/v1/documents/{id}/versions", tag = "Tài liệu", operation_id = "list_document_versions",
    params(("id" = i64, Path, description = "Mã tài liệu")),
    responses((status = 200, body = Vec<VersionRow>), (status = 403), (status = 404)))]
pub async fn versions(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Vec<VersionRow>>> {
    Ok(Json(ops::get_document(&st, &ctx, id).await?.1.versions))
}

/// Tải lên phiên bản mới của một tài liệu; các phiên bản cũ được giữ nguyên.
#[utoipa::path(post, path = "/api/v1/documents/{id}/versions", tag = "Tài liệu", operation_id = "add_document_version",
    params(("id" = i64, Path, description = "Mã tài liệu")),
    request_body(content = inline(NewVersionForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Đã lưu phiên bản mới.", body = VersionRow),
        (status = 403, description = "Không có quyền tải lên (đã ghi nhật ký)."),
        (status = 404, description = "Không có tài liệu này."),
        (status = 409, description = "Tệp giống hệt phiên bản mới nhất."),
        (status = 413, description = "Tệp quá lớn."),
        (status = 422, description = "Loại tệp không được nhận, tệp rỗng, hoặc ghi chú quá dài.")
    ))]
pub async fn add_version(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    mp: Multipart,
) -> AppResult<(StatusCode, Json<VersionRow>)> {
    let f = read_form(&st, mp).await?;
    Ok((StatusCode::CREATED, Json(ops::add_version(&st, &ctx, id, &f.input.note, &f.file).await?)))
}

/// Tải về tệp của một phiên bản (Content-Disposition: attachment).
#[utoipa::path(get, path = "/api/v1/documents/{id}/versions/{version}/file", tag = "Tài liệu",
    operation_id = "download_document_version",
    params(
        ("id" = i64, Path, description = "Mã tài liệu"),
        ("version" = i32, Path, description = "Số phiên bản, từ 1")
    ),
    responses(
        (status = 200, description = "Nội dung tệp, với Content-Type theo loại tệp đã xác định.",
            content(("application/pdf"),
                ("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                ("image/png"), ("image/jpeg"), ("image/webp"))),
        (status = 403, description = "Không được xem cụm, khối này (đã ghi nhật ký)."),
        (status = 404, description = "Không có tài liệu hoặc phiên bản này.")
    ))]
pub async fn download(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, version)): Path<(i64, i32)>,
) -> AppResult<Response> {
    Ok(file_response(ops::download(&st, &ctx, id, Some(version)).await?))
}
