//! Who may use the mounted provider sandbox: its provider APIs speak to
//! anyone holding their tokens or client secrets; its consent pages, panel
//! and control API only to this machine or a logged-in admin.

use super::client_addr::ClientAddr;
use super::guards::{error_page, request_origin};
use crate::server::app_state::AppState;
use crate::server::auth::Caller;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Parts of the mounted sandbox that act for a person rather than speak a
/// provider's API (which needs tokens or client secrets of its own).
#[derive(Debug, PartialEq, Eq)]
enum SandboxArea {
    /// Panel and control API: every signing key and client secret, fault
    /// injection, acting as any invitee.
    Operator,
    /// The consent screens: choosing which sandbox account to grant.
    Consent,
    Provider,
}

fn sandbox_area(path: &str) -> SandboxArea {
    let Some(rest) = path.strip_prefix("/sandbox") else {
        return SandboxArea::Provider;
    };
    let consent = rest == "/calendly-auth/oauth/authorize"
        || rest == "/google-oauth/auth"
        || (rest.starts_with("/microsoft-login/") && rest.ends_with("/oauth2/v2.0/authorize"));
    if rest.is_empty()
        || rest == "/"
        || rest.starts_with("/_control/")
        || rest.starts_with("/panel/")
    {
        SandboxArea::Operator
    } else if consent {
        SandboxArea::Consent
    } else {
        SandboxArea::Provider
    }
}

/// Whether a request's `Host` names this machine (`localhost`, a loopback
/// address) or the configured public host. A page on another site whose
/// name an attacker re-pointed at 127.0.0.1 (DNS rebinding) reaches us
/// from the loopback peer, but with its own name in `Host`.
fn host_is_ours(host: Option<&str>, public_host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    let name = match host.strip_prefix('[') {
        // [::1]:3000
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
        || public_host.is_some_and(|public| name.eq_ignore_ascii_case(public))
}

/// The sandbox's operator parts answer only this machine (a loopback peer)
/// or a logged-in admin, its consent screens only this machine or a
/// logged-in person; everyone else gets a 404, as if there were no sandbox.
/// A browser write from another site (Origin not ours) is refused even from
/// loopback, so a web page cannot drive the panel through the user's
/// browser, and so is any request whose `Host` is not ours, so a page
/// cannot read it through a rebound name either.
pub async fn sandbox_access(
    State(state): State<std::sync::Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let area = sandbox_area(req.uri().path());
    if area == SandboxArea::Provider {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let foreign_write = !matches!(parts.method, Method::GET | Method::HEAD)
        && request_origin(&parts.headers).is_some_and(|o| o != state.config.public_origin());
    let host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let allowed = !foreign_write
        && host_is_ours(host, state.config.public_url.host_str())
        && (ClientAddr::of(&parts, &state.config.trusted_proxies).is_loopback()
            || match Caller::from_parts(&parts, &state.db).await {
                Ok(Some(caller)) => {
                    area == SandboxArea::Consent || caller.role == crate::model::Role::Admin
                }
                _ => false,
            });
    if !allowed {
        return error_page(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is nothing at this address.",
        );
    }
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_host_names_pass() {
        let public = Some("cal.example.com");
        for ours in [
            "localhost",
            "localhost:3000",
            "LOCALHOST:3000",
            "127.0.0.1:3000",
            "127.8.9.10",
            "[::1]:3000",
            "[::1]",
            "cal.example.com",
            "Cal.Example.com:443",
        ] {
            assert!(host_is_ours(Some(ours), public), "{ours}");
        }
        for foreign in [
            "evil.test",
            "evil.test:3000",
            "localhost.evil.test",
            "127.0.0.1.evil.test:3000",
            "cal.example.com.evil.test",
            "[::2]:3000",
            "",
        ] {
            assert!(!host_is_ours(Some(foreign), public), "{foreign}");
        }
        assert!(!host_is_ours(None, public));
        assert!(!host_is_ours(Some("cal.example.com"), None));
    }

    #[test]
    fn sandbox_paths_map_to_areas() {
        use SandboxArea::*;
        for (path, area) in [
            ("/sandbox", Operator),
            ("/sandbox/", Operator),
            ("/sandbox/_control/apps", Operator),
            ("/sandbox/_control/truth", Operator),
            ("/sandbox/panel/calendly/book", Operator),
            ("/sandbox/calendly-auth/oauth/authorize", Consent),
            ("/sandbox/google-oauth/auth", Consent),
            (
                "/sandbox/microsoft-login/common/oauth2/v2.0/authorize",
                Consent,
            ),
            ("/sandbox/calendly-auth/oauth/token", Provider),
            ("/sandbox/calendly/users/me", Provider),
            ("/sandbox/graph/v1.0/me/events", Provider),
        ] {
            assert_eq!(sandbox_area(path), area, "{path}");
        }
    }
}
