//! HTTP endpoints providers deliver to.

use crate::server::error::AppError;
use crate::server::state::AppState;
use crate::server::webhooks::calendly::{self, Outcome};
use crate::server::webhooks::microsoft::{self, Handshake};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// Graph change notifications (and the subscription handshake).
pub async fn microsoft_notifications(query: Query<Handshake>) -> Response {
    match microsoft::handshake(&query) {
        Some(echo) => echo,
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// A Calendly delivery for one connection.
pub async fn calendly_delivery(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get("calendly-webhook-signature")
        .and_then(|v| v.to_str().ok());
    let outcome = calendly::receive(&state, &public_id, signature, &body).await;
    let status = match &outcome {
        Ok(Outcome::Accepted) => StatusCode::ACCEPTED,
        Ok(Outcome::Duplicate | Outcome::Unrouted) => StatusCode::OK,
        Ok(Outcome::Unauthenticated(_)) => StatusCode::UNAUTHORIZED,
        Ok(Outcome::Malformed(_)) => StatusCode::BAD_REQUEST,
        Err(e) => e.status(),
    };
    let result = match outcome {
        Ok(o) => format!("{o:?}"),
        Err(e) => return AppError::into_response(e),
    };
    metrics::counter!("webhooks_total", "provider" => "calendly", "status" => status.as_u16().to_string())
        .increment(1);
    tracing::debug!(%result, "calendly delivery");
    status.into_response()
}
