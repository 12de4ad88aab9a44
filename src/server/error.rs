//! The service-layer error: what went wrong, in terms a caller can act on.
//! `http::error` is the one place it becomes a status code; here it only
//! becomes a flash code, a public message or an [`ApiError`]. Internal
//! details are logged, never sent.

use crate::model::{ApiError, Flash};
use crate::server::platform::db::{DbError, Duplicate};
use crate::server::platform::vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not logged in")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// Bad input, with the message that says what to fix.
    #[error("invalid input: {}", .0.code())]
    Invalid(Flash),
    #[error("conflict: {}", .0.code())]
    Conflict(Flash),
    #[error("rate limited")]
    RateLimited,
    #[error("cross-origin request refused")]
    BadOrigin,
    /// Something failed inside. Its source chain goes to the log, never to
    /// the caller.
    #[error("internal error: {0}")]
    Internal(#[source] BoxError),
}

pub type AppResult<T> = Result<T, AppError>;

/// Any error, kept whole (with its sources) for the log.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl AppError {
    /// An internal failure caused by `source` (an error, or a message).
    pub fn internal(source: impl Into<BoxError>) -> Self {
        AppError::Internal(source.into())
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => AppError::NotFound,
            DbError::Conflict(Duplicate::Email) => AppError::Conflict(Flash::EmailTaken),
            DbError::Conflict(Duplicate::Job) => AppError::Conflict(Flash::JobAlreadyQueued),
            DbError::Conflict(Duplicate::Subscription) => {
                AppError::Conflict(Flash::SubscriptionExists)
            }
            DbError::Conflict(Duplicate::OAuthApp) => AppError::Conflict(Flash::AppExists),
            DbError::Conflict(Duplicate::BookingSlug) => {
                AppError::Conflict(Flash::BookingSlugTaken)
            }
            DbError::Conflict(Duplicate::EventTypeSlug) => {
                AppError::Conflict(Flash::EventTypeSlugTaken)
            }
            DbError::Conflict(Duplicate::OverlappingBooking | Duplicate::IdempotencyKey) => {
                AppError::Conflict(Flash::SlotTaken)
            }
            other => AppError::internal(other),
        }
    }
}

impl From<VaultError> for AppError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::Db(db) => db.into(),
            other => AppError::internal(other),
        }
    }
}

impl AppError {
    /// The flash code shown after a form post fails.
    /// The message a form shows after this error redirects back to it.
    pub fn flash(&self) -> Flash {
        match self {
            AppError::Unauthorized => Flash::SessionExpired,
            AppError::Invalid(flash) | AppError::Conflict(flash) => *flash,
            AppError::RateLimited => Flash::RateLimited,
            AppError::NotFound | AppError::Forbidden => Flash::NotFound,
            AppError::BadOrigin | AppError::Internal(_) => Flash::Internal,
        }
    }

    pub fn log(&self) {
        if let AppError::Internal(source) = self {
            tracing::error!(error = %Chain(source.as_ref()), "request failed");
        }
    }
}

/// An error and its sources, `outer: inner: root`, for a log line.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl AppError {
    /// What the user may read about this error.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Invalid(flash) | AppError::Conflict(flash) => flash.text().to_owned(),
            AppError::RateLimited => Flash::RateLimited.text().to_owned(),
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
