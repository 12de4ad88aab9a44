//! Provider webhook receivers: verify, then store the event and its job in
//! one transaction, then acknowledge. No provider is called on the request
//! path; the jobs do that.

pub mod admin;
pub mod calendly;
pub mod google;
pub mod microsoft;
pub mod signature;

use crate::model::Provider;
use crate::server::db::webhook_events::{self as events_repo, NewEvent, WebhookResult};
use crate::server::db::DbError;
use crate::server::error::AppError;
use crate::server::jobs::{Enqueue, Queue};
use crate::server::state::AppState;

/// A delivery that could not be tied to a tenant (unknown target or
/// unreadable), for the record.
pub(crate) fn unrouted(provider: Provider, result: WebhookResult, detail: &str) -> NewEvent<'_> {
    NewEvent {
        tenant: None,
        user: None,
        connection: None,
        provider,
        event_type: "unknown",
        dedupe_key: None,
        result,
        detail: Some(detail),
        payload: None,
    }
}

/// Records a delivery that leads nowhere (rejected, unrouted, ignored).
pub(crate) async fn record(state: &AppState, event: &NewEvent<'_>) -> Result<(), AppError> {
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    events_repo::insert(&mut conn, event).await?;
    Ok(())
}

/// Stores a verified delivery and its job in one transaction; `false` when
/// its dedupe key was seen before (nothing queued, duplicate counted).
pub(crate) async fn store_and_queue<'a>(
    state: &AppState,
    event: &NewEvent<'_>,
    job: impl FnOnce(&str) -> Enqueue<'a>,
) -> Result<bool, AppError> {
    let mut tx = state.db.begin_write().await?;
    let Some(event_id) = events_repo::insert(&mut tx, event).await? else {
        tx.commit().await.map_err(DbError::from)?;
        return Ok(false);
    };
    Queue::enqueue_in(&mut tx, state.db.backend(), &job(&event_id)).await?;
    tx.commit().await.map_err(DbError::from)?;
    state.jobs.wake();
    Ok(true)
}

/// Constant-time comparison of a secret a notification carries.
pub(crate) fn same_secret(received: &str, stored: &str) -> bool {
    use subtle::ConstantTimeEq;
    received.as_bytes().ct_eq(stored.as_bytes()).into()
}
