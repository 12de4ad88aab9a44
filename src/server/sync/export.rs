//! What every record calbridge mirrors to a calendar shares when it writes
//! its side: the job that finishes the write (queued in the transaction
//! that changed the record), the inline try bounded by [`INLINE_WAIT`], and
//! the number of passes over a record that keeps changing.

use crate::model::{AppointmentId, BookingId};
use crate::server::jobs::{Enqueue, Job, JobError, Queue};
use crate::server::platform::db::{DbResult, TenantScope, Tx};
use std::fmt;
use std::future::Future;
use std::time::Duration;

/// How long the request that changed a record waits for the calendar
/// before it answers; the export goes on in the background after that.
pub const INLINE_WAIT: Duration = Duration::from_secs(3);

/// Passes over a record that keeps changing while it is exported.
pub const PASSES: usize = 4;

/// When the queued job looks if the inline try did not finish (a crash, a
/// provider error).
const FALLBACK_DELAY_MS: i64 = 15_000;

/// A record calbridge keeps on a calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mirrored {
    Booking(BookingId),
    Appointment(AppointmentId),
}

impl Mirrored {
    fn id(self) -> uuid::Uuid {
        match self {
            Mirrored::Booking(id) => id.0,
            Mirrored::Appointment(id) => id.0,
        }
    }

    fn job(self) -> Job {
        match self {
            Mirrored::Booking(booking) => Job::ExportBooking { booking },
            Mirrored::Appointment(appointment) => Job::ExportAppointment { appointment },
        }
    }
}

impl fmt::Display for Mirrored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mirrored::Booking(id) => write!(f, "booking {id}"),
            Mirrored::Appointment(id) => write!(f, "appointment {id}"),
        }
    }
}

impl From<BookingId> for Mirrored {
    fn from(id: BookingId) -> Self {
        Mirrored::Booking(id)
    }
}

impl From<AppointmentId> for Mirrored {
    fn from(id: AppointmentId) -> Self {
        Mirrored::Appointment(id)
    }
}

/// Queues the export inside the transaction that changed the record, due
/// after the inline try would have finished.
pub async fn queue_in(
    tx: &mut Tx,
    scope: &TenantScope,
    record: impl Into<Mirrored>,
    now: i64,
) -> DbResult<()> {
    queue_at(tx, scope, record, now + FALLBACK_DELAY_MS).await
}

/// Queues the export (or brings a queued one forward) to run at `at`: one
/// per record at a time.
pub async fn queue_at(
    tx: &mut Tx,
    scope: &TenantScope,
    record: impl Into<Mirrored>,
    at: i64,
) -> DbResult<()> {
    let record = record.into();
    let job = record.job();
    let key = format!("{}:{}", job.kind(), record.id());
    let job = Enqueue::now(Some(scope), job).coalesced(key).at(at);
    Queue::enqueue_in(tx, &job).await.map(|_| ())
}

/// Runs `export` now, for at most [`INLINE_WAIT`]; past that it carries
/// on in the background, and the queued job covers a failure.
pub async fn try_now(
    record: Mirrored,
    export: impl Future<Output = Result<(), JobError>> + Send + 'static,
) {
    match tokio::time::timeout(INLINE_WAIT, tokio::spawn(export)).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => {
            tracing::warn!(%record, error = %e, "calendar export failed; the job retries")
        }
        Ok(Err(e)) => tracing::error!(%record, error = %e, "calendar export panicked"),
        Err(_) => tracing::info!(%record, "calendar export still running"),
    }
}
