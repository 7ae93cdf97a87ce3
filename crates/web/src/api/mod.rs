//! The JSON API `/api/v1`, documented by the OpenAPI document at
//! `/api/v1/openapi.json`. Cookie sessions as for the pages; every
//! state-changing call carries the session's CSRF token in `X-CSRF-Token`.

use axum::Json;
use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(info(title = "thidua API", version = "1", description = "API quản lý thi đua cụm, khối."))]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}
