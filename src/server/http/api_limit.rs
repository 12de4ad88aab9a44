//! Each API key's request limit, on `/api/v1` and `/mcp`: a fixed minute
//! window per key (`platform::limits`, shared by every instance), its
//! state on every answer as `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset` (seconds), and past it a 429 with `Retry-After` and a
//! typed `rate_limited` error — the REST error body on `/api/v1` (agent
//! tools included), a JSON-RPC error on `/mcp`. A request without a live
//! key passes on to be refused with 401 by the handler.

use super::api_v1::failure::ApiFailure;
use crate::server::api_keys::{self, KeyCaller};
use crate::server::app_state::AppState;
use crate::server::booking::error::BookError;
use crate::server::error::AppError;
use crate::server::platform::limits::{Allowance, Limit, LimitName, Refused, Window};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The JSON-RPC body of an MCP request is small; more is not read to
/// find its id.
const MCP_ID_READ_LIMIT: usize = 64 * 1024;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

fn set_headers(response: &mut Response, allowance: Allowance) {
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(allowance.max));
    headers.insert(
        "ratelimit-remaining",
        HeaderValue::from(allowance.remaining),
    );
    headers.insert("ratelimit-reset", HeaderValue::from(allowance.reset_secs));
}

/// What the limit says about the request's key.
enum Verdict {
    /// No live key: the handler answers 401.
    NoKey,
    Allowed(KeyCaller, Allowance),
    Refused(KeyCaller, Refused),
}

async fn judge(state: &AppState, headers: &HeaderMap) -> Result<Verdict, AppError> {
    let Some(bearer) = bearer(headers) else {
        return Ok(Verdict::NoKey);
    };
    let Some(key) = api_keys::authenticate(&state.api_keys, bearer).await? else {
        return Ok(Verdict::NoKey);
    };
    let limit = Limit {
        name: LimitName::ApiKey,
        subject: key.id.to_string(),
        window: Window::Minute,
        max: key.rate_limit_per_minute,
    };
    Ok(match state.limits.take_one(&key.tenant, &limit).await? {
        Ok(allowance) => Verdict::Allowed(key, allowance),
        Err(refused) => Verdict::Refused(key, refused),
    })
}

fn refusal_allowance(key: &KeyCaller, refused: Refused) -> Allowance {
    Allowance {
        max: key.rate_limit_per_minute,
        remaining: 0,
        reset_secs: refused.retry_after_secs,
    }
}

/// How a refusal is worded.
#[derive(Clone, Copy)]
enum Refusal {
    /// The REST error `rate_limited` (`/api/v1`, agent tools included).
    Rest,
    /// A JSON-RPC error whose data is the same typed error (`/mcp`).
    JsonRpc,
}

async fn limit(state: &AppState, mut req: Request, next: Next, refusal: Refusal) -> Response {
    match judge(state, req.headers()).await {
        Err(e) => ApiFailure::from(e).into_response(),
        Ok(Verdict::NoKey) => next.run(req).await,
        Ok(Verdict::Allowed(key, allowance)) => {
            req.extensions_mut().insert(key);
            let mut response = next.run(req).await;
            set_headers(&mut response, allowance);
            response
        }
        Ok(Verdict::Refused(key, refused)) => {
            let failure = ApiFailure::from(BookError::Limited(refused));
            let mut response = match refusal {
                Refusal::Rest => failure.into_response(),
                Refusal::JsonRpc => json_rpc_refusal(req, &failure, refused).await,
            };
            set_headers(&mut response, refusal_allowance(&key, refused));
            response
        }
    }
}

/// The refusal as the answer to the JSON-RPC request `req` carries.
async fn json_rpc_refusal(req: Request, failure: &ApiFailure, refused: Refused) -> Response {
    let body = axum::body::to_bytes(req.into_body(), MCP_ID_READ_LIMIT)
        .await
        .unwrap_or_default();
    let id = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|request| request.get("id").cloned())
        .unwrap_or(serde_json::Value::Null);
    let error = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": -32000, "message": failure.body().message, "data": failure.body()},
    });
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::RETRY_AFTER, refused.retry_after_secs.to_string()),
        ],
        Body::from(error.to_string()),
    )
        .into_response()
}

pub async fn per_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    limit(&state, req, next, Refusal::Rest).await
}

pub async fn per_key_mcp(State(state): State<AppState>, req: Request, next: Next) -> Response {
    limit(&state, req, next, Refusal::JsonRpc).await
}
