//! The score chain's pages: a unit's chain (every stage side by side, the
//! caller's stage as a form), the head-review table with its flags and the
//! phase controls, the results and their xlsx, evidence files, and the public
//! page of published results. Plain forms, no JavaScript needed.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use thidua_core::Invalid;

use super::org::errors_of;
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::gzip::Piece;
use crate::ops::chain::{
    self as ops, ChainView, ResultsView, ReviewFlag, ReviewRow, ReviewUnit, ReviewView, StageInput,
};
use crate::ops::scores::LineInput;
use crate::view::{Layout, html, html_sized, redirect_with, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cum-khoi/{id}/nam/{year}/diem/{unit_id}/minh-chung", post(add_evidence))
        .layer(DefaultBodyLimit::max(super::documents::MULTIPART_LIMIT))
        .route("/cum-khoi/{id}/nam/{year}/tong-hop", get(review))
        .route("/cum-khoi/{id}/nam/{year}/tong-hop/chuyen-buoc", post(advance))
        .route("/cum-khoi/{id}/nam/{year}/tong-hop/chot", post(finalise))
        .route("/cum-khoi/{id}/nam/{year}/tong-hop/mo-lai", post(reopen_final))
        .route("/cum-khoi/{id}/nam/{year}/tong-hop/cong-bo", post(publish))
        .route("/cum-khoi/{id}/nam/{year}/tong-hop/thu-hoi", post(unpublish))
        .route("/cum-khoi/{id}/nam/{year}/diem/{unit_id}", get(show).post(write))
        .route("/cum-khoi/{id}/nam/{year}/diem/{unit_id}/xlsx", get(unit_xlsx))
        .route("/cum-khoi/{id}/nam/{year}/diem/{unit_id}/mo-phieu", post(reopen_sheet))
        .route("/cum-khoi/{id}/nam/{year}/diem/{unit_id}/minh-chung/{eid}/go", post(remove_evidence))
        .route("/minh-chung/{eid}", get(evidence_file))
        .route("/cum-khoi/{id}/nam/{year}/ket-qua", get(results))
        .route("/cum-khoi/{id}/nam/{year}/ket-qua/xlsx", get(results_xlsx))
        .route("/cong-khai", get(public_list))
        .route("/cong-khai/{id}/{year}", get(public_results))
}

fn review_url(id: i64, year: i32) -> String {
    format!("/cum-khoi/{id}/nam/{year}/tong-hop")
}

fn chain_url(id: i64, year: i32, unit: i64) -> String {
    format!("/cum-khoi/{id}/nam/{year}/diem/{unit}")
}

// ---------- review ----------

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    l: Layout,
    r: ReviewView,
    base: String,
    /// The members, the flags and the rows ([`ReviewTables`]).
    tables: Piece,
    errors: Vec<Invalid>,
}

/// The members, the flags and the rows of the review table: the bulk of the
/// page, the same for every reader, rendered once per shared parts.
#[derive(Template)]
#[template(path = "_review_tables.html")]
struct ReviewTables<'a> {
    group_id: i64,
    year: i32,
    units: &'a [ReviewUnit],
    rows: &'a [ReviewRow],
    flags: &'a [ReviewFlag],
}

async fn review_page(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    id: i64,
    year: i32,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let r = ops::review(st, ctx, id, year).await?;
    let tables = r.shared.html(|| {
        render(&ReviewTables { group_id: r.group_id, year: r.year, units: &r.units, rows: &r.rows, flags: &r.flags })
    })?;
    let size = tables.len() + 16 * 1024;
    let page = ReviewPage {
        l: Layout::new(format!("Bảng tổng hợp điểm năm {year} – {}", r.group_name), ctx, headers, "/cum-khoi"),
        base: review_url(id, year),
        tables,
        r,
        errors,
    };
    // its piece is never compressed (`ReviewParts::html`): sent as it is
    html_sized(&page, headers, size)
}

async fn review(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    // a member without the review table goes to its own unit's scores
    if !ops::may_review(&st, &ctx, id, year).await?
        && let Some(unit) = ops::own_member(&st, &ctx, id, year).await?
    {
        return Ok(axum::response::Redirect::to(&chain_url(id, year, unit)).into_response());
    }
    review_page(&st, &ctx, &headers, id, year, vec![]).await
}

async fn after_review(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    key: (i64, i32),
    done: AppResult<ReviewView>,
    message: impl FnOnce(&ReviewView) -> String,
) -> AppResult<Response> {
    match done {
        Ok(r) => Ok(redirect_with(&review_url(key.0, key.1), "ok", &message(&r))),
        Err(e) => review_page(st, ctx, headers, key.0, key.1, errors_of(e)?).await,
    }
}

async fn advance(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(key): Path<(i64, i32)>,
) -> AppResult<Response> {
    let done = ops::advance(&st, &ctx, key.0, key.1).await;
    after_review(&st, &ctx, &headers, key, done, |r| format!("Cụm, khối đã chuyển sang bước {}.", r.status.phase_label))
        .await
}

async fn finalise(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(key): Path<(i64, i32)>,
) -> AppResult<Response> {
    let done = ops::finalise(&st, &ctx, key.0, key.1).await;
    after_review(&st, &ctx, &headers, key, done, |_| {
        "Đã chốt kết quả cuối cùng. Kết quả đã khóa; có thể công bố.".to_string()
    })
    .await
}

async fn reopen_final(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(key): Path<(i64, i32)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let decision = f.get("decision").cloned().unwrap_or_default();
    let done = ops::reopen_final(&st, &ctx, key.0, key.1, &decision).await;
    after_review(&st, &ctx, &headers, key, done, |_| "Đã mở lại kết quả cuối cùng theo quyết định.".to_string()).await
}

async fn publish(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(key): Path<(i64, i32)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let reasons = f.get("reasons").is_some_and(|v| v == "1" || v == "on");
    let done = ops::publish(&st, &ctx, key.0, key.1, true, reasons).await;
    after_review(&st, &ctx, &headers, key, done, |_| {
        format!("Đã công bố kết quả. Trang công khai: /cong-khai/{}/{}", key.0, key.1)
    })
    .await
}

async fn unpublish(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(key): Path<(i64, i32)>,
) -> AppResult<Response> {
    let done = ops::publish(&st, &ctx, key.0, key.1, false, false).await;
    after_review(&st, &ctx, &headers, key, done, |_| "Đã thu hồi công bố kết quả.".to_string()).await
}

// ---------- a unit's chain ----------

#[derive(Template)]
#[template(path = "chain.html")]
struct ChainPage {
    l: Layout,
    c: ChainView,
    base: String,
    /// What was typed, by line code: (value, manual reason, remark).
    typed: HashMap<String, (String, String, String)>,
    errors: Vec<Invalid>,
    may_review: bool,
}

impl ChainPage {
    fn typed_value(&self, x: &ops::ChainLine) -> String {
        self.typed.get(&x.code).map(|t| t.0.clone()).unwrap_or_default()
    }
    /// The explanation form keeps the unit's own value (typed, and not the proposal's).
    fn keeps(&self, x: &ops::ChainLine) -> bool {
        let cur = self.typed_value(x);
        !cur.is_empty()
            && x.self_value.as_ref().is_some_and(|o| o.value == cur)
            && x.head_review.as_ref().is_none_or(|p| p.value != cur)
    }
    fn typed_reason(&self, code: &str) -> String {
        self.typed.get(code).map(|t| t.1.clone()).unwrap_or_default()
    }
    fn typed_remark(&self, code: &str) -> String {
        self.typed.get(code).map(|t| t.2.clone()).unwrap_or_default()
    }
}

async fn chain_page(
    st: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    key: (i64, i32, i64),
    typed: HashMap<String, (String, String, String)>,
    errors: Vec<Invalid>,
) -> AppResult<Response> {
    let (id, year, unit) = key;
    let c = ops::unit_chain(st, ctx, id, year, unit).await?;
    let may_review = crate::ops::chain::may_review(st, ctx, id, year).await?;
    let page = ChainPage {
        l: Layout::new(format!("Điểm năm {year} – {}", c.unit_name), ctx, headers, "/cum-khoi"),
        base: chain_url(id, year, unit),
        c,
        typed,
        errors,
        may_review,
    };
    html(&page, headers)
}

async fn show(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(key): Path<(i64, i32, i64)>,
) -> AppResult<Response> {
    chain_page(&st, &ctx, &headers, key, HashMap::new(), vec![]).await
}

/// The lines of a stage form: `b:CODE` (base), `v:CODE` (value), `r:CODE`
/// (a manual criterion's reason), `m:CODE` (the remark or reason of the entry).
pub fn stage_lines(f: &HashMap<String, String>) -> Vec<LineInput> {
    let mut lines: Vec<LineInput> = f
        .iter()
        .filter_map(|(k, b)| {
            let code = k.strip_prefix("b:")?;
            Some(LineInput {
                line_code: code.to_string(),
                value: f.get(&format!("v:{code}")).cloned().unwrap_or_default(),
                reason: f.get(&format!("r:{code}")).cloned().unwrap_or_default(),
                base_seq: b.trim().parse().ok(),
                remark: f.get(&format!("m:{code}")).cloned().unwrap_or_default(),
            })
        })
        .collect();
    lines.sort_by(|a, b| a.line_code.cmp(&b.line_code));
    lines
}

async fn write(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(key): Path<(i64, i32, i64)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let (id, year, unit) = key;
    let input = StageInput { lines: stage_lines(&f) };
    match ops::write_stage(&st, &ctx, id, year, unit, &input).await {
        Ok(c) => Ok(redirect_with(
            &chain_url(id, year, unit),
            "ok",
            &format!("Đã ghi \"{}\" cho {}.", c.write_stage_label.clone().unwrap_or_default(), c.unit_name),
        )),
        Err(e) => {
            let errors = errors_of(e)?;
            let typed = input
                .lines
                .into_iter()
                .map(|l| (l.line_code, (l.value, l.reason, l.remark)))
                .collect::<HashMap<_, _>>();
            chain_page(&st, &ctx, &headers, key, typed, errors).await
        }
    }
}

async fn reopen_sheet(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(key): Path<(i64, i32, i64)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let (id, year, unit) = key;
    let reason = f.get("reason").cloned().unwrap_or_default();
    match ops::reopen_sheet(&st, &ctx, id, year, unit, &reason).await {
        Ok(c) => Ok(redirect_with(
            &chain_url(id, year, unit),
            "ok",
            &format!("Đã mở lại phiếu tự chấm của {}. Đơn vị sửa rồi lãnh đạo ký gửi lại.", c.unit_name),
        )),
        Err(e) => chain_page(&st, &ctx, &headers, key, HashMap::new(), errors_of(e)?).await,
    }
}

async fn unit_xlsx(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit)): Path<(i64, i32, i64)>,
) -> AppResult<Response> {
    let (bytes, name) = ops::unit_xlsx(&st, &ctx, id, year, unit).await?;
    Ok(xlsx_response(bytes, &name))
}

pub fn xlsx_response(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response()
}

// ---------- evidence ----------

/// Where to go back after an evidence change: the self-assessment sheet or the chain page.
fn back_to(back: &str, id: i64, year: i32, unit: i64) -> String {
    if back == "tu-cham" { format!("/cum-khoi/{id}/nam/{year}/tu-cham/{unit}") } else { chain_url(id, year, unit) }
}

async fn add_evidence(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(key): Path<(i64, i32, i64)>,
    mp: Multipart,
) -> AppResult<Response> {
    let (id, year, unit) = key;
    let (fields, up) = super::documents::read_fields(&st, mp).await?;
    let line = fields.get("line_code").cloned().unwrap_or_default();
    let back = fields.get("back").cloned().unwrap_or_default();
    let to = back_to(&back, id, year, unit);
    match ops::add_evidence(&st, &ctx, id, year, unit, &line, &up).await {
        Ok(_) => Ok(redirect_with(&to, "ok", &format!("Đã gắn tệp minh chứng \"{}\" vào dòng {line}.", up.file_name))),
        Err(AppError::Invalid(errs)) => {
            let text = errs.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" ");
            Ok(redirect_with(&to, "error", &text))
        }
        Err(AppError::TooLarge(m)) => Ok(redirect_with(&to, "error", &m)),
        Err(e) => Err(e),
    }
}

async fn remove_evidence(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit, eid)): Path<(i64, i32, i64, i64)>,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let to = back_to(f.get("back").map(String::as_str).unwrap_or(""), id, year, unit);
    match ops::remove_evidence(&st, &ctx, id, year, unit, eid).await {
        Ok(_) => Ok(redirect_with(&to, "ok", "Đã gỡ tệp minh chứng khỏi dòng (tệp vẫn được lưu trong lịch sử).")),
        Err(AppError::Invalid(errs)) => {
            let text = errs.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" ");
            Ok(redirect_with(&to, "error", &text))
        }
        Err(e) => Err(e),
    }
}

async fn evidence_file(State(st): State<AppState>, ctx: Ctx, Path(eid): Path<i64>) -> AppResult<Response> {
    Ok(super::documents::file_response(ops::evidence_file(&st, &ctx, eid).await?))
}

// ---------- results ----------

#[derive(Template)]
#[template(path = "results.html")]
struct ResultsPage {
    l: Layout,
    r: ResultsView,
    public: bool,
    show_reasons: bool,
}

async fn results(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    let r = ops::results(&st, &ctx, id, year).await?;
    let page = ResultsPage {
        l: Layout::new(format!("Kết quả chấm điểm năm {year} – {}", r.group_name), &ctx, &headers, "/cum-khoi"),
        r,
        public: false,
        show_reasons: true,
    };
    html(&page, &headers)
}

async fn results_xlsx(State(st): State<AppState>, ctx: Ctx, Path((id, year)): Path<(i64, i32)>) -> AppResult<Response> {
    let (bytes, name) = ops::results_xlsx(&st, &ctx, id, year).await?;
    Ok(xlsx_response(bytes, &name))
}

#[derive(Template)]
#[template(path = "public_list.html")]
struct PublicListPage {
    l: Layout,
    rows: Vec<thidua_db::scores::PublishedRow>,
}

async fn public_list(State(st): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    let rows = ops::public_list(&st).await?;
    let page = PublicListPage { l: Layout::anonymous("Kết quả thi đua đã công bố", &headers), rows };
    html(&page, &headers)
}

async fn public_results(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    let r = ops::public_results(&st, id, year).await?;
    let show_reasons = r.status.publish_reasons;
    let page = ResultsPage {
        l: Layout::anonymous(format!("Kết quả chấm điểm thi đua năm {year} – {}", r.group_name), &headers),
        r,
        public: true,
        show_reasons,
    };
    html(&page, &headers)
}
