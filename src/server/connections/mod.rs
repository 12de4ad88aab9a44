//! Connecting calendars: the popup OAuth flow (state + PKCE bound to the
//! session that started it), the connection list, and disconnecting.

pub mod oauth_apps;
pub mod routes;
pub mod subscriptions;
pub mod tokens;
pub mod write_target;

use crate::model::AuditAction;
use crate::model::{CalendarId, ConflictPolicy, Flash};
use crate::model::{
    CalendarView, ConnectionId, ConnectionState, ConnectionView, Provider, SubscriptionState,
    SubscriptionSummary, TenantConnectionView,
};
use crate::server::audit::{self, Actor, Target};
use crate::server::auth::{AdminCaller, Caller};
use crate::server::error::{AppError, AppResult};
use crate::server::jobs::{Enqueue, Job, Queue};
use crate::server::platform::clock::Clock;
use crate::server::platform::config::Config;
use crate::server::platform::db::appointments as appointments_repo;
use crate::server::platform::db::connection_calendars;
use crate::server::platform::db::connections::{self as repo, LinkedAccount};
use crate::server::platform::db::jobs as jobs_repo;
use crate::server::platform::db::meetings as meetings_repo;
use crate::server::platform::db::oauth_states;
use crate::server::platform::db::subscriptions as subscriptions_repo;
use crate::server::platform::db::Db;
use crate::server::platform::db::{self, DbError, TenantScope, UserScope};
use crate::server::platform::vault::crypto::{random_token, token_hash};
use crate::server::platform::vault::Vault;
use crate::server::platform::vault::{Holder, Secret};
use crate::server::providers;
use crate::server::providers::ProviderHttp;
use oauth_apps::OAuthApps;
use routes::CalendlyRoutes;
use std::sync::Arc;
use tokens::CallError;
use tokens::TokenManager;

/// What the connection services use: storage and the vault, provider calls
/// with the connection's tokens, and the queue for the work that follows.
#[derive(Clone)]
pub struct Connections {
    pub db: Db,
    pub vault: Arc<Vault>,
    pub config: Arc<Config>,
    pub provider_http: ProviderHttp,
    pub clock: Arc<Clock>,
    pub tokens: Arc<TokenManager>,
    pub jobs: Arc<Queue>,
    pub calendly_routes: Arc<CalendlyRoutes>,
    pub apps: OAuthApps,
}

const STATE_TTL_MS: i64 = 10 * 60 * 1000;

fn setup_job(scope: &TenantScope, id: ConnectionId) -> Enqueue {
    Enqueue::now(Some(scope), Job::SetUpConnection { connection: id })
        .coalesced(format!("setup:{id}"))
}

/// How a connect attempt ended, for the callback page.
#[derive(Debug)]
pub enum ConnectOutcome {
    Connected {
        email: String,
    },
    /// The state was missing, forged, expired, used, or from another session:
    /// nothing was stored.
    InvalidState,
    /// The provider sent the user back with an error (e.g. access denied).
    ProviderError {
        flash: Flash,
        reason: String,
    },
    /// The account is linked to another calbridge user.
    Taken,
    Failed {
        reason: String,
    },
}

/// Creates a single-use state and returns the provider's authorize URL.
#[tracing::instrument(skip_all, fields(tenant = %caller.scope().tenant_id(), user = %caller.user.user_id(), provider = provider.as_str()))]
pub async fn start(ctx: &Connections, caller: &Caller, provider: Provider) -> AppResult<String> {
    let scope = caller.scope();
    let (client_id, secret) = oauth_apps::credentials(&ctx.apps, scope, provider)
        .await?
        .ok_or(AppError::Invalid(Flash::AppMissing))?;
    let token = random_token();
    let hash = token_hash(&token);
    let endpoints = ctx.provider_http.endpoints(provider);
    let (url, verifier) = providers::oauth::authorize_url(
        provider,
        endpoints,
        &client_id,
        &secret,
        &ctx.config.redirect_uri(provider),
        &token,
    )
    .map_err(AppError::internal)?;
    let mut tx = ctx.db.begin_write().await?;
    oauth_states::insert_state(
        &mut *tx,
        &caller.user,
        oauth_states::NewState {
            state_hash: &hash,
            session_hash: &caller.session_hash,
            provider,
            scopes: &providers::api(provider).scopes().join(" "),
            opener_origin: Some(&ctx.config.public_origin()),
            expires_at: db::now_ms() + STATE_TTL_MS,
        },
    )
    .await?;
    ctx.vault
        .store(
            &mut tx,
            scope,
            &Secret::PkceVerifier(hash.clone()),
            verifier.expose(),
        )
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(url)
}

pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Completes a connect attempt. Only the session that started it can finish it.
#[tracing::instrument(skip_all, fields(tenant = %caller.scope().tenant_id(), user = %caller.user.user_id(), provider = provider.as_str()))]
pub async fn callback(
    ctx: &Connections,
    caller: &Caller,
    provider: Provider,
    params: CallbackParams,
) -> AppResult<ConnectOutcome> {
    let Some(raw_state) = params.state.filter(|s| !s.is_empty()) else {
        return Ok(ConnectOutcome::InvalidState);
    };
    let hash = token_hash(&raw_state);
    let scope = caller.scope();
    let taken = oauth_states::take_state(
        ctx.db.pool(),
        &caller.user,
        &hash,
        &caller.session_hash,
        provider,
        db::now_ms(),
    )
    .await?;
    if !taken {
        return Ok(ConnectOutcome::InvalidState);
    }
    let verifier = ctx
        .vault
        .load(ctx.db.pool(), scope, &Secret::PkceVerifier(hash.clone()))
        .await?;
    ctx.vault
        .forget_all(ctx.db.pool(), scope, &Holder::OAuthState(hash.clone()))
        .await?;
    if let Some(error) = params.error {
        let reason = match params.error_description {
            Some(d) => format!("{error}: {d}"),
            None => error.clone(),
        };
        let flash = if error == "access_denied" {
            Flash::ConnectDenied
        } else {
            Flash::ConnectFailed
        };
        return Ok(ConnectOutcome::ProviderError { flash, reason });
    }
    let (Some(code), Some(verifier)) = (params.code, verifier) else {
        return Ok(ConnectOutcome::InvalidState);
    };
    let (client_id, secret) = oauth_apps::credentials(&ctx.apps, scope, provider)
        .await?
        .ok_or(AppError::Invalid(Flash::AppMissing))?;
    let endpoints = ctx.provider_http.endpoints(provider);
    let tokens = match providers::oauth::exchange_code(
        &ctx.provider_http,
        provider,
        endpoints,
        &client_id,
        &secret,
        &ctx.config.redirect_uri(provider),
        &code,
        &verifier,
    )
    .await
    {
        Ok(t) => t,
        Err(reason) => return Ok(ConnectOutcome::Failed { reason }),
    };
    let account = match providers::api(provider)
        .account(&ctx.provider_http, &tokens.access_token)
        .await
    {
        Ok(a) => a,
        Err(e) => {
            return Ok(ConnectOutcome::Failed {
                reason: e.to_string(),
            })
        }
    };
    let expires_at = tokens
        .expires_in
        .map(|d| db::now_ms() + d.as_millis() as i64);
    let linked = LinkedAccount {
        provider,
        provider_account_id: &account.id,
        account_email: &account.email,
        account_name: &account.name,
        organization: account.organization.as_deref(),
        token_expires_at: expires_at,
    };
    let mut tx = ctx.db.begin_write().await?;
    let (id, action) = match repo::find_by_account(&mut *tx, provider, &account.id).await? {
        Some(existing)
            if existing.owner != caller.user && existing.state != ConnectionState::Disconnected =>
        {
            return Ok(ConnectOutcome::Taken);
        }
        Some(existing) => {
            let action = if existing.owner != caller.user {
                hand_over(ctx, &mut tx, &existing.owner, caller, existing.id).await?;
                AuditAction::ConnectionTakenOver
            } else {
                AuditAction::ConnectionReconnected
            };
            repo::reconnect(&mut *tx, &caller.user, existing.id, &linked).await?;
            (existing.id, action)
        }
        None => (
            repo::insert(&mut *tx, &caller.user, &linked).await?,
            AuditAction::ConnectionConnected,
        ),
    };
    audit::record(
        &mut *tx,
        scope,
        Actor::of(caller),
        action,
        Target::named(&id.to_string(), &account.email),
        provider.label(),
    )
    .await?;
    ctx.vault
        .store(
            &mut tx,
            scope,
            &Secret::AccessToken(id),
            tokens.access_token.expose(),
        )
        .await?;
    match &tokens.refresh_token {
        Some(rt) => {
            ctx.vault
                .store(&mut tx, scope, &Secret::RefreshToken(id), rt.expose())
                .await?
        }
        None => {
            ctx.vault
                .forget(&mut *tx, scope, &Secret::RefreshToken(id))
                .await?;
        }
    }
    // Subscriptions and the first import happen in the background.
    Queue::enqueue_in(&mut tx, &setup_job(scope, id)).await?;
    tx.commit().await.map_err(DbError::from)?;
    ctx.jobs.wake();
    tracing::info!(provider = provider.as_str(), connection = %id, "calendar connected");
    Ok(ConnectOutcome::Connected {
        email: account.email,
    })
}

/// A disconnected provider account connected again by someone else: in the
/// same transaction as the move, the old owner's copy of its data goes
/// (tokens, meetings, calendars, sync cursors, queued jobs), and what is
/// still live at the provider is handed over to be deleted with the new
/// tokens. The new owner's set-up job imports everything afresh.
async fn hand_over(
    ctx: &Connections,
    tx: &mut db::Tx,
    from: &UserScope,
    caller: &Caller,
    id: ConnectionId,
) -> AppResult<()> {
    let to = &caller.user;
    if from.tenant != to.tenant {
        // The team it leaves hears of it too.
        audit::record(
            &mut **tx,
            &from.tenant,
            Actor::System,
            AuditAction::ConnectionTakenOver,
            Target::named(&id.to_string(), "a disconnected calendar account"),
            "connected again by a person of another team; this team's copy is gone",
        )
        .await?;
    }
    ctx.vault
        .forget_all(&mut **tx, &from.tenant, &Holder::Connection(id))
        .await?;
    meetings_repo::delete_for_connection(&mut **tx, &from.tenant, id).await?;
    connection_calendars::forget_sync_state(tx, &from.tenant, id).await?;
    jobs_repo::drop_queued_for_connection(&mut **tx, &from.tenant, id).await?;
    subscriptions_repo::hand_over(tx, &from.tenant, &to.tenant, id).await?;
    subscriptions::stop_in(tx, &to.tenant, id).await?;
    tracing::info!(connection = %id, "provider account moved to another user; the old owner's copy is gone");
    Ok(())
}

pub async fn list(ctx: &Connections, caller: &Caller) -> AppResult<Vec<ConnectionView>> {
    let mut views = Vec::new();
    for c in repo::list_for_user(ctx.db.pool(), &caller.user).await? {
        views.push(view(ctx, c).await?);
    }
    Ok(views)
}

/// Revokes the tokens at the provider, forgets them and marks the
/// connection disconnected (its history stays). A provider that cannot be
/// reached does not block disconnecting here.
pub async fn disconnect(ctx: &Connections, caller: &Caller, id: ConnectionId) -> AppResult<()> {
    disconnect_owned(ctx, Actor::of(caller), &caller.user, id).await
}

/// Disconnects every connection of `owner` and finishes the clean-up at
/// each provider now (removing a member): deletes the subscriptions,
/// revokes the tokens and forgets them. A provider that cannot be reached
/// stops the removal with `provider_unreachable`, so nothing stays live
/// there unnoticed. Returns the connections' ids.
pub async fn disconnect_all(
    ctx: &Connections,
    actor: Actor<'_>,
    owner: &UserScope,
) -> AppResult<Vec<ConnectionId>> {
    let mut ids = Vec::new();
    for connection in repo::list_for_user(ctx.db.pool(), owner).await? {
        if connection.state != ConnectionState::Disconnected {
            disconnect_owned(ctx, actor, owner, connection.id).await?;
        }
        match subscriptions::cleanup(ctx, &owner.tenant, connection.id).await {
            Ok(()) => ids.push(connection.id),
            Err(e) => {
                tracing::warn!(connection = %connection.id, error = %e, "clean-up at the provider failed");
                return Err(AppError::Invalid(Flash::ProviderUnreachable));
            }
        }
    }
    Ok(ids)
}

#[tracing::instrument(skip_all, fields(tenant = %owner.tenant.tenant_id(), user = %owner.user_id(), connection = %id))]
async fn disconnect_owned(
    ctx: &Connections,
    actor: Actor<'_>,
    owner: &UserScope,
    id: ConnectionId,
) -> AppResult<()> {
    let scope = &owner.tenant;
    let connection = repo::get_for_user(ctx.db.pool(), owner, id).await?;
    let mut tx = ctx.db.begin_write().await?;
    repo::set_state(&mut *tx, owner, id, ConnectionState::Disconnected, None).await?;
    subscriptions::stop_in(&mut tx, scope, id).await?;
    audit::record(
        &mut *tx,
        scope,
        actor,
        AuditAction::ConnectionDisconnected,
        Target::named(&id.to_string(), &connection.account_email),
        connection.provider.label(),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    ctx.calendly_routes.forget_all();
    ctx.jobs.wake();
    Ok(())
}

async fn view(ctx: &Connections, c: repo::Connection) -> AppResult<ConnectionView> {
    let scope = &c.owner.tenant;
    let subs = subscriptions_repo::current_for_connection(ctx.db.pool(), scope, c.id).await?;
    let live = |s: &&subscriptions_repo::Subscription| s.state != SubscriptionState::Stopping;
    let subscription = SubscriptionSummary {
        active: subs
            .iter()
            .filter(|s| s.state == SubscriptionState::Active)
            .count(),
        failed: subs
            .iter()
            .filter(|s| s.state == SubscriptionState::Failed)
            .count(),
        next_renewal_at: subs
            .iter()
            .filter(live)
            .filter_map(|s| s.renew_at)
            .min()
            .map(db::ms_to_rfc3339),
        last_error: subs.iter().filter(live).find_map(|s| s.last_error.clone()),
    };
    let calendars = connection_calendars::calendars(ctx.db.pool(), scope, c.id)
        .await?
        .into_iter()
        .map(|cal| CalendarView {
            booking_target: c.booking_calendar_id.as_deref() == Some(cal.calendar_id.as_str())
                || (c.booking_calendar_id.is_none() && cal.primary),
            id: CalendarId(cal.calendar_id),
            name: cal.name,
            primary: cal.primary,
            writable: cal.writable,
            busy: cal.busy,
        })
        .collect();
    Ok(ConnectionView {
        id: c.id,
        provider: c.provider,
        account_email: c.account_email,
        account_name: c.account_name,
        state: c.state,
        connected_at: db::ms_to_rfc3339(c.connected_at),
        last_sync_at: c.last_sync_at.map(db::ms_to_rfc3339),
        token_expires_at: c.token_expires_at.map(db::ms_to_rfc3339),
        last_error: c.last_error,
        sync_mode: c.sync_mode,
        subscription,
        calendars,
        conflict_policy: c.conflict_policy,
    })
}

/// Every connection of the admin's tenant.
pub async fn tenant_list(
    ctx: &Connections,
    admin: &AdminCaller,
    provider: Option<Provider>,
    connection_state: Option<ConnectionState>,
) -> AppResult<Vec<TenantConnectionView>> {
    let mut views = Vec::new();
    for (c, user_name, user_email) in
        repo::list_for_tenant(ctx.db.pool(), admin.0.scope(), provider, connection_state).await?
    {
        views.push(TenantConnectionView {
            connection: view(ctx, c).await?,
            user_name,
            user_email,
        });
    }
    Ok(views)
}

pub async fn admin_disconnect(
    ctx: &Connections,
    admin: &AdminCaller,
    id: ConnectionId,
) -> AppResult<()> {
    let connection = repo::get_in_tenant(ctx.db.pool(), admin.0.scope(), id).await?;
    disconnect_owned(ctx, Actor::of(&admin.0), &connection.owner, id).await
}

/// Refreshes the tokens now; `false` when the provider refused.
#[tracing::instrument(skip_all, fields(tenant = %admin.0.scope().tenant_id(), connection = %id))]
pub async fn admin_refresh(
    ctx: &Connections,
    admin: &AdminCaller,
    id: ConnectionId,
) -> AppResult<bool> {
    let connection = repo::get_in_tenant(ctx.db.pool(), admin.0.scope(), id).await?;
    match ctx.tokens.refresh_now(&connection.owner, id).await {
        Ok(()) => Ok(true),
        Err(AppError::Invalid(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A cheap authenticated call (the account lookup) with a valid token.
pub async fn test(ctx: &Connections, caller: &Caller, id: ConnectionId) -> AppResult<bool> {
    let connection = repo::get_for_user(ctx.db.pool(), &caller.user, id).await?;
    let http = &ctx.provider_http;
    let provider_api = providers::api(connection.provider);
    let result = ctx
        .tokens
        .call(&caller.user, id, false, |token| async move {
            provider_api.account(http, &token).await
        })
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(CallError::Token(AppError::Invalid(_))) => Ok(false),
        Err(CallError::Token(e)) => Err(e),
        Err(CallError::Provider(e)) => {
            repo::set_note(
                ctx.db.pool(),
                &caller.user,
                id,
                connection.state,
                Some(&e.to_string()),
            )
            .await?;
            Ok(false)
        }
    }
}

/// Saves which calendars count as busy and which receives new bookings,
/// then adjusts the watch channels to match.
#[tracing::instrument(skip_all, fields(tenant = %caller.scope().tenant_id(), connection = %id))]
pub async fn save_calendars(
    ctx: &Connections,
    caller: &Caller,
    id: ConnectionId,
    busy: &[CalendarId],
    booking_calendar_id: Option<&CalendarId>,
) -> AppResult<()> {
    let connection = repo::get_for_user(ctx.db.pool(), &caller.user, id).await?;
    let known = connection_calendars::calendars(ctx.db.pool(), caller.scope(), id).await?;
    let is_known = |cal: &CalendarId| known.iter().any(|k| k.calendar_id == cal.as_str());
    if !busy.iter().all(is_known) {
        return Err(AppError::Invalid(Flash::UnknownCalendar));
    }
    if let Some(target) = booking_calendar_id {
        if !known
            .iter()
            .any(|k| k.calendar_id == target.as_str() && k.writable)
        {
            return Err(AppError::Invalid(Flash::UnknownCalendar));
        }
    }
    let mut tx = ctx.db.begin_write().await?;
    connection_calendars::save_calendar_choice(
        &mut tx,
        &caller.user,
        id,
        busy,
        booking_calendar_id,
    )
    .await?;
    Queue::enqueue_in(&mut tx, &setup_job(caller.scope(), connection.id)).await?;
    tx.commit().await.map_err(DbError::from)?;
    ctx.jobs.wake();
    Ok(())
}

/// Sets what two-way sync does with the connection's appointments when
/// both sides changed; only calendars calbridge writes to have any.
pub async fn set_conflict_policy(
    ctx: &Connections,
    caller: &Caller,
    id: ConnectionId,
    policy: ConflictPolicy,
) -> AppResult<()> {
    let connection = repo::get_for_user(ctx.db.pool(), &caller.user, id).await?;
    if providers::api(connection.provider).calendars().is_none() {
        return Err(AppError::Invalid(Flash::NoAppointmentsHere));
    }
    let mut writer = ctx.db.writer().await?;
    appointments_repo::set_conflict_policy(&mut *writer, &caller.user, id, policy).await?;
    Ok(())
}

/// For the callback page: success, a flash and a short, safe message.
pub fn describe(outcome: &ConnectOutcome, provider: Provider) -> (bool, Flash, String) {
    match outcome {
        ConnectOutcome::Connected { email } => (true, Flash::Connected, format!("{} connected as {email}.", provider.label())),
        ConnectOutcome::InvalidState => (
            false,
            Flash::ConnectFailed,
            "This connection attempt is invalid or has expired. Start again from Settings → Calendars.".into(),
        ),
        ConnectOutcome::ProviderError { flash, reason } => (false, *flash, format!("{} said: {reason}", provider.label())),
        ConnectOutcome::Taken => (
            false,
            Flash::ConnectTaken,
            format!("This {} account is already connected by another calbridge user.", provider.label()),
        ),
        ConnectOutcome::Failed { reason } => (false, Flash::ConnectFailed, format!("{} could not be connected: {reason}", provider.label())),
    }
}
