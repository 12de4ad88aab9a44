//! Making a booking: the requested start must be a slot availability
//! returns at that moment, and two requests for overlapping times of one
//! host give exactly one booking. The check and the insert run in one write
//! transaction that holds the host's lock (PostgreSQL: the profile row;
//! SQLite: the write gate), with PostgreSQL's exclusion constraint behind it.

use super::availability::{self, local_date, nearest, Booked, Query, Span};
use super::profiles;
use crate::model::BookingId;
use crate::server::error::AppError;
use crate::server::platform::db::booking::{self as profiles_repo, EventType, Profile};
use crate::server::platform::db::bookings::{self as repo, Booking, NewBooking};
use crate::server::platform::db::meetings as meetings_repo;
use crate::server::platform::db::{Db, DbError, Duplicate, TenantScope};
use crate::server::platform::vault::crypto::{random_token, token_hash};
use crate::server::validate::{check_time_zone, normalize_email};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// How far ahead alternatives are looked for.
const ALTERNATIVES_DAYS: i64 = 7;
/// How many alternatives are offered.
const ALTERNATIVES: usize = 3;

/// Who is booking.
pub struct Attendee<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    /// IANA zone the attendee reads times in.
    pub time_zone: &'a str,
}

pub struct BookingRequest<'a> {
    /// The host's public slug and the event type's slug.
    pub host: &'a str,
    pub event_type: &'a str,
    /// Unix ms.
    pub start: i64,
    pub attendee: Attendee<'a>,
    pub purpose: Option<&'a str>,
    /// A repeat with the same key returns the first result.
    pub idempotency_key: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("no such host or event type")]
    NotFound,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
    },
    /// Not a start availability offers (off the grid, outside hours, too
    /// soon, too far ahead).
    #[error("not a bookable slot")]
    NotASlot { alternatives: Vec<Span> },
    /// A slot, but someone else has it now.
    #[error("slot taken")]
    SlotTaken { alternatives: Vec<Span> },
    #[error("the idempotency key was used for a different request")]
    KeyReused,
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<DbError> for BookError {
    fn from(e: DbError) -> Self {
        BookError::App(e.into())
    }
}

/// A booking made (or, for a repeated idempotency key, found).
#[derive(Debug)]
pub struct Confirmed {
    pub booking: Booking,
    /// The attendee's manage-link token; only when the booking was made now.
    pub manage_token: Option<String>,
}

struct Checked {
    name: String,
    email: String,
    phone: Option<String>,
    time_zone: String,
    purpose: Option<String>,
}

fn invalid(field: &'static str, message: &'static str) -> BookError {
    BookError::Invalid { field, message }
}

fn check(request: &BookingRequest<'_>) -> Result<Checked, BookError> {
    let a = &request.attendee;
    let name = a.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid(
            "attendee.name",
            "Enter a name of 1 to 100 characters.",
        ));
    }
    let email = normalize_email(a.email)
        .map_err(|_| invalid("attendee.email", "Enter a valid email address."))?;
    let phone = a.phone.map(str::trim).filter(|p| !p.is_empty());
    if let Some(phone) = phone {
        let digits = phone.bytes().filter(u8::is_ascii_digit).count();
        let allowed = phone
            .bytes()
            .all(|b| b.is_ascii_digit() || b" +-().".contains(&b));
        if !allowed || !(5..=20).contains(&digits) {
            return Err(invalid(
                "attendee.phone",
                "Enter a phone number of 5 to 20 digits, like +49 30 1234567.",
            ));
        }
    }
    let time_zone = check_time_zone(a.time_zone).map_err(|_| {
        invalid(
            "attendee.time_zone",
            "Use an IANA time zone like Europe/Berlin.",
        )
    })?;
    let purpose = request.purpose.map(str::trim).filter(|p| !p.is_empty());
    if purpose.is_some_and(|p| p.chars().count() > 1000) {
        return Err(invalid(
            "purpose",
            "Keep the purpose under 1,000 characters.",
        ));
    }
    if request
        .idempotency_key
        .is_some_and(|k| k.is_empty() || k.len() > 200)
    {
        return Err(invalid(
            "idempotency_key",
            "Use a key of 1 to 200 characters.",
        ));
    }
    Ok(Checked {
        name: name.to_owned(),
        email,
        phone: phone.map(str::to_owned),
        time_zone,
        purpose: purpose.map(str::to_owned),
    })
}

/// Tells a repeat of a request from a different one under the same key.
fn request_hash(request: &BookingRequest<'_>, checked: &Checked) -> String {
    let canonical = serde_json::json!([
        request.host.to_ascii_lowercase(),
        request.event_type.to_ascii_lowercase(),
        request.start,
        checked.name,
        checked.email,
        checked.phone,
        checked.time_zone,
        checked.purpose,
    ]);
    token_hash(&canonical.to_string())
}

/// The host and event type a request names; `tenant` (an API key's) must
/// own them when given.
async fn host_and_type(
    db: &Db,
    tenant: Option<&TenantScope>,
    request: &BookingRequest<'_>,
) -> Result<(Profile, EventType), BookError> {
    let profile = profiles::host_by_slug(db.pool(), request.host)
        .await?
        .filter(|p| tenant.is_none_or(|t| *t == p.owner.tenant))
        .ok_or(BookError::NotFound)?;
    let event_type = profiles_repo::event_types_of(db.pool(), &profile.owner)
        .await?
        .into_iter()
        .find(|e| e.slug.eq_ignore_ascii_case(request.event_type))
        .ok_or(BookError::NotFound)?;
    Ok((profile, event_type))
}

/// What availability needs around `start`, and what it answers.
struct Around {
    /// The slots of the start's local date and the days after it.
    free: Vec<Span>,
    /// The same days without busy time and bookings.
    open: Vec<Span>,
}

fn around(
    profile: &Profile,
    event_type: &EventType,
    start: i64,
    now: i64,
    busy: &[Span],
    bookings: &[Booking],
) -> Result<Around, BookError> {
    let schedule = profiles::schedule(profile)?;
    let rules = profiles::rules(event_type);
    let tz = schedule.time_zone;
    let from = availability::instant(tz, local_date(tz, start), 0);
    let to = from + (ALTERNATIVES_DAYS + 1) * DAY_MS;
    let booked: Vec<Booked> = bookings
        .iter()
        .map(|b| Booked {
            span: Span::new(b.starts_at, b.ends_at),
            buffer_before: b.buffer_before,
            buffer_after: b.buffer_after,
            counts_toward_limit: b.event_type == Some(event_type.id),
        })
        .collect();
    let query = |busy: &[Span], booked: &[Booked]| {
        availability::slots(&Query {
            schedule: &schedule,
            rules: &rules,
            from,
            to,
            busy,
            booked,
            now,
        })
    };
    Ok(Around {
        free: query(busy, &booked),
        open: query(&[], &[]),
    })
}

/// Books `request` if its start is a free slot now.
#[tracing::instrument(skip_all, fields(host = request.host, event_type = request.event_type))]
pub async fn book(
    db: &Db,
    now: i64,
    tenant: Option<&TenantScope>,
    request: &BookingRequest<'_>,
) -> Result<Confirmed, BookError> {
    let checked = check(request)?;
    let (profile, event_type) = host_and_type(db, tenant, request).await?;
    let hash = request_hash(request, &checked);
    let scope = profile.owner.tenant;
    if let Some(earlier) = replay(db, &scope, request.idempotency_key, &hash).await? {
        return Ok(earlier);
    }
    // What the check can touch: the start's local day (which began less
    // than a day before it in any zone), the alternatives' days, and the
    // buffers around them.
    let window = (
        request.start - 2 * DAY_MS,
        request.start + (ALTERNATIVES_DAYS + 2) * DAY_MS,
    );
    let busy: Vec<Span> =
        meetings_repo::busy_between(db.pool(), &profile.owner, window.0, window.1)
            .await?
            .into_iter()
            .map(|(s, e)| Span::new(s, e))
            .collect();

    let mut tx = db.begin_write().await?;
    repo::lock_host(&mut tx, &profile.owner).await?;
    let bookings = repo::confirmed_between(&mut *tx, &profile.owner, window.0, window.1).await?;
    let slots = around(&profile, &event_type, request.start, now, &busy, &bookings)?;
    let alternatives = || nearest(&slots.free, request.start, ALTERNATIVES);
    let Some(slot) = slots
        .free
        .iter()
        .find(|s| s.start == request.start)
        .copied()
    else {
        return Err(if slots.open.iter().any(|s| s.start == request.start) {
            BookError::SlotTaken {
                alternatives: alternatives(),
            }
        } else {
            BookError::NotASlot {
                alternatives: alternatives(),
            }
        });
    };
    let manage_token = random_token();
    let new = NewBooking {
        id: BookingId::generate(),
        host: &profile.owner,
        event_type: event_type.id,
        starts_at: slot.start,
        ends_at: slot.end,
        buffer_before: event_type.buffer_before,
        buffer_after: event_type.buffer_after,
        attendee_name: &checked.name,
        attendee_email: &checked.email,
        attendee_phone: checked.phone.as_deref(),
        attendee_time_zone: &checked.time_zone,
        purpose: checked.purpose.as_deref(),
        manage_token_hash: &token_hash(&manage_token),
        idempotency_key: request.idempotency_key,
        request_hash: &hash,
    };
    match repo::insert(&mut *tx, &new).await {
        Ok(()) => {}
        Err(DbError::Conflict(Duplicate::OverlappingBooking)) => {
            return Err(BookError::SlotTaken {
                alternatives: alternatives(),
            })
        }
        // The same key won a race on another host's lock.
        Err(DbError::Conflict(Duplicate::IdempotencyKey)) => {
            drop(tx);
            return replay(db, &scope, request.idempotency_key, &hash)
                .await?
                .ok_or(BookError::KeyReused);
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(booking = %new.id, "booked");
    let booking = Booking {
        id: new.id,
        host: profile.owner,
        event_type: Some(event_type.id),
        starts_at: slot.start,
        ends_at: slot.end,
        buffer_before: event_type.buffer_before,
        buffer_after: event_type.buffer_after,
        confirmed: true,
        attendee_name: checked.name,
        attendee_email: checked.email,
        attendee_phone: checked.phone,
        attendee_time_zone: checked.time_zone,
        purpose: checked.purpose,
        request_hash: Some(hash),
    };
    Ok(Confirmed {
        booking,
        manage_token: Some(manage_token),
    })
}

/// The earlier booking under `key`: its result again for the same request,
/// [`BookError::KeyReused`] for another.
async fn replay(
    db: &Db,
    scope: &TenantScope,
    key: Option<&str>,
    hash: &str,
) -> Result<Option<Confirmed>, BookError> {
    let Some(key) = key else { return Ok(None) };
    match repo::by_idempotency_key(db.pool(), scope, key).await? {
        Some(booking) if booking.request_hash.as_deref() == Some(hash) => Ok(Some(Confirmed {
            booking,
            manage_token: None,
        })),
        Some(_) => Err(BookError::KeyReused),
        None => Ok(None),
    }
}
