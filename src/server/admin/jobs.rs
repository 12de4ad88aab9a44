//! `/admin/jobs`: the tenant's jobs, and retrying or discarding dead ones.

use super::Admin;
use crate::model::AuditAction;
use crate::model::{HousekeepingView, JobId, JobStatus, JobView, JobsPage};
use crate::server::audit::{self, Actor, Target};
use crate::server::auth::AdminCaller;
use crate::server::error::AppResult;
use crate::server::platform::db::{self, jobs as repo, DbError};

const PAGE: i64 = 200;

pub async fn page(
    ctx: &Admin,
    admin: &AdminCaller,
    status: Option<JobStatus>,
) -> AppResult<JobsPage> {
    let scope = admin.0.scope();
    let jobs = repo::list_for_tenant(ctx.db.pool(), scope, status, PAGE)
        .await?
        .into_iter()
        .map(|j| JobView {
            id: j.id,
            kind: j.kind,
            status: j.status,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: db::ms_to_rfc3339(j.run_at),
            updated_at: db::ms_to_rfc3339(j.updated_at),
            last_error: j.last_error,
        })
        .collect();
    Ok(JobsPage {
        jobs,
        counts: repo::counts_for_tenant(ctx.db.pool(), scope).await?,
        scheduler_next_run: crate::server::jobs::scheduler::next_run(&ctx.db)
            .await?
            .map(db::ms_to_rfc3339),
        housekeeping: db::housekeeping::last(&ctx.db)
            .await?
            .map(|run| HousekeepingView {
                finished_at: db::ms_to_rfc3339(run.finished_at),
                sessions: run.sessions,
                oauth_states: run.oauth_states,
                webhook_events: run.webhook_events,
                secrets: run.secrets,
                retention_days: ctx.retention.as_secs() / 86_400,
            }),
    })
}

/// Gives a dead job a fresh set of attempts.
pub async fn retry(ctx: &Admin, admin: &AdminCaller, id: JobId) -> AppResult<()> {
    let mut tx = ctx.db.begin_write().await?;
    repo::retry_dead(&mut *tx, admin.0.scope(), id).await?;
    record(&mut tx, admin, AuditAction::JobRetried, id).await?;
    tx.commit().await.map_err(DbError::from)?;
    ctx.jobs.wake();
    Ok(())
}

pub async fn discard(ctx: &Admin, admin: &AdminCaller, id: JobId) -> AppResult<()> {
    let mut tx = ctx.db.begin_write().await?;
    repo::discard_dead(&mut *tx, admin.0.scope(), id).await?;
    record(&mut tx, admin, AuditAction::JobDiscarded, id).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

async fn record(
    tx: &mut db::Tx,
    admin: &AdminCaller,
    action: AuditAction,
    id: JobId,
) -> AppResult<()> {
    let id = id.to_string();
    audit::record(
        &mut **tx,
        admin.0.scope(),
        Actor::of(&admin.0),
        action,
        Target::named(&id, "dead job"),
        "",
    )
    .await?;
    Ok(())
}
