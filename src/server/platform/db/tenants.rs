//! Tenants. Creating one is not tenant-scoped (it has no tenant yet).

use super::{now_ms, parse_id, DbResult, TenantScope};
use crate::model::TenantId;
use sqlx::{Any, Executor};

/// unscoped: a new tenant has no scope yet.
pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    name: &str,
) -> DbResult<TenantScope> {
    let id = TenantId::generate();
    sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(id.to_string())
        .bind(name)
        .bind(now_ms())
        .execute(ex)
        .await?;
    Ok(TenantScope::new(id))
}

/// unscoped: whether this is an empty instance (first sign-up creates the tenant).
pub async fn count<'e, E: Executor<'e, Database = Any>>(ex: E) -> DbResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
        .fetch_one(ex)
        .await?)
}

/// unscoped: operator command `create-admin --tenant NAME` looks tenants up by name.
pub async fn find_by_name<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    name: &str,
) -> DbResult<Option<TenantScope>> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT id FROM tenants WHERE name = $1 ORDER BY created_at LIMIT 1")
            .bind(name)
            .fetch_optional(ex)
            .await?;
    id.map(|id| parse_id(&id).map(TenantScope::new)).transpose()
}

pub async fn name<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
) -> DbResult<String> {
    Ok(sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
        .bind(scope.tenant())
        .fetch_one(ex)
        .await?)
}

/// Serializes concurrent first sign-ups so an empty instance gets exactly one
/// tenant. SQLite's `BEGIN IMMEDIATE` already holds the write lock.
pub async fn lock_for_first_signup(tx: &mut super::Tx) -> DbResult<()> {
    if tx.backend() == super::Backend::Postgres {
        sqlx::query("LOCK TABLE tenants IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
