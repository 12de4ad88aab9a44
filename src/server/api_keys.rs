//! API keys for machines and AI agents: created by an admin (or an operator
//! on the command line), shown once, stored as a SHA-256 hash, scoped to
//! one tenant, revocable. A request proves itself with `Authorization:
//! Bearer <key>`.

use crate::model::AuditAction;
use crate::model::{
    ApiKeyId, ApiKeyView, ApiKeysPage, ApiScope, CreatedApiKey, Flash, Role, UserId,
};
use crate::server::audit::{self, Actor, Target};
use crate::server::auth::AdminCaller;
use crate::server::error::{AppError, AppResult};
use crate::server::platform::clock::Clock;
use crate::server::platform::db::api_keys::{self as repo, ActiveKey, NewApiKey};
use crate::server::platform::db::{self, users, Db, DbError, TenantScope};
use crate::server::platform::vault::crypto::{random_token, token_hash};
use crate::server::platform::vault::{Holder, Secret, Vault, API_KEY_REVEAL_MS};
use crate::server::validate::{normalize_email, one_line_name};
use std::sync::Arc;

/// Every key starts so, which lets secret scanners and people recognise it.
const KEY_PREFIX: &str = "cbk_";
/// How many characters of a key the admin page shows.
const SHOWN_PREFIX: usize = 10;
/// Requests a key may make a minute unless its creator chose otherwise.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: i64 = 120;
/// The most a key may be given (an internal high-volume integration, a
/// load generator).
pub const MAX_RATE_LIMIT_PER_MINUTE: i64 = 1_000_000;

/// `last_used_at` is written at most this often per key, so busy keys do
/// not turn every read into a write.
const TOUCH_EVERY_MS: i64 = 60_000;

#[derive(Clone)]
pub struct ApiKeys {
    pub db: Db,
    pub vault: Arc<Vault>,
    pub clock: Arc<Clock>,
}

/// The key a request presented, once checked: its tenant and scopes.
#[derive(Clone, Debug)]
pub struct KeyCaller {
    pub id: ApiKeyId,
    /// What its creator called it.
    pub name: String,
    pub tenant: TenantScope,
    pub scopes: Vec<ApiScope>,
    /// Requests it may make a minute.
    pub rate_limit_per_minute: i64,
}

impl KeyCaller {
    pub fn may(&self, scope: ApiScope) -> bool {
        self.scopes.contains(&scope)
    }
}

fn check_name(name: &str) -> AppResult<&str> {
    one_line_name(name, 100).ok_or(AppError::Invalid(Flash::InvalidApiKeyName))
}

fn check_scopes(scopes: &[ApiScope]) -> AppResult<Vec<ApiScope>> {
    let chosen: Vec<ApiScope> = ApiScope::ALL
        .into_iter()
        .filter(|s| scopes.contains(s))
        .collect();
    if chosen.is_empty() {
        return Err(AppError::Invalid(Flash::InvalidScopes));
    }
    Ok(chosen)
}

fn check_rate_limit(per_minute: Option<i64>) -> AppResult<i64> {
    let per_minute = per_minute.unwrap_or(DEFAULT_RATE_LIMIT_PER_MINUTE);
    if (1..=MAX_RATE_LIMIT_PER_MINUTE).contains(&per_minute) {
        Ok(per_minute)
    } else {
        Err(AppError::Invalid(Flash::InvalidRateLimit))
    }
}

/// What a new key is called, may do, and how often.
pub struct NewKey<'a> {
    pub name: &'a str,
    pub scopes: &'a [ApiScope],
    /// Requests a minute; `None`: [`DEFAULT_RATE_LIMIT_PER_MINUTE`].
    pub rate_limit_per_minute: Option<i64>,
}

/// Creates a key in the tenant and returns it: the only time it is seen.
/// `created_by` answers for it (it is revoked when they stop being an
/// admin); `actor` made it (the creator, or the command line for them).
/// `reveal` keeps an encrypted copy for the creator's next page load.
pub async fn create(
    ctx: &ApiKeys,
    tenant: &TenantScope,
    created_by: Option<UserId>,
    actor: Actor<'_>,
    new: &NewKey<'_>,
    reveal: bool,
) -> AppResult<(ApiKeyId, String)> {
    let name = check_name(new.name)?;
    let scopes = check_scopes(new.scopes)?;
    let rate_limit_per_minute = check_rate_limit(new.rate_limit_per_minute)?;
    let key = format!("{KEY_PREFIX}{}", random_token());
    let id = ApiKeyId::generate();
    let mut tx = ctx.db.begin_write().await?;
    repo::insert(
        &mut *tx,
        tenant,
        &NewApiKey {
            id,
            name,
            scopes: &scopes,
            key_hash: &token_hash(&key),
            key_prefix: &key[..SHOWN_PREFIX],
            created_by,
            created_at: ctx.clock.now_ms(),
            rate_limit_per_minute,
        },
    )
    .await?;
    if reveal {
        ctx.vault
            .store(&mut tx, tenant, &Secret::ApiKeyReveal(id), &key)
            .await?;
    }
    let scope_names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    audit::record(
        &mut *tx,
        tenant,
        actor,
        AuditAction::ApiKeyCreated,
        Target::named(&id.to_string(), name),
        &format!(
            "{}; {rate_limit_per_minute} requests a minute",
            scope_names.join(" ")
        ),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(api_key = %id, "API key created");
    Ok((id, key))
}

/// The tenant's keys, and the key `created` once for the admin who just
/// made it (then it is forgotten).
pub async fn page(
    ctx: &ApiKeys,
    admin: &AdminCaller,
    created: Option<ApiKeyId>,
) -> AppResult<ApiKeysPage> {
    let scope = admin.0.scope();
    let keys = repo::list(ctx.db.pool(), scope).await?;
    let mut shown = None;
    if let Some(id) = created {
        let fresh = keys.iter().find(|k| {
            k.id == id
                && k.created_by.as_deref() == Some(admin.0.email.as_str())
                && ctx.clock.now_ms() - k.created_at < API_KEY_REVEAL_MS
        });
        if let Some(key) = fresh {
            let secret = Secret::ApiKeyReveal(id);
            if let Some(plain) = ctx.vault.load(ctx.db.pool(), scope, &secret).await? {
                let mut tx = ctx.db.begin_write().await?;
                ctx.vault.forget(&mut *tx, scope, &secret).await?;
                audit::record(
                    &mut *tx,
                    scope,
                    Actor::of(&admin.0),
                    AuditAction::ApiKeyRevealed,
                    Target::named(&id.to_string(), &key.name),
                    "shown once, then forgotten",
                )
                .await?;
                tx.commit().await.map_err(DbError::from)?;
                shown = Some(CreatedApiKey {
                    name: key.name.clone(),
                    key: plain.expose().to_owned(),
                });
            }
        }
    }
    Ok(ApiKeysPage {
        keys: keys
            .into_iter()
            .map(|k| ApiKeyView {
                id: k.id,
                name: k.name,
                scopes: k.scopes,
                prefix: k.prefix,
                created_by: k.created_by,
                created_at: db::ms_to_rfc3339(k.created_at),
                last_used_at: k.last_used_at.map(db::ms_to_rfc3339),
                revoked_at: k.revoked_at.map(db::ms_to_rfc3339),
                rate_limit_per_minute: k.rate_limit_per_minute,
            })
            .collect(),
        created: shown,
    })
}

pub async fn revoke(ctx: &ApiKeys, admin: &AdminCaller, id: ApiKeyId) -> AppResult<()> {
    let scope = admin.0.scope();
    let mut tx = ctx.db.begin_write().await?;
    let name = repo::revoke(&mut *tx, scope, id, ctx.clock.now_ms()).await?;
    ctx.vault
        .forget_all(&mut *tx, scope, &Holder::ApiKey(id))
        .await?;
    audit::record(
        &mut *tx,
        scope,
        Actor::of(&admin.0),
        AuditAction::ApiKeyRevoked,
        Target::named(&id.to_string(), &name),
        "",
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(api_key = %id, "API key revoked");
    Ok(())
}

/// The live key behind an `Authorization` header's bearer token.
pub async fn authenticate(ctx: &ApiKeys, bearer: &str) -> AppResult<Option<KeyCaller>> {
    if !bearer.starts_with(KEY_PREFIX) || bearer.len() > 200 {
        return Ok(None);
    }
    let Some(key) = repo::active_by_hash(ctx.db.pool(), &token_hash(bearer)).await? else {
        return Ok(None);
    };
    let now = ctx.clock.now_ms();
    if key.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY_MS) {
        touch_later(ctx, &key, now);
    }
    Ok(Some(KeyCaller {
        id: key.id,
        name: key.name.clone(),
        tenant: key.tenant,
        scopes: key.scopes,
        rate_limit_per_minute: key.rate_limit_per_minute,
    }))
}

/// Records the use off the request's path: a lost update only makes
/// "last used" a minute staler.
fn touch_later(ctx: &ApiKeys, key: &ActiveKey, now: i64) {
    let (db, tenant, id) = (ctx.db.clone(), key.tenant, key.id);
    tokio::spawn(async move {
        let touched = match db.writer().await {
            Ok(mut conn) => repo::touch(&mut *conn, &tenant, id, now).await,
            Err(e) => Err(e),
        };
        if let Err(e) = touched {
            tracing::warn!(api_key = %id, error = %e, "could not record the key's last use");
        }
    });
}

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("no admin with the email {0}")]
    NoSuchAdmin(String),
    #[error("admins with the email {0} exist in several teams; an admin of the right team can create the key at /admin/api-keys")]
    Ambiguous(String),
    #[error("{}", .0.public_message())]
    App(#[from] AppError),
}

/// For operators (`calbridge api-key create`): a key in the team of the
/// admin with this email.
pub async fn create_for_admin(
    ctx: &ApiKeys,
    admin_email: &str,
    new: &NewKey<'_>,
) -> Result<String, OperatorError> {
    let email = normalize_email(admin_email)?;
    let admins: Vec<_> = users::login_candidates(ctx.db.pool(), &email)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .filter(|u| u.role == Role::Admin)
        .collect();
    let admin = match admins.as_slice() {
        [] => return Err(OperatorError::NoSuchAdmin(email)),
        [one] => one,
        _ => return Err(OperatorError::Ambiguous(email)),
    };
    let (_, key) = create(
        ctx,
        &admin.tenant,
        Some(admin.id),
        Actor::Operator,
        new,
        false,
    )
    .await?;
    Ok(key)
}
