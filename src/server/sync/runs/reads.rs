//! The sync log as the pages read it.

use crate::model::{
    ConnectionHealthView, ConnectionId, SyncItemView, SyncPage, SyncProgress, SyncRunDetail,
    SyncRunFilter, SyncRunId, SyncRunView,
};
use crate::server::error::{AppError, AppResult};
use crate::server::platform::db::sync_runs::{self as repo, HealthRow, RunRow};
use crate::server::platform::db::{
    connections as connections_repo, ms_to_rfc3339, parse_id, Db, DbError, DbResult, TenantScope,
    UserScope,
};

/// Runs per page of the log.
const PAGE: i64 = 50;

fn provider(text: &str) -> DbResult<crate::model::Provider> {
    text.parse().map_err(DbError::Corrupt)
}

fn run_view(row: RunRow) -> DbResult<SyncRunView> {
    Ok(SyncRunView {
        id: row.id()?,
        connection: row.connection()?,
        provider: provider(&row.provider)?,
        trigger: row.trigger()?,
        outcome: row.outcome()?,
        counts: row.counts(),
        full_read: row.full_read != 0,
        started_at: ms_to_rfc3339(row.started_at),
        duration_ms: row.finished_at.map(|f| (f - row.started_at).max(0)),
        feeds_done: row.feeds_done,
        feeds_total: row.feeds_total,
        account_email: row.account_email,
        user_email: row.user_email,
        calendar_id: row.calendar_id,
        error: row.error,
    })
}

fn health_view(row: HealthRow) -> DbResult<ConnectionHealthView> {
    Ok(ConnectionHealthView {
        connection: parse_id(&row.connection_id)?,
        provider: provider(&row.provider)?,
        user: parse_id(&row.user_id)?,
        state: row.state.parse().map_err(DbError::Corrupt)?,
        last_success_at: row.last_success_at.map(ms_to_rfc3339),
        last_failure: row
            .last_failure_at
            .map(|at| (ms_to_rfc3339(at), row.last_failure.unwrap_or_default())),
        backlog: row.backlog,
        cursor_at: row.last_sync_at.map(ms_to_rfc3339),
        running: row.running > 0,
        account_email: row.account_email,
        user_email: row.user_email,
    })
}

/// Every live connection's sync health.
pub async fn health(db: &Db, scope: &TenantScope) -> AppResult<Vec<ConnectionHealthView>> {
    Ok(repo::health(db.pool(), scope)
        .await?
        .into_iter()
        .map(health_view)
        .collect::<DbResult<_>>()?)
}

/// `/admin/sync`: health and one page of runs, newest first.
pub async fn page(db: &Db, scope: &TenantScope, filter: &SyncRunFilter) -> AppResult<SyncPage> {
    let mut rows = repo::list(db.pool(), scope, filter, PAGE + 1).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let runs: Vec<SyncRunView> = rows.into_iter().map(run_view).collect::<DbResult<_>>()?;
    Ok(SyncPage {
        older: more.then(|| runs.last().map(|r| r.id)).flatten(),
        health: health(db, scope).await?,
        runs,
    })
}

/// A run with the items it kept.
pub async fn detail(db: &Db, scope: &TenantScope, id: SyncRunId) -> AppResult<SyncRunDetail> {
    let run = repo::get(db.pool(), scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let run = run_view(run)?;
    let items: Vec<SyncItemView> = repo::items(db.pool(), scope, id)
        .await?
        .into_iter()
        .map(|i| {
            Ok(SyncItemView {
                action: i.action()?,
                starts_at: i.starts_at.map(ms_to_rfc3339),
                calendar_id: i.calendar_id,
                external_id: i.external_id,
                title: i.title,
                detail: i.detail,
            })
        })
        .collect::<DbResult<_>>()?;
    let counted: i64 = run.counts.each().iter().map(|(_, n)| n).sum();
    Ok(SyncRunDetail {
        items_not_kept: (counted - items.len() as i64).max(0),
        run,
        items,
    })
}

/// The user's own latest runs.
pub async fn runs_of_user(db: &Db, owner: &UserScope, limit: i64) -> AppResult<Vec<SyncRunView>> {
    Ok(repo::list_for_user(db.pool(), owner, limit)
        .await?
        .into_iter()
        .map(run_view)
        .collect::<DbResult<_>>()?)
}

/// Where the connection's newest feed run since `since` (unix ms) stands;
/// `owner` limits it to the caller's own connection.
pub async fn progress(
    db: &Db,
    scope: &TenantScope,
    owner: Option<&UserScope>,
    connection: ConnectionId,
    since: i64,
) -> AppResult<SyncProgress> {
    if let Some(owner) = owner {
        connections_repo::get_for_user(db.pool(), owner, connection).await?;
    }
    let run = repo::latest_of_connection(db.pool(), scope, connection, since).await?;
    Ok(match run {
        None => SyncProgress {
            run: None,
            outcome: None,
            feeds_done: 0,
            feeds_total: 1,
            counts: Default::default(),
            error: None,
        },
        Some(row) => {
            let run = run_view(row)?;
            SyncProgress {
                run: Some(run.id),
                outcome: Some(run.outcome),
                feeds_done: run.feeds_done,
                feeds_total: run.feeds_total,
                counts: run.counts,
                error: run.error,
            }
        }
    })
}
