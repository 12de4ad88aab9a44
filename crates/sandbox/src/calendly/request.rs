//! What the API handlers share: the caller behind the bearer token (rate
//! limited), request bodies, errors in Calendly's shape and pagination.

use crate::core::Account;
use crate::Provider;
use crate::{oauth, Sandbox, World};
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;

const DEFAULT_PAGE_SIZE: usize = 20;
const MAX_PAGE_SIZE: usize = 100;

pub(super) type S = AxState<Sandbox>;

pub(super) fn ok(v: Value) -> Response {
    Json(v).into_response()
}

pub(super) fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

pub(super) fn api_error(status: StatusCode, title: &str, message: &str) -> Response {
    (status, Json(json!({ "title": title, "message": message }))).into_response()
}

/// Calendly's 400: `Invalid Argument` with per-parameter details.
pub(super) fn invalid(parameter: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "title": "Invalid Argument",
            "message": "The supplied parameters are invalid.",
            "details": [{ "parameter": parameter, "message": message }],
        })),
    )
        .into_response()
}

pub(super) fn not_found() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "Resource Not Found",
        "The server could not find the requested resource.",
    )
}

pub(super) fn forbidden(message: &str) -> Response {
    api_error(StatusCode::FORBIDDEN, "Permission Denied", message)
}

fn too_many_requests(limit: u32, reset_secs: i64) -> Response {
    let mut response = api_error(
        StatusCode::TOO_MANY_REQUESTS,
        "Too Many Requests",
        "You have exceeded the rate limit. Please try again later.",
    );
    let headers = response.headers_mut();
    for (name, value) in [
        ("X-RateLimit-Limit", limit.to_string()),
        ("X-RateLimit-Remaining", "0".to_owned()),
        ("X-RateLimit-Reset", reset_secs.max(0).to_string()),
        ("Retry-After", reset_secs.max(1).to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    response
}

/// The caller behind the bearer token, counted against the rate limit.
pub(super) fn caller(world: &mut World, headers: &HeaderMap) -> Result<Account, Response> {
    let account = oauth::authenticate(world, Provider::Calendly, headers)?;
    let limit = world.tunables.calendly_rate_limit_per_minute;
    if let Some((limit, reset)) = world.rate_limited(&format!("calendly:{}", account.id), limit) {
        return Err(too_many_requests(limit, reset));
    }
    Ok(account)
}

pub(super) fn json_body(body: &Bytes) -> Result<Value, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(invalid("body", "The request body must be a JSON object.")),
    }
}

pub(super) fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn encode_page_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("sandbox-offset:{offset}"))
}

fn decode_page_token(token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("sandbox-offset:")?
        .parse()
        .ok()
}

pub(super) type Params = HashMap<String, String>;

/// One page of `items` as Calendly returns collections.
pub(super) fn paginate(
    base: &str,
    path: &str,
    q: &Params,
    items: Vec<Value>,
) -> Result<Value, Response> {
    let count = match q.get("count") {
        None => DEFAULT_PAGE_SIZE,
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|c| (1..=MAX_PAGE_SIZE).contains(c))
            .ok_or_else(|| invalid("count", "count must be between 1 and 100"))?,
    };
    let offset = match q.get("page_token").map(String::as_str) {
        None | Some("") => 0,
        // A token past the end (the data shrank meanwhile) is an empty page.
        Some(t) => decode_page_token(t)
            .ok_or_else(|| invalid("page_token", "The page token is invalid."))?,
    };
    let next = (offset + count < items.len()).then(|| encode_page_token(offset + count));
    let previous = (offset > 0).then(|| encode_page_token(offset.saturating_sub(count)));
    let link = |token: &str| {
        let mut url = url::Url::parse(&format!("{base}/calendly/{path}")).ok()?;
        {
            let mut keys: Vec<&String> = q
                .keys()
                .filter(|k| k.as_str() != "page_token" && k.as_str() != "count")
                .collect();
            keys.sort();
            let mut pairs = url.query_pairs_mut();
            for k in keys {
                pairs.append_pair(k, &q[k]);
            }
            pairs.append_pair("count", &count.to_string());
            pairs.append_pair("page_token", token);
        }
        Some(url.to_string())
    };
    let page: Vec<Value> = items.into_iter().skip(offset).take(count).collect();
    Ok(json!({
        "collection": page,
        "pagination": {
            "count": count,
            "next_page": next.as_deref().and_then(link),
            "previous_page": previous.as_deref().and_then(link),
            "next_page_token": next,
            "previous_page_token": previous,
        },
    }))
}
