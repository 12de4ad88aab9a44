//! `POST /webhooks/calendly/{connection_public_id}`: the URL registered in
//! one connection's user-scoped subscription. Verified with that
//! subscription's signing key, cross-checked against the connection's
//! Calendly user, then stored with its processing job in one transaction.

use super::{record, store_and_queue, unrouted};
use super::{Arrival, Receivers};
use crate::model::{ConnectionState, Provider, SubscriptionState};
use crate::server::connections::routes::Route;
use crate::server::error::AppError;
use crate::server::jobs::{Enqueue, Job};
use crate::server::platform::db::webhook_events::{NewEvent, WebhookResult};
use crate::server::platform::db::{
    connections as connections_repo, subscriptions as subscriptions_repo,
};
use crate::server::providers::calendly::webhook::{self, SignatureError};
use crate::server::providers::calendly::wire;
use std::sync::Arc;

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

/// Why a delivery has nowhere to go.
enum Unroutable {
    NoConnection,
    NoSubscription,
}

impl Unroutable {
    fn detail(&self) -> &'static str {
        match self {
            Unroutable::NoConnection => "no connected calendar has this webhook URL",
            Unroutable::NoSubscription => "the connection has no active subscription",
        }
    }
}

/// Reads the route for `public_id` from the database and caches it.
async fn load_route(
    ctx: &Receivers,
    public_id: &str,
) -> Result<Result<Arc<Route>, Unroutable>, AppError> {
    let connection = connections_repo::find_by_public_id(ctx.db.pool(), public_id)
        .await?
        .filter(|c| c.state == ConnectionState::Connected);
    let Some(connection) = connection else {
        return Ok(Err(Unroutable::NoConnection));
    };
    let scope = &connection.owner.tenant;
    let subs =
        subscriptions_repo::current_for_connection(ctx.db.pool(), scope, connection.id).await?;
    for sub in subs.iter().filter(|s| s.state == SubscriptionState::Active) {
        if let Some(key) =
            crate::server::connections::subscriptions::secret(&ctx.db, &ctx.vault, sub).await?
        {
            let route = Arc::new(Route::new(
                connection.id,
                connection.owner,
                connection.provider_account_id,
                key,
            ));
            ctx.calendly_routes.put(public_id, route.clone());
            return Ok(Ok(route));
        }
    }
    Ok(Err(Unroutable::NoSubscription))
}

#[tracing::instrument(skip_all, fields(public_id))]
pub async fn receive(
    ctx: &Arrival<'_>,
    public_id: &str,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<Outcome, AppError> {
    let now = ctx.clock.now_ms() / 1000;
    let check = |route: &Route| {
        webhook::verify(
            signature_header,
            route.signing_key.expose().as_bytes(),
            body,
            now,
        )
    };
    let cached = ctx
        .calendly_routes
        .get(public_id)
        .filter(|route| check(route).is_ok());
    // Not cached, or the key was replaced since: read the route again.
    let route = match cached {
        Some(route) => route,
        None => match load_route(ctx, public_id).await? {
            Ok(route) => route,
            Err(why) => {
                record(
                    ctx,
                    unrouted(Provider::Calendly, WebhookResult::Unrouted, why.detail()),
                )
                .await?;
                return Ok(Outcome::Unrouted);
            }
        },
    };
    let verified = check(&route);
    let rejected = |detail: &str| NewEvent {
        tenant: Some(route.owner.tenant),
        user: Some(route.owner.user_id()),
        connection: Some(route.connection),
        provider: Provider::Calendly,
        event_type: "unknown".into(),
        dedupe_key: None,
        result: WebhookResult::Rejected,
        detail: Some(detail.into()),
        payload: None,
    };
    if let Err(e) = verified {
        record(ctx, rejected(&e.to_string())).await?;
        return Ok(Outcome::Unauthenticated(e));
    }
    let delivery = match serde_json::from_slice::<wire::Delivery>(body) {
        Ok(delivery) => delivery,
        Err(e) if e.classify() == serde_json::error::Category::Data => wire::Delivery::default(),
        Err(_) => {
            record(ctx, rejected("the body is not JSON")).await?;
            return Ok(Outcome::Malformed("the body is not JSON"));
        }
    };
    let (Some(event_type), Some(invitee)) = (delivery.event.as_deref(), delivery.invitee_uri())
    else {
        record(ctx, rejected("no event name or invitee URI")).await?;
        return Ok(Outcome::Malformed("no event name or invitee URI"));
    };
    // The key is per connection, so this only fails if routing went wrong.
    if delivery
        .created_by
        .as_deref()
        .is_some_and(|c| c != route.calendly_user)
    {
        record(
            ctx,
            rejected("created_by is not this connection's Calendly user"),
        )
        .await?;
        return Ok(Outcome::Malformed("created_by does not match"));
    }
    let scope = route.owner.tenant;
    let event = NewEvent {
        // Per receiving connection: a collective event reaches each host.
        dedupe_key: Some(format!("{event_type}|{invitee}|{}", route.connection)),
        event_type: event_type.into(),
        result: WebhookResult::Queued,
        detail: None,
        payload: Some(String::from_utf8_lossy(body).into_owned()),
        ..rejected("")
    };
    let queued = store_and_queue(ctx, event, |event_id| {
        Enqueue::now(
            Some(&scope),
            Job::ProcessWebhook {
                event: event_id.to_owned(),
            },
        )
    })
    .await?;
    Ok(if queued {
        Outcome::Accepted
    } else {
        Outcome::Duplicate
    })
}
