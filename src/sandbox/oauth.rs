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

use super::{error_response, Account, Sandbox, World};
use crate::model::Provider;
use axum::extract::{Form, Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

const CODE_TTL_MINUTES: i64 = 10;

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
            get(calendly_authorize).post(calendly_decide),
        )
        .route("/calendly-auth/oauth/token", post(calendly_token))
        .route("/calendly-auth/oauth/revoke", post(calendly_revoke))
        .route("/calendly-auth/oauth/introspect", post(calendly_introspect))
        .route(
            "/google-oauth/auth",
            get(google_authorize).post(google_decide),
        )
        .route("/google-oauth/token", post(google_token))
        .route("/google-oauth/revoke", post(google_revoke))
        .route(
            "/microsoft-login/{tenant}/oauth2/v2.0/authorize",
            get(microsoft_authorize).post(microsoft_decide),
        )
        .route(
            "/microsoft-login/{tenant}/oauth2/v2.0/token",
            post(microsoft_token),
        )
}

type Params = HashMap<String, String>;

fn param<'a>(p: &'a Params, key: &str) -> &'a str {
    p.get(key).map(String::as_str).unwrap_or("")
}

/// The app and redirect URI, if both are valid; otherwise an error page
/// (never a redirect to an unregistered URI).
fn check_client(world: &World, provider: Provider, p: &Params) -> Result<(), Response> {
    let Some(app) = world
        .apps
        .iter()
        .find(|a| a.provider == provider && a.client_id == param(p, "client_id"))
    else {
        return Err(error_page(
            "invalid_client",
            "The OAuth client was not found.",
        ));
    };
    if !app
        .redirect_uris
        .iter()
        .any(|u| u == param(p, "redirect_uri"))
    {
        return Err(error_page(
            "redirect_uri_mismatch",
            "The redirect URI in the request does not match the ones registered for this client.",
        ));
    }
    if param(p, "response_type") != "code" {
        return Err(error_page(
            "unsupported_response_type",
            "response_type must be 'code'.",
        ));
    }
    let method = param(p, "code_challenge_method");
    if !(param(p, "code_challenge").is_empty() || method == "S256" || method.is_empty()) {
        return Err(error_page(
            "invalid_request",
            "code_challenge_method must be S256.",
        ));
    }
    Ok(())
}

fn error_page(code: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!DOCTYPE html><html><head><title>Error 400: {code}</title>{STYLE}</head><body><main class=\"box\">\
             <h1>Authorization error</h1><p><strong>Error 400: {code}</strong></p><p>{message}</p></main></body></html>"
        )),
    )
        .into_response()
}

const STYLE: &str = "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>\
body{font-family:system-ui,sans-serif;background:#f4f5f8;color:#1c2233;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}\
.box{background:#fff;border:1px solid #e3e6ee;border-radius:12px;padding:2rem;max-width:440px;width:100%;box-shadow:0 8px 24px rgba(0,0,0,.06)}\
h1{font-size:1.3rem;margin:0 0 .25rem}.sub{color:#667085;margin:0 0 1.25rem}.tag{display:inline-block;font-size:.75rem;font-weight:700;\
letter-spacing:.06em;text-transform:uppercase;color:#b54708;background:#fffaeb;border-radius:999px;padding:.15rem .6rem;margin-bottom:.75rem}\
label.acct{display:flex;gap:.6rem;align-items:center;border:1px solid #e3e6ee;border-radius:8px;padding:.6rem .75rem;margin:.4rem 0;cursor:pointer}\
.row{display:flex;gap:.75rem;margin-top:1.25rem}button{flex:1;font:inherit;font-weight:600;padding:.65rem;border-radius:8px;border:1px solid #d0d5dd;background:#fff;cursor:pointer}\
button.allow{background:#4f46e5;border-color:#4f46e5;color:#fff}.scope{font-size:.85rem;color:#667085}</style>";

fn consent_page(world: &World, provider: Provider, p: &Params) -> Response {
    let app_name = param(p, "client_id");
    let hint = param(p, "login_hint");
    let accounts: Vec<&Account> = world
        .accounts
        .iter()
        .filter(|a| a.provider == provider)
        .collect();
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let hidden: String = p
        .iter()
        .filter(|(k, _)| k.as_str() != "account" && k.as_str() != "decision")
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    let choices: String = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let checked = if a.email == hint || (hint.is_empty() && i == 0) { " checked" } else { "" };
            format!(
                "<label class=\"acct\"><input type=\"radio\" name=\"account\" value=\"{email}\"{checked}>\
                 <span><strong>{name}</strong><br><span class=\"scope\">{email}</span></span></label>",
                email = esc(&a.email),
                name = esc(&a.name),
            )
        })
        .collect();
    let provider_name = provider.label();
    Html(format!(
        "<!DOCTYPE html><html><head><title>Sign in with {provider_name} (sandbox)</title>{STYLE}</head><body><main class=\"box\">\
         <span class=\"tag\">Sandbox</span><h1>{provider_name}</h1>\
         <p class=\"sub\"><strong>{app}</strong> wants to access your {provider_name} account.</p>\
         {scope}\
         <form method=\"post\">{hidden}<fieldset style=\"border:0;padding:0;margin:0\"><legend class=\"scope\">Choose an account</legend>{choices}</fieldset>\
         <div class=\"row\"><button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
         <button class=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button></div></form></main></body></html>",
        app = esc(app_name),
        scope = match param(p, "scope") {
            "" => String::new(),
            scope => format!("<p class=\"scope\">Requested access: {}</p>", esc(scope)),
        },
    ))
    .into_response()
}

fn authorize(sandbox: &Sandbox, provider: Provider, p: &Params) -> Response {
    let world = sandbox.world();
    if let Err(page) = check_client(&world, provider, p) {
        return page;
    }
    consent_page(&world, provider, p)
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return error_page("invalid_request", "redirect_uri is not a URL."),
    };
    url.query_pairs_mut()
        .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()));
    Redirect::to(url.as_str()).into_response()
}

fn decide(sandbox: &Sandbox, provider: Provider, p: &Params) -> Response {
    let mut world = sandbox.world();
    if let Err(page) = check_client(&world, provider, p) {
        return page;
    }
    let redirect_uri = param(p, "redirect_uri");
    let state = param(p, "state");
    if param(p, "decision") != "allow" {
        return redirect_with(
            redirect_uri,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The resource owner denied the request.",
                ),
                ("state", state),
            ],
        );
    }
    let Some(account) = world
        .account_by_email(provider, param(p, "account"))
        .cloned()
    else {
        return error_page("invalid_request", "Choose an account.");
    };
    let offline = match provider {
        Provider::Google => {
            param(p, "access_type") == "offline" && param(p, "prompt").contains("consent")
        }
        Provider::Microsoft => param(p, "scope").split(' ').any(|s| s == "offline_access"),
        Provider::Calendly => true,
    };
    let code = world.token("code_");
    let expires_at = world.now() + Duration::minutes(CODE_TTL_MINUTES);
    world.oauth.codes.insert(
        code.clone(),
        AuthCode {
            provider,
            client_id: param(p, "client_id").to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            account_id: account.id.clone(),
            scope: param(p, "scope").to_owned(),
            code_challenge: p.get("code_challenge").filter(|c| !c.is_empty()).cloned(),
            offline,
            expires_at,
            used: false,
        },
    );
    redirect_with(redirect_uri, &[("code", &code), ("state", state)])
}

async fn calendly_authorize(AxState(s): AxState<Sandbox>, Query(p): Query<Params>) -> Response {
    authorize(&s, Provider::Calendly, &p)
}
async fn calendly_decide(AxState(s): AxState<Sandbox>, Form(p): Form<Params>) -> Response {
    decide(&s, Provider::Calendly, &p)
}
async fn google_authorize(AxState(s): AxState<Sandbox>, Query(p): Query<Params>) -> Response {
    authorize(&s, Provider::Google, &p)
}
async fn google_decide(AxState(s): AxState<Sandbox>, Form(p): Form<Params>) -> Response {
    decide(&s, Provider::Google, &p)
}
async fn microsoft_authorize(
    AxState(s): AxState<Sandbox>,
    Path(_tenant): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    authorize(&s, Provider::Microsoft, &p)
}
async fn microsoft_decide(
    AxState(s): AxState<Sandbox>,
    Path(_tenant): Path<String>,
    Form(p): Form<Params>,
) -> Response {
    decide(&s, Provider::Microsoft, &p)
}

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

fn token(sandbox: &Sandbox, provider: Provider, headers: &HeaderMap, p: &Params) -> Response {
    let mut world = sandbox.world();
    let Some((client_id, client_secret)) = client_credentials(provider, headers, p) else {
        log(
            &mut world,
            provider,
            "invalid_client",
            None,
            param(p, "client_id"),
        );
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    };
    let app_ok = world.apps.iter().any(|a| {
        a.provider == provider && a.client_id == client_id && a.client_secret == client_secret
    });
    if !app_ok {
        log(&mut world, provider, "invalid_client", None, &client_id);
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
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
                log(&mut world, provider, "invalid_grant", None, &client_id);
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
            }
            let code = world.oauth.codes.get_mut(code).expect("checked above");
            code.used = true;
            let (account, scope, offline) =
                (code.account_id.clone(), code.scope.clone(), code.offline);
            log(&mut world, provider, "code", Some(&account), &client_id);
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
                    &mut world,
                    provider,
                    "invalid_grant",
                    account.as_deref(),
                    &client_id,
                );
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
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
            log(&mut world, provider, "refresh", Some(&account), &client_id);
            (account, scope, provider != Provider::Google)
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token.",
            )
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
            let account = world.account(provider, &account_id).cloned();
            body["scope"] = json!("default");
            body["created_at"] = json!(now.timestamp());
            if let Some(account) = account {
                body["owner"] = json!(super::calendly::user_uri(sandbox.base(), &account.id));
                body["organization"] = json!(super::calendly::organization_uri(
                    sandbox.base(),
                    &world,
                    &account
                ));
            }
        }
        Provider::Google => {
            body["scope"] = json!(scope);
        }
        Provider::Microsoft => {
            body["scope"] = json!(scope);
            body["ext_expires_in"] = json!(ttl);
        }
    }
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

async fn calendly_token(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Response {
    token(&s, Provider::Calendly, &headers, &p)
}
async fn google_token(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Response {
    token(&s, Provider::Google, &headers, &p)
}
async fn microsoft_token(
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
fn calendly_client_ok(world: &World, headers: &HeaderMap, p: &Params) -> Result<(), Response> {
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

async fn calendly_revoke(
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

async fn calendly_introspect(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Response {
    let world = s.world();
    if let Err(refused) = calendly_client_ok(&world, &headers, &p) {
        return refused;
    }
    let now = world.now();
    let t = param(&p, "token");
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
            "owner": super::calendly::user_uri(s.base(), &account.id),
            "organization": super::calendly::organization_uri(s.base(), &world, account),
        }),
        None => json!({ "active": false }),
    };
    Json(body).into_response()
}

async fn google_revoke(
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
