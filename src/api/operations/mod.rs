//! Operations for admins: jobs, the scheduler and webhook deliveries (the
//! reads; the form posts are in `forms`).

use crate::model::{ApiError, JobsPage};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// The tenant's jobs, optionally of one status (admins only).
#[server(endpoint = "jobs", input = GetUrl)]
pub async fn get_jobs(status: Option<String>) -> Result<JobsPage, ApiError> {
    let admin = super::context::require_admin().await?;
    let state = super::context::state();
    let status = status
        .filter(|s| !s.is_empty())
        .map(|s| s.parse())
        .transpose()
        .map_err(ApiError::Invalid)?;
    Ok(crate::server::admin::jobs::page(&state.admin, &admin, status).await?)
}

/// The tenant at a glance over `range` (`24h`, the default, or `7d`;
/// admins only).
#[server(endpoint = "overview", input = GetUrl)]
pub async fn get_overview(range: Option<String>) -> Result<crate::model::OverviewPage, ApiError> {
    let admin = super::context::require_admin().await?;
    let state = super::context::state();
    let range = range
        .filter(|r| !r.is_empty())
        .map(|r| r.parse())
        .transpose()
        .map_err(ApiError::Invalid)?
        .unwrap_or_default();
    Ok(crate::server::admin::overview::page(&state.admin, &admin, range).await?)
}

/// The tenant's received webhooks, filtered (admins only).
#[server(endpoint = "webhook_events", input = GetUrl)]
pub async fn get_webhook_events(
    provider: Option<String>,
    result: Option<String>,
    q: Option<String>,
) -> Result<Vec<crate::model::WebhookEventView>, ApiError> {
    let admin = super::context::require_admin().await?;
    let state = super::context::state();
    let provider = provider
        .filter(|p| !p.is_empty())
        .map(|p| p.parse())
        .transpose()
        .map_err(ApiError::Invalid)?;
    let result = result.filter(|r| !r.is_empty());
    let q = q.filter(|q| !q.trim().is_empty());
    Ok(crate::server::admin::webhooks::list(
        &state.admin,
        &admin,
        provider,
        result.as_deref(),
        q.as_deref(),
    )
    .await?)
}

/// One page of the tenant's audit trail, newest first (admins only).
#[server(endpoint = "audit", input = GetUrl)]
pub async fn get_audit(
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
) -> Result<crate::model::AuditPage, ApiError> {
    let admin = super::context::require_admin().await?;
    let state = super::context::state();
    let query = crate::server::audit::Query {
        actor: actor.as_deref(),
        action: action.as_deref(),
        from: from.as_deref(),
        to: to.as_deref(),
        before: before.as_deref(),
    };
    Ok(crate::server::audit::page(&state.db, admin.0.scope(), &query).await?)
}

#[cfg(feature = "ssr")]
pub mod forms;
