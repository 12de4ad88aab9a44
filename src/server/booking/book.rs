//! Making a booking: the requested start must be a slot availability
//! returns at that moment, and two requests for overlapping times of one
//! host give exactly one booking. The check and the insert run in one write
//! transaction that holds the host's lock (PostgreSQL: the profile row;
//! SQLite: the write gate), with PostgreSQL's exclusion constraint behind it.

use super::availability::{self, local_date, nearest, Booked, Query, Span};
use super::busy::{self, Read};
use super::error::{BookError, FreeSlot};
use super::slots::{self, host_and_type, ANY_HOST};
use super::{export, profiles, public_limits, Bookings};
use crate::model::BookingId;
use crate::server::error::AppError;
use crate::server::platform::db::booking_profiles::{self as profiles_repo, EventType, Profile};
use crate::server::platform::db::bookings::{self as repo, Booking, NewBooking};
use crate::server::platform::db::{DbError, Duplicate, TenantScope};
use crate::server::platform::vault::crypto::{random_token, token_hash};
use crate::server::platform::vault::Secret;
use crate::server::sync::export as sync_export;
use crate::server::validate::{check_time_zone, normalize_email, one_line_name};

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
    /// IANA zone the attendee reads times in (none: the host's).
    pub time_zone: Option<&'a str>,
}

pub struct BookingRequest<'a> {
    /// The host's public slug ([`ANY_HOST`]: whichever host of the tenant is
    /// free, fewest bookings first) and the event type's slug.
    pub host: &'a str,
    pub event_type: &'a str,
    /// Unix ms.
    pub start: i64,
    pub attendee: Attendee<'a>,
    pub purpose: Option<&'a str>,
    /// A repeat with the same key returns the first result.
    pub idempotency_key: Option<&'a str>,
    /// A stranger on the public page, by client address: the public
    /// page's limits apply ([`public_limits`]). `None` for an API key.
    pub visitor: Option<&'a str>,
}

/// A booking as its attendee or the API sees it.
#[derive(Debug)]
pub struct Placed {
    pub booking: Booking,
    pub host: Profile,
    /// Gone if the host deleted it since.
    pub event_type: Option<EventType>,
    /// The attendee's link to see, cancel or reschedule it.
    pub manage: Option<ManageLink>,
}

/// The attendee's manage link and the token in it.
#[derive(Debug)]
pub struct ManageLink {
    pub token: String,
    pub url: String,
}

/// Who asks about a booking: an API key of its tenant, or the attendee
/// with the manage link's token — reading it, or changing it from a
/// client address (the public page's limits apply).
#[derive(Clone, Copy)]
pub enum Access<'a> {
    Tenant(&'a TenantScope),
    ManageToken(&'a str),
    Attendee { token: &'a str, visitor: &'a str },
}

struct Checked {
    name: String,
    email: String,
    phone: Option<String>,
    time_zone: Option<String>,
    purpose: Option<String>,
}

fn invalid(field: &'static str, message: &'static str) -> BookError {
    BookError::Invalid { field, message }
}

fn check(request: &BookingRequest<'_>) -> Result<Checked, BookError> {
    let a = &request.attendee;
    let name = one_line_name(a.name, 100).ok_or_else(|| {
        invalid(
            "attendee.name",
            "Enter a name of 1 to 100 characters on one line.",
        )
    })?;
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
    let time_zone = a
        .time_zone
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .map(check_time_zone)
        .transpose()
        .map_err(|_| {
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

/// The slots of `start`'s local date and the days after it: `free` with
/// busy time and bookings taken out, `open` without (to tell a taken slot
/// from a start that never was one).
struct Around {
    free: Vec<Span>,
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

/// What the check can touch: the start's local day (which began less than
/// a day before it in any zone), the alternatives' days, and the buffers
/// around them.
fn window(start: i64) -> (i64, i64) {
    (start - 2 * DAY_MS, start + (ALTERNATIVES_DAYS + 2) * DAY_MS)
}

/// The host's busy time around a start about to be booked: `Live` just
/// before the write (the mirror may lag by seconds), `StoredOnly` for the
/// check that comes before any provider call.
async fn busy_in(
    ctx: &Bookings,
    host: &Profile,
    window: (i64, i64),
    read: Read,
) -> Result<Vec<Span>, BookError> {
    busy::host_busy(ctx, host, window.0, window.1, read).await
}

/// `start` checked against what is stored — the grid, notice, window,
/// daily limit, bookings, appointments and the trusted mirrors — so a
/// start that is no free slot is refused without a provider call. `moving`
/// is the booking being rescheduled.
async fn precheck(
    ctx: &Bookings,
    profile: &Profile,
    event_type: &EventType,
    start: i64,
    moving: Option<&Booking>,
) -> Result<(), BookError> {
    let window = window(start);
    let busy = without_own(
        busy_in(ctx, profile, window, Read::StoredOnly).await?,
        moving,
    );
    let bookings: Vec<Booking> =
        repo::confirmed_between(ctx.db.pool(), &profile.owner, window.0, window.1)
            .await?
            .into_iter()
            .filter(|b| moving.is_none_or(|m| m.id != b.id))
            .collect();
    let now = ctx.clock.now_ms();
    let slots = around(profile, event_type, start, now, &busy, &bookings)?;
    claim(&slots, start, profile).map(drop)
}

/// Busy time less what `moving` (a booking being rescheduled) holds: its
/// own event on the calendar, at its time or where the last export put
/// it, is its to give up.
fn without_own(mut busy: Vec<Span>, moving: Option<&Booking>) -> Vec<Span> {
    let Some(booking) = moving else { return busy };
    let own = [
        Some(Span::new(booking.starts_at, booking.ends_at)),
        booking
            .export
            .starts_at
            .zip(booking.export.ends_at)
            .map(|(s, e)| Span::new(s, e)),
    ];
    for hole in own.into_iter().flatten() {
        busy = busy.into_iter().flat_map(|s| s.minus(hole)).collect();
    }
    busy
}

/// The free slots nearest `start`, as the host's.
fn alternatives(slots: &Around, start: i64, host: &Profile) -> Vec<FreeSlot> {
    nearest(&slots.free, start, ALTERNATIVES)
        .into_iter()
        .map(|span| FreeSlot {
            span,
            host: host.slug.clone(),
        })
        .collect()
}

/// The slot starting at `start` if it is free now; otherwise why not, with
/// the nearest free ones.
fn claim(slots: &Around, start: i64, host: &Profile) -> Result<Span, BookError> {
    if let Some(slot) = slots.free.iter().find(|s| s.start == start) {
        return Ok(*slot);
    }
    let alternatives = alternatives(slots, start, host);
    Err(if slots.open.iter().any(|s| s.start == start) {
        BookError::SlotTaken { alternatives }
    } else {
        BookError::NotASlot { alternatives }
    })
}

/// Books `request` if its start is a free slot now. `tenant` (an API
/// key's) must own the host; [`ANY_HOST`] needs it.
#[tracing::instrument(skip_all, fields(host = request.host, event_type = request.event_type))]
pub async fn book(
    ctx: &Bookings,
    tenant: Option<&TenantScope>,
    request: &BookingRequest<'_>,
) -> Result<Placed, BookError> {
    let checked = check(request)?;
    let hash = request_hash(request, &checked);
    if request.host.eq_ignore_ascii_case(ANY_HOST) {
        let tenant = tenant.ok_or(BookError::NotFound)?;
        if let Some(earlier) = replay(ctx, tenant, request.idempotency_key, &hash).await? {
            return Ok(earlier);
        }
        let mut taken = false;
        let mut unreadable = None;
        for (profile, event_type) in slots::hosts_for_any(ctx, tenant, request.event_type).await? {
            match book_with(ctx, profile, event_type, request, &checked, &hash).await {
                Err(BookError::SlotTaken { .. }) => taken = true,
                Err(BookError::NotASlot { .. }) => {}
                // Fail closed for that host; another may be free.
                Err(e @ BookError::CalendarUnavailable { .. }) => unreadable = Some(e),
                other => return other,
            }
        }
        if let (Some(e), false) = (unreadable, taken) {
            return Err(e);
        }
        let alternatives = slots::any_host_alternatives(
            ctx,
            tenant,
            request.event_type,
            request.start,
            ALTERNATIVES,
        )
        .await?;
        return Err(if taken {
            BookError::SlotTaken { alternatives }
        } else {
            BookError::NotASlot { alternatives }
        });
    }
    let (profile, event_type) =
        host_and_type(ctx, tenant, request.host, request.event_type).await?;
    if let Some(earlier) =
        replay(ctx, &profile.owner.tenant, request.idempotency_key, &hash).await?
    {
        return Ok(earlier);
    }
    book_with(ctx, profile, event_type, request, &checked, &hash).await
}

async fn book_with(
    ctx: &Bookings,
    profile: Profile,
    event_type: EventType,
    request: &BookingRequest<'_>,
    checked: &Checked,
    hash: &str,
) -> Result<Placed, BookError> {
    precheck(ctx, &profile, &event_type, request.start, None).await?;
    if let Some(visitor) = request.visitor {
        public_limits::before_booking(ctx, &profile, visitor, &checked.email).await?;
    }
    let window = window(request.start);
    let mut busy = busy_in(ctx, &profile, window, Read::Live).await?;
    let now = ctx.clock.now_ms();
    let scope = profile.owner.tenant;

    let mut tx = ctx.db.begin_write().await?;
    repo::lock_host(&mut tx, &profile.owner).await?;
    let bookings = repo::confirmed_between(&mut *tx, &profile.owner, window.0, window.1).await?;
    busy.extend(busy::appointments_busy(&mut *tx, &profile, window.0, window.1).await?);
    let slots = around(&profile, &event_type, request.start, now, &busy, &bookings)?;
    let slot = claim(&slots, request.start, &profile)?;
    let manage_token = random_token();
    let time_zone = checked
        .time_zone
        .clone()
        .unwrap_or_else(|| profile.time_zone.clone());
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
        attendee_time_zone: &time_zone,
        purpose: checked.purpose.as_deref(),
        manage_token_hash: &token_hash(&manage_token),
        idempotency_key: request.idempotency_key,
        request_hash: hash,
    };
    match repo::insert(&mut *tx, &new).await {
        Ok(()) => {}
        Err(DbError::Conflict(Duplicate::OverlappingBooking)) => {
            return Err(BookError::SlotTaken {
                alternatives: alternatives(&slots, request.start, &profile),
            })
        }
        // The same key won a race on another host's lock.
        Err(DbError::Conflict(Duplicate::IdempotencyKey)) => {
            drop(tx);
            return replay(ctx, &scope, request.idempotency_key, hash)
                .await?
                .ok_or(BookError::KeyReused);
        }
        Err(e) => return Err(e.into()),
    }
    ctx.vault
        .store(&mut tx, &scope, &Secret::ManageLink(new.id), &manage_token)
        .await
        .map_err(AppError::from)?;
    sync_export::queue_in(&mut tx, &scope, new.id, now).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(booking = %new.id, "booked");
    ctx.announce(&profile.owner, new.id).await;
    export::try_now(ctx, &scope, new.id).await;
    let booking = repo::get(ctx.db.pool(), &scope, new.id)
        .await?
        .ok_or(BookError::NotFound)?;
    Ok(Placed {
        manage: Some(ManageLink {
            url: ctx.manage_url(booking.id, &manage_token),
            token: manage_token,
        }),
        booking,
        host: profile,
        event_type: Some(event_type),
    })
}

/// The earlier booking under `key`: its result again for the same request,
/// [`BookError::KeyReused`] for another.
async fn replay(
    ctx: &Bookings,
    scope: &TenantScope,
    key: Option<&str>,
    hash: &str,
) -> Result<Option<Placed>, BookError> {
    let Some(key) = key else { return Ok(None) };
    match repo::by_idempotency_key(ctx.db.pool(), scope, key).await? {
        Some(booking) if booking.request_hash.as_deref() == Some(hash) => {
            Ok(Some(placed(ctx, booking).await?))
        }
        Some(_) => Err(BookError::KeyReused),
        None => Ok(None),
    }
}

/// A stored booking with its host and manage link.
async fn placed(ctx: &Bookings, booking: Booking) -> Result<Placed, BookError> {
    let host = profiles_repo::profile_of(ctx.db.pool(), &booking.host)
        .await?
        .ok_or(BookError::NotFound)?;
    let event_type = profiles_repo::event_types_of(ctx.db.pool(), &booking.host)
        .await?
        .into_iter()
        .find(|e| Some(e.id) == booking.event_type);
    let token = ctx
        .vault
        .load(
            ctx.db.pool(),
            &booking.host.tenant,
            &Secret::ManageLink(booking.id),
        )
        .await
        .map_err(AppError::from)?;
    Ok(Placed {
        manage: token.map(|t| ManageLink {
            url: ctx.manage_url(booking.id, t.expose()),
            token: t.expose().to_owned(),
        }),
        booking,
        host,
        event_type,
    })
}

async fn find(ctx: &Bookings, access: Access<'_>, id: BookingId) -> Result<Booking, BookError> {
    let found = match access {
        Access::Tenant(scope) => repo::get(ctx.db.pool(), scope, id).await?,
        Access::ManageToken(token) | Access::Attendee { token, .. } => {
            repo::by_manage_token(ctx.db.pool(), id, &token_hash(token)).await?
        }
    };
    found.ok_or(BookError::NotFound)
}

/// One booking, if `access` may see it.
pub async fn get(ctx: &Bookings, access: Access<'_>, id: BookingId) -> Result<Placed, BookError> {
    placed(ctx, find(ctx, access, id).await?).await
}

/// Cancels a booking (again: no change).
pub async fn cancel(
    ctx: &Bookings,
    access: Access<'_>,
    id: BookingId,
) -> Result<Placed, BookError> {
    let booking = find(ctx, access, id).await?;
    let scope = booking.host.tenant;
    if booking.confirmed {
        if let Access::Attendee { visitor, .. } = access {
            public_limits::before_change(ctx, &booking, visitor).await?;
        }
        let mut tx = ctx.db.begin_write().await?;
        repo::cancel(&mut *tx, &scope, id).await?;
        sync_export::queue_in(&mut tx, &scope, id, ctx.clock.now_ms()).await?;
        tx.commit().await.map_err(DbError::from)?;
        tracing::info!(booking = %id, "booking canceled");
        ctx.announce(&booking.host, id).await;
        export::try_now(ctx, &scope, id).await;
    }
    get(ctx, Access::Tenant(&scope), id).await
}

/// Moves a booking to another free slot of its event type, checked and
/// written under the host's lock like a new booking.
pub async fn reschedule(
    ctx: &Bookings,
    access: Access<'_>,
    id: BookingId,
    start: i64,
) -> Result<Placed, BookError> {
    let booking = find(ctx, access, id).await?;
    if !booking.confirmed {
        return Err(BookError::Canceled);
    }
    if booking.starts_at == start {
        return placed(ctx, booking).await;
    }
    let Placed {
        host: profile,
        event_type,
        ..
    } = placed(ctx, booking.clone()).await?;
    let event_type = event_type.ok_or(BookError::NotFound)?;
    precheck(ctx, &profile, &event_type, start, Some(&booking)).await?;
    if let Access::Attendee { visitor, .. } = access {
        public_limits::before_change(ctx, &booking, visitor).await?;
    }
    let window = window(start);
    // The live read sees the booking's own event on the calendar: a move
    // may overlap it.
    let mut busy = without_own(
        busy_in(ctx, &profile, window, Read::Live).await?,
        Some(&booking),
    );
    let now = ctx.clock.now_ms();

    let mut tx = ctx.db.begin_write().await?;
    repo::lock_host(&mut tx, &booking.host).await?;
    let others: Vec<Booking> = repo::confirmed_between(&mut *tx, &booking.host, window.0, window.1)
        .await?
        .into_iter()
        .filter(|b| b.id != id)
        .collect();
    busy.extend(busy::appointments_busy(&mut *tx, &profile, window.0, window.1).await?);
    let slots = around(&profile, &event_type, start, now, &busy, &others)?;
    let slot = claim(&slots, start, &profile)?;
    match repo::move_to(&mut *tx, &booking.host.tenant, id, slot.start, slot.end).await {
        Ok(()) => {}
        Err(DbError::Conflict(Duplicate::OverlappingBooking)) => {
            return Err(BookError::SlotTaken {
                alternatives: alternatives(&slots, start, &profile),
            })
        }
        // Canceled meanwhile.
        Err(DbError::NotFound) => return Err(BookError::Canceled),
        Err(e) => return Err(e.into()),
    }
    let scope = booking.host.tenant;
    sync_export::queue_in(&mut tx, &scope, id, now).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(booking = %id, "booking rescheduled");
    ctx.announce(&booking.host, id).await;
    export::try_now(ctx, &scope, id).await;
    get(ctx, Access::Tenant(&scope), id).await
}
