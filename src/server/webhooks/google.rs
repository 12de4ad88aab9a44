//! `POST /webhooks/google`: watch-channel notifications (their wire format
//! is [`crate::server::providers::google::webhook`]).

use super::Arrival;
use super::{record, same_secret, store_and_queue, unrouted};
use crate::model::{Provider, SubscriptionState, SyncTrigger};
use crate::server::error::AppError;
use crate::server::jobs::Enqueue;
use crate::server::platform::db::subscriptions as subscriptions_repo;
use crate::server::platform::db::webhook_events::{NewEvent, WebhookResult};
pub use crate::server::providers::google::webhook::Notification;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored, and an incremental sync queued (or already pending).
    Accepted,
    Duplicate,
    /// `sync` handshakes, unknown or stopped channels (200).
    Ignored,
    /// Wrong channel token (401).
    Unauthenticated,
    /// Not a Google notification (400).
    Malformed,
}

#[tracing::instrument(skip_all, fields(channel = n.channel_id))]
pub async fn receive(ctx: &Arrival<'_>, n: &Notification<'_>) -> Result<Outcome, AppError> {
    let Some((channel_id, resource_state)) = n.routing() else {
        record(
            ctx,
            unrouted(
                Provider::Google,
                WebhookResult::Rejected,
                "missing X-Goog headers",
            ),
        )
        .await?;
        return Ok(Outcome::Malformed);
    };
    let sub = subscriptions_repo::find_by_external(ctx.db.pool(), Provider::Google, channel_id)
        .await?
        .filter(|s| s.state == SubscriptionState::Active);
    let Some(sub) = sub else {
        record(
            ctx,
            unrouted(
                Provider::Google,
                WebhookResult::Ignored,
                "unknown or stopped channel",
            ),
        )
        .await?;
        return Ok(Outcome::Ignored);
    };
    let stored =
        crate::server::connections::subscriptions::secret(&ctx.db, &ctx.vault, &sub).await?;
    let token_ok = match (n.channel_token, stored) {
        (Some(received), Some(stored)) => same_secret(received, stored.expose()),
        _ => false,
    };
    let connection = crate::server::platform::db::connections::get_in_tenant(
        ctx.db.pool(),
        &sub.tenant,
        sub.connection_id,
    )
    .await?;
    let routed = |result, detail: &str| NewEvent {
        tenant: Some(sub.tenant),
        user: Some(connection.owner.user_id()),
        connection: Some(connection.id),
        provider: Provider::Google,
        event_type: "unknown".into(),
        dedupe_key: None,
        result,
        detail: Some(detail.into()),
        payload: None,
    };
    if !token_ok {
        record(ctx, routed(WebhookResult::Rejected, "wrong channel token")).await?;
        return Ok(Outcome::Unauthenticated);
    }
    if n.is_sync_handshake() {
        record(ctx, routed(WebhookResult::Ignored, "sync handshake")).await?;
        return Ok(Outcome::Ignored);
    }
    let calendar = sub.calendar_id.as_deref().unwrap_or_default();
    let event = NewEvent {
        event_type: resource_state.into(),
        dedupe_key: Some(n.dedupe_key()),
        ..routed(WebhookResult::Queued, calendar)
    };
    // One pending sync per connection however many notifications arrive.
    let queued = store_and_queue(ctx, event, |_| {
        Enqueue::sync(&sub.tenant, connection.id, SyncTrigger::Webhook)
    })
    .await?;
    Ok(if queued {
        Outcome::Accepted
    } else {
        Outcome::Duplicate
    })
}
