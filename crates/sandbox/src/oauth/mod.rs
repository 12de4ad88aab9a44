//! OAuth 2.0 authorization servers of the three providers, each with its own
//! quirks: Calendly authenticates clients with HTTP Basic and rotates
//! single-use refresh tokens; Google takes client credentials as form fields,
//! returns a refresh token only for `access_type=offline` + `prompt=consent`
//! and never rotates it; Microsoft rotates refresh tokens but the old one
//! stays valid.
//!
//! The consent page is HTML for people. Tests can post its form directly:
//! the same parameters as the authorize request plus `account` (an email)
//! and `decision` (`allow` or `deny`).
//!
//! Calendly's token and introspection responses also name the token owner's
//! user and organization URIs, which only the Calendly emulator knows: it
//! serves those two endpoints on top of [`issue_tokens`] and
//! [`calendly_client_ok`].

mod consent;
mod token;

pub use token::{calendly_client_ok, issue_tokens, token_response};

use crate::core::{error_response, Account};
use crate::Provider;
use crate::{Sandbox, World};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct AuthCode {
    pub provider: Provider,
    pub client_id: String,
    pub redirect_uri: String,
    pub account_id: String,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub offline: bool,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

#[derive(Clone, Debug)]
pub struct Grant {
    pub provider: Provider,
    pub account_id: String,
    pub client_id: String,
    pub scope: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub used: bool,
    pub revoked: bool,
}

/// One thing that happened at a token endpoint, for tests and the panel.
#[derive(Clone, Debug, Serialize)]
pub struct OAuthEvent {
    pub provider: Provider,
    /// `code`, `refresh`, `invalid_grant`, `invalid_client`, `revoke`.
    pub kind: String,
    pub account: Option<String>,
    pub client_id: String,
    pub at: DateTime<Utc>,
}

#[derive(Default)]
pub struct State {
    pub codes: HashMap<String, AuthCode>,
    pub access_tokens: HashMap<String, Grant>,
    pub refresh_tokens: HashMap<String, Grant>,
    pub events: Vec<OAuthEvent>,
}

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/calendly-auth/oauth/authorize",
            get(consent::calendly_authorize).post(consent::calendly_decide),
        )
        .route("/calendly-auth/oauth/revoke", post(token::calendly_revoke))
        .route(
            "/google-oauth/auth",
            get(consent::google_authorize).post(consent::google_decide),
        )
        .route("/google-oauth/token", post(token::google_token))
        .route("/google-oauth/revoke", post(token::google_revoke))
        .route(
            "/microsoft-login/{tenant}/oauth2/v2.0/authorize",
            get(consent::microsoft_authorize).post(consent::microsoft_decide),
        )
        .route(
            "/microsoft-login/{tenant}/oauth2/v2.0/token",
            post(token::microsoft_token),
        )
}

pub type Params = HashMap<String, String>;

pub fn param<'a>(p: &'a Params, key: &str) -> &'a str {
    p.get(key).map(String::as_str).unwrap_or("")
}

/// The account behind a bearer token, or the provider's own 401.
pub fn authenticate(
    world: &World,
    provider: Provider,
    headers: &HeaderMap,
) -> Result<Account, Response> {
    let unauthenticated = || {
        error_response(
            provider,
            StatusCode::UNAUTHORIZED,
            "The access token is invalid, expired or revoked.",
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthenticated)?;
    let now = world.now();
    let grant = world
        .oauth
        .access_tokens
        .get(token.trim())
        .filter(|g| g.provider == provider && !g.revoked && g.expires_at.is_none_or(|e| e > now))
        .ok_or_else(unauthenticated)?;
    world
        .account(provider, &grant.account_id)
        .cloned()
        .ok_or_else(unauthenticated)
}
