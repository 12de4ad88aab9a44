//! The control API under `/_control/`: how people (through the panel) and
//! tests set the sandbox up, act as invitees and calendar owners, inject
//! faults and read the providers' ground truth. Provider-specific control
//! routes live in the provider modules.

use super::core::faults::FaultRule;
use super::core::{bad_request, control_error, Account, App, Tunables};
use super::{calendly, google, microsoft, Sandbox, World};
use crate::Provider;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/_control/apps", post(create_app).get(list_apps))
        .route(
            "/_control/accounts",
            post(create_account).get(list_accounts),
        )
        .route(
            "/_control/faults",
            post(set_fault).get(list_faults).delete(reset_faults),
        )
        .route("/_control/deliveries", get(deliveries))
        .route("/_control/settings", post(set_settings).get(get_settings))
        .route("/_control/clock", post(advance_clock))
        .route("/_control/truth", get(truth))
        .route("/_control/oauth/events", get(oauth_events))
}

#[derive(Deserialize)]
struct NewApp {
    provider: Provider,
    client_id: String,
    client_secret: String,
    redirect_uris: Vec<String>,
}

async fn create_app(State(s): State<Sandbox>, Json(app): Json<NewApp>) -> Response {
    if app.client_id.is_empty() || app.client_secret.is_empty() || app.redirect_uris.is_empty() {
        return bad_request("client_id, client_secret and redirect_uris are required");
    }
    let app = App {
        provider: app.provider,
        client_id: app.client_id,
        client_secret: app.client_secret,
        redirect_uris: app.redirect_uris,
    };
    s.register_app(app.clone());
    (StatusCode::CREATED, Json(app)).into_response()
}

async fn list_apps(State(s): State<Sandbox>) -> Json<Vec<App>> {
    Json(s.world().apps.clone())
}

#[derive(Deserialize)]
struct NewAccount {
    provider: Provider,
    email: String,
    name: String,
    plan: Option<String>,
}

/// An account with the ids and URIs its provider uses for it.
pub fn account_json(sandbox: &Sandbox, world: &World, account: &Account) -> Value {
    let mut v = serde_json::to_value(account).unwrap_or_default();
    let extras = match account.provider {
        Provider::Calendly => calendly::account_extras(sandbox.base(), world, account),
        Provider::Google => google::account_extras(world, account),
        Provider::Microsoft => microsoft::account_extras(world, account),
    };
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extras) {
        obj.extend(more);
    }
    v
}

async fn create_account(State(s): State<Sandbox>, Json(new): Json<NewAccount>) -> Response {
    let plan = new.plan.unwrap_or_else(|| "paid".into());
    if !new.email.contains('@')
        || new.name.trim().is_empty()
        || !matches!(plan.as_str(), "free" | "paid")
    {
        return bad_request("email, name and plan (free|paid) are required");
    }
    let mut world = s.world();
    let account = world.add_account(new.provider, &new.email, &new.name, &plan);
    (
        StatusCode::CREATED,
        Json(account_json(&s, &world, &account)),
    )
        .into_response()
}

async fn list_accounts(
    State(s): State<Sandbox>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Vec<Value>> {
    let provider = q.get("provider").and_then(|p| p.parse::<Provider>().ok());
    let world = s.world();
    Json(
        world
            .accounts
            .iter()
            .filter(|a| provider.is_none_or(|p| p == a.provider))
            .map(|a| account_json(&s, &world, a))
            .collect(),
    )
}

async fn set_fault(State(s): State<Sandbox>, Json(rule): Json<FaultRule>) -> Response {
    let rates = [
        rule.error_rate,
        rule.duplicate_delivery_rate,
        rule.drop_rate,
    ];
    if rates.iter().any(|r| !(0.0..=1.0).contains(r)) {
        return bad_request("rates must be between 0 and 1");
    }
    if !(100..=599).contains(&rule.status) {
        return bad_request("status must be an HTTP status code");
    }
    s.world().faults.set(rule.clone());
    (StatusCode::CREATED, Json(rule)).into_response()
}

async fn list_faults(State(s): State<Sandbox>) -> Json<Value> {
    let world = s.world();
    Json(json!({ "rules": world.faults.rules, "injected_errors": world.faults.injected_errors }))
}

async fn reset_faults(State(s): State<Sandbox>) -> StatusCode {
    s.world().faults.rules.clear();
    StatusCode::NO_CONTENT
}

async fn deliveries(
    State(s): State<Sandbox>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let provider = q.get("provider").and_then(|p| p.parse::<Provider>().ok());
    let attempts: Vec<_> = s
        .deliveries()
        .attempts()
        .into_iter()
        .filter(|a| provider.is_none_or(|p| p == a.provider))
        .filter(|a| q.get("label").is_none_or(|l| &a.label == l))
        .collect();
    Json(json!({ "pending": s.deliveries().pending(), "attempts": attempts }))
}

async fn set_settings(State(s): State<Sandbox>, Json(patch): Json<Value>) -> Response {
    let mut world = s.world();
    let mut current = serde_json::to_value(&world.tunables).unwrap_or_default();
    if let (Some(obj), Value::Object(changes)) = (current.as_object_mut(), patch) {
        for (k, v) in changes {
            if !obj.contains_key(&k) {
                return bad_request(format!("unknown setting '{k}'"));
            }
            obj.insert(k, v);
        }
    }
    match serde_json::from_value::<Tunables>(current) {
        Ok(t) => {
            world.tunables = t.clone();
            Json(t).into_response()
        }
        Err(e) => bad_request(e.to_string()),
    }
}

async fn get_settings(State(s): State<Sandbox>) -> Json<Tunables> {
    Json(s.world().tunables.clone())
}

#[derive(Deserialize)]
struct Clock {
    advance_secs: i64,
}

async fn advance_clock(State(s): State<Sandbox>, Json(c): Json<Clock>) -> Json<Value> {
    let mut world = s.world();
    world.clock_offset += chrono::Duration::seconds(c.advance_secs);
    Json(json!({ "now": world.now().to_rfc3339() }))
}

async fn truth(State(s): State<Sandbox>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(email) = q.get("account") else {
        return bad_request("?account=<email> is required");
    };
    let provider = q.get("provider").and_then(|p| p.parse::<Provider>().ok());
    let world = s.world();
    let mut out = serde_json::Map::new();
    for p in Provider::ALL
        .into_iter()
        .filter(|p| provider.is_none_or(|x| x == *p))
    {
        if let Some(account) = world.account_by_email(p, email) {
            let t = match p {
                Provider::Calendly => calendly::truth(s.base(), &world, account),
                Provider::Google => google::truth(&world, account),
                Provider::Microsoft => microsoft::truth(&world, account),
            };
            out.insert(p.as_str().to_owned(), t);
        }
    }
    if out.is_empty() {
        return control_error(StatusCode::NOT_FOUND, "no such account");
    }
    Json(Value::Object(out)).into_response()
}

async fn oauth_events(State(s): State<Sandbox>) -> Json<Value> {
    Json(json!({ "events": s.world().oauth.events }))
}
