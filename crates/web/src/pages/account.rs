//! The user's own account: password change and sessions.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use thidua_core::Invalid;

use super::org::errors_of;
use crate::AppState;
use crate::auth::Ctx;
use crate::error::AppResult;
use crate::ops::account::{self as ops, PasswordInput, SessionView};
use crate::view::{Layout, html, redirect_with, stamp_vn};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tai-khoan", get(account))
        .route("/tai-khoan/mat-khau", post(change_password))
        .route("/tai-khoan/phien/{handle}/ket-thuc", post(end_session))
}

struct SessionLine {
    handle: String,
    created: String,
    last_seen: String,
    ip: String,
    agent: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
    username: String,
    full_name: String,
    sessions: Vec<SessionLine>,
    errors: Vec<Invalid>,
    min_chars: usize,
}

async fn page(st: &AppState, ctx: &Ctx, headers: &HeaderMap, errors: Vec<Invalid>) -> AppResult<Response> {
    let sessions = ops::my_sessions(st, ctx)
        .await?
        .into_iter()
        .map(|s: SessionView| SessionLine {
            handle: s.handle,
            created: stamp_vn(&s.created_at),
            last_seen: stamp_vn(&s.last_seen_at),
            ip: s.ip,
            agent: crate::view::device_label(&s.user_agent),
            current: s.current,
        })
        .collect();
    let p = AccountPage {
        l: Layout::new("Tài khoản của tôi", ctx, headers, "/tai-khoan"),
        username: ctx.user.username.clone(),
        full_name: ctx.user.full_name.clone(),
        sessions,
        errors,
        min_chars: thidua_core::password::MIN_CHARS,
    };
    html(&p, headers)
}

async fn account(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap) -> AppResult<Response> {
    page(&st, &ctx, &headers, vec![]).await
}

#[derive(serde::Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

async fn change_password(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> AppResult<Response> {
    let input = PasswordInput { current: f.current, new: f.new, confirm: f.confirm };
    match ops::change_password(&st, &ctx, &input).await {
        Ok(()) => Ok(redirect_with("/tai-khoan", "ok", "Đã đổi mật khẩu. Các phiên đăng nhập khác đã được kết thúc.")),
        Err(e) => page(&st, &ctx, &headers, errors_of(e)?).await,
    }
}

async fn end_session(State(st): State<AppState>, ctx: Ctx, Path(handle): Path<String>) -> AppResult<Response> {
    ops::end_session(&st, &ctx, &handle).await?;
    Ok(redirect_with("/tai-khoan", "ok", "Đã kết thúc phiên đăng nhập."))
}
