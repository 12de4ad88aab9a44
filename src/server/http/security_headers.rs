//! Security headers on every response: a Content-Security-Policy whose only
//! inline scripts are those carrying this response's nonce (the Leptos
//! hydration and streaming scripts, the OAuth popup's result script),
//! `nosniff`, `Referrer-Policy: same-origin`, no framing, and HSTS when
//! calbridge is served over https.

use crate::server::app_state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The nonce of one response, in the request's extensions for whoever
/// renders an inline script.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

impl CspNonce {
    fn generate() -> Self {
        use base64::Engine;
        let bytes: [u8; 16] = rand::random();
        CspNonce(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

/// The policy for a response with `nonce`. `live_reload` (`cargo leptos
/// watch` in dev) also allows the reload socket.
pub fn content_security_policy(nonce: &str, live_reload: bool) -> String {
    let connect = if live_reload {
        "'self' ws: wss:"
    } else {
        "'self'"
    };
    format!(
        "default-src 'self'; \
         script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; \
         connect-src {connect}; \
         object-src 'none'; \
         base-uri 'none'; \
         form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// Makes the request's nonce the one Leptos puts on its inline scripts
/// (run as the routes' additional context, after leptos_axum's own).
pub fn adopt_request_nonce() {
    use leptos::prelude::{provide_context, use_context};
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// For anything that is not a page: nothing may load, nothing may frame it.
const NON_PAGE_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// What the middleware adds, decided once when the router is built.
pub struct SecurityHeaders {
    live_reload: bool,
    hsts: bool,
}

impl SecurityHeaders {
    pub fn new(state: &AppState) -> Self {
        SecurityHeaders {
            live_reload: state.leptos_options.reload_port > 0
                && std::env::var_os("LEPTOS_WATCH").is_some()
                && state.config.environment == crate::server::platform::config::Environment::Dev,
            hsts: state.config.public_url.scheme() == "https",
        }
    }
}

/// Every response — pages, JSON, streams, files, webhook answers, errors —
/// gets `nosniff`, `Referrer-Policy: same-origin`, `X-Frame-Options: DENY`
/// and a policy: pages (HTML) the full one with their nonce, anything else
/// one that lets nothing load. Webhook receivers never render a page, so
/// their hot path skips the nonce altogether.
pub async fn security_headers(
    State(config): State<std::sync::Arc<SecurityHeaders>>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = (!req.uri().path().starts_with("/webhooks/")).then(CspNonce::generate);
    if let Some(nonce) = &nonce {
        req.extensions_mut().insert(nonce.clone());
    }
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let page = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    let page_policy = nonce.filter(|_| page).and_then(|n| {
        HeaderValue::from_str(&content_security_policy(&n.0, config.live_reload)).ok()
    });
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        page_policy.unwrap_or(HeaderValue::from_static(NON_PAGE_POLICY)),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if config.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_only_this_nonce_and_no_framing() {
        let policy = content_security_policy("abc123", false);
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"));
        assert!(!policy.contains("'unsafe-inline' 'nonce"));
        assert!(!policy.contains("script-src 'self' 'unsafe-inline'"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(policy.contains("connect-src 'self';"));
        assert!(content_security_policy("n", true).contains("connect-src 'self' ws: wss:"));
        let a = CspNonce::generate();
        let b = CspNonce::generate();
        assert_ne!(a.0, b.0);
        assert!(a.0.len() >= 22, "128 bits");
    }
}
