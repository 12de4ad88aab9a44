//! The scheduler: a job that re-queues itself every minute and queues the
//! periodic work that is due (subscription renewals, token refreshes ahead
//! of expiry, polling syncs, the hourly housekeeping job, purging old
//! finished jobs and burying jobs whose worker died during their final
//! attempt). Being a job, it runs on exactly
//! one instance at a time and survives restarts.

use super::{kinds, Enqueue, JobError};
use crate::server::db::{self, connections as connections_repo, jobs as repo, subscriptions};
use crate::server::state::AppState;
use crate::server::subscriptions::POLL_EVERY;
use std::time::Duration;

pub const EVERY: Duration = Duration::from_secs(60);
const COALESCE_KEY: &str = "scheduler";
/// Refresh tokens this long before they expire.
const REFRESH_AHEAD: Duration = Duration::from_secs(10 * 60);
/// Finished jobs are kept this long for the admin view.
const KEEP_DONE: Duration = Duration::from_secs(7 * 24 * 3600);

fn tick_job(run_at: i64) -> Enqueue {
    Enqueue::now(None, kinds::TICK, serde_json::json!({}))
        .coalesced(COALESCE_KEY)
        .at(run_at)
}

/// Makes sure a scheduler run is queued (at start-up).
pub async fn ensure(state: &AppState) -> Result<(), db::DbError> {
    state
        .jobs
        .enqueue(&state.db, &tick_job(db::now_ms()))
        .await?;
    Ok(())
}

/// Moves the next scheduler run to now.
pub async fn run_now(state: &AppState) -> Result<(), db::DbError> {
    ensure(state).await
}

/// When the scheduler runs next (unix ms).
pub async fn next_run(state: &AppState) -> Result<Option<i64>, db::DbError> {
    repo::next_run(state.db.pool(), kinds::TICK).await
}

pub async fn tick(state: &AppState) -> Result<(), JobError> {
    let now = state.clock.now_ms();
    let mut due = Vec::new();
    for sub in subscriptions::due(state.db.pool(), now).await? {
        let payload = serde_json::json!({ "subscription": sub.id });
        due.push((
            sub.tenant,
            kinds::RENEW,
            payload,
            format!("renew:{}", sub.id),
        ));
    }
    let expiring_before = now + REFRESH_AHEAD.as_millis() as i64;
    let poll_before = now - POLL_EVERY.as_millis() as i64;
    for connection in
        connections_repo::needing_upkeep(state.db.pool(), expiring_before, poll_before).await?
    {
        let payload = serde_json::json!({ "connection": connection.id });
        if connection
            .token_expires_at
            .is_some_and(|at| at < expiring_before)
        {
            due.push((
                connection.owner.tenant,
                kinds::REFRESH,
                payload.clone(),
                format!("refresh:{}", connection.id),
            ));
        }
        if connection.sync_mode == crate::model::SyncMode::Polling
            && connection.last_sync_at.unwrap_or(0) < poll_before
        {
            due.push((
                connection.owner.tenant,
                kinds::SYNC,
                payload,
                format!("sync:{}", connection.id),
            ));
        }
    }
    let housekeeping = super::housekeeping::due(state, now).await?;
    let mut tx = state.db.begin_write().await?;
    for (tenant, kind, payload, key) in &due {
        super::Queue::enqueue_in(
            &mut tx,
            state.db.backend(),
            &Enqueue::now(Some(tenant), kind, payload.clone()).coalesced(key.clone()),
        )
        .await?;
    }
    if let Some(housekeeping) = &housekeeping {
        super::Queue::enqueue_in(&mut tx, state.db.backend(), housekeeping).await?;
    }
    super::Queue::enqueue_in(
        &mut tx,
        state.db.backend(),
        &tick_job(db::now_ms() + EVERY.as_millis() as i64),
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    state.jobs.wake();
    repo::purge_done(state.db.pool(), db::now_ms() - KEEP_DONE.as_millis() as i64).await?;
    if !due.is_empty() {
        tracing::info!(queued = due.len(), "scheduler queued periodic work");
    }
    Ok(())
}
