//! Scoring-table templates and group-year tables. Tables travel as the JSON of
//! `thidua_core::scoring::ScoringTable`; points are integers in hundredths.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use thidua_db::scoring::{TableRow, TemplateRow};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::tables::{self as ops, AdoptInput, NewVersionInput, Source, TableOverview, TemplateInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/templates", get(list_templates).post(create_template))
        .route("/templates/{id}", get(get_template).put(replace_template))
        .route("/templates/{id}/edit", post(edit_template))
        .route("/templates/{id}/publish", post(publish_template))
        .route("/groups/{id}/years/{year}/table", get(overview).post(start))
        .route("/groups/{id}/years/{year}/table/versions", post(new_version))
        .route("/tables/{id}", get(get_version).put(replace_draft))
        .route("/tables/{id}/edit", post(edit_draft))
        .route("/tables/{id}/adopt", post(adopt))
}

/// A table with its stored row.
#[derive(Serialize, ToSchema)]
pub struct TemplateWithTable {
    pub template: TemplateRow,
    /// The table (ScoringTable JSON).
    #[schema(value_type = Object)]
    pub table: thidua_core::scoring::ScoringTable,
    /// Problems that keep it from being published (Vietnamese).
    pub problems: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionWithTable {
    pub version: TableRow,
    #[schema(value_type = Object)]
    pub table: thidua_core::scoring::ScoringTable,
    pub problems: Vec<String>,
}

fn problems(t: &thidua_core::scoring::ScoringTable) -> Vec<String> {
    t.validate().err().unwrap_or_default().into_iter().map(|i| i.message).collect()
}

fn parse_json<T: serde::de::DeserializeOwned>(v: serde_json::Value, what: &str) -> AppResult<T> {
    serde_json::from_value(v).map_err(|e| {
        tracing::debug!(error = %e, "bad table JSON");
        AppError::BadRequest(format!(
            "{what} gửi lên không đúng cấu trúc (xem tài liệu OpenAPI tại /api/v1/openapi.json). Không có gì được lưu."
        ))
    })
}

#[utoipa::path(get, path = "/api/v1/templates", tag = "Bảng điểm", responses((status = 200, body = Vec<TemplateRow>)))]
pub async fn list_templates(State(st): State<AppState>, ctx: Ctx) -> AppResult<Json<Vec<TemplateRow>>> {
    Ok(Json(ops::list_templates(&st, &ctx).await?))
}

#[utoipa::path(post, path = "/api/v1/templates", tag = "Bảng điểm", request_body = TemplateInput,
    responses((status = 201, body = TemplateRow), (status = 403), (status = 409), (status = 422)))]
pub async fn create_template(
    State(st): State<AppState>,
    ctx: Ctx,
    Json(i): Json<TemplateInput>,
) -> AppResult<(StatusCode, Json<TemplateRow>)> {
    Ok((StatusCode::CREATED, Json(ops::create_template(&st, &ctx, &i).await?)))
}

#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "Bảng điểm", params(("id" = i64, Path)),
    responses((status = 200, body = TemplateWithTable), (status = 403), (status = 404)))]
pub async fn get_template(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Json<TemplateWithTable>> {
    let (template, table, _) = ops::get_template(&st, &ctx, id).await?;
    Ok(Json(TemplateWithTable { problems: problems(&table), template, table }))
}

#[utoipa::path(put, path = "/api/v1/templates/{id}", tag = "Bảng điểm", params(("id" = i64, Path)),
    request_body(content = Object, description = "The whole table (ScoringTable JSON)"),
    responses((status = 204), (status = 400), (status = 403)))]
pub async fn replace_template(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(v): Json<serde_json::Value>,
) -> AppResult<StatusCode> {
    let table = parse_json(v, "Bảng điểm")?;
    ops::replace_template(&st, &ctx, id, &table, "Thay cả bảng qua API").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/templates/{id}/edit", tag = "Bảng điểm", params(("id" = i64, Path)),
    request_body(content = Object, description = "One editing step: {\"op\": \"add_line\" | \"set_line\" | \"delete\" | \"move_up\" | \"move_down\" | \"indent\" | \"outdent\" | \"set_adjustments\" | \"set_rules\" | \"set_flags\", …}"),
    responses((status = 200, description = "The table after the step"), (status = 403), (status = 422)))]
pub async fn edit_template(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(v): Json<serde_json::Value>,
) -> AppResult<Json<thidua_core::scoring::ScoringTable>> {
    let edit = parse_json(v, "Thao tác sửa")?;
    Ok(Json(ops::edit_template(&st, &ctx, id, edit).await?))
}

#[utoipa::path(post, path = "/api/v1/templates/{id}/publish", tag = "Bảng điểm", params(("id" = i64, Path)),
    responses((status = 200, body = TemplateRow), (status = 403), (status = 422)))]
pub async fn publish_template(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Json<TemplateRow>> {
    Ok(Json(ops::publish_template(&st, &ctx, id).await?))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}/years/{year}/table", tag = "Bảng điểm",
    params(("id" = i64, Path), ("year" = i32, Path)), responses((status = 200, body = TableOverview), (status = 403)))]
pub async fn overview(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Json<TableOverview>> {
    Ok(Json(ops::overview(&st, &ctx, id, year).await?))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/table", tag = "Bảng điểm",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = Source,
    responses((status = 201, body = TableRow), (status = 403), (status = 409), (status = 422)))]
pub async fn start(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Json(source): Json<Source>,
) -> AppResult<(StatusCode, Json<TableRow>)> {
    Ok((StatusCode::CREATED, Json(ops::start(&st, &ctx, id, year, &source).await?)))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/table/versions", tag = "Bảng điểm",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = NewVersionInput,
    responses((status = 201, body = TableRow), (status = 403), (status = 409), (status = 422)))]
pub async fn new_version(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Json(i): Json<NewVersionInput>,
) -> AppResult<(StatusCode, Json<TableRow>)> {
    Ok((StatusCode::CREATED, Json(ops::new_version(&st, &ctx, id, year, &i).await?)))
}

#[utoipa::path(get, path = "/api/v1/tables/{id}", tag = "Bảng điểm", params(("id" = i64, Path)),
    responses((status = 200, body = VersionWithTable), (status = 403), (status = 404)))]
pub async fn get_version(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Json<VersionWithTable>> {
    let (version, table, _, _, _) = ops::get_version(&st, &ctx, id).await?;
    Ok(Json(VersionWithTable { problems: problems(&table), version, table }))
}

#[utoipa::path(put, path = "/api/v1/tables/{id}", tag = "Bảng điểm", params(("id" = i64, Path)),
    request_body(content = Object, description = "The whole table (ScoringTable JSON); only a draft, and it must be valid"),
    responses((status = 204), (status = 403), (status = 409), (status = 422)))]
pub async fn replace_draft(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(v): Json<serde_json::Value>,
) -> AppResult<StatusCode> {
    let table = parse_json(v, "Bảng điểm")?;
    ops::replace_draft(&st, &ctx, id, &table).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/tables/{id}/edit", tag = "Bảng điểm", params(("id" = i64, Path)),
    request_body(content = Object, description = "One editing step, as for templates"),
    responses((status = 200, description = "The draft after the step"), (status = 403), (status = 409), (status = 422)))]
pub async fn edit_draft(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(v): Json<serde_json::Value>,
) -> AppResult<Json<thidua_core::scoring::ScoringTable>> {
    let edit = parse_json(v, "Thao tác sửa")?;
    Ok(Json(ops::edit_draft(&st, &ctx, id, edit).await?))
}

#[utoipa::path(post, path = "/api/v1/tables/{id}/adopt", tag = "Bảng điểm", params(("id" = i64, Path)), request_body = AdoptInput,
    responses((status = 200, body = TableRow), (status = 403), (status = 409), (status = 422)))]
pub async fn adopt(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(i): Json<AdoptInput>,
) -> AppResult<Json<TableRow>> {
    Ok(Json(ops::adopt(&st, &ctx, id, &i).await?))
}
