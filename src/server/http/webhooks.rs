//! HTTP endpoints providers deliver to.

use crate::server::app_state::AppState;
use crate::server::error::AppError;
use crate::server::http::error::HttpStatus;
use crate::server::webhooks::calendly::{self, Outcome};
use crate::server::webhooks::microsoft::{self, Channel, Handshake};
use crate::server::webhooks::{google, Arrival};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

async fn microsoft(
    state: AppState,
    query: Query<Handshake>,
    channel: Channel,
    body: Bytes,
) -> Response {
    if let Some(echo) = microsoft::handshake(&query) {
        return echo;
    }
    let status = match microsoft::receive(&Arrival::now(&state.receivers), channel, &body).await {
        Ok(microsoft::Outcome::Accepted) => StatusCode::ACCEPTED,
        Ok(microsoft::Outcome::Unauthenticated) => StatusCode::UNAUTHORIZED,
        Ok(microsoft::Outcome::Malformed) => StatusCode::BAD_REQUEST,
        Err(e) => return e.into_response(),
    };
    count("microsoft", status);
    status.into_response()
}

/// Graph change notifications (and the subscription handshake).
pub async fn microsoft_notifications(
    State(state): State<AppState>,
    query: Query<Handshake>,
    body: Bytes,
) -> Response {
    microsoft(state, query, Channel::Changes, body).await
}

/// Graph lifecycle notifications (and the handshake).
pub async fn microsoft_lifecycle(
    State(state): State<AppState>,
    query: Query<Handshake>,
    body: Bytes,
) -> Response {
    microsoft(state, query, Channel::Lifecycle, body).await
}

fn count(provider: &'static str, status: StatusCode) {
    metrics::counter!("webhooks_total", "provider" => provider, "status" => status.as_u16().to_string())
        .increment(1);
}

/// Google watch-channel notifications.
pub async fn google_notification(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let notification = google::Notification::from_headers(header);
    let status = match google::receive(&Arrival::now(&state.receivers), &notification).await {
        Ok(google::Outcome::Accepted | google::Outcome::Duplicate | google::Outcome::Ignored) => {
            StatusCode::OK
        }
        Ok(google::Outcome::Unauthenticated) => StatusCode::UNAUTHORIZED,
        Ok(google::Outcome::Malformed) => StatusCode::BAD_REQUEST,
        Err(e) => return e.into_response(),
    };
    count("google", status);
    status.into_response()
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
    let outcome = calendly::receive(
        &Arrival::now(&state.receivers),
        &public_id,
        signature,
        &body,
    )
    .await;
    let status = match &outcome {
        Ok(Outcome::Accepted) => StatusCode::ACCEPTED,
        Ok(Outcome::Duplicate | Outcome::Unrouted) => StatusCode::OK,
        Ok(Outcome::Unauthenticated(_)) => StatusCode::UNAUTHORIZED,
        Ok(Outcome::Malformed(_)) => StatusCode::BAD_REQUEST,
        Err(e) => e.status(),
    };
    if let Err(e) = outcome {
        return AppError::into_response(e);
    }
    count("calendly", status);
    status.into_response()
}
