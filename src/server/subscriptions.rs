//! How calbridge hears about changes: one user-scoped Calendly webhook
//! subscription per connection (or polling on Calendly's free plan), one
//! Google watch channel per busy calendar, one Graph subscription per
//! Outlook connection. Created after connecting, renewed before they
//! expire, deleted when disconnecting. Every function here runs inside a
//! job and is idempotent: running it twice leaves the same state.

use crate::model::{ConnectionState, Provider, SubscriptionId, SubscriptionState, SyncMode};
use crate::server::auth::random_token;
use crate::server::crypto::SecretString;
use crate::server::db::connections::{self as connections_repo, Connection};
use crate::server::db::subscriptions::{self as repo, NewSubscription, Subscription};
use crate::server::db::vault::SecretOwner;
use crate::server::db::{self, DbError, TenantScope};
use crate::server::error::AppError;
use crate::server::jobs::{Enqueue, JobError, Queue};
use crate::server::providers::accounts;
use crate::server::providers::api::ProviderError;
use crate::server::providers::subscriptions::{
    self as wire, CalendlyHook, Created, GoogleWatch, GraphSubscription,
};
use crate::server::state::AppState;
use crate::server::tokens::CallError;
use std::time::Duration;

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
/// Polling interval for connections without webhooks.
pub const POLL_EVERY: Duration = Duration::from_secs(5 * 60);

pub const POLLING_NOTE: &str = "Calendly webhooks need a paid Calendly plan; calbridge checks this account for changes every 5 minutes instead.";

fn secret_owner(id: &str, provider: Provider) -> SecretOwner<'_> {
    SecretOwner {
        kind: "subscription",
        id,
        purpose: match provider {
            Provider::Calendly => "signing_key",
            Provider::Google => "channel_token",
            Provider::Microsoft => "client_state",
        },
    }
}

/// The secret a notification must carry (Calendly signing key, Google
/// channel token, Graph clientState).
pub async fn secret(
    state: &AppState,
    sub: &Subscription,
) -> Result<Option<SecretString>, AppError> {
    let id = sub.id.to_string();
    Ok(state
        .vault
        .load(
            state.db.pool(),
            &sub.tenant,
            secret_owner(&id, sub.provider),
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
pub async fn reconcile(state: &AppState, connection: &Connection) -> Result<(), JobError> {
    if connection.state != ConnectionState::Connected {
        return Ok(());
    }
    let result = match connection.provider {
        Provider::Calendly => reconcile_calendly(state, connection).await,
        Provider::Google => {
            refresh_calendars(state, connection).await?;
            reconcile_google(state, connection).await
        }
        Provider::Microsoft => {
            refresh_calendars(state, connection).await?;
            reconcile_graph(state, connection).await
        }
    };
    if let Err(e) = &result {
        note_on_connection(
            state,
            connection,
            Some(&format!("Webhook subscription: {e}")),
        )
        .await?;
    }
    result
}

async fn note_on_connection(
    state: &AppState,
    connection: &Connection,
    note: Option<&str>,
) -> Result<(), JobError> {
    connections_repo::set_note(
        state.db.pool(),
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
    state: &AppState,
    connection: &Connection,
    id: SubscriptionId,
    calendar_id: Option<&str>,
    created: &Created,
    secret: &SecretString,
    renew_at: Option<i64>,
) -> Result<(), JobError> {
    let scope = &connection.owner.tenant;
    let id_text = id.to_string();
    let mut tx = state.db.begin_write().await?;
    // Locked, so a disconnect either comes first (seen here) or waits and
    // then stops this subscription with the others.
    let current = connections_repo::lock(
        &mut tx,
        state.db.backend(),
        &connection.owner,
        connection.id,
    )
    .await?;
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
    state
        .vault
        .store(
            &mut tx,
            scope,
            secret_owner(&id_text, connection.provider),
            secret.expose(),
        )
        .await?;
    let disconnected_meanwhile = current.state == ConnectionState::Disconnected;
    if disconnected_meanwhile {
        // Created after the disconnect's clean-up was planned: it needs one.
        stop_in(&mut tx, state.db.backend(), scope, connection.id).await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    state.calendly_routes.forget_all();
    if disconnected_meanwhile {
        state.jobs.wake();
    }
    tracing::info!(connection = %connection.id, provider = connection.provider.as_str(), subscription = %id, "subscription created");
    Ok(())
}

async fn stopped(state: &AppState, sub: &Subscription, note: Option<&str>) -> Result<(), JobError> {
    let mut tx = state.db.begin_write().await?;
    repo::set_state(
        &mut *tx,
        &sub.tenant,
        sub.id,
        SubscriptionState::Stopped,
        note,
        None,
    )
    .await?;
    db::vault::delete_for_owner(&mut *tx, &sub.tenant, "subscription", &sub.id.to_string()).await?;
    tx.commit().await.map_err(DbError::from)?;
    state.calendly_routes.forget_all();
    Ok(())
}

/// Records a definite refusal on the subscription; the scheduler looks at
/// it again later.
async fn failed(state: &AppState, sub: &Subscription, error: &JobError) -> Result<(), JobError> {
    repo::set_state(
        state.db.pool(),
        &sub.tenant,
        sub.id,
        SubscriptionState::Failed,
        Some(&error.to_string()),
        Some(state.clock.now_ms() + RETRY_FAILED_MS),
    )
    .await?;
    state.calendly_routes.forget_all();
    Ok(())
}

fn live(sub: &Subscription) -> bool {
    matches!(
        sub.state,
        SubscriptionState::Active | SubscriptionState::Failed
    )
}

// ---------------------------------------------------------------- Calendly

async fn reconcile_calendly(state: &AppState, connection: &Connection) -> Result<(), JobError> {
    if connection.sync_mode == SyncMode::Polling {
        return Ok(());
    }
    let current =
        repo::current_for_connection(state.db.pool(), &connection.owner.tenant, connection.id)
            .await?;
    if current.iter().any(live) {
        return Ok(());
    }
    create_calendly(state, connection).await
}

async fn create_calendly(state: &AppState, connection: &Connection) -> Result<(), JobError> {
    let organization = connection
        .organization
        .as_deref()
        .ok_or_else(|| JobError::Permanent("the Calendly account has no organization".into()))?;
    let callback_url = state.webhook_url(&format!("calendly/{}", connection.public_id));
    let signing_key = SecretString::new(random_token());
    let hook = CalendlyHook {
        callback_url: &callback_url,
        organization,
        user: &connection.provider_account_id,
        signing_key: &signing_key,
    };
    let (hook, http) = (&hook, &state.provider_http);
    let endpoints = state.config.endpoints.get(Provider::Calendly);
    let result = state
        .tokens
        .call(
            state,
            &connection.owner,
            connection.id,
            false,
            |token| async move { wire::calendly_create(http, endpoints, &token, hook).await },
        )
        .await;
    match result {
        Ok(created) => {
            record(
                state,
                connection,
                SubscriptionId::generate(),
                None,
                &created,
                &signing_key,
                Some(state.clock.now_ms() + CALENDLY_CHECK_MS),
            )
            .await?;
            note_on_connection(state, connection, None).await
        }
        // Calendly's free plan has no webhooks.
        Err(CallError::Provider(ProviderError::Rejected { status: 403, .. })) => {
            connections_repo::set_sync_mode(
                state.db.pool(),
                &connection.owner,
                connection.id,
                SyncMode::Polling,
            )
            .await?;
            note_on_connection(state, connection, None).await?;
            tracing::info!(connection = %connection.id, "Calendly plan without webhooks: polling");
            queue_sync(state, connection).await
        }
        // An earlier attempt created it but did not live to record it.
        Err(CallError::Provider(ProviderError::Rejected { status: 409, .. })) => {
            let leftovers =
                state
                    .tokens
                    .call(state, &connection.owner, connection.id, false, |token| {
                        let user = connection.provider_account_id.as_str();
                        async move {
                            wire::calendly_list(http, endpoints, &token, organization, user).await
                        }
                    })
                    .await?;
            for leftover in leftovers.iter().filter(|h| h.callback_url == callback_url) {
                let uri = leftover.uri.as_str();
                state
                    .tokens
                    .call(
                        state,
                        &connection.owner,
                        connection.id,
                        false,
                        |token| async move { wire::calendly_delete(http, &token, uri).await },
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
    state: &AppState,
    connection: &Connection,
    sub: &Subscription,
) -> Result<(), JobError> {
    let http = &state.provider_http;
    let uri = sub.external_id.as_str();
    let status = state
        .tokens
        .call(
            state,
            &connection.owner,
            connection.id,
            false,
            |token| async move { wire::calendly_state(http, &token, uri).await },
        )
        .await;
    let gone = match status {
        Ok(s) if s == "active" => false,
        Ok(_) => {
            tracing::warn!(subscription = %sub.id, "Calendly disabled the subscription; recreating it");
            state
                .tokens
                .call(
                    state,
                    &connection.owner,
                    connection.id,
                    false,
                    |token| async move { wire::calendly_delete(http, &token, uri).await },
                )
                .await?;
            true
        }
        Err(CallError::Provider(ProviderError::Rejected { status: 404, .. })) => true,
        Err(e) => return Err(e.into()),
    };
    if gone {
        stopped(state, sub, Some("disabled by Calendly; replaced")).await?;
        return create_calendly(state, connection).await;
    }
    repo::renewed(
        state.db.pool(),
        &sub.tenant,
        sub.id,
        None,
        Some(state.clock.now_ms() + CALENDLY_CHECK_MS),
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- Google

async fn refresh_calendars(state: &AppState, connection: &Connection) -> Result<(), JobError> {
    let http = &state.provider_http;
    let endpoints = state.config.endpoints.get(connection.provider);
    let provider = connection.provider;
    let calendars = state
        .tokens
        .call(
            state,
            &connection.owner,
            connection.id,
            false,
            |token| async move {
                match provider {
                    Provider::Google => wire::google_calendars(http, endpoints, &token).await,
                    _ => wire::graph_calendars(http, endpoints, &token).await,
                }
            },
        )
        .await?;
    let fresh: Vec<_> = calendars
        .into_iter()
        .map(|c| (c.id, c.name, c.primary, c.writable))
        .collect();
    let mut tx = state.db.begin_write().await?;
    connections_repo::replace_calendars(&mut tx, &connection.owner.tenant, connection.id, &fresh)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

async fn reconcile_google(state: &AppState, connection: &Connection) -> Result<(), JobError> {
    let scope = &connection.owner.tenant;
    let calendars = connections_repo::calendars(state.db.pool(), scope, connection.id).await?;
    let current = repo::current_for_connection(state.db.pool(), scope, connection.id).await?;
    for calendar in calendars.iter().filter(|c| c.busy) {
        let watched = current
            .iter()
            .any(|s| live(s) && s.calendar_id.as_deref() == Some(calendar.calendar_id.as_str()));
        if !watched {
            watch_google(state, connection, &calendar.calendar_id).await?;
        }
    }
    for sub in current.iter().filter(|s| live(s)) {
        let still_busy = calendars
            .iter()
            .any(|c| c.busy && Some(c.calendar_id.as_str()) == sub.calendar_id.as_deref());
        if !still_busy {
            delete_at_provider(state, connection, sub).await?;
            stopped(state, sub, Some("calendar no longer counts as busy")).await?;
        }
    }
    Ok(())
}

async fn watch_google(
    state: &AppState,
    connection: &Connection,
    calendar_id: &str,
) -> Result<(), JobError> {
    let id = SubscriptionId::generate();
    let channel_id = id.to_string();
    let address = state.webhook_url("google");
    let channel_token = SecretString::new(random_token());
    let watch = GoogleWatch {
        calendar_id,
        channel_id: &channel_id,
        address: &address,
        channel_token: &channel_token,
        expiration: state.clock.now_ms() + GOOGLE_CHANNEL_TTL_MS,
    };
    let (watch, http) = (&watch, &state.provider_http);
    let endpoints = state.config.endpoints.get(Provider::Google);
    let created = state
        .tokens
        .call(
            state,
            &connection.owner,
            connection.id,
            false,
            |token| async move { wire::google_watch(http, endpoints, &token, watch).await },
        )
        .await?;
    let renew_at = created.expires_at.map(|e| e - RENEW_BEFORE_MS);
    record(
        state,
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

async fn reconcile_graph(state: &AppState, connection: &Connection) -> Result<(), JobError> {
    let current =
        repo::current_for_connection(state.db.pool(), &connection.owner.tenant, connection.id)
            .await?;
    if current.iter().any(live) {
        return Ok(());
    }
    create_graph(state, connection).await
}

async fn create_graph(state: &AppState, connection: &Connection) -> Result<(), JobError> {
    let notification_url = state.webhook_url("microsoft");
    let lifecycle_url = state.webhook_url("microsoft/lifecycle");
    let client_state = SecretString::new(random_token());
    let sub = GraphSubscription {
        notification_url: &notification_url,
        lifecycle_url: &lifecycle_url,
        client_state: &client_state,
        expiration: state.clock.now_ms() + GRAPH_TTL_MS,
    };
    let (sub, http) = (&sub, &state.provider_http);
    let endpoints = state.config.endpoints.get(Provider::Microsoft);
    let created = state
        .tokens
        .call(
            state,
            &connection.owner,
            connection.id,
            false,
            |token| async move { wire::graph_create(http, endpoints, &token, sub).await },
        )
        .await?;
    let renew_at = created.expires_at.map(|e| e - RENEW_BEFORE_MS);
    record(
        state,
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
pub async fn renew(
    state: &AppState,
    scope: &TenantScope,
    id: SubscriptionId,
) -> Result<(), JobError> {
    let sub = repo::get(state.db.pool(), scope, id).await?;
    if !live(&sub) {
        return Ok(());
    }
    let connection =
        connections_repo::get_in_tenant(state.db.pool(), scope, sub.connection_id).await?;
    if connection.state != ConnectionState::Connected {
        return Ok(());
    }
    let result = match sub.provider {
        Provider::Calendly => check_calendly(state, &connection, &sub).await,
        Provider::Google => renew_google(state, &connection, &sub).await,
        Provider::Microsoft => renew_graph(state, &connection, &sub).await,
    };
    match result {
        Err(e @ JobError::Permanent(_)) => {
            failed(state, &sub, &e).await?;
            Err(e)
        }
        other => other,
    }
}

async fn renew_google(
    state: &AppState,
    connection: &Connection,
    old: &Subscription,
) -> Result<(), JobError> {
    let calendar_id = old
        .calendar_id
        .as_deref()
        .ok_or_else(|| JobError::Permanent("channel without calendar".into()))?;
    // The new channel first, so no notification is missed in between.
    watch_google(state, connection, calendar_id).await?;
    if let Err(e) = delete_at_provider(state, connection, old).await {
        // The old channel expires on its own; notifications on it are ignored.
        tracing::warn!(subscription = %old.id, error = %e, "stopping the replaced channel failed");
    }
    stopped(state, old, Some("replaced by a new channel")).await
}

async fn renew_graph(
    state: &AppState,
    connection: &Connection,
    sub: &Subscription,
) -> Result<(), JobError> {
    let http = &state.provider_http;
    let endpoints = state.config.endpoints.get(Provider::Microsoft);
    let expiration = state.clock.now_ms() + GRAPH_TTL_MS;
    let external = sub.external_id.as_str();
    let result = state
        .tokens
        .call(
            state,
            &connection.owner,
            connection.id,
            false,
            |token| async move {
                wire::graph_renew(http, endpoints, &token, external, expiration).await
            },
        )
        .await;
    match result {
        Ok(expires_at) => {
            let expires_at = expires_at.unwrap_or(expiration);
            repo::renewed(
                state.db.pool(),
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
            stopped(state, sub, Some("removed by Microsoft; replaced")).await?;
            create_graph(state, connection).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Graph lifecycle `subscriptionRemoved`: replace the subscription now.
pub async fn recreate(
    state: &AppState,
    scope: &TenantScope,
    id: SubscriptionId,
) -> Result<(), JobError> {
    let sub = repo::get(state.db.pool(), scope, id).await?;
    if !live(&sub) {
        return Ok(());
    }
    let connection =
        connections_repo::get_in_tenant(state.db.pool(), scope, sub.connection_id).await?;
    stopped(state, &sub, Some("removed by the provider; replaced")).await?;
    reconcile(state, &connection).await
}

// ---------------------------------------------------------------- cleanup

async fn delete_at_provider(
    state: &AppState,
    connection: &Connection,
    sub: &Subscription,
) -> Result<(), JobError> {
    let http = &state.provider_http;
    let endpoints = state.config.endpoints.get(sub.provider);
    let (external, resource) = (
        sub.external_id.as_str(),
        sub.resource_id.as_deref().unwrap_or_default(),
    );
    let provider = sub.provider;
    state
        .tokens
        .call(
            state,
            &connection.owner,
            connection.id,
            true,
            |token| async move {
                match provider {
                    Provider::Calendly => wire::calendly_delete(http, &token, external).await,
                    Provider::Google => {
                        wire::google_stop(http, endpoints, &token, external, resource).await
                    }
                    Provider::Microsoft => {
                        wire::graph_delete(http, endpoints, &token, external).await
                    }
                }
            },
        )
        .await?;
    Ok(())
}

/// After a disconnect: delete the provider subscriptions, revoke the
/// tokens, forget them. Retried by the job until the provider answers.
pub async fn cleanup(
    state: &AppState,
    scope: &TenantScope,
    connection_id: crate::model::ConnectionId,
) -> Result<(), JobError> {
    let connection = connections_repo::get_in_tenant(state.db.pool(), scope, connection_id).await?;
    let subs = repo::current_for_connection(state.db.pool(), scope, connection_id).await?;
    for sub in subs
        .iter()
        .filter(|s| s.state == SubscriptionState::Stopping)
    {
        match delete_at_provider(state, &connection, sub).await {
            Ok(()) => stopped(state, sub, None).await?,
            // No usable token: nothing more can be done at the provider.
            Err(JobError::Permanent(reason)) => stopped(state, sub, Some(&reason)).await?,
            Err(retry) => return Err(noted_cleanup_failure(state, &connection, retry).await),
        }
    }
    if connection.state != ConnectionState::Disconnected {
        // Reconnected meanwhile: the tokens are the new connection's.
        return Ok(());
    }
    if let Err(e) = revoke(state, &connection).await {
        return Err(noted_cleanup_failure(state, &connection, e).await);
    }
    let mut tx = state.db.begin_write().await?;
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
    db::vault::delete_for_owner(&mut *tx, scope, "connection", &connection_id.to_string()).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(connection = %connection_id, "provider clean-up finished");
    Ok(())
}

async fn noted_cleanup_failure(
    state: &AppState,
    connection: &Connection,
    error: JobError,
) -> JobError {
    let note = format!(
        "Disconnected here; cleaning up at {} failed and is retried: {error}",
        connection.provider.label()
    );
    if let Err(e) = note_on_connection(state, connection, Some(&note)).await {
        return e;
    }
    error
}

async fn revoke(state: &AppState, connection: &Connection) -> Result<(), JobError> {
    let scope = &connection.owner.tenant;
    let id_text = connection.id.to_string();
    let owner = |purpose| SecretOwner {
        kind: "connection",
        id: &id_text,
        purpose,
    };
    // Reconnected (or moved to another user) while the tokens were read:
    // they may be the new connection's, which must not be revoked.
    let stamp = || connections_repo::token_stamp(state.db.pool(), &connection.owner, connection.id);
    let Ok(before) = stamp().await else {
        return Ok(());
    };
    let refresh = state
        .vault
        .load(state.db.pool(), scope, owner("refresh_token"))
        .await?;
    let access = state
        .vault
        .load(state.db.pool(), scope, owner("access_token"))
        .await?;
    if !stamp()
        .await
        .is_ok_and(|after| after.version == before.version)
    {
        return Ok(());
    }
    let app = crate::server::oauth_apps::credentials(state, scope, connection.provider).await?;
    let (Some(token), Some((client_id, secret))) = (refresh.or(access), app) else {
        return Ok(());
    };
    accounts::revoke(
        &state.provider_http,
        connection.provider,
        state.config.endpoints.get(connection.provider),
        &client_id,
        &secret,
        &token,
    )
    .await
    .map_err(|e| JobError::Retry(format!("revoking the tokens failed: {e}")))
}

/// Queues the connection's sync (coalesced: one pending sync at a time).
pub async fn queue_sync(state: &AppState, connection: &Connection) -> Result<(), JobError> {
    state
        .jobs
        .enqueue(
            &state.db,
            &Enqueue::now(
                Some(&connection.owner.tenant),
                crate::server::jobs::kinds::SYNC,
                serde_json::json!({ "connection": connection.id }),
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
    backend: db::Backend,
    scope: &TenantScope,
    connection_id: crate::model::ConnectionId,
) -> Result<(), DbError> {
    repo::stop_all_for_connection(&mut **tx, scope, connection_id).await?;
    Queue::enqueue_in(
        tx,
        backend,
        &Enqueue::now(
            Some(scope),
            crate::server::jobs::kinds::CLEANUP,
            serde_json::json!({ "connection": connection_id }),
        )
        .coalesced(format!("cleanup:{connection_id}")),
    )
    .await?;
    Ok(())
}
