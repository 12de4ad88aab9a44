//! The popup connect flow's two HTTP ends: `/oauth/{provider}/start` sends
//! the browser to the provider, `/oauth/{provider}/callback` finishes and
//! tells the opener window (or, without a popup, redirects to Settings).

use super::guards::error_page;
use super::security_headers::CspNonce;
use crate::model::{paths, with_flash, FlashKind, Provider};
use crate::server::app_state::AppState;
use crate::server::auth::Caller;
use crate::server::connections::{self, CallbackParams};
use crate::server::error::AppError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;

fn unknown_provider() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "calbridge does not know this provider.",
    )
}

/// Whether the browser says the navigation began on another site (a link or
/// form elsewhere, a hidden frame): `Sec-Fetch-Site` is sent by every
/// current browser and cannot be set by a page. Without it (old browsers,
/// scripts) the session cookie's `SameSite=Lax` still applies.
fn started_elsewhere(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| !matches!(site, "same-origin" | "none"))
}

pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Path(p): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(provider) = p.parse::<Provider>() else {
        return unknown_provider();
    };
    if started_elsewhere(&headers) {
        tracing::warn!(
            provider = provider.as_str(),
            "cross-site connect start refused"
        );
        return error_page(
            StatusCode::FORBIDDEN,
            "Start from calbridge",
            "Connecting a calendar has to start from calbridge's own Settings page.",
        );
    }
    match connections::start(&state.connections, &caller, provider).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(AppError::Invalid(flash)) => {
            Redirect::to(&with_flash(paths::CALENDARS, FlashKind::Error, flash)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    nonce: Option<Extension<CspNonce>>,
    caller: Caller,
    Path(p): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Ok(provider) = p.parse::<Provider>() else {
        return unknown_provider();
    };
    let outcome = match connections::callback(
        &state.connections,
        &caller,
        provider,
        CallbackParams {
            state: q.state,
            code: q.code,
            error: q.error,
            error_description: q.error_description,
        },
    )
    .await
    {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let (ok, flash, message) = connections::describe(&outcome, provider);
    let status = match outcome {
        connections::ConnectOutcome::InvalidState => StatusCode::BAD_REQUEST,
        connections::ConnectOutcome::Taken => StatusCode::CONFLICT,
        _ => StatusCode::OK,
    };
    let kind = if ok {
        FlashKind::Notice
    } else {
        FlashKind::Error
    };
    let back = with_flash(paths::CALENDARS, kind, flash);
    (
        status,
        result_page(
            &state.config.public_origin(),
            nonce.map(|Extension(n)| n.0).as_deref().unwrap_or_default(),
            provider,
            ok,
            &message,
            &back,
        ),
    )
        .into_response()
}

/// Posts the result to the opener window with an explicit target origin and
/// closes itself; without an opener (popup blocked, or opened directly) it
/// goes back to Settings with a flash message.
fn result_page(
    origin: &str,
    nonce: &str,
    provider: Provider,
    ok: bool,
    message: &str,
    back: &str,
) -> Html<String> {
    let payload = serde_json::json!({
        "type": if ok { "calbridge:connected" } else { "calbridge:error" },
        "provider": provider.as_str(),
        "message": message,
    });
    // Inside <script>, "</" must not appear literally.
    let script_json = |v: &serde_json::Value| v.to_string().replace("</", "<\\/");
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    Html(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · calbridge</title><link rel="stylesheet" href="/pkg/calbridge.css">
<noscript><meta http-equiv="refresh" content="0;url={back_attr}"></noscript></head>
<body><main class="error-page"><div class="card"><h1>{title}</h1><p>{message_html}</p>
<p><a class="button" href="{back_attr}">Back to Settings</a></p></div></main>
<script nonce="{nonce}">
(function () {{
  var message = {payload};
  if (window.opener && !window.opener.closed) {{
    window.opener.postMessage(message, {origin});
    window.close();
  }} else {{
    window.location.replace({back});
  }}
}})();
</script></body></html>"#,
        title = if ok {
            "Calendar connected"
        } else {
            "Not connected"
        },
        message_html = esc(message),
        nonce = esc(nonce),
        back_attr = esc(back),
        payload = script_json(&payload),
        origin = script_json(&serde_json::Value::String(origin.to_owned())),
        back = script_json(&serde_json::Value::String(back.to_owned())),
    ))
}
