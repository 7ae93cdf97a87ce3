//! The registry: authorities, years, units, lineage, groups, memberships.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use thidua_db::org::{AuthorityRow, GroupRow, LineageRow, MemberRow, UnitRow};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Ctx;
use crate::error::AppResult;
use crate::ops::org::{
    self as ops, AuthorityInput, CloseInput, GroupDetail, GroupInput, LineageInput, MemberInput, UnitDetail, UnitInput,
    UnitSearch,
};

#[utoipa::path(get, path = "/api/v1/authorities", tag = "Danh mục", responses((status = 200, body = Vec<AuthorityRow>)))]
pub async fn list_authorities(State(st): State<AppState>, ctx: Ctx) -> AppResult<Json<Vec<AuthorityRow>>> {
    Ok(Json(ops::list_authorities(&st, &ctx).await?))
}

#[utoipa::path(post, path = "/api/v1/authorities", tag = "Danh mục", request_body = AuthorityInput,
    responses((status = 201, body = AuthorityRow), (status = 403), (status = 422)))]
pub async fn create_authority(
    State(st): State<AppState>,
    ctx: Ctx,
    Json(i): Json<AuthorityInput>,
) -> AppResult<(StatusCode, Json<AuthorityRow>)> {
    Ok((StatusCode::CREATED, Json(ops::save_authority(&st, &ctx, None, &i).await?)))
}

#[utoipa::path(get, path = "/api/v1/authorities/{id}", tag = "Danh mục", params(("id" = i64, Path)), responses((status = 200, body = AuthorityRow), (status = 404)))]
pub async fn get_authority(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<AuthorityRow>> {
    Ok(Json(ops::get_authority(&st, &ctx, id).await?))
}

#[utoipa::path(put, path = "/api/v1/authorities/{id}", tag = "Danh mục", params(("id" = i64, Path)), request_body = AuthorityInput,
    responses((status = 200, body = AuthorityRow), (status = 403), (status = 422)))]
pub async fn update_authority(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(i): Json<AuthorityInput>,
) -> AppResult<Json<AuthorityRow>> {
    Ok(Json(ops::save_authority(&st, &ctx, Some(id), &i).await?))
}

#[utoipa::path(post, path = "/api/v1/authorities/{id}/close", tag = "Danh mục", params(("id" = i64, Path)), request_body = CloseInput,
    responses((status = 200, body = AuthorityRow), (status = 403), (status = 422)))]
pub async fn close_authority(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(i): Json<CloseInput>,
) -> AppResult<Json<AuthorityRow>> {
    Ok(Json(ops::close_authority(&st, &ctx, id, &i).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct YearInput {
    pub year: i32,
}

#[utoipa::path(get, path = "/api/v1/years", tag = "Danh mục", responses((status = 200, body = Vec<i32>)))]
pub async fn list_years(State(st): State<AppState>, ctx: Ctx) -> AppResult<Json<Vec<i32>>> {
    Ok(Json(ops::list_years(&st, &ctx).await?))
}

#[utoipa::path(post, path = "/api/v1/years", tag = "Danh mục", request_body = YearInput, responses((status = 201, body = i32), (status = 409)))]
pub async fn open_year(
    State(st): State<AppState>,
    ctx: Ctx,
    Json(i): Json<YearInput>,
) -> AppResult<(StatusCode, Json<i32>)> {
    Ok((StatusCode::CREATED, Json(ops::open_year(&st, &ctx, &i.year.to_string()).await?)))
}

#[utoipa::path(get, path = "/api/v1/units", tag = "Đơn vị", params(UnitSearch), responses((status = 200, body = Vec<UnitRow>)))]
pub async fn list_units(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<UnitSearch>,
) -> AppResult<Json<Vec<UnitRow>>> {
    Ok(Json(ops::search_units(&st, &ctx, &q).await?))
}

#[utoipa::path(post, path = "/api/v1/units", tag = "Đơn vị", request_body = UnitInput,
    responses((status = 201, body = UnitRow), (status = 403), (status = 409), (status = 422)))]
pub async fn create_unit(
    State(st): State<AppState>,
    ctx: Ctx,
    Json(i): Json<UnitInput>,
) -> AppResult<(StatusCode, Json<UnitRow>)> {
    Ok((StatusCode::CREATED, Json(ops::create_unit(&st, &ctx, &i).await?)))
}

#[utoipa::path(get, path = "/api/v1/units/{id}", tag = "Đơn vị", params(("id" = i64, Path)), responses((status = 200, body = UnitDetail), (status = 403), (status = 404)))]
pub async fn get_unit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<UnitDetail>> {
    Ok(Json(ops::get_unit(&st, &ctx, id).await?))
}

#[utoipa::path(put, path = "/api/v1/units/{id}", tag = "Đơn vị", params(("id" = i64, Path)), request_body = UnitInput,
    responses((status = 200, body = UnitRow), (status = 403), (status = 409), (status = 422)))]
pub async fn update_unit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(i): Json<UnitInput>,
) -> AppResult<Json<UnitRow>> {
    Ok(Json(ops::update_unit(&st, &ctx, id, &i).await?))
}

#[utoipa::path(post, path = "/api/v1/units/{id}/close", tag = "Đơn vị", params(("id" = i64, Path)), request_body = CloseInput,
    responses((status = 200, body = UnitRow), (status = 403), (status = 422)))]
pub async fn close_unit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(i): Json<CloseInput>,
) -> AppResult<Json<UnitRow>> {
    Ok(Json(ops::close_unit(&st, &ctx, id, &i).await?))
}

#[utoipa::path(post, path = "/api/v1/units/{id}/lineage", tag = "Đơn vị", params(("id" = i64, Path)), request_body = LineageInput,
    responses((status = 201, body = LineageRow), (status = 403), (status = 409), (status = 422)))]
pub async fn add_lineage(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(i): Json<LineageInput>,
) -> AppResult<(StatusCode, Json<LineageRow>)> {
    Ok((StatusCode::CREATED, Json(ops::add_lineage(&st, &ctx, id, &i).await?)))
}

#[derive(Deserialize, IntoParams)]
pub struct GroupQuery {
    /// Words to find in the group's name, with or without diacritics.
    #[serde(default)]
    pub q: String,
}

#[utoipa::path(get, path = "/api/v1/groups", tag = "Cụm, khối", params(GroupQuery), responses((status = 200, body = Vec<GroupRow>)))]
pub async fn list_groups(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<GroupQuery>,
) -> AppResult<Json<Vec<GroupRow>>> {
    Ok(Json(ops::list_groups(&st, &ctx, &q.q).await?))
}

#[utoipa::path(post, path = "/api/v1/groups", tag = "Cụm, khối", request_body = GroupInput,
    responses((status = 201, body = GroupRow), (status = 403), (status = 409), (status = 422)))]
pub async fn create_group(
    State(st): State<AppState>,
    ctx: Ctx,
    Json(i): Json<GroupInput>,
) -> AppResult<(StatusCode, Json<GroupRow>)> {
    Ok((StatusCode::CREATED, Json(ops::create_group(&st, &ctx, &i).await?)))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "Cụm, khối", params(("id" = i64, Path)),
    responses((status = 200, description = "Cụm, khối với thành viên theo năm", body = GroupDetail), (status = 403), (status = 404)))]
pub async fn get_group(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<GroupDetail>> {
    Ok(Json(ops::get_group(&st, &ctx, id).await?))
}

#[utoipa::path(put, path = "/api/v1/groups/{id}", tag = "Cụm, khối", params(("id" = i64, Path)), request_body = GroupInput,
    responses((status = 200, body = GroupRow), (status = 403), (status = 422)))]
pub async fn update_group(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(i): Json<GroupInput>,
) -> AppResult<Json<GroupRow>> {
    Ok(Json(ops::update_group(&st, &ctx, id, &i).await?))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/close", tag = "Cụm, khối", params(("id" = i64, Path)), request_body = CloseInput,
    responses((status = 200, body = GroupRow), (status = 403), (status = 422)))]
pub async fn close_group(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(i): Json<CloseInput>,
) -> AppResult<Json<GroupRow>> {
    Ok(Json(ops::close_group(&st, &ctx, id, &i).await?))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/members", tag = "Cụm, khối",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = MemberInput,
    responses((status = 201, body = MemberRow), (status = 403), (status = 409), (status = 422)))]
pub async fn add_member(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Json(i): Json<MemberInput>,
) -> AppResult<(StatusCode, Json<MemberRow>)> {
    Ok((StatusCode::CREATED, Json(ops::add_member(&st, &ctx, id, year, &i).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct RoleInput {
    /// head | deputy | member
    pub role: String,
}

#[utoipa::path(put, path = "/api/v1/memberships/{id}", tag = "Cụm, khối", params(("id" = i64, Path)), request_body = RoleInput,
    responses((status = 200, body = MemberRow), (status = 403), (status = 422)))]
pub async fn set_member_role(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(i): Json<RoleInput>,
) -> AppResult<Json<MemberRow>> {
    Ok(Json(ops::set_member_role(&st, &ctx, id, &i.role).await?))
}

#[utoipa::path(delete, path = "/api/v1/memberships/{id}", tag = "Cụm, khối", params(("id" = i64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn remove_member(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<StatusCode> {
    ops::remove_member(&st, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
