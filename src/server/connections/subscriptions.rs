//! How calbridge hears about changes, for every provider through its
//! [`SubscriptionApi`]: one subscription per account or per busy calendar
//! (the provider's [`Coverage`]), created after connecting, renewed before
//! it expires, deleted when disconnecting; an account without push
//! notifications (Calendly's free plan) is polled instead. Every function
//! here runs inside a job and is idempotent: running it twice leaves the
//! same state.

use crate::model::{ConnectionState, SubscriptionId, SubscriptionState, SyncMode, SyncTrigger};
use crate::server::connections::tokens::CallError;
use crate::server::connections::Connections;
use crate::server::error::AppError;
use crate::server::jobs::{Enqueue, Job, JobError, Queue};
use crate::server::platform::db::connection_calendars;
use crate::server::platform::db::connections::{self as connections_repo, Connection};
use crate::server::platform::db::subscriptions::{self as repo, NewSubscription, Subscription};
use crate::server::platform::db::Db;
use crate::server::platform::db::{self, DbError, TenantScope};
use crate::server::platform::vault::crypto::random_token;
use crate::server::platform::vault::crypto::SecretString;
use crate::server::platform::vault::Vault;
use crate::server::platform::vault::{Holder, Secret};
use crate::server::providers::{
    self, Coverage, Created, HeldSubscription, Renewal, SubscribeRequest, Subscribed,
};

const HOUR_MS: i64 = 3600 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Renew this long before expiry, so a provider outage of a day is survived.
const RENEW_BEFORE_MS: i64 = DAY_MS;
/// Subscriptions that do not expire (Calendly's) are looked at daily:
/// Calendly disables one after a day of failed deliveries.
const CHECK_UNEXPIRING_MS: i64 = DAY_MS;
/// After a definite refusal, try again this much later.
const RETRY_FAILED_MS: i64 = HOUR_MS;

pub const POLLING_NOTE: &str = "Calendly webhooks need a paid Calendly plan; calbridge checks this account for changes every 5 minutes instead.";

/// When to renew (or look at) a subscription that expires at `expires_at`.
fn renew_at(expires_at: Option<i64>, now_ms: i64) -> i64 {
    match expires_at {
        Some(expires_at) => expires_at - RENEW_BEFORE_MS,
        None => now_ms + CHECK_UNEXPIRING_MS,
    }
}

fn held(sub: &Subscription) -> HeldSubscription<'_> {
    HeldSubscription {
        external_id: &sub.external_id,
        resource_id: sub.resource_id.as_deref(),
    }
}

/// The secret a notification must carry (Calendly signing key, Google
/// channel token, Graph clientState).
pub async fn secret(
    db: &Db,
    vault: &Vault,
    sub: &Subscription,
) -> Result<Option<SecretString>, AppError> {
    Ok(vault
        .load(
            db.pool(),
            &sub.tenant,
            &Secret::NotificationSecret(sub.id, sub.provider),
        )
        .await?)
}

impl From<CallError> for JobError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Token(app) => app.into(),
            CallError::Provider(p) if p.is_transient() => JobError::Retry(p.to_string()),
            CallError::Provider(p) => JobError::Permanent(p.to_string()),
        }
    }
}

/// Creates the subscriptions a connection should have and stops those it
/// should not (calendars no longer marked busy). Also refreshes the
/// calendar list of calendar accounts.
#[tracing::instrument(skip_all, fields(tenant = %connection.owner.tenant.tenant_id(), connection = %connection.id, provider = connection.provider.as_str()))]
pub async fn reconcile(ctx: &Connections, connection: &Connection) -> Result<(), JobError> {
    if connection.state != ConnectionState::Connected {
        return Ok(());
    }
    refresh_calendars(ctx, connection).await?;
    let result = subscribe_as_needed(ctx, connection).await;
    if let Err(e) = &result {
        note_on_connection(ctx, connection, Some(&format!("Webhook subscription: {e}"))).await?;
    }
    result
}

async fn subscribe_as_needed(ctx: &Connections, connection: &Connection) -> Result<(), JobError> {
    if connection.sync_mode == SyncMode::Polling {
        return Ok(());
    }
    let scope = &connection.owner.tenant;
    let current = repo::current_for_connection(ctx.db.pool(), scope, connection.id).await?;
    match providers::api(connection.provider).coverage() {
        Coverage::Account => {
            if !current.iter().any(live) {
                subscribe(ctx, connection, None).await?;
            }
        }
        Coverage::BusyCalendar => {
            let calendars =
                connection_calendars::calendars(ctx.db.pool(), scope, connection.id).await?;
            for calendar in calendars.iter().filter(|c| c.busy) {
                let watched = current.iter().any(|s| {
                    live(s) && s.calendar_id.as_deref() == Some(calendar.calendar_id.as_str())
                });
                if !watched {
                    subscribe(ctx, connection, Some(&calendar.calendar_id)).await?;
                }
            }
            for sub in current.iter().filter(|s| live(s)) {
                let still_busy = calendars
                    .iter()
                    .any(|c| c.busy && Some(c.calendar_id.as_str()) == sub.calendar_id.as_deref());
                if !still_busy {
                    unsubscribe(ctx, connection, sub).await?;
                    stopped(ctx, sub, Some("calendar no longer counts as busy")).await?;
                }
            }
        }
    }
    Ok(())
}

/// Subscribes at the provider and records the subscription; or, for an
/// account without push notifications, switches the connection to polling.
async fn subscribe(
    ctx: &Connections,
    connection: &Connection,
    calendar_id: Option<&str>,
) -> Result<(), JobError> {
    let id = SubscriptionId::generate();
    let secret = SecretString::new(random_token());
    let now_ms = ctx.clock.now_ms();
    let request = SubscribeRequest {
        id,
        calendar_id,
        account_id: &connection.provider_account_id,
        organization: connection.organization.as_deref(),
        connection_public_id: &connection.public_id,
        public_url: ctx.config.public_url.as_str(),
        secret: &secret,
        now_ms,
    };
    let subscriptions = providers::api(connection.provider).subscriptions();
    let (request, http) = (&request, &ctx.provider_http);
    let subscribed = ctx
        .tokens
        .call(
            &connection.owner,
            connection.id,
            false,
            |token| async move { subscriptions.subscribe(http, &token, request).await },
        )
        .await?;
    match subscribed {
        Subscribed::Created(created) => {
            let renew_at = renew_at(created.expires_at, now_ms);
            record(
                ctx,
                connection,
                id,
                calendar_id,
                &created,
                &secret,
                renew_at,
            )
            .await?;
            note_on_connection(ctx, connection, None).await
        }
        Subscribed::PushUnavailable => {
            connections_repo::set_sync_mode(
                ctx.db.pool(),
                &connection.owner,
                connection.id,
                SyncMode::Polling,
            )
            .await?;
            note_on_connection(ctx, connection, None).await?;
            tracing::info!(connection = %connection.id, "account without push notifications: polling");
            queue_first_sync(ctx, connection).await
        }
    }
}

async fn note_on_connection(
    ctx: &Connections,
    connection: &Connection,
    note: Option<&str>,
) -> Result<(), JobError> {
    connections_repo::set_note(
        ctx.db.pool(),
        &connection.owner,
        connection.id,
        connection.state,
        note,
    )
    .await?;
    Ok(())
}

/// Stores a subscription the provider just created, with its secret.
async fn record(
    ctx: &Connections,
    connection: &Connection,
    id: SubscriptionId,
    calendar_id: Option<&str>,
    created: &Created,
    secret: &SecretString,
    renew_at: i64,
) -> Result<(), JobError> {
    let scope = &connection.owner.tenant;
    let mut tx = ctx.db.begin_write().await?;
    // Locked, so a disconnect either comes first (seen here) or waits and
    // then stops this subscription with the others.
    let current = connections_repo::lock(&mut tx, &connection.owner, connection.id).await?;
    repo::insert(
        &mut *tx,
        scope,
        &NewSubscription {
            id,
            connection_id: connection.id,
            provider: connection.provider,
            calendar_id,
            external_id: &created.external_id,
            resource_id: created.resource_id.as_deref(),
            expires_at: created.expires_at,
            renew_at: Some(renew_at),
        },
    )
    .await?;
    ctx.vault
        .store(
            &mut tx,
            scope,
            &Secret::NotificationSecret(id, connection.provider),
            secret.expose(),
        )
        .await?;
    let disconnected_meanwhile = current.state == ConnectionState::Disconnected;
    if disconnected_meanwhile {
        // Created after the disconnect's clean-up was planned: it needs one.
        stop_in(&mut tx, scope, connection.id).await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    ctx.calendly_routes.forget_all();
    if disconnected_meanwhile {
        ctx.jobs.wake();
    }
    tracing::info!(connection = %connection.id, provider = connection.provider.as_str(), subscription = %id, "subscription created");
    Ok(())
}

async fn stopped(
    ctx: &Connections,
    sub: &Subscription,
    note: Option<&str>,
) -> Result<(), JobError> {
    let mut tx = ctx.db.begin_write().await?;
    repo::set_state(
        &mut *tx,
        &sub.tenant,
        sub.id,
        SubscriptionState::Stopped,
        note,
        None,
    )
    .await?;
    ctx.vault
        .forget_all(&mut *tx, &sub.tenant, &Holder::Subscription(sub.id))
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    ctx.calendly_routes.forget_all();
    Ok(())
}

/// Records a definite refusal on the subscription; the scheduler looks at
/// it again later.
async fn failed(ctx: &Connections, sub: &Subscription, error: &JobError) -> Result<(), JobError> {
    repo::set_state(
        ctx.db.pool(),
        &sub.tenant,
        sub.id,
        SubscriptionState::Failed,
        Some(&error.to_string()),
        Some(ctx.clock.now_ms() + RETRY_FAILED_MS),
    )
    .await?;
    ctx.calendly_routes.forget_all();
    Ok(())
}

fn live(sub: &Subscription) -> bool {
    matches!(
        sub.state,
        SubscriptionState::Active | SubscriptionState::Failed
    )
}

async fn refresh_calendars(ctx: &Connections, connection: &Connection) -> Result<(), JobError> {
    let Some(calendar_api) = providers::api(connection.provider).calendars() else {
        return Ok(());
    };
    let http = &ctx.provider_http;
    let calendars = ctx
        .tokens
        .call(
            &connection.owner,
            connection.id,
            false,
            |token| async move { calendar_api.list_calendars(http, &token).await },
        )
        .await?;
    let fresh: Vec<_> = calendars
        .into_iter()
        .map(|c| (c.id, c.name, c.primary, c.writable))
        .collect();
    let mut tx = ctx.db.begin_write().await?;
    connection_calendars::replace_calendars(
        &mut tx,
        &connection.owner.tenant,
        connection.id,
        &fresh,
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

// ---------------------------------------------------------------- renewal

/// Renews one subscription the way its provider keeps them alive: extended
/// where it can be, replaced where it cannot (or was dropped).
#[tracing::instrument(skip_all, fields(tenant = %scope.tenant_id(), subscription = %id))]
pub async fn renew(
    ctx: &Connections,
    scope: &TenantScope,
    id: SubscriptionId,
) -> Result<(), JobError> {
    let sub = repo::get(ctx.db.pool(), scope, id).await?;
    if !live(&sub) {
        return Ok(());
    }
    let connection =
        connections_repo::get_in_tenant(ctx.db.pool(), scope, sub.connection_id).await?;
    if connection.state != ConnectionState::Connected {
        return Ok(());
    }
    match renew_held(ctx, &connection, &sub).await {
        Err(e @ JobError::Permanent(_)) => {
            failed(ctx, &sub, &e).await?;
            Err(e)
        }
        other => other,
    }
}

async fn renew_held(
    ctx: &Connections,
    connection: &Connection,
    sub: &Subscription,
) -> Result<(), JobError> {
    let subscriptions = providers::api(sub.provider).subscriptions();
    let (held, http) = (&held(sub), &ctx.provider_http);
    let now_ms = ctx.clock.now_ms();
    let renewal = ctx
        .tokens
        .call(
            &connection.owner,
            connection.id,
            false,
            |token| async move { subscriptions.renew(http, &token, held, now_ms).await },
        )
        .await?;
    let calendar_id = sub.calendar_id.as_deref();
    match renewal {
        Renewal::Extended { expires_at } => {
            let renew_at = renew_at(expires_at, now_ms);
            repo::renewed(
                ctx.db.pool(),
                &sub.tenant,
                sub.id,
                expires_at,
                Some(renew_at),
            )
            .await?;
            Ok(())
        }
        // The new one first, so no notification is missed in between.
        Renewal::Replace {
            old_still_open: true,
            reason,
        } => {
            subscribe(ctx, connection, calendar_id).await?;
            if let Err(e) = unsubscribe(ctx, connection, sub).await {
                // It expires on its own; notifications on it are ignored.
                tracing::warn!(subscription = %sub.id, error = %e, "ending the replaced subscription failed");
            }
            stopped(ctx, sub, Some(reason)).await
        }
        Renewal::Replace {
            old_still_open: false,
            reason,
        } => {
            stopped(ctx, sub, Some(reason)).await?;
            subscribe(ctx, connection, calendar_id).await
        }
    }
}

/// Graph lifecycle `subscriptionRemoved`: replace the subscription now.
#[tracing::instrument(skip_all, fields(tenant = %scope.tenant_id(), subscription = %id))]
pub async fn recreate(
    ctx: &Connections,
    scope: &TenantScope,
    id: SubscriptionId,
) -> Result<(), JobError> {
    let sub = repo::get(ctx.db.pool(), scope, id).await?;
    if !live(&sub) {
        return Ok(());
    }
    let connection =
        connections_repo::get_in_tenant(ctx.db.pool(), scope, sub.connection_id).await?;
    stopped(ctx, &sub, Some("removed by the provider; replaced")).await?;
    reconcile(ctx, &connection).await
}

// ---------------------------------------------------------------- cleanup

async fn unsubscribe(
    ctx: &Connections,
    connection: &Connection,
    sub: &Subscription,
) -> Result<(), JobError> {
    let subscriptions = providers::api(sub.provider).subscriptions();
    let (held, http) = (&held(sub), &ctx.provider_http);
    ctx.tokens
        .call(&connection.owner, connection.id, true, |token| async move {
            subscriptions.unsubscribe(http, &token, held).await
        })
        .await?;
    Ok(())
}

/// After a disconnect: delete the provider subscriptions, revoke the
/// tokens, forget them. Retried by the job until the provider answers.
#[tracing::instrument(skip_all, fields(tenant = %scope.tenant_id(), connection = %connection_id))]
pub async fn cleanup(
    ctx: &Connections,
    scope: &TenantScope,
    connection_id: crate::model::ConnectionId,
) -> Result<(), JobError> {
    let connection = connections_repo::get_in_tenant(ctx.db.pool(), scope, connection_id).await?;
    let subs = repo::current_for_connection(ctx.db.pool(), scope, connection_id).await?;
    for sub in subs
        .iter()
        .filter(|s| s.state == SubscriptionState::Stopping)
    {
        match unsubscribe(ctx, &connection, sub).await {
            Ok(()) => stopped(ctx, sub, None).await?,
            // No usable token: nothing more can be done at the provider.
            Err(JobError::Permanent(reason)) => stopped(ctx, sub, Some(&reason)).await?,
            Err(retry) => return Err(noted_cleanup_failure(ctx, &connection, retry).await),
        }
    }
    if connection.state != ConnectionState::Disconnected {
        // Reconnected meanwhile: the tokens are the new connection's.
        return Ok(());
    }
    if let Err(e) = revoke(ctx, &connection).await {
        return Err(noted_cleanup_failure(ctx, &connection, e).await);
    }
    let mut tx = ctx.db.begin_write().await?;
    let still_disconnected = connections_repo::set_note(
        &mut *tx,
        &connection.owner,
        connection_id,
        ConnectionState::Disconnected,
        None,
    )
    .await?;
    if !still_disconnected {
        // Reconnected while revoking: the stored tokens are new ones.
        tx.rollback().await.map_err(DbError::from)?;
        return Ok(());
    }
    ctx.vault
        .forget_all(&mut *tx, scope, &Holder::Connection(connection_id))
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(connection = %connection_id, "provider clean-up finished");
    Ok(())
}

async fn noted_cleanup_failure(
    ctx: &Connections,
    connection: &Connection,
    error: JobError,
) -> JobError {
    let note = format!(
        "Disconnected here; cleaning up at {} failed and is retried: {error}",
        connection.provider.label()
    );
    if let Err(e) = note_on_connection(ctx, connection, Some(&note)).await {
        return e;
    }
    error
}

async fn revoke(ctx: &Connections, connection: &Connection) -> Result<(), JobError> {
    let scope = &connection.owner.tenant;
    // Reconnected (or moved to another user) while the tokens were read:
    // they may be the new connection's, which must not be revoked.
    let stamp = || connections_repo::token_stamp(ctx.db.pool(), &connection.owner, connection.id);
    let Ok(before) = stamp().await else {
        return Ok(());
    };
    let refresh = ctx
        .vault
        .load(ctx.db.pool(), scope, &Secret::RefreshToken(connection.id))
        .await?;
    let access = ctx
        .vault
        .load(ctx.db.pool(), scope, &Secret::AccessToken(connection.id))
        .await?;
    if !stamp()
        .await
        .is_ok_and(|after| after.version == before.version)
    {
        return Ok(());
    }
    let app =
        crate::server::connections::oauth_apps::credentials(&ctx.apps, scope, connection.provider)
            .await?;
    let (Some(token), Some((client_id, secret))) = (refresh.or(access), app) else {
        return Ok(());
    };
    providers::oauth::revoke(
        &ctx.provider_http,
        connection.provider,
        ctx.provider_http.endpoints(connection.provider),
        &client_id,
        &secret,
        &token,
    )
    .await
    .map_err(|e| JobError::Retry(format!("revoking the tokens failed: {e}")))
}

/// Queues the connection's first import (coalesced: one pending sync at
/// a time).
pub async fn queue_first_sync(ctx: &Connections, connection: &Connection) -> Result<(), JobError> {
    ctx.jobs
        .enqueue(
            &ctx.db,
            &Enqueue::sync(&connection.owner.tenant, connection.id, SyncTrigger::Setup),
        )
        .await?;
    Ok(())
}

/// Marks the connection's subscriptions for deletion and queues the
/// clean-up, inside the disconnect transaction.
pub async fn stop_in(
    tx: &mut db::Tx,
    scope: &TenantScope,
    connection_id: crate::model::ConnectionId,
) -> Result<(), DbError> {
    repo::stop_all_for_connection(&mut **tx, scope, connection_id).await?;
    Queue::enqueue_in(
        tx,
        &Enqueue::now(
            Some(scope),
            Job::CleanUpConnection {
                connection: connection_id,
            },
        )
        .coalesced(format!("cleanup:{connection_id}")),
    )
    .await?;
    Ok(())
}
