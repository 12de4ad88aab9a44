//! `POST /webhooks/calendly/{connection_public_id}`: the URL registered in
//! one connection's user-scoped subscription. Verified with that
//! subscription's signing key, cross-checked against the connection's
//! Calendly user, then stored with its processing job in one transaction.

use super::signature::{self, SignatureError};
use super::{record, store_and_queue, unrouted};
use crate::model::{ConnectionState, Provider, SubscriptionState};
use crate::server::db::webhook_events::{NewEvent, WebhookResult};
use crate::server::db::TenantScope;
use crate::server::db::{connections as connections_repo, subscriptions as subscriptions_repo};
use crate::server::error::AppError;
use crate::server::jobs::{kinds, Enqueue};
use crate::server::state::AppState;

/// How a delivery was answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored and queued (2xx).
    Accepted,
    /// Seen before: nothing changed (200).
    Duplicate,
    /// No such connection (200, so Calendly does not disable the hook).
    Unrouted,
    /// Bad or missing signature (401).
    Unauthenticated(SignatureError),
    /// Not a Calendly delivery we understand (400).
    Malformed(&'static str),
}

pub async fn receive(
    state: &AppState,
    public_id: &str,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<Outcome, AppError> {
    let connection = connections_repo::find_by_public_id(state.db.pool(), public_id)
        .await?
        .filter(|c| c.state == ConnectionState::Connected);
    let Some(connection) = connection else {
        record(
            state,
            &unrouted(
                Provider::Calendly,
                WebhookResult::Unrouted,
                "no connected calendar has this webhook URL",
            ),
        )
        .await?;
        return Ok(Outcome::Unrouted);
    };
    let scope: &TenantScope = &connection.owner.tenant;
    let rejected = |detail| NewEvent {
        tenant: Some(scope),
        user: Some(connection.owner.user_id()),
        connection: Some(connection.id),
        provider: Provider::Calendly,
        event_type: "unknown",
        dedupe_key: None,
        result: WebhookResult::Rejected,
        detail: Some(detail),
        payload: None,
    };
    let subs =
        subscriptions_repo::current_for_connection(state.db.pool(), scope, connection.id).await?;
    let mut key = None;
    for sub in subs.iter().filter(|s| s.state == SubscriptionState::Active) {
        key = crate::server::subscriptions::secret(state, sub).await?;
        if key.is_some() {
            break;
        }
    }
    let Some(key) = key else {
        record(
            state,
            &unrouted(
                Provider::Calendly,
                WebhookResult::Unrouted,
                "the connection has no active subscription",
            ),
        )
        .await?;
        return Ok(Outcome::Unrouted);
    };
    let now = state.clock.now_ms() / 1000;
    if let Err(e) = signature::verify(signature_header, key.expose().as_bytes(), body, now) {
        record(state, &rejected(&e.to_string())).await?;
        return Ok(Outcome::Unauthenticated(e));
    }
    let Ok(parsed) = serde_json::from_slice::<serde_json::Value>(body) else {
        record(state, &rejected("the body is not JSON")).await?;
        return Ok(Outcome::Malformed("the body is not JSON"));
    };
    let (Some(event_type), Some(invitee)) =
        (parsed["event"].as_str(), parsed["payload"]["uri"].as_str())
    else {
        record(state, &rejected("no event name or invitee URI")).await?;
        return Ok(Outcome::Malformed("no event name or invitee URI"));
    };
    // The key is per connection, so this only fails if routing went wrong.
    let creator = parsed["created_by"].as_str();
    if creator.is_some_and(|c| c != connection.provider_account_id) {
        record(
            state,
            &rejected("created_by is not this connection's Calendly user"),
        )
        .await?;
        return Ok(Outcome::Malformed("created_by does not match"));
    }
    let dedupe_key = format!("{event_type}|{invitee}");
    let payload = String::from_utf8_lossy(body);
    let event = NewEvent {
        tenant: Some(scope),
        user: Some(connection.owner.user_id()),
        connection: Some(connection.id),
        provider: Provider::Calendly,
        event_type,
        dedupe_key: Some(&dedupe_key),
        result: WebhookResult::Queued,
        detail: None,
        payload: Some(&payload),
    };
    let queued = store_and_queue(state, &event, |event_id| {
        Enqueue::now(
            Some(scope),
            kinds::PROCESS_WEBHOOK,
            serde_json::json!({ "event": event_id }),
        )
    })
    .await?;
    Ok(if queued {
        Outcome::Accepted
    } else {
        Outcome::Duplicate
    })
}
