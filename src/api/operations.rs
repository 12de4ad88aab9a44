//! Operations views for admins: jobs and the scheduler.

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
    Ok(crate::server::jobs::admin::page(&state, &admin, status).await?)
}
