//! Browsing the audit log.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;

use crate::AppState;
use crate::auth::Ctx;
use crate::error::AppResult;
use crate::ops::audit_log::{self as ops, AuditQuery, PAGE_SIZE};
use crate::view::{Layout, html, stamp_vn};

pub fn routes() -> Router<AppState> {
    Router::new().route("/nhat-ky", get(audit))
}

struct Line {
    id: i64,
    at: String,
    actor: String,
    action: String,
    object: String,
    reason: String,
    before: String,
    after: String,
    denied: bool,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    q: AuditQuery,
    lines: Vec<Line>,
    actions: Vec<super::org::Opt>,
    page: i64,
    prev: Option<String>,
    next: Option<String>,
}

fn pretty(j: &Option<String>) -> String {
    j.as_deref()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default()
}

async fn audit(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    let rows = ops::browse(&st, &ctx, &q).await?;
    let page = q.page.unwrap_or(1).max(1);
    let link = |p: i64| {
        let mut q2 = q.clone();
        q2.page = Some(p);
        let qs = serde_urlencoded::to_string([
            ("actor", q2.actor.as_str()),
            ("action", q2.action.as_str()),
            ("object_type", q2.object_type.as_str()),
            ("object_id", q2.object_id.as_str()),
            ("from", q2.from.as_str()),
            ("to", q2.to.as_str()),
            ("page", &p.to_string()),
        ])
        .unwrap_or_default();
        format!("/nhat-ky?{qs}")
    };
    let lines = rows
        .iter()
        .map(|r| Line {
            id: r.id,
            at: stamp_vn(&r.at),
            actor: r.actor_name.clone(),
            denied: r.action.starts_with("denied:") || r.action.starts_with("login_"),
            action: crate::view::action_label(&r.action),
            object: format!("{} {}", crate::view::object_label(&r.object_type), r.object_id),
            reason: r.reason.clone().unwrap_or_default(),
            before: pretty(&r.before_json),
            after: pretty(&r.after_json),
        })
        .collect::<Vec<_>>();
    let p = AuditPage {
        l: Layout::new("Nhật ký hệ thống", &ctx, &headers, "/nhat-ky"),
        prev: (page > 1).then(|| link(page - 1)),
        next: (lines.len() as i64 == PAGE_SIZE).then(|| link(page + 1)),
        actions: {
            let mut v =
                vec![super::org::Opt {
                    value: String::new(), label: "Tất cả".into(), selected: q.action.is_empty()
                }];
            v.extend(super::org::options(
                crate::view::AUDIT_ACTIONS.iter().map(|a| (a.to_string(), crate::view::action_label(a))),
                &q.action,
            ));
            v
        },
        q,
        lines,
        page,
    };
    html(&p, &headers)
}
