//! HTTP endpoints providers deliver to.

use crate::server::webhooks::microsoft::{self, Handshake};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Graph change notifications (and the subscription handshake).
pub async fn microsoft_notifications(query: Query<Handshake>) -> Response {
    match microsoft::handshake(&query) {
        Some(echo) => echo,
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
