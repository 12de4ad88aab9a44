//! Microsoft Graph change and lifecycle notifications.

use axum::extract::Query;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "validationToken")]
    validation_token: Option<String>,
}

/// Graph's subscription handshake: echo `validationToken` as plain text
/// within 10 seconds. `None` when the request is a notification instead.
pub fn handshake(query: &Query<Handshake>) -> Option<Response> {
    let token = query.validation_token.as_ref()?;
    // Graph's tokens are a sentence long; anything huge is not Graph.
    if token.len() > 1024 {
        return Some(StatusCode::BAD_REQUEST.into_response());
    }
    Some(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            token.clone(),
        )
            .into_response(),
    )
}
