//! Which times a host can be booked: working hours in the host's zone
//! (DST-correct), minus busy time, existing bookings and buffers, within
//! the notice, the booking window and the daily limit; starts aligned to the
//! slot interval. Pure: no I/O, the clock is an argument.
//!
//! Cost: O(n log n) in busy intervals and bookings (one sort and merge of
//! the times a start may not take), then O(log n) per candidate slot.

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MINUTE_MS: i64 = 60_000;
/// Midnight at the end of a day, as a minute of that day.
pub const END_OF_DAY: u16 = 24 * 60;

/// A span of wall-clock time within one day, in minutes after midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "StoredHours")]
pub struct DayHours {
    start: u16,
    end: u16,
}

/// [`DayHours`] as stored, checked on the way in.
#[derive(Deserialize)]
struct StoredHours {
    start: u16,
    end: u16,
}

impl TryFrom<StoredHours> for DayHours {
    type Error = HoursError;
    fn try_from(h: StoredHours) -> Result<Self, HoursError> {
        DayHours::new(h.start, h.end)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("'{0}' is not a time of day like 09:00")]
    NotATime(String),
    #[error("the end must come after the start")]
    Empty,
}

impl DayHours {
    /// `start < end <= 24:00`.
    pub fn new(start: u16, end: u16) -> Result<Self, HoursError> {
        if start < end && end <= END_OF_DAY {
            Ok(DayHours { start, end })
        } else {
            Err(HoursError::Empty)
        }
    }

    /// From `HH:MM` wall-clock times; `24:00` is the end of the day.
    pub fn parse(start: &str, end: &str) -> Result<Self, HoursError> {
        DayHours::new(minute_of_day(start)?, minute_of_day(end)?)
    }

    pub fn start(self) -> u16 {
        self.start
    }

    pub fn end(self) -> u16 {
        self.end
    }
}

/// Minutes after midnight of `HH:MM` or `H:MM` (`24:00` allowed).
pub fn minute_of_day(text: &str) -> Result<u16, HoursError> {
    let bad = || HoursError::NotATime(text.chars().take(20).collect());
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(h, 1..=2) || !digits(m, 2..=2) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let minute = h * 60 + m;
    if m > 59 || minute > END_OF_DAY {
        return Err(bad());
    }
    Ok(minute)
}

/// When a host works: a week of hours (Monday first) in their zone, and the
/// dates that differ (no hours: closed that day).
#[derive(Clone, Debug)]
pub struct Schedule {
    pub time_zone: Tz,
    pub weekly: [Vec<DayHours>; 7],
    pub overrides: BTreeMap<NaiveDate, Vec<DayHours>>,
}

impl Schedule {
    /// The hours of one date, sorted, overlapping or touching spans joined.
    fn hours_on(&self, date: NaiveDate) -> Vec<DayHours> {
        let hours = self
            .overrides
            .get(&date)
            .unwrap_or(&self.weekly[date.weekday().num_days_from_monday() as usize]);
        let mut sorted = hours.clone();
        sorted.sort();
        let mut joined: Vec<DayHours> = Vec::with_capacity(sorted.len());
        for h in sorted {
            match joined.last_mut() {
                Some(last) if h.start <= last.end => last.end = last.end.max(h.end),
                _ => joined.push(h),
            }
        }
        joined
    }
}

/// What an event type asks of a slot. Minutes throughout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub duration: u32,
    /// Starts lie on this grid, counted from the start of the working span.
    pub interval: u32,
    /// Free time the host needs before and after the meeting.
    pub buffer_before: u32,
    pub buffer_after: u32,
    /// How long before its start a slot can still be booked.
    pub minimum_notice: u32,
    /// How many days after today (in the host's zone) can be booked.
    pub window_days: u32,
    /// At most this many bookings of the event type a day.
    pub daily_limit: Option<u32>,
}

/// A half-open span `[start, end)` of time in unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

impl Span {
    pub fn new(start: i64, end: i64) -> Self {
        Span { start, end }
    }

    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }

    /// Whether the spans share time; an empty span shares none.
    pub fn overlaps(self, other: Span) -> bool {
        !self.is_empty() && !other.is_empty() && self.start < other.end && other.start < self.end
    }

    /// What is left of the span once `hole` is cut out of it: itself, one
    /// piece, two pieces or nothing.
    pub fn minus(self, hole: Span) -> impl Iterator<Item = Span> {
        let (before, after) = if self.overlaps(hole) {
            (
                Span::new(self.start, hole.start.min(self.end)),
                Span::new(hole.end.max(self.start), self.end),
            )
        } else {
            (self, Span::new(self.end, self.end))
        };
        [before, after].into_iter().filter(|s| !s.is_empty())
    }
}

/// A booking the host already has (an empty one is ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Booked {
    pub span: Span,
    /// The booking's own buffers (minutes), which a new meeting must not
    /// fall into.
    pub buffer_before: u32,
    pub buffer_after: u32,
    /// Of the event type asked about, so it counts toward its daily limit.
    pub counts_toward_limit: bool,
}

/// Everything availability depends on.
pub struct Query<'a> {
    pub schedule: &'a Schedule,
    pub rules: &'a Rules,
    /// Slots start in `[from, to)` (unix ms).
    pub from: i64,
    pub to: i64,
    /// Busy time from the host's calendars (free, declined and cancelled
    /// events already left out by the caller).
    pub busy: &'a [Span],
    pub booked: &'a [Booked],
    pub now: i64,
}

/// The bookable slots, in time order.
pub fn slots(q: &Query<'_>) -> Vec<Span> {
    let rules = q.rules;
    if rules.duration == 0 || rules.interval == 0 || q.from >= q.to {
        return Vec::new();
    }
    let tz = q.schedule.time_zone;
    let duration = minutes(rules.duration);
    let step = minutes(rules.interval);
    let earliest = q
        .from
        .max(q.now.saturating_add(minutes(rules.minimum_notice)));
    if earliest >= q.to {
        return Vec::new();
    }
    let today = local_date(tz, q.now);
    let Some(last_day) = today.checked_add_days(chrono::Days::new(rules.window_days.into())) else {
        return Vec::new();
    };
    let blocked = blocked_starts(q);
    let per_day = bookings_per_day(tz, q.booked);

    let mut out = Vec::new();
    let mut date = local_date(tz, earliest);
    let end_date = local_date(tz, q.to - 1).min(last_day);
    while date <= end_date {
        let full = rules
            .daily_limit
            .is_some_and(|limit| per_day.get(&date).copied().unwrap_or(0) >= limit);
        if !full {
            for hours in q.schedule.hours_on(date) {
                let open = instant(tz, date, hours.start);
                let close = instant(tz, date, hours.end);
                day_slots(
                    open,
                    close,
                    duration,
                    step,
                    (earliest, q.to),
                    &blocked,
                    &mut out,
                );
            }
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    out
}

/// The starts in one working span, on its grid, that the window allows and
/// no blocked range holds.
fn day_slots(
    open: i64,
    close: i64,
    duration: i64,
    step: i64,
    (earliest, to): (i64, i64),
    blocked: &[Span],
    out: &mut Vec<Span>,
) {
    // The first grid point at or after `t`.
    let on_grid = |t: i64| {
        if t <= open {
            open
        } else {
            open + (t - open + step - 1) / step * step
        }
    };
    let mut start = on_grid(earliest);
    while start + duration <= close && start < to {
        // The first blocked range that ends after `start`.
        let i = blocked.partition_point(|b| b.end <= start);
        match blocked.get(i) {
            Some(b) if b.start <= start => start = on_grid(b.end),
            _ => {
                out.push(Span::new(start, start + duration));
                start += step;
            }
        }
    }
}

/// The start times a new meeting may not take, sorted and merged: its
/// meeting plus buffers must miss busy time and bookings, and its meeting
/// must miss the bookings' buffers. Each range is `[start, end)` of starts.
fn blocked_starts(q: &Query<'_>) -> Vec<Span> {
    let r = q.rules;
    let duration = minutes(r.duration);
    let (before, after) = (minutes(r.buffer_before), minutes(r.buffer_after));
    // A start `s` hits span X when `s - before < X.end` and
    // `s + duration + after > X.start`.
    let padded_meeting_hits = |x: Span| Span::new(x.start - duration - after + 1, x.end + before);
    let mut ranges: Vec<Span> = q
        .busy
        .iter()
        .copied()
        .chain(q.booked.iter().map(|b| b.span))
        .filter(|x| !x.is_empty())
        .map(padded_meeting_hits)
        .collect();
    ranges.extend(
        q.booked
            .iter()
            .filter(|b| b.span.end > b.span.start)
            .map(|b| {
                let padded = Span::new(
                    b.span.start - minutes(b.buffer_before),
                    b.span.end + minutes(b.buffer_after),
                );
                Span::new(padded.start - duration + 1, padded.end)
            }),
    );
    ranges.sort_unstable();
    let mut merged: Vec<Span> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

fn bookings_per_day(tz: Tz, booked: &[Booked]) -> BTreeMap<NaiveDate, u32> {
    let mut per_day = BTreeMap::new();
    for b in booked.iter().filter(|b| b.counts_toward_limit) {
        *per_day.entry(local_date(tz, b.span.start)).or_insert(0) += 1;
    }
    per_day
}

fn minutes(n: u32) -> i64 {
    i64::from(n) * MINUTE_MS
}

/// The date in `tz` at instant `ms`.
pub fn local_date(tz: Tz, ms: i64) -> NaiveDate {
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

/// The instant the clock in `tz` first shows `minute` on `date`. A time the
/// clock skips (the spring-forward gap) becomes the instant the gap ends;
/// a time it shows twice (the autumn night) is its first showing.
pub fn instant(tz: Tz, date: NaiveDate, minute: u16) -> i64 {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let wall = midnight + Duration::minutes(minute.into());
    first_instant(tz, wall)
}

fn first_instant(tz: Tz, wall: NaiveDateTime) -> i64 {
    // Gaps are whole minutes and at most a few hours long.
    for skipped in 0..=24 * 60 {
        match tz.from_local_datetime(&(wall + Duration::minutes(skipped))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.timestamp_millis(),
            LocalResult::None => continue,
        }
    }
    wall.and_utc().timestamp_millis()
}

/// The span an all-day event covers in `tz`: from the start of its first
/// date to the start of its end date (exclusive, as Google and Graph give it).
pub fn all_day(tz: Tz, first: NaiveDate, end_exclusive: NaiveDate) -> Span {
    Span::new(instant(tz, first, 0), instant(tz, end_exclusive, 0))
}

/// Up to `n` slots nearest to `at`, in time order (the alternatives offered
/// when a start is taken or not a slot).
pub fn nearest(slots: &[Span], at: i64, n: usize) -> Vec<Span> {
    let mut by_distance: Vec<Span> = slots.to_vec();
    by_distance.sort_by_key(|s| ((s.start - at).abs(), s.start));
    by_distance.truncate(n);
    by_distance.sort();
    by_distance
}

#[cfg(test)]
mod tests;
