//! What the UI's form posts share: post/redirect/get with a flash message,
//! and typed ids from the path. The handlers live beside their domain's
//! reads (`accounts/`, `connections/`, `operations/`); each is thin: parse,
//! call a service, redirect, so every page works without the WASM.

use crate::model::{paths, with_flash, Flash, FlashKind};
use crate::server::error::{AppError, AppResult};
use crate::server::http::guards::error_page;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

/// Not-found and forbidden get an error page with the right status; input
/// problems go back to the form with a message.
pub(super) fn fail(err: AppError, back_to: &str) -> Response {
    match err {
        AppError::NotFound => error_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "That item does not exist or was already removed.",
        ),
        AppError::Forbidden => error_page(
            StatusCode::FORBIDDEN,
            "Admins only",
            "Only admins can do this.",
        ),
        AppError::Internal(_) | AppError::BadOrigin => err.into_response(),
        other => error(back_to, other.flash()),
    }
}

/// A path id parsed into its typed form; anything unparseable is simply
/// not found (404 page), like an id of another tenant.
pub struct IdPath<T>(pub T);

impl<T: std::str::FromStr + Send, S: Send + Sync> axum::extract::FromRequestParts<S> for IdPath<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        text.parse()
            .map(IdPath)
            .map_err(|_| fail(AppError::NotFound, paths::HOME))
    }
}

/// Post/redirect/get: back to `page`, with `done` on success or the error.
pub(super) fn settle(result: AppResult<()>, page: &str, done: Flash) -> Response {
    match result {
        Ok(()) => notice(page, done),
        Err(err) => fail(err, page),
    }
}

pub(super) fn notice(page: &str, flash: Flash) -> Response {
    Redirect::to(&with_flash(page, FlashKind::Notice, flash)).into_response()
}

pub(super) fn error(page: &str, flash: Flash) -> Response {
    Redirect::to(&with_flash(page, FlashKind::Error, flash)).into_response()
}
