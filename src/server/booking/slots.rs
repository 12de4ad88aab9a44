//! The free slots of a host (or of every host of a tenant, each slot given
//! to the least-booked free host) over a range, from the availability core
//! fed with the host's busy time and bookings.

use super::availability::{self, nearest, Booked, Query, Span};
use super::busy::{self, Read};
use super::error::{BookError, FreeSlot};
use super::{profiles, Bookings};
use crate::server::platform::db::booking_profiles::{self as profiles_repo, EventType, Profile};
use crate::server::platform::db::bookings as bookings_repo;
use crate::server::platform::db::TenantScope;
use std::collections::BTreeMap;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// The longest range one availability request may ask for.
pub const MAX_RANGE_DAYS: i64 = 62;
/// How far ahead "fewest bookings" counts when giving a slot to a host.
const LOAD_DAYS: i64 = 30;

/// The host a request may name to be given any free host of the tenant.
pub const ANY_HOST: &str = "any";

/// The host a slug names and its event type by slug; `tenant` (an API
/// key's) must own them when given.
pub async fn host_and_type(
    ctx: &Bookings,
    tenant: Option<&TenantScope>,
    host: &str,
    event_type: &str,
) -> Result<(Profile, EventType), BookError> {
    let (host, event_type) = (host.to_ascii_lowercase(), event_type.to_ascii_lowercase());
    profiles_repo::host_and_event_type(ctx.db.pool(), &host, &event_type)
        .await?
        .filter(|(p, _)| tenant.is_none_or(|t| *t == p.owner.tenant))
        .ok_or(BookError::NotFound)
}

/// A host and the event types they offer.
pub struct Host {
    pub profile: Profile,
    pub event_types: Vec<EventType>,
}

/// The tenant's hosts, by slug.
pub async fn hosts(ctx: &Bookings, tenant: &TenantScope) -> Result<Vec<Host>, BookError> {
    let mut hosts = Vec::new();
    for profile in profiles_repo::profiles_in_tenant(ctx.db.pool(), tenant).await? {
        let event_types = profiles_repo::event_types_of(ctx.db.pool(), &profile.owner).await?;
        hosts.push(Host {
            profile,
            event_types,
        });
    }
    Ok(hosts)
}

/// The free slots of one host's event type in `[from, to)`.
async fn host_slots(
    ctx: &Bookings,
    profile: &Profile,
    event_type: &EventType,
    from: i64,
    to: i64,
    now: i64,
) -> Result<Vec<Span>, BookError> {
    // Buffers reach past the range; a day on each side covers them.
    let (busy_from, busy_to) = (from - DAY_MS, to + DAY_MS);
    let busy = busy::host_busy(ctx, profile, busy_from, busy_to, Read::MirrorIfFresh).await?;
    let booked: Vec<Booked> =
        bookings_repo::confirmed_between(ctx.db.pool(), &profile.owner, busy_from, busy_to)
            .await?
            .into_iter()
            .map(|b| Booked {
                span: Span::new(b.starts_at, b.ends_at),
                buffer_before: b.buffer_before,
                buffer_after: b.buffer_after,
                counts_toward_limit: b.event_type == Some(event_type.id),
            })
            .collect();
    Ok(availability::slots(&Query {
        schedule: &profiles::schedule(profile)?,
        rules: &profiles::rules(event_type),
        from,
        to,
        busy: &busy,
        booked: &booked,
        now,
    }))
}

/// The tenant's hosts offering the event type, fewest bookings in the
/// coming weeks first (then by slug): the order "any host" gives slots in.
async fn by_load(
    ctx: &Bookings,
    tenant: &TenantScope,
    event_type: &str,
    now: i64,
) -> Result<Vec<(Profile, EventType)>, BookError> {
    let counts: BTreeMap<String, i64> =
        bookings_repo::counts_between(ctx.db.pool(), tenant, now, now + LOAD_DAYS * DAY_MS)
            .await?
            .into_iter()
            .collect();
    let mut offering: Vec<(i64, Profile, EventType)> = Vec::new();
    for host in hosts(ctx, tenant).await? {
        let Some(kind) = host
            .event_types
            .into_iter()
            .find(|e| e.slug.eq_ignore_ascii_case(event_type))
        else {
            continue;
        };
        let load = counts
            .get(&host.profile.owner.user_id().to_string())
            .copied()
            .unwrap_or(0);
        offering.push((load, host.profile, kind));
    }
    if offering.is_empty() {
        return Err(BookError::NotFound);
    }
    offering.sort_by(|a, b| (a.0, &a.1.slug).cmp(&(b.0, &b.1.slug)));
    Ok(offering.into_iter().map(|(_, p, e)| (p, e)).collect())
}

fn check_range(from: i64, to: i64) -> Result<(), BookError> {
    if to <= from {
        return Err(BookError::Invalid {
            field: "end",
            message: "The end date must not be before the start date.",
        });
    }
    if to - from > MAX_RANGE_DAYS * DAY_MS + DAY_MS {
        return Err(BookError::Invalid {
            field: "end",
            message: "Ask for at most 62 days at a time.",
        });
    }
    Ok(())
}

/// The free slots in `[from, to)` of the host with slug `host`, or with
/// [`ANY_HOST`] of every host of `tenant` offering the event type (each
/// start once, given to the least-booked host free then).
pub async fn free_slots(
    ctx: &Bookings,
    tenant: Option<&TenantScope>,
    host: &str,
    event_type: &str,
    from: i64,
    to: i64,
) -> Result<Vec<FreeSlot>, BookError> {
    check_range(from, to)?;
    let now = ctx.clock.now_ms();
    if !host.eq_ignore_ascii_case(ANY_HOST) {
        let (profile, kind) = host_and_type(ctx, tenant, host, event_type).await?;
        return Ok(host_slots(ctx, &profile, &kind, from, to, now)
            .await?
            .into_iter()
            .map(|span| FreeSlot {
                span,
                host: profile.slug.clone(),
            })
            .collect());
    }
    let tenant = tenant.ok_or(BookError::NotFound)?;
    let mut by_start: BTreeMap<i64, FreeSlot> = BTreeMap::new();
    // A host whose calendar cannot be read offers nothing; the others do.
    let mut unreadable = None;
    let mut readable = 0;
    for (profile, kind) in by_load(ctx, tenant, event_type, now).await? {
        let spans = match host_slots(ctx, &profile, &kind, from, to, now).await {
            Ok(spans) => spans,
            Err(e @ (BookError::CalendarUnavailable { .. } | BookError::Limited(_))) => {
                unreadable = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        readable += 1;
        for span in spans {
            by_start.entry(span.start).or_insert_with(|| FreeSlot {
                span,
                host: profile.slug.clone(),
            });
        }
    }
    match unreadable {
        Some(e) if readable == 0 => Err(e),
        _ => Ok(by_start.into_values().collect()),
    }
}

/// Every host offering the event type, least booked first: whoever of them
/// is free at the start gets a booking for "any host".
pub async fn hosts_for_any(
    ctx: &Bookings,
    tenant: &TenantScope,
    event_type: &str,
) -> Result<Vec<(Profile, EventType)>, BookError> {
    by_load(ctx, tenant, event_type, ctx.clock.now_ms()).await
}

/// The free slots of any host nearest to `start`.
pub async fn any_host_alternatives(
    ctx: &Bookings,
    tenant: &TenantScope,
    event_type: &str,
    start: i64,
    n: usize,
) -> Result<Vec<FreeSlot>, BookError> {
    let free = free_slots(
        ctx,
        Some(tenant),
        ANY_HOST,
        event_type,
        start - DAY_MS,
        start + 7 * DAY_MS,
    )
    .await?;
    let spans: Vec<Span> = free.iter().map(|s| s.span).collect();
    let near = nearest(&spans, start, n);
    Ok(free
        .into_iter()
        .filter(|s| near.contains(&s.span))
        .collect())
}
