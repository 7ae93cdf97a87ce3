//! A unit's self-assessment sheet of a group's year: read, saved as a draft,
//! signed and submitted by the unit's leader.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::AppState;
use crate::auth::Ctx;
use crate::error::AppResult;
use crate::ops::scores::{self as ops, Preview, SaveInput, SavedSheet, SheetView};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups/{id}/years/{year}/sheets/{unit_id}", get(get_sheet))
        .route("/groups/{id}/years/{year}/sheets/{unit_id}/save", post(save))
        .route("/groups/{id}/years/{year}/sheets/{unit_id}/submit", post(submit))
        .route("/groups/{id}/years/{year}/sheets/{unit_id}/preview", post(preview))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}/years/{year}/sheets/{unit_id}", tag = "Tự chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path), ("unit_id" = i64, Path)),
    responses((status = 200, description = "Phiếu tự chấm của đơn vị: các dòng của bảng điểm đang có hiệu lực, giá trị tự chấm, điểm và xếp loại tính được", body = SheetView), (status = 403), (status = 404)))]
pub async fn get_sheet(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit_id)): Path<(i64, i32, i64)>,
) -> AppResult<Json<SheetView>> {
    Ok(Json(ops::sheet(&st, &ctx, id, year, unit_id).await?))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/sheets/{unit_id}/save", tag = "Tự chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path), ("unit_id" = i64, Path)), request_body = SaveInput,
    responses((status = 200, description = "Các dòng vừa lưu nháp, mỗi dòng thay đổi thành một bản ghi mới (mã bản ghi là base_seq của lần lưu sau); tổng điểm và xếp loại xem ở phiếu (GET). Bị từ chối cả lần lưu (không lưu gì) nếu có giá trị sai, xung đột hay phiếu đã khóa", body = SavedSheet), (status = 403), (status = 404), (status = 422)))]
pub async fn save(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit_id)): Path<(i64, i32, i64)>,
    Json(i): Json<SaveInput>,
) -> AppResult<Json<SavedSheet>> {
    Ok(Json(ops::save(&st, &ctx, id, year, unit_id, &i).await?))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/sheets/{unit_id}/submit", tag = "Tự chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path), ("unit_id" = i64, Path)),
    responses((status = 200, description = "Phiếu đã được lãnh đạo đơn vị ký, gửi và khóa", body = SheetView), (status = 403), (status = 404), (status = 422)))]
pub async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit_id)): Path<(i64, i32, i64)>,
) -> AppResult<Json<SheetView>> {
    Ok(Json(ops::submit(&st, &ctx, id, year, unit_id).await?))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/sheets/{unit_id}/preview", tag = "Tự chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path), ("unit_id" = i64, Path)), request_body = SaveInput,
    responses((status = 200, description = "Tổng điểm, xếp loại và điểm từng dòng nếu lưu các giá trị đang nhập; không lưu gì", body = Preview), (status = 403), (status = 404), (status = 422)))]
pub async fn preview(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit_id)): Path<(i64, i32, i64)>,
    Json(i): Json<SaveInput>,
) -> AppResult<Json<Preview>> {
    Ok(Json(ops::preview(&st, &ctx, id, year, unit_id, &i).await?))
}
