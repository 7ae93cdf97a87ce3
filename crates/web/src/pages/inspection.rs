//! The page of a group-year's cross-inspection plan: the plan, last year's,
//! the warnings; for the head or deputy unit (and the secretariat) a button to
//! generate the plan and a form to adjust it by hand. Plain forms, no JavaScript.

use std::collections::HashMap;

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
use crate::ops::inspection::{self as ops, AdjustInput, InspectionPlan, PairInput};
use crate::view::{Layout, html, redirect_with, stamp_vn};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cum-khoi/{id}/nam/{year}/kiem-tra-cheo", get(show).post(adjust))
        .route("/cum-khoi/{id}/nam/{year}/kiem-tra-cheo/lap", post(generate))
}

struct Choice {
    unit_id: i64,
    name: String,
    selected: bool,
}

/// One row of the adjustment form: the inspected unit and who may inspect it.
struct AdjustRow {
    unit_id: i64,
    name: String,
    choices: Vec<Choice>,
    none_selected: bool,
}

#[derive(Template)]
#[template(path = "inspection.html")]
struct PlanPage {
    l: Layout,
    p: InspectionPlan,
    made: String,
    rows: Vec<AdjustRow>,
    errors: Vec<Invalid>,
    reason: String,
}

fn role_vn(role: &str) -> &'static str {
    match role {
        "head" => "Trưởng cụm, khối",
        "deputy" => "Phó cụm, khối",
        _ => "Thành viên",
    }
}

async fn page(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    group_id: i64,
    year: i32,
    typed: Option<&AdjustInput>,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let p = ops::plan(st, ctx, group_id, year).await?;
    let rows = p
        .members
        .iter()
        .map(|m| {
            let chosen = match typed {
                Some(t) => t.pairs.iter().find(|x| x.inspected_unit_id == m.unit_id).map(|x| x.inspector_unit_id),
                None => p.pairs.iter().find(|x| x.inspected_unit_id == m.unit_id).map(|x| x.inspector_unit_id),
            };
            AdjustRow {
                unit_id: m.unit_id,
                name: format!("{} ({})", m.name, role_vn(&m.role)),
                choices: p
                    .members
                    .iter()
                    .map(|o| Choice { unit_id: o.unit_id, name: o.name.clone(), selected: chosen == Some(o.unit_id) })
                    .collect(),
                none_selected: chosen.is_none(),
            }
        })
        .collect();
    let made = match (&p.created_by, &p.created_at) {
        (Some(by), Some(at)) => format!("{by}, {}", stamp_vn(at)),
        (None, Some(at)) => stamp_vn(at),
        _ => String::new(),
    };
    let page = PlanPage {
        l: Layout::new(format!("Kiểm tra chéo năm {year} – {}", p.group_name), ctx, headers, "/cum-khoi"),
        p,
        made,
        rows,
        errors,
        reason: typed.map(|t| t.reason.clone()).unwrap_or_default(),
    };
    html(&page, headers)
}

async fn show(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    page(&st, &ctx, &headers, id, year, None, vec![]).await
}

async fn generate(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    match ops::generate(&st, &ctx, id, year).await {
        Ok(p) => Ok(redirect_with(
            &format!("/cum-khoi/{id}/nam/{year}/kiem-tra-cheo"),
            "ok",
            &format!("Đã lập kế hoạch kiểm tra chéo năm {year} của {}.", p.group_name),
        )),
        Err(e) => page(&st, &ctx, &headers, id, year, None, errors_of(e)?).await,
    }
}

async fn adjust(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let mut pairs: Vec<PairInput> = f
        .iter()
        .filter_map(|(k, v)| {
            let inspected = k.strip_prefix("inspector_")?.parse().ok()?;
            let inspector = v.trim().parse().ok()?;
            Some(PairInput { inspector_unit_id: inspector, inspected_unit_id: inspected })
        })
        .collect();
    pairs.sort_by_key(|p| p.inspected_unit_id);
    let input = AdjustInput { pairs, reason: f.get("reason").cloned().unwrap_or_default() };
    match ops::adjust(&st, &ctx, id, year, &input).await {
        Ok(p) => Ok(redirect_with(
            &format!("/cum-khoi/{id}/nam/{year}/kiem-tra-cheo"),
            "ok",
            &format!("Đã lưu kế hoạch kiểm tra chéo năm {year} của {}.", p.group_name),
        )),
        Err(e) => page(&st, &ctx, &headers, id, year, Some(&input), errors_of(e)?).await,
    }
}
