//! The `booking.export` job: queued in the transaction that changed the
//! booking (or by an import that found the booking's side newer), one per
//! booking at a time. Apart from `export`, so the import can queue an
//! export without depending on it.

use crate::model::BookingId;
use crate::server::jobs::{Enqueue, Job, Queue};
use crate::server::platform::db::{DbResult, TenantScope, Tx};

/// When the job looks if the inline try did not finish (a crash, a
/// provider error).
const FALLBACK_DELAY_MS: i64 = 15_000;

/// Queues the export inside the transaction that changed the booking, due
/// after the inline try would have finished.
pub async fn queue_in(tx: &mut Tx, scope: &TenantScope, id: BookingId, now: i64) -> DbResult<()> {
    queue_at(tx, scope, id, now + FALLBACK_DELAY_MS).await
}

/// Queues the export (or brings a queued one forward) to run at `at`.
pub async fn queue_at(tx: &mut Tx, scope: &TenantScope, id: BookingId, at: i64) -> DbResult<()> {
    let job = Enqueue::now(Some(scope), Job::ExportBooking { booking: id })
        .coalesced(format!("booking.export:{id}"))
        .at(at);
    Queue::enqueue_in(tx, &job).await.map(|_| ())
}
