//! Request guards: same-origin checks for state-changing requests, and
//! login/role checks for pages, applied before any page renders so they hold
//! with or without JavaScript.

use crate::model::paths::{self, Access};
use crate::model::{with_flash, Flash, FlashKind};
use crate::server::app_state::AppState;
use crate::server::auth::Caller;
use crate::server::error::AppError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

/// Paths that take requests from other origins by design (provider
/// callbacks, the machine API and MCP); they authenticate by signature or
/// API key, never by cookie.
const CROSS_ORIGIN_PATHS: &[&str] = &["/webhooks/", "/sandbox/", "/api/v1/", "/mcp"];

pub(super) fn request_origin(headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return Some(origin.to_owned());
    }
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    url::Url::parse(referer)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

/// Refuses cookie-authenticated writes that do not come from our own pages
/// (CSRF defence on top of SameSite=Lax).
pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let exempt = CROSS_ORIGIN_PATHS
        .iter()
        .any(|p| req.uri().path().starts_with(p));
    if safe || exempt {
        return next.run(req).await;
    }
    let public = state.config.public_origin();
    let scheme = state.config.public_url.scheme();
    let host_origin = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("{scheme}://{h}"));
    let allowed = request_origin(req.headers())
        .is_some_and(|o| o == public || Some(&o) == host_origin.as_ref());
    if allowed {
        next.run(req).await
    } else {
        tracing::warn!(path = %req.uri().path(), "cross-origin write refused");
        AppError::BadOrigin.into_response()
    }
}

pub async fn pages(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let access = paths::access(&path);
    if matches!(access, Access::Public) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let caller = match Caller::from_parts(&parts, &state.db).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let is_get = parts.method == Method::GET;
    match (&access, &caller) {
        (Access::Anonymous, Some(_))
            if is_get && !parts.uri.query().unwrap_or("").contains("invite=") =>
        {
            return Redirect::to(paths::MEETINGS).into_response();
        }
        (Access::Member | Access::Admin, None) => {
            return if is_get {
                let next_path = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let target = if path == paths::HOME {
                    paths::LOGIN.to_owned()
                } else {
                    format!("{}?next={}", paths::LOGIN, urlencode(next_path))
                };
                Redirect::to(&target).into_response()
            } else {
                Redirect::to(&with_flash(
                    paths::LOGIN,
                    FlashKind::Error,
                    Flash::SessionExpired,
                ))
                .into_response()
            };
        }
        (Access::Admin, Some(c)) if c.role != crate::model::Role::Admin => {
            return error_page(
                StatusCode::FORBIDDEN,
                "Admins only",
                "This part of calbridge is for your team's admins. Ask an admin if you need access.",
            );
        }
        (Access::Member, Some(_)) if path == paths::HOME => {
            return Redirect::to(paths::MEETINGS).into_response()
        }
        _ => {}
    }
    if let Some(c) = caller {
        parts.extensions.insert(c);
    }
    req = Request::from_parts(parts, body);
    next.run(req).await
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A complete, styled error page for responses made outside the Leptos app.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let body = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · calbridge</title><link rel="stylesheet" href="/pkg/calbridge.css"></head>
<body><main class="error-page"><div class="card"><p class="error-code">{code}</p><h1>{title}</h1><p>{message}</p>
<p><a class="button" href="{home}">Back to calbridge</a></p></div></main></body></html>"#,
        home = paths::MEETINGS,
        code = status.as_u16(),
        title = esc(title),
        message = esc(message),
    );
    (status, Html(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_falls_back_to_referer() {
        let mut h = HeaderMap::new();
        assert_eq!(request_origin(&h), None);
        h.insert(
            header::REFERER,
            "http://a.test:3000/login?x=1".parse().unwrap(),
        );
        assert_eq!(request_origin(&h).as_deref(), Some("http://a.test:3000"));
        h.insert(header::ORIGIN, "http://b.test".parse().unwrap());
        assert_eq!(request_origin(&h).as_deref(), Some("http://b.test"));
    }
}
