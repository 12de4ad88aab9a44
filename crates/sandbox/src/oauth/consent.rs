//! The authorization endpoints: a consent page for people, and the form
//! post that grants (or denies) a code.

use super::{param, AuthCode, Params};
use crate::core::html::escape;
use crate::core::Account;
use crate::Provider;
use crate::{Sandbox, World};
use axum::extract::{Form, Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Duration;

const CODE_TTL_MINUTES: i64 = 10;

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
    let hidden: String = p
        .iter()
        .filter(|(k, _)| k.as_str() != "account" && k.as_str() != "decision")
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
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
                email = escape(&a.email),
                name = escape(&a.name),
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
        app = escape(app_name),
        scope = match param(p, "scope") {
            "" => String::new(),
            scope => format!("<p class=\"scope\">Requested access: {}</p>", escape(scope)),
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

pub(super) async fn calendly_authorize(
    AxState(s): AxState<Sandbox>,
    Query(p): Query<Params>,
) -> Response {
    authorize(&s, Provider::Calendly, &p)
}
pub(super) async fn calendly_decide(
    AxState(s): AxState<Sandbox>,
    Form(p): Form<Params>,
) -> Response {
    decide(&s, Provider::Calendly, &p)
}
pub(super) async fn google_authorize(
    AxState(s): AxState<Sandbox>,
    Query(p): Query<Params>,
) -> Response {
    authorize(&s, Provider::Google, &p)
}
pub(super) async fn google_decide(AxState(s): AxState<Sandbox>, Form(p): Form<Params>) -> Response {
    decide(&s, Provider::Google, &p)
}
pub(super) async fn microsoft_authorize(
    AxState(s): AxState<Sandbox>,
    Path(_tenant): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    authorize(&s, Provider::Microsoft, &p)
}
pub(super) async fn microsoft_decide(
    AxState(s): AxState<Sandbox>,
    Path(_tenant): Path<String>,
    Form(p): Form<Params>,
) -> Response {
    decide(&s, Provider::Microsoft, &p)
}
