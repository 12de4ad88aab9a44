//! API keys, looked up by the hash of the key a request presents.

use super::{parse_id, DbError, DbResult, TenantScope};
use crate::model::{ApiKeyId, ApiScope, UserId};
use sqlx::{Any, Executor, FromRow};

pub struct NewApiKey<'a> {
    pub id: ApiKeyId,
    pub name: &'a str,
    pub scopes: &'a [ApiScope],
    pub key_hash: &'a str,
    pub key_prefix: &'a str,
    pub created_by: Option<UserId>,
    pub created_at: i64,
    pub rate_limit_per_minute: i64,
}

fn scopes_text(scopes: &[ApiScope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The stored scopes, each once, in `ApiScope::ALL`'s order.
fn parse_scopes(text: &str) -> DbResult<Vec<ApiScope>> {
    let stored: Vec<ApiScope> = text
        .split_whitespace()
        .map(|s| s.parse().map_err(DbError::Corrupt))
        .collect::<DbResult<_>>()?;
    Ok(ApiScope::ALL
        .into_iter()
        .filter(|s| stored.contains(s))
        .collect())
}

pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    new: &NewApiKey<'_>,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, name, scopes, key_hash, key_prefix, created_by, created_at, \
         rate_limit_per_minute) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new.id.to_string())
    .bind(scope.tenant())
    .bind(new.name)
    .bind(scopes_text(new.scopes))
    .bind(new.key_hash)
    .bind(new.key_prefix)
    .bind(new.created_by.map(|u| u.to_string()))
    .bind(new.created_at)
    .bind(new.rate_limit_per_minute)
    .execute(ex)
    .await?;
    Ok(())
}

/// A key as listed (never the key itself).
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub scopes: Vec<ApiScope>,
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub rate_limit_per_minute: i64,
}

#[derive(FromRow)]
struct Row {
    id: String,
    name: String,
    scopes: String,
    key_prefix: String,
    created_by: Option<String>,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
    rate_limit_per_minute: i64,
}

pub async fn list<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
) -> DbResult<Vec<ApiKey>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT k.id, k.name, k.scopes, k.key_prefix, u.email AS created_by, k.created_at, \
         k.last_used_at, k.revoked_at, k.rate_limit_per_minute FROM api_keys k LEFT JOIN users u ON u.id = k.created_by \
         WHERE k.tenant_id = $1 ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC",
    )
    .bind(scope.tenant())
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(ApiKey {
                id: parse_id(&r.id)?,
                name: r.name,
                scopes: parse_scopes(&r.scopes)?,
                prefix: r.key_prefix,
                created_by: r.created_by,
                created_at: r.created_at,
                last_used_at: r.last_used_at,
                revoked_at: r.revoked_at,
                rate_limit_per_minute: r.rate_limit_per_minute,
            })
        })
        .collect()
}

/// The live key a request presented.
#[derive(Clone, Debug)]
pub struct ActiveKey {
    pub id: ApiKeyId,
    pub name: String,
    pub tenant: TenantScope,
    pub scopes: Vec<ApiScope>,
    pub last_used_at: Option<i64>,
    pub rate_limit_per_minute: i64,
}

#[derive(FromRow)]
struct ActiveRow {
    id: String,
    name: String,
    tenant_id: String,
    scopes: String,
    last_used_at: Option<i64>,
    rate_limit_per_minute: i64,
}

/// unscoped: the key itself says which tenant it acts for — the one
/// lookup that comes before any tenant is known. The unrevoked key with
/// this hash.
pub async fn active_by_hash<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    key_hash: &str,
) -> DbResult<Option<ActiveKey>> {
    let row: Option<ActiveRow> = sqlx::query_as(
        "SELECT id, name, tenant_id, scopes, last_used_at, rate_limit_per_minute FROM api_keys \
         WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(ActiveKey {
            id: parse_id(&r.id)?,
            name: r.name,
            tenant: TenantScope::new(parse_id(&r.tenant_id)?),
            scopes: parse_scopes(&r.scopes)?,
            last_used_at: r.last_used_at,
            rate_limit_per_minute: r.rate_limit_per_minute,
        })
    })
    .transpose()
}

pub async fn touch<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: ApiKeyId,
    at: i64,
) -> DbResult<()> {
    sqlx::query("UPDATE api_keys SET last_used_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(scope.tenant())
        .bind(id.to_string())
        .bind(at)
        .execute(ex)
        .await?;
    Ok(())
}

/// Revokes every live key `creator` made: how many there were.
pub async fn revoke_created_by<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    creator: UserId,
    at: i64,
) -> DbResult<u64> {
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $3 \
         WHERE tenant_id = $1 AND created_by = $2 AND revoked_at IS NULL",
    )
    .bind(scope.tenant())
    .bind(creator.to_string())
    .bind(at)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes a key of the tenant and returns its name; `NotFound` for
/// another tenant's or an already revoked one.
pub async fn revoke<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: ApiKeyId,
    at: i64,
) -> DbResult<String> {
    sqlx::query_scalar(
        "UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL \
         RETURNING name",
    )
    .bind(scope.tenant())
    .bind(id.to_string())
    .bind(at)
    .fetch_optional(ex)
    .await?
    .ok_or(DbError::NotFound)
}
