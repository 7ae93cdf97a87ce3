//! Operations on the calendar of a group's year: the authority's defaults and
//! windows (its secretariat, `Action::ManageCalendar`), and a group-year's own
//! dates inside them (the head or deputy unit, `Action::LeadGroupYear`).
//! The rules are `thidua_core::calendar`'s.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thidua_core::Invalid;
use thidua_core::calendar::{self as cal, Event, Window};
use thidua_core::org;
use thidua_core::policy::{Action, Target, decide};
use thidua_db::calendar as c;
use thidua_db::org::{self as q, AuthorityRow, GroupRow};
use thidua_db::{Tx, audit};
use utoipa::ToSchema;

use super::authorize;
use super::org::Errors;
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};

// ---------- input ----------

/// One event of the authority's calendar.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct DefaultInput {
    /// covenant_signing | mid_year_review | self_assessment_deadline | head_review | explanation | appraisal | deliberation | year_end_review (or the Vietnamese label)
    pub event: String,
    /// The default date for all groups, dd/mm/yyyy or yyyy-mm-dd; empty removes the event from the calendar.
    #[serde(default)]
    pub default_on: String,
    /// The earliest date a group may choose; empty: the default date.
    #[serde(default)]
    pub earliest_on: String,
    /// The latest date a group may choose; empty: the default date.
    #[serde(default)]
    pub latest_on: String,
}

/// A change of the authority's calendar for a year; events not listed stay as they are.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct DefaultsInput {
    pub events: Vec<DefaultInput>,
    /// Why (optional), kept in the audit log.
    #[serde(default)]
    pub reason: String,
}

/// One event of a group-year's calendar.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct GroupDateInput {
    /// An event code or label, as in [`DefaultInput`].
    pub event: String,
    /// The group's own date, dd/mm/yyyy or yyyy-mm-dd; empty: back to the authority's default.
    #[serde(default)]
    pub date: String,
}

/// A change of a group-year's dates; events not listed stay as they are.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct GroupDatesInput {
    pub events: Vec<GroupDateInput>,
    /// Why the group moves its dates (required), kept with the dates and in the audit log.
    #[serde(default)]
    pub reason: String,
}

// ---------- views ----------

/// An event of the calendar, with its rules.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventInfo {
    pub event: String,
    pub label: String,
}

/// The events and the order rules, as shown on the pages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarRules {
    pub events: Vec<EventInfo>,
    /// The order of the year, in Vietnamese.
    pub rules: Vec<String>,
    /// Which dates belong to an emulation year, in Vietnamese.
    pub year_span: String,
}

/// One event of an authority's calendar (dates `YYYY-MM-DD`; none when not scheduled).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DefaultLine {
    pub event: String,
    pub label: String,
    pub default_on: Option<String>,
    pub earliest_on: Option<String>,
    pub latest_on: Option<String>,
    /// How many of the authority's groups chose a date of their own.
    pub groups_moved: usize,
}

/// A group of the authority in the year, with how many dates it moved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupLine {
    pub group_id: i64,
    pub group_name: String,
    pub own_dates: usize,
}

/// An authority's calendar for a year: the defaults and windows of every event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorityCalendar {
    pub authority_id: i64,
    pub authority_name: String,
    pub year: i32,
    /// Every event, in the order of the year.
    pub events: Vec<DefaultLine>,
    pub groups: Vec<GroupLine>,
    /// Whether the caller may change the defaults and windows.
    pub may_manage: bool,
}

/// One event of a group-year's calendar.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupEventLine {
    pub event: String,
    pub label: String,
    /// The effective date, `YYYY-MM-DD`: the group's own, else the authority's default.
    pub date: Option<String>,
    /// group | authority | none
    pub source: String,
    pub default_on: Option<String>,
    pub earliest_on: Option<String>,
    pub latest_on: Option<String>,
    /// For a group's own date: why, who and when.
    pub reason: Option<String>,
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
}

/// A group-year's calendar.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupCalendar {
    pub group_id: i64,
    pub group_name: String,
    pub group_kind: String,
    pub authority_id: i64,
    pub authority_name: String,
    pub year: i32,
    /// Every event, in the order of the year.
    pub events: Vec<GroupEventLine>,
    /// Whether the caller may move the group's dates (head or deputy unit, or the secretariat).
    pub may_move: bool,
    /// Whether the caller may change the authority's defaults.
    pub may_manage_defaults: bool,
}

/// The events, rules and span of a year, for pages and clients.
pub fn rules() -> CalendarRules {
    CalendarRules {
        events: Event::ALL.iter().map(|e| EventInfo { event: e.code().into(), label: e.label().into() }).collect(),
        rules: cal::RULES.iter().map(|r| r.describe()).collect(),
        year_span:
            "Ký kết giao ước: từ 01/10 năm trước (có thể ký tại hội nghị tổng kết năm trước) đến hết năm thi đua; \
             sơ kết 6 tháng: trong năm thi đua; các việc cuối năm (tự chấm điểm, tổng hợp, giải trình, thẩm định, \
             bình xét, tổng kết): từ 01/01 đến hết 31/03 năm sau."
                .into(),
    }
}

// ---------- helpers ----------

fn parse_event(s: &str) -> Result<Event, Invalid> {
    Event::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Event::ALL.iter().map(|e| e.label()).collect();
        Invalid::new(
            "Việc",
            format!("Việc \"{}\" không có trong lịch. Hãy chọn một trong: {}.", s.trim(), all.join("; ")),
        )
    })
}

fn iso(d: NaiveDate) -> String {
    d.to_string()
}

fn stored(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn windows_of(rows: &[c::DefaultRow]) -> BTreeMap<Event, Window> {
    rows.iter()
        .filter_map(|r| {
            let e = Event::parse(&r.event)?;
            Some((
                e,
                Window {
                    default_on: stored(&r.default_on)?,
                    earliest: stored(&r.earliest_on)?,
                    latest: stored(&r.latest_on)?,
                },
            ))
        })
        .collect()
}

fn own_of(rows: &[c::GroupDateRow]) -> BTreeMap<Event, NaiveDate> {
    rows.iter().filter_map(|r| Some((Event::parse(&r.event)?, stored(&r.date_on)?))).collect()
}

fn as_list<T: Copy>(m: &BTreeMap<Event, T>) -> Vec<(Event, T)> {
    m.iter().map(|(e, v)| (*e, *v)).collect()
}

fn windows_json(year: i32, m: &BTreeMap<Event, Window>) -> Value {
    let events: serde_json::Map<String, Value> = m
        .iter()
        .map(|(e, w)| {
            (
                e.code().to_string(),
                json!({ "default_on": iso(w.default_on), "earliest_on": iso(w.earliest), "latest_on": iso(w.latest) }),
            )
        })
        .collect();
    json!({ "year": year, "events": events })
}

async fn check_year_open(tx: &mut Tx, year: i32) -> AppResult<()> {
    if q::years(tx).await?.contains(&year) {
        Ok(())
    } else {
        Err(AppError::invalid("Năm", format!("Năm thi đua {year} chưa được mở.")))
    }
}

async fn authority_target(tx: &mut Tx, id: i64) -> AppResult<(AuthorityRow, Target)> {
    let a = q::authority(tx, id).await?.ok_or(AppError::NotFound)?;
    let path = q::authority_path(tx, id).await?;
    Ok((a, Target::authority(path)))
}

async fn group_target(tx: &mut Tx, g: &GroupRow, year: i32) -> AppResult<Target> {
    let path = q::authority_path(tx, g.authority_id).await?;
    let ctx = q::group_ctx(tx, g.id, Some(year)).await?;
    Ok(Target::group(path, ctx))
}

fn may(ctx: &Ctx, action: Action, t: &Target) -> bool {
    decide(&ctx.actor, action, t).is_ok()
}

/// The groups of an authority that exist in a year (not closed before it).
async fn groups_in_year(tx: &mut Tx, authority_id: i64, year: i32) -> AppResult<Vec<GroupRow>> {
    let start = format!("{year}-01-01");
    let mut groups: Vec<GroupRow> = q::groups(tx, Some(&[authority_id]), &[])
        .await?
        .into_iter()
        .filter(|g| g.closed_on.as_deref().is_none_or(|c| c >= start.as_str()))
        .collect();
    thidua_core::text::sort_vi_by(&mut groups, |g| g.name.as_str());
    Ok(groups)
}

async fn load_authority_calendar(
    tx: &mut Tx,
    ctx: &Ctx,
    a: &AuthorityRow,
    t: &Target,
    year: i32,
) -> AppResult<AuthorityCalendar> {
    let windows = windows_of(&c::defaults(tx, a.id, year).await?);
    let own = c::group_dates_of_authority(tx, a.id, year).await?;
    let events = Event::ALL
        .iter()
        .map(|&e| {
            let w = windows.get(&e);
            DefaultLine {
                event: e.code().into(),
                label: e.label().into(),
                default_on: w.map(|w| iso(w.default_on)),
                earliest_on: w.map(|w| iso(w.earliest)),
                latest_on: w.map(|w| iso(w.latest)),
                groups_moved: own.iter().filter(|o| o.event == e.code()).count(),
            }
        })
        .collect();
    let groups = groups_in_year(tx, a.id, year)
        .await?
        .into_iter()
        .map(|g| GroupLine {
            own_dates: own.iter().filter(|o| o.group_id == g.id).count(),
            group_id: g.id,
            group_name: g.name,
        })
        .collect();
    Ok(AuthorityCalendar {
        authority_id: a.id,
        authority_name: a.name.clone(),
        year,
        events,
        groups,
        may_manage: may(ctx, Action::ManageCalendar, t),
    })
}

async fn load_group_calendar(tx: &mut Tx, ctx: &Ctx, g: &GroupRow, t: &Target, year: i32) -> AppResult<GroupCalendar> {
    let windows = windows_of(&c::defaults(tx, g.authority_id, year).await?);
    let rows = match c::find_group_year(tx, g.id, year).await? {
        Some(gy) => c::group_dates(tx, gy).await?,
        None => vec![],
    };
    let authority_path = t.authority_path.clone();
    let events = Event::ALL
        .iter()
        .map(|&e| {
            let w = windows.get(&e);
            let own = rows.iter().find(|r| r.event == e.code());
            let (date, source) = match (own, w) {
                (Some(o), _) => (Some(o.date_on.clone()), "group"),
                (None, Some(w)) => (Some(iso(w.default_on)), "authority"),
                (None, None) => (None, "none"),
            };
            GroupEventLine {
                event: e.code().into(),
                label: e.label().into(),
                date,
                source: source.into(),
                default_on: w.map(|w| iso(w.default_on)),
                earliest_on: w.map(|w| iso(w.earliest)),
                latest_on: w.map(|w| iso(w.latest)),
                reason: own.map(|o| o.reason.clone()),
                updated_by: own.and_then(|o| o.updated_by.clone()),
                updated_at: own.map(|o| o.updated_at.clone()),
            }
        })
        .collect();
    Ok(GroupCalendar {
        group_id: g.id,
        group_name: g.name.clone(),
        group_kind: g.kind.clone(),
        authority_id: g.authority_id,
        authority_name: g.authority_name.clone(),
        year,
        events,
        may_move: may(ctx, Action::LeadGroupYear, t),
        may_manage_defaults: may(ctx, Action::ManageCalendar, &Target::authority(authority_path)),
    })
}

// ---------- the authority's calendar ----------

/// An authority's calendar for a year. Read by those who read the authority's groups.
pub async fn authority_calendar(
    st: &AppState,
    ctx: &Ctx,
    authority_id: i64,
    year: i32,
) -> AppResult<AuthorityCalendar> {
    let mut tx = st.db.read().await?;
    let (a, t) = authority_target(&mut tx, authority_id).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &t, &format!("authority:{authority_id}")).await?;
    check_year_open(&mut tx, year).await?;
    let view = load_authority_calendar(&mut tx, ctx, &a, &t, year).await?;
    tx.rollback().await?;
    Ok(view)
}

/// Parses a change of the authority's calendar: for each event, its new window
/// (checked against the year), or none to remove it. Every field's error at once.
fn parse_defaults(year: i32, input: &DefaultsInput) -> AppResult<Vec<(Event, Option<Window>)>> {
    let mut e = Errors::default();
    let mut out: Vec<(Event, Option<Window>)> = Vec::new();
    for d in &input.events {
        let Some(event) = e.take(parse_event(&d.event)) else { continue };
        let l = event.label();
        if out.iter().any(|o| o.0 == event) {
            e.0.push(Invalid::new(l, format!("{l} được nhập hai lần. Mỗi việc chỉ có một ngày mặc định.")));
            continue;
        }
        let default_on = e.take(org::parse_opt_date(l, &d.default_on));
        let earliest = e.take(org::parse_opt_date(l, &d.earliest_on));
        let latest = e.take(org::parse_opt_date(l, &d.latest_on));
        match (default_on, earliest, latest) {
            (Some(Some(def)), Some(ea), Some(la)) => match cal::window(event, year, def, ea, la) {
                Ok(w) => out.push((event, Some(w))),
                Err(mut v) => e.0.append(&mut v),
            },
            (Some(None), Some(None), Some(None)) => out.push((event, None)),
            (Some(None), Some(_), Some(_)) => e.0.push(Invalid::new(
                l,
                format!("{l}: hãy nhập ngày mặc định, hoặc xoá cả khoảng cho phép để bỏ việc này khỏi lịch."),
            )),
            _ => {}
        }
    }
    if input.reason.chars().count() > 1000 {
        e.0.push(Invalid::new("Căn cứ, ghi chú", "Căn cứ, ghi chú quá dài (tối đa 1000 ký tự)."));
    }
    e.finish()?;
    Ok(out)
}

/// Sets or removes defaults and windows of an authority's calendar for a year.
/// Refused (nothing stored) when a window or the order of the defaults is
/// wrong, or when a group's own date would fall outside the new window or out
/// of order: the message names the group.
pub async fn set_defaults(
    st: &AppState,
    ctx: &Ctx,
    authority_id: i64,
    year: i32,
    input: &DefaultsInput,
) -> AppResult<AuthorityCalendar> {
    let changes = parse_defaults(year, input)?;
    let mut tx = st.db.begin().await?;
    let (a, t) = authority_target(&mut tx, authority_id).await?;
    tx = authorize(st, ctx, tx, Action::ManageCalendar, &t, &format!("authority:{authority_id}")).await?;
    check_year_open(&mut tx, year).await?;
    c::lock(&mut tx, authority_id, year).await?;
    let before = windows_of(&c::defaults(&mut tx, authority_id, year).await?);
    let mut after = before.clone();
    for (event, change) in &changes {
        match change {
            Some(w) => after.insert(*event, *w),
            None => after.remove(event),
        };
    }
    if after == before {
        let view = load_authority_calendar(&mut tx, ctx, &a, &t, year).await?;
        tx.rollback().await?;
        return Ok(view);
    }
    cal::check_defaults(year, &as_list(&after)).map_err(AppError::Invalid)?;
    // the groups' own dates must stay valid under the new defaults
    let mut errors = Vec::new();
    let own = c::group_dates_of_authority(&mut tx, authority_id, year).await?;
    let mut by_group: BTreeMap<(i64, String), BTreeMap<Event, NaiveDate>> = BTreeMap::new();
    for o in &own {
        if let (Some(e), Some(d)) = (Event::parse(&o.event), stored(&o.date_on)) {
            by_group.entry((o.group_id, o.group_name.clone())).or_default().insert(e, d);
        }
    }
    for ((_, name), dates) in &by_group {
        let removed: Vec<&str> = dates.keys().filter(|e| !after.contains_key(e)).map(|e| e.label()).collect();
        if !removed.is_empty() {
            errors.push(Invalid::new(
                name,
                format!(
                    "Không thể bỏ \"{}\" khỏi lịch chung: \"{name}\" đã chọn ngày riêng cho việc này. \
                     Hãy đưa lịch của cụm, khối đó về theo lịch chung trước.",
                    removed.join("\", \"")
                ),
            ));
            continue;
        }
        if let Err(v) = cal::check_group(&as_list(&after), &as_list(dates)) {
            for x in v {
                errors.push(Invalid::new(
                    name,
                    format!(
                        "Lịch riêng của \"{name}\" sẽ không còn hợp lệ: {} Hãy nới khoảng cho phép, \
                         hoặc sửa lịch riêng của cụm, khối đó trước.",
                        x.message
                    ),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    for event in Event::ALL {
        match (before.get(event), after.get(event)) {
            (b, Some(w)) if b != Some(w) => {
                let window = (iso(w.default_on), iso(w.earliest), iso(w.latest));
                c::set_default(
                    &mut tx,
                    authority_id,
                    year,
                    event.code(),
                    (&window.0, &window.1, &window.2),
                    ctx.user.id,
                )
                .await?;
            }
            (Some(_), None) => {
                c::delete_default(&mut tx, authority_id, year, event.code()).await?;
            }
            _ => {}
        }
    }
    let mut e = ctx.entry("calendar.defaults", "authority", authority_id);
    e.authority_id = Some(authority_id);
    e.before = Some(windows_json(year, &before));
    e.after = Some(windows_json(year, &after));
    e.reason = Some(input.reason.trim().to_string());
    audit::append(&mut tx, e).await?;
    let view = load_authority_calendar(&mut tx, ctx, &a, &t, year).await?;
    tx.commit().await?;
    Ok(view)
}

// ---------- a group-year's calendar ----------

/// A group-year's calendar: each event's effective date, its source and window.
pub async fn group_calendar(st: &AppState, ctx: &Ctx, group_id: i64, year: i32) -> AppResult<GroupCalendar> {
    let mut tx = st.db.read().await?;
    let g = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &g, year).await?;
    tx = authorize(st, ctx, tx, Action::ViewGroup, &t, &format!("group:{group_id}")).await?;
    check_year_open(&mut tx, year).await?;
    let view = load_group_calendar(&mut tx, ctx, &g, &t, year).await?;
    tx.rollback().await?;
    Ok(view)
}

/// Parsed changes of a group's dates: a new own date, or none for the authority's default.
type GroupChanges = Vec<(Event, Option<NaiveDate>)>;

fn parse_group_dates(input: &GroupDatesInput) -> AppResult<(GroupChanges, String)> {
    let mut e = Errors::default();
    let mut out: GroupChanges = Vec::new();
    for d in &input.events {
        let Some(event) = e.take(parse_event(&d.event)) else { continue };
        if out.iter().any(|o| o.0 == event) {
            let l = event.label();
            e.0.push(Invalid::new(l, format!("{l} được nhập hai lần.")));
            continue;
        }
        if let Some(date) = e.take(org::parse_opt_date(event.label(), &d.date)) {
            out.push((event, date));
        }
    }
    let reason = input.reason.split_whitespace().collect::<Vec<_>>().join(" ");
    if reason.is_empty() {
        e.0.push(Invalid::new("Lý do", "Hãy ghi lý do dời lịch (ví dụ: trùng lịch họp của tỉnh)."));
    } else if reason.chars().count() > 1000 {
        e.0.push(Invalid::new("Lý do", "Lý do quá dài (tối đa 1000 ký tự)."));
    }
    e.finish()?;
    Ok((out, reason))
}

/// Moves a group-year's dates within the authority's windows, or back to the
/// defaults. Refused (nothing stored) outside a window or out of order.
pub async fn move_group_dates(
    st: &AppState,
    ctx: &Ctx,
    group_id: i64,
    year: i32,
    input: &GroupDatesInput,
) -> AppResult<GroupCalendar> {
    let (changes, reason) = parse_group_dates(input)?;
    let mut tx = st.db.begin().await?;
    let g = q::group(&mut tx, group_id).await?.ok_or(AppError::NotFound)?;
    let t = group_target(&mut tx, &g, year).await?;
    tx = authorize(st, ctx, tx, Action::LeadGroupYear, &t, &format!("group:{group_id}")).await?;
    check_year_open(&mut tx, year).await?;
    if g.closed_on.as_deref().is_some_and(|c| c < format!("{year}-01-01").as_str()) {
        return Err(AppError::invalid("Năm", format!("Cụm, khối \"{}\" đã giải thể trước năm {year}.", g.name)));
    }
    c::lock(&mut tx, g.authority_id, year).await?;
    let windows = windows_of(&c::defaults(&mut tx, g.authority_id, year).await?);
    let gy = c::find_group_year(&mut tx, group_id, year).await?;
    let before = match gy {
        Some(id) => own_of(&c::group_dates(&mut tx, id).await?),
        None => BTreeMap::new(),
    };
    let mut after = before.clone();
    for (event, date) in &changes {
        match date {
            Some(d) => after.insert(*event, *d),
            None => after.remove(event),
        };
    }
    if after == before {
        let view = load_group_calendar(&mut tx, ctx, &g, &t, year).await?;
        tx.rollback().await?;
        return Ok(view);
    }
    cal::check_group(&as_list(&windows), &as_list(&after)).map_err(AppError::Invalid)?;
    let gy = match gy {
        Some(id) => id,
        None => q::group_year(&mut tx, group_id, year).await?,
    };
    let mut was = serde_json::Map::new();
    let mut now = serde_json::Map::new();
    for event in Event::ALL {
        let (b, a) = (before.get(event), after.get(event));
        if b == a {
            continue;
        }
        match a {
            Some(d) => c::set_group_date(&mut tx, gy, event.code(), &iso(*d), &reason, ctx.user.id).await?,
            None => c::delete_group_date(&mut tx, gy, event.code()).await?,
        };
        // null: the authority's default
        was.insert(event.code().into(), json!(b.map(|d| iso(*d))));
        now.insert(event.code().into(), json!(a.map(|d| iso(*d))));
    }
    let mut e = ctx.entry("calendar.move", "group", group_id);
    e.authority_id = Some(g.authority_id);
    e.before = Some(json!({ "year": year, "dates": was }));
    e.after = Some(json!({ "year": year, "dates": now }));
    e.reason = Some(reason);
    audit::append(&mut tx, e).await?;
    let view = load_group_calendar(&mut tx, ctx, &g, &t, year).await?;
    tx.commit().await?;
    Ok(view)
}
