//! The cross-inspection plan of a group's year: read, generated, adjusted by hand.

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};

use crate::AppState;
use crate::auth::Ctx;
use crate::error::AppResult;
use crate::ops::inspection::{self as ops, AdjustInput, InspectionPlan};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups/{id}/years/{year}/inspection", get(get_plan))
        .route("/groups/{id}/years/{year}/inspection/generate", post(generate))
        .route("/groups/{id}/years/{year}/inspection/pairs", put(adjust))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}/years/{year}/inspection", tag = "Kiểm tra chéo",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Kế hoạch kiểm tra chéo của cụm, khối trong năm, kế hoạch năm trước và các cảnh báo", body = InspectionPlan), (status = 403), (status = 404), (status = 422)))]
pub async fn get_plan(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Json<InspectionPlan>> {
    Ok(Json(ops::plan(&st, &ctx, id, year).await?))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/inspection/generate", tag = "Kiểm tra chéo",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Kế hoạch vừa lập (thay kế hoạch cũ): mỗi thành viên được một thành viên khác kiểm tra, tránh lặp lại năm trước", body = InspectionPlan), (status = 403), (status = 404), (status = 422)))]
pub async fn generate(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Json<InspectionPlan>> {
    Ok(Json(ops::generate(&st, &ctx, id, year).await?))
}

#[utoipa::path(put, path = "/api/v1/groups/{id}/years/{year}/inspection/pairs", tag = "Kiểm tra chéo",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = AdjustInput,
    responses((status = 200, description = "Kế hoạch sau khi điều chỉnh; bị từ chối (không lưu gì) nếu vi phạm quy tắc", body = InspectionPlan), (status = 403), (status = 404), (status = 422)))]
pub async fn adjust(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Json(i): Json<AdjustInput>,
) -> AppResult<Json<InspectionPlan>> {
    Ok(Json(ops::adjust(&st, &ctx, id, year, &i).await?))
}
