//! Bookings. On PostgreSQL an exclusion constraint keeps a host's confirmed
//! bookings from overlapping; on SQLite the booking service's check inside
//! the write gate does.

use super::{now_ms, on_unique, parse_id, Backend, DbError, DbResult, Duplicate, Tx};
use super::{TenantScope, UserScope};
use crate::model::{BookingId, ConnectionId, EventTypeId, Slot, UserId};
use sqlx::{Any, Executor, FromRow};

pub struct NewBooking<'a> {
    pub id: BookingId,
    pub host: &'a UserScope,
    pub event_type: EventTypeId,
    pub starts_at: i64,
    pub ends_at: i64,
    pub buffer_before: u32,
    pub buffer_after: u32,
    pub attendee_name: &'a str,
    pub attendee_email: &'a str,
    pub attendee_phone: Option<&'a str>,
    pub attendee_time_zone: &'a str,
    pub purpose: Option<&'a str>,
    pub manage_token_hash: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub request_hash: &'a str,
}

/// PostgreSQL's exclusion-constraint violation.
const EXCLUSION_VIOLATION: &str = "23P01";

pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    new: &NewBooking<'_>,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO bookings (id, tenant_id, host_user_id, event_type_id, starts_at, ends_at, \
         buffer_before_minutes, buffer_after_minutes, status, attendee_name, attendee_email, attendee_phone, \
         attendee_time_zone, purpose, manage_token_hash, idempotency_key, request_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'confirmed', $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)",
    )
    .bind(new.id.to_string())
    .bind(new.host.tenant.tenant())
    .bind(new.host.user_id().to_string())
    .bind(new.event_type.to_string())
    .bind(new.starts_at)
    .bind(new.ends_at)
    .bind(i64::from(new.buffer_before))
    .bind(i64::from(new.buffer_after))
    .bind(new.attendee_name)
    .bind(new.attendee_email)
    .bind(new.attendee_phone)
    .bind(new.attendee_time_zone)
    .bind(new.purpose)
    .bind(new.manage_token_hash)
    .bind(new.idempotency_key)
    .bind(new.request_hash)
    .bind(now_ms())
    .execute(ex)
    .await
    .map_err(|e| match overlap(e) {
        DbError::Sqlx(e) => on_unique(e, Duplicate::IdempotencyKey),
        other => other,
    })?;
    Ok(())
}

fn overlap(e: sqlx::Error) -> DbError {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(EXCLUSION_VIOLATION) => {
            DbError::Conflict(Duplicate::OverlappingBooking)
        }
        _ => DbError::Sqlx(e),
    }
}

/// Makes the host's bookings wait for each other until `tx` ends: on
/// PostgreSQL a lock on the host's profile row; on SQLite the write gate
/// `tx` holds already does it.
pub async fn lock_host(tx: &mut Tx, host: &UserScope) -> DbResult<()> {
    if tx.backend() == Backend::Postgres {
        sqlx::query(
            "SELECT user_id FROM booking_profiles WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE",
        )
        .bind(host.tenant.tenant())
        .bind(host.user_id().to_string())
        .fetch_optional(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A booking as stored (without its manage token, which only the attendee has).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Booking {
    pub id: BookingId,
    pub host: UserScope,
    pub event_type: Option<EventTypeId>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub buffer_before: u32,
    pub buffer_after: u32,
    pub confirmed: bool,
    pub attendee_name: String,
    pub attendee_email: String,
    pub attendee_phone: Option<String>,
    pub attendee_time_zone: String,
    pub purpose: Option<String>,
    pub request_hash: Option<String>,
    /// How often its time or standing changed: the iCalendar `SEQUENCE`,
    /// so a calendar app takes a reschedule or a cancellation over the
    /// copy it has.
    pub sequence: i64,
    pub export: Export,
}

/// Where the booking lives on its host's calendar and what was last
/// written there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Export {
    /// The calendar connection it went to; none yet (or that connection
    /// was removed).
    pub connection: Option<ConnectionId>,
    pub calendar_id: Option<String>,
    pub event_id: Option<String>,
    pub etag: Option<String>,
    /// The times the event has, unix ms.
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    /// The event was deleted for a cancellation.
    pub canceled: bool,
    /// The Meet or Teams link, `https:` only.
    pub meeting_url: Option<String>,
    /// Why the last try failed.
    pub error: Option<String>,
    /// The calendar's side of a conflict waiting for a person.
    pub conflict: Option<Slot>,
}

impl Export {
    /// What the calendar and the booking last agreed on, once there is an
    /// event.
    pub fn agreed(&self) -> Option<Slot> {
        self.event_id.as_ref()?;
        Some(Slot {
            starts_at: self.starts_at?,
            ends_at: self.ends_at?,
            canceled: self.canceled,
        })
    }
}

impl Booking {
    /// The booking's time and whether it still stands.
    pub fn slot(&self) -> Slot {
        Slot {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            canceled: !self.confirmed,
        }
    }
}

#[derive(FromRow)]
struct Row {
    id: String,
    tenant_id: String,
    host_user_id: String,
    event_type_id: Option<String>,
    starts_at: i64,
    ends_at: i64,
    buffer_before_minutes: i64,
    buffer_after_minutes: i64,
    status: String,
    attendee_name: String,
    attendee_email: String,
    attendee_phone: Option<String>,
    attendee_time_zone: String,
    purpose: Option<String>,
    request_hash: Option<String>,
    export_connection_id: Option<String>,
    export_calendar_id: Option<String>,
    export_event_id: Option<String>,
    export_etag: Option<String>,
    exported_starts_at: Option<i64>,
    exported_ends_at: Option<i64>,
    exported_canceled: i64,
    meeting_url: Option<String>,
    export_error: Option<String>,
    conflict_starts_at: Option<i64>,
    conflict_ends_at: Option<i64>,
    conflict_canceled: Option<i64>,
    sequence: i64,
}

const COLUMNS: &str = "id, tenant_id, host_user_id, event_type_id, starts_at, ends_at, \
     buffer_before_minutes, buffer_after_minutes, status, attendee_name, attendee_email, \
     attendee_phone, attendee_time_zone, purpose, request_hash, export_connection_id, \
     export_calendar_id, export_event_id, export_etag, exported_starts_at, exported_ends_at, \
     exported_canceled, meeting_url, export_error, conflict_starts_at, conflict_ends_at, \
     conflict_canceled, sequence";

impl TryFrom<Row> for Booking {
    type Error = DbError;
    fn try_from(r: Row) -> DbResult<Self> {
        let minutes =
            |v: i64| u32::try_from(v).map_err(|_| DbError::Corrupt(format!("buffer {v}")));
        Ok(Booking {
            id: parse_id(&r.id)?,
            host: UserScope::new(
                TenantScope::new(parse_id(&r.tenant_id)?),
                parse_id(&r.host_user_id)?,
            ),
            event_type: r.event_type_id.as_deref().map(parse_id).transpose()?,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            buffer_before: minutes(r.buffer_before_minutes)?,
            buffer_after: minutes(r.buffer_after_minutes)?,
            confirmed: r.status == "confirmed",
            attendee_name: r.attendee_name,
            attendee_email: r.attendee_email,
            attendee_phone: r.attendee_phone,
            attendee_time_zone: r.attendee_time_zone,
            purpose: r.purpose,
            request_hash: r.request_hash,
            sequence: r.sequence,
            export: Export {
                connection: r
                    .export_connection_id
                    .as_deref()
                    .map(parse_id)
                    .transpose()?,
                calendar_id: r.export_calendar_id,
                event_id: r.export_event_id,
                etag: r.export_etag,
                starts_at: r.exported_starts_at,
                ends_at: r.exported_ends_at,
                canceled: r.exported_canceled != 0,
                meeting_url: r.meeting_url,
                error: r.export_error,
                conflict: match (
                    r.conflict_starts_at,
                    r.conflict_ends_at,
                    r.conflict_canceled,
                ) {
                    (Some(starts_at), Some(ends_at), Some(canceled)) => Some(Slot {
                        starts_at,
                        ends_at,
                        canceled: canceled != 0,
                    }),
                    _ => None,
                },
            },
        })
    }
}

/// The host's confirmed bookings that overlap `[from, to)`.
pub async fn confirmed_between<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    host: &UserScope,
    from: i64,
    to: i64,
) -> DbResult<Vec<Booking>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bookings WHERE tenant_id = $1 AND host_user_id = $2 \
         AND status = 'confirmed' AND starts_at < $4 AND ends_at > $3 ORDER BY starts_at"
    ))
    .bind(host.tenant.tenant())
    .bind(host.user_id().to_string())
    .bind(from)
    .bind(to)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Booking::try_from).collect()
}

/// The starts of the host's confirmed bookings for `attendee_email`
/// that have not begun at `now`, earliest first.
pub async fn upcoming_starts_of_attendee<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    host: &UserScope,
    attendee_email: &str,
    now: i64,
) -> DbResult<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT starts_at FROM bookings WHERE tenant_id = $1 AND host_user_id = $2 \
         AND attendee_email = $3 AND status = 'confirmed' AND starts_at > $4 ORDER BY starts_at",
    )
    .bind(host.tenant.tenant())
    .bind(host.user_id().to_string())
    .bind(attendee_email)
    .bind(now)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|(start,)| start).collect())
}

/// The booking made earlier in the tenant with this idempotency key.
pub async fn by_idempotency_key<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    key: &str,
) -> DbResult<Option<Booking>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bookings WHERE tenant_id = $1 AND idempotency_key = $2"
    ))
    .bind(scope.tenant())
    .bind(key)
    .fetch_optional(ex)
    .await?;
    row.map(Booking::try_from).transpose()
}

/// A booking of the tenant.
pub async fn get<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: BookingId,
) -> DbResult<Option<Booking>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bookings WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(scope.tenant())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await?;
    row.map(Booking::try_from).transpose()
}

/// unscoped: the attendee's manage link names the booking and proves
/// itself with the token (matched by its hash).
pub async fn by_manage_token<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: BookingId,
    token_hash: &str,
) -> DbResult<Option<Booking>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bookings WHERE id = $1 AND manage_token_hash = $2"
    ))
    .bind(id.to_string())
    .bind(token_hash)
    .fetch_optional(ex)
    .await?;
    row.map(Booking::try_from).transpose()
}

/// Cancels a confirmed booking; already canceled is no change.
pub async fn cancel<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: BookingId,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE bookings SET status = 'canceled', canceled_at = $3, updated_at = $3, sequence = sequence + 1 \
         WHERE tenant_id = $1 AND id = $2 AND status = 'confirmed'",
    )
    .bind(scope.tenant())
    .bind(id.to_string())
    .bind(now_ms())
    .execute(ex)
    .await?;
    Ok(())
}

/// Moves a confirmed booking; an overlap with another of the host's
/// bookings is a conflict (PostgreSQL's exclusion constraint).
pub async fn move_to<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: BookingId,
    starts_at: i64,
    ends_at: i64,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE bookings SET starts_at = $3, ends_at = $4, updated_at = $5, sequence = sequence + 1 \
         WHERE tenant_id = $1 AND id = $2 AND status = 'confirmed'",
    )
    .bind(scope.tenant())
    .bind(id.to_string())
    .bind(starts_at)
    .bind(ends_at)
    .bind(now_ms())
    .execute(ex)
    .await
    .map_err(overlap)?;
    super::found(done.rows_affected())
}

/// How many confirmed bookings each host of the tenant has in `[from, to)`.
pub async fn counts_between<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    from: i64,
    to: i64,
) -> DbResult<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT host_user_id, COUNT(*) FROM bookings WHERE tenant_id = $1 \
         AND status = 'confirmed' AND starts_at < $3 AND ends_at > $2 GROUP BY host_user_id",
    )
    .bind(scope.tenant())
    .bind(from)
    .bind(to)
    .fetch_all(ex)
    .await?)
}

/// Records what the host's calendar now holds for the booking (and clears
/// or sets the error). Leaves `updated_at` alone: that is the booking's own.
pub async fn record_export<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: BookingId,
    export: &Export,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE bookings SET export_connection_id = $3, export_calendar_id = $4, export_event_id = $5, \
         export_etag = $6, exported_starts_at = $7, exported_ends_at = $8, exported_canceled = $9, \
         meeting_url = $10, export_error = $11, conflict_starts_at = $12, conflict_ends_at = $13, \
         conflict_canceled = $14 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(scope.tenant())
    .bind(id.to_string())
    .bind(export.connection.map(|c| c.to_string()))
    .bind(export.calendar_id.as_deref())
    .bind(export.event_id.as_deref())
    .bind(export.etag.as_deref())
    .bind(export.starts_at)
    .bind(export.ends_at)
    .bind(i64::from(export.canceled))
    .bind(export.meeting_url.as_deref())
    .bind(export.error.as_deref())
    .bind(export.conflict.map(|c| c.starts_at))
    .bind(export.conflict.map(|c| c.ends_at))
    .bind(export.conflict.map(|c| i64::from(c.canceled)))
    .execute(ex)
    .await?;
    super::found(done.rows_affected())
}

/// Whether `id` is one of the owner's bookings or appointments: what an
/// event calbridge wrote names as its origin.
pub async fn is_own_record<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: uuid::Uuid,
) -> DbResult<bool> {
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM bookings WHERE tenant_id = $1 AND host_user_id = $2 AND id = $3 \
         UNION ALL \
         SELECT 1 FROM appointments WHERE tenant_id = $1 AND owner_user_id = $2 AND id = $3",
    )
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await?;
    Ok(found.is_some())
}

/// An event calbridge wrote to a connection's calendar for a booking.
pub struct ExportedEvent {
    pub calendar_id: String,
    pub event_id: String,
    pub booking: BookingId,
    /// Deleted by calbridge for the booking's cancellation.
    pub canceled: bool,
}

/// The events calbridge wrote to a connection's calendars for bookings:
/// the imports hand them to the bookings.
pub async fn exported_events<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    connection: ConnectionId,
) -> DbResult<Vec<ExportedEvent>> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT export_calendar_id, export_event_id, id, exported_canceled FROM bookings \
         WHERE tenant_id = $1 AND export_connection_id = $2 AND export_event_id IS NOT NULL \
         AND export_calendar_id IS NOT NULL",
    )
    .bind(scope.tenant())
    .bind(connection.to_string())
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|(calendar_id, event_id, id, canceled)| {
            Ok(ExportedEvent {
                calendar_id,
                event_id,
                booking: parse_id(&id)?,
                canceled: canceled != 0,
            })
        })
        .collect()
}

/// Makes the booking hold `slot` (moved, canceled or standing again), if
/// it still holds `read`: false when it changed meanwhile. An overlap with
/// another of the host's bookings is a conflict (PostgreSQL's exclusion
/// constraint).
pub async fn set_slot<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: BookingId,
    read: Slot,
    slot: Slot,
) -> DbResult<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE bookings SET starts_at = $3, ends_at = $4, status = $5, updated_at = $6, sequence = sequence + 1, \
         canceled_at = CASE WHEN $5 = 'canceled' THEN $6 ELSE NULL END \
         WHERE tenant_id = $1 AND id = $2 AND starts_at = $7 AND ends_at = $8 AND status = $9",
    )
    .bind(scope.tenant())
    .bind(id.to_string())
    .bind(slot.starts_at)
    .bind(slot.ends_at)
    .bind(status_word(slot))
    .bind(now)
    .bind(read.starts_at)
    .bind(read.ends_at)
    .bind(status_word(read))
    .execute(ex)
    .await
    .map_err(overlap)?;
    Ok(done.rows_affected() == 1)
}

fn status_word(slot: Slot) -> &'static str {
    if slot.canceled {
        "canceled"
    } else {
        "confirmed"
    }
}

/// The tenant's bookings in conflict with their calendar event (or only
/// `host`'s), oldest change first.
pub async fn conflicts<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    host: Option<UserId>,
    limit: i64,
) -> DbResult<Vec<Booking>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bookings WHERE tenant_id = $1 AND conflict_canceled IS NOT NULL \
         AND ($2 IS NULL OR host_user_id = $2) ORDER BY updated_at, id LIMIT $3"
    ))
    .bind(scope.tenant())
    .bind(host.map(|h| h.to_string()))
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Booking::try_from).collect()
}
