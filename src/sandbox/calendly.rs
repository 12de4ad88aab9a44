//! Calendly API v2 emulator (`/calendly/...`) and its control routes.

use super::{Account, Sandbox, World};
use axum::response::Response;
use axum::Router;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;

#[derive(Default)]
pub struct State {}

pub fn on_account_added(_world: &mut World, _account: &Account) {}

pub fn routes() -> Router<Sandbox> {
    Router::new()
}

/// `https://api.calendly.com/users/{uuid}` in the sandbox.
pub fn user_uri(base: &str, user_id: &str) -> String {
    format!("{base}/calendly/users/{user_id}")
}

pub fn organization_uri(base: &str, _world: &World, account: &Account) -> String {
    format!("{base}/calendly/organizations/{}", account.id)
}

/// `Calendly-Webhook-Signature` for a body sent at unix time `t`:
/// `t=<t>,v1=<hex HMAC-SHA256(key, "{t}.{body}")>`.
pub fn signature_header(key: &str, t: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn disable_subscription(_world: &mut World, _subscription_uuid: &str) {}

pub fn account_extras(base: &str, world: &World, account: &Account) -> Value {
    json!({ "uri": user_uri(base, &account.id), "organization": organization_uri(base, world, account) })
}

pub fn truth(_base: &str, _world: &World, _account: &Account) -> Value {
    json!({ "events": [] })
}

#[derive(Clone, Debug, Deserialize)]
pub struct BookingRequest {
    pub host_email: String,
    pub invitee_name: String,
    pub invitee_email: String,
    pub start_time: String,
    pub end_time: String,
    pub event_name: String,
}

pub fn book(_sandbox: &Sandbox, _req: BookingRequest) -> Result<Value, Response> {
    Err(super::control::bad_request("not yet"))
}

pub fn cancel(_sandbox: &Sandbox, _uuid: &str, _reason: &str) -> Result<Value, Response> {
    Err(super::control::bad_request("not yet"))
}
