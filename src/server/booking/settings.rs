//! `/settings/booking`: a host's booking page, hours and event types as
//! they edit them. Hours are typed as text (`09:00-12:00, 13:00-17:00` a
//! weekday; `2026-12-24 closed` a date), so the page needs no script.

use super::availability::{DayHours, HoursError};
use super::profiles::{self, Hours, NewEventType};
use crate::model::{
    paths, BookingSettingsPage, EventLocation, EventTypeId, EventTypeSettings, Flash, WeekdayHours,
};
use crate::server::error::{AppError, AppResult};
use crate::server::platform::config::Config;
use crate::server::platform::db::booking_profiles as repo;
use crate::server::platform::db::{Db, UserScope};
use crate::server::validate::check_time_zone;
use chrono::NaiveDate;
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::str::FromStr;

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// One day's hours as typed: spans `HH:MM-HH:MM` separated by commas;
/// nothing (or `closed`) for none.
pub fn parse_day_hours(text: &str) -> Result<Vec<DayHours>, HoursError> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("closed") {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|span| {
            let (start, end) = span
                .split_once(['-', '–'])
                .ok_or_else(|| HoursError::NotATime(span.trim().chars().take(20).collect()))?;
            DayHours::parse(start, end)
        })
        .collect()
}

/// Hours as [`parse_day_hours`] reads them.
pub fn format_day_hours(hours: &[DayHours]) -> String {
    hours
        .iter()
        .map(|h| format!("{}-{}", clock(h.start()), clock(h.end())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Dates that differ, one a line: `YYYY-MM-DD closed` or `YYYY-MM-DD`
/// followed by that day's hours.
pub fn parse_overrides(text: &str) -> Result<BTreeMap<NaiveDate, Vec<DayHours>>, HoursError> {
    let mut overrides = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (date, hours) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| HoursError::NotATime(date.chars().take(20).collect()))?;
        overrides.insert(date, parse_day_hours(hours)?);
    }
    Ok(overrides)
}

pub fn format_overrides(overrides: &BTreeMap<NaiveDate, Vec<DayHours>>) -> String {
    overrides
        .iter()
        .map(|(date, hours)| {
            let hours = if hours.is_empty() {
                "closed".to_owned()
            } else {
                format_day_hours(hours)
            };
            format!("{date} {hours}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn event_type_settings(host_slug: &str, e: &repo::EventType) -> EventTypeSettings {
    EventTypeSettings {
        id: e.id,
        slug: e.slug.clone(),
        name: e.name.clone(),
        duration: e.duration,
        location: e.location,
        location_detail: e.location_detail.clone().unwrap_or_default(),
        buffer_before: e.buffer_before,
        buffer_after: e.buffer_after,
        minimum_notice: e.minimum_notice,
        window_days: e.window_days,
        slot_interval: e.slot_interval,
        daily_limit: e.daily_limit,
        path: paths::book_event(host_slug, &e.slug),
    }
}

/// The page for `owner`; without a profile yet, one to start from (their
/// zone, weekdays 09:00–17:00, a slug from their email).
pub async fn page(
    db: &Db,
    config: &Config,
    owner: &UserScope,
    email: &str,
    time_zone: &str,
) -> AppResult<BookingSettingsPage> {
    let profile = repo::profile_of(db.pool(), owner).await?;
    let Some(profile) = profile else {
        let slug: String = email
            .split('@')
            .next()
            .unwrap_or_default()
            .chars()
            .map(|c| c.to_ascii_lowercase())
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(40)
            .collect();
        return Ok(BookingSettingsPage {
            exists: false,
            slug: slug.trim_matches('-').to_owned(),
            time_zone: time_zone.to_owned(),
            weekly: WEEKDAYS
                .iter()
                .enumerate()
                .map(|(i, day)| WeekdayHours {
                    day: (*day).to_owned(),
                    hours: if i < 5 { "09:00-17:00" } else { "" }.to_owned(),
                })
                .collect(),
            overrides: String::new(),
            public_daily_limit: profiles::DEFAULT_PUBLIC_DAILY_LIMIT,
            page_url: None,
            event_types: Vec::new(),
        });
    };
    let schedule = profiles::schedule(&profile)?;
    let event_types = repo::event_types_of(db.pool(), owner).await?;
    Ok(BookingSettingsPage {
        exists: true,
        page_url: Some(config.public_link(&paths::BOOK_HOST.to(&profile.slug))),
        weekly: WEEKDAYS
            .iter()
            .zip(schedule.weekly.iter())
            .map(|(day, hours)| WeekdayHours {
                day: (*day).to_owned(),
                hours: format_day_hours(hours),
            })
            .collect(),
        overrides: format_overrides(&schedule.overrides),
        event_types: event_types
            .iter()
            .map(|e| event_type_settings(&profile.slug, e))
            .collect(),
        public_daily_limit: profile.public_daily_limit,
        slug: profile.slug,
        time_zone: profile.time_zone,
    })
}

/// The profile form as posted.
pub struct ProfileInput<'a> {
    pub slug: &'a str,
    pub time_zone: &'a str,
    /// Monday first.
    pub weekly: [&'a str; 7],
    pub overrides: &'a str,
    pub public_daily_limit: Option<&'a str>,
}

pub async fn save_profile(db: &Db, owner: &UserScope, input: &ProfileInput<'_>) -> AppResult<()> {
    let bad_hours = |_| AppError::Invalid(Flash::InvalidHours);
    let time_zone = check_time_zone(input.time_zone)?;
    let time_zone =
        Tz::from_str(&time_zone).map_err(|_| AppError::Invalid(Flash::InvalidTimeZone))?;
    let mut weekly: [Vec<DayHours>; 7] = Default::default();
    for (day, text) in weekly.iter_mut().zip(input.weekly) {
        *day = parse_day_hours(text).map_err(bad_hours)?;
    }
    let hours = Hours {
        time_zone,
        weekly,
        overrides: parse_overrides(input.overrides).map_err(bad_hours)?,
    };
    let public_daily_limit = match input.public_daily_limit {
        Some(text) => profiles::check_public_daily_limit(text)?,
        None => profiles::DEFAULT_PUBLIC_DAILY_LIMIT,
    };
    let mut conn = db.writer().await?;
    profiles::save_profile(&mut *conn, owner, input.slug, &hours, public_daily_limit).await
}

/// An event type form as posted (numbers still text: empty is "none").
pub struct EventTypeInput<'a> {
    /// None: a new one.
    pub id: Option<EventTypeId>,
    pub slug: &'a str,
    pub name: &'a str,
    pub duration: &'a str,
    pub location: &'a str,
    pub location_detail: &'a str,
    pub buffer_before: &'a str,
    pub buffer_after: &'a str,
    pub minimum_notice: &'a str,
    pub window_days: &'a str,
    pub slot_interval: &'a str,
    pub daily_limit: &'a str,
}

fn number(text: &str) -> AppResult<Option<u32>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| AppError::Invalid(Flash::InvalidEventType))
}

fn required(text: &str) -> AppResult<u32> {
    number(text)?.ok_or(AppError::Invalid(Flash::InvalidEventType))
}

pub async fn save_event_type(
    db: &Db,
    owner: &UserScope,
    input: &EventTypeInput<'_>,
) -> AppResult<()> {
    if repo::profile_of(db.pool(), owner).await?.is_none() {
        return Err(AppError::Invalid(Flash::BookingProfileFirst));
    }
    let location = EventLocation::from_str(input.location)
        .map_err(|_| AppError::Invalid(Flash::InvalidEventType))?;
    let new = NewEventType {
        id: input.id,
        slug: input.slug,
        name: input.name,
        duration: required(input.duration)?,
        location,
        location_detail: Some(input.location_detail),
        buffer_before: number(input.buffer_before)?.unwrap_or(0),
        buffer_after: number(input.buffer_after)?.unwrap_or(0),
        minimum_notice: number(input.minimum_notice)?.unwrap_or(0),
        window_days: required(input.window_days)?,
        slot_interval: number(input.slot_interval)?,
        daily_limit: number(input.daily_limit)?,
    };
    let mut conn = db.writer().await?;
    profiles::save_event_type(&mut *conn, owner, &new).await?;
    Ok(())
}

pub async fn delete_event_type(db: &Db, owner: &UserScope, id: EventTypeId) -> AppResult<()> {
    let mut conn = db.writer().await?;
    repo::delete_event_type(&mut *conn, owner, id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(start: &str, end: &str) -> DayHours {
        DayHours::parse(start, end).unwrap()
    }

    #[test]
    fn a_day_takes_several_spans_and_reads_back() {
        let parsed = parse_day_hours(" 09:00-12:00, 13:00 – 17:30 ").unwrap();
        assert_eq!(
            parsed,
            vec![hours("09:00", "12:00"), hours("13:00", "17:30")]
        );
        assert_eq!(format_day_hours(&parsed), "09:00-12:00, 13:00-17:30");
        assert_eq!(parse_day_hours("").unwrap(), vec![]);
        assert_eq!(parse_day_hours("Closed").unwrap(), vec![]);
        assert_eq!(
            parse_day_hours("9:00-24:00").unwrap(),
            vec![hours("09:00", "24:00")]
        );
        for bad in [
            "9-17",
            "17:00-09:00",
            "09:00",
            "09:00-12:00,",
            "25:00-26:00",
        ] {
            assert!(parse_day_hours(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overrides_are_dates_with_hours_or_closed() {
        let text = "2026-12-24 closed\n\n 2026-12-31 10:00-14:00 \n2026-12-28";
        let parsed = parse_overrides(text).unwrap();
        let date = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        assert_eq!(parsed[&date("2026-12-24")], vec![]);
        assert_eq!(parsed[&date("2026-12-28")], vec![]);
        assert_eq!(parsed[&date("2026-12-31")], vec![hours("10:00", "14:00")]);
        assert_eq!(
            format_overrides(&parsed),
            "2026-12-24 closed\n2026-12-28 closed\n2026-12-31 10:00-14:00"
        );
        assert!(parse_overrides("24.12.2026 closed").is_err());
        assert!(parse_overrides("2026-12-24 soon").is_err());
    }

    #[test]
    fn numbers_are_optional_or_required() {
        assert_eq!(number(" 15 ").unwrap(), Some(15));
        assert_eq!(number("").unwrap(), None);
        assert!(number("-1").is_err());
        assert!(number("ten").is_err());
        assert!(required("").is_err());
    }
}
