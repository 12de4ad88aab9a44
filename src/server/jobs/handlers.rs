//! What each kind of job does. Every handler is idempotent: a job may run
//! again after a crash, a lost lease or an admin's retry.

use super::{kinds, scheduler, JobError};
use crate::server::db::connections as connections_repo;
use crate::server::db::jobs::Job;
use crate::server::db::webhook_events;
use crate::server::db::TenantScope;
use crate::server::state::AppState;
use crate::server::{meetings, subscriptions};
use std::str::FromStr;

fn tenant(job: &Job) -> Result<&TenantScope, JobError> {
    job.tenant
        .as_ref()
        .ok_or_else(|| JobError::Permanent("the job names no tenant".into()))
}

fn id_field<T: FromStr>(job: &Job, field: &str) -> Result<T, JobError> {
    job.payload
        .get(field)
        .and_then(|v| v.as_str())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| JobError::Permanent(format!("the payload has no valid '{field}'")))
}

pub async fn handle(state: &AppState, job: &Job) -> Result<(), JobError> {
    match job.kind.as_str() {
        kinds::TICK => scheduler::tick(state).await,
        kinds::HOUSEKEEPING => super::housekeeping::run(state).await,
        kinds::SETUP => {
            let connection = connections_repo::get_in_tenant(
                state.db.pool(),
                tenant(job)?,
                id_field(job, "connection")?,
            )
            .await?;
            subscriptions::reconcile(state, &connection).await?;
            // The first import (or catching up after a calendar choice).
            subscriptions::queue_sync(state, &connection).await
        }
        kinds::CLEANUP => {
            subscriptions::cleanup(state, tenant(job)?, id_field(job, "connection")?).await
        }
        kinds::RENEW => {
            subscriptions::renew(state, tenant(job)?, id_field(job, "subscription")?).await
        }
        kinds::RECREATE => {
            subscriptions::recreate(state, tenant(job)?, id_field(job, "subscription")?).await
        }
        kinds::REFRESH => {
            let connection = connections_repo::get_in_tenant(
                state.db.pool(),
                tenant(job)?,
                id_field(job, "connection")?,
            )
            .await?;
            state
                .tokens
                .access_token(state, &connection.owner, connection.id)
                .await?;
            Ok(())
        }
        kinds::PROCESS_WEBHOOK => {
            let event = job
                .payload
                .get("event")
                .and_then(|v| v.as_str())
                .ok_or_else(|| JobError::Permanent("the payload names no event".into()))?;
            let scope = tenant(job)?;
            let result = meetings::process_calendly_event(state, scope, event).await;
            if let Err(e) = &result {
                let last_attempt = job.attempts >= job.max_attempts;
                if last_attempt || matches!(e, JobError::Permanent(_)) {
                    webhook_events::finish(
                        &mut *state.db.writer().await?,
                        scope,
                        event,
                        webhook_events::WebhookResult::Failed,
                        Some(&e.to_string()),
                    )
                    .await?;
                }
            }
            result
        }
        kinds::SYNC => meetings::sync(state, tenant(job)?, id_field(job, "connection")?).await,
        other => Err(JobError::Permanent(format!("unknown job kind '{other}'"))),
    }
}
