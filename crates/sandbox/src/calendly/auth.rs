//! Calendly's OAuth endpoints that name the token's owner: the token
//! response and introspection carry the user and organization URIs, which
//! the shared OAuth server cannot know.

use super::wire::{organization_uri, user_uri};
use crate::Provider;
use crate::{oauth, Sandbox};
use axum::extract::{Form, State as AxState};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub(super) async fn token(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Form(p): Form<oauth::Params>,
) -> Response {
    let mut world = s.world();
    let (mut body, account_id) =
        match oauth::issue_tokens(&mut world, Provider::Calendly, &headers, &p) {
            Ok(issued) => issued,
            Err(refused) => return refused,
        };
    if let Some(account) = world.account(Provider::Calendly, &account_id) {
        body["owner"] = json!(user_uri(s.base(), &account.id));
        body["organization"] = json!(organization_uri(s.base(), &world, account));
    }
    oauth::token_response(body)
}

pub(super) async fn introspect(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Form(p): Form<oauth::Params>,
) -> Response {
    let world = s.world();
    if let Err(refused) = oauth::calendly_client_ok(&world, &headers, &p) {
        return refused;
    }
    let now = world.now();
    let t = oauth::param(&p, "token");
    let grant = world
        .oauth
        .access_tokens
        .get(t)
        .or_else(|| world.oauth.refresh_tokens.get(t))
        .filter(|g| {
            g.provider == Provider::Calendly
                && !g.revoked
                && !g.used
                && g.expires_at.is_none_or(|e| e > now)
        });
    let body = match grant.and_then(|g| {
        world
            .account(Provider::Calendly, &g.account_id)
            .map(|a| (g, a))
    }) {
        Some((g, account)) => json!({
            "active": true,
            "scope": "default",
            "client_id": g.client_id,
            "token_type": "Bearer",
            "exp": g.expires_at.map(|e| e.timestamp()),
            "owner": user_uri(s.base(), &account.id),
            "organization": organization_uri(s.base(), &world, account),
        }),
        None => json!({ "active": false }),
    };
    Json(body).into_response()
}
