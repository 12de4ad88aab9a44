//! Meetings imported from providers, one per (connection, provider event).

use super::{now_ms, DbError, DbResult, UserScope};
use crate::model::ProviderMeeting;
use crate::model::{ConnectionId, MeetingId, MeetingSource, MeetingStatus};
use sqlx::{Any, Executor, FromRow};

/// What an upsert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upserted {
    Inserted(MeetingId),
    Updated(MeetingId),
    /// The row already held exactly this.
    Unchanged,
}

/// The columns an update compares: a row that equals the provider's
/// version in all of them is left alone.
const COMPARED: [&str; 16] = [
    "title",
    "starts_at",
    "ends_at",
    "time_zone",
    "status",
    "invitee_name",
    "invitee_email",
    "attendees",
    "location",
    "join_url",
    "cancel_url",
    "reschedule_url",
    "rescheduled_to",
    "provider_updated_at",
    "blocks_time",
    "all_day",
];

/// Inserts or updates the meeting to match the provider; running it twice
/// changes nothing the second time.
pub async fn upsert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    connection: ConnectionId,
    m: &ProviderMeeting,
    webhook_event_id: Option<&str>,
) -> DbResult<Upserted> {
    let now = now_ms();
    // SQLite has `IS DISTINCT FROM` since 3.39; sqlx bundles a newer one.
    let differs = COMPARED
        .iter()
        .map(|c| format!("meetings.{c} IS DISTINCT FROM excluded.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let row: Option<(String, i64)> = sqlx::query_as(&format!(
        "INSERT INTO meetings (id, tenant_id, user_id, connection_id, provider, provider_event_id, title, starts_at, ends_at, \
         time_zone, status, invitee_name, invitee_email, attendees, location, join_url, cancel_url, reschedule_url, \
         rescheduled_to, provider_updated_at, webhook_event_id, created_at, updated_at, blocks_time, all_day) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22, $23, $24) \
         ON CONFLICT (connection_id, provider_event_id) DO UPDATE SET title = excluded.title, starts_at = excluded.starts_at, \
         ends_at = excluded.ends_at, time_zone = excluded.time_zone, status = excluded.status, \
         invitee_name = excluded.invitee_name, invitee_email = excluded.invitee_email, attendees = excluded.attendees, \
         location = excluded.location, join_url = excluded.join_url, cancel_url = excluded.cancel_url, \
         reschedule_url = excluded.reschedule_url, rescheduled_to = excluded.rescheduled_to, \
         provider_updated_at = excluded.provider_updated_at, blocks_time = excluded.blocks_time, all_day = excluded.all_day, \
         webhook_event_id = COALESCE(excluded.webhook_event_id, meetings.webhook_event_id), updated_at = excluded.updated_at \
         WHERE meetings.tenant_id = excluded.tenant_id AND ({differs}) \
         RETURNING id, created_at"
    ))
    .bind(MeetingId::generate().to_string())
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(connection.to_string())
    .bind(m.provider.as_str())
    .bind(&m.provider_event_id)
    .bind(&m.title)
    .bind(m.starts_at)
    .bind(m.ends_at)
    .bind(&m.time_zone)
    .bind(m.status.as_str())
    .bind(&m.invitee_name)
    .bind(&m.invitee_email)
    .bind(serde_json::to_string(&m.attendees).unwrap_or_else(|_| "[]".into()))
    .bind(&m.location)
    .bind(&m.join_url)
    .bind(&m.cancel_url)
    .bind(&m.reschedule_url)
    .bind(&m.rescheduled_to)
    .bind(m.provider_updated_at)
    .bind(webhook_event_id)
    .bind(now)
    .bind(i64::from(m.blocks_time))
    .bind(i64::from(m.all_day))
    .fetch_optional(ex)
    .await?;
    Ok(match row {
        None => Upserted::Unchanged,
        Some((id, created_at)) if created_at == now => Upserted::Inserted(super::parse_id(&id)?),
        Some((id, _)) => Upserted::Updated(super::parse_id(&id)?),
    })
}

/// A meeting on the owner's page: imported from a provider, or one of
/// their bookings (source `calbridge`, the booking's id).
#[derive(FromRow)]
pub struct MeetingRow {
    pub id: String,
    pub source: String,
    pub title: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub status: String,
    pub invitee_name: Option<String>,
    pub invitee_email: Option<String>,
    pub location: Option<String>,
    pub join_url: Option<String>,
    pub cancel_url: Option<String>,
    pub reschedule_url: Option<String>,
    /// `meeting` (from a provider), `booking` or `appointment`.
    pub kind: String,
}

impl MeetingRow {
    pub fn id(&self) -> DbResult<MeetingId> {
        super::parse_id(&self.id)
    }
    pub fn source(&self) -> DbResult<MeetingSource> {
        self.source.parse().map_err(DbError::Corrupt)
    }
    pub fn status(&self) -> DbResult<MeetingStatus> {
        self.status.parse().map_err(DbError::Corrupt)
    }
}

/// The user's meetings, bookings and appointments starting in `[from, to)`,
/// earliest first (or latest first).
pub async fn list_for_user<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    from: i64,
    to: i64,
    ascending: bool,
) -> DbResult<Vec<MeetingRow>> {
    let order = if ascending { "ASC" } else { "DESC" };
    Ok(sqlx::query_as(&format!(
        "SELECT id, provider AS source, title, starts_at, ends_at, status, invitee_name, invitee_email, \
         location, join_url, cancel_url, reschedule_url, 'meeting' AS kind FROM meetings \
         WHERE tenant_id = $1 AND user_id = $2 AND starts_at >= $3 AND starts_at < $4 \
         UNION ALL \
         SELECT b.id, 'calbridge', COALESCE(t.name, 'Meeting'), b.starts_at, b.ends_at, \
         CASE WHEN b.status = 'confirmed' THEN 'scheduled' ELSE 'canceled' END, b.attendee_name, \
         b.attendee_email, t.location_detail, b.meeting_url, NULL, NULL, 'booking' \
         FROM bookings b LEFT JOIN event_types t ON t.id = b.event_type_id \
         WHERE b.tenant_id = $1 AND b.host_user_id = $2 AND b.starts_at >= $3 AND b.starts_at < $4 \
         UNION ALL \
         SELECT a.id, 'calbridge', a.title, a.starts_at, a.ends_at, \
         CASE WHEN a.status = 'confirmed' THEN 'scheduled' ELSE 'canceled' END, NULL, NULL, \
         a.location, NULL, NULL, NULL, 'appointment' \
         FROM appointments a \
         WHERE a.tenant_id = $1 AND a.owner_user_id = $2 AND a.starts_at >= $3 AND a.starts_at < $4 \
         ORDER BY starts_at {order}, id LIMIT 1000"
    ))
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(from)
    .bind(to)
    .fetch_all(ex)
    .await?)
}

/// Marks a meeting canceled (the provider deleted it); its id when it
/// existed and changed.
pub async fn mark_canceled<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    connection: ConnectionId,
    provider_event_id: &str,
) -> DbResult<Option<Canceled>> {
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "UPDATE meetings SET status = 'canceled', updated_at = $1 \
         WHERE tenant_id = $2 AND user_id = $3 AND connection_id = $4 AND provider_event_id = $5 AND status <> 'canceled' \
         RETURNING id, title, starts_at",
    )
    .bind(now_ms())
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(connection.to_string())
    .bind(provider_event_id)
    .fetch_optional(ex)
    .await?;
    row.map(|(id, title, starts_at)| {
        Ok(Canceled {
            id: super::parse_id(&id)?,
            title,
            starts_at,
        })
    })
    .transpose()
}

/// A meeting a cancellation reached.
pub struct Canceled {
    pub id: MeetingId,
    pub title: String,
    pub starts_at: i64,
}

/// Provider event ids of the connection's live meetings starting with
/// `prefix` (one Google calendar), for a full resync to find deletions.
pub async fn live_event_ids<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    connection: ConnectionId,
    prefix: &str,
) -> DbResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT provider_event_id FROM meetings WHERE tenant_id = $1 AND user_id = $2 AND connection_id = $3 \
         AND status <> 'canceled' AND substr(provider_event_id, 1, length($4)) = $4",
    )
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(connection.to_string())
    .bind(prefix)
    .fetch_all(ex)
    .await?)
}

/// Forgets every meeting a connection brought in (its provider account
/// moved to another person, who re-imports them).
pub async fn delete_for_connection<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &super::TenantScope,
    connection: ConnectionId,
) -> DbResult<u64> {
    let done = sqlx::query("DELETE FROM meetings WHERE tenant_id = $1 AND connection_id = $2")
        .bind(scope.tenant())
        .bind(connection.to_string())
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

/// A mirrored event that blocks its owner's time.
pub struct BusyRow {
    pub connection_id: String,
    pub starts_at: i64,
    pub ends_at: i64,
    /// Midnight-UTC dates, to be read in the owner's zone.
    pub all_day: bool,
}

/// The owner's scheduled meetings that block time overlapping `[from, to)`
/// (all-day ones within a day of it, as their dates are zone-free): the
/// local mirror of their busy calendars and Calendly events.
pub async fn busy_between<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    from: i64,
    to: i64,
) -> DbResult<Vec<BusyRow>> {
    const DAY_MS: i64 = 24 * 3600 * 1000;
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT connection_id, starts_at, ends_at, all_day FROM meetings \
         WHERE tenant_id = $1 AND user_id = $2 AND status = 'scheduled' AND blocks_time <> 0 \
         AND starts_at < $4 + (all_day * $5) AND ends_at > $3 - (all_day * $5) ORDER BY starts_at",
    )
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(from)
    .bind(to)
    .bind(DAY_MS)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(connection_id, starts_at, ends_at, all_day)| BusyRow {
            connection_id,
            starts_at,
            ends_at,
            all_day: all_day != 0,
        })
        .collect())
}
