//! The calendar of a group's year: the authority's defaults and windows, and
//! a group-year's own dates.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

use crate::AppState;
use crate::auth::Ctx;
use crate::error::AppResult;
use crate::ops::calendar::{
    self as ops, AuthorityCalendar, CalendarRules, DefaultsInput, GroupCalendar, GroupDatesInput,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/calendar/rules", get(rules))
        .route("/authorities/{id}/years/{year}/calendar", get(authority_calendar).put(set_defaults))
        .route("/groups/{id}/years/{year}/calendar", get(group_calendar).put(move_dates))
}

#[utoipa::path(get, path = "/api/v1/calendar/rules", tag = "Lịch",
    responses((status = 200, description = "Các việc trong lịch, quy tắc thứ tự và khoảng thời gian của một năm thi đua", body = CalendarRules)))]
pub async fn rules(_ctx: Ctx) -> AppResult<Json<CalendarRules>> {
    Ok(Json(ops::rules()))
}

#[utoipa::path(get, path = "/api/v1/authorities/{id}/years/{year}/calendar", tag = "Lịch",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Lịch chung của cơ quan tổ chức trong năm", body = AuthorityCalendar), (status = 403), (status = 404), (status = 422)))]
pub async fn authority_calendar(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((authority_id, year)): Path<(i64, i32)>,
) -> AppResult<Json<AuthorityCalendar>> {
    Ok(Json(ops::authority_calendar(&st, &ctx, authority_id, year).await?))
}

#[utoipa::path(put, path = "/api/v1/authorities/{id}/years/{year}/calendar", tag = "Lịch",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = DefaultsInput,
    responses((status = 200, description = "Lịch chung sau khi lưu; các việc không gửi lên giữ nguyên", body = AuthorityCalendar), (status = 403), (status = 404), (status = 422)))]
pub async fn set_defaults(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((authority_id, year)): Path<(i64, i32)>,
    Json(i): Json<DefaultsInput>,
) -> AppResult<Json<AuthorityCalendar>> {
    Ok(Json(ops::set_defaults(&st, &ctx, authority_id, year, &i).await?))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}/years/{year}/calendar", tag = "Lịch",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Lịch của cụm, khối trong năm: ngày hiệu lực, nguồn và khoảng cho phép của từng việc", body = GroupCalendar), (status = 403), (status = 404), (status = 422)))]
pub async fn group_calendar(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Json<GroupCalendar>> {
    Ok(Json(ops::group_calendar(&st, &ctx, id, year).await?))
}

#[utoipa::path(put, path = "/api/v1/groups/{id}/years/{year}/calendar", tag = "Lịch",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = GroupDatesInput,
    responses((status = 200, description = "Lịch của cụm, khối sau khi lưu; các việc không gửi lên giữ nguyên", body = GroupCalendar), (status = 403), (status = 404), (status = 422)))]
pub async fn move_dates(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Json(i): Json<GroupDatesInput>,
) -> AppResult<Json<GroupCalendar>> {
    Ok(Json(ops::move_group_dates(&st, &ctx, id, year, &i).await?))
}
