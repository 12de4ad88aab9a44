//! Change-notification subscriptions: create (with the validation
//! handshake), list, get, renew and delete.

use super::input::opt_str;
use super::notifications::is_active;
use super::state::Subscription;
use super::wire::{
    application_id, authenticate, collection, graph_error, graph_root, graph_ts, invalid,
    parse_body, parse_query_time,
};
use crate::core::{respond, Account};
use crate::{Sandbox, World};
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

/// Outlook subscriptions live at most 7 days.
pub const MAX_SUBSCRIPTION_MINUTES: i64 = 10_080;
const MAX_CLIENT_STATE: usize = 128;

fn render_subscription(base: &str, sub: &Subscription) -> Value {
    json!({
        "@odata.context": format!("{}/$metadata#subscriptions/$entity", graph_root(base)),
        "id": sub.id,
        "resource": sub.resource,
        "applicationId": sub.application_id,
        "changeType": sub.change_type,
        "clientState": sub.client_state,
        "notificationUrl": sub.notification_url,
        "notificationQueryOptions": null,
        "lifecycleNotificationUrl": sub.lifecycle_url,
        "expirationDateTime": graph_ts(sub.expires),
        "creatorId": sub.user_id,
        "includeResourceData": null,
        "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": null,
        "encryptionCertificateId": null,
        "notificationUrlAppId": null,
    })
}

fn check_expiration(world: &World, v: &Value) -> Result<DateTime<Utc>, Response> {
    let expires = v
        .get("expirationDateTime")
        .and_then(Value::as_str)
        .and_then(parse_query_time)
        .ok_or_else(|| {
            invalid("expirationDateTime is required and must be an ISO 8601 date-time.")
        })?;
    let now = world.now();
    if expires <= now {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "ExtensionError",
            "Subscription expiration must be in the future.",
        ));
    }
    if expires > now + Duration::minutes(MAX_SUBSCRIPTION_MINUTES) {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "ExtensionError",
            "Subscription expiration can only be 10080 minutes in the future.",
        ));
    }
    Ok(expires)
}

fn normalize_resource(resource: &str, account: &Account) -> Option<String> {
    let r = resource.trim().trim_start_matches('/');
    let lower = r.to_ascii_lowercase();
    let ok = lower == "me/events"
        || lower == "me/calendar/events"
        || lower == format!("users/{}/events", account.id)
        || lower == format!("users/{}/events", account.email);
    ok.then(|| r.to_owned())
}

fn check_url(sandbox: &Sandbox, url: &str, what: &str) -> Result<(), Response> {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {
            if sandbox.callback_allowed(url) {
                Ok(())
            } else {
                Err(invalid(&format!(
                    "{what} must point at the app the sandbox serves."
                )))
            }
        }
        _ => Err(invalid(&format!("{what} must be an absolute http(s) URL."))),
    }
}

/// Graph's handshake: POST `url?validationToken=…`; the endpoint must answer
/// 200 with the token as the body within the timeout.
async fn validate_endpoint(
    sandbox: &Sandbox,
    url: &str,
    token: &str,
    timeout_ms: u64,
) -> Result<(), String> {
    let mut target = url::Url::parse(url).map_err(|e| e.to_string())?;
    target
        .query_pairs_mut()
        .append_pair("validationToken", token);
    let target = sandbox.settings().target_url(target.as_str());
    let response = sandbox
        .http()
        .post(target)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .timeout(std::time::Duration::from_millis(timeout_ms.max(1)))
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request within the timeout.".to_owned()
            } else {
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.".to_owned()
            }
        })?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!(
            "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. Response status code does not indicate success: {}.",
            response.status().as_u16()
        ));
    }
    let text = tokio::time::timeout(
        std::time::Duration::from_millis(timeout_ms.max(1)),
        response.text(),
    )
    .await
    .map_err(|_| "Subscription validation request failed. Timed out reading the response.")?
    .map_err(|_| "Subscription validation request failed. Could not read the response.")?;
    if text != token {
        return Err(
            "Subscription validation request failed. Response must exactly match validationToken query parameter."
                .into(),
        );
    }
    Ok(())
}

pub(super) async fn create_subscription(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Checks under the lock, the handshake without it, then the insert.
    let prepared = (|| -> Result<(Subscription, String, u64), Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        let v = parse_body(&body)?;
        let change_type = v
            .get("changeType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let kinds: Vec<&str> = change_type.split(',').map(str::trim).collect();
        if change_type.is_empty()
            || kinds
                .iter()
                .any(|k| !matches!(*k, "created" | "updated" | "deleted"))
        {
            return Err(invalid(
                "changeType must be a comma-separated list of created, updated and deleted.",
            ));
        }
        let notification_url = v
            .get("notificationUrl")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        check_url(&s, &notification_url, "notificationUrl")?;
        let lifecycle_url = opt_str(&v, "lifecycleNotificationUrl").map_err(|m| invalid(&m))?;
        if let Some(u) = &lifecycle_url {
            check_url(&s, u, "lifecycleNotificationUrl")?;
        }
        let resource = v
            .get("resource")
            .and_then(Value::as_str)
            .and_then(|r| normalize_resource(r, &account))
            .ok_or_else(|| {
                graph_error(
                    StatusCode::BAD_REQUEST,
                    "ExtensionError",
                    "Operation: Create; Exception: [Status Code: BadRequest; Reason: The resource is not supported. Use 'me/events'.]",
                )
            })?;
        let client_state = opt_str(&v, "clientState").map_err(|m| invalid(&m))?;
        if client_state
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_CLIENT_STATE)
        {
            return Err(invalid(
                "clientState must not be longer than 128 characters.",
            ));
        }
        let expires = check_expiration(&world, &v)?;
        let token = format!(
            "Validation: Testing client application reachability for subscription Request-Id: {}",
            world.uuid()
        );
        let sub = Subscription {
            id: String::new(),
            user_id: account.id.clone(),
            application_id: application_id(&world, &headers),
            resource,
            change_type: kinds.join(","),
            notification_url,
            lifecycle_url,
            client_state,
            expires,
        };
        Ok((sub, token, world.tunables.validation_timeout_ms))
    })();
    let (mut sub, token, timeout_ms) = match prepared {
        Ok(p) => p,
        Err(e) => return e,
    };
    let mut urls = vec![sub.notification_url.clone()];
    urls.extend(sub.lifecycle_url.clone());
    for url in urls {
        if let Err(message) = validate_endpoint(&s, &url, &token, timeout_ms).await {
            return graph_error(StatusCode::BAD_REQUEST, "ValidationError", &message);
        }
    }
    let mut world = s.world();
    sub.id = world.uuid();
    world.microsoft.subscriptions.push(sub.clone());
    (
        StatusCode::CREATED,
        Json(render_subscription(s.base(), &sub)),
    )
        .into_response()
}

fn subscription_index(world: &World, user_id: &str, id: &str) -> Result<usize, Response> {
    world
        .microsoft
        .subscriptions
        .iter()
        .position(|sub| sub.id == id && sub.user_id == user_id && is_active(world, sub))
        .ok_or_else(|| {
            graph_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!(
                    "The object was not found. Subscription '{id}' does not exist or has expired."
                ),
            )
        })
}

pub(super) async fn list_subscriptions(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let world = s.world();
        let account = authenticate(&world, &headers)?;
        let items: Vec<Value> = world
            .microsoft
            .subscriptions
            .iter()
            .filter(|sub| sub.user_id == account.id && is_active(&world, sub))
            .map(|sub| {
                let mut v = render_subscription(s.base(), sub);
                if let Some(o) = v.as_object_mut() {
                    o.remove("@odata.context");
                }
                v
            })
            .collect();
        Ok(collection(
            format!("{}/$metadata#subscriptions", graph_root(s.base())),
            items,
            None,
        ))
    })())
}

pub(super) async fn get_subscription(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let world = s.world();
        let account = authenticate(&world, &headers)?;
        let i = subscription_index(&world, &account.id, &id)?;
        Ok(Json(render_subscription(
            s.base(),
            &world.microsoft.subscriptions[i],
        ))
        .into_response())
    })())
}

pub(super) async fn patch_subscription(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        let i = subscription_index(&world, &account.id, &id)?;
        let v = parse_body(&body)?;
        let expires = check_expiration(&world, &v)?;
        let sub = &mut world.microsoft.subscriptions[i];
        sub.expires = expires;
        Ok(Json(render_subscription(s.base(), sub)).into_response())
    })())
}

pub(super) async fn delete_subscription(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        let i = subscription_index(&world, &account.id, &id)?;
        world.microsoft.subscriptions.remove(i);
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}
