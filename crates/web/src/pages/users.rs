//! Administration of user accounts and their roles.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use thidua_core::Invalid;
use thidua_core::policy::Role;

use super::org::{Opt, errors_of, join, options};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::users::{self as ops, GrantInput, NewUser};
use crate::view::{Layout, html, redirect_with, stamp_vn};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/nguoi-dung", get(list).post(create))
        .route("/nguoi-dung/{id}", get(detail))
        .route("/nguoi-dung/{id}/vai-tro", post(add_grant))
        .route("/nguoi-dung/{id}/vai-tro/{gid}/xoa", post(remove_grant))
        .route("/nguoi-dung/{id}/mat-khau", post(reset_password))
        .route("/nguoi-dung/{id}/khoa", post(disable))
        .route("/nguoi-dung/{id}/mo-khoa", post(enable))
}

struct GrantLine {
    id: i64,
    role: &'static str,
    scope: String,
}

fn grant_lines(g: &[thidua_db::users::GrantRow]) -> Vec<GrantLine> {
    g.iter()
        .map(|g| GrantLine {
            id: g.id,
            role: Role::parse(&g.role).map(|r| r.label()).unwrap_or(""),
            scope: g.scope_name.clone().unwrap_or_default(),
        })
        .collect()
}

struct UserLine {
    id: i64,
    username: String,
    full_name: String,
    disabled: bool,
    roles: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    l: Layout,
    users: Vec<UserLine>,
    errors: Vec<Invalid>,
    username: String,
    full_name: String,
}

async fn list_page(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    errors: Vec<Invalid>,
    f: Option<NewUserForm>,
) -> AppResult<Response> {
    let mut all = ops::list(st, ctx).await?;
    thidua_core::text::sort_vi_by(&mut all, |u| u.user.username.as_str());
    let users = all
        .iter()
        .map(|u| UserLine {
            id: u.user.id,
            username: u.user.username.clone(),
            full_name: u.user.full_name.clone(),
            disabled: u.user.disabled,
            roles: grant_lines(&u.grants)
                .iter()
                .map(|g| if g.scope.is_empty() { g.role.to_string() } else { format!("{} – {}", g.role, g.scope) })
                .collect::<Vec<_>>()
                .join("; "),
        })
        .collect();
    let f = f.unwrap_or_default();
    let p = UsersPage {
        l: Layout::new("Người dùng", ctx, headers, "/nguoi-dung"),
        users,
        errors,
        username: f.username,
        full_name: f.full_name,
    };
    html(&p, headers)
}

async fn list(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap) -> AppResult<Response> {
    list_page(&st, &ctx, &headers, vec![], None).await
}

#[derive(Deserialize, Default)]
struct NewUserForm {
    username: String,
    full_name: String,
    password: String,
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<NewUserForm>,
) -> AppResult<Response> {
    let input = NewUser { username: f.username.clone(), full_name: f.full_name.clone(), password: f.password.clone() };
    match ops::create(&st, &ctx, &input).await {
        Ok(u) => Ok(redirect_with(
            &format!("/nguoi-dung/{}", u.id),
            "ok",
            &format!("Đã tạo tài khoản \"{}\". Hãy gán vai trò.", u.username),
        )),
        Err(e) => list_page(&st, &ctx, &headers, errors_of(e)?, Some(f)).await,
    }
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    l: Layout,
    id: i64,
    username: String,
    full_name: String,
    disabled: bool,
    created: String,
    grants: Vec<GrantLine>,
    roles: Vec<Opt>,
    authorities: Vec<Opt>,
    units: Vec<Opt>,
    is_self: bool,
}

async fn detail(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>) -> AppResult<Response> {
    let v = ops::get(&st, &ctx, id).await?;
    let auths = crate::ops::org::list_authorities(&st, &ctx).await?;
    let units = crate::ops::org::search_units(&st, &ctx, &Default::default()).await?;
    let p = UserPage {
        l: Layout::new(format!("Người dùng {}", v.user.username), &ctx, &headers, "/nguoi-dung"),
        id,
        username: v.user.username.clone(),
        full_name: v.user.full_name.clone(),
        disabled: v.user.disabled,
        created: stamp_vn(&v.user.created_at),
        grants: grant_lines(&v.grants),
        roles: options(Role::ALL.iter().map(|r| (r.code().to_string(), r.label().to_string())), "unit_officer"),
        authorities: options(auths.iter().map(|a| (a.id.to_string(), a.name.clone())), ""),
        units: options(units.iter().map(|u| (u.id.to_string(), format!("{} ({})", u.name, u.authority_name))), ""),
        is_self: id == ctx.user.id,
    };
    html(&p, &headers)
}

#[derive(Deserialize)]
struct GrantForm {
    role: String,
    #[serde(default)]
    authority_id: String,
    #[serde(default)]
    unit_id: String,
}

fn back(id: i64, r: AppResult<String>) -> AppResult<Response> {
    let to = format!("/nguoi-dung/{id}");
    match r {
        Ok(m) => Ok(redirect_with(&to, "ok", &m)),
        Err(AppError::Invalid(v)) => Ok(redirect_with(&to, "error", &join(&v))),
        Err(AppError::Conflict(m)) => Ok(redirect_with(&to, "error", &m)),
        Err(e) => Err(e),
    }
}

async fn add_grant(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<GrantForm>,
) -> AppResult<Response> {
    let input = GrantInput {
        role: f.role,
        authority_id: f.authority_id.trim().parse().ok(),
        unit_id: f.unit_id.trim().parse().ok(),
    };
    let r = ops::add_grant(&st, &ctx, id, &input).await.map(|_| "Đã gán vai trò.".to_string());
    back(id, r)
}

async fn remove_grant(State(st): State<AppState>, ctx: Ctx, Path((id, gid)): Path<(i64, i64)>) -> AppResult<Response> {
    let r = ops::remove_grant(&st, &ctx, id, gid).await.map(|_| "Đã bỏ vai trò.".to_string());
    back(id, r)
}

#[derive(Deserialize)]
struct PasswordForm {
    password: String,
}

async fn reset_password(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<PasswordForm>,
) -> AppResult<Response> {
    let r = ops::reset_password(&st, &ctx, id, &f.password)
        .await
        .map(|_| "Đã đặt mật khẩu mới; mọi phiên đăng nhập của người dùng đã kết thúc.".to_string());
    back(id, r)
}

async fn disable(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let r = ops::set_disabled(&st, &ctx, id, true).await.map(|_| "Đã khoá tài khoản.".to_string());
    back(id, r)
}

async fn enable(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let r = ops::set_disabled(&st, &ctx, id, false).await.map(|_| "Đã mở khoá tài khoản.".to_string());
    back(id, r)
}
