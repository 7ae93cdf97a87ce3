//! The JSON API `/api/v1`, documented by the OpenAPI document at
//! `/api/v1/openapi.json`. It uses the same cookie sessions as the pages;
//! every state-changing call carries the session's CSRF token in the
//! `X-CSRF-Token` header (returned by `POST /api/v1/session` and `GET /api/v1/me`).
//! Errors are `{"error": {"code", "message", "fields", "request_id"}}` with
//! Vietnamese messages.

pub mod calendar;
pub mod chain;
pub mod covenant;
pub mod documents;
pub mod import;
pub mod inspection;
pub mod org;
pub mod scores;
pub mod session;
pub mod tables;
pub mod users;

use axum::Router;
use axum::routing::{delete, get, post, put};
use utoipa::OpenApi;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "thidua API",
        version = "1",
        description = "API của thidua: quản lý thi đua, khen thưởng của cụm, khối thi đua. Mọi thông báo bằng tiếng Việt."
    ),
    paths(
        session::login,
        session::logout,
        session::me,
        session::sessions,
        session::end_session,
        session::change_password,
        org::list_authorities,
        org::create_authority,
        org::get_authority,
        org::update_authority,
        org::close_authority,
        org::list_years,
        org::open_year,
        org::list_units,
        org::create_unit,
        org::get_unit,
        org::update_unit,
        org::close_unit,
        org::add_lineage,
        org::list_groups,
        org::create_group,
        org::get_group,
        org::update_group,
        org::close_group,
        org::add_member,
        org::set_member_role,
        org::remove_member,
        calendar::rules,
        calendar::authority_calendar,
        calendar::set_defaults,
        calendar::group_calendar,
        calendar::move_dates,
        inspection::get_plan,
        inspection::generate,
        inspection::adjust,
        scores::get_sheet,
        scores::save,
        scores::submit,
        scores::preview,
        chain::get_chain,
        chain::write,
        chain::add_evidence,
        chain::remove_evidence,
        chain::evidence_file,
        chain::unit_xlsx,
        chain::reopen_sheet,
        chain::review,
        chain::advance,
        chain::finalise,
        chain::reopen_final,
        chain::publish,
        chain::unpublish,
        chain::results,
        chain::results_xlsx,
        chain::public_results,
        users::list,
        users::create,
        users::get,
        users::add_grant,
        users::remove_grant,
        users::reset_password,
        users::set_disabled,
        users::audit,
        tables::list_templates,
        tables::create_template,
        tables::get_template,
        tables::replace_template,
        tables::edit_template,
        tables::publish_template,
        tables::overview,
        tables::start,
        tables::new_version,
        tables::get_version,
        tables::replace_draft,
        tables::edit_draft,
        tables::adopt,
        import::import_units,
        import::import_memberships,
        import::export_units,
        import::export_memberships,
        documents::list,
        documents::create,
        documents::get_document,
        documents::versions,
        documents::add_version,
        documents::download,
        covenant::get_covenant,
        covenant::update_covenant,
        covenant::set_targets,
        covenant::export_targets,
        covenant::import_targets,
        covenant::sign,
        covenant::signed,
        covenant::penalize,
    ),
    components(schemas(
        crate::ops::import::ImportReport,
        crate::ops::import::RowError,
        crate::ops::import::RowChange
    ))
)]
pub struct ApiDoc;

/// The OpenAPI document, written once (it is the same for the server's life).
async fn openapi() -> crate::error::AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if DOC.get().is_none() {
        let text =
            ApiDoc::openapi().to_json().map_err(|e| crate::error::AppError::Internal(format!("openapi: {e}")))?;
        let _ = DOC.set(text);
    }
    let text = DOC.get().map(String::as_str).unwrap_or("{}");
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], text).into_response())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/session", post(session::login).delete(session::logout))
        .route("/me", get(session::me))
        .route("/me/sessions", get(session::sessions))
        .route("/me/sessions/{handle}", delete(session::end_session))
        .route("/me/password", post(session::change_password))
        .route("/authorities", get(org::list_authorities).post(org::create_authority))
        .route("/authorities/{id}", get(org::get_authority).put(org::update_authority))
        .route("/authorities/{id}/close", post(org::close_authority))
        .route("/years", get(org::list_years).post(org::open_year))
        .route("/units", get(org::list_units).post(org::create_unit))
        .route("/units/{id}", get(org::get_unit).put(org::update_unit))
        .route("/units/{id}/close", post(org::close_unit))
        .route("/units/{id}/lineage", post(org::add_lineage))
        .route("/groups", get(org::list_groups).post(org::create_group))
        .route("/groups/{id}", get(org::get_group).put(org::update_group))
        .route("/groups/{id}/close", post(org::close_group))
        .route("/groups/{id}/years/{year}/members", post(org::add_member))
        .route("/memberships/{id}", put(org::set_member_role).delete(org::remove_member))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::get))
        .route("/users/{id}/grants", post(users::add_grant))
        .route("/users/{id}/grants/{grant_id}", delete(users::remove_grant))
        .route("/users/{id}/password", post(users::reset_password))
        .route("/users/{id}/disabled", post(users::set_disabled))
        .route("/audit", get(users::audit))
        .merge(tables::routes())
        .merge(import::routes())
        .merge(documents::routes())
        .merge(calendar::routes())
        .merge(inspection::routes())
        .merge(scores::routes())
        .merge(chain::routes())
        .merge(covenant::routes())
}
