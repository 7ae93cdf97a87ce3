//! Signing in and out, and the user's own account.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{self, Ctx, SESSION_COOKIE};
use crate::error::AppResult;
use crate::ops::account::{self, PasswordInput, SessionView};
use crate::view::{cookie, set_cookie};
use crate::{AppState, ReqMeta};

#[derive(Deserialize, ToSchema)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

/// The signed-in user, with the CSRF token to send in `X-CSRF-Token`.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user: thidua_db::users::UserRow,
    pub grants: Vec<thidua_db::users::GrantRow>,
    pub csrf_token: String,
}

/// Signs in: sets the session cookie (a new session id) and returns the CSRF token.
#[utoipa::path(post, path = "/api/v1/session", tag = "Phiên đăng nhập", request_body = LoginInput,
    responses((status = 200, body = Me), (status = 403, description = "Sai tên đăng nhập hoặc mật khẩu"), (status = 429, description = "Đăng nhập sai quá nhiều lần")))]
pub async fn login(
    State(st): State<AppState>,
    meta: ReqMeta,
    headers: HeaderMap,
    Json(input): Json<LoginInput>,
) -> AppResult<Response> {
    let old = cookie(&headers, SESSION_COOKIE);
    let done = auth::login(&st, &input.username, &input.password, old.as_deref(), &meta).await?;
    let mut tx = st.db.read().await?;
    let grants = thidua_db::users::grants_of(&mut tx, done.user.id).await?;
    tx.rollback().await?;
    let mut resp = Json(Me { user: done.user, grants, csrf_token: done.csrf }).into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &done.session_id, None, st.cfg.tls, "Lax"));
    Ok(resp)
}

/// Signs out: ends this session.
#[utoipa::path(delete, path = "/api/v1/session", tag = "Phiên đăng nhập", responses((status = 204)))]
pub async fn logout(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    auth::logout(&st, &ctx).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0), st.cfg.tls, "Lax"));
    Ok(resp)
}

/// The signed-in user and their roles.
#[utoipa::path(get, path = "/api/v1/me", tag = "Phiên đăng nhập", responses((status = 200, body = Me), (status = 401)))]
pub async fn me(ctx: Ctx) -> Json<Me> {
    Json(Me { user: ctx.user.clone(), grants: ctx.grants.clone(), csrf_token: ctx.csrf.clone() })
}

/// The user's sessions.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "Phiên đăng nhập", responses((status = 200, body = Vec<SessionView>)))]
pub async fn sessions(State(st): State<AppState>, ctx: Ctx) -> AppResult<Json<Vec<SessionView>>> {
    Ok(Json(account::my_sessions(&st, &ctx).await?))
}

/// Ends one of the user's other sessions.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{handle}", tag = "Phiên đăng nhập",
    params(("handle" = String, Path, description = "Mã phiên trong danh sách phiên")), responses((status = 204), (status = 404)))]
pub async fn end_session(State(st): State<AppState>, ctx: Ctx, Path(handle): Path<String>) -> AppResult<StatusCode> {
    account::end_session(&st, &ctx, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the user's password; ends their other sessions.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "Phiên đăng nhập", request_body = PasswordInput,
    responses((status = 204), (status = 422, description = "Mật khẩu không hợp lệ")))]
pub async fn change_password(
    State(st): State<AppState>,
    ctx: Ctx,
    Json(input): Json<PasswordInput>,
) -> AppResult<StatusCode> {
    account::change_password(&st, &ctx, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}
