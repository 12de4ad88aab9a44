//! Housekeeping, queued by the scheduler about once an hour: expired
//! sessions and OAuth states go, webhook events older than the retention
//! period go, and so do secrets whose owner row is gone (PKCE verifiers of
//! expired states among them), and new API keys their creator never came
//! back for; sync runs past the retention go with their items, and a run
//! a crash left `running` for an hour is marked failed; request-limit
//! windows go when the overview no longer shows them, and audit entries
//! past the retention. Each run is recorded
//! for the admin page.

use super::{Enqueue, Job, JobError};
use crate::server::platform::db::{
    self, activity, audit_log, housekeeping as repo, rate_limits, sync_runs, Db,
};
use crate::server::platform::vault::API_KEY_REVEAL_MS;
use std::time::{Duration, Instant};

/// A sync run still `running` after this long was abandoned by a crash.
const ABANDONED_AFTER_MS: i64 = 3600 * 1000;

/// The admin overview reaches a week back (and a day to spare).
const ACTIVITY_KEPT_MS: i64 = 8 * 24 * 3600 * 1000;

/// How often housekeeping runs.
pub const EVERY: Duration = Duration::from_secs(3600);

/// The housekeeping job, when the last run is older than [`EVERY`].
pub async fn due(db: &Db, now: i64) -> Result<Option<Enqueue>, db::DbError> {
    let last = repo::last(db).await?;
    let due = last.is_none_or(|run| run.finished_at + (EVERY.as_millis() as i64) <= now);
    Ok(due.then(|| Enqueue::now(None, Job::Housekeeping).coalesced(Job::Housekeeping.kind())))
}

/// Purges what is past its time; `retention` is how long webhook events
/// and sync runs are kept.
#[tracing::instrument(skip_all)]
pub async fn run(db: &Db, retention: Duration) -> Result<(), JobError> {
    let started = Instant::now();
    let now = db::now_ms();
    let retention_ms = retention.as_millis() as i64;
    let mut run = repo::Run {
        sessions: repo::purge_sessions(db, now).await?,
        oauth_states: repo::purge_oauth_states(db, now).await?,
        webhook_events: repo::purge_webhook_events(db, now - retention_ms).await?,
        ..repo::Run::default()
    };
    run.secrets = repo::purge_orphaned_secrets(db).await?
        + repo::purge_key_reveals(db, now - API_KEY_REVEAL_MS).await?;
    let sync_runs = repo::purge_sync_runs(db, now - retention_ms).await?;
    // The overview's hours are kept as long as what they count, and at
    // least for its longest range.
    let activity_ms = retention_ms.max(ACTIVITY_KEPT_MS);
    activity::purge_before(
        &mut *db.writer().await?,
        activity::hour_of(now - activity_ms),
    )
    .await?;
    // What the limits refused is on the overview for as long.
    rate_limits::purge_ended_before(&mut *db.writer().await?, now - activity_ms).await?;
    audit_log::purge_before(&mut *db.writer().await?, now - retention_ms).await?;
    let abandoned = sync_runs::fail_abandoned(db, None, now - ABANDONED_AFTER_MS).await?;
    run.finished_at = db::now_ms();
    run.duration_ms = started.elapsed().as_millis() as i64;
    repo::record(db, &run).await?;
    tracing::info!(
        sessions = run.sessions,
        oauth_states = run.oauth_states,
        webhook_events = run.webhook_events,
        secrets = run.secrets,
        sync_runs,
        abandoned,
        ms = run.duration_ms,
        "housekeeping finished"
    );
    Ok(())
}
