//! Settling a booking's conflict with its calendar event: a person keeps
//! the booking's side (written over the calendar's) or the calendar's
//! (which the booking takes).

use super::error::BookError;
use super::two_way::{agreed_on, take_calendar, Outcome};
use super::{export, Bookings};
use crate::model::BookingId;
use crate::server::error::AppError;
use crate::server::platform::db::bookings::{self as repo, Booking, Export};
use crate::server::platform::db::{DbError, TenantScope, UserScope};
use crate::server::sync::export as sync_export;
use crate::server::sync::plan::Keep;

/// Settles a booking's conflict: the booking's side is written over the
/// calendar's, or the calendar's becomes the booking's. `host`, when
/// given, must be the booking's.
pub async fn settle(
    ctx: &Bookings,
    tenant: &TenantScope,
    host: Option<&UserScope>,
    id: BookingId,
    keep: Keep,
) -> Result<(), BookError> {
    let one_at_a_time = ctx.sync_locks.lock(id.into()).await;
    let b = repo::get(ctx.db.pool(), tenant, id)
        .await
        .map_err(AppError::from)?
        .filter(|b| host.is_none_or(|h| h.user_id() == b.host.user_id()))
        .ok_or(BookError::NotFound)?;
    let Some(calendar) = b.export.conflict else {
        return Err(BookError::Invalid {
            field: "keep",
            message: "This booking has no conflict to settle.",
        });
    };
    let unqueued = Booking {
        export: Export {
            conflict: None,
            ..b.export.clone()
        },
        ..b.clone()
    };
    match keep {
        Keep::Calendar => match take_calendar(&ctx.db, &unqueued, calendar, b.export.etag.clone())
            .await
            .map_err(AppError::from)?
        {
            Outcome::TookCalendar => {}
            Outcome::Raced => return Err(BookError::NotFound),
            _ => {
                return Err(BookError::Invalid {
                    field: "keep",
                    message: "The calendar's time overlaps another booking of the host.",
                })
            }
        },
        Keep::Calbridge => {
            let mut tx = ctx.db.begin_write().await.map_err(AppError::from)?;
            let replaced = agreed_on(&unqueued, calendar, b.export.etag.clone());
            repo::record_export(&mut *tx, tenant, id, &replaced)
                .await
                .map_err(AppError::from)?;
            sync_export::queue_in(&mut tx, tenant, id, ctx.clock.now_ms())
                .await
                .map_err(AppError::from)?;
            tx.commit()
                .await
                .map_err(DbError::from)
                .map_err(AppError::from)?;
            // The inline export takes the lock.
            drop(one_at_a_time);
            export::try_now(ctx, tenant, id).await;
        }
    }
    ctx.announce(&b.host, id).await;
    Ok(())
}
