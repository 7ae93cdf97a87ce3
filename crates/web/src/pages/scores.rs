//! The self-assessment sheet of a unit (phiếu tự chấm điểm): the lines of the
//! table in force with the inputs each method needs, the computed total and
//! class with their explanation, a draft save for the unit's officer and the
//! leader's signature. Plain forms, no JavaScript.

use std::collections::HashMap;
use std::sync::Arc;

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
use crate::gzip::Piece;
use crate::ops::scores::{
    self as ops, LineInput, SaveInput, SheetAdjust, SheetHtml, SheetLine, SheetLink, SheetParts, SheetView,
};
use crate::view::{Layout, html, html_with_pieces, redirect_with, render, stamp_vn};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cum-khoi/{id}/nam/{year}/tu-cham", get(index))
        .route("/cum-khoi/{id}/nam/{year}/tu-cham/{unit_id}", get(show).post(save))
        .route("/cum-khoi/{id}/nam/{year}/tu-cham/{unit_id}/ky-gui", post(submit))
}

#[derive(Template)]
#[template(path = "scores_index.html")]
struct IndexPage {
    l: Layout,
    group_id: i64,
    group_name: String,
    year: i32,
    links: Vec<SheetLink>,
}

#[derive(Template)]
#[template(path = "scores.html")]
struct SheetPage {
    l: Layout,
    s: SheetView,
    base: String,
    submitted: String,
    deadline: String,
    note: String,
    /// The bonus and the penalty lines, with their headings.
    /// The lines and the bonus and penalty tables ([`SheetRows`]).
    rows: Piece,
    /// The lines one may attach evidence to, as options ([`EvidenceLines`]).
    evidence_lines: Piece,
    errors: Vec<Invalid>,
}

/// The lines of a sheet, then its bonus and penalty tables: the bulk of the
/// page, the same for every reader who may (or may not) write, so rendered
/// once per shared parts ([`SheetHtml`]).
#[derive(Template)]
#[template(path = "_sheet_rows.html")]
struct SheetRows<'a> {
    lines: &'a [SheetLine],
    /// The bonus and the penalty lines, with their headings.
    adjusts: &'a [(&'static str, Arc<Vec<SheetAdjust>>)],
    may_write: bool,
}

#[derive(Template)]
#[template(path = "_sheet_evidence_lines.html")]
struct EvidenceLines<'a> {
    lines: &'a [SheetLine],
}

/// `piece` of the page: kept with the shared parts when the lines are theirs, else rendered for this answer.
fn piece(shared: Option<&SheetParts>, piece: SheetHtml, f: impl FnOnce() -> AppResult<String>) -> AppResult<Piece> {
    match shared {
        Some(p) => p.html(piece, f),
        // typed values, for this answer only: not worth compressing once
        None => Ok(Piece::stored(f()?)),
    }
}

fn base_of(s: &SheetView) -> String {
    format!("/cum-khoi/{}/nam/{}/tu-cham/{}", s.group_id, s.year, s.unit_id)
}

async fn index(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    let (g, links) = ops::readable_sheets(&st, &ctx, id, year).await?;
    let own: Vec<&SheetLink> = links.iter().filter(|l| l.own).collect();
    if links.len() == 1 && own.len() == 1 {
        let to = format!("/cum-khoi/{id}/nam/{year}/tu-cham/{}", own[0].unit_id);
        return Ok(axum::response::IntoResponse::into_response(axum::response::Redirect::to(&to)));
    }
    let page = IndexPage {
        l: Layout::new(format!("Tự chấm điểm năm {year} – {}", g.name), &ctx, &headers, "/cum-khoi"),
        group_id: g.id,
        group_name: g.name,
        year,
        links,
    };
    html(&page, &headers)
}

async fn page(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    key: (i64, i32, i64),
    typed: Option<&SaveInput>,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let (id, year, unit_id) = key;
    let mut s = ops::sheet(st, ctx, id, year, unit_id).await?;
    // typed values change the lines: their HTML is this answer's own
    let shared = if typed.is_some() { None } else { s.shared.take() };
    if let Some(t) = typed {
        for li in &t.lines {
            if let Some(l) = Arc::make_mut(&mut s.lines).iter_mut().find(|l| l.code == li.line_code) {
                l.value = li.value.clone();
                l.reason = li.reason.clone();
                l.base_seq = li.base_seq;
            } else if let Some(a) = Arc::make_mut(&mut s.bonus)
                .iter_mut()
                .chain(Arc::make_mut(&mut s.penalties).iter_mut())
                .find(|a| a.code == li.line_code)
            {
                a.value = li.value.clone();
                a.base_seq = li.base_seq;
            }
        }
    }
    let submitted = match (&s.submitted_by, &s.submitted_at) {
        (Some(by), Some(at)) => format!("{by}, {}", stamp_vn(at)),
        (None, Some(at)) => stamp_vn(at),
        _ => String::new(),
    };
    let deadline = s
        .deadline
        .as_deref()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .map(thidua_core::text::format_date)
        .unwrap_or_default();
    let adjusts = [("Điểm thưởng (số lần)", s.bonus.clone()), ("Điểm trừ (số lần)", s.penalties.clone())];
    let which = if s.may_write { SheetHtml::RowsWritable } else { SheetHtml::RowsReadOnly };
    let rows = piece(shared.as_deref(), which, || {
        render(&SheetRows { lines: &s.lines, adjusts: &adjusts, may_write: s.may_write })
    })?;
    let evidence_lines = if s.may_add_evidence {
        piece(shared.as_deref(), SheetHtml::EvidenceLines, || render(&EvidenceLines { lines: &s.lines }))?
    } else {
        Piece::default()
    };
    // the page around the rows: under 16 KiB with a hundred evidence files
    let size = rows.len() + evidence_lines.len() + 16 * 1024;
    let page = SheetPage {
        l: Layout::new(format!("Tự chấm điểm năm {year} – {}", s.unit_name), ctx, headers, "/cum-khoi"),
        rows,
        evidence_lines,
        base: base_of(&s),
        s,
        submitted,
        deadline,
        note: typed.map(|t| t.note.clone()).unwrap_or_default(),
        errors,
    };
    html_with_pieces(&page, headers, size, st.cfg.compress_pages)
}

async fn show(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(key): Path<(i64, i32, i64)>,
) -> AppResult<Response> {
    page(&st, &ctx, &headers, key, None, vec![]).await
}

async fn save(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(key): Path<(i64, i32, i64)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let (id, year, unit_id) = key;
    let mut lines: Vec<LineInput> = f
        .iter()
        .filter_map(|(k, b)| {
            let code = k.strip_prefix("b:")?;
            Some(LineInput {
                line_code: code.to_string(),
                value: f.get(&format!("v:{code}")).cloned().unwrap_or_default(),
                reason: f.get(&format!("r:{code}")).cloned().unwrap_or_default(),
                base_seq: b.trim().parse().ok(),
                remark: String::new(),
            })
        })
        .collect();
    lines.sort_by(|a, b| a.line_code.cmp(&b.line_code));
    let input = SaveInput { lines, note: f.get("note").cloned().unwrap_or_default() };
    match ops::save(&st, &ctx, id, year, unit_id, &input).await {
        Ok(s) => {
            let to = format!("/cum-khoi/{}/nam/{}/tu-cham/{}", s.group_id, s.year, s.unit_id);
            Ok(redirect_with(&to, "ok", &format!("Đã lưu nháp phiếu tự chấm năm {year} của {}.", s.unit_name)))
        }
        Err(e) => page(&st, &ctx, &headers, key, Some(&input), errors_of(e)?).await,
    }
}

async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(key): Path<(i64, i32, i64)>,
) -> AppResult<Response> {
    let (id, year, unit_id) = key;
    match ops::submit(&st, &ctx, id, year, unit_id).await {
        Ok(s) => Ok(redirect_with(
            &base_of(&s),
            "ok",
            &format!("Đã ký, gửi phiếu tự chấm năm {year} của {}. Phiếu đã khóa.", s.unit_name),
        )),
        Err(e) => page(&st, &ctx, &headers, key, None, errors_of(e)?).await,
    }
}
