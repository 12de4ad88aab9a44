//! OAuth app credentials per provider: the instance default (environment or
//! sandbox) and a tenant's own override, with a check against the
//! provider's token endpoint.

use crate::model::AuditAction;
use crate::model::Flash;
use crate::model::{AppSource, OAuthAppState, OAuthAppView, Provider};
use crate::server::audit::{self, Actor, Target};
use crate::server::auth::AdminCaller;
use crate::server::error::{AppError, AppResult};
use crate::server::platform::config::{Config, InstanceApp};
use crate::server::platform::db::Db;
use crate::server::platform::db::{self, oauth_apps, DbError};
use crate::server::platform::vault::crypto::SecretString;
use crate::server::platform::vault::Vault;
use crate::server::platform::vault::{Holder, Secret};
use crate::server::providers::oauth::{check_credentials, CredentialCheck};
use crate::server::providers::ProviderHttp;
use crate::server::validate::one_line_name;
use std::sync::Arc;

/// The OAuth app credentials in effect, per tenant and provider.
#[derive(Clone)]
pub struct OAuthApps {
    pub db: Db,
    pub vault: Arc<Vault>,
    pub config: Arc<Config>,
    pub provider_http: ProviderHttp,
    /// Instance-wide apps: from the environment, or registered with the
    /// sandbox at start.
    pub instance_apps: Arc<Vec<InstanceApp>>,
}

/// One row per provider, as the admin page shows it.
pub async fn list(ctx: &OAuthApps, admin: &AdminCaller) -> AppResult<Vec<OAuthAppView>> {
    let own = oauth_apps::list(ctx.db.pool(), admin.0.scope()).await?;
    Ok(Provider::ALL
        .into_iter()
        .map(|provider| {
            let redirect_uri = ctx.config.redirect_uri(provider);
            if let Some(app) = own.iter().find(|a| a.provider == provider) {
                return OAuthAppView {
                    provider,
                    source: AppSource::Tenant,
                    name: app.name.clone(),
                    client_id: app.client_id.clone(),
                    client_secret: "***".into(),
                    redirect_uri,
                    state: app.state,
                    last_checked_at: app.last_checked_at.map(db::ms_to_rfc3339),
                    last_error: app.last_error.clone(),
                };
            }
            match ctx.instance_apps.iter().find(|a| a.provider == provider) {
                Some(instance) => OAuthAppView {
                    provider,
                    source: AppSource::Instance,
                    name: format!("{} (instance default)", provider.label()),
                    client_id: instance.client_id.clone(),
                    client_secret: "***".into(),
                    redirect_uri,
                    state: OAuthAppState::Configured,
                    last_checked_at: None,
                    last_error: None,
                },
                None => OAuthAppView {
                    provider,
                    source: AppSource::Missing,
                    name: String::new(),
                    client_id: String::new(),
                    client_secret: String::new(),
                    redirect_uri,
                    state: OAuthAppState::Disconnected,
                    last_checked_at: None,
                    last_error: None,
                },
            }
        })
        .collect())
}

pub struct AppForm {
    pub provider: Provider,
    pub name: String,
    pub client_id: String,
    /// Empty keeps the stored secret.
    pub client_secret: String,
}

/// Creates or updates the tenant's app for a provider.
pub async fn save(ctx: &OAuthApps, admin: &AdminCaller, form: AppForm) -> AppResult<()> {
    let name = one_line_name(&form.name, 100).ok_or(AppError::Invalid(Flash::InvalidAppName))?;
    let client_id = form.client_id.trim();
    if client_id.is_empty() || client_id.chars().count() > 255 {
        return Err(AppError::Invalid(Flash::InvalidClientId));
    }
    let secret = form.client_secret.trim();
    let scope = admin.0.scope();
    let mut tx = ctx.db.begin_write().await?;
    let existing = oauth_apps::list(&mut *tx, scope)
        .await?
        .into_iter()
        .find(|a| a.provider == form.provider);
    let existing_client_id = existing.as_ref().map(|app| app.client_id.clone());
    let id = match existing {
        Some(app) => {
            let changed = app.client_id != client_id || !secret.is_empty();
            oauth_apps::update(&mut *tx, scope, app.id, name, client_id, changed).await?;
            app.id
        }
        None if secret.is_empty() => return Err(AppError::Invalid(Flash::SecretRequired)),
        None => oauth_apps::insert(&mut *tx, scope, form.provider, name, client_id).await?,
    };
    if !secret.is_empty() {
        ctx.vault
            .store(&mut tx, scope, &Secret::OAuthClientSecret(id), secret)
            .await?;
    }
    let what = match (existing_client_id.as_deref(), secret.is_empty()) {
        (None, _) => "added".to_owned(),
        (Some(old), true) if old == client_id => "renamed".to_owned(),
        (Some(old), true) => format!("client id changed from {old}"),
        (Some(_), false) => "client id and secret replaced".to_owned(),
    };
    audit::record(
        &mut *tx,
        scope,
        Actor::of(&admin.0),
        AuditAction::OAuthAppChanged,
        Target::named(&id.to_string(), form.provider.label()),
        &format!("{what}; client id {client_id}"),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

/// Removes the tenant's own app; the instance default applies again.
pub async fn delete(ctx: &OAuthApps, admin: &AdminCaller, provider: Provider) -> AppResult<()> {
    let scope = admin.0.scope();
    let mut tx = ctx.db.begin_write().await?;
    let app = oauth_apps::list(&mut *tx, scope)
        .await?
        .into_iter()
        .find(|a| a.provider == provider)
        .ok_or(AppError::NotFound)?;
    ctx.vault
        .forget_all(&mut *tx, scope, &Holder::OAuthApp(app.id))
        .await?;
    oauth_apps::delete(&mut *tx, scope, app.id).await?;
    audit::record(
        &mut *tx,
        scope,
        Actor::of(&admin.0),
        AuditAction::OAuthAppRemoved,
        Target::named(&app.id.to_string(), provider.label()),
        "the instance's default applies again",
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

/// The client id and secret in effect for `provider`: the tenant's own app,
/// else the instance default.
pub async fn credentials(
    ctx: &OAuthApps,
    scope: &crate::server::platform::db::TenantScope,
    provider: Provider,
) -> AppResult<Option<(String, SecretString)>> {
    let own = oauth_apps::list(ctx.db.pool(), scope)
        .await?
        .into_iter()
        .find(|a| a.provider == provider);
    if let Some(app) = own {
        let secret = ctx
            .vault
            .load(ctx.db.pool(), scope, &Secret::OAuthClientSecret(app.id))
            .await?
            .ok_or_else(|| AppError::internal("stored OAuth app has no secret"))?;
        return Ok(Some((app.client_id, secret)));
    }
    Ok(ctx
        .instance_apps
        .iter()
        .find(|a| a.provider == provider)
        .map(|a| {
            (
                a.client_id.clone(),
                SecretString::new(a.client_secret.clone()),
            )
        }))
}

/// Checks the credentials in effect for `provider` with the provider itself,
/// and records the answer on the tenant's own app.
pub async fn test(
    ctx: &OAuthApps,
    admin: &AdminCaller,
    provider: Provider,
) -> AppResult<CredentialCheck> {
    let scope = admin.0.scope();
    let own = oauth_apps::list(ctx.db.pool(), scope)
        .await?
        .into_iter()
        .find(|a| a.provider == provider);
    let (client_id, secret) = credentials(ctx, scope, provider)
        .await?
        .ok_or(AppError::Invalid(Flash::AppMissing))?;
    let outcome = check_credentials(
        &ctx.provider_http,
        provider,
        ctx.provider_http.endpoints(provider),
        &client_id,
        &secret,
        &ctx.config.redirect_uri(provider),
    )
    .await;
    if let Some(app) = own {
        let (new_state, error) = match &outcome {
            CredentialCheck::Accepted => (OAuthAppState::Connected, None),
            CredentialCheck::Rejected(e) => (
                OAuthAppState::Error,
                Some(format!("{} refused the credentials: {e}", provider.label())),
            ),
            CredentialCheck::Unreachable(e) => (
                OAuthAppState::Error,
                Some(format!("{} could not be reached: {e}", provider.label())),
            ),
        };
        oauth_apps::record_check(ctx.db.pool(), scope, app.id, new_state, error.as_deref()).await?;
    }
    tracing::info!(
        provider = provider.as_str(),
        accepted = matches!(outcome, CredentialCheck::Accepted),
        "OAuth app checked"
    );
    Ok(outcome)
}
