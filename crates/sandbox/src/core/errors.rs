//! Error responses: the providers' own JSON shapes, and the control API's
//! plain one.

use crate::Provider;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error in the provider's own JSON shape.
pub fn error_response(provider: Provider, status: StatusCode, message: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = match provider {
        Provider::Calendly => json!({ "title": reason, "message": message }),
        Provider::Google => {
            let (reason_code, grpc) = match status.as_u16() {
                400 => ("badRequest", "INVALID_ARGUMENT"),
                401 => ("authError", "UNAUTHENTICATED"),
                403 => ("forbidden", "PERMISSION_DENIED"),
                404 => ("notFound", "NOT_FOUND"),
                409 => ("duplicate", "ALREADY_EXISTS"),
                410 => ("fullSyncRequired", "FAILED_PRECONDITION"),
                412 => ("conditionNotMet", "FAILED_PRECONDITION"),
                429 => ("rateLimitExceeded", "RESOURCE_EXHAUSTED"),
                _ => ("backendError", "UNAVAILABLE"),
            };
            json!({ "error": {
                "code": status.as_u16(),
                "message": message,
                "errors": [{ "domain": "global", "reason": reason_code, "message": message }],
                "status": grpc,
            }})
        }
        Provider::Microsoft => {
            let code = match status.as_u16() {
                400 => "BadRequest",
                401 => "InvalidAuthenticationToken",
                403 => "Forbidden",
                404 => "ErrorItemNotFound",
                409 => "Conflict",
                412 => "ErrorIrresolvableConflict",
                429 => "TooManyRequests",
                _ => "ServiceNotAvailable",
            };
            json!({ "error": { "code": code, "message": message } })
        }
    };
    (status, Json(body)).into_response()
}

/// A control API error: a plain JSON message.
pub fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// A 4xx with a plain JSON message, for bad control requests.
pub fn bad_request(message: impl Into<String>) -> Response {
    control_error(StatusCode::BAD_REQUEST, message)
}

/// The response of a handler body written with `?`, whose errors are
/// responses too.
pub fn respond(result: Result<Response, Response>) -> Response {
    result.unwrap_or_else(|e| e)
}
