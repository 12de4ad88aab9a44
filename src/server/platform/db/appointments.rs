//! Appointments and where each lives on its owner's calendar (the two-way
//! sync mapping, `appointment_events`).

use super::{found, now_ms, on_unique, parse_id, DbError, DbResult, Duplicate};
use super::{TenantScope, UserScope};
use crate::model::{AppointmentId, ConflictPolicy, ConnectionId, EventContent, SyncState, UserId};
use sqlx::{Any, Executor, FromRow};

/// The columns of an appointment with its mapping, for one query shape
/// (kept outside the functions that use it).
const COLUMNS: &str = "a.id, a.tenant_id, a.owner_user_id, a.title, a.starts_at, a.ends_at, \
     a.attendees, a.location, a.notes, a.status, a.version, a.request_hash, a.created_at, a.updated_at, \
     m.connection_id, m.calendar_id, m.external_id, m.etag, m.content_hash, m.synced_version, \
     m.last_synced_at, m.direction, m.state, m.error, m.external_link, m.calendar_version";

pub struct NewAppointment<'a> {
    pub id: AppointmentId,
    pub owner: &'a UserScope,
    pub content: &'a EventContent,
    pub notes: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub request_hash: &'a str,
}

/// An appointment as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appointment {
    pub id: AppointmentId,
    pub owner: UserScope,
    pub content: EventContent,
    pub notes: Option<String>,
    /// Bumped by every change made in calbridge.
    pub version: i64,
    pub request_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Where it is on a calendar; none before its first export.
    pub link: Option<EventLink>,
}

/// The mapping of an appointment to its calendar event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLink {
    pub connection: ConnectionId,
    pub calendar_id: String,
    pub external_id: String,
    pub etag: Option<String>,
    /// The content both sides last agreed on, hashed.
    pub content_hash: String,
    /// The appointment's version at that moment.
    pub synced_version: i64,
    pub last_synced_at: i64,
    /// Which side made the last change that synced.
    pub direction: Direction,
    pub state: SyncState,
    pub error: Option<String>,
    /// The provider's page for the event (`https:`).
    pub external_link: Option<String>,
    /// While in conflict: the calendar's version.
    pub calendar_version: Option<EventContent>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Export,
    Import,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Export => "export",
            Direction::Import => "import",
        }
    }
}

#[derive(FromRow)]
struct Row {
    id: String,
    tenant_id: String,
    owner_user_id: String,
    title: String,
    starts_at: i64,
    ends_at: i64,
    attendees: String,
    location: Option<String>,
    notes: Option<String>,
    status: String,
    version: i64,
    request_hash: Option<String>,
    created_at: i64,
    updated_at: i64,
    connection_id: Option<String>,
    calendar_id: Option<String>,
    external_id: Option<String>,
    etag: Option<String>,
    content_hash: Option<String>,
    synced_version: Option<i64>,
    last_synced_at: Option<i64>,
    direction: Option<String>,
    state: Option<String>,
    error: Option<String>,
    external_link: Option<String>,
    calendar_version: Option<String>,
}

fn corrupt(what: &str) -> impl Fn(String) -> DbError + '_ {
    move |e| DbError::Corrupt(format!("{what}: {e}"))
}

impl TryFrom<Row> for Appointment {
    type Error = DbError;
    fn try_from(r: Row) -> DbResult<Self> {
        let attendees: Vec<String> = serde_json::from_str(&r.attendees)
            .map_err(|e| DbError::Corrupt(format!("attendees: {e}")))?;
        let link = match (r.connection_id, r.calendar_id, r.external_id) {
            (Some(connection), Some(calendar_id), Some(external_id)) => Some(EventLink {
                connection: parse_id(&connection)?,
                calendar_id,
                external_id,
                etag: r.etag,
                content_hash: r.content_hash.unwrap_or_default(),
                synced_version: r.synced_version.unwrap_or_default(),
                last_synced_at: r.last_synced_at.unwrap_or_default(),
                direction: match r.direction.as_deref() {
                    Some("import") => Direction::Import,
                    _ => Direction::Export,
                },
                state: r
                    .state
                    .as_deref()
                    .unwrap_or("pending")
                    .parse()
                    .map_err(corrupt("sync state"))?,
                error: r.error,
                external_link: r.external_link,
                calendar_version: r
                    .calendar_version
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(|e| DbError::Corrupt(format!("calendar version: {e}")))?,
            }),
            _ => None,
        };
        Ok(Appointment {
            id: parse_id(&r.id)?,
            owner: UserScope::new(
                TenantScope::new(parse_id(&r.tenant_id)?),
                parse_id(&r.owner_user_id)?,
            ),
            content: EventContent {
                title: r.title,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                attendees,
                location: r.location,
                canceled: r.status == "canceled",
            },
            notes: r.notes,
            version: r.version,
            request_hash: r.request_hash,
            created_at: r.created_at,
            updated_at: r.updated_at,
            link,
        })
    }
}

fn attendees_json(content: &EventContent) -> String {
    serde_json::to_string(&content.attendees).unwrap_or_else(|_| "[]".into())
}

fn status_of(content: &EventContent) -> &'static str {
    if content.canceled {
        "canceled"
    } else {
        "confirmed"
    }
}

pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    new: &NewAppointment<'_>,
) -> DbResult<()> {
    let c = new.content;
    sqlx::query(
        "INSERT INTO appointments (id, tenant_id, owner_user_id, title, starts_at, ends_at, attendees, \
         location, notes, status, version, idempotency_key, request_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'confirmed', 1, $10, $11, $12, $12)",
    )
    .bind(new.id.to_string())
    .bind(new.owner.tenant.tenant())
    .bind(new.owner.user_id().to_string())
    .bind(&c.title)
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(attendees_json(c))
    .bind(c.location.as_deref())
    .bind(new.notes)
    .bind(new.idempotency_key)
    .bind(new.request_hash)
    .bind(now_ms())
    .execute(ex)
    .await
    .map_err(|e| on_unique(e, Duplicate::IdempotencyKey))?;
    Ok(())
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: AppointmentId,
) -> DbResult<Option<Appointment>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM appointments a LEFT JOIN appointment_events m ON m.appointment_id = a.id \
         WHERE a.tenant_id = $1 AND a.id = $2"
    ))
    .bind(scope.tenant())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await?;
    row.map(Appointment::try_from).transpose()
}

/// The appointment made earlier in the tenant with this idempotency key.
pub async fn by_idempotency_key<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    key: &str,
) -> DbResult<Option<Appointment>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM appointments a LEFT JOIN appointment_events m ON m.appointment_id = a.id \
         WHERE a.tenant_id = $1 AND a.idempotency_key = $2"
    ))
    .bind(scope.tenant())
    .bind(key)
    .fetch_optional(ex)
    .await?;
    row.map(Appointment::try_from).transpose()
}

/// The tenant's appointments (one owner's, if given) that overlap
/// `[from, to)`, canceled ones included, by start; at most `limit`.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    owner: Option<UserId>,
    from: i64,
    to: i64,
    limit: i64,
) -> DbResult<Vec<Appointment>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM appointments a LEFT JOIN appointment_events m ON m.appointment_id = a.id \
         WHERE a.tenant_id = $1 AND ($2 IS NULL OR a.owner_user_id = $2) \
         AND a.starts_at < $4 AND a.ends_at > $3 ORDER BY a.starts_at, a.id LIMIT $5"
    ))
    .bind(scope.tenant())
    .bind(owner.map(|o| o.to_string()))
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Appointment::try_from).collect()
}

/// The owner's confirmed appointments over `[from, to)` other than
/// `except`, as (start, end).
pub async fn busy_between<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    from: i64,
    to: i64,
    except: Option<AppointmentId>,
) -> DbResult<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT starts_at, ends_at FROM appointments WHERE tenant_id = $1 AND owner_user_id = $2 \
         AND status = 'confirmed' AND starts_at < $4 AND ends_at > $3 AND ($5 IS NULL OR id <> $5) \
         ORDER BY starts_at",
    )
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(from)
    .bind(to)
    .bind(except.map(|id| id.to_string()))
    .fetch_all(ex)
    .await?)
}

/// Replaces what the appointment says and bumps its version; with
/// `expected`, only if the version is still that one. The new version, or
/// `None` when the appointment changed meanwhile.
pub async fn update<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: AppointmentId,
    content: &EventContent,
    notes: Option<&str>,
    expected: Option<i64>,
) -> DbResult<Option<i64>> {
    let now = now_ms();
    Ok(sqlx::query_scalar(
        "UPDATE appointments SET title = $3, starts_at = $4, ends_at = $5, attendees = $6, location = $7, \
         notes = $8, status = $9, version = version + 1, updated_at = $10, \
         canceled_at = CASE WHEN $9 = 'canceled' THEN COALESCE(canceled_at, $10) ELSE NULL END \
         WHERE tenant_id = $1 AND id = $2 AND ($11 IS NULL OR version = $11) RETURNING version",
    )
    .bind(scope.tenant())
    .bind(id.to_string())
    .bind(&content.title)
    .bind(content.starts_at)
    .bind(content.ends_at)
    .bind(attendees_json(content))
    .bind(content.location.as_deref())
    .bind(notes)
    .bind(status_of(content))
    .bind(now)
    .bind(expected)
    .fetch_optional(ex)
    .await?)
}

/// Records where the appointment is on its calendar and what both sides
/// agree on now.
pub async fn save_link<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: AppointmentId,
    link: &EventLink,
) -> DbResult<()> {
    let calendar_version = link
        .calendar_version
        .as_ref()
        .and_then(|c| serde_json::to_string(c).ok());
    sqlx::query(
        "INSERT INTO appointment_events (appointment_id, tenant_id, connection_id, calendar_id, external_id, \
         etag, content_hash, synced_version, last_synced_at, direction, state, error, external_link, calendar_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (appointment_id) DO UPDATE SET connection_id = excluded.connection_id, \
         calendar_id = excluded.calendar_id, external_id = excluded.external_id, etag = excluded.etag, \
         content_hash = excluded.content_hash, synced_version = excluded.synced_version, \
         last_synced_at = excluded.last_synced_at, direction = excluded.direction, state = excluded.state, \
         error = excluded.error, external_link = excluded.external_link, \
         calendar_version = excluded.calendar_version",
    )
    .bind(id.to_string())
    .bind(scope.tenant())
    .bind(link.connection.to_string())
    .bind(&link.calendar_id)
    .bind(&link.external_id)
    .bind(link.etag.as_deref())
    .bind(&link.content_hash)
    .bind(link.synced_version)
    .bind(link.last_synced_at)
    .bind(link.direction.as_str())
    .bind(link.state.as_str())
    .bind(link.error.as_deref())
    .bind(link.external_link.as_deref())
    .bind(calendar_version)
    .execute(ex)
    .await?;
    Ok(())
}

/// Notes a failed write on a mapped appointment, keeping what both sides
/// last agreed on.
pub async fn set_link_error<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    id: AppointmentId,
    error: &str,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE appointment_events SET state = 'error', error = $3 \
         WHERE tenant_id = $1 AND appointment_id = $2 AND state <> 'conflict'",
    )
    .bind(scope.tenant())
    .bind(id.to_string())
    .bind(error)
    .execute(ex)
    .await?;
    Ok(())
}

/// The calendar events of `connection` that stand for appointments:
/// (calendar, external id, appointment).
pub async fn mapped_events<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    connection: ConnectionId,
) -> DbResult<Vec<(String, String, AppointmentId)>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT calendar_id, external_id, appointment_id FROM appointment_events \
         WHERE tenant_id = $1 AND connection_id = $2",
    )
    .bind(scope.tenant())
    .bind(connection.to_string())
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|(calendar, external, id)| Ok((calendar, external, parse_id(&id)?)))
        .collect()
}

/// The tenant's appointments waiting for a person to settle a conflict,
/// oldest first.
pub async fn conflicts<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    owner: Option<UserId>,
    limit: i64,
) -> DbResult<Vec<Appointment>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM appointments a JOIN appointment_events m ON m.appointment_id = a.id \
         WHERE a.tenant_id = $1 AND m.tenant_id = $1 AND m.state = 'conflict' \
         AND ($2 IS NULL OR a.owner_user_id = $2) ORDER BY a.updated_at, a.id LIMIT $3"
    ))
    .bind(scope.tenant())
    .bind(owner.map(|o| o.to_string()))
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Appointment::try_from).collect()
}

/// What the connection does when both sides changed.
pub async fn conflict_policy<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    connection: ConnectionId,
) -> DbResult<ConflictPolicy> {
    let word: Option<String> = sqlx::query_scalar(
        "SELECT conflict_policy FROM connections WHERE tenant_id = $1 AND id = $2",
    )
    .bind(scope.tenant())
    .bind(connection.to_string())
    .fetch_optional(ex)
    .await?;
    word.ok_or(DbError::NotFound)?
        .parse()
        .map_err(corrupt("conflict policy"))
}

pub async fn set_conflict_policy<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    connection: ConnectionId,
    policy: ConflictPolicy,
) -> DbResult<()> {
    let result = sqlx::query(
        "UPDATE connections SET conflict_policy = $4, updated_at = $5 \
         WHERE tenant_id = $1 AND user_id = $2 AND id = $3",
    )
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(connection.to_string())
    .bind(policy.as_str())
    .bind(now_ms())
    .execute(ex)
    .await?;
    found(result.rows_affected())
}
