//! The covenant of a group-year through the API: its text and table version,
//! the per-unit targets (JSON, or an `.xlsx` body), signatures and penalties.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::covenant::{
    self as ops, CovenantInput, CovenantView, PenaltyInput, PenaltyView, SignInput, SignedView, TargetsInput,
};
use crate::ops::import::{ImportParams, ImportReport, MAX_BYTES, too_large_message};
use crate::pages::import::xlsx_download;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups/{id}/years/{year}/covenant", get(get_covenant).put(update_covenant))
        .route("/groups/{id}/years/{year}/covenant/targets", axum::routing::put(set_targets))
        .route("/groups/{id}/years/{year}/covenant/targets.xlsx", get(export_targets).post(import_targets))
        .route("/groups/{id}/years/{year}/covenant/signatures", post(sign))
        .route("/groups/{id}/years/{year}/covenant/signatures/{unit_id}", get(signed))
        .route("/groups/{id}/years/{year}/covenant/penalties", post(penalize))
}

/// Giao ước của cụm, khối trong năm: nội dung, phiên bản bảng điểm, chỉ tiêu
/// từng đơn vị, tình trạng ký, điểm trừ và quyền của người gọi.
#[utoipa::path(get, path = "/api/v1/groups/{id}/years/{year}/covenant", tag = "Giao ước",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Giao ước và bảng tình trạng ký", body = CovenantView), (status = 403), (status = 404)))]
pub async fn get_covenant(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Json<CovenantView>> {
    Ok(Json(ops::get(&st, &ctx, id, year).await?))
}

/// Lưu nội dung giao ước và phiên bản bảng điểm áp dụng (đơn vị trưởng, phó
/// hoặc cơ quan thường trực). Chỉ chọn được phiên bản đã thông qua; khi đã có
/// đơn vị ký thì không sửa được nữa (409).
#[utoipa::path(put, path = "/api/v1/groups/{id}/years/{year}/covenant", tag = "Giao ước",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = CovenantInput,
    responses(
        (status = 200, description = "Giao ước sau khi lưu", body = CovenantView),
        (status = 403, description = "Không phải đơn vị trưởng, phó hay cơ quan thường trực (đã ghi nhật ký)"),
        (status = 404),
        (status = 409, description = "Đã có đơn vị ký: không sửa được nội dung, phiên bản bảng điểm"),
        (status = 422, description = "Phiên bản bảng điểm là dự thảo hoặc không thuộc năm này; nội dung quá dài")
    ))]
pub async fn update_covenant(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Json(i): Json<CovenantInput>,
) -> AppResult<Json<CovenantView>> {
    Ok(Json(ops::update(&st, &ctx, id, year, &i).await?))
}

/// Giao chỉ tiêu cho các đơn vị theo từng tiêu chí tính theo chỉ tiêu, theo
/// nguyên tắc tất cả hoặc không; các ô không gửi lên giữ nguyên, giá trị rỗng
/// là xoá chỉ tiêu. Chỉ tiêu của đơn vị đã ký không sửa được.
#[utoipa::path(put, path = "/api/v1/groups/{id}/years/{year}/covenant/targets", tag = "Giao ước",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = TargetsInput,
    responses(
        (status = 200, description = "Giao ước sau khi lưu chỉ tiêu", body = CovenantView),
        (status = 403), (status = 404),
        (status = 422, description = "Có chỉ tiêu sai (không phải số, không lớn hơn 0, không phải thành viên, tiêu chí không tính theo chỉ tiêu, đơn vị đã ký); không có gì được lưu")
    ))]
pub async fn set_targets(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Json(i): Json<TargetsInput>,
) -> AppResult<Json<CovenantView>> {
    Ok(Json(ops::set_targets(&st, &ctx, id, year, &i).await?))
}

/// Tải tệp Excel chỉ tiêu: mỗi đơn vị thành viên một dòng, mỗi tiêu chí tính
/// theo chỉ tiêu một cột (tiêu đề là mã tiêu chí), điền sẵn chỉ tiêu hiện có.
/// Đây cũng là tệp mẫu để nhập; nhập lại tệp này không thay đổi gì.
#[utoipa::path(get, path = "/api/v1/groups/{id}/years/{year}/covenant/targets.xlsx", tag = "Giao ước",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses(
        (status = 200, description = "Tệp Excel chỉ tiêu",
            content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403), (status = 404),
        (status = 422, description = "Giao ước chưa chọn phiên bản bảng điểm")
    ))]
pub async fn export_targets(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    let bytes = ops::targets_xlsx(&st, &ctx, id, year).await?;
    Ok(xlsx_download(bytes, &ops::targets_file_name(id, year)))
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
        return Err(AppError::TooLarge(too_large_message()));
    }
    match axum::body::to_bytes(body, MAX_BYTES).await {
        Ok(b) => Ok(b.to_vec()),
        Err(_) => Err(AppError::TooLarge(too_large_message())),
    }
}

/// Nhập chỉ tiêu từ tệp Excel (thân yêu cầu là tệp .xlsx), theo nguyên tắc
/// tất cả hoặc không: nếu có dòng lỗi, không có chỉ tiêu nào được lưu và báo
/// cáo (mã 422) liệt kê từng dòng lỗi.
#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/covenant/targets.xlsx", tag = "Giao ước",
    params(("id" = i64, Path), ("year" = i32, Path), ImportParams),
    request_body(
        description = "Tệp Excel .xlsx (tối đa 5 MB): cột \"Đơn vị\" và một cột cho mỗi mã tiêu chí tính theo chỉ tiêu.",
        content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    ),
    responses(
        (status = 200, description = "Đã nhập (hoặc đã kiểm tra khi dry_run=true), không có lỗi.", body = ImportReport),
        (status = 422, description = "Có dòng lỗi (hoặc giao ước chưa chọn phiên bản bảng điểm); không có gì được lưu.", body = ImportReport),
        (status = 400, description = "Tệp không phải .xlsx, thiếu cột hoặc không có dữ liệu."),
        (status = 403, description = "Không phải đơn vị trưởng, phó hay cơ quan thường trực (đã ghi nhật ký)."),
        (status = 409, description = "Phiên bản bảng điểm vừa đổi."),
        (status = 413, description = "Tệp quá lớn.")
    ))]
pub async fn import_targets(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Query(p): Query<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    let bytes = read_body(&headers, body).await?;
    let r = ops::import_targets(&st, &ctx, id, year, &bytes, p.dry_run()).await?;
    let status = if r.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, Json(r)).into_response())
}

/// Ký giao ước thay mặt đơn vị: chỉ lãnh đạo đơn vị thành viên, cho chính đơn
/// vị mình, một lần; cần có nội dung, phiên bản bảng điểm và đủ chỉ tiêu của
/// mọi thành viên. Chữ ký ghi người ký, thời điểm và mã băm SHA-256 của nội
/// dung đã ký.
#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/covenant/signatures", tag = "Giao ước",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = SignInput,
    responses(
        (status = 201, description = "Đã ký: nội dung đã ký", body = SignedView),
        (status = 403, description = "Không phải lãnh đạo của đơn vị thành viên này (đã ghi nhật ký)"),
        (status = 404),
        (status = 409, description = "Đơn vị đã ký"),
        (status = 422, description = "Giao ước chưa đủ: nội dung, phiên bản bảng điểm hoặc chỉ tiêu còn thiếu (thông báo nêu rõ)")
    ))]
pub async fn sign(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Json(i): Json<SignInput>,
) -> AppResult<(StatusCode, Json<SignedView>)> {
    Ok((StatusCode::CREATED, Json(ops::sign(&st, &ctx, id, year, &i).await?)))
}

/// Nội dung một đơn vị đã ký (như được ghi khi ký), và giao ước hiện nay có
/// khác nội dung đó hay không.
#[utoipa::path(get, path = "/api/v1/groups/{id}/years/{year}/covenant/signatures/{unit_id}", tag = "Giao ước",
    params(("id" = i64, Path), ("year" = i32, Path), ("unit_id" = i64, Path)),
    responses((status = 200, description = "Nội dung đã ký", body = SignedView), (status = 403), (status = 404, description = "Đơn vị chưa ký")))]
pub async fn signed(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit_id)): Path<(i64, i32, i64)>,
) -> AppResult<Json<SignedView>> {
    Ok(Json(ops::signed(&st, &ctx, id, year, unit_id).await?))
}

/// Ghi nhận trừ điểm đơn vị không ký giao ước (cơ quan thường trực), một lần
/// cho mỗi đơn vị, có lý do. Bỏ trống số điểm thì lấy theo dòng điểm trừ
/// "không ký giao ước" của bảng điểm.
#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/covenant/penalties", tag = "Giao ước",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = PenaltyInput,
    responses(
        (status = 201, description = "Đã ghi nhận", body = PenaltyView),
        (status = 403, description = "Không phải cơ quan thường trực của cơ quan tổ chức (đã ghi nhật ký)"),
        (status = 404),
        (status = 409, description = "Đơn vị đã ký, hoặc đã bị trừ điểm"),
        (status = 422, description = "Thiếu lý do, số điểm sai, hoặc không phải thành viên")
    ))]
pub async fn penalize(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Json(i): Json<PenaltyInput>,
) -> AppResult<(StatusCode, Json<PenaltyView>)> {
    Ok((StatusCode::CREATED, Json(ops::penalize(&st, &ctx, id, year, &i).await?)))
}
