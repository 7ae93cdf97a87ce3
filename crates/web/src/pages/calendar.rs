//! Pages of the calendar: the authority's calendar for a year (defaults and
//! windows, edited by its secretariat) and a group-year's calendar (effective
//! dates, moved by the head or deputy unit). Plain forms, no JavaScript.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use thidua_core::Invalid;
use thidua_core::calendar::Event;
use thidua_core::policy::readable_authorities;

use super::org::errors_of;
use crate::AppState;
use crate::auth::Ctx;
use crate::error::AppResult;
use crate::ops::calendar::{
    self as ops, AuthorityCalendar, CalendarRules, DefaultInput, DefaultsInput, GroupCalendar, GroupDateInput,
    GroupDatesInput,
};
use crate::ops::{org as org_ops, tree};
use crate::view::{Layout, date_vn, html, redirect_with, stamp_vn};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/lich", get(index))
        .route("/lich/{authority_id}/{year}", get(authority_calendar).post(set_defaults))
        .route("/cum-khoi/{id}/nam/{year}/lich", get(group_calendar).post(move_dates))
}

fn vn(s: &Option<String>) -> String {
    date_vn(s)
}

// ---------- the list of calendars ----------

struct AuthorityYears {
    id: i64,
    name: String,
}

#[derive(Template)]
#[template(path = "calendar_index.html")]
struct IndexPage {
    l: Layout,
    authorities: Vec<AuthorityYears>,
    years: Vec<i32>,
}

async fn index(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap) -> AppResult<Response> {
    let all = org_ops::list_authorities(&st, &ctx).await?;
    let scope = readable_authorities(&ctx.actor, &tree(&all));
    let authorities = all
        .into_iter()
        .filter(|a| scope.as_ref().is_none_or(|s| s.contains(&a.id)))
        .map(|a| AuthorityYears { id: a.id, name: a.name })
        .collect();
    let page = IndexPage {
        l: Layout::new("Lịch công tác thi đua", &ctx, &headers, "/lich"),
        authorities,
        years: org_ops::list_years(&st, &ctx).await?,
    };
    html(&page, &headers)
}

// ---------- the authority's calendar ----------

struct DefaultLineView {
    code: &'static str,
    label: &'static str,
    default_on: String,
    earliest_on: String,
    latest_on: String,
    groups_moved: usize,
    /// The form's values (as typed, after a refusal).
    f_default: String,
    f_earliest: String,
    f_latest: String,
}

#[derive(Template)]
#[template(path = "calendar_authority.html")]
struct AuthorityPage {
    l: Layout,
    c: AuthorityCalendar,
    lines: Vec<DefaultLineView>,
    rules: CalendarRules,
    errors: Vec<Invalid>,
    reason: String,
}

async fn authority_page(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    authority_id: i64,
    year: i32,
    typed: Option<&DefaultsInput>,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let c = ops::authority_calendar(st, ctx, authority_id, year).await?;
    let lines = Event::ALL
        .iter()
        .zip(&c.events)
        .map(|(e, x)| {
            let (default_on, earliest_on, latest_on) = (vn(&x.default_on), vn(&x.earliest_on), vn(&x.latest_on));
            let t = typed.and_then(|t| t.events.iter().find(|i| i.event == e.code()));
            DefaultLineView {
                code: e.code(),
                label: e.label(),
                f_default: t.map(|t| t.default_on.clone()).unwrap_or_else(|| default_on.clone()),
                f_earliest: t.map(|t| t.earliest_on.clone()).unwrap_or_else(|| earliest_on.clone()),
                f_latest: t.map(|t| t.latest_on.clone()).unwrap_or_else(|| latest_on.clone()),
                default_on,
                earliest_on,
                latest_on,
                groups_moved: x.groups_moved,
            }
        })
        .collect();
    let page = AuthorityPage {
        l: Layout::new(format!("Lịch chung năm {year} – {}", c.authority_name), ctx, headers, "/lich"),
        c,
        lines,
        rules: ops::rules(),
        errors,
        reason: typed.map(|t| t.reason.clone()).unwrap_or_default(),
    };
    html(&page, headers)
}

async fn authority_calendar(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((authority_id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    authority_page(&st, &ctx, &headers, authority_id, year, None, vec![]).await
}

async fn set_defaults(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((authority_id, year)): Path<(i64, i32)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let field = |k: String| f.get(&k).cloned().unwrap_or_default();
    let input = DefaultsInput {
        events: Event::ALL
            .iter()
            .filter(|e| f.contains_key(&format!("default_{}", e.code())))
            .map(|e| DefaultInput {
                event: e.code().into(),
                default_on: field(format!("default_{}", e.code())),
                earliest_on: field(format!("earliest_{}", e.code())),
                latest_on: field(format!("latest_{}", e.code())),
            })
            .collect(),
        reason: field("reason".into()),
    };
    match ops::set_defaults(&st, &ctx, authority_id, year, &input).await {
        Ok(c) => Ok(redirect_with(
            &format!("/lich/{authority_id}/{year}"),
            "ok",
            &format!("Đã lưu lịch chung năm {year} của {}.", c.authority_name),
        )),
        Err(e) => authority_page(&st, &ctx, &headers, authority_id, year, Some(&input), errors_of(e)?).await,
    }
}

// ---------- a group-year's calendar ----------

struct GroupLineView {
    code: &'static str,
    label: &'static str,
    /// The effective date, dd/mm/yyyy; empty when not scheduled.
    date: String,
    own: bool,
    default_on: String,
    /// "01/03/2026 – 31/03/2026", "Không được dời", or empty when the event is not scheduled.
    window: String,
    earliest: String,
    latest: String,
    fixed: bool,
    /// Who moved the date, when and why.
    note: String,
    /// Whether the form offers this event.
    movable: bool,
    f_date: String,
}

#[derive(Template)]
#[template(path = "calendar_group.html")]
struct GroupPage {
    l: Layout,
    c: GroupCalendar,
    lines: Vec<GroupLineView>,
    any_movable: bool,
    rules: CalendarRules,
    errors: Vec<Invalid>,
    reason: String,
}

async fn group_page(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    group_id: i64,
    year: i32,
    typed: Option<&GroupDatesInput>,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let c = ops::group_calendar(st, ctx, group_id, year).await?;
    let lines: Vec<GroupLineView> = Event::ALL
        .iter()
        .zip(&c.events)
        .map(|(e, x)| {
            let own = x.source == "group";
            let (earliest, latest) = (vn(&x.earliest_on), vn(&x.latest_on));
            let fixed = x.default_on.is_some() && x.earliest_on == x.latest_on;
            let window = match (&x.default_on, fixed) {
                (None, _) => String::new(),
                (Some(_), true) => "Không được dời".into(),
                (Some(_), false) => format!("{earliest} – {latest}"),
            };
            let note = match (&x.reason, &x.updated_by, &x.updated_at) {
                (Some(r), by, at) if own => format!(
                    "{r} ({}{})",
                    by.as_deref().unwrap_or(""),
                    at.as_deref().map(|a| format!(", {}", stamp_vn(a))).unwrap_or_default()
                ),
                _ => String::new(),
            };
            let own_date = if own { vn(&x.date) } else { String::new() };
            let t = typed.and_then(|t| t.events.iter().find(|i| i.event == e.code()));
            GroupLineView {
                code: e.code(),
                label: e.label(),
                date: vn(&x.date),
                own,
                default_on: vn(&x.default_on),
                window,
                earliest,
                latest,
                fixed,
                note,
                movable: x.default_on.is_some() && (!fixed || own),
                f_date: t.map(|t| t.date.clone()).unwrap_or(own_date),
            }
        })
        .collect();
    let page = GroupPage {
        l: Layout::new(format!("Lịch năm {year} – {}", c.group_name), ctx, headers, "/cum-khoi"),
        any_movable: lines.iter().any(|l| l.movable),
        c,
        lines,
        rules: ops::rules(),
        errors,
        reason: typed.map(|t| t.reason.clone()).unwrap_or_default(),
    };
    html(&page, headers)
}

async fn group_calendar(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    group_page(&st, &ctx, &headers, id, year, None, vec![]).await
}

async fn move_dates(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let input = GroupDatesInput {
        events: Event::ALL
            .iter()
            .filter_map(|e| {
                f.get(&format!("date_{}", e.code())).map(|d| GroupDateInput { event: e.code().into(), date: d.clone() })
            })
            .collect(),
        reason: f.get("reason").cloned().unwrap_or_default(),
    };
    match ops::move_group_dates(&st, &ctx, id, year, &input).await {
        Ok(c) => Ok(redirect_with(
            &format!("/cum-khoi/{id}/nam/{year}/lich"),
            "ok",
            &format!("Đã lưu lịch năm {year} của {}.", c.group_name),
        )),
        Err(e) => group_page(&st, &ctx, &headers, id, year, Some(&input), errors_of(e)?).await,
    }
}
