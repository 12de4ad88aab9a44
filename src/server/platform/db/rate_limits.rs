//! Fixed-window request counts (`rate_limits`): one row per tenant, limit,
//! subject and window. Taking a hit and checking the limit is one
//! statement, so concurrent requests — on any instance — never get past it
//! together.

use super::{DbResult, TenantScope};
use sqlx::{Any, Executor, FromRow};

/// One count to take: `subject`'s hits under `limit_name` in the window
/// `[window_start, window_end)`, at most `max`.
pub struct Hit<'a> {
    pub limit_name: &'a str,
    pub subject: &'a str,
    pub window_start: i64,
    pub window_end: i64,
    pub max: i64,
}

/// Counts one hit unless the window already holds `max`: the count after
/// it, or `None` when refused (nothing counted).
pub async fn take<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    hit: &Hit<'_>,
) -> DbResult<Option<i64>> {
    let counted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO rate_limits (tenant_id, limit_name, subject, window_start, window_end, hits) \
         VALUES ($1, $2, $3, $4, $5, 1) \
         ON CONFLICT (tenant_id, limit_name, subject, window_start) \
         DO UPDATE SET hits = rate_limits.hits + 1 WHERE rate_limits.hits < $6 \
         RETURNING hits",
    )
    .bind(scope.tenant())
    .bind(hit.limit_name)
    .bind(hit.subject)
    .bind(hit.window_start)
    .bind(hit.window_end)
    .bind(hit.max)
    .fetch_optional(ex)
    .await?;
    Ok(counted.map(|(hits,)| hits))
}

/// Records that `hit` was refused (its window's row made if need be: a
/// count kept elsewhere may have refused it).
pub async fn refused<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    hit: &Hit<'_>,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO rate_limits (tenant_id, limit_name, subject, window_start, window_end, refused) \
         VALUES ($1, $2, $3, $4, $5, 1) \
         ON CONFLICT (tenant_id, limit_name, subject, window_start) \
         DO UPDATE SET refused = rate_limits.refused + 1",
    )
    .bind(scope.tenant())
    .bind(hit.limit_name)
    .bind(hit.subject)
    .bind(hit.window_start)
    .bind(hit.window_end)
    .execute(ex)
    .await?;
    Ok(())
}

/// How many requests each limit refused in windows that started at or
/// after `since`, by limit name.
#[derive(Debug, FromRow, PartialEq, Eq)]
pub struct Refusals {
    pub limit_name: String,
    pub refused: i64,
}

pub async fn refusals_since<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    since: i64,
) -> DbResult<Vec<Refusals>> {
    Ok(sqlx::query_as(
        "SELECT limit_name, CAST(SUM(refused) AS BIGINT) AS refused FROM rate_limits \
         WHERE tenant_id = $1 AND window_start >= $2 AND refused > 0 \
         GROUP BY limit_name ORDER BY limit_name",
    )
    .bind(scope.tenant())
    .bind(since)
    .fetch_all(ex)
    .await?)
}

/// unscoped: housekeeping across tenants. Forgets windows that ended
/// before `before`.
pub async fn purge_ended_before<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    before: i64,
) -> DbResult<u64> {
    Ok(sqlx::query("DELETE FROM rate_limits WHERE window_end < $1")
        .bind(before)
        .execute(ex)
        .await?
        .rows_affected())
}
