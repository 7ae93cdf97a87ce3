//! Pages of the registry: authorities, years, units and their lineage.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use thidua_core::Invalid;
use thidua_core::org::{AuthorityLevel, GroupKind, LineageKind, MemberRole, UnitKind};
use thidua_core::policy::{Action, Target, decide, managed_authorities};
use thidua_db::org::{AuthorityRow, LineageRow, UnitRow};

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::org::{self as ops, AuthorityInput, CloseInput, LineageInput, UnitInput, UnitSearch};
use crate::ops::tree;
use crate::view::{Layout, date_vn, html, redirect_with};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/co-quan", get(authorities).post(create_authority))
        .route("/co-quan/{id}/sua", get(edit_authority).post(update_authority))
        .route("/co-quan/{id}/thoi-hoat-dong", post(close_authority))
        .route("/nam-thi-dua", get(years).post(open_year))
        .route("/don-vi", get(units).post(create_unit))
        .route("/don-vi/moi", get(new_unit))
        .route("/don-vi/{id}", get(unit))
        .route("/don-vi/{id}/sua", get(edit_unit).post(update_unit))
        .route("/don-vi/{id}/thoi-hoat-dong", post(close_unit))
        .route("/don-vi/{id}/ke-thua", post(add_lineage))
}

/// An option of a select box.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub fn options(items: impl IntoIterator<Item = (String, String)>, selected: &str) -> Vec<Opt> {
    items.into_iter().map(|(value, label)| Opt { selected: value == selected, value, label }).collect()
}

pub fn kind_options(selected: &str) -> Vec<Opt> {
    options(UnitKind::ALL.iter().map(|k| (k.code().to_string(), k.label().to_string())), selected)
}

/// The authorities an actor may manage units or groups under.
pub async fn managed(st: &AppState, ctx: &Ctx) -> AppResult<Vec<AuthorityRow>> {
    let all = ops::list_authorities(st, ctx).await?;
    let scope = managed_authorities(&ctx.actor, &tree(&all));
    Ok(all.into_iter().filter(|a| scope.as_ref().is_none_or(|s| s.contains(&a.id))).collect())
}

pub fn errors_of(e: AppError) -> AppResult<Vec<Invalid>> {
    match e {
        AppError::Invalid(v) => Ok(v),
        AppError::Conflict(m) => Ok(vec![Invalid::new("", m)]),
        other => Err(other),
    }
}

// ---------- authorities ----------

struct AuthorityLine {
    id: i64,
    name: String,
    short_name: String,
    level: &'static str,
    parent: String,
    closed: String,
}

#[derive(Template)]
#[template(path = "authorities.html")]
struct AuthoritiesPage {
    l: Layout,
    items: Vec<AuthorityLine>,
    may_manage: bool,
    levels: Vec<Opt>,
    parents: Vec<Opt>,
    form: AuthorityInput,
    errors: Vec<Invalid>,
    edit_id: Option<i64>,
    q: String,
    today: String,
}

async fn authorities_page(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    form: AuthorityInput,
    errors: Vec<Invalid>,
    edit_id: Option<i64>,
    q: &str,
) -> AppResult<Response> {
    let all = ops::list_authorities(st, ctx).await?;
    let items = all
        .iter()
        .map(|a| AuthorityLine {
            id: a.id,
            name: a.name.clone(),
            short_name: a.short_name.clone(),
            level: AuthorityLevel::parse(&a.level).map(|l| l.label()).unwrap_or(""),
            parent: a
                .parent_id
                .and_then(|p| all.iter().find(|x| x.id == p))
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            closed: date_vn(&a.closed_on),
        })
        .filter(|line: &AuthorityLine| {
            let key = thidua_core::text::fold(&format!("{} {}", line.name, line.short_name));
            crate::ops::search_words(q).iter().all(|w| key.contains(w.as_str()))
        })
        .collect();
    let parent_sel = form.parent_id.map(|p| p.to_string()).unwrap_or_default();
    let mut parents = vec![Opt { value: String::new(), label: "(không có)".into(), selected: parent_sel.is_empty() }];
    parents.extend(options(all.iter().map(|a| (a.id.to_string(), a.name.clone())), &parent_sel));
    let page = AuthoritiesPage {
        l: Layout::new(
            if edit_id.is_some() { "Sửa cơ quan tổ chức" } else { "Cơ quan tổ chức cụm, khối" },
            ctx,
            headers,
            "/co-quan",
        ),
        items,
        may_manage: decide(&ctx.actor, Action::ManageAuthority, &Target::system()).is_ok(),
        levels: options(AuthorityLevel::ALL.iter().map(|l| (l.code().to_string(), l.label().to_string())), &form.level),
        parents,
        form,
        errors,
        edit_id,
        q: q.to_string(),
        today: thidua_core::text::format_date(crate::ops::today()),
    };
    html(&page, headers)
}

#[derive(Deserialize, Default)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn authorities(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(sq): Query<SearchQuery>,
) -> AppResult<Response> {
    let form = AuthorityInput { level: "province".into(), ..Default::default() };
    authorities_page(&st, &ctx, &headers, form, vec![], None, &sq.q).await
}

async fn close_authority(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CloseForm>,
) -> AppResult<Response> {
    let input = CloseInput { date: f.date, reason: f.reason };
    match ops::close_authority(&st, &ctx, id, &input).await {
        Ok(a) => Ok(redirect_with("/co-quan", "ok", &format!("Đã ghi nhận \"{}\" thôi hoạt động.", a.name))),
        Err(AppError::Invalid(v)) => Ok(redirect_with(&format!("/co-quan/{id}/sua"), "error", &join(&v))),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct AuthorityForm {
    name: String,
    #[serde(default)]
    short_name: String,
    level: String,
    #[serde(default)]
    parent_id: String,
}

impl AuthorityForm {
    fn input(&self) -> AuthorityInput {
        AuthorityInput {
            name: self.name.clone(),
            short_name: self.short_name.clone(),
            level: self.level.clone(),
            parent_id: self.parent_id.trim().parse().ok(),
        }
    }
}

async fn create_authority(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<AuthorityForm>,
) -> AppResult<Response> {
    let input = f.input();
    match ops::save_authority(&st, &ctx, None, &input).await {
        Ok(a) => Ok(redirect_with("/co-quan", "ok", &format!("Đã thêm cơ quan \"{}\".", a.name))),
        Err(e) => authorities_page(&st, &ctx, &headers, input, errors_of(e)?, None, "").await,
    }
}

async fn edit_authority(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let a = ops::get_authority(&st, &ctx, id).await?;
    let input = AuthorityInput { name: a.name, short_name: a.short_name, level: a.level, parent_id: a.parent_id };
    authorities_page(&st, &ctx, &headers, input, vec![], Some(id), "").await
}

async fn update_authority(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<AuthorityForm>,
) -> AppResult<Response> {
    let input = f.input();
    match ops::save_authority(&st, &ctx, Some(id), &input).await {
        Ok(a) => Ok(redirect_with("/co-quan", "ok", &format!("Đã lưu cơ quan \"{}\".", a.name))),
        Err(e) => authorities_page(&st, &ctx, &headers, input, errors_of(e)?, Some(id), "").await,
    }
}

// ---------- years ----------

#[derive(Template)]
#[template(path = "years.html")]
struct YearsPage {
    l: Layout,
    years: Vec<i32>,
    may_open: bool,
    suggestion: i32,
    errors: Vec<Invalid>,
}

async fn years_page(st: &AppState, ctx: &Ctx, headers: &HeaderMap, errors: Vec<Invalid>) -> AppResult<Response> {
    let years = ops::list_years(st, ctx).await?;
    let suggestion = years.first().map(|y| y + 1).unwrap_or_else(|| chrono::Datelike::year(&crate::ops::today()));
    let page = YearsPage {
        l: Layout::new("Năm thi đua", ctx, headers, "/nam-thi-dua"),
        years,
        may_open: decide(&ctx.actor, Action::ManageYears, &Target::system()).is_ok(),
        suggestion,
        errors,
    };
    html(&page, headers)
}

async fn years(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap) -> AppResult<Response> {
    years_page(&st, &ctx, &headers, vec![]).await
}

#[derive(Deserialize)]
struct YearForm {
    year: String,
}

async fn open_year(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<YearForm>,
) -> AppResult<Response> {
    match ops::open_year(&st, &ctx, &f.year).await {
        Ok(y) => Ok(redirect_with("/nam-thi-dua", "ok", &format!("Đã mở năm thi đua {y}."))),
        Err(e) => years_page(&st, &ctx, &headers, errors_of(e)?).await,
    }
}

// ---------- units ----------

pub struct UnitLine {
    pub id: i64,
    pub name: String,
    pub short_name: String,
    pub kind: &'static str,
    pub authority: String,
    pub active: String,
    pub closed: bool,
}

impl UnitLine {
    pub fn of(u: &UnitRow) -> Self {
        let today = crate::ops::today().to_string();
        let active = match (&u.active_from, &u.active_to) {
            (None, None) => String::new(),
            (Some(_), None) => format!("từ {}", date_vn(&u.active_from)),
            (None, Some(_)) => format!("đến {}", date_vn(&u.active_to)),
            (Some(_), Some(_)) => format!("{} – {}", date_vn(&u.active_from), date_vn(&u.active_to)),
        };
        UnitLine {
            id: u.id,
            name: u.name.clone(),
            short_name: u.short_name.clone(),
            kind: UnitKind::parse(&u.kind).map(|k| k.label()).unwrap_or(""),
            authority: u.authority_name.clone(),
            active,
            closed: u.active_to.as_deref().is_some_and(|t| t < today.as_str()),
        }
    }
}

#[derive(Template)]
#[template(path = "units.html")]
struct UnitsPage {
    l: Layout,
    q: String,
    closed: bool,
    kinds: Vec<Opt>,
    authorities: Vec<Opt>,
    items: Vec<UnitLine>,
    may_create: bool,
    total: usize,
    current: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct UnitsQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    authority_id: String,
    #[serde(default)]
    closed: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

/// Rows per page of the unit list.
const UNITS_PER_PAGE: usize = 100;

async fn units(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(uq): Query<UnitsQuery>,
) -> AppResult<Response> {
    let search = UnitSearch {
        q: uq.q.clone(),
        kind: uq.kind.clone(),
        authority_id: uq.authority_id.trim().parse().ok(),
        closed: uq.closed.is_some(),
    };
    let found = ops::search_units(&st, &ctx, &search).await?;
    let all = ops::list_authorities(&st, &ctx).await?;
    let readable = thidua_core::policy::readable_authorities(&ctx.actor, &tree(&all));
    let mut auth_opts =
        vec![Opt { value: String::new(), label: "Tất cả".into(), selected: uq.authority_id.is_empty() }];
    auth_opts.extend(options(
        all.iter()
            .filter(|a| readable.as_ref().is_none_or(|r| r.contains(&a.id)))
            .map(|a| (a.id.to_string(), a.name.clone())),
        &uq.authority_id,
    ));
    let mut kinds = vec![Opt { value: String::new(), label: "Tất cả".into(), selected: uq.kind.is_empty() }];
    kinds.extend(kind_options(&uq.kind));
    let total = found.len();
    let pages = total.div_ceil(UNITS_PER_PAGE).max(1);
    let current = uq.page.unwrap_or(1).clamp(1, pages);
    let link = |p: usize| {
        let qs = serde_urlencoded::to_string([
            ("q", uq.q.as_str()),
            ("kind", uq.kind.as_str()),
            ("authority_id", uq.authority_id.as_str()),
            ("closed", if search.closed { "1" } else { "" }),
            ("page", &p.to_string()),
        ])
        .unwrap_or_default();
        format!("/don-vi?{qs}")
    };
    let page = UnitsPage {
        l: Layout::new("Đơn vị", &ctx, &headers, "/don-vi"),
        closed: search.closed,
        kinds,
        authorities: auth_opts,
        items: found.iter().skip((current - 1) * UNITS_PER_PAGE).take(UNITS_PER_PAGE).map(UnitLine::of).collect(),
        may_create: !managed(&st, &ctx).await?.is_empty(),
        total,
        current,
        pages,
        prev: (current > 1).then(|| link(current - 1)),
        next: (current < pages).then(|| link(current + 1)),
        q: uq.q.clone(),
    };
    html(&page, &headers)
}

#[derive(Template)]
#[template(path = "unit_form.html")]
struct UnitFormPage {
    l: Layout,
    action: String,
    form: UnitInput,
    kinds: Vec<Opt>,
    authorities: Vec<Opt>,
    errors: Vec<Invalid>,
    cancel: String,
}

#[derive(Deserialize)]
struct UnitForm {
    name: String,
    #[serde(default)]
    short_name: String,
    kind: String,
    #[serde(default)]
    authority_id: String,
    #[serde(default)]
    active_from: String,
    #[serde(default)]
    active_to: String,
}

impl UnitForm {
    fn input(&self) -> UnitInput {
        UnitInput {
            name: self.name.clone(),
            short_name: self.short_name.clone(),
            kind: self.kind.clone(),
            authority_id: self.authority_id.trim().parse().unwrap_or(0),
            active_from: self.active_from.clone(),
            active_to: self.active_to.clone(),
        }
    }
}

async fn unit_form(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: Option<i64>,
    form: UnitInput,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let mine = managed(st, ctx).await?;
    if mine.is_empty() {
        return Err(super::deny(st, ctx, Action::ManageUnit, "unit:new").await);
    }
    let sel = form.authority_id.to_string();
    let page = UnitFormPage {
        l: Layout::new(if id.is_some() { "Sửa đơn vị" } else { "Thêm đơn vị" }, ctx, headers, "/don-vi"),
        action: id.map(|i| format!("/don-vi/{i}/sua")).unwrap_or_else(|| "/don-vi".into()),
        kinds: kind_options(&form.kind),
        authorities: options(mine.iter().map(|a| (a.id.to_string(), a.name.clone())), &sel),
        cancel: id.map(|i| format!("/don-vi/{i}")).unwrap_or_else(|| "/don-vi".into()),
        form,
        errors,
    };
    html(&page, headers)
}

async fn new_unit(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap) -> AppResult<Response> {
    let first = managed(&st, &ctx).await?.first().map(|a| a.id).unwrap_or(0);
    let form = UnitInput { kind: "department".into(), authority_id: first, ..Default::default() };
    unit_form(&st, &ctx, &headers, None, form, vec![]).await
}

async fn create_unit(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<UnitForm>,
) -> AppResult<Response> {
    let input = f.input();
    match ops::create_unit(&st, &ctx, &input).await {
        Ok(u) => Ok(redirect_with(&format!("/don-vi/{}", u.id), "ok", &format!("Đã thêm đơn vị \"{}\".", u.name))),
        Err(e) => unit_form(&st, &ctx, &headers, None, input, errors_of(e)?).await,
    }
}

async fn edit_unit(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let d = ops::get_unit(&st, &ctx, id).await?;
    let t = ops::unit_target_of(&st, &d.unit).await?;
    if !ops::may(&ctx, Action::ManageUnit, &t) {
        return Err(super::deny(&st, &ctx, Action::ManageUnit, &format!("unit:{id}")).await);
    }
    let u = d.unit;
    let form = UnitInput {
        name: u.name,
        short_name: u.short_name,
        kind: u.kind,
        authority_id: u.authority_id,
        active_from: date_vn(&u.active_from),
        active_to: date_vn(&u.active_to),
    };
    unit_form(&st, &ctx, &headers, Some(id), form, vec![]).await
}

async fn update_unit(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<UnitForm>,
) -> AppResult<Response> {
    let input = f.input();
    match ops::update_unit(&st, &ctx, id, &input).await {
        Ok(u) => Ok(redirect_with(&format!("/don-vi/{}", u.id), "ok", "Đã lưu thay đổi.")),
        Err(e) => unit_form(&st, &ctx, &headers, Some(id), input, errors_of(e)?).await,
    }
}

struct LineageLine {
    kind: &'static str,
    other_id: i64,
    other_name: String,
    date: String,
    note: String,
}

fn lineage_lines(id: i64, rows: &[LineageRow]) -> Vec<LineageLine> {
    rows.iter()
        .map(|l| {
            let kind = LineageKind::parse(&l.kind).unwrap_or(LineageKind::Merged);
            let outgoing = l.predecessor_id == id;
            let label = match (outgoing, kind) {
                (true, k) => k.label(),
                (false, LineageKind::Merged) => "Tiếp nhận (sáp nhập) từ",
                (false, LineageKind::Split) => "Được chia tách từ",
                (false, LineageKind::Renamed) => "Đổi tên từ",
            };
            LineageLine {
                kind: label,
                other_id: if outgoing { l.successor_id } else { l.predecessor_id },
                other_name: if outgoing { l.successor_name.clone() } else { l.predecessor_name.clone() },
                date: date_vn(&Some(l.effective_on.clone())),
                note: l.note.clone(),
            }
        })
        .collect()
}

struct MembershipLine {
    year: i32,
    group_id: i64,
    group_name: String,
    role: &'static str,
    role_code: String,
}

#[derive(Template)]
#[template(path = "unit.html")]
struct UnitPage {
    l: Layout,
    u: UnitLine,
    lineage: Vec<LineageLine>,
    memberships: Vec<MembershipLine>,
    may_manage: bool,
    successors: Vec<Opt>,
    lineage_kinds: Vec<Opt>,
    today: String,
}

async fn unit(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>) -> AppResult<Response> {
    let d = ops::get_unit(&st, &ctx, id).await?;
    let t = ops::unit_target_of(&st, &d.unit).await?;
    let may_manage = ops::may(&ctx, Action::ManageUnit, &t);
    let successors = if may_manage {
        let all = ops::search_units(&st, &ctx, &UnitSearch { closed: true, ..Default::default() }).await?;
        options(
            all.into_iter()
                .filter(|u| u.id != id)
                .map(|u| (u.id.to_string(), format!("{} ({})", u.name, u.authority_name))),
            "",
        )
    } else {
        vec![]
    };
    let memberships = d
        .memberships
        .iter()
        .map(|m| {
            let kind = GroupKind::parse(&m.group_kind).unwrap_or(GroupKind::Cluster);
            MembershipLine {
                year: m.year,
                group_id: m.group_id,
                group_name: m.group_name.clone(),
                role: MemberRole::parse(&m.role).map(|r| r.label_for(kind)).unwrap_or(""),
                role_code: m.role.clone(),
            }
        })
        .collect();
    let page = UnitPage {
        l: Layout::new(d.unit.name.clone(), &ctx, &headers, "/don-vi"),
        u: UnitLine::of(&d.unit),
        lineage: lineage_lines(id, &d.lineage),
        memberships,
        may_manage,
        successors,
        lineage_kinds: options(
            LineageKind::ALL.iter().map(|k| (k.code().to_string(), k.label().to_string())),
            "merged",
        ),
        today: thidua_core::text::format_date(crate::ops::today()),
    };
    html(&page, &headers)
}

#[derive(Deserialize)]
struct CloseForm {
    date: String,
    #[serde(default)]
    reason: String,
}

async fn close_unit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CloseForm>,
) -> AppResult<Response> {
    let input = CloseInput { date: f.date, reason: f.reason };
    match ops::close_unit(&st, &ctx, id, &input).await {
        Ok(u) => {
            Ok(redirect_with(&format!("/don-vi/{id}"), "ok", &format!("Đã ghi nhận \"{}\" thôi hoạt động.", u.name)))
        }
        Err(AppError::Invalid(v)) => Ok(redirect_with(&format!("/don-vi/{id}"), "error", &join(&v))),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct LineageForm {
    successor_id: String,
    kind: String,
    effective_on: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    close_predecessor: Option<String>,
}

async fn add_lineage(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<LineageForm>,
) -> AppResult<Response> {
    let input = LineageInput {
        successor_id: f.successor_id.trim().parse().unwrap_or(0),
        kind: f.kind,
        effective_on: f.effective_on,
        note: f.note,
        close_predecessor: f.close_predecessor.is_some(),
    };
    match ops::add_lineage(&st, &ctx, id, &input).await {
        Ok(l) => Ok(redirect_with(
            &format!("/don-vi/{id}"),
            "ok",
            &format!("Đã ghi nhận quan hệ kế thừa với \"{}\".", l.successor_name),
        )),
        Err(AppError::Invalid(v)) => Ok(redirect_with(&format!("/don-vi/{id}"), "error", &join(&v))),
        Err(AppError::Conflict(m)) => Ok(redirect_with(&format!("/don-vi/{id}"), "error", &m)),
        Err(e) => Err(e),
    }
}

pub fn join(v: &[Invalid]) -> String {
    v.iter().map(|i| i.message.clone()).collect::<Vec<_>>().join(" ")
}
