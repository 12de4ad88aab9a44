//! Control routes under `/_control/calendly/`: tests and load tools acting
//! as invitees, and reading subscriptions with their signing keys.

use super::bookings::{book, cancel, reschedule, set_no_show, BookingRequest};
use super::request::{created, ok, S};
use super::webhooks::disable_subscription;
use super::wire::{subscription_json, user_uri};
use crate::core::{bad_request, control_error, respond};
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

fn control_body(body: &Bytes) -> Result<Value, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(bad_request("the body must be a JSON object")),
    }
}

pub(super) async fn control_book(AxState(s): S, body: Bytes) -> Response {
    respond((|| {
        let body = control_body(&body)?;
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let mut missing = Vec::new();
        let mut required = |k: &str| {
            field(k).unwrap_or_else(|| {
                missing.push(k.to_owned());
                String::new()
            })
        };
        let req = BookingRequest {
            host_email: required("host_email"),
            invitee_name: required("invitee_name"),
            invitee_email: required("invitee_email"),
            start_time: required("start_time"),
            end_time: required("end_time"),
            event_name: field("event_name").unwrap_or_default(),
            location: body.get("location").filter(|l| l.is_object()).cloned(),
            co_host_emails: body
                .get("co_host_emails")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        };
        if !missing.is_empty() {
            return Err(bad_request(format!(
                "missing fields: {}",
                missing.join(", ")
            )));
        }
        Ok(created(book(&s, req)?))
    })())
}

pub(super) async fn control_cancel(
    AxState(s): S,
    Path(uuid): Path<String>,
    body: Bytes,
) -> Response {
    respond((|| {
        let body = control_body(&body)?;
        let reason = body.get("reason").and_then(Value::as_str).unwrap_or("");
        Ok(ok(cancel(&s, &uuid, reason)?))
    })())
}

pub(super) async fn control_reschedule(
    AxState(s): S,
    Path(uuid): Path<String>,
    body: Bytes,
) -> Response {
    respond((|| {
        let body = control_body(&body)?;
        let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let reason = body
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(created(reschedule(
            &s,
            &uuid,
            &field("start_time"),
            &field("end_time"),
            reason,
        )?))
    })())
}

pub(super) async fn control_no_show(AxState(s): S, Path(uuid): Path<String>) -> Response {
    respond(set_no_show(&s, &uuid, true).map(created))
}

pub(super) async fn control_no_show_delete(AxState(s): S, Path(uuid): Path<String>) -> Response {
    respond(set_no_show(&s, &uuid, false).map(ok))
}

/// Every webhook subscription with its signing key, so a load tool can sign
/// deliveries the way Calendly would.
pub(super) async fn control_subscriptions(AxState(s): S) -> Response {
    let world = s.world();
    let list: Vec<Value> = world
        .calendly
        .subscriptions
        .iter()
        .map(|sub| {
            json!({
                "uuid": sub.uuid,
                "callback_url": sub.callback_url,
                "signing_key": sub.signing_key,
                "state": sub.state,
                "created_by": user_uri(s.base(), &sub.creator),
            })
        })
        .collect();
    ok(json!({ "collection": list }))
}

pub(super) async fn control_disable(AxState(s): S, Path(uuid): Path<String>) -> Response {
    let mut world = s.world();
    if !world
        .calendly
        .subscriptions
        .iter()
        .any(|sub| sub.uuid == uuid)
    {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("no webhook subscription '{uuid}'"),
        );
    }
    disable_subscription(&mut world, &uuid);
    let sub = world
        .calendly
        .subscriptions
        .iter()
        .find(|sub| sub.uuid == uuid)
        .expect("checked above");
    ok(json!({ "resource": subscription_json(s.base(), sub) }))
}
