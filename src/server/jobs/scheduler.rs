//! The scheduler: a job that re-queues itself every minute and queues the
//! periodic work that is due (subscription renewals, token refreshes ahead
//! of expiry, polling syncs, the hourly housekeeping job, purging old
//! finished jobs and burying jobs whose worker died during their final
//! attempt). Being a job, it runs on exactly
//! one instance at a time and survives restarts.

use super::{Enqueue, Job, JobError, Queue};
use crate::server::platform::clock::Clock;
use crate::server::platform::db::{
    self, connections as connections_repo, jobs as repo, subscriptions, Db,
};
use std::time::Duration;

pub const EVERY: Duration = Duration::from_secs(60);
/// Polling interval for connections without webhooks.
pub const POLL_EVERY: Duration = Duration::from_secs(5 * 60);
const COALESCE_KEY: &str = "scheduler";
/// Refresh tokens this long before they expire.
const REFRESH_AHEAD: Duration = Duration::from_secs(10 * 60);
/// Finished jobs are kept this long for the admin view.
const KEEP_DONE: Duration = Duration::from_secs(7 * 24 * 3600);

fn tick_job(run_at: i64) -> Enqueue {
    Enqueue::now(None, Job::SchedulerTick)
        .coalesced(COALESCE_KEY)
        .at(run_at)
}

/// Makes sure a scheduler run is queued, due now (at start-up, and when a
/// test or an admin wants the periodic work at once).
pub async fn ensure(db: &Db, queue: &Queue) -> Result<(), db::DbError> {
    queue.enqueue(db, &tick_job(db::now_ms())).await?;
    Ok(())
}

/// When the scheduler runs next (unix ms).
pub async fn next_run(db: &Db) -> Result<Option<i64>, db::DbError> {
    repo::next_run(db.pool(), Job::SchedulerTick.kind()).await
}

#[tracing::instrument(skip_all)]
pub async fn tick(db: &Db, queue: &Queue, clock: &Clock) -> Result<(), JobError> {
    let now = clock.now_ms();
    let mut due = Vec::new();
    for sub in subscriptions::due(db.pool(), now).await? {
        due.push((
            sub.tenant,
            Job::RenewSubscription {
                subscription: sub.id,
            },
            format!("renew:{}", sub.id),
        ));
    }
    let expiring_before = now + REFRESH_AHEAD.as_millis() as i64;
    let poll_before = now - POLL_EVERY.as_millis() as i64;
    for connection in
        connections_repo::needing_upkeep(db.pool(), expiring_before, poll_before).await?
    {
        if connection
            .token_expires_at
            .is_some_and(|at| at < expiring_before)
        {
            due.push((
                connection.owner.tenant,
                Job::RefreshToken {
                    connection: connection.id,
                },
                format!("refresh:{}", connection.id),
            ));
        }
        if connection.sync_mode == crate::model::SyncMode::Polling
            && connection.last_sync_at.unwrap_or(0) < poll_before
        {
            due.push((
                connection.owner.tenant,
                Job::SyncConnection {
                    connection: connection.id,
                    trigger: crate::model::SyncTrigger::Schedule,
                },
                format!("sync:{}", connection.id),
            ));
        }
    }
    let housekeeping = super::housekeeping::due(db, now).await?;
    let queued = due.len();
    let mut tx = db.begin_write().await?;
    for (tenant, job, key) in due {
        Queue::enqueue_in(&mut tx, &Enqueue::now(Some(&tenant), job).coalesced(key)).await?;
    }
    if let Some(housekeeping) = &housekeeping {
        Queue::enqueue_in(&mut tx, housekeeping).await?;
    }
    Queue::enqueue_in(&mut tx, &tick_job(db::now_ms() + EVERY.as_millis() as i64)).await?;
    tx.commit().await.map_err(db::DbError::from)?;
    queue.wake();
    repo::purge_done(db.pool(), db::now_ms() - KEEP_DONE.as_millis() as i64).await?;
    if queued > 0 {
        tracing::info!(queued, "scheduler queued periodic work");
    }
    Ok(())
}
