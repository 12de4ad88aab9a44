//! The one place that hands out a valid access token per connection.
//!
//! Calendly refresh tokens are single use: two refreshes racing with the
//! same token break the connection. So refreshes are serialized per
//! connection twice over: an in-process single-flight lock (many tasks, one
//! refresh) and a lease on the connection row (many instances, one
//! refresh), with the token stamp re-read after each. No transaction is
//! open during the provider call. The new refresh token is stored before the
//! new access token is used, and `invalid_grant` is only believed after
//! re-reading the row (another instance may have won the race).

use crate::model::Flash;
use crate::model::{ConnectionId, ConnectionState};
use crate::server::connections::oauth_apps;
use crate::server::connections::oauth_apps::OAuthApps;
use crate::server::error::{AppError, AppResult};
use crate::server::platform::db::connections as repo;
use crate::server::platform::db::Db;
use crate::server::platform::db::{self, DbError, UserScope};
use crate::server::platform::keyed_lock::KeyedLocks;
use crate::server::platform::vault::crypto::SecretString;
use crate::server::platform::vault::Secret;
use crate::server::platform::vault::Vault;
use crate::server::providers::client::ProviderError;
use crate::server::providers::oauth::{self, RefreshError};
use crate::server::providers::ProviderHttp;
use std::sync::Arc;

/// Refresh this long before the provider's expiry.
const REFRESH_AHEAD_MS: i64 = 5 * 60 * 1000;

/// How long a refresh lease holds: beyond the token call's 15 s timeout, so
/// a lease only lapses when its holder died.
const LEASE: std::time::Duration = std::time::Duration::from_secs(30);
/// How often an instance waiting for another's refresh looks again.
const LEASE_POLL: std::time::Duration = std::time::Duration::from_millis(100);

pub const RECONNECT_NEEDED: &str =
    "Reconnect needed: the provider no longer accepts calbridge's tokens.";

/// A provider call made with a connection's token failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No usable token (reconnect needed, connection gone, …).
    #[error(transparent)]
    Token(AppError),
    #[error(transparent)]
    Provider(ProviderError),
}

pub struct TokenManager {
    db: Db,
    vault: Arc<Vault>,
    provider_http: ProviderHttp,
    apps: OAuthApps,
    flights: KeyedLocks<ConnectionId>,
}

fn fresh(expires_at: Option<i64>) -> bool {
    expires_at.is_none_or(|e| e - REFRESH_AHEAD_MS > db::now_ms())
}

impl TokenManager {
    pub fn new(db: Db, vault: Arc<Vault>, provider_http: ProviderHttp, apps: OAuthApps) -> Self {
        TokenManager {
            db,
            vault,
            provider_http,
            apps,
            flights: KeyedLocks::default(),
        }
    }

    async fn stored_access(&self, owner: &UserScope, id: ConnectionId) -> AppResult<SecretString> {
        self.vault
            .load(self.db.pool(), &owner.tenant, &Secret::AccessToken(id))
            .await?
            .ok_or(AppError::Invalid(Flash::ConnectFailed))
    }

    /// A valid access token for the connection, refreshing it if needed.
    pub async fn access_token(
        &self,
        owner: &UserScope,
        id: ConnectionId,
    ) -> AppResult<SecretString> {
        self.token(owner, id, false).await
    }

    async fn token(
        &self,
        owner: &UserScope,
        id: ConnectionId,
        cleanup: bool,
    ) -> AppResult<SecretString> {
        let connection = repo::get_for_user(self.db.pool(), owner, id).await?;
        let usable = connection.state == ConnectionState::Connected
            || (cleanup && connection.state == ConnectionState::Disconnected);
        if !usable {
            return Err(AppError::Invalid(Flash::ConnectFailed));
        }
        if fresh(connection.token_expires_at) {
            return self.stored_access(owner, id).await;
        }
        let _one_at_a_time = self.flights.lock(id).await;
        // Someone in this process may have refreshed while we waited.
        let current = repo::get_for_user(self.db.pool(), owner, id).await?;
        if fresh(current.token_expires_at) {
            return self.stored_access(owner, id).await;
        }
        self.refresh(owner, id, &connection, false).await
    }

    /// Runs a provider call with a valid token; when the provider still
    /// answers 401 (revoked early, clock skew), refreshes once and retries.
    pub async fn call<T, F, Fut>(
        &self,
        owner: &UserScope,
        id: ConnectionId,
        cleanup: bool,
        request: F,
    ) -> Result<T, CallError>
    where
        F: Fn(SecretString) -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        let token = self
            .token(owner, id, cleanup)
            .await
            .map_err(CallError::Token)?;
        let used = token.expose().to_owned();
        match request(token).await {
            Err(ProviderError::Unauthorized(_)) => {
                let token = self
                    .replace_rejected(owner, id, &used)
                    .await
                    .map_err(CallError::Token)?;
                request(token).await.map_err(CallError::Provider)
            }
            other => other.map_err(CallError::Provider),
        }
    }

    /// After a 401 on `rejected`: one refresh per connection however many
    /// calls were refused at once. Whoever finds the stored token already
    /// replaced uses the new one.
    async fn replace_rejected(
        &self,
        owner: &UserScope,
        id: ConnectionId,
        rejected: &str,
    ) -> AppResult<SecretString> {
        let _one_at_a_time = self.flights.lock(id).await;
        let stored = self.stored_access(owner, id).await?;
        if stored.expose() != rejected {
            return Ok(stored);
        }
        let connection = repo::get_for_user(self.db.pool(), owner, id).await?;
        self.refresh(owner, id, &connection, true).await
    }

    /// Refreshes now, whatever the expiry (admin "force refresh").
    pub async fn refresh_now(&self, owner: &UserScope, id: ConnectionId) -> AppResult<()> {
        let connection = repo::get_for_user(self.db.pool(), owner, id).await?;
        let _one_at_a_time = self.flights.lock(id).await;
        self.refresh(owner, id, &connection, true).await.map(|_| ())
    }

    /// One refresh with the provider. The token call runs outside any
    /// transaction (and, on SQLite, outside the write gate), so logins,
    /// webhook ingest and job claims never wait for a slow provider.
    /// Instances exclude each other with a short lease on the connection
    /// row; the result is stored by compare-and-set on `token_version`.
    #[tracing::instrument(skip_all, fields(tenant = %owner.tenant.tenant_id(), connection = %id, provider = connection.provider.as_str()))]
    async fn refresh(
        &self,
        owner: &UserScope,
        id: ConnectionId,
        connection: &repo::Connection,
        force: bool,
    ) -> AppResult<SecretString> {
        let scope = &owner.tenant;
        let (client_id, secret) = oauth_apps::credentials(&self.apps, scope, connection.provider)
            .await?
            .ok_or(AppError::Invalid(Flash::AppMissing))?;
        let holder = uuid::Uuid::now_v7().to_string();
        let Some(seen) = self.take_lease(owner, id, &holder, force).await? else {
            // Refreshed by someone else while we waited for the lease.
            return self.stored_access(owner, id).await;
        };
        let release = || async {
            repo::release_refresh_lease(&mut *self.db.writer().await?, owner, id, &holder).await
        };
        let refresh = match self
            .vault
            .load(self.db.pool(), scope, &Secret::RefreshToken(id))
            .await
        {
            Ok(Some(token)) => token,
            other => {
                release().await?;
                other?;
                return Err(AppError::Invalid(Flash::ConnectFailed));
            }
        };
        let result = oauth::refresh_token(
            &self.provider_http,
            connection.provider,
            self.provider_http.endpoints(connection.provider),
            &client_id,
            &secret,
            &self.apps.config.redirect_uri(connection.provider),
            &refresh,
        )
        .await;
        match result {
            Ok(tokens) => {
                let expires_at = tokens
                    .expires_in
                    .map(|d| db::now_ms() + d.as_millis() as i64);
                let mut tx = self.db.begin_write().await?;
                if !repo::record_refresh(&mut *tx, owner, id, seen.version, expires_at).await? {
                    // Newer tokens were stored meanwhile (reconnected): they stay.
                    tx.rollback().await.map_err(DbError::from)?;
                    release().await?;
                    return self.stored_access(owner, id).await;
                }
                // The rotated refresh token is stored before the access token is used.
                if let Some(rotated) = &tokens.refresh_token {
                    self.vault
                        .store(&mut tx, scope, &Secret::RefreshToken(id), rotated.expose())
                        .await?;
                }
                self.vault
                    .store(
                        &mut tx,
                        scope,
                        &Secret::AccessToken(id),
                        tokens.access_token.expose(),
                    )
                    .await?;
                tx.commit().await.map_err(DbError::from)?;
                tracing::info!(connection = %id, provider = connection.provider.as_str(), "access token refreshed");
                Ok(tokens.access_token)
            }
            Err(RefreshError::InvalidGrant(reason)) => {
                release().await?;
                // Believe it only if nobody refreshed in the meantime.
                if repo::token_stamp(self.db.pool(), owner, id).await?.version != seen.version {
                    return self.stored_access(owner, id).await;
                }
                let current = repo::get_for_user(self.db.pool(), owner, id).await?;
                if current.state != ConnectionState::Connected {
                    return Err(AppError::Invalid(Flash::ConnectFailed));
                }
                repo::set_state(
                    self.db.pool(),
                    owner,
                    id,
                    ConnectionState::Error,
                    Some(RECONNECT_NEEDED),
                )
                .await?;
                metrics::counter!("token_refresh_failures_total", "provider" => connection.provider.as_str()).increment(1);
                tracing::warn!(connection = %id, %reason, "refresh token refused; reconnect needed");
                Err(AppError::Invalid(Flash::ConnectFailed))
            }
            Err(RefreshError::Other(reason)) => {
                release().await?;
                metrics::counter!("token_refresh_failures_total", "provider" => connection.provider.as_str()).increment(1);
                Err(AppError::internal(format!(
                    "token refresh failed: {reason}"
                )))
            }
        }
    }

    /// Waits for the connection's refresh lease. `None` when, meanwhile,
    /// another instance stored fresh tokens (or, unforced, they are still
    /// fresh): nothing left to do. Otherwise the token stamp the refresh
    /// must still find when it stores its result.
    async fn take_lease(
        &self,
        owner: &UserScope,
        id: ConnectionId,
        holder: &str,
        force: bool,
    ) -> AppResult<Option<repo::TokenStamp>> {
        let first = repo::token_stamp(self.db.pool(), owner, id).await?;
        let give_up = std::time::Instant::now() + LEASE + LEASE;
        loop {
            let until = db::now_ms() + LEASE.as_millis() as i64;
            let taken =
                repo::take_refresh_lease(&mut *self.db.writer().await?, owner, id, holder, until)
                    .await?;
            let now = repo::token_stamp(self.db.pool(), owner, id).await?;
            let done_elsewhere = now.version != first.version || (!force && fresh(now.expires_at));
            if done_elsewhere {
                if taken {
                    repo::release_refresh_lease(&mut *self.db.writer().await?, owner, id, holder)
                        .await?;
                }
                return Ok(None);
            }
            if taken {
                return Ok(Some(now));
            }
            if std::time::Instant::now() > give_up {
                return Err(AppError::internal(
                    "another instance's token refresh did not finish",
                ));
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
    }
}
