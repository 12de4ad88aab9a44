//! Provider webhook receivers: verify, then store the event and its job in
//! one transaction, then acknowledge. No provider is called on the request
//! path; the jobs do that.

pub mod calendly;
pub mod google;
pub mod ingest;
pub mod microsoft;

use crate::model::Provider;
use crate::server::connections::routes::CalendlyRoutes;
use crate::server::error::AppError;
use crate::server::jobs::Enqueue;
use crate::server::platform::clock::Clock;
use crate::server::platform::db::webhook_events::{NewEvent, WebhookResult};
use crate::server::platform::db::Db;
use crate::server::platform::vault::Vault;
use ingest::Stored;
use std::sync::Arc;
use std::time::Instant;

/// What the webhook receivers use: no provider call, only verification
/// data and the group-committed store.
#[derive(Clone)]
pub struct Receivers {
    pub db: Db,
    pub vault: Arc<Vault>,
    pub clock: Arc<Clock>,
    pub ingest: Arc<ingest::Ingest>,
    pub calendly_routes: Arc<CalendlyRoutes>,
}

/// One request being received: the receivers, and when it arrived (its
/// acknowledgement latency is counted from there).
pub struct Arrival<'a> {
    pub receivers: &'a Receivers,
    pub at: Instant,
}

impl<'a> Arrival<'a> {
    /// A request that arrives now.
    pub fn now(receivers: &'a Receivers) -> Self {
        Arrival {
            receivers,
            at: Instant::now(),
        }
    }
}

impl std::ops::Deref for Arrival<'_> {
    type Target = Receivers;
    fn deref(&self) -> &Receivers {
        self.receivers
    }
}

/// A delivery that could not be tied to a tenant (unknown target or
/// unreadable), for the record.
pub(crate) fn unrouted(provider: Provider, result: WebhookResult, detail: &str) -> NewEvent {
    NewEvent {
        tenant: None,
        user: None,
        connection: None,
        provider,
        event_type: "unknown".into(),
        dedupe_key: None,
        result,
        detail: Some(detail.into()),
        payload: None,
    }
}

/// Records a delivery that leads nowhere (rejected, unrouted, ignored).
/// Anyone can send these, so they are counted, and stored at most once per
/// source (the connection it claimed, or "unknown"), result and minute:
/// repeats only raise the first record's count, and garbage cannot grow
/// the database faster than that.
pub(crate) async fn record(ctx: &Arrival<'_>, mut event: NewEvent) -> Result<(), AppError> {
    metrics::counter!(
        "webhooks_discarded_total",
        "provider" => event.provider.as_str(),
        "result" => event.result.as_str()
    )
    .increment(1);
    let source = event
        .connection
        .map_or_else(|| "unknown".to_owned(), |c| c.to_string());
    let minute = crate::server::platform::db::now_ms() / 60_000;
    event.dedupe_key = Some(format!("{}|{source}|{minute}", event.result.as_str()));
    ctx.ingest.store(ctx.at, event, |_| None).await?;
    Ok(())
}

/// Stores a verified delivery and its job durably (group commit); `false`
/// when its dedupe key was seen before (nothing queued, duplicate counted).
pub(crate) async fn store_and_queue(
    ctx: &Arrival<'_>,
    event: NewEvent,
    job: impl FnOnce(&str) -> Enqueue,
) -> Result<bool, AppError> {
    let stored = ctx.ingest.store(ctx.at, event, |id| Some(job(id))).await?;
    Ok(stored == Stored::New)
}

/// Constant-time comparison of a secret a notification carries.
pub(crate) fn same_secret(received: &str, stored: &str) -> bool {
    use subtle::ConstantTimeEq;
    received.as_bytes().ct_eq(stored.as_bytes()).into()
}
