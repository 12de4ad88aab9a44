//! What the machine API (`/api/v1`, the agent tools, MCP) answers when a
//! request fails: the booking service's errors as a status and a body that
//! says what to do next. Service errors inside keep the status
//! `http::error` gives them.

use super::wire::{ErrorOut, SlotOut};
use crate::model::ApiScope;
use crate::server::booking::error::{BookError, FreeSlot};
use crate::server::error::AppError;
use crate::server::http::error::HttpStatus;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;

/// A failed machine request.
#[derive(Debug)]
pub enum ApiFailure {
    /// No key, or not a live one.
    Unauthorized,
    MissingScope(ApiScope),
    /// An agent tool name that is not one of ours.
    UnknownTool,
    /// A JSON body that does not fit: the field at fault and why.
    BadJson {
        field: String,
        message: String,
    },
    /// Alternatives read in `time_zone`.
    Book {
        error: BookError,
        time_zone: Tz,
    },
}

impl From<BookError> for ApiFailure {
    fn from(error: BookError) -> Self {
        ApiFailure::Book {
            error,
            time_zone: chrono_tz::UTC,
        }
    }
}

impl From<AppError> for ApiFailure {
    fn from(e: AppError) -> Self {
        BookError::App(e).into()
    }
}

impl ApiFailure {
    pub fn invalid(field: &'static str, message: &'static str) -> Self {
        BookError::Invalid { field, message }.into()
    }

    /// Alternatives are read in `tz`.
    pub fn in_zone(self, tz: Tz) -> Self {
        match self {
            ApiFailure::Book { error, .. } => ApiFailure::Book {
                error,
                time_zone: tz,
            },
            other => other,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiFailure::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiFailure::MissingScope(_) => StatusCode::FORBIDDEN,
            ApiFailure::UnknownTool => StatusCode::NOT_FOUND,
            ApiFailure::BadJson { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiFailure::Book { error, .. } => error.status(),
        }
    }

    /// When a refused request may be tried again.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiFailure::Book {
                error: BookError::Limited(refused),
                ..
            } => Some(refused.retry_after_secs),
            _ => None,
        }
    }

    /// The body: a stable code, a message that says what to do next, the
    /// field at fault, the nearest free slots.
    pub fn body(&self) -> ErrorOut {
        let out = |error: &str, message: String| ErrorOut {
            error: error.to_owned(),
            message,
            field: None,
            alternatives: None,
            retry_after_secs: None,
        };
        let slots = |alternatives: &[FreeSlot], tz: Tz| {
            Some(alternatives.iter().map(|s| SlotOut::new(s, tz)).collect())
        };
        match self {
            ApiFailure::Unauthorized => out(
                "unauthorized",
                "Send a live API key as `Authorization: Bearer <key>`; admins create keys at /admin/api-keys.".into(),
            ),
            ApiFailure::MissingScope(scope) => out(
                "insufficient_scope",
                format!("This API key lacks the {} scope; ask an admin for a key that has it.", scope.as_str()),
            ),
            ApiFailure::UnknownTool => out(
                "unknown_tool",
                "No such tool; the tools are listed at GET /api/v1/agent/tools and by MCP tools/list.".into(),
            ),
            ApiFailure::BadJson { field, message } => ErrorOut {
                field: Some(field.clone()),
                ..out("invalid_request", message.clone())
            },
            ApiFailure::Book { error, time_zone } => match error {
                BookError::NotFound => out(
                    "not_found",
                    "No such host, event type or booking in this team. List the hosts and their event types with list_hosts (GET /api/v1/hosts).".into(),
                ),
                BookError::Invalid { field, message } => ErrorOut {
                    field: Some((*field).to_owned()),
                    ..out("invalid_request", (*message).to_owned())
                },
                BookError::NotASlot { alternatives } => ErrorOut {
                    alternatives: slots(alternatives, *time_zone),
                    ..out(
                        "not_a_slot",
                        "That time cannot be booked (outside the host's hours, too soon, too far ahead or off the grid). Offer one of the alternatives or check availability for another day.".into(),
                    )
                },
                BookError::SlotTaken { alternatives } => ErrorOut {
                    alternatives: slots(alternatives, *time_zone),
                    ..out(
                        "slot_taken",
                        "Someone else just booked that time. Offer one of the alternatives or check availability again.".into(),
                    )
                },
                BookError::KeyReused => ErrorOut {
                    field: Some("idempotency_key".into()),
                    ..out(
                        "idempotency_key_reused",
                        "This idempotency key was used for a different booking request; use a new key for a new request.".into(),
                    )
                },
                BookError::CalendarUnavailable { host } => out(
                    "calendar_unavailable",
                    format!("The calendar of host {host} cannot be read right now, so no times are offered (none would be safe). Try again in a few minutes, or choose another host."),
                ),
                BookError::Canceled => out(
                    "booking_canceled",
                    "The booking was canceled, so it cannot be moved; make a new booking instead.".into(),
                ),
                BookError::Limited(refused) => ErrorOut {
                    retry_after_secs: Some(refused.retry_after_secs),
                    ..out(
                        "rate_limited",
                        format!(
                            "{} reached its limit; retry in {} s.",
                            refused.limit.description(),
                            refused.retry_after_secs
                        ),
                    )
                },
                BookError::App(AppError::RateLimited) => out(
                    "rate_limited",
                    "Too many requests; wait a moment and try again.".into(),
                ),
                BookError::App(e) => out(
                    if e.status().is_server_error() { "internal" } else { "invalid_request" },
                    e.public_message(),
                ),
            },
        }
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        if let ApiFailure::Book {
            error: BookError::App(e),
            ..
        } = &self
        {
            e.log();
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let Some(after) = self.retry_after_secs() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, after.into());
        }
        if matches!(self, ApiFailure::Unauthorized) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
