//! Emulator (API + control routes).

use super::{Account, OwnerEvent, Sandbox, World};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

#[derive(Default)]
pub struct State {}

pub fn on_account_added(_world: &mut World, _account: &Account) {}

pub fn routes() -> Router<Sandbox> {
    Router::new()
}

pub fn account_extras(_world: &World, _account: &Account) -> Value {
    json!({})
}

pub fn truth(_world: &World, _account: &Account) -> Value {
    json!({})
}

pub fn create_owner_event(_sandbox: &Sandbox, _event: OwnerEvent) -> Result<Value, Response> {
    Err(super::control::bad_request("not yet"))
}
