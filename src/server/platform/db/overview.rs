//! The admin overview's reads besides the hourly figures: each counts
//! through an index or reads the tenant's connections (tens to hundreds of
//! rows), never the history of deliveries, jobs or runs.

use super::{parse_id, DbError, DbResult, TenantScope};
use crate::model::{ConnectionId, ConnectionState, Provider, UserId};
use sqlx::{Any, Executor, FromRow};

/// Connections per provider and state.
pub async fn connection_counts<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
) -> DbResult<Vec<(Provider, ConnectionState, i64)>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT provider, state, COUNT(*) FROM connections WHERE tenant_id = $1 GROUP BY provider, state",
    )
    .bind(scope.tenant())
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|(provider, state, n)| {
            Ok((
                provider.parse().map_err(DbError::Corrupt)?,
                state.parse().map_err(DbError::Corrupt)?,
                n,
            ))
        })
        .collect()
}

/// A live connection with what may be wrong with it.
pub struct ConnectionTrouble {
    pub connection: ConnectionId,
    pub provider: Provider,
    pub account_email: String,
    pub user: UserId,
    pub user_email: String,
    pub state: ConnectionState,
    pub last_error: Option<String>,
    /// The latest error of a subscription whose creation or renewal failed.
    pub subscription_error: Option<String>,
    pub failed_subscriptions: i64,
    /// The error of the connection's latest feed run, when it failed.
    pub sync_error: Option<String>,
}

#[derive(FromRow)]
struct TroubleRow {
    id: String,
    provider: String,
    account_email: String,
    user_id: String,
    user_email: String,
    state: String,
    last_error: Option<String>,
    failed_subscriptions: i64,
    subscription_error: Option<String>,
    last_run_outcome: Option<String>,
    last_run_error: Option<String>,
}

/// The tenant's live connections that are in error, have a failing
/// subscription or whose latest feed run failed (through the connection
/// indexes of subscriptions and sync runs), at most `limit`.
pub async fn troubled_connections<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    limit: i64,
) -> DbResult<Vec<ConnectionTrouble>> {
    let rows: Vec<TroubleRow> = sqlx::query_as(
        "SELECT * FROM (SELECT c.id, c.provider, c.account_email, c.user_id, u.email AS user_email, c.state, c.last_error, \
           (SELECT COUNT(*) FROM subscriptions s WHERE s.tenant_id = c.tenant_id AND s.connection_id = c.id \
              AND s.state = 'failed') AS failed_subscriptions, \
           (SELECT s.last_error FROM subscriptions s WHERE s.tenant_id = c.tenant_id AND s.connection_id = c.id \
              AND s.state = 'failed' ORDER BY s.updated_at DESC LIMIT 1) AS subscription_error, \
           r.outcome AS last_run_outcome, r.error AS last_run_error \
         FROM connections c JOIN users u ON u.id = c.user_id AND u.tenant_id = c.tenant_id \
         LEFT JOIN sync_runs r ON r.id = (SELECT l.id FROM sync_runs l WHERE l.connection_id = c.id \
           AND l.trigger <> 'export' AND l.outcome <> 'running' ORDER BY l.started_at DESC LIMIT 1) \
         WHERE c.tenant_id = $1 AND c.state <> 'disconnected') t \
         WHERE t.state = 'error' OR t.failed_subscriptions > 0 OR t.last_run_outcome = 'failed' \
         ORDER BY t.user_email, t.provider, t.account_email LIMIT $2",
    )
    .bind(scope.tenant())
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(ConnectionTrouble {
                connection: parse_id(&r.id)?,
                provider: r.provider.parse().map_err(DbError::Corrupt)?,
                account_email: r.account_email,
                user: parse_id(&r.user_id)?,
                user_email: r.user_email,
                state: r.state.parse().map_err(DbError::Corrupt)?,
                last_error: r.last_error,
                failed_subscriptions: r.failed_subscriptions,
                subscription_error: r.subscription_error,
                sync_error: (r.last_run_outcome.as_deref() == Some("failed"))
                    .then_some(r.last_run_error)
                    .flatten(),
            })
        })
        .collect()
}

/// The tenant's jobs that are not done: ready now, waiting for their
/// time, running, dead; and since when the oldest ready one has been due.
pub struct Backlog {
    pub ready: i64,
    pub scheduled: i64,
    pub running: i64,
    pub dead: i64,
    pub oldest_ready_at: Option<i64>,
}

/// Reads only the statuses that are not `done` (the tenant index's
/// leading columns), so finished history costs nothing.
pub async fn job_backlog<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    now: i64,
) -> DbResult<Backlog> {
    let rows: Vec<(String, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT status, CASE WHEN run_at <= $2 THEN 1 ELSE 0 END AS due, COUNT(*), MIN(run_at) FROM jobs \
         WHERE tenant_id = $1 AND status IN ('queued', 'running', 'dead') GROUP BY status, due",
    )
    .bind(scope.tenant())
    .bind(now)
    .fetch_all(ex)
    .await?;
    let mut backlog = Backlog {
        ready: 0,
        scheduled: 0,
        running: 0,
        dead: 0,
        oldest_ready_at: None,
    };
    for (status, due, count, oldest) in rows {
        match (status.as_str(), due) {
            ("queued", 1) => {
                backlog.ready += count;
                backlog.oldest_ready_at = oldest;
            }
            ("queued", _) => backlog.scheduled += count,
            ("running", _) => backlog.running += count,
            _ => backlog.dead += count,
        }
    }
    Ok(backlog)
}

/// Appointments and bookings waiting in the conflict queue (partial
/// indexes over the conflicts only).
pub async fn conflicts_waiting<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
) -> DbResult<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM appointment_events WHERE tenant_id = $1 AND state = 'conflict'), \
                (SELECT COUNT(*) FROM bookings WHERE tenant_id = $1 AND conflict_canceled IS NOT NULL)",
    )
    .bind(scope.tenant())
    .fetch_one(ex)
    .await?)
}
