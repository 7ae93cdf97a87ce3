//! The HTML pages. Each handler parses the form, calls one operation, renders.

pub mod account;
pub mod audit_log;
pub mod calendar;
pub mod chain;
pub mod covenant;
pub mod documents;
pub mod groups;
pub mod import;
pub mod inspection;
pub mod org;
pub mod scores;
pub mod tables;
pub mod users;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use thidua_db::org as q;

use crate::auth::{self, Ctx, PRE_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::{AppError, AppResult};
use crate::view::{Layout, cookie, html, redirect_with, set_cookie};
use crate::{AppState, ReqMeta};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/dang-nhap", get(login_form).post(login))
        .route("/dang-xuat", post(logout))
        .merge(account::routes())
        .merge(org::routes())
        .merge(tables::routes())
        .merge(groups::routes())
        .merge(documents::routes())
        .merge(calendar::routes())
        .merge(inspection::routes())
        .merge(scores::routes())
        .merge(chain::routes())
        .merge(covenant::routes())
        .merge(users::routes())
        .merge(audit_log::routes())
        .merge(import::routes())
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
    demo_accounts: Vec<(String, String, String)>,
    demo_password: String,
}

#[derive(Deserialize, Default)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only local paths are followed after login: one leading slash, no second
/// slash or backslash after it, no white space or control characters (which
/// browsers strip, turning "/\t/host" into "//host").
pub fn safe_next(next: &str) -> String {
    let b = next.as_bytes();
    let local = b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/') | Some(b'\\'))
        && !next.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    if local { next.to_string() } else { "/".into() }
}

fn login_page(
    st: &AppState,
    headers: &HeaderMap,
    next: &str,
    username: &str,
    error: Option<String>,
) -> AppResult<Response> {
    let token = cookie(headers, PRE_CSRF_COOKIE).filter(|t| t.len() == 64).unwrap_or_else(auth::random_token);
    let page = LoginPage {
        l: Layout::anonymous("Đăng nhập", headers),
        csrf: token.clone(),
        next: safe_next(next),
        username: username.into(),
        error,
        demo_password: st.cfg.demo_accounts.first().map(|a| a.1.clone()).unwrap_or_default(),
        demo_accounts: st.cfg.demo_accounts.clone(),
    };
    let mut resp = html(&page, headers)?;
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(PRE_CSRF_COOKIE, &token, None, st.cfg.tls, "Strict"));
    Ok(resp)
}

async fn login_form(
    State(st): State<AppState>,
    ctx: Option<Ctx>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    if ctx.is_some() {
        return Ok(Redirect::to(&safe_next(&q.next)).into_response());
    }
    login_page(&st, &headers, &q.next, "", None)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

async fn login(
    State(st): State<AppState>,
    meta: ReqMeta,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    // double-submit check: the form's token must match the cookie set with the form
    let expected = cookie(&headers, PRE_CSRF_COOKIE).unwrap_or_default();
    if expected.len() != 64 || expected != f.csrf {
        auth::record_denial(&st.db, &meta, None, "csrf", "request:/dang-nhap", "Thiếu hoặc sai mã CSRF khi đăng nhập")
            .await;
        return login_page(
            &st,
            &headers,
            &f.next,
            &f.username,
            Some("Biểu mẫu đăng nhập đã cũ. Hãy nhập lại rồi đăng nhập.".into()),
        );
    }
    let old = cookie(&headers, SESSION_COOKIE);
    match auth::login(&st, &f.username, &f.password, old.as_deref(), &meta).await {
        Ok(done) => {
            let mut resp = redirect_with(
                &safe_next(&f.next),
                "ok",
                &format!("Đăng nhập thành công. Xin chào {}.", done.user.full_name),
            );
            resp.headers_mut()
                .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &done.session_id, None, st.cfg.tls, "Lax"));
            resp.headers_mut()
                .append(header::SET_COOKIE, set_cookie(PRE_CSRF_COOKIE, "", Some(0), st.cfg.tls, "Strict"));
            Ok(resp)
        }
        Err(AppError::Forbidden(m)) | Err(AppError::TooMany(m)) => {
            let mut resp = login_page(&st, &headers, &f.next, &f.username, Some(m))?;
            *resp.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

async fn logout(State(st): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    auth::logout(&st, &ctx).await?;
    let mut resp = redirect_with("/dang-nhap", "ok", "Bạn đã đăng xuất.");
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0), st.cfg.tls, "Lax"));
    Ok(resp)
}

struct AuthoritySummary {
    id: i64,
    name: String,
    groups: usize,
    units: usize,
    year: i32,
    lines: Vec<GroupSummary>,
}

struct GroupSummary {
    id: i64,
    name: String,
    kind: &'static str,
    head: String,
    deputy: String,
    members: usize,
}

struct MemberLine {
    year: i32,
    group_id: i64,
    group_name: String,
    unit_name: String,
    role_label: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    full_name: String,
    units: Vec<q::UnitRow>,
    memberships: Vec<MemberLine>,
    authorities: Vec<AuthoritySummary>,
    is_admin: bool,
}

/// The home page shows what the user's roles give them to do.
async fn home(State(st): State<AppState>, ctx: Option<Ctx>, headers: HeaderMap) -> AppResult<Response> {
    let Some(ctx) = ctx else {
        return Ok(Redirect::to("/dang-nhap").into_response());
    };
    let mut tx = st.db.read().await?;
    let mut units = Vec::new();
    let mut memberships = Vec::new();
    for uid in ctx.actor.unit_ids() {
        if let Some(u) = q::unit(&mut tx, uid).await? {
            units.push(u);
        }
        for m in q::memberships_of_unit(&mut tx, uid).await? {
            let kind =
                thidua_core::org::GroupKind::parse(&m.group_kind).unwrap_or(thidua_core::org::GroupKind::Cluster);
            let role = thidua_core::org::MemberRole::parse(&m.role).map(|r| r.label_for(kind)).unwrap_or("");
            memberships.push(MemberLine {
                year: m.year,
                group_id: m.group_id,
                group_name: m.group_name,
                unit_name: m.unit_name,
                role_label: role.into(),
            });
        }
    }
    let all = q::authorities(&mut tx).await?;
    let mut authorities = Vec::new();
    let is_admin = ctx.actor.is_admin();
    // one card per authority in the user's scope (the granted authorities and
    // those below them; every authority for an administrator), each counting
    // its own groups and units, as the linked lists show them
    let roots: Vec<i64> = if is_admin {
        all.iter().map(|a| a.id).collect()
    } else {
        let granted: Vec<i64> = ctx.actor.authority_grants().map(|(_, a)| a).collect();
        all.iter()
            .filter(|a| thidua_db::org::path_in(&all, a.id).iter().any(|p| granted.contains(p)))
            .map(|a| a.id)
            .collect()
    };
    let today = crate::ops::today().to_string();
    // the groups of the latest open year, with their head and deputy, as a
    // table for each authority the user is granted (a secretariat's own);
    // the authorities below it, and every authority for an administrator,
    // have their card and its links only: the central secretariat's scope
    // holds every province's groups, hundreds of rows
    let year = q::years(&mut tx).await?.first().copied().unwrap_or_default();
    let own: Vec<i64> = ctx.actor.authority_grants().map(|(_, a)| a).collect();
    // every card's counts in two statements, not two per authority
    let counts = thidua_db::org::counts_by_authority(&mut tx, &roots, &today).await?;
    for a in all.iter().filter(|a| roots.contains(&a.id)) {
        let (n_groups, n_units) = counts.get(&a.id).copied().unwrap_or((0, 0));
        let mut lines = Vec::new();
        if own.contains(&a.id) {
            let groups = q::groups(&mut tx, Some(&[a.id]), &[]).await?;
            let ids: Vec<i64> = groups.iter().map(|g| g.id).collect();
            let years = crate::ops::org::years_of_groups(&mut tx, &ids, year).await?;
            for g in &groups {
                let kind = thidua_core::org::GroupKind::parse(&g.kind).unwrap_or(thidua_core::org::GroupKind::Cluster);
                let Some(y) = years.get(&g.id) else { continue };
                lines.push(GroupSummary {
                    id: g.id,
                    name: g.name.clone(),
                    kind: kind.label(),
                    head: y.head.clone().unwrap_or_default(),
                    deputy: y.deputy.clone().unwrap_or_default(),
                    members: y.members.len(),
                });
            }
            thidua_core::text::sort_vi_by(&mut lines, |l| l.name.as_str());
        }
        authorities.push(AuthoritySummary {
            id: a.id,
            name: a.name.clone(),
            groups: usize::try_from(n_groups).unwrap_or_default(),
            units: usize::try_from(n_units).unwrap_or_default(),
            year,
            lines,
        });
    }
    tx.rollback().await?;
    let page = HomePage {
        l: Layout::new("Trang chủ", &ctx, &headers, "/"),
        full_name: ctx.user.full_name.clone(),
        units,
        memberships,
        authorities,
        is_admin,
    };
    html(&page, &headers)
}

/// Refuses a page that the policy does not allow, recording the denial.
pub async fn deny(st: &AppState, ctx: &Ctx, action: thidua_core::policy::Action, object: &str) -> AppError {
    let msg = thidua_core::policy::Denied { action }.to_string();
    auth::record_denial(&st.db, &ctx.meta, Some(ctx), action.code(), object, &msg).await
}
