//! Microsoft Graph change and lifecycle notifications (their wire format is
//! [`crate::server::providers::microsoft::webhook`]).

use super::Arrival;
use super::{record, same_secret, store_and_queue, unrouted};
use crate::model::{Provider, SubscriptionState, SyncTrigger};
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

pub use crate::server::providers::microsoft::webhook::Channel;
use crate::server::providers::microsoft::webhook::{
    self, Lifecycle, Notification, MAX_VALIDATION_TOKEN,
};

#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "validationToken")]
    validation_token: Option<String>,
}

/// Graph's subscription handshake: echo `validationToken` as plain text
/// within 10 seconds. `None` when the request is a notification instead.
pub fn handshake(query: &Query<Handshake>) -> Option<Response> {
    let token = query.validation_token.as_ref()?;
    if token.len() > MAX_VALIDATION_TOKEN {
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

#[tracing::instrument(skip_all, fields(channel = ?channel))]
pub async fn receive(
    ctx: &Arrival<'_>,
    channel: Channel,
    body: &[u8],
) -> Result<Outcome, AppError> {
    let items = match webhook::batch(body) {
        Ok(items) => items,
        Err(e) => {
            let detail = e.to_string();
            record(
                ctx,
                unrouted(Provider::Microsoft, WebhookResult::Rejected, &detail),
            )
            .await?;
            return Ok(Outcome::Malformed);
        }
    };
    let mut any_valid = false;
    for item in &items {
        any_valid |= one(ctx, channel, Notification::of(item)).await?;
    }
    Ok(if any_valid || items.is_empty() {
        Outcome::Accepted
    } else {
        Outcome::Unauthenticated
    })
}

/// One notification; `true` unless its clientState was wrong.
async fn one(ctx: &Arrival<'_>, channel: Channel, n: Notification<'_>) -> Result<bool, AppError> {
    let Some(subscription_id) = n.subscription_id() else {
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
    let client_state_ok = match (n.client_state(), stored) {
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
    let sync = || {
        (
            Job::SyncConnection {
                connection: connection.id,
                trigger: SyncTrigger::Webhook,
            },
            format!("sync:{}", connection.id),
        )
    };
    let (job, coalesce) = match (channel, n.lifecycle()) {
        (Channel::Changes, _) | (Channel::Lifecycle, Lifecycle::CatchUp) => sync(),
        (Channel::Lifecycle, Lifecycle::ReauthorizationRequired) => (
            Job::RenewSubscription {
                subscription: sub.id,
            },
            format!("renew:{}", sub.id),
        ),
        (Channel::Lifecycle, Lifecycle::SubscriptionRemoved) => (
            Job::RecreateSubscription {
                subscription: sub.id,
            },
            format!("recreate:{}", sub.id),
        ),
    };
    let event = NewEvent {
        payload: Some(n.redacted().to_string()),
        dedupe_key: Some(n.dedupe_key(channel)),
        ..routed(WebhookResult::Queued, n.event_type(channel))
    };
    store_and_queue(ctx, event, |_| {
        Enqueue::now(Some(&sub.tenant), job).coalesced(coalesce)
    })
    .await?;
    Ok(true)
}
