//! The score chain through the API: a unit's chain and the caller's stage,
//! evidence files, the review table, the year's phase, finalisation,
//! publication, results (JSON and xlsx) and the public results.

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Ctx;
use crate::error::AppResult;
use crate::ops::chain::{self as ops, ChainView, ResultsView, ReviewView, StageInput};
use crate::pages::chain::xlsx_response;
use crate::pages::documents::{MULTIPART_LIMIT, file_response, read_fields};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups/{id}/years/{year}/chain/{unit_id}/evidence", post(add_evidence))
        .layer(DefaultBodyLimit::max(MULTIPART_LIMIT))
        .route("/groups/{id}/years/{year}/chain/{unit_id}", get(get_chain).post(write))
        .route("/groups/{id}/years/{year}/chain/{unit_id}/xlsx", get(unit_xlsx))
        .route("/groups/{id}/years/{year}/chain/{unit_id}/reopen", post(reopen_sheet))
        .route("/groups/{id}/years/{year}/chain/{unit_id}/evidence/{eid}", delete(remove_evidence))
        .route("/evidence/{eid}", get(evidence_file))
        .route("/groups/{id}/years/{year}/review", get(review))
        .route("/groups/{id}/years/{year}/advance", post(advance))
        .route("/groups/{id}/years/{year}/finalise", post(finalise))
        .route("/groups/{id}/years/{year}/reopen", post(reopen_final))
        .route("/groups/{id}/years/{year}/publication", post(publish).delete(unpublish))
        .route("/groups/{id}/years/{year}/results", get(results))
        .route("/groups/{id}/years/{year}/results/xlsx", get(results_xlsx))
        .route("/public/results/{id}/{year}", get(public_results))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}/years/{year}/chain/{unit_id}", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path), ("unit_id" = i64, Path)),
    responses((status = 200, description = "Mọi bước của phiếu điểm đơn vị: tự chấm, đề xuất kiểm tra chéo, đề xuất của đơn vị trưởng, giải trình, thẩm định, kết quả cuối cùng; minh chứng, lịch sử, điểm đang có hiệu lực và bước người gọi được ghi", body = ChainView), (status = 403), (status = 404)))]
pub async fn get_chain(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit_id)): Path<(i64, i32, i64)>,
) -> AppResult<Json<ChainView>> {
    Ok(Json(ops::unit_chain(&st, &ctx, id, year, unit_id).await?))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/chain/{unit_id}", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path), ("unit_id" = i64, Path)), request_body = StageInput,
    responses((status = 200, description = "Đã ghi bước của người gọi (đề xuất kiểm tra chéo, đề xuất điều chỉnh, giải trình, thẩm định hay kết quả sau quyết định mở lại); mỗi dòng có giá trị thành một bản ghi mới, kèm lý do (`remark`)", body = ChainView), (status = 403), (status = 404), (status = 422)))]
pub async fn write(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit_id)): Path<(i64, i32, i64)>,
    Json(i): Json<StageInput>,
) -> AppResult<Json<ChainView>> {
    Ok(Json(ops::write_stage(&st, &ctx, id, year, unit_id, &i).await?))
}

/// Biểu mẫu gắn tệp minh chứng vào một dòng (multipart/form-data).
#[derive(ToSchema)]
#[allow(dead_code)]
struct EvidenceForm {
    /// Mã dòng của bảng điểm (tiêu chí, dòng thưởng hay dòng trừ).
    line_code: String,
    /// PDF, DOCX, XLSX, PNG, JPEG hay WebP; tối đa 10 MB.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/chain/{unit_id}/evidence", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path), ("unit_id" = i64, Path)),
    request_body(content = inline(EvidenceForm), content_type = "multipart/form-data"),
    responses((status = 200, description = "Đã gắn tệp vào dòng: một bản ghi mới của bước đơn vị đang ghi (tự chấm hay giải trình) mang giá trị của dòng và danh sách minh chứng mới", body = ChainView), (status = 403), (status = 404), (status = 413), (status = 422)))]
pub async fn add_evidence(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit_id)): Path<(i64, i32, i64)>,
    mp: Multipart,
) -> AppResult<Json<ChainView>> {
    let (fields, up) = read_fields(&st, mp).await?;
    let line = fields.get("line_code").cloned().unwrap_or_default();
    Ok(Json(ops::add_evidence(&st, &ctx, id, year, unit_id, &line, &up).await?))
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}/years/{year}/chain/{unit_id}/evidence/{eid}", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path), ("unit_id" = i64, Path), ("eid" = i64, Path)),
    responses((status = 200, description = "Đã gỡ tệp khỏi dòng (tệp vẫn còn trong lịch sử)", body = ChainView), (status = 403), (status = 404), (status = 422)))]
pub async fn remove_evidence(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit_id, eid)): Path<(i64, i32, i64, i64)>,
) -> AppResult<Json<ChainView>> {
    Ok(Json(ops::remove_evidence(&st, &ctx, id, year, unit_id, eid).await?))
}

#[utoipa::path(get, path = "/api/v1/evidence/{eid}", tag = "Chuỗi chấm điểm", params(("eid" = i64, Path)),
    responses((status = 200, description = "Tệp minh chứng (cho người được xem phiếu của đơn vị)"), (status = 403), (status = 404)))]
pub async fn evidence_file(State(st): State<AppState>, ctx: Ctx, Path(eid): Path<i64>) -> AppResult<Response> {
    Ok(file_response(ops::evidence_file(&st, &ctx, eid).await?))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}/years/{year}/chain/{unit_id}/xlsx", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path), ("unit_id" = i64, Path)),
    responses((status = 200, description = "Phiếu chấm điểm của đơn vị (tệp xlsx)"), (status = 403), (status = 404)))]
pub async fn unit_xlsx(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit_id)): Path<(i64, i32, i64)>,
) -> AppResult<Response> {
    let (bytes, name) = ops::unit_xlsx(&st, &ctx, id, year, unit_id).await?;
    Ok(xlsx_response(bytes, &name))
}

/// A reason (reopening a sheet) or a decision (reopening final results).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonInput {
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/chain/{unit_id}/reopen", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path), ("unit_id" = i64, Path)), request_body = ReasonInput,
    responses((status = 200, description = "Cơ quan thường trực đã mở lại phiếu tự chấm của đơn vị, có lý do", body = ChainView), (status = 403), (status = 404), (status = 422)))]
pub async fn reopen_sheet(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year, unit_id)): Path<(i64, i32, i64)>,
    Json(i): Json<ReasonInput>,
) -> AppResult<Json<ChainView>> {
    Ok(Json(ops::reopen_sheet(&st, &ctx, id, year, unit_id, &i.reason).await?))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}/years/{year}/review", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Bảng tổng hợp: mọi thành viên cạnh nhau, giá trị tự chấm, đề xuất, minh chứng, cờ cảnh báo, bước hiện tại", body = ReviewView), (status = 403), (status = 404)))]
pub async fn review(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Json<ReviewView>> {
    Ok(Json(ops::review(&st, &ctx, id, year).await?))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/advance", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Khối đã chuyển sang bước tiếp theo", body = ReviewView), (status = 403), (status = 404), (status = 422)))]
pub async fn advance(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Json<ReviewView>> {
    Ok(Json(ops::advance(&st, &ctx, id, year).await?))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/finalise", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Đã chốt kết quả cuối cùng: mỗi giá trị đang có hiệu lực được ghi thành kết quả cuối cùng và khóa", body = ReviewView), (status = 403), (status = 404), (status = 422)))]
pub async fn finalise(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Json<ReviewView>> {
    Ok(Json(ops::finalise(&st, &ctx, id, year).await?))
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/reopen", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = ReasonInput,
    responses((status = 200, description = "Đã mở lại kết quả cuối cùng theo quyết định (số, ngày ghi trong `reason`)", body = ReviewView), (status = 403), (status = 404), (status = 422)))]
pub async fn reopen_final(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Json(i): Json<ReasonInput>,
) -> AppResult<Json<ReviewView>> {
    Ok(Json(ops::reopen_final(&st, &ctx, id, year, &i.reason).await?))
}

/// Whether the public page shows the reasons of adjustments.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PublishInput {
    #[serde(default)]
    pub reasons: bool,
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/years/{year}/publication", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path)), request_body = PublishInput,
    responses((status = 200, description = "Đã công bố kết quả cuối cùng trên trang công khai", body = ReviewView), (status = 403), (status = 404), (status = 422)))]
pub async fn publish(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
    Json(i): Json<PublishInput>,
) -> AppResult<Json<ReviewView>> {
    Ok(Json(ops::publish(&st, &ctx, id, year, true, i.reasons).await?))
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}/years/{year}/publication", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Đã thu hồi công bố", body = ReviewView), (status = 403), (status = 404), (status = 422)))]
pub async fn unpublish(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Json<ReviewView>> {
    Ok(Json(ops::publish(&st, &ctx, id, year, false, false).await?))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}/years/{year}/results", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Bảng tổng hợp kết quả chấm điểm: điểm tự chấm, điểm thưởng, trừ, tổng điểm, xếp loại, xếp hạng, chênh lệch", body = ResultsView), (status = 403), (status = 404)))]
pub async fn results(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Json<ResultsView>> {
    Ok(Json(ops::results(&st, &ctx, id, year).await?))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}/years/{year}/results/xlsx", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Bảng tổng hợp kết quả chấm điểm (tệp xlsx)"), (status = 403), (status = 404)))]
pub async fn results_xlsx(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Response> {
    let (bytes, name) = ops::results_xlsx(&st, &ctx, id, year).await?;
    Ok(xlsx_response(bytes, &name))
}

#[utoipa::path(get, path = "/api/v1/public/results/{id}/{year}", tag = "Chuỗi chấm điểm",
    params(("id" = i64, Path), ("year" = i32, Path)),
    responses((status = 200, description = "Kết quả đã công bố (không cần đăng nhập): tổng điểm, xếp loại, xếp hạng; lý do chỉ khi cơ quan thường trực chọn công khai; không có minh chứng", body = ResultsView), (status = 404)))]
pub async fn public_results(
    State(st): State<AppState>,
    Path((id, year)): Path<(i64, i32)>,
) -> AppResult<Json<ResultsView>> {
    Ok(Json(ops::public_results(&st, id, year).await?))
}
