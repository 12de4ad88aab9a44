//! Where a host's busy time comes from: the local mirror (imported Google
//! and Graph events, Calendly events) for a calendar connection whose push
//! subscriptions are live and whose last sync is recent; a live provider
//! read (Google `freeBusy`, Graph `getSchedule`) otherwise, and always just
//! before a booking commits, since the mirror may lag by seconds. A
//! calendar that cannot be read fails closed: the host offers no times.

use super::availability::{self, Span};
use super::error::BookError;
use super::Bookings;
use crate::model::{ConnectionState, Provider, SubscriptionState, SyncMode};
use crate::server::platform::db::appointments as appointments_repo;
use crate::server::platform::db::booking_profiles::Profile;
use crate::server::platform::db::connections::{self as connections_repo, Connection};
use crate::server::platform::db::meetings::{self as meetings_repo, BusyRow};
use crate::server::platform::db::subscriptions::{self as subscriptions_repo, Subscription};
use crate::server::platform::limits::{Limit, LimitName, Window};
use crate::server::providers::{self, BusyQuery, Coverage};
use chrono::NaiveDate;
use chrono_tz::Tz;
use sqlx::{Any, Executor};

/// How long after its last successful sync a pushed mirror is trusted.
/// Push keeps it current between syncs; this bounds what a lost
/// notification can hide.
pub const MIRROR_TRUST_MS: i64 = 6 * 3600 * 1000;

/// How many live reads of one host's calendars calbridge makes a minute,
/// whoever asks: past it a booking or an availability read fails closed
/// ("try again in a moment") rather than spend the host's provider quota,
/// whose 429 cool-down would stall the host's own syncs.
pub const LIVE_READS_PER_HOST_MINUTE: i64 = 30;

/// Where the calendars' busy time is read from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Read {
    /// The mirror where it is trusted, live elsewhere.
    MirrorIfFresh,
    /// Live, every calendar.
    Live,
    /// Only what is stored: the trusted mirrors (a calendar whose mirror
    /// is not trusted adds nothing), never a provider call. The check a
    /// booking passes before it may cost a live read.
    StoredOnly,
}

/// The host's busy spans over `[from, to)` across every busy source.
pub async fn host_busy(
    ctx: &Bookings,
    host: &Profile,
    from: i64,
    to: i64,
    read: Read,
) -> Result<Vec<Span>, BookError> {
    let tz: Tz = host.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let pool = ctx.db.pool();
    let mirrored = meetings_repo::busy_between(pool, &host.owner, from, to).await?;
    let connections = connections_repo::with_busy_calendars(pool, &host.owner).await?;
    let all_subscriptions = match connections.is_empty() {
        true => Vec::new(),
        false => subscriptions_repo::current_for_user(pool, &host.owner).await?,
    };
    let now = ctx.clock.now_ms();
    let mut busy = appointments_busy(pool, host, from, to).await?;
    let mut read_live = Vec::new();
    for (connection, busy_calendars) in connections {
        let Some(calendars) = providers::api(connection.provider).calendars() else {
            continue;
        };
        if connection.state == ConnectionState::Disconnected {
            continue;
        }
        let subscriptions: Vec<Subscription> = all_subscriptions
            .iter()
            .filter(|s| s.connection_id == connection.id)
            .cloned()
            .collect();
        let trusted =
            read != Read::Live && mirror_trusted(&connection, &subscriptions, &busy_calendars, now);
        if !trusted {
            read_live.push((connection, calendars, busy_calendars));
        }
    }
    // A connection read live replaces its mirror rows: the live answer is
    // the truth, and a stale row (an event since deleted) must not block.
    // A stored-only read leaves such a calendar to the live check after it.
    let unmirrored: Vec<String> = read_live.iter().map(|(c, ..)| c.id.to_string()).collect();
    busy.extend(
        mirrored
            .iter()
            .filter(|row| !unmirrored.contains(&row.connection_id))
            .map(|row| mirrored_span(row, tz)),
    );
    if read == Read::StoredOnly {
        return Ok(busy);
    }
    if !read_live.is_empty() {
        spend_live_read(ctx, host).await?;
    }
    for (connection, calendars, busy_calendars) in read_live {
        let query = BusyQuery {
            mailbox: &connection.account_email,
            calendars: &busy_calendars,
            from,
            to,
        };
        let answer = ctx
            .tokens
            .call(&host.owner, connection.id, false, |token| {
                let query = &query;
                let http = &ctx.provider_http;
                async move { calendars.busy(http, &token, query).await }
            })
            .await;
        let unavailable = |why: &str| {
            tracing::warn!(connection = %connection.id, provider = connection.provider.as_str(), why, "calendar unreadable; host offers no times");
            BookError::CalendarUnavailable {
                host: host.slug.clone(),
            }
        };
        let found = answer.map_err(|e| unavailable(&e.to_string()))?;
        for calendar in found {
            let spans = calendar
                .busy
                .ok_or_else(|| unavailable("the provider could not read a busy calendar"))?;
            busy.extend(spans.into_iter().map(|(s, e)| Span::new(s, e)));
        }
    }
    Ok(busy)
}

/// Takes one of the host's live reads this minute, or refuses.
async fn spend_live_read(ctx: &Bookings, host: &Profile) -> Result<(), BookError> {
    let budget = Limit {
        name: LimitName::LiveReadsPerHost,
        subject: host.owner.user_id().to_string(),
        window: Window::Minute,
        max: LIVE_READS_PER_HOST_MINUTE,
    };
    ctx.limits
        .take(&host.owner.tenant, &[budget])
        .await?
        .map_err(BookError::Limited)?;
    Ok(())
}

/// The host's confirmed calbridge appointments over `[from, to)`. A
/// booking reads them again inside its write, under the host's lock, where
/// an appointment created meanwhile cannot slip past.
pub async fn appointments_busy<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    host: &Profile,
    from: i64,
    to: i64,
) -> Result<Vec<Span>, BookError> {
    Ok(
        appointments_repo::busy_between(ex, &host.owner, from, to, None)
            .await?
            .into_iter()
            .map(|(s, e)| Span::new(s, e))
            .collect(),
    )
}

/// A mirror row as busy time; an all-day event covers its dates in the
/// host's zone.
fn mirrored_span(row: &BusyRow, tz: Tz) -> Span {
    if !row.all_day {
        return Span::new(row.starts_at, row.ends_at);
    }
    let date = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.date_naive())
            .unwrap_or(NaiveDate::MIN)
    };
    Span::new(
        availability::instant(tz, date(row.starts_at), 0),
        availability::instant(tz, date(row.ends_at), 0),
    )
}

/// Whether the mirror of `connection` is current enough to answer for its
/// busy calendars: connected, pushed (not polled), every busy calendar
/// under an active subscription (one per account for Graph), and synced
/// within [`MIRROR_TRUST_MS`].
pub fn mirror_trusted(
    connection: &Connection,
    subscriptions: &[Subscription],
    busy_calendars: &[String],
    now: i64,
) -> bool {
    let active = |calendar: Option<&str>| {
        subscriptions.iter().any(|s| {
            s.state == SubscriptionState::Active
                && s.expires_at.is_none_or(|at| at > now)
                && calendar.is_none_or(|c| s.calendar_id.as_deref() == Some(c))
        })
    };
    let covered = match providers::api(connection.provider).coverage() {
        Coverage::Account => active(None),
        Coverage::BusyCalendar => busy_calendars.iter().all(|c| active(Some(c))),
    };
    connection.state == ConnectionState::Connected
        && connection.sync_mode == SyncMode::Webhook
        && connection.provider != Provider::Calendly
        && covered
        && connection
            .last_sync_at
            .is_some_and(|at| now - at <= MIRROR_TRUST_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConnectionId, SubscriptionId, TenantId, UserId};
    use crate::server::platform::db::{TenantScope, UserScope};

    const NOW: i64 = 1_800_000_000_000;

    fn connection(provider: Provider) -> Connection {
        Connection {
            id: ConnectionId::generate(),
            owner: UserScope::new(TenantScope::new(TenantId::generate()), UserId::generate()),
            provider,
            provider_account_id: "acct".into(),
            account_email: "alice@example.com".into(),
            account_name: "Alice".into(),
            state: ConnectionState::Connected,
            token_expires_at: None,
            connected_at: NOW - 86_400_000,
            last_sync_at: Some(NOW - 60_000),
            last_error: None,
            organization: None,
            public_id: "p".into(),
            sync_mode: SyncMode::Webhook,
            booking_calendar_id: None,
            conflict_policy: crate::model::ConflictPolicy::Ask,
        }
    }

    fn subscription(
        c: &Connection,
        calendar: Option<&str>,
        state: SubscriptionState,
    ) -> Subscription {
        Subscription {
            id: SubscriptionId::generate(),
            tenant: c.owner.tenant,
            connection_id: c.id,
            provider: c.provider,
            calendar_id: calendar.map(str::to_owned),
            external_id: "x".into(),
            resource_id: None,
            state,
            expires_at: Some(NOW + 3_600_000),
            renew_at: None,
            last_error: None,
        }
    }

    #[test]
    fn google_needs_an_active_channel_on_every_busy_calendar() {
        let c = connection(Provider::Google);
        let busy = ["primary".to_owned(), "team".to_owned()];
        let one = [subscription(&c, Some("primary"), SubscriptionState::Active)];
        assert!(!mirror_trusted(&c, &one, &busy, NOW));
        let both = [
            subscription(&c, Some("primary"), SubscriptionState::Active),
            subscription(&c, Some("team"), SubscriptionState::Active),
        ];
        assert!(mirror_trusted(&c, &both, &busy, NOW));
        let failed = [
            subscription(&c, Some("primary"), SubscriptionState::Active),
            subscription(&c, Some("team"), SubscriptionState::Failed),
        ];
        assert!(!mirror_trusted(&c, &failed, &busy, NOW));
    }

    #[test]
    fn graph_needs_one_active_subscription_for_the_account() {
        let c = connection(Provider::Microsoft);
        let busy = ["cal".to_owned()];
        assert!(!mirror_trusted(&c, &[], &busy, NOW));
        let active = [subscription(&c, None, SubscriptionState::Active)];
        assert!(mirror_trusted(&c, &active, &busy, NOW));
        let mut expired = subscription(&c, None, SubscriptionState::Active);
        expired.expires_at = Some(NOW - 1);
        assert!(!mirror_trusted(&c, &[expired], &busy, NOW));
    }

    #[test]
    fn a_stale_polled_or_broken_connection_is_read_live() {
        let base = connection(Provider::Microsoft);
        let subs = [subscription(&base, None, SubscriptionState::Active)];
        let busy = ["cal".to_owned()];
        let mut stale = connection(Provider::Microsoft);
        stale.last_sync_at = Some(NOW - MIRROR_TRUST_MS - 1);
        let mut never = connection(Provider::Microsoft);
        never.last_sync_at = None;
        let mut polled = connection(Provider::Microsoft);
        polled.sync_mode = SyncMode::Polling;
        let mut broken = connection(Provider::Microsoft);
        broken.state = ConnectionState::Error;
        for c in [stale, never, polled, broken] {
            assert!(!mirror_trusted(&c, &subs, &busy, NOW));
        }
    }

    #[test]
    fn all_day_events_cover_their_dates_in_the_hosts_zone() {
        let christmas = NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
        let midnight_utc =
            |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis();
        let row = BusyRow {
            connection_id: "c".into(),
            starts_at: midnight_utc(christmas),
            ends_at: midnight_utc(christmas.succ_opt().unwrap()),
            all_day: true,
        };
        let berlin = chrono_tz::Europe::Berlin;
        let span = mirrored_span(&row, berlin);
        assert_eq!(span.start, availability::instant(berlin, christmas, 0));
        assert_eq!(span.end - span.start, 24 * 3600 * 1000);
        assert_eq!(
            span.start,
            row.starts_at - 3600 * 1000,
            "Berlin is UTC+1 in December"
        );
        let timed = BusyRow {
            all_day: false,
            ..row
        };
        assert_eq!(
            mirrored_span(&timed, berlin),
            Span::new(timed.starts_at, timed.ends_at)
        );
    }
}
