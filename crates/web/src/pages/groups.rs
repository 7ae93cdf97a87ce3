//! Pages of groups (clusters and blocks) and their yearly memberships.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use thidua_core::Invalid;
use thidua_core::org::{GroupKind, MemberRole};
use thidua_core::policy::Action;

use super::org::{Opt, errors_of, join, managed, options};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::org::{self as ops, CloseInput, GroupInput, MemberInput};
use crate::view::{Layout, date_vn, html, redirect_with};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cum-khoi", get(groups).post(create_group))
        .route("/cum-khoi/moi", get(new_group))
        .route("/cum-khoi/{id}", get(group))
        .route("/cum-khoi/{id}/sua", get(edit_group).post(update_group))
        .route("/cum-khoi/{id}/giai-the", post(close_group))
        .route("/cum-khoi/{id}/nam/{year}", get(group_year).post(add_member))
        .route("/thanh-vien/{mid}/vai-tro", post(set_role))
        .route("/thanh-vien/{mid}/xoa", post(remove_member))
}

struct GroupLine {
    id: i64,
    name: String,
    kind: &'static str,
    authority: String,
    closed: String,
    head: String,
    members: usize,
}

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsPage {
    l: Layout,
    q: String,
    items: Vec<GroupLine>,
    may_create: bool,
    year: i32,
}

#[derive(Deserialize, Default)]
struct GroupsQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    authority_id: String,
}

async fn groups(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(gq): Query<GroupsQuery>,
) -> AppResult<Response> {
    let mut found = ops::list_groups(&st, &ctx, &gq.q).await?;
    if let Ok(a) = gq.authority_id.trim().parse::<i64>() {
        found.retain(|g| g.authority_id == a);
    }
    let years = ops::list_years(&st, &ctx).await?;
    let year = years.first().copied().unwrap_or_else(|| chrono::Datelike::year(&crate::ops::today()));
    let members = ops::members_in_year(&st, &found, year).await?;
    let mut items = Vec::new();
    for g in found {
        let current = members.get(&g.id);
        items.push(GroupLine {
            id: g.id,
            kind: GroupKind::parse(&g.kind).map(|k| k.label()).unwrap_or(""),
            authority: g.authority_name.clone(),
            closed: date_vn(&g.closed_on),
            head: current.and_then(|y| y.head.clone()).unwrap_or_default(),
            members: current.map(|y| y.members.len()).unwrap_or(0),
            name: g.name,
        });
    }
    let page = GroupsPage {
        l: Layout::new("Cụm, khối thi đua", &ctx, &headers, "/cum-khoi"),
        q: gq.q,
        items,
        may_create: !managed(&st, &ctx).await?.is_empty(),
        year,
    };
    html(&page, &headers)
}

#[derive(Template)]
#[template(path = "group_form.html")]
struct GroupFormPage {
    l: Layout,
    action: String,
    form: GroupInput,
    kinds: Vec<Opt>,
    authorities: Vec<Opt>,
    errors: Vec<Invalid>,
    cancel: String,
    editing: bool,
}

#[derive(Deserialize)]
struct GroupForm {
    kind: String,
    name: String,
    #[serde(default)]
    authority_id: String,
}

impl GroupForm {
    fn input(&self) -> GroupInput {
        GroupInput {
            kind: self.kind.clone(),
            name: self.name.clone(),
            authority_id: self.authority_id.trim().parse().unwrap_or(0),
        }
    }
}

async fn group_form(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: Option<i64>,
    form: GroupInput,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let mine = managed(st, ctx).await?;
    if mine.is_empty() {
        return Err(super::deny(st, ctx, Action::ManageGroup, "group:new").await);
    }
    let sel = form.authority_id.to_string();
    let page = GroupFormPage {
        l: Layout::new(if id.is_some() { "Sửa cụm, khối" } else { "Thêm cụm, khối" }, ctx, headers, "/cum-khoi"),
        action: id.map(|i| format!("/cum-khoi/{i}/sua")).unwrap_or_else(|| "/cum-khoi".into()),
        kinds: options(GroupKind::ALL.iter().map(|k| (k.code().to_string(), k.label().to_string())), &form.kind),
        authorities: options(mine.iter().map(|a| (a.id.to_string(), a.name.clone())), &sel),
        cancel: id.map(|i| format!("/cum-khoi/{i}")).unwrap_or_else(|| "/cum-khoi".into()),
        editing: id.is_some(),
        form,
        errors,
    };
    html(&page, headers)
}

async fn new_group(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap) -> AppResult<Response> {
    let first = managed(&st, &ctx).await?.first().map(|a| a.id).unwrap_or(0);
    let form = GroupInput { kind: "block".into(), name: String::new(), authority_id: first };
    group_form(&st, &ctx, &headers, None, form, vec![]).await
}

async fn create_group(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<GroupForm>,
) -> AppResult<Response> {
    let input = f.input();
    match ops::create_group(&st, &ctx, &input).await {
        Ok(g) => Ok(redirect_with(&format!("/cum-khoi/{}", g.id), "ok", &format!("Đã thêm \"{}\".", g.name))),
        Err(e) => group_form(&st, &ctx, &headers, None, input, errors_of(e)?).await,
    }
}

async fn edit_group(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let d = ops::get_group(&st, &ctx, id).await?;
    let t = ops::group_target_of(&st, &d.group).await?;
    if !ops::may(&ctx, Action::ManageGroup, &t) {
        return Err(super::deny(&st, &ctx, Action::ManageGroup, &format!("group:{id}")).await);
    }
    let form = GroupInput { kind: d.group.kind, name: d.group.name, authority_id: d.group.authority_id };
    group_form(&st, &ctx, &headers, Some(id), form, vec![]).await
}

async fn update_group(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<GroupForm>,
) -> AppResult<Response> {
    let input = f.input();
    match ops::update_group(&st, &ctx, id, &input).await {
        Ok(_) => Ok(redirect_with(&format!("/cum-khoi/{id}"), "ok", "Đã lưu thay đổi.")),
        Err(e) => group_form(&st, &ctx, &headers, Some(id), input, errors_of(e)?).await,
    }
}

struct YearBlock {
    year: i32,
    head: String,
    deputy: String,
    members: Vec<MemberLine>,
}

struct MemberLine {
    membership_id: i64,
    unit_id: i64,
    unit_name: String,
    role: &'static str,
    role_code: String,
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    l: Layout,
    id: i64,
    name: String,
    kind: &'static str,
    head_word: &'static str,
    deputy_word: &'static str,
    authority: String,
    closed: String,
    years: Vec<YearBlock>,
    may_manage: bool,
    open_years: Vec<i32>,
    today: String,
}

fn member_line(m: &thidua_db::org::MemberRow, kind: GroupKind) -> MemberLine {
    MemberLine {
        membership_id: m.membership_id,
        unit_id: m.unit_id,
        unit_name: m.unit_name.clone(),
        role: MemberRole::parse(&m.role).map(|r| r.label_for(kind)).unwrap_or(""),
        role_code: m.role.clone(),
    }
}

async fn group(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>) -> AppResult<Response> {
    let d = ops::get_group(&st, &ctx, id).await?;
    let t = ops::group_target_of(&st, &d.group).await?;
    let kind = GroupKind::parse(&d.group.kind).unwrap_or(GroupKind::Cluster);
    let years = d
        .years
        .iter()
        .map(|y| YearBlock {
            year: y.year,
            head: y.head.clone().unwrap_or_default(),
            deputy: y.deputy.clone().unwrap_or_default(),
            members: y.members.iter().map(|m| member_line(m, kind)).collect(),
        })
        .collect();
    let page = GroupPage {
        l: Layout::new(d.group.name.clone(), &ctx, &headers, "/cum-khoi"),
        id,
        name: d.group.name.clone(),
        kind: kind.label(),
        head_word: MemberRole::Head.label_for(kind),
        deputy_word: MemberRole::Deputy.label_for(kind),
        authority: d.group.authority_name.clone(),
        closed: date_vn(&d.group.closed_on),
        years,
        may_manage: ops::may(&ctx, Action::ManageGroup, &t),
        open_years: {
            // the years with members, and the latest open year to start a new one
            let mut ys: Vec<i32> = d.years.iter().map(|y| y.year).collect();
            if let Some(latest) = ops::list_years(&st, &ctx).await?.first().copied()
                && !ys.contains(&latest)
            {
                ys.push(latest);
            }
            ys.sort_unstable_by(|a, b| b.cmp(a));
            ys
        },
        today: thidua_core::text::format_date(crate::ops::today()),
    };
    html(&page, &headers)
}

async fn close_group(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CloseForm>,
) -> AppResult<Response> {
    let input = CloseInput { date: f.date, reason: f.reason };
    match ops::close_group(&st, &ctx, id, &input).await {
        Ok(g) => Ok(redirect_with(&format!("/cum-khoi/{id}"), "ok", &format!("Đã ghi nhận giải thể \"{}\".", g.name))),
        Err(AppError::Invalid(v)) => Ok(redirect_with(&format!("/cum-khoi/{id}"), "error", &join(&v))),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct CloseForm {
    date: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "group_year.html")]
struct GroupYearPage {
    l: Layout,
    id: i64,
    name: String,
    year: i32,
    members: Vec<MemberLine>,
    roles: Vec<Opt>,
    candidates: Vec<Opt>,
    errors: Vec<Invalid>,
}

async fn group_year_page(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: i64,
    year: i32,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let d = ops::get_group(st, ctx, id).await?;
    let t = ops::group_target_of(st, &d.group).await?;
    if !ops::may(ctx, Action::ManageGroup, &t) {
        return Err(super::deny(st, ctx, Action::ManageGroup, &format!("group:{id}")).await);
    }
    let kind = GroupKind::parse(&d.group.kind).unwrap_or(GroupKind::Cluster);
    let members: Vec<MemberLine> = d
        .years
        .iter()
        .find(|y| y.year == year)
        .map(|y| y.members.iter().map(|m| member_line(m, kind)).collect())
        .unwrap_or_default();
    let units = ops::member_candidates(st, ctx, id, year).await?;
    let mut candidates = vec![Opt { value: String::new(), label: "— Chọn đơn vị —".into(), selected: true }];
    candidates.extend(options(
        units.into_iter().map(|u| (u.id.to_string(), format!("{} ({})", u.name, u.authority_name))),
        "",
    ));
    let page = GroupYearPage {
        l: Layout::new(format!("{} – năm {year}", d.group.name), ctx, headers, "/cum-khoi"),
        id,
        name: d.group.name,
        year,
        members,
        roles: options(MemberRole::ALL.iter().map(|r| (r.code().to_string(), r.label_for(kind).to_string())), "member"),
        candidates,
        errors,
    };
    html(&page, headers)
}

async fn group_year(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    group_year_page(&st, &ctx, &headers, id, year, vec![]).await
}

#[derive(Deserialize)]
struct MemberForm {
    unit_id: String,
    role: String,
}

async fn add_member(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
    Form(f): Form<MemberForm>,
) -> AppResult<Response> {
    let Ok(unit_id) = f.unit_id.trim().parse::<i64>() else {
        let e = vec![Invalid::new("Đơn vị", "Hãy chọn một đơn vị trong danh sách.")];
        return group_year_page(&st, &ctx, &headers, id, year, e).await;
    };
    let input = MemberInput { unit_id, role: f.role };
    match ops::add_member(&st, &ctx, id, year, &input).await {
        Ok(m) => {
            Ok(redirect_with(&format!("/cum-khoi/{id}/nam/{year}"), "ok", &format!("Đã thêm \"{}\".", m.unit_name)))
        }
        Err(e) => group_year_page(&st, &ctx, &headers, id, year, errors_of(e)?).await,
    }
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

async fn set_role(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(mid): Path<i64>,
    Form(f): Form<RoleForm>,
) -> AppResult<Response> {
    match ops::set_member_role(&st, &ctx, mid, &f.role).await {
        Ok(m) => Ok(redirect_with(
            &format!("/cum-khoi/{}/nam/{}", m.group_id, m.year),
            "ok",
            &format!("Đã đổi vai trò của \"{}\".", m.unit_name),
        )),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let back = membership_back(&st, mid).await?;
            let msg = match e {
                AppError::Invalid(v) => join(&v),
                other => other.user_message(),
            };
            Ok(redirect_with(&back, "error", &msg))
        }
        Err(e) => Err(e),
    }
}

/// Where to go back to after a refused change of a membership (the change was authorised first).
async fn membership_back(st: &AppState, mid: i64) -> AppResult<String> {
    let mut tx = st.db.read().await?;
    let m = thidua_db::org::membership(&mut tx, mid).await?.ok_or(AppError::NotFound)?;
    tx.rollback().await?;
    Ok(format!("/cum-khoi/{}/nam/{}", m.group_id, m.year))
}

async fn remove_member(State(st): State<AppState>, ctx: Ctx, Path(mid): Path<i64>) -> AppResult<Response> {
    let m = ops::remove_member(&st, &ctx, mid).await?;
    Ok(redirect_with(
        &format!("/cum-khoi/{}/nam/{}", m.group_id, m.year),
        "ok",
        &format!("Đã bỏ \"{}\" khỏi danh sách thành viên năm {}.", m.unit_name, m.year),
    ))
}
