//! `/admin/jobs`: the tenant's jobs, and retrying or discarding dead ones.

use crate::model::{HousekeepingView, JobId, JobStatus, JobView, JobsPage};
use crate::server::auth::AdminCaller;
use crate::server::db::{self, jobs as repo};
use crate::server::error::AppResult;
use crate::server::state::AppState;

const PAGE: i64 = 200;

pub async fn page(
    state: &AppState,
    admin: &AdminCaller,
    status: Option<JobStatus>,
) -> AppResult<JobsPage> {
    let scope = admin.0.scope();
    let jobs = repo::list_for_tenant(state.db.pool(), scope, status, PAGE)
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
        counts: repo::counts_for_tenant(state.db.pool(), scope).await?,
        scheduler_next_run: super::scheduler::next_run(state)
            .await?
            .map(db::ms_to_rfc3339),
        housekeeping: db::housekeeping::last(&state.db)
            .await?
            .map(|run| HousekeepingView {
                finished_at: db::ms_to_rfc3339(run.finished_at),
                sessions: run.sessions,
                oauth_states: run.oauth_states,
                webhook_events: run.webhook_events,
                secrets: run.secrets,
                retention_days: state.config.retention.as_secs() / 86_400,
            }),
    })
}

/// Gives a dead job a fresh set of attempts.
pub async fn retry(state: &AppState, admin: &AdminCaller, id: JobId) -> AppResult<()> {
    repo::retry_dead(state.db.pool(), admin.0.scope(), id).await?;
    state.jobs.wake();
    Ok(())
}

pub async fn discard(state: &AppState, admin: &AdminCaller, id: JobId) -> AppResult<()> {
    Ok(repo::discard_dead(state.db.pool(), admin.0.scope(), id).await?)
}
