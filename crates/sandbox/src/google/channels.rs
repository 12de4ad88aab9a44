//! Push channels: `events.watch` and `channels.stop`, and the
//! notifications they get (an empty body and the `X-Goog-*` headers).

use super::state::{calendar_index, Channel};
use super::wire::{authenticate, bad, gerr, not_found, parse_object, rfc1123};
use crate::core::delivery::{Outbound, Retry};
use crate::Provider;
use crate::{Sandbox, World};
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Channels live at most this long (Google: 7 days for events).
const MAX_CHANNEL_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

fn outbound(c: &Channel, state: &str) -> Outbound {
    let mut headers = vec![
        ("X-Goog-Channel-ID".to_owned(), c.id.clone()),
        (
            "X-Goog-Channel-Expiration".to_owned(),
            rfc1123(c.expires_at),
        ),
        ("X-Goog-Resource-ID".to_owned(), c.resource_id.clone()),
        ("X-Goog-Resource-URI".to_owned(), c.resource_uri.clone()),
        ("X-Goog-Resource-State".to_owned(), state.to_owned()),
        (
            "X-Goog-Message-Number".to_owned(),
            c.message_number.to_string(),
        ),
    ];
    if let Some(token) = &c.token {
        headers.push(("X-Goog-Channel-Token".to_owned(), token.clone()));
    }
    Outbound {
        provider: Provider::Google,
        url: c.address.clone(),
        headers,
        body: Vec::new(),
        label: state.to_owned(),
        retry: Retry::Attempts(3),
        signer: None,
    }
}

/// `exists` notifications for every live channel on a calendar.
pub(super) fn notify(world: &mut World, calendar_id: &str) -> Vec<Outbound> {
    let now = world.now();
    world
        .google
        .channels
        .iter_mut()
        .filter(|c| !c.stopped && c.expires_at > now && c.calendar_id == calendar_id)
        .map(|c| {
            c.message_number += 1;
            outbound(c, "exists")
        })
        .collect()
}

pub(super) fn send_all(sandbox: &Sandbox, outbound: Vec<Outbound>) {
    for o in outbound {
        sandbox.deliveries().send(o);
    }
}

pub(super) async fn watch(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(calendar_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let mut guard = s.world();
    let account = authenticate!(guard, headers);
    let world = &mut *guard;
    let Some(ci) = calendar_index(&world.google, &account, &calendar_id) else {
        return not_found();
    };
    let body = match parse_object(&bytes) {
        Ok(b) => b,
        Err(m) => return gerr(StatusCode::BAD_REQUEST, "parseError", &m),
    };
    let str_field = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let Some(id) = str_field("id").filter(|i| !i.is_empty() && i.len() <= 64) else {
        return gerr(
            StatusCode::BAD_REQUEST,
            "required",
            "Missing or invalid channel id.",
        );
    };
    if !matches!(str_field("type").as_deref(), Some("web_hook" | "webhook")) {
        return bad("Invalid channel type: only web_hook is supported.");
    }
    let Some(address) = str_field("address")
        .filter(|a| url::Url::parse(a).is_ok_and(|u| matches!(u.scheme(), "https" | "http")))
    else {
        return bad("Invalid address: an absolute http(s) URL is required.");
    };
    if !s.callback_allowed(&address) {
        return bad(
            "Invalid address: the sandbox delivers notifications only to the app it serves.",
        );
    }
    let token = str_field("token");
    if token.as_ref().is_some_and(|t| t.len() > 256) {
        return bad("The channel token must be at most 256 characters.");
    }
    let now = world.now();
    let latest = now + Duration::milliseconds(MAX_CHANNEL_TTL_MS);
    let requested = match body.get("expiration") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let ms = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|t| t.parse::<i64>().ok()));
            match ms.and_then(DateTime::from_timestamp_millis) {
                Some(at) if at > now => Some(at),
                _ => {
                    return bad("Invalid expiration: milliseconds since the epoch, in the future.")
                }
            }
        }
    };
    let ttl = body
        .get("params")
        .and_then(|p| p.get("ttl"))
        .and_then(|v| {
            v.as_str()
                .and_then(|t| t.parse::<i64>().ok())
                .or(v.as_i64())
        })
        .filter(|t| *t > 0)
        .map(|secs| now + Duration::seconds(secs.min(MAX_CHANNEL_TTL_MS / 1000)));
    let expires_at = requested.or(ttl).unwrap_or(latest).min(latest);
    if world
        .google
        .channels
        .iter()
        .any(|c| c.id == id && !c.stopped && c.expires_at > now)
    {
        return gerr(
            StatusCode::BAD_REQUEST,
            "channelIdNotUnique",
            "Channel id not unique.",
        );
    }
    let cal = &world.google.calendars[ci];
    let resource_id = hex::encode(&Sha256::digest(cal.id.as_bytes())[..14]);
    let encoded: String = url::form_urlencoded::byte_serialize(cal.id.as_bytes()).collect();
    let resource_uri = format!(
        "{}/google/calendar/v3/calendars/{encoded}/events?alt=json",
        s.base()
    );
    let channel = Channel {
        id,
        resource_id,
        resource_uri,
        account_id: account.id.clone(),
        calendar_id: cal.id.clone(),
        address,
        token,
        expires_at,
        stopped: false,
        message_number: 1,
    };
    let mut response = json!({
        "kind": "api#channel",
        "id": channel.id,
        "resourceId": channel.resource_id,
        "resourceUri": channel.resource_uri,
        "expiration": expires_at.timestamp_millis().to_string(),
    });
    if let Some(t) = &channel.token {
        response["token"] = json!(t);
    }
    let sync = outbound(&channel, "sync");
    world.google.channels.push(channel);
    drop(guard);
    s.deliveries().send(sync);
    Json(response).into_response()
}

pub(super) async fn stop_channel(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let mut guard = s.world();
    let account = authenticate!(guard, headers);
    let body = match parse_object(&bytes) {
        Ok(b) => b,
        Err(m) => return gerr(StatusCode::BAD_REQUEST, "parseError", &m),
    };
    let field = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or("");
    let (id, resource_id) = (field("id"), field("resourceId"));
    if id.is_empty() || resource_id.is_empty() {
        return gerr(
            StatusCode::BAD_REQUEST,
            "required",
            "id and resourceId are required.",
        );
    }
    match guard.google.channels.iter_mut().find(|c| {
        c.id == id && c.resource_id == resource_id && c.account_id == account.id && !c.stopped
    }) {
        Some(channel) => {
            channel.stopped = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => gerr(
            StatusCode::NOT_FOUND,
            "notFound",
            &format!("Channel '{id}' not found for project."),
        ),
    }
}
