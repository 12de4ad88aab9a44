//! The one place an error becomes an HTTP status: the service layer's
//! [`AppError`], booking's [`BookError`] (the pages and the API answer it
//! alike) and a server function's [`ApiError`].

use crate::model::ApiError;
use crate::server::booking::error::BookError;
use crate::server::error::AppError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The HTTP status an error is answered with.
pub trait HttpStatus {
    fn status(&self) -> StatusCode;
}

impl HttpStatus for AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::BadOrigin => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl HttpStatus for BookError {
    fn status(&self) -> StatusCode {
        match self {
            BookError::NotFound => StatusCode::NOT_FOUND,
            BookError::Invalid { .. } | BookError::NotASlot { .. } | BookError::KeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            BookError::SlotTaken { .. } | BookError::Canceled => StatusCode::CONFLICT,
            BookError::CalendarUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            BookError::Limited(_) => StatusCode::TOO_MANY_REQUESTS,
            BookError::App(e) => e.status(),
        }
    }
}

/// A server function's error. server_fn answers every error with 500; a
/// refusal (log in, forbidden, not found, bad input) gets its own status
/// through [`server_fn_status`].
impl HttpStatus for ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let body = serde_json::json!({ "error": self.public_message() });
        (self.status(), axum::Json(body)).into_response()
    }
}

/// Server-function errors are small JSON bodies (an `ApiError`).
const API_ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Middleware: gives server functions' refusals their 4xx status.
pub async fn server_fn_status(request: Request, next: Next) -> Response {
    let is_server_fn = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, API_ERROR_BODY_LIMIT).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<ApiError>(&bytes) {
        parts.status = error.status();
    }
    Response::from_parts(parts, Body::from(bytes))
}
