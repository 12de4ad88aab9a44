//! The read models of the public booking pages: a host's event types, the
//! month calendar with one day's free times in the visitor's zone, and one
//! booking as its attendee sees it through the manage link.

use super::availability::{instant, local_date, Span};
use super::book::{self, Access, Placed};
use super::error::{BookError, FreeSlot};
use super::slots::{free_slots, host_and_type};
use super::speak::{formatted, parse_rfc3339, rfc3339};
use super::{profiles, Bookings};
use crate::model::{
    paths, BookingId, BookingView, CalendarDay, ChosenSlot, EventTypeCard, HostPage, Rescheduling,
    SchedulePage, SlotChoice,
};
use crate::server::platform::db::booking_profiles::{self as profiles_repo, EventType, Profile};
use chrono::{Datelike, Months, NaiveDate};
use chrono_tz::Tz;
use std::collections::{BTreeMap, BTreeSet};

const DAY_MS: i64 = 24 * 3600 * 1000;

fn zone(name: &str) -> Option<Tz> {
    name.parse().ok()
}

fn host_zone(profile: &Profile) -> Tz {
    zone(&profile.time_zone).unwrap_or(chrono_tz::UTC)
}

fn card(host: &Profile, event_type: &EventType) -> EventTypeCard {
    EventTypeCard {
        slug: event_type.slug.clone(),
        name: event_type.name.clone(),
        duration_minutes: event_type.duration,
        location: event_type.location,
        path: paths::book_event(&host.slug, &event_type.slug),
    }
}

/// `/book/{slug}`.
pub async fn host_page(ctx: &Bookings, slug: &str) -> Result<HostPage, BookError> {
    let profile = profiles::host_by_slug(ctx.db.pool(), slug)
        .await?
        .ok_or(BookError::NotFound)?;
    let event_types = profiles_repo::event_types_of(ctx.db.pool(), &profile.owner)
        .await?
        .iter()
        .map(|e| card(&profile, e))
        .collect();
    Ok(HostPage {
        name: profile.name.clone(),
        slug: profile.slug.clone(),
        time_zone: profile.time_zone.clone(),
        event_types,
    })
}

/// What the schedule page was asked for (its query string).
#[derive(Default)]
pub struct ScheduleQuery<'a> {
    pub time_zone: Option<&'a str>,
    /// `YYYY-MM`.
    pub month: Option<&'a str>,
    /// `YYYY-MM-DD`.
    pub date: Option<&'a str>,
    /// RFC 3339: the time picked.
    pub start: Option<&'a str>,
    /// The attendee moving a booking, with its manage token.
    pub reschedule: Option<(BookingId, &'a str)>,
}

fn first_of(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

fn next_month(first: NaiveDate) -> NaiveDate {
    first.checked_add_months(Months::new(1)).unwrap_or(first)
}

fn parse_month(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok()
}

/// Links within one schedule page: its path and what every link keeps of
/// the query (the zone, the booking being moved).
struct Links {
    path: String,
    keep: Vec<(String, String)>,
}

impl Links {
    fn to(&self, extra: &[(&str, &str)]) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.keep {
            query.append_pair(key, value);
        }
        for (key, value) in extra {
            query.append_pair(key, value);
        }
        format!("{}?{}", self.path, query.finish())
    }

    fn day(&self, date: NaiveDate) -> String {
        self.to(&[("date", &date.format("%Y-%m-%d").to_string())])
    }
}

/// The month calendar, Monday first: each week seven cells, days outside
/// the month `None`.
fn month_grid(
    first: NaiveDate,
    open: &BTreeSet<NaiveDate>,
    selected: Option<NaiveDate>,
    today: NaiveDate,
    links: &Links,
) -> Vec<Vec<Option<CalendarDay>>> {
    let lead = first.weekday().num_days_from_monday() as usize;
    let mut cells: Vec<Option<CalendarDay>> = vec![None; lead];
    let mut day = first;
    while day.month() == first.month() {
        let is_open = open.contains(&day);
        cells.push(Some(CalendarDay {
            date: day.format("%Y-%m-%d").to_string(),
            day: day.day(),
            open: is_open,
            selected: selected == Some(day),
            today: day == today,
            href: is_open.then(|| links.day(day)),
        }));
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    while !cells.len().is_multiple_of(7) {
        cells.push(None);
    }
    cells.chunks(7).map(<[_]>::to_vec).collect()
}

/// A day's free starts as times of day in `tz`; on a day the clock changes
/// the zone's abbreviation tells a repeated hour apart.
fn day_choices(starts: &[i64], tz: Tz, links: &Links) -> Vec<SlotChoice> {
    let offsets: BTreeSet<String> = starts.iter().map(|&s| formatted(s, tz, "%z")).collect();
    let time = if offsets.len() > 1 {
        "%H:%M %Z"
    } else {
        "%H:%M"
    };
    starts.iter().map(|&s| choice(s, tz, time, links)).collect()
}

fn choice(start: i64, tz: Tz, time: &str, links: &Links) -> SlotChoice {
    let utc = rfc3339(start, chrono_tz::UTC);
    SlotChoice {
        href: links.to(&[("start", &utc)]),
        start: utc,
        label: formatted(start, tz, time),
        long_label: formatted(start, tz, &format!("%a %-d %b, {time}")),
    }
}

/// Free times of a host's event type (a refused start's alternatives) as
/// the visitor reads them in `tz`.
pub fn alternatives(host: &str, event_type: &str, tz: Tz, slots: &[FreeSlot]) -> Vec<SlotChoice> {
    let links = Links {
        path: paths::book_event(host, event_type),
        keep: vec![("tz".to_owned(), tz.name().to_owned())],
    };
    slots
        .iter()
        .map(|s| choice(s.span.start, tz, "%H:%M", &links))
        .collect()
}

/// "Monday 7 December 2026, 09:30–10:00".
fn span_label(span: Span, tz: Tz) -> String {
    format!(
        "{}–{}",
        formatted(span.start, tz, "%A %-d %B %Y, %H:%M"),
        formatted(span.end, tz, "%H:%M")
    )
}

/// The free slots of the event type in one month of `tz`, from now on;
/// an unreadable calendar gives none and says so.
async fn month_slots(
    ctx: &Bookings,
    host: &Profile,
    event_type: &EventType,
    tz: Tz,
    first: NaiveDate,
    now: i64,
) -> Result<(Vec<Span>, bool), BookError> {
    let from = instant(tz, first, 0).max(now);
    let to = instant(tz, next_month(first), 0);
    if to <= from {
        return Ok((Vec::new(), false));
    }
    match free_slots(ctx, None, &host.slug, &event_type.slug, from, to).await {
        Ok(free) => Ok((free.into_iter().map(|s| s.span).collect(), false)),
        // Unreadable, or read live too often this minute: no times, and
        // the page says to try again shortly.
        Err(BookError::CalendarUnavailable { .. } | BookError::Limited(_)) => {
            Ok((Vec::new(), true))
        }
        Err(e) => Err(e),
    }
}

/// `/book/{slug}/{event-type}`.
pub async fn schedule_page(
    ctx: &Bookings,
    host: &str,
    event_type: &str,
    q: &ScheduleQuery<'_>,
) -> Result<SchedulePage, BookError> {
    let (profile, kind) = host_and_type(ctx, None, host, event_type).await?;
    let host_tz = host_zone(&profile);
    let tz = q.time_zone.and_then(zone).unwrap_or(host_tz);
    let rescheduling = match q.reschedule {
        Some((id, token)) => Some(rescheduling(ctx, &profile, id, token, tz).await?),
        None => None,
    };
    let now = ctx.clock.now_ms();
    let today = local_date(tz, now);
    let first_month = first_of(today);
    let last_month = first_of(local_date(tz, now + i64::from(kind.window_days) * DAY_MS));
    let start = q.start.and_then(parse_rfc3339);
    let date = start.map(|s| local_date(tz, s)).or_else(|| {
        q.date
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    });
    let asked = q.month.and_then(parse_month).or(date.map(first_of));
    let mut month = asked.unwrap_or(first_month).clamp(first_month, last_month);
    let (mut free, mut unavailable) = month_slots(ctx, &profile, &kind, tz, month, now).await?;
    // Late in a month its free times may be gone: open on the next one.
    if asked.is_none() && free.is_empty() && !unavailable && month < last_month {
        month = next_month(month);
        (free, unavailable) = month_slots(ctx, &profile, &kind, tz, month, now).await?;
    }
    let mut by_day: BTreeMap<NaiveDate, Vec<i64>> = BTreeMap::new();
    for slot in &free {
        by_day
            .entry(local_date(tz, slot.start))
            .or_default()
            .push(slot.start);
    }
    let date = date
        .filter(|d| first_of(*d) == month)
        .or_else(|| by_day.keys().next().copied());
    let open: BTreeSet<NaiveDate> = by_day.keys().copied().collect();
    let chosen = start
        .and_then(|s| free.iter().find(|f| f.start == s))
        .map(|span| ChosenSlot {
            start: rfc3339(span.start, chrono_tz::UTC),
            label: span_label(*span, tz),
            host_label: (host_tz != tz).then(|| span_label(*span, host_tz)),
        });
    let mut keep = vec![("tz".to_owned(), tz.name().to_owned())];
    if let Some((id, token)) = q.reschedule {
        keep.push(("reschedule".to_owned(), id.to_string()));
        keep.push(("token".to_owned(), token.to_owned()));
    }
    let links = Links {
        path: paths::book_event(&profile.slug, &kind.slug),
        keep,
    };
    let month_link = |first: NaiveDate| links.to(&[("month", &first.format("%Y-%m").to_string())]);
    let mut here: Vec<(&str, String)> = Vec::new();
    if let Some(d) = date {
        here.push(("date", d.format("%Y-%m-%d").to_string()));
    }
    if let Some(c) = &chosen {
        here.push(("start", c.start.clone()));
    }
    let here_pairs: Vec<(&str, &str)> = here.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(SchedulePage {
        host_name: profile.name.clone(),
        host_slug: profile.slug.clone(),
        host_time_zone: profile.time_zone.clone(),
        event_type: card(&profile, &kind),
        time_zone: tz.name().to_owned(),
        zone_given: q.time_zone.is_some_and(|z| zone(z).is_some()),
        href: links.to(&here_pairs),
        keep: links
            .keep
            .iter()
            .filter(|(k, _)| k != "tz")
            .cloned()
            .chain(
                here.iter()
                    .filter(|(k, _)| *k == "date")
                    .map(|(k, v)| ((*k).to_owned(), v.clone())),
            )
            .collect(),
        month_label: month.format("%B %Y").to_string(),
        prev_month: (month > first_month)
            .then(|| month_link(first_of(month - chrono::Days::new(1)))),
        next_month: (month < last_month).then(|| month_link(next_month(month))),
        weeks: month_grid(month, &open, date, today, &links),
        date_label: date.map(|d| d.format("%A %-d %B %Y").to_string()),
        slots: date
            .and_then(|d| by_day.get(&d))
            .map(|starts| day_choices(starts, tz, &links))
            .unwrap_or_default(),
        date: date.map(|d| d.format("%Y-%m-%d").to_string()),
        start_gone: start.is_some() && chosen.is_none(),
        chosen,
        unavailable,
        rescheduling,
    })
}

/// The booking being moved, if the token opens it and it is this host's.
async fn rescheduling(
    ctx: &Bookings,
    host: &Profile,
    id: BookingId,
    token: &str,
    tz: Tz,
) -> Result<Rescheduling, BookError> {
    let placed = book::get(ctx, Access::ManageToken(token), id).await?;
    if placed.booking.host != host.owner {
        return Err(BookError::NotFound);
    }
    if !placed.booking.confirmed {
        return Err(BookError::Canceled);
    }
    let span = Span::new(placed.booking.starts_at, placed.booking.ends_at);
    Ok(Rescheduling {
        booking: id,
        token: token.to_owned(),
        current: span_label(span, tz),
    })
}

/// `/booking/{id}?token=…`.
pub async fn booking_view(
    ctx: &Bookings,
    id: BookingId,
    token: &str,
) -> Result<BookingView, BookError> {
    let placed = book::get(ctx, Access::ManageToken(token), id).await?;
    Ok(attendee_view(ctx, &placed, token))
}

/// A booking as its attendee sees it, opened with `token`.
pub fn attendee_view(ctx: &Bookings, placed: &Placed, token: &str) -> BookingView {
    let Placed {
        booking,
        host,
        event_type,
        ..
    } = placed;
    let id = booking.id;
    let host_tz = host_zone(host);
    let attendee_tz = zone(&booking.attendee_time_zone).unwrap_or(host_tz);
    let span = Span::new(booking.starts_at, booking.ends_at);
    let started = booking.starts_at <= ctx.clock.now_ms();
    let query = |pairs: &[(&str, &str)]| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let reschedule_path = event_type
        .as_ref()
        .filter(|_| booking.confirmed && !started)
        .map(|e| {
            format!(
                "{}?{}",
                paths::book_event(&host.slug, &e.slug),
                query(&[
                    ("reschedule", &id.to_string()),
                    ("token", token),
                    ("tz", attendee_tz.name()),
                ])
            )
        });
    BookingView {
        id,
        canceled: !booking.confirmed,
        started,
        host_name: host.name.clone(),
        event_name: event_type
            .as_ref()
            .map_or_else(|| "Meeting".to_owned(), |e| e.name.clone()),
        location: event_type
            .as_ref()
            .map_or(crate::model::EventLocation::None, |e| e.location),
        location_detail: event_type.as_ref().and_then(|e| e.location_detail.clone()),
        attendee_name: booking.attendee_name.clone(),
        attendee_email: booking.attendee_email.clone(),
        when: span_label(span, attendee_tz),
        attendee_time_zone: attendee_tz.name().to_owned(),
        when_host: (host_tz != attendee_tz).then(|| span_label(span, host_tz)),
        host_time_zone: host_tz.name().to_owned(),
        meeting_url: booking.export.meeting_url.clone(),
        invite_pending: booking.export.event_id.is_none() || booking.export.error.is_some(),
        manage_url: ctx.manage_url(id, token),
        token: token.to_owned(),
        ics_path: format!(
            "{}?{}",
            paths::BOOKING_ICS.to(id),
            query(&[("token", token)])
        ),
        reschedule_path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links {
            path: "/book/alice/intro".into(),
            keep: vec![("tz".into(), "Europe/Berlin".into())],
        }
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_month_grid_starts_on_monday_and_pads_both_ends() {
        // December 2026 starts on a Tuesday and ends on a Thursday.
        let open = BTreeSet::from([date("2026-12-07"), date("2026-12-08")]);
        let weeks = month_grid(
            date("2026-12-01"),
            &open,
            Some(date("2026-12-08")),
            date("2026-12-03"),
            &links(),
        );
        assert_eq!(weeks.len(), 5);
        assert!(weeks.iter().all(|w| w.len() == 7));
        assert!(weeks[0][0].is_none());
        assert_eq!(weeks[0][1].as_ref().unwrap().date, "2026-12-01");
        let days: Vec<&CalendarDay> = weeks.iter().flatten().flatten().collect();
        assert_eq!(days.len(), 31);
        assert!(weeks[4][4..].iter().all(Option::is_none));
        let open_days: Vec<&str> = days
            .iter()
            .filter(|d| d.open)
            .map(|d| d.date.as_str())
            .collect();
        assert_eq!(open_days, ["2026-12-07", "2026-12-08"]);
        assert_eq!(days.iter().filter(|d| d.selected).count(), 1);
        assert_eq!(
            days[6].href.as_deref(),
            Some("/book/alice/intro?tz=Europe%2FBerlin&date=2026-12-07")
        );
        assert!(days[5].href.is_none());
        assert!(days[2].today);
    }

    #[test]
    fn a_repeated_hour_is_told_apart_by_its_zone() {
        let berlin = chrono_tz::Europe::Berlin;
        // 2026-10-25 02:30 CEST and 02:30 CET.
        let first = parse_rfc3339("2026-10-25T00:30:00Z").unwrap();
        let second = parse_rfc3339("2026-10-25T01:30:00Z").unwrap();
        let labels: Vec<String> = day_choices(&[first, second], berlin, &links())
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert_eq!(labels, ["02:30 CEST", "02:30 CET"]);
        let plain = day_choices(
            &[parse_rfc3339("2026-12-07T08:30:00Z").unwrap()],
            berlin,
            &links(),
        );
        assert_eq!(plain[0].label, "09:30");
        assert_eq!(plain[0].start, "2026-12-07T08:30:00Z");
        assert_eq!(plain[0].long_label, "Mon 7 Dec, 09:30");
        assert_eq!(
            plain[0].href,
            "/book/alice/intro?tz=Europe%2FBerlin&start=2026-12-07T08%3A30%3A00Z"
        );
    }

    #[test]
    fn a_span_reads_as_a_date_and_two_times() {
        let start = parse_rfc3339("2026-12-07T08:30:00Z").unwrap();
        let span = Span::new(start, start + 30 * 60_000);
        assert_eq!(
            span_label(span, chrono_tz::Europe::Berlin),
            "Monday 7 December 2026, 09:30–10:00"
        );
        assert_eq!(
            span_label(span, chrono_tz::America::New_York),
            "Monday 7 December 2026, 03:30–04:00"
        );
    }

    #[test]
    fn months_parse_and_step() {
        assert_eq!(parse_month("2026-12"), Some(date("2026-12-01")));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("x"), None);
        assert_eq!(next_month(date("2026-12-01")), date("2027-01-01"));
    }
}
