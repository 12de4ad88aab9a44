//! The sync log: its reads for `/admin/sync` and `/settings/calendars`,
//! and Sync now / Full resync for the progress bar (the forms that do the
//! same without JavaScript are in `connections::forms`).

use crate::model::{ApiError, ConnectionId, SyncPage, SyncRunDetail, SyncRunId, SyncRunView};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// How many of their own runs a user sees.
#[cfg(feature = "ssr")]
const OWN_RUNS: i64 = 10;

#[cfg(feature = "ssr")]
fn parsed<T: std::str::FromStr>(value: Option<String>) -> Result<Option<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    value
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse()
                .map_err(|e: T::Err| ApiError::Invalid(e.to_string()))
        })
        .transpose()
}

/// The tenant's sync runs, filtered, with every connection's health
/// (admins only).
#[server(endpoint = "sync_runs", input = GetUrl)]
pub async fn get_sync_page(
    user: Option<String>,
    provider: Option<String>,
    connection: Option<String>,
    outcome: Option<String>,
    trigger: Option<String>,
    before: Option<String>,
) -> Result<SyncPage, ApiError> {
    let admin = super::context::require_admin().await?;
    let state = super::context::state();
    let filter = crate::model::SyncRunFilter {
        user: parsed(user)?,
        provider: parsed(provider)?,
        connection: parsed(connection)?,
        outcome: parsed(outcome)?,
        trigger: parsed(trigger)?,
        before: parsed(before)?,
    };
    Ok(crate::server::sync::runs::page(&state.db, admin.0.scope(), &filter).await?)
}

/// One run with its items (admins only).
#[server(endpoint = "sync_run", input = GetUrl)]
pub async fn get_sync_run(id: SyncRunId) -> Result<SyncRunDetail, ApiError> {
    let admin = super::context::require_admin().await?;
    let state = super::context::state();
    Ok(crate::server::sync::runs::detail(&state.db, admin.0.scope(), id).await?)
}

/// The caller's own latest runs.
#[server(endpoint = "my_sync_runs", input = GetUrl)]
pub async fn get_my_sync_runs() -> Result<Vec<SyncRunView>, ApiError> {
    let caller = super::context::require_caller().await?;
    let state = super::context::state();
    Ok(crate::server::sync::runs::runs_of_user(&state.db, &caller.user, OWN_RUNS).await?)
}

/// Queues Sync now (or, for admins, a full resync) and answers the
/// server's clock (unix ms), from which the progress stream looks for the
/// run. An owner syncs their own connection; an admin any in the tenant.
#[server(endpoint = "request_sync")]
pub async fn request_sync(connection: ConnectionId, full: bool) -> Result<i64, ApiError> {
    let caller = super::context::require_caller().await?;
    let state = super::context::state();
    let since = crate::server::platform::db::now_ms();
    let admin = caller.role == crate::model::Role::Admin;
    if full && !admin {
        return Err(ApiError::Forbidden);
    }
    let owner = (!admin).then_some(&caller.user);
    crate::server::sync::runs::request(
        &state.db,
        &state.jobs,
        &caller.user.tenant,
        owner,
        connection,
        full,
    )
    .await?;
    Ok(since)
}
