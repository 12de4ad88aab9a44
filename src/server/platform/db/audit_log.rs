//! The audit trail (`audit_log`): entries are added, read a page at a time
//! newest first, and dropped after the retention — never changed, but for
//! the count of an entry that stands for many in one minute.

use super::{DbResult, TenantScope};
use sqlx::{Any, Executor, FromRow};

pub struct NewEntry<'a> {
    /// UUID v7: sorts by time, so it pages.
    pub id: &'a str,
    pub at: i64,
    pub actor_kind: &'a str,
    pub actor_id: Option<&'a str>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub target_id: Option<&'a str>,
    pub target_label: &'a str,
    pub detail: &'a str,
}

/// Adds `entry` — or, when an entry with the same `dedupe_key` exists
/// (one per limit and minute), counts one more on it. Without a key every
/// entry is new (NULLs never collide in the unique index).
pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    entry: &NewEntry<'_>,
    dedupe_key: Option<&str>,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, tenant_id, at, actor_kind, actor_id, actor_label, action, \
         target_id, target_label, detail, dedupe_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (tenant_id, dedupe_key) DO UPDATE SET count = audit_log.count + 1",
    )
    .bind(entry.id)
    .bind(scope.tenant())
    .bind(entry.at)
    .bind(entry.actor_kind)
    .bind(entry.actor_id)
    .bind(entry.actor_label)
    .bind(entry.action)
    .bind(entry.target_id)
    .bind(entry.target_label)
    .bind(entry.detail)
    .bind(dedupe_key)
    .execute(ex)
    .await?;
    Ok(())
}

#[derive(Debug, FromRow)]
pub struct Entry {
    pub id: String,
    pub at: i64,
    pub actor_kind: String,
    pub actor_label: String,
    pub action: String,
    pub target_label: String,
    pub detail: String,
    pub count: i64,
}

/// Which entries a page shows.
#[derive(Default)]
pub struct Filter<'a> {
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
    /// Unix ms, inclusive.
    pub since: Option<i64>,
    /// Unix ms, exclusive.
    pub until: Option<i64>,
    /// Only entries older than this one (the previous page's last).
    pub before: Option<&'a str>,
}

/// Up to `limit` entries, newest first.
pub async fn page<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    filter: &Filter<'_>,
    limit: i64,
) -> DbResult<Vec<Entry>> {
    Ok(sqlx::query_as(
        "SELECT id, at, actor_kind, actor_label, action, target_label, detail, count \
         FROM audit_log WHERE tenant_id = $1 \
         AND ($2 IS NULL OR actor_label = $2) AND ($3 IS NULL OR action = $3) \
         AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) \
         AND ($6 IS NULL OR id < $6) \
         ORDER BY id DESC LIMIT $7",
    )
    .bind(scope.tenant())
    .bind(filter.actor)
    .bind(filter.action)
    .bind(filter.since)
    .bind(filter.until)
    .bind(filter.before)
    .bind(limit)
    .fetch_all(ex)
    .await?)
}

/// Everyone who acted, for the actor filter.
pub async fn actors<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
) -> DbResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT actor_label FROM audit_log WHERE tenant_id = $1 ORDER BY actor_label",
    )
    .bind(scope.tenant())
    .fetch_all(ex)
    .await?)
}

/// unscoped: housekeeping across tenants. Drops entries older than
/// `before`.
pub async fn purge_before<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    before: i64,
) -> DbResult<u64> {
    Ok(sqlx::query("DELETE FROM audit_log WHERE at < $1")
        .bind(before)
        .execute(ex)
        .await?
        .rows_affected())
}
