//! Microsoft Graph change and lifecycle notifications.

use super::Receivers;
use super::{record, same_secret, store_and_queue, unrouted};
use crate::model::{Provider, SubscriptionState};
use crate::server::error::AppError;
use crate::server::jobs::{Enqueue, Job};
use crate::server::platform::db::webhook_events::{NewEvent, WebhookResult};
use crate::server::platform::db::{
    connections as connections_repo, subscriptions as subscriptions_repo,
};
use axum::extract::Query;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "validationToken")]
    validation_token: Option<String>,
}

/// Graph's subscription handshake: echo `validationToken` as plain text
/// within 10 seconds. `None` when the request is a notification instead.
pub fn handshake(query: &Query<Handshake>) -> Option<Response> {
    let token = query.validation_token.as_ref()?;
    // Graph's tokens are a sentence long; anything huge is not Graph.
    if token.len() > 1024 {
        return Some(StatusCode::BAD_REQUEST.into_response());
    }
    Some(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            token.clone(),
        )
            .into_response(),
    )
}

/// How a batch of notifications was answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// At least one notification was valid (or a known duplicate): 202.
    Accepted,
    /// Every notification had a wrong clientState: 401.
    Unauthenticated,
    /// Not a Graph notification body: 400.
    Malformed,
}

/// Graph batches a few notifications per request; a batch this large is
/// not Graph, and verifying each item would cost a lookup.
pub const MAX_BATCH_ITEMS: usize = 100;

/// Which URL the batch came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Changes,
    Lifecycle,
}

#[tracing::instrument(skip_all, fields(channel = ?channel))]
pub async fn receive(ctx: &Receivers, channel: Channel, body: &[u8]) -> Result<Outcome, AppError> {
    let items = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("value").and_then(Value::as_array).cloned());
    let Some(items) = items else {
        record(
            ctx,
            unrouted(
                Provider::Microsoft,
                WebhookResult::Rejected,
                "not a Graph notification body",
            ),
        )
        .await?;
        return Ok(Outcome::Malformed);
    };
    if items.len() > MAX_BATCH_ITEMS {
        record(
            ctx,
            unrouted(
                Provider::Microsoft,
                WebhookResult::Rejected,
                "more notifications in one batch than Graph sends",
            ),
        )
        .await?;
        return Ok(Outcome::Malformed);
    }
    let mut any_valid = false;
    for item in &items {
        any_valid |= one(ctx, channel, item).await?;
    }
    Ok(if any_valid || items.is_empty() {
        Outcome::Accepted
    } else {
        Outcome::Unauthenticated
    })
}

/// One notification; `true` unless its clientState was wrong.
async fn one(ctx: &Receivers, channel: Channel, item: &Value) -> Result<bool, AppError> {
    let text = |key: &str| item.get(key).and_then(Value::as_str);
    let Some(subscription_id) = text("subscriptionId") else {
        record(
            ctx,
            unrouted(
                Provider::Microsoft,
                WebhookResult::Rejected,
                "no subscriptionId",
            ),
        )
        .await?;
        return Ok(false);
    };
    let sub =
        subscriptions_repo::find_by_external(ctx.db.pool(), Provider::Microsoft, subscription_id)
            .await?
            .filter(|s| s.state == SubscriptionState::Active);
    let Some(sub) = sub else {
        record(
            ctx,
            unrouted(
                Provider::Microsoft,
                WebhookResult::Ignored,
                "unknown or stopped subscription",
            ),
        )
        .await?;
        return Ok(true);
    };
    let connection =
        connections_repo::get_in_tenant(ctx.db.pool(), &sub.tenant, sub.connection_id).await?;
    let stored =
        crate::server::connections::subscriptions::secret(&ctx.db, &ctx.vault, &sub).await?;
    let client_state_ok = match (text("clientState"), stored) {
        (Some(received), Some(stored)) => same_secret(received, stored.expose()),
        _ => false,
    };
    let routed = |result, event_type: &str| NewEvent {
        tenant: Some(sub.tenant),
        user: Some(connection.owner.user_id()),
        connection: Some(connection.id),
        provider: Provider::Microsoft,
        event_type: event_type.into(),
        dedupe_key: None,
        result,
        detail: None,
        payload: None,
    };
    if !client_state_ok {
        record(
            ctx,
            NewEvent {
                detail: Some("wrong clientState".into()),
                ..routed(WebhookResult::Rejected, "unknown")
            },
        )
        .await?;
        return Ok(false);
    }
    // The clientState is a secret: never stored with the payload.
    let mut redacted = item.clone();
    if let Some(o) = redacted.as_object_mut() {
        o.remove("clientState");
    }
    let (event_type, dedupe_key, job) = match channel {
        Channel::Changes => {
            let change = text("changeType").unwrap_or("changed");
            let data = &item["resourceData"];
            let key = format!(
                "{subscription_id}|{}|{change}|{}",
                data["id"].as_str().unwrap_or("?"),
                data["@odata.etag"]
                    .as_str()
                    .or_else(|| text("subscriptionExpirationDateTime"))
                    .unwrap_or("?")
            );
            let job = (
                Job::SyncConnection {
                    connection: connection.id,
                },
                format!("sync:{}", connection.id),
            );
            (change, key, job)
        }
        Channel::Lifecycle => {
            let lifecycle = text("lifecycleEvent").unwrap_or("unknown");
            let key = format!(
                "{subscription_id}|{lifecycle}|{}",
                text("subscriptionExpirationDateTime").unwrap_or("?")
            );
            let job = match lifecycle {
                // Renewing by PATCH with a fresh token reauthorizes.
                "reauthorizationRequired" => (
                    Job::RenewSubscription {
                        subscription: sub.id,
                    },
                    format!("renew:{}", sub.id),
                ),
                "subscriptionRemoved" => (
                    Job::RecreateSubscription {
                        subscription: sub.id,
                    },
                    format!("recreate:{}", sub.id),
                ),
                // `missed` (and anything new): catch up with a delta sync.
                _ => (
                    Job::SyncConnection {
                        connection: connection.id,
                    },
                    format!("sync:{}", connection.id),
                ),
            };
            (lifecycle, key, job)
        }
    };
    let event = NewEvent {
        payload: Some(redacted.to_string()),
        dedupe_key: Some(dedupe_key),
        ..routed(WebhookResult::Queued, event_type)
    };
    let (job, coalesce) = job;
    store_and_queue(ctx, event, |_| {
        Enqueue::now(Some(&sub.tenant), job).coalesced(coalesce)
    })
    .await?;
    Ok(true)
}
