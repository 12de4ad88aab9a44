//! The calendar's side of a booking's two-way sync ([`super::export`]
//! writes the booking's side): the host moving the booking's event moves
//! the booking, deleting it cancels the booking — unless the booking
//! changed too (the attendee moved or canceled it), and then the
//! connection's policy decides; `ask` queues the pair for a person. Only
//! the time and whether it stands flow back ([`Slot`]): the event's title,
//! description and guests are calbridge's wording and the attendee's own.

use super::announce;
use crate::model::{BookingId, Slot, SyncAction};
use crate::server::jobs::JobError;
use crate::server::platform::db::appointments as appointments_repo;
use crate::server::platform::db::bookings::{self as repo, Booking, Export};
use crate::server::platform::db::connections::Connection;
use crate::server::platform::db::{now_ms, Db, DbError, DbResult, Duplicate, Tx};
use crate::server::platform::live::Live;
use crate::server::sync::export as sync_export;
use crate::server::sync::plan::{plan_slot, Plan, Seen};
use crate::server::sync::runs::{Item, Run};

/// What a look at the calendar's side came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The calendar holds what both last agreed on (its etag may have
    /// moved).
    Unchanged,
    /// The booking's side is to be written: it changed, or it wins.
    Write,
    /// Both sides changed to the same.
    Agreed,
    /// The booking took the calendar's side.
    TookCalendar,
    /// Both changed: waiting for a person.
    Queued,
    /// The booking changed while this looked: look again.
    Raced,
}

/// How the sync log names a booking.
pub fn log_title(b: &Booking) -> String {
    format!("Booking with {}", b.attendee_name)
}

/// The export record once both sides hold `slot` as the calendar's `etag`.
pub(super) fn agreed_on(b: &Booking, slot: Slot, etag: Option<String>) -> Export {
    Export {
        etag,
        starts_at: Some(slot.starts_at),
        ends_at: Some(slot.ends_at),
        canceled: slot.canceled,
        error: None,
        conflict: None,
        ..b.export.clone()
    }
}

async fn record(db: &Db, b: &Booking, export: &Export) -> DbResult<()> {
    repo::record_export(&mut *db.writer().await?, &b.host.tenant, b.id, export).await
}

/// Decides what the calendar's current side of booking `b` (`calendar`,
/// as of `etag`) means, and records it. The caller writes the booking's
/// side on [`Outcome::Write`] and looks again on [`Outcome::Raced`].
pub async fn decide(
    db: &Db,
    b: &Booking,
    calendar: Slot,
    etag: Option<String>,
) -> DbResult<Outcome> {
    let (Some(connection), Some(agreed)) = (b.export.connection, b.export.agreed()) else {
        return Ok(Outcome::Unchanged);
    };
    let etag = etag.or_else(|| b.export.etag.clone());
    if let Some(waiting) = b.export.conflict {
        // Still for a person to settle; they see the calendar's latest.
        if waiting != calendar || etag != b.export.etag {
            let waiting = Export {
                etag,
                conflict: Some(calendar),
                ..b.export.clone()
            };
            record(db, b, &waiting).await?;
        }
        return Ok(Outcome::Queued);
    }
    let policy = appointments_repo::conflict_policy(db.pool(), &b.host.tenant, connection).await?;
    Ok(match plan_slot(agreed, b.slot(), calendar, policy) {
        Plan::Nothing => {
            if etag != b.export.etag {
                let current = Export {
                    etag,
                    ..b.export.clone()
                };
                record(db, b, &current).await?;
            }
            Outcome::Unchanged
        }
        // What the calendar holds is what the booking's write replaces
        // (a deleted event: a new one is made).
        Plan::Export => {
            record(db, b, &agreed_on(b, calendar, etag)).await?;
            Outcome::Write
        }
        Plan::Converged => {
            record(db, b, &agreed_on(b, calendar, etag)).await?;
            Outcome::Agreed
        }
        Plan::Import => take_calendar(db, b, calendar, etag).await?,
        Plan::Queue => {
            queue(db, b, calendar, etag).await?;
            tracing::info!(booking = %b.id, "both sides changed: queued for a person");
            Outcome::Queued
        }
    })
}

async fn queue(db: &Db, b: &Booking, calendar: Slot, etag: Option<String>) -> DbResult<()> {
    let waiting = Export {
        etag,
        error: None,
        conflict: Some(calendar),
        ..b.export.clone()
    };
    record(db, b, &waiting).await
}

/// Whether `slot` overlaps another of the host's confirmed bookings (on
/// PostgreSQL the exclusion constraint says so too; SQLite relies on this).
async fn overlaps_another(tx: &mut Tx, b: &Booking, slot: Slot) -> DbResult<bool> {
    if slot.canceled {
        return Ok(false);
    }
    let others = repo::confirmed_between(&mut **tx, &b.host, slot.starts_at, slot.ends_at).await?;
    Ok(others.iter().any(|o| o.id != b.id))
}

/// Makes the calendar's side the booking's, if the booking is still as
/// read. A time that overlaps another booking of the host is not taken:
/// the pair waits for a person instead.
pub(super) async fn take_calendar(
    db: &Db,
    b: &Booking,
    calendar: Slot,
    etag: Option<String>,
) -> DbResult<Outcome> {
    let scope = b.host.tenant;
    let mut tx = db.begin_write().await?;
    repo::lock_host(&mut tx, &b.host).await?;
    let overlap = overlaps_another(&mut tx, b, calendar).await?;
    let moved = if overlap {
        Err(DbError::Conflict(Duplicate::OverlappingBooking))
    } else {
        repo::set_slot(&mut *tx, &scope, b.id, b.slot(), calendar).await
    };
    match moved {
        Ok(true) => {}
        Ok(false) => return Ok(Outcome::Raced),
        Err(DbError::Conflict(Duplicate::OverlappingBooking)) => {
            drop(tx);
            queue(db, b, calendar, etag).await?;
            tracing::info!(booking = %b.id, "the calendar's time overlaps another booking: queued");
            return Ok(Outcome::Queued);
        }
        Err(e) => return Err(e),
    }
    repo::record_export(&mut *tx, &scope, b.id, &agreed_on(b, calendar, etag)).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(booking = %b.id, canceled = calendar.canceled, "booking took its calendar event's time");
    Ok(Outcome::TookCalendar)
}

/// Applies what a change feed saw of booking `id`'s event.
pub async fn observe(
    db: &Db,
    live: &Live,
    run: &mut Run,
    connection: &Connection,
    id: BookingId,
    seen: Seen,
) -> Result<(), JobError> {
    let scope = connection.owner.tenant;
    let Some(b) = repo::get(db.pool(), &scope, id).await? else {
        return Ok(());
    };
    let (Some(agreed), true) = (
        b.export.agreed(),
        b.export.connection == Some(connection.id),
    ) else {
        return Ok(());
    };
    let (calendar, etag) = match seen {
        Seen::Event(content, etag) => (
            Slot {
                starts_at: content.starts_at,
                ends_at: content.ends_at,
                canceled: content.canceled,
            },
            etag,
        ),
        Seen::Removed => (
            Slot {
                canceled: true,
                ..agreed
            },
            None,
        ),
    };
    let was_waiting = b.export.conflict;
    let outcome = decide(db, &b, calendar, etag).await?;
    let title = log_title(&b);
    let mut note = |action: SyncAction, detail: &str| {
        run.note(
            action,
            Item {
                calendar_id: b.export.calendar_id.as_deref(),
                external_id: b.export.event_id.as_deref().unwrap_or_default(),
                title: Some(&title),
                starts_at: Some(calendar.starts_at),
                detail: Some(detail.to_owned()),
            },
        )
    };
    match outcome {
        Outcome::Unchanged | Outcome::Agreed => note(
            SyncAction::Skipped,
            "written by calbridge: shown as its booking",
        ),
        Outcome::Write | Outcome::Raced => {
            let mut tx = db.begin_write().await?;
            sync_export::queue_at(&mut tx, &scope, id, now_ms()).await?;
            tx.commit().await.map_err(DbError::from)?;
        }
        Outcome::TookCalendar => {
            if calendar.canceled {
                note(
                    SyncAction::Deleted,
                    "deleted in the calendar: the booking is canceled",
                );
            } else {
                note(
                    SyncAction::Updated,
                    "moved in the calendar: the booking moved",
                );
            }
            announce(db, live, &b.host, id).await;
        }
        Outcome::Queued => {
            if was_waiting != Some(calendar) {
                note(SyncAction::Conflict, "changed on both sides");
                announce(db, live, &b.host, id).await;
            }
        }
    }
    Ok(())
}
