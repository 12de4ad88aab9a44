//! Booking profiles and event types. Hours are stored as JSON the booking
//! service reads and writes; this module only keeps them.

use super::{found, now_ms, on_unique, parse_id, DbError, DbResult, Duplicate};
use super::{TenantScope, UserScope};
use crate::model::{EventLocation, EventTypeId};
use sqlx::{Any, Executor, FromRow};

#[derive(Clone, Debug)]
pub struct Profile {
    pub owner: UserScope,
    /// The host's display name (their user's name).
    pub name: String,
    /// Their user's e-mail: the organizer of their bookings' invitations.
    pub email: String,
    pub slug: String,
    pub time_zone: String,
    /// JSON, see the migration.
    pub weekly_hours: String,
    pub date_overrides: String,
    /// How many bookings strangers may make on the public page a day.
    pub public_daily_limit: i64,
}

#[derive(FromRow)]
struct ProfileRow {
    user_id: String,
    tenant_id: String,
    name: String,
    email: String,
    slug: String,
    time_zone: String,
    weekly_hours: String,
    date_overrides: String,
    public_daily_limit: i64,
}

impl TryFrom<ProfileRow> for Profile {
    type Error = DbError;
    fn try_from(r: ProfileRow) -> DbResult<Self> {
        Ok(Profile {
            owner: UserScope::new(
                TenantScope::new(parse_id(&r.tenant_id)?),
                parse_id(&r.user_id)?,
            ),
            name: r.name,
            email: r.email,
            slug: r.slug,
            time_zone: r.time_zone,
            weekly_hours: r.weekly_hours,
            date_overrides: r.date_overrides,
            public_daily_limit: r.public_daily_limit,
        })
    }
}

/// A profile with its user's name.
const PROFILE_SELECT: &str =
    "SELECT p.user_id, p.tenant_id, u.name, u.email, p.slug, p.time_zone, \
     p.weekly_hours, p.date_overrides, p.public_daily_limit \
     FROM booking_profiles p JOIN users u ON u.id = p.user_id";

pub struct ProfileFields<'a> {
    pub slug: &'a str,
    pub time_zone: &'a str,
    pub weekly_hours: &'a str,
    pub date_overrides: &'a str,
    pub public_daily_limit: i64,
}

/// Creates or replaces the user's profile; a slug another host has is a
/// conflict.
pub async fn save_profile<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    fields: &ProfileFields<'_>,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO booking_profiles (user_id, tenant_id, slug, time_zone, weekly_hours, date_overrides, created_at, updated_at, public_daily_limit) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) \
         ON CONFLICT (user_id) DO UPDATE SET slug = excluded.slug, time_zone = excluded.time_zone, \
         weekly_hours = excluded.weekly_hours, date_overrides = excluded.date_overrides, updated_at = excluded.updated_at, \
         public_daily_limit = excluded.public_daily_limit \
         WHERE booking_profiles.tenant_id = excluded.tenant_id",
    )
    .bind(owner.user_id().to_string())
    .bind(owner.tenant.tenant())
    .bind(fields.slug)
    .bind(fields.time_zone)
    .bind(fields.weekly_hours)
    .bind(fields.date_overrides)
    .bind(now_ms())
    .bind(fields.public_daily_limit)
    .execute(ex)
    .await
    .map_err(|e| on_unique(e, Duplicate::BookingSlug))?;
    Ok(())
}

pub async fn profile_of<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
) -> DbResult<Option<Profile>> {
    let row: Option<ProfileRow> = sqlx::query_as(&format!(
        "{PROFILE_SELECT} WHERE p.tenant_id = $1 AND p.user_id = $2"
    ))
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .fetch_optional(ex)
    .await?;
    row.map(Profile::try_from).transpose()
}

/// unscoped: the public booking page finds its host by slug alone.
pub async fn profile_by_slug<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    slug: &str,
) -> DbResult<Option<Profile>> {
    let row: Option<ProfileRow> = sqlx::query_as(&format!("{PROFILE_SELECT} WHERE p.slug = $1"))
        .bind(slug)
        .fetch_optional(ex)
        .await?;
    row.map(Profile::try_from).transpose()
}

/// A host's profile row beside an event type's (the two share column
/// names, so the host's are renamed).
#[derive(FromRow)]
struct HostTypeRow {
    host_user_id: String,
    host_tenant_id: String,
    host_name: String,
    host_email: String,
    host_slug: String,
    time_zone: String,
    weekly_hours: String,
    date_overrides: String,
    public_daily_limit: i64,
    #[sqlx(flatten)]
    event_type: EventTypeRow,
}

/// unscoped: the public booking page and the API find a host and one of
/// its event types by their slugs (lower case), in one query.
pub async fn host_and_event_type<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    host_slug: &str,
    type_slug: &str,
) -> DbResult<Option<(Profile, EventType)>> {
    let row: Option<HostTypeRow> = sqlx::query_as(
        "SELECT p.user_id AS host_user_id, p.tenant_id AS host_tenant_id, u.name AS host_name, u.email AS host_email, \
         p.slug AS host_slug, p.time_zone, p.weekly_hours, p.date_overrides, p.public_daily_limit, e.id, e.slug, e.name, \
         e.duration_minutes, e.location, e.location_detail, e.buffer_before_minutes, \
         e.buffer_after_minutes, e.minimum_notice_minutes, e.window_days, e.slot_interval_minutes, \
         e.daily_limit FROM booking_profiles p JOIN users u ON u.id = p.user_id \
         JOIN event_types e ON e.tenant_id = p.tenant_id AND e.user_id = p.user_id \
         WHERE p.slug = $1 AND e.slug = $2",
    )
    .bind(host_slug)
    .bind(type_slug)
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let profile = Profile::try_from(ProfileRow {
        user_id: r.host_user_id,
        tenant_id: r.host_tenant_id,
        name: r.host_name,
        email: r.host_email,
        slug: r.host_slug,
        time_zone: r.time_zone,
        weekly_hours: r.weekly_hours,
        date_overrides: r.date_overrides,
        public_daily_limit: r.public_daily_limit,
    })?;
    Ok(Some((profile, EventType::try_from(r.event_type)?)))
}

/// A tenant's hosts, by slug.
pub async fn profiles_in_tenant<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
) -> DbResult<Vec<Profile>> {
    let rows: Vec<ProfileRow> = sqlx::query_as(&format!(
        "{PROFILE_SELECT} WHERE p.tenant_id = $1 ORDER BY p.slug"
    ))
    .bind(scope.tenant())
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(Profile::try_from).collect()
}

/// One kind of meeting a host offers. Minutes throughout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventType {
    pub id: EventTypeId,
    pub slug: String,
    pub name: String,
    pub duration: u32,
    pub location: EventLocation,
    pub location_detail: Option<String>,
    pub buffer_before: u32,
    pub buffer_after: u32,
    pub minimum_notice: u32,
    pub window_days: u32,
    pub slot_interval: u32,
    pub daily_limit: Option<u32>,
}

#[derive(FromRow)]
struct EventTypeRow {
    id: String,
    slug: String,
    name: String,
    duration_minutes: i64,
    location: String,
    location_detail: Option<String>,
    buffer_before_minutes: i64,
    buffer_after_minutes: i64,
    minimum_notice_minutes: i64,
    window_days: i64,
    slot_interval_minutes: i64,
    daily_limit: Option<i64>,
}

fn minutes(column: &str, value: i64) -> DbResult<u32> {
    u32::try_from(value).map_err(|_| DbError::Corrupt(format!("{column} = {value}")))
}

impl TryFrom<EventTypeRow> for EventType {
    type Error = DbError;
    fn try_from(r: EventTypeRow) -> DbResult<Self> {
        Ok(EventType {
            id: parse_id(&r.id)?,
            slug: r.slug,
            name: r.name,
            duration: minutes("duration_minutes", r.duration_minutes)?,
            location: r.location.parse().map_err(DbError::Corrupt)?,
            location_detail: r.location_detail,
            buffer_before: minutes("buffer_before_minutes", r.buffer_before_minutes)?,
            buffer_after: minutes("buffer_after_minutes", r.buffer_after_minutes)?,
            minimum_notice: minutes("minimum_notice_minutes", r.minimum_notice_minutes)?,
            window_days: minutes("window_days", r.window_days)?,
            slot_interval: minutes("slot_interval_minutes", r.slot_interval_minutes)?,
            daily_limit: r
                .daily_limit
                .map(|l| minutes("daily_limit", l))
                .transpose()?,
        })
    }
}

const EVENT_TYPE_COLUMNS: &str = "id, slug, name, duration_minutes, location, location_detail, \
     buffer_before_minutes, buffer_after_minutes, minimum_notice_minutes, window_days, \
     slot_interval_minutes, daily_limit";

/// Creates the event type, or replaces the one with its id; a slug the host
/// already uses for another is a conflict.
pub async fn save_event_type<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    event_type: &EventType,
) -> DbResult<()> {
    let e = event_type;
    let done = sqlx::query(
        "INSERT INTO event_types (id, tenant_id, user_id, slug, name, duration_minutes, location, location_detail, \
         buffer_before_minutes, buffer_after_minutes, minimum_notice_minutes, window_days, slot_interval_minutes, \
         daily_limit, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
         ON CONFLICT (id) DO UPDATE SET slug = excluded.slug, name = excluded.name, \
         duration_minutes = excluded.duration_minutes, location = excluded.location, \
         location_detail = excluded.location_detail, buffer_before_minutes = excluded.buffer_before_minutes, \
         buffer_after_minutes = excluded.buffer_after_minutes, minimum_notice_minutes = excluded.minimum_notice_minutes, \
         window_days = excluded.window_days, slot_interval_minutes = excluded.slot_interval_minutes, \
         daily_limit = excluded.daily_limit, updated_at = excluded.updated_at \
         WHERE event_types.tenant_id = excluded.tenant_id AND event_types.user_id = excluded.user_id",
    )
    .bind(e.id.to_string())
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .bind(&e.slug)
    .bind(&e.name)
    .bind(i64::from(e.duration))
    .bind(e.location.as_str())
    .bind(e.location_detail.as_deref())
    .bind(i64::from(e.buffer_before))
    .bind(i64::from(e.buffer_after))
    .bind(i64::from(e.minimum_notice))
    .bind(i64::from(e.window_days))
    .bind(i64::from(e.slot_interval))
    .bind(e.daily_limit.map(i64::from))
    .bind(now_ms())
    .execute(ex)
    .await
    .map_err(|err| on_unique(err, Duplicate::EventTypeSlug))?;
    // Zero rows: the id belongs to someone else.
    found(done.rows_affected())
}

pub async fn event_types_of<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
) -> DbResult<Vec<EventType>> {
    let rows: Vec<EventTypeRow> = sqlx::query_as(&format!(
        "SELECT {EVENT_TYPE_COLUMNS} FROM event_types WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, slug"
    ))
    .bind(owner.tenant.tenant())
    .bind(owner.user_id().to_string())
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(EventType::try_from).collect()
}

pub async fn delete_event_type<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    id: EventTypeId,
) -> DbResult<()> {
    let done =
        sqlx::query("DELETE FROM event_types WHERE id = $1 AND tenant_id = $2 AND user_id = $3")
            .bind(id.to_string())
            .bind(owner.tenant.tenant())
            .bind(owner.user_id().to_string())
            .execute(ex)
            .await?;
    found(done.rows_affected())
}
