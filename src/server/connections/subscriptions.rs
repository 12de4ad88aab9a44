//! How calbridge hears about changes: one user-scoped Calendly webhook
//! subscription per connection (or polling on Calendly's free plan), one
//! Google watch channel per busy calendar, one Graph subscription per
//! Outlook connection. Created after connecting, renewed before they
//! expire, deleted when disconnecting. Every function here runs inside a
//! job and is idempotent: running it twice leaves the same state.

use crate::model::{ConnectionState, Provider, SubscriptionId, SubscriptionState, SyncMode};
use crate::server::connections::tokens::CallError;
use crate::server::connections::Connections;
use crate::server::error::AppError;
use crate::server::jobs::{Enqueue, Job, JobError, Queue};
use crate::server::platform::db::connections::{self as connections_repo, Connection};
use crate::server::platform::db::subscriptions::{self as repo, NewSubscription, Subscription};
use crate::server::platform::db::Db;
use crate::server::platform::db::{self, DbError, TenantScope};
use crate::server::platform::vault::crypto::random_token;
use crate::server::platform::vault::crypto::SecretString;
use crate::server::platform::vault::Vault;
use crate::server::platform::vault::{Holder, Secret};
use crate::server::providers::calendly::subscription::{self as calendly_hooks, Hook};
use crate::server::providers::client::ProviderError;
use crate::server::providers::google::subscription::{self as google_channels, Watch};
use crate::server::providers::microsoft::subscription::{
    self as graph_subscriptions, Subscription as GraphSubscription,
};
use crate::server::providers::{self, Created};

const HOUR_MS: i64 = 3600 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Google allows channels of up to 7 days.
const GOOGLE_CHANNEL_TTL_MS: i64 = 7 * DAY_MS;
/// Graph allows up to 10,080 minutes on events; 3 days leaves slack.
const GRAPH_TTL_MS: i64 = 3 * DAY_MS;
/// Renew this long before expiry, so a provider outage of a day is survived.
const RENEW_BEFORE_MS: i64 = DAY_MS;
/// Calendly subscriptions do not expire, but Calendly disables them after a
/// day of failed deliveries: look at each one daily.
const CALENDLY_CHECK_MS: i64 = DAY_MS;
/// After a definite refusal, try again this much later.
const RETRY_FAILED_MS: i64 = HOUR_MS;

pub const POLLING_NOTE: &str = "Calendly webhooks need a paid Calendly plan; calbridge checks this account for changes every 5 minutes instead.";

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
/// should not (Google calendars no longer marked busy). Also refreshes the
/// calendar list of Google and Outlook accounts.
#[tracing::instrument(skip_all, fields(tenant = %connection.owner.tenant.tenant_id(), connection = %connection.id, provider = connection.provider.as_str()))]
pub async fn reconcile(ctx: &Connections, connection: &Connection) -> Result<(), JobError> {
    if connection.state != ConnectionState::Connected {
        return Ok(());
    }
    let result = match connection.provider {
        Provider::Calendly => reconcile_calendly(ctx, connection).await,
        Provider::Google => {
            refresh_calendars(ctx, connection).await?;
            reconcile_google(ctx, connection).await
        }
        Provider::Microsoft => {
            refresh_calendars(ctx, connection).await?;
            reconcile_graph(ctx, connection).await
        }
    };
    if let Err(e) = &result {
        note_on_connection(ctx, connection, Some(&format!("Webhook subscription: {e}"))).await?;
    }
    result
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
    renew_at: Option<i64>,
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
            renew_at,
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

// ---------------------------------------------------------------- Calendly

async fn reconcile_calendly(ctx: &Connections, connection: &Connection) -> Result<(), JobError> {
    if connection.sync_mode == SyncMode::Polling {
        return Ok(());
    }
    let current =
        repo::current_for_connection(ctx.db.pool(), &connection.owner.tenant, connection.id)
            .await?;
    if current.iter().any(live) {
        return Ok(());
    }
    create_calendly(ctx, connection).await
}

async fn create_calendly(ctx: &Connections, connection: &Connection) -> Result<(), JobError> {
    let organization = connection
        .organization
        .as_deref()
        .ok_or_else(|| JobError::Permanent("the Calendly account has no organization".into()))?;
    let callback_url = ctx
        .config
        .webhook_url(&format!("calendly/{}", connection.public_id));
    let signing_key = SecretString::new(random_token());
    let hook = Hook {
        callback_url: &callback_url,
        organization,
        user: &connection.provider_account_id,
        signing_key: &signing_key,
    };
    let (hook, http) = (&hook, &ctx.provider_http);
    let endpoints = ctx.provider_http.endpoints(Provider::Calendly);
    let result = ctx
        .tokens
        .call(
            &connection.owner,
            connection.id,
            false,
            |token| async move { calendly_hooks::create(http, endpoints, &token, hook).await },
        )
        .await;
    match result {
        Ok(created) => {
            record(
                ctx,
                connection,
                SubscriptionId::generate(),
                None,
                &created,
                &signing_key,
                Some(ctx.clock.now_ms() + CALENDLY_CHECK_MS),
            )
            .await?;
            note_on_connection(ctx, connection, None).await
        }
        // Calendly's free plan has no webhooks.
        Err(CallError::Provider(ProviderError::Rejected { status: 403, .. })) => {
            connections_repo::set_sync_mode(
                ctx.db.pool(),
                &connection.owner,
                connection.id,
                SyncMode::Polling,
            )
            .await?;
            note_on_connection(ctx, connection, None).await?;
            tracing::info!(connection = %connection.id, "Calendly plan without webhooks: polling");
            queue_sync(ctx, connection).await
        }
        // An earlier attempt created it but did not live to record it.
        Err(CallError::Provider(ProviderError::Rejected { status: 409, .. })) => {
            let leftovers = ctx
                .tokens
                .call(&connection.owner, connection.id, false, |token| {
                    let user = connection.provider_account_id.as_str();
                    async move {
                        calendly_hooks::list(http, endpoints, &token, organization, user).await
                    }
                })
                .await?;
            for leftover in leftovers.iter().filter(|h| h.callback_url == callback_url) {
                let uri = leftover.uri.as_str();
                ctx.tokens
                    .call(
                        &connection.owner,
                        connection.id,
                        false,
                        |token| async move { calendly_hooks::delete(http, &token, uri).await },
                    )
                    .await?;
            }
            Err(JobError::Retry(
                "removed a subscription left by an earlier attempt; creating it again".into(),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Recreates a subscription Calendly disabled (or lost).
async fn check_calendly(
    ctx: &Connections,
    connection: &Connection,
    sub: &Subscription,
) -> Result<(), JobError> {
    let http = &ctx.provider_http;
    let uri = sub.external_id.as_str();
    let status = ctx
        .tokens
        .call(
            &connection.owner,
            connection.id,
            false,
            |token| async move { calendly_hooks::state(http, &token, uri).await },
        )
        .await;
    let gone = match status {
        Ok(s) if s == "active" => false,
        Ok(_) => {
            tracing::warn!(subscription = %sub.id, "Calendly disabled the subscription; recreating it");
            ctx.tokens
                .call(
                    &connection.owner,
                    connection.id,
                    false,
                    |token| async move { calendly_hooks::delete(http, &token, uri).await },
                )
                .await?;
            true
        }
        Err(CallError::Provider(ProviderError::Rejected { status: 404, .. })) => true,
        Err(e) => return Err(e.into()),
    };
    if gone {
        stopped(ctx, sub, Some("disabled by Calendly; replaced")).await?;
        return create_calendly(ctx, connection).await;
    }
    repo::renewed(
        ctx.db.pool(),
        &sub.tenant,
        sub.id,
        None,
        Some(ctx.clock.now_ms() + CALENDLY_CHECK_MS),
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- Google

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
    connections_repo::replace_calendars(&mut tx, &connection.owner.tenant, connection.id, &fresh)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

async fn reconcile_google(ctx: &Connections, connection: &Connection) -> Result<(), JobError> {
    let scope = &connection.owner.tenant;
    let calendars = connections_repo::calendars(ctx.db.pool(), scope, connection.id).await?;
    let current = repo::current_for_connection(ctx.db.pool(), scope, connection.id).await?;
    for calendar in calendars.iter().filter(|c| c.busy) {
        let watched = current
            .iter()
            .any(|s| live(s) && s.calendar_id.as_deref() == Some(calendar.calendar_id.as_str()));
        if !watched {
            watch_google(ctx, connection, &calendar.calendar_id).await?;
        }
    }
    for sub in current.iter().filter(|s| live(s)) {
        let still_busy = calendars
            .iter()
            .any(|c| c.busy && Some(c.calendar_id.as_str()) == sub.calendar_id.as_deref());
        if !still_busy {
            delete_at_provider(ctx, connection, sub).await?;
            stopped(ctx, sub, Some("calendar no longer counts as busy")).await?;
        }
    }
    Ok(())
}

async fn watch_google(
    ctx: &Connections,
    connection: &Connection,
    calendar_id: &str,
) -> Result<(), JobError> {
    let id = SubscriptionId::generate();
    let channel_id = id.to_string();
    let address = ctx.config.webhook_url("google");
    let channel_token = SecretString::new(random_token());
    let watch = Watch {
        calendar_id,
        channel_id: &channel_id,
        address: &address,
        channel_token: &channel_token,
        expiration: ctx.clock.now_ms() + GOOGLE_CHANNEL_TTL_MS,
    };
    let (watch, http) = (&watch, &ctx.provider_http);
    let endpoints = ctx.provider_http.endpoints(Provider::Google);
    let created = ctx
        .tokens
        .call(
            &connection.owner,
            connection.id,
            false,
            |token| async move { google_channels::watch(http, endpoints, &token, watch).await },
        )
        .await?;
    let renew_at = created.expires_at.map(|e| e - RENEW_BEFORE_MS);
    record(
        ctx,
        connection,
        id,
        Some(calendar_id),
        &created,
        &channel_token,
        renew_at,
    )
    .await
}

// ---------------------------------------------------------------- Microsoft

async fn reconcile_graph(ctx: &Connections, connection: &Connection) -> Result<(), JobError> {
    let current =
        repo::current_for_connection(ctx.db.pool(), &connection.owner.tenant, connection.id)
            .await?;
    if current.iter().any(live) {
        return Ok(());
    }
    create_graph(ctx, connection).await
}

async fn create_graph(ctx: &Connections, connection: &Connection) -> Result<(), JobError> {
    let notification_url = ctx.config.webhook_url("microsoft");
    let lifecycle_url = ctx.config.webhook_url("microsoft/lifecycle");
    let client_state = SecretString::new(random_token());
    let sub = GraphSubscription {
        notification_url: &notification_url,
        lifecycle_url: &lifecycle_url,
        client_state: &client_state,
        expiration: ctx.clock.now_ms() + GRAPH_TTL_MS,
    };
    let (sub, http) = (&sub, &ctx.provider_http);
    let endpoints = ctx.provider_http.endpoints(Provider::Microsoft);
    let created = ctx
        .tokens
        .call(
            &connection.owner,
            connection.id,
            false,
            |token| async move { graph_subscriptions::create(http, endpoints, &token, sub).await },
        )
        .await?;
    let renew_at = created.expires_at.map(|e| e - RENEW_BEFORE_MS);
    record(
        ctx,
        connection,
        SubscriptionId::generate(),
        None,
        &created,
        &client_state,
        renew_at,
    )
    .await
}

// ---------------------------------------------------------------- renewal

/// Renews one subscription: Google by a new channel (channels cannot be
/// extended), Graph by PATCH, Calendly by checking it is still enabled.
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
    let result = match sub.provider {
        Provider::Calendly => check_calendly(ctx, &connection, &sub).await,
        Provider::Google => renew_google(ctx, &connection, &sub).await,
        Provider::Microsoft => renew_graph(ctx, &connection, &sub).await,
    };
    match result {
        Err(e @ JobError::Permanent(_)) => {
            failed(ctx, &sub, &e).await?;
            Err(e)
        }
        other => other,
    }
}

async fn renew_google(
    ctx: &Connections,
    connection: &Connection,
    old: &Subscription,
) -> Result<(), JobError> {
    let calendar_id = old
        .calendar_id
        .as_deref()
        .ok_or_else(|| JobError::Permanent("channel without calendar".into()))?;
    // The new channel first, so no notification is missed in between.
    watch_google(ctx, connection, calendar_id).await?;
    if let Err(e) = delete_at_provider(ctx, connection, old).await {
        // The old channel expires on its own; notifications on it are ignored.
        tracing::warn!(subscription = %old.id, error = %e, "stopping the replaced channel failed");
    }
    stopped(ctx, old, Some("replaced by a new channel")).await
}

async fn renew_graph(
    ctx: &Connections,
    connection: &Connection,
    sub: &Subscription,
) -> Result<(), JobError> {
    let http = &ctx.provider_http;
    let endpoints = ctx.provider_http.endpoints(Provider::Microsoft);
    let expiration = ctx.clock.now_ms() + GRAPH_TTL_MS;
    let external = sub.external_id.as_str();
    let result = ctx
        .tokens
        .call(
            &connection.owner,
            connection.id,
            false,
            |token| async move {
                graph_subscriptions::renew(http, endpoints, &token, external, expiration).await
            },
        )
        .await;
    match result {
        Ok(expires_at) => {
            let expires_at = expires_at.unwrap_or(expiration);
            repo::renewed(
                ctx.db.pool(),
                &sub.tenant,
                sub.id,
                Some(expires_at),
                Some(expires_at - RENEW_BEFORE_MS),
            )
            .await?;
            Ok(())
        }
        // Graph dropped it (expired or removed): create a new one.
        Err(CallError::Provider(ProviderError::Rejected { status: 404, .. })) => {
            stopped(ctx, sub, Some("removed by Microsoft; replaced")).await?;
            create_graph(ctx, connection).await
        }
        Err(e) => Err(e.into()),
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

async fn delete_at_provider(
    ctx: &Connections,
    connection: &Connection,
    sub: &Subscription,
) -> Result<(), JobError> {
    let http = &ctx.provider_http;
    let endpoints = ctx.provider_http.endpoints(sub.provider);
    let (external, resource) = (
        sub.external_id.as_str(),
        sub.resource_id.as_deref().unwrap_or_default(),
    );
    let provider = sub.provider;
    ctx.tokens
        .call(&connection.owner, connection.id, true, |token| async move {
            match provider {
                Provider::Calendly => calendly_hooks::delete(http, &token, external).await,
                Provider::Google => {
                    google_channels::stop(http, endpoints, &token, external, resource).await
                }
                Provider::Microsoft => {
                    graph_subscriptions::delete(http, endpoints, &token, external).await
                }
            }
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
        match delete_at_provider(ctx, &connection, sub).await {
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

/// Queues the connection's sync (coalesced: one pending sync at a time).
pub async fn queue_sync(ctx: &Connections, connection: &Connection) -> Result<(), JobError> {
    ctx.jobs
        .enqueue(
            &ctx.db,
            &Enqueue::now(
                Some(&connection.owner.tenant),
                Job::SyncConnection {
                    connection: connection.id,
                },
            )
            .coalesced(format!("sync:{}", connection.id)),
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
