//! The `connection_calendars` table: the calendars of each connection,
//! which count as busy, which is written to, and where each one's change
//! feed resumes.

use super::{found, now_ms, DbResult, TenantScope, UserScope};
use crate::model::{CalendarId, ConnectionId};
use sqlx::{Any, Executor};

/// Before a disconnected connection moves to a new owner: its calendars
/// (with their sync tokens) and its delta link go, so nothing of the old
/// owner's sync carries over.
pub async fn forget_sync_state(
    conn: &mut sqlx::AnyConnection,
    scope: &TenantScope,
    id: ConnectionId,
) -> DbResult<()> {
    sqlx::query("DELETE FROM connection_calendars WHERE tenant_id = $1 AND connection_id = $2")
        .bind(scope.tenant())
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE connections SET delta_link = NULL, last_sync_at = NULL WHERE tenant_id = $1 AND id = $2",
    )
    .bind(scope.tenant())
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A calendar of a connection as stored.
pub struct StoredCalendar {
    pub calendar_id: String,
    pub name: String,
    pub primary: bool,
    pub writable: bool,
    pub busy: bool,
}

pub async fn calendars<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: ConnectionId,
) -> DbResult<Vec<StoredCalendar>> {
    let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT calendar_id, name, is_primary, writable, busy FROM connection_calendars \
         WHERE tenant_id = $1 AND connection_id = $2 ORDER BY is_primary DESC, name",
    )
    .bind(scope.tenant())
    .bind(id.to_string())
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(calendar_id, name, primary, writable, busy)| StoredCalendar {
                calendar_id,
                name,
                primary: primary != 0,
                writable: writable != 0,
                busy: busy != 0,
            },
        )
        .collect())
}

/// Replaces the stored calendar list with the provider's, keeping the busy
/// choice of calendars seen before (new ones count as busy if primary).
pub async fn replace_calendars(
    conn: &mut sqlx::AnyConnection,
    scope: &TenantScope,
    id: ConnectionId,
    fresh: &[(String, String, bool, bool)],
) -> DbResult<()> {
    let before = calendars(&mut *conn, scope, id).await?;
    sqlx::query("DELETE FROM connection_calendars WHERE tenant_id = $1 AND connection_id = $2")
        .bind(scope.tenant())
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    for (calendar_id, name, primary, writable) in fresh {
        let busy = before
            .iter()
            .find(|c| &c.calendar_id == calendar_id)
            .map_or(*primary, |c| c.busy);
        sqlx::query(
            "INSERT INTO connection_calendars (tenant_id, connection_id, calendar_id, name, is_primary, writable, busy) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(scope.tenant())
        .bind(id.to_string())
        .bind(calendar_id)
        .bind(name)
        .bind(i64::from(*primary))
        .bind(i64::from(*writable))
        .bind(i64::from(busy))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Saves which calendars count as busy and which receives bookings.
pub async fn save_calendar_choice(
    conn: &mut sqlx::AnyConnection,
    owner: &UserScope,
    id: ConnectionId,
    busy: &[CalendarId],
    booking_calendar_id: Option<&CalendarId>,
) -> DbResult<()> {
    let done = sqlx::query(
        "UPDATE connections SET booking_calendar_id = $1, updated_at = $2 WHERE tenant_id = $3 AND user_id = $4 AND id = $5",
    )
    .bind(booking_calendar_id.map(CalendarId::as_str))
    .bind(now_ms())
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    found(done.rows_affected())?;
    for calendar in calendars(&mut *conn, &owner.tenant, id).await? {
        sqlx::query(
            "UPDATE connection_calendars SET busy = $1 WHERE tenant_id = $2 AND connection_id = $3 AND calendar_id = $4",
        )
        .bind(i64::from(
            busy.iter().any(|b| b.as_str() == calendar.calendar_id),
        ))
        .bind(owner.tenant.tenant())
        .bind(id.to_string())
        .bind(&calendar.calendar_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Forgets where the connection's feeds resume, so the next sync reads
/// everything (a full resync).
pub async fn forget_cursors(
    conn: &mut sqlx::AnyConnection,
    scope: &TenantScope,
    id: ConnectionId,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE connection_calendars SET sync_token = NULL WHERE tenant_id = $1 AND connection_id = $2",
    )
    .bind(scope.tenant())
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    let done =
        sqlx::query("UPDATE connections SET delta_link = NULL WHERE tenant_id = $1 AND id = $2")
            .bind(scope.tenant())
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
    found(done.rows_affected())
}

/// Where the change feed of one calendar resumes (Google's sync token).
pub async fn calendar_cursor<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: ConnectionId,
    calendar_id: &str,
) -> DbResult<Option<String>> {
    let token: Option<Option<String>> = sqlx::query_scalar(
        "SELECT sync_token FROM connection_calendars WHERE tenant_id = $1 AND connection_id = $2 AND calendar_id = $3",
    )
    .bind(scope.tenant())
    .bind(id.to_string())
    .bind(calendar_id)
    .fetch_optional(ex)
    .await?;
    Ok(token.flatten())
}

pub async fn set_calendar_cursor<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: ConnectionId,
    calendar_id: &str,
    token: Option<&str>,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE connection_calendars SET sync_token = $1 WHERE tenant_id = $2 AND connection_id = $3 AND calendar_id = $4",
    )
    .bind(token)
    .bind(scope.tenant())
    .bind(id.to_string())
    .bind(calendar_id)
    .execute(ex)
    .await?;
    Ok(())
}
