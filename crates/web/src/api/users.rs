//! Accounts, roles and the audit log (administrators, secretariats).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use thidua_db::audit::Row as AuditRow;
use thidua_db::users::{GrantRow, UserRow};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Ctx;
use crate::error::AppResult;
use crate::ops::audit_log::{self, AuditQuery};
use crate::ops::users::{self as ops, GrantInput, NewUser, UserView};

#[utoipa::path(get, path = "/api/v1/users", tag = "Người dùng", responses((status = 200, body = Vec<UserView>), (status = 403)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx) -> AppResult<Json<Vec<UserView>>> {
    Ok(Json(ops::list(&st, &ctx).await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "Người dùng", request_body = NewUser,
    responses((status = 201, body = UserRow), (status = 403), (status = 409), (status = 422)))]
pub async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    Json(i): Json<NewUser>,
) -> AppResult<(StatusCode, Json<UserRow>)> {
    Ok((StatusCode::CREATED, Json(ops::create(&st, &ctx, &i).await?)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "Người dùng", params(("id" = i64, Path)), responses((status = 200, body = UserView), (status = 403), (status = 404)))]
pub async fn get(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<UserView>> {
    Ok(Json(ops::get(&st, &ctx, id).await?))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/grants", tag = "Người dùng", params(("id" = i64, Path)), request_body = GrantInput,
    responses((status = 201, body = GrantRow), (status = 403), (status = 409), (status = 422)))]
pub async fn add_grant(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(i): Json<GrantInput>,
) -> AppResult<(StatusCode, Json<GrantRow>)> {
    Ok((StatusCode::CREATED, Json(ops::add_grant(&st, &ctx, id, &i).await?)))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/grants/{grant_id}", tag = "Người dùng", params(("id" = i64, Path), ("grant_id" = i64, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn remove_grant(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, gid)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    ops::remove_grant(&st, &ctx, id, gid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ResetPassword {
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "Người dùng", params(("id" = i64, Path)), request_body = ResetPassword,
    responses((status = 204), (status = 403), (status = 422)))]
pub async fn reset_password(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(i): Json<ResetPassword>,
) -> AppResult<StatusCode> {
    ops::reset_password(&st, &ctx, id, &i.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct DisabledInput {
    pub disabled: bool,
}

#[utoipa::path(post, path = "/api/v1/users/{id}/disabled", tag = "Người dùng", params(("id" = i64, Path)), request_body = DisabledInput,
    responses((status = 204), (status = 403), (status = 422)))]
pub async fn set_disabled(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(i): Json<DisabledInput>,
) -> AppResult<StatusCode> {
    ops::set_disabled(&st, &ctx, id, i.disabled).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "Nhật ký", params(AuditQuery), responses((status = 200, body = Vec<AuditRow>), (status = 403)))]
pub async fn audit(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AuditQuery>,
) -> AppResult<Json<Vec<AuditRow>>> {
    Ok(Json(audit_log::browse(&st, &ctx, &q).await?))
}
