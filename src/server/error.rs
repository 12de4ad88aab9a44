//! The service-layer error: what went wrong, in terms a caller can act on.
//! `http::error` is the one place it becomes a status code; here it only
//! becomes a flash code, a public message or an [`ApiError`]. Internal
//! details are logged, never sent.

use crate::model::{flash_text, ApiError};
use crate::server::platform::db::DbError;
use crate::server::platform::vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not logged in")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// Bad input; the code is a key of [`crate::model::flash_text`].
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("rate limited")]
    RateLimited,
    #[error("cross-origin request refused")]
    BadOrigin,
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => AppError::NotFound,
            DbError::Conflict(what) => AppError::Conflict(what),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<VaultError> for AppError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::Db(db) => db.into(),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl AppError {
    /// The flash code shown after a form post fails.
    pub fn flash_code(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "session_expired",
            AppError::Invalid(code) | AppError::Conflict(code) => code,
            AppError::RateLimited => "rate_limited",
            AppError::NotFound | AppError::Forbidden => "not_found",
            AppError::BadOrigin | AppError::Internal(_) => "internal",
        }
    }

    pub fn log(&self) {
        if let AppError::Internal(detail) = self {
            tracing::error!(%detail, "request failed");
        }
    }
}

impl AppError {
    /// What the user may read about this error.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Invalid(code) | AppError::Conflict(code) => {
                flash_text(code).unwrap_or("Invalid input.").to_owned()
            }
            AppError::RateLimited => flash_text("rate_limited").unwrap_or_default().to_owned(),
            AppError::BadOrigin => "Cross-origin request refused.".to_owned(),
            other => ApiError::from_kind(other).to_string(),
        }
    }
}

impl ApiError {
    fn from_kind(e: &AppError) -> ApiError {
        match e {
            AppError::Unauthorized => ApiError::Unauthorized,
            AppError::Forbidden | AppError::BadOrigin => ApiError::Forbidden,
            AppError::NotFound => ApiError::NotFound,
            AppError::Invalid(_) | AppError::Conflict(_) | AppError::RateLimited => {
                ApiError::Invalid(e.public_message())
            }
            AppError::Internal(_) => ApiError::Internal,
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        e.log();
        ApiError::from_kind(&e)
    }
}
