//! One error type for both front ends. A handler returns [`AppError`]; it
//! becomes a bare response carrying an [`ErrorInfo`], and the `render_errors`
//! middleware turns that into a Vietnamese HTML page (with the request id and
//! no internals) or a JSON body, depending on where the request went.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use thidua_core::Invalid;
use thidua_db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Bạn cần đăng nhập để tiếp tục.")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("Không tìm thấy trang hoặc đối tượng bạn yêu cầu.")]
    NotFound,
    #[error("Dữ liệu chưa hợp lệ.")]
    Invalid(Vec<Invalid>),
    #[error("{0}")]
    Conflict(String),
    #[error("Phiên làm việc không hợp lệ hoặc biểu mẫu đã cũ. Hãy tải lại trang rồi thử lại.")]
    Csrf,
    #[error("{0}")]
    TooMany(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![Invalid::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Invalid(_) => "invalid",
            AppError::Conflict(_) => "conflict",
            AppError::Csrf => "csrf",
            AppError::TooMany(_) => "too_many_requests",
            AppError::TooLarge(_) => "too_large",
            AppError::BadRequest(_) => "bad_request",
            AppError::Internal(_) => "internal",
        }
    }

    /// The message a user sees; internals are never shown.
    pub fn user_message(&self) -> String {
        match self {
            AppError::Internal(_) => {
                "Đã có lỗi trong hệ thống. Thao tác chưa được thực hiện; hãy thử lại sau hoặc báo cho quản trị viên kèm mã yêu cầu.".into()
            }
            AppError::Invalid(v) if v.len() == 1 => v[0].message.clone(),
            AppError::Invalid(_) => "Dữ liệu chưa hợp lệ, hãy sửa các mục được đánh dấu.".into(),
            other => other.to_string(),
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(m) => {
                tracing::debug!(%m, "unique conflict");
                AppError::Conflict("Dữ liệu bị trùng với một bản ghi đã có (tên hoặc vai trò đã tồn tại).".into())
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<Invalid> for AppError {
    fn from(e: Invalid) -> Self {
        AppError::Invalid(vec![e])
    }
}

impl From<thidua_core::policy::Denied> for AppError {
    fn from(d: thidua_core::policy::Denied) -> Self {
        AppError::Forbidden(d.to_string())
    }
}

/// What the error middleware needs to render an error.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<Invalid>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(m) = &self {
            tracing::error!(error = %m, "internal error");
        }
        let info = ErrorInfo {
            code: self.code(),
            message: self.user_message(),
            fields: match &self {
                AppError::Invalid(v) => v.clone(),
                _ => vec![],
            },
        };
        let mut resp = self.status().into_response();
        resp.extensions_mut().insert(info);
        resp
    }
}

pub type AppResult<T> = Result<T, AppError>;
