//! The token and revocation endpoints, with each provider's client
//! authentication and refresh-token rules.

use super::{param, Grant, OAuthEvent, Params};
use crate::Provider;
use crate::{Sandbox, World};
use axum::extract::{Form, Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::Duration;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Client credentials as each provider expects them.
fn client_credentials(
    provider: Provider,
    headers: &HeaderMap,
    p: &Params,
) -> Option<(String, String)> {
    match provider {
        Provider::Calendly => {
            let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
            let encoded = value.strip_prefix("Basic ")?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (id, secret) = text.split_once(':')?;
            Some((id.to_owned(), secret.to_owned()))
        }
        Provider::Google | Provider::Microsoft => {
            let id = p.get("client_id")?;
            let secret = p.get("client_secret")?;
            Some((id.clone(), secret.clone()))
        }
    }
}

fn log(world: &mut World, provider: Provider, kind: &str, account: Option<&str>, client_id: &str) {
    let at = world.now();
    world.oauth.events.push(OAuthEvent {
        provider,
        kind: kind.to_owned(),
        account: account.map(str::to_owned),
        client_id: client_id.to_owned(),
        at,
    });
}

fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    let digest = Sha256::digest(verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) == challenge
}

/// A token endpoint: authenticates the client, redeems the code or refresh
/// token and issues new tokens. Returns the response body and the account
/// the tokens are for.
pub fn issue_tokens(
    world: &mut World,
    provider: Provider,
    headers: &HeaderMap,
    p: &Params,
) -> Result<(Value, String), Response> {
    let Some((client_id, client_secret)) = client_credentials(provider, headers, p) else {
        log(
            world,
            provider,
            "invalid_client",
            None,
            param(p, "client_id"),
        );
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        ));
    };
    let app_ok = world.apps.iter().any(|a| {
        a.provider == provider && a.client_id == client_id && a.client_secret == client_secret
    });
    if !app_ok {
        log(world, provider, "invalid_client", None, &client_id);
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        ));
    }
    let now = world.now();
    let (account_id, scope, issue_refresh) = match param(p, "grant_type") {
        "authorization_code" => {
            let code = param(p, "code");
            let problem = match world.oauth.codes.get(code) {
                None => Some("The authorization code is invalid."),
                Some(c) if c.used => Some("The authorization code has already been used."),
                Some(c) if c.expires_at < now => Some("The authorization code has expired."),
                Some(c) if c.provider != provider || c.client_id != client_id => {
                    Some("The authorization code was issued to another client.")
                }
                Some(c) if c.redirect_uri != param(p, "redirect_uri") => {
                    Some("redirect_uri does not match.")
                }
                Some(c) => match &c.code_challenge {
                    Some(ch) if !pkce_matches(ch, param(p, "code_verifier")) => {
                        Some("The code_verifier does not match the code_challenge.")
                    }
                    _ => None,
                },
            };
            if let Some(description) = problem {
                log(world, provider, "invalid_grant", None, &client_id);
                return Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    description,
                ));
            }
            let code = world.oauth.codes.get_mut(code).expect("checked above");
            code.used = true;
            let (account, scope, offline) =
                (code.account_id.clone(), code.scope.clone(), code.offline);
            log(world, provider, "code", Some(&account), &client_id);
            (account, scope, offline)
        }
        "refresh_token" => {
            let presented = param(p, "refresh_token").to_owned();
            let problem = match world.oauth.refresh_tokens.get(&presented) {
                None => Some("The refresh token is invalid."),
                Some(g) if g.revoked => Some("The refresh token has been revoked."),
                Some(g) if g.used => Some("The refresh token has already been used."),
                Some(g) if g.provider != provider || g.client_id != client_id => {
                    Some("The refresh token was issued to another client.")
                }
                Some(_) => None,
            };
            if let Some(description) = problem {
                let account = world
                    .oauth
                    .refresh_tokens
                    .get(&presented)
                    .map(|g| g.account_id.clone());
                log(
                    world,
                    provider,
                    "invalid_grant",
                    account.as_deref(),
                    &client_id,
                );
                return Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    description,
                ));
            }
            let grant = world
                .oauth
                .refresh_tokens
                .get_mut(&presented)
                .expect("checked above");
            // Calendly refresh tokens are single use; Microsoft's old one stays
            // valid; Google's is never replaced.
            if provider == Provider::Calendly {
                grant.used = true;
            }
            let (account, scope) = (grant.account_id.clone(), grant.scope.clone());
            log(world, provider, "refresh", Some(&account), &client_id);
            (account, scope, provider != Provider::Google)
        }
        _ => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token.",
            ))
        }
    };

    let ttl = world.tunables.access_token_ttl_secs;
    let access_token = world.token(match provider {
        Provider::Calendly => "cal_at_",
        Provider::Google => "ya29.",
        Provider::Microsoft => "EwB",
    });
    let grant = Grant {
        provider,
        account_id: account_id.clone(),
        client_id: client_id.clone(),
        scope: scope.clone(),
        expires_at: Some(now + Duration::seconds(ttl)),
        used: false,
        revoked: false,
    };
    world
        .oauth
        .access_tokens
        .insert(access_token.clone(), grant.clone());
    let refresh_token = issue_refresh.then(|| {
        let t = world.token(match provider {
            Provider::Calendly => "cal_rt_",
            Provider::Google => "1//",
            Provider::Microsoft => "M.R3_",
        });
        world.oauth.refresh_tokens.insert(
            t.clone(),
            Grant {
                expires_at: None,
                ..grant
            },
        );
        t
    });

    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl,
    });
    if let Some(rt) = &refresh_token {
        body["refresh_token"] = json!(rt);
    }
    match provider {
        Provider::Calendly => {
            body["scope"] = json!("default");
            body["created_at"] = json!(now.timestamp());
        }
        Provider::Google => {
            body["scope"] = json!(scope);
        }
        Provider::Microsoft => {
            body["scope"] = json!(scope);
            body["ext_expires_in"] = json!(ttl);
        }
    }
    Ok((body, account_id))
}

/// Token responses are never cached.
pub fn token_response(body: Value) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

fn token(sandbox: &Sandbox, provider: Provider, headers: &HeaderMap, p: &Params) -> Response {
    let mut world = sandbox.world();
    match issue_tokens(&mut world, provider, headers, p) {
        Ok((body, _)) => token_response(body),
        Err(refused) => refused,
    }
}

pub(super) async fn google_token(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Response {
    token(&s, Provider::Google, &headers, &p)
}
pub(super) async fn microsoft_token(
    AxState(s): AxState<Sandbox>,
    Path(_tenant): Path<String>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Response {
    token(&s, Provider::Microsoft, &headers, &p)
}

/// Revokes the whole grant (every access and refresh token of that account
/// and client) that `token` belongs to. Returns false for an unknown token.
fn revoke_grant(world: &mut World, provider: Provider, token: &str) -> bool {
    let grant = world
        .oauth
        .access_tokens
        .get(token)
        .or_else(|| world.oauth.refresh_tokens.get(token))
        .filter(|g| g.provider == provider)
        .map(|g| (g.account_id.clone(), g.client_id.clone()));
    let Some((account, client)) = grant else {
        return false;
    };
    for g in world
        .oauth
        .access_tokens
        .values_mut()
        .chain(world.oauth.refresh_tokens.values_mut())
    {
        if g.provider == provider && g.account_id == account && g.client_id == client {
            g.revoked = true;
        }
    }
    log(world, provider, "revoke", Some(&account), &client);
    true
}

/// Calendly's revoke and introspect endpoints take the client's
/// credentials as HTTP Basic or as form fields.
pub fn calendly_client_ok(world: &World, headers: &HeaderMap, p: &Params) -> Result<(), Response> {
    let creds = client_credentials(Provider::Calendly, headers, p)
        .or_else(|| Some((p.get("client_id")?.clone(), p.get("client_secret")?.clone())));
    let authorized = creds.is_some_and(|(id, secret)| {
        world.apps.iter().any(|a| {
            a.provider == Provider::Calendly && a.client_id == id && a.client_secret == secret
        })
    });
    if authorized {
        Ok(())
    } else {
        Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        ))
    }
}

pub(super) async fn calendly_revoke(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Response {
    let mut world = s.world();
    if let Err(refused) = calendly_client_ok(&world, &headers, &p) {
        return refused;
    }
    revoke_grant(&mut world, Provider::Calendly, param(&p, "token"));
    Json(json!({})).into_response()
}

pub(super) async fn google_revoke(
    AxState(s): AxState<Sandbox>,
    Query(q): Query<Params>,
    body: axum::body::Bytes,
) -> Response {
    let mut world = s.world();
    // Google accepts the token in the query string or the form body.
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .or_else(|| q.get("token").cloned())
        .unwrap_or_default();
    if revoke_grant(&mut world, Provider::Google, &token) {
        StatusCode::OK.into_response()
    } else {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_example() {
        // RFC 7636, appendix B.
        assert!(pkce_matches(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!pkce_matches(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "wrong"
        ));
    }
}
