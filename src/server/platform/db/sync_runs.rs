//! The sync log: runs (one per read of a connection's feeds, or per
//! export) and the items they changed.

use super::activity::{self, Tallies};
use super::{now_ms, parse_id, DbError, DbResult, TenantScope, UserScope};
use crate::model::{
    ConnectionId, SyncAction, SyncCounts, SyncOutcome, SyncRunFilter, SyncRunId, SyncTrigger,
};
use sqlx::{Any, Executor, FromRow};

/// A run's columns with the names the log shows; every query that uses
/// them filters by `r.tenant_id`.
const RUN_COLUMNS: &str = "r.id, r.connection_id, r.provider, c.account_email, u.email AS user_email, r.calendar_id, \
     r.trigger, r.full_read, r.outcome, r.started_at, r.finished_at, r.feeds_done, r.feeds_total, r.imported, r.updated, \
     r.deleted, r.exported, r.conflicts, r.skipped, r.errors, r.error \
     FROM sync_runs r JOIN connections c ON c.id = r.connection_id JOIN users u ON u.id = r.user_id";

/// A run as it begins.
pub struct NewRun<'a> {
    pub id: SyncRunId,
    pub owner: &'a UserScope,
    pub connection: ConnectionId,
    pub provider: &'a str,
    pub calendar_id: Option<&'a str>,
    pub trigger: SyncTrigger,
    pub feeds_total: i64,
    pub started_at: i64,
}

pub async fn start<'e, E: Executor<'e, Database = Any>>(ex: E, run: &NewRun<'_>) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO sync_runs (id, tenant_id, user_id, connection_id, provider, calendar_id, trigger, outcome, \
         started_at, feeds_total) VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $9)",
    )
    .bind(run.id.to_string())
    .bind(run.owner.tenant.tenant())
    .bind(run.owner.user_id().to_string())
    .bind(run.connection.to_string())
    .bind(run.provider)
    .bind(run.calendar_id)
    .bind(run.trigger.as_str())
    .bind(run.started_at)
    .bind(run.feeds_total)
    .execute(ex)
    .await?;
    Ok(())
}

/// Where a run stands: written while it runs (progress) and when it ends.
pub struct RunState<'a> {
    pub counts: &'a SyncCounts,
    pub feeds_done: i64,
    pub full_read: bool,
    pub calendar_id: Option<&'a str>,
    /// `Running` while it runs.
    pub outcome: SyncOutcome,
    pub error: Option<&'a str>,
}

pub async fn update<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: SyncRunId,
    state: &RunState<'_>,
) -> DbResult<()> {
    let c = state.counts;
    let finished = (state.outcome != SyncOutcome::Running).then(now_ms);
    sqlx::query(
        "UPDATE sync_runs SET imported = $1, updated = $2, deleted = $3, exported = $4, conflicts = $5, skipped = $6, \
         errors = $7, feeds_done = $8, full_read = $9, calendar_id = COALESCE($10, calendar_id), outcome = $11, \
         error = $12, finished_at = $13 WHERE tenant_id = $14 AND id = $15",
    )
    .bind(c.imported)
    .bind(c.updated)
    .bind(c.deleted)
    .bind(c.exported)
    .bind(c.conflicts)
    .bind(c.skipped)
    .bind(c.errors)
    .bind(state.feeds_done)
    .bind(i64::from(state.full_read))
    .bind(state.calendar_id)
    .bind(state.outcome.as_str())
    .bind(state.error)
    .bind(finished)
    .bind(scope.tenant())
    .bind(id.to_string())
    .execute(ex)
    .await?;
    Ok(())
}

/// One changed item, as a run keeps it.
#[derive(Clone, Debug)]
pub struct NewItem {
    pub action: SyncAction,
    pub calendar_id: Option<String>,
    pub external_id: String,
    pub title: Option<String>,
    pub starts_at: Option<i64>,
    pub detail: Option<String>,
}

/// Appends items to a run, numbered from `first_seq`, in one statement.
pub async fn add_items<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    run: SyncRunId,
    first_seq: i64,
    items: &[NewItem],
) -> DbResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut sql = String::from(
        "INSERT INTO sync_items (run_id, seq, action, calendar_id, external_id, title, starts_at, detail) VALUES ",
    );
    for i in 0..items.len() {
        let p = i * 8;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6,
            p + 7,
            p + 8
        ));
    }
    let mut query = sqlx::query(&sql);
    let run = run.to_string();
    for (seq, item) in (first_seq..).zip(items) {
        query = query
            .bind(run.clone())
            .bind(seq)
            .bind(item.action.as_str())
            .bind(item.calendar_id.clone())
            .bind(item.external_id.clone())
            .bind(item.title.clone())
            .bind(item.starts_at)
            .bind(item.detail.clone());
    }
    query.execute(ex).await?;
    Ok(())
}

/// A run with the names the log shows.
#[derive(FromRow)]
pub struct RunRow {
    pub id: String,
    pub connection_id: String,
    pub provider: String,
    pub account_email: String,
    pub user_email: String,
    pub calendar_id: Option<String>,
    pub trigger: String,
    pub full_read: i64,
    pub outcome: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub feeds_done: i64,
    pub feeds_total: i64,
    pub imported: i64,
    pub updated: i64,
    pub deleted: i64,
    pub exported: i64,
    pub conflicts: i64,
    pub skipped: i64,
    pub errors: i64,
    pub error: Option<String>,
}

impl RunRow {
    pub fn id(&self) -> DbResult<SyncRunId> {
        parse_id(&self.id)
    }
    pub fn connection(&self) -> DbResult<ConnectionId> {
        parse_id(&self.connection_id)
    }
    pub fn trigger(&self) -> DbResult<SyncTrigger> {
        self.trigger.parse().map_err(DbError::Corrupt)
    }
    pub fn outcome(&self) -> DbResult<SyncOutcome> {
        self.outcome.parse().map_err(DbError::Corrupt)
    }
    pub fn counts(&self) -> SyncCounts {
        SyncCounts {
            imported: self.imported,
            updated: self.updated,
            deleted: self.deleted,
            exported: self.exported,
            conflicts: self.conflicts,
            skipped: self.skipped,
            errors: self.errors,
        }
    }
}

/// The tenant's runs, newest first, filtered; `limit` of them.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    filter: &SyncRunFilter,
    limit: i64,
) -> DbResult<Vec<RunRow>> {
    // UUID v7 ids sort by time, so the id alone is the page cursor.
    Ok(sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} WHERE r.tenant_id = $1 AND ($2 = '' OR r.user_id = $2) AND ($3 = '' OR r.provider = $3) \
         AND ($4 = '' OR r.connection_id = $4) AND ($5 = '' OR r.outcome = $5) AND ($6 = '' OR r.trigger = $6) \
         AND ($7 = '' OR r.id < $7) ORDER BY r.id DESC LIMIT $8"
    ))
    .bind(scope.tenant())
    .bind(filter.user.map(|u| u.to_string()).unwrap_or_default())
    .bind(filter.provider.map(|p| p.as_str()).unwrap_or_default())
    .bind(filter.connection.map(|c| c.to_string()).unwrap_or_default())
    .bind(filter.outcome.map(|o| o.as_str()).unwrap_or_default())
    .bind(filter.trigger.map(|t| t.as_str()).unwrap_or_default())
    .bind(filter.before.map(|b| b.to_string()).unwrap_or_default())
    .bind(limit)
    .fetch_all(ex)
    .await?)
}

/// One user's own runs, newest first.
pub async fn list_for_user<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    limit: i64,
) -> DbResult<Vec<RunRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} WHERE r.tenant_id = $1 AND r.user_id = $2 ORDER BY r.id DESC LIMIT $3"
    ))
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(limit)
    .fetch_all(ex)
    .await?)
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: SyncRunId,
) -> DbResult<Option<RunRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} WHERE r.tenant_id = $1 AND r.id = $2"
    ))
    .bind(scope.tenant())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await?)
}

/// The connection's newest run that started at or after `since` (unix ms).
pub async fn latest_of_connection<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    connection: ConnectionId,
    since: i64,
) -> DbResult<Option<RunRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} WHERE r.tenant_id = $1 AND r.connection_id = $2 AND r.started_at >= $3 \
         AND r.trigger <> 'export' ORDER BY r.id DESC LIMIT 1"
    ))
    .bind(scope.tenant())
    .bind(connection.to_string())
    .bind(since)
    .fetch_optional(ex)
    .await?)
}

#[derive(FromRow)]
pub struct ItemRow {
    pub action: String,
    pub calendar_id: Option<String>,
    pub external_id: String,
    pub title: Option<String>,
    pub starts_at: Option<i64>,
    pub detail: Option<String>,
}

impl ItemRow {
    pub fn action(&self) -> DbResult<SyncAction> {
        self.action.parse().map_err(DbError::Corrupt)
    }
}

/// A run's items in the order they happened (the run must be the tenant's).
pub async fn items<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    run: SyncRunId,
) -> DbResult<Vec<ItemRow>> {
    Ok(sqlx::query_as(
        "SELECT i.action, i.calendar_id, i.external_id, i.title, i.starts_at, i.detail FROM sync_items i \
         JOIN sync_runs r ON r.id = i.run_id WHERE r.tenant_id = $1 AND i.run_id = $2 ORDER BY i.seq",
    )
    .bind(scope.tenant())
    .bind(run.to_string())
    .fetch_all(ex)
    .await?)
}

/// A connection's sync health.
#[derive(FromRow)]
pub struct HealthRow {
    pub connection_id: String,
    pub provider: String,
    pub account_email: String,
    pub user_id: String,
    pub user_email: String,
    pub state: String,
    pub last_sync_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_failure_at: Option<i64>,
    pub last_failure: Option<String>,
    pub backlog: i64,
    pub running: i64,
}

/// Every connection of the tenant that is not disconnected, with its
/// last success, last failure, backlog and whether a run is going on.
pub async fn health<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
) -> DbResult<Vec<HealthRow>> {
    Ok(sqlx::query_as(
        "SELECT c.id AS connection_id, c.provider, c.account_email, c.user_id, u.email AS user_email, c.state, c.last_sync_at, \
         (SELECT max(s.finished_at) FROM sync_runs s WHERE s.connection_id = c.id AND s.outcome = 'succeeded') AS last_success_at, \
         f.finished_at AS last_failure_at, f.error AS last_failure, \
         (SELECT count(*) FROM webhook_events w WHERE w.connection_id = c.id AND w.result = 'queued') AS backlog, \
         (SELECT count(*) FROM sync_runs s WHERE s.connection_id = c.id AND s.outcome = 'running') AS running \
         FROM connections c JOIN users u ON u.id = c.user_id \
         LEFT JOIN sync_runs f ON f.id = (SELECT s.id FROM sync_runs s WHERE s.connection_id = c.id \
           AND s.outcome IN ('failed', 'partial') ORDER BY s.id DESC LIMIT 1) \
         WHERE c.tenant_id = $1 AND c.state <> 'disconnected' ORDER BY u.email, c.provider, c.account_email",
    )
    .bind(scope.tenant())
    .fetch_all(ex)
    .await?)
}

/// unscoped: a crash leaves runs of every tenant behind, and the
/// connection's id alone names its runs.
/// Marks as failed the runs a crash left `running`: the connection's
/// feed runs (its syncs never run side by side, so one starting means no
/// other is going on), or, with no connection, any run older than
/// `started_before` (unix ms).
pub async fn fail_abandoned(
    db: &super::Db,
    connection: Option<ConnectionId>,
    started_before: i64,
) -> DbResult<u64> {
    let mut tx = db.begin_write().await?;
    let now = now_ms();
    let failed: Vec<(String, String)> = sqlx::query_as(
        "UPDATE sync_runs SET outcome = 'failed', finished_at = $1, \
         error = 'the run stopped without finishing (the server stopped or restarted)' \
         WHERE outcome = 'running' AND started_at < $2 AND ($3 = '' OR (connection_id = $3 AND trigger <> 'export')) \
         RETURNING tenant_id, provider",
    )
    .bind(now)
    .bind(started_before)
    .bind(connection.map(|c| c.to_string()).unwrap_or_default())
    .fetch_all(&mut *tx)
    .await?;
    let mut tallies = Tallies::default();
    for (tenant, provider) in &failed {
        let scope = TenantScope::new(parse_id(tenant)?);
        let provider = provider.parse().map_err(DbError::Corrupt)?;
        tallies
            .at(&scope, provider, activity::hour_of(now))
            .sync(SyncOutcome::Failed);
    }
    activity::add(&mut tx, &tallies).await?;
    tx.commit().await?;
    Ok(failed.len() as u64)
}
