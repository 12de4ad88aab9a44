//! What a stranger on the public booking pages may make calbridge do.
//! Every booking there puts an event with the visitor's words in the host's
//! calendar and has the host's provider e-mail an invitation, so bookings
//! are limited per client address, per attendee e-mail and per host, and
//! cancels and reschedules (a loop that repeats the invitations) per
//! manage link and per address. Each limit is checked before any provider
//! call; the API's keys have their own limit.

use super::error::BookError;
use super::Bookings;
use crate::server::platform::db::booking_profiles::Profile;
use crate::server::platform::db::bookings::{self as repo, Booking};
use crate::server::platform::limits::{Limit, LimitName, Refused, Window};

/// Bookings one client address may make in an hour and in a day.
pub const BOOKINGS_PER_ADDRESS_HOUR: i64 = 5;
pub const BOOKINGS_PER_ADDRESS_DAY: i64 = 20;
/// Upcoming bookings one attendee e-mail may hold with one host.
pub const UPCOMING_PER_ATTENDEE: i64 = 3;
/// Cancels and reschedules through one manage link in a day.
pub const CHANGES_PER_BOOKING_DAY: i64 = 5;
/// Cancels and reschedules from one client address in an hour.
pub const CHANGES_PER_ADDRESS_HOUR: i64 = 10;

/// Before a public booking of `host` for `email` from `visitor` (a client
/// address) may read calendars or be written.
pub async fn before_booking(
    ctx: &Bookings,
    host: &Profile,
    visitor: &str,
    email: &str,
) -> Result<(), BookError> {
    let now = ctx.clock.now_ms();
    let upcoming =
        repo::upcoming_starts_of_attendee(ctx.db.pool(), &host.owner, email, now).await?;
    if upcoming.len() as i64 >= UPCOMING_PER_ATTENDEE {
        let host_id = host.owner.user_id().to_string();
        ctx.limits
            .record_refusal(
                &host.owner.tenant,
                LimitName::UpcomingPerAttendee,
                &host_id,
                Window::Hour,
                UPCOMING_PER_ATTENDEE,
            )
            .await?;
        // One more may be booked once the earliest has begun.
        let earliest = upcoming.first().copied().unwrap_or(now);
        return Err(BookError::Limited(Refused {
            limit: LimitName::UpcomingPerAttendee,
            retry_after_secs: u64::try_from((earliest - now) / 1000).unwrap_or(0).max(1),
        }));
    }
    let limit = |name, subject: &str, window, max| Limit {
        name,
        subject: subject.to_owned(),
        window,
        max,
    };
    let limits = [
        limit(
            LimitName::BookingsPerAddressHour,
            visitor,
            Window::Hour,
            BOOKINGS_PER_ADDRESS_HOUR,
        ),
        limit(
            LimitName::BookingsPerAddressDay,
            visitor,
            Window::Day,
            BOOKINGS_PER_ADDRESS_DAY,
        ),
        limit(
            LimitName::PublicBookingsPerHost,
            &host.owner.user_id().to_string(),
            Window::Day,
            host.public_daily_limit,
        ),
    ];
    ctx.limits
        .take(&host.owner.tenant, &limits)
        .await?
        .map_err(BookError::Limited)?;
    Ok(())
}

/// Before the attendee of `booking` cancels or reschedules it from
/// `visitor` (a client address).
pub async fn before_change(
    ctx: &Bookings,
    booking: &Booking,
    visitor: &str,
) -> Result<(), BookError> {
    let limits = [
        Limit {
            name: LimitName::ChurnPerManageLink,
            subject: booking.id.to_string(),
            window: Window::Day,
            max: CHANGES_PER_BOOKING_DAY,
        },
        Limit {
            name: LimitName::ChurnPerAddress,
            subject: visitor.to_owned(),
            window: Window::Hour,
            max: CHANGES_PER_ADDRESS_HOUR,
        },
    ];
    ctx.limits
        .take(&booking.host.tenant, &limits)
        .await?
        .map_err(BookError::Limited)?;
    Ok(())
}
