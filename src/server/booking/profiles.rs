//! Hosts' booking profiles and event types: checked input, the stored
//! form, and the [`Schedule`] and [`Rules`] availability reads.

use super::availability::{DayHours, Rules, Schedule};
use crate::model::{EventLocation, EventTypeId, Flash};
use crate::server::error::{AppError, AppResult};
use crate::server::platform::db::booking_profiles::{
    self as repo, EventType, Profile, ProfileFields,
};
use crate::server::platform::db::{DbResult, Tx, UserScope};
use crate::server::validate::one_line_name;
use chrono::NaiveDate;
use chrono_tz::Tz;
use sqlx::{Any, Executor};
use std::collections::BTreeMap;
use std::str::FromStr;

/// A public address: 2 to 40 of `a-z`, `0-9` and inner `-`.
pub fn check_slug(text: &str) -> AppResult<String> {
    let slug = text.trim().to_ascii_lowercase();
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    let ok = (2..=40).contains(&slug.len())
        && slug.bytes().all(allowed)
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(slug)
    } else {
        Err(AppError::Invalid(Flash::InvalidSlug))
    }
}

/// Public bookings a host takes a day until they choose otherwise.
pub const DEFAULT_PUBLIC_DAILY_LIMIT: i64 = 20;

/// The public page's daily limit as typed: 1 to 1,000.
pub fn check_public_daily_limit(text: &str) -> AppResult<i64> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or(AppError::Invalid(Flash::InvalidPublicDailyLimit))
}

/// When a host works, as the settings page edits it.
pub struct Hours {
    pub time_zone: Tz,
    /// Monday first.
    pub weekly: [Vec<DayHours>; 7],
    /// No hours: closed that date.
    pub overrides: BTreeMap<NaiveDate, Vec<DayHours>>,
}

impl Hours {
    /// Monday to Friday from `start` to `end`.
    pub fn weekdays(time_zone: Tz, start: &str, end: &str) -> AppResult<Self> {
        let hours =
            DayHours::parse(start, end).map_err(|_| AppError::Invalid(Flash::InvalidHours))?;
        Ok(Hours {
            time_zone,
            weekly: std::array::from_fn(|day| if day < 5 { vec![hours] } else { vec![] }),
            overrides: BTreeMap::new(),
        })
    }
}

/// Creates or replaces the host's profile.
pub async fn save_profile<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    slug: &str,
    hours: &Hours,
    public_daily_limit: i64,
) -> AppResult<()> {
    let slug = check_slug(slug)?;
    let weekly = serde_json::to_string(&hours.weekly).map_err(AppError::internal)?;
    let overrides = serde_json::to_string(&hours.overrides).map_err(AppError::internal)?;
    repo::save_profile(
        ex,
        owner,
        &ProfileFields {
            slug: &slug,
            time_zone: hours.time_zone.name(),
            weekly_hours: &weekly,
            date_overrides: &overrides,
            public_daily_limit,
        },
    )
    .await?;
    Ok(())
}

/// The stored profile as availability reads it.
pub fn schedule(profile: &Profile) -> AppResult<Schedule> {
    let corrupt = |what: &str| AppError::internal(format!("booking profile {what} unreadable"));
    Ok(Schedule {
        time_zone: Tz::from_str(&profile.time_zone).map_err(|_| corrupt("time zone"))?,
        weekly: serde_json::from_str(&profile.weekly_hours).map_err(|_| corrupt("hours"))?,
        overrides: serde_json::from_str(&profile.date_overrides)
            .map_err(|_| corrupt("overrides"))?,
    })
}

/// What an event type asks of a slot.
pub fn rules(event_type: &EventType) -> Rules {
    Rules {
        duration: event_type.duration,
        interval: event_type.slot_interval,
        buffer_before: event_type.buffer_before,
        buffer_after: event_type.buffer_after,
        minimum_notice: event_type.minimum_notice,
        window_days: event_type.window_days,
        daily_limit: event_type.daily_limit,
    }
}

/// An event type as a host describes it; [`check`](NewEventType::check)
/// turns it into one that can be stored.
pub struct NewEventType<'a> {
    pub id: Option<EventTypeId>,
    pub slug: &'a str,
    pub name: &'a str,
    pub duration: u32,
    pub location: EventLocation,
    pub location_detail: Option<&'a str>,
    pub buffer_before: u32,
    pub buffer_after: u32,
    pub minimum_notice: u32,
    pub window_days: u32,
    /// `None`: the duration.
    pub slot_interval: Option<u32>,
    pub daily_limit: Option<u32>,
}

impl NewEventType<'_> {
    pub fn check(&self) -> AppResult<EventType> {
        let invalid = |flash| Err(AppError::Invalid(flash));
        let Some(name) = one_line_name(self.name, 100) else {
            return invalid(Flash::InvalidName);
        };
        let interval = self.slot_interval.unwrap_or(self.duration);
        let minutes_ok = (5..=720).contains(&self.duration)
            && (5..=720).contains(&interval)
            && self.buffer_before <= 240
            && self.buffer_after <= 240
            && self.minimum_notice <= 60 * 24 * 90
            && (1..=365).contains(&self.window_days)
            && self.daily_limit != Some(0);
        if !minutes_ok {
            return invalid(Flash::InvalidEventType);
        }
        let detail = self
            .location_detail
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| d.chars().take(200).collect());
        Ok(EventType {
            id: self.id.unwrap_or_else(EventTypeId::generate),
            slug: check_slug(self.slug)?,
            name: name.to_owned(),
            duration: self.duration,
            location: self.location,
            location_detail: detail,
            buffer_before: self.buffer_before,
            buffer_after: self.buffer_after,
            minimum_notice: self.minimum_notice,
            window_days: self.window_days,
            slot_interval: interval,
            daily_limit: self.daily_limit,
        })
    }
}

pub async fn save_event_type<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    owner: &UserScope,
    new: &NewEventType<'_>,
) -> AppResult<EventType> {
    let event_type = new.check()?;
    repo::save_event_type(ex, owner, &event_type).await?;
    Ok(event_type)
}

/// A host found by their public slug (in any case).
pub async fn host_by_slug<'e, E>(ex: E, slug: &str) -> DbResult<Option<Profile>>
where
    E: Executor<'e, Database = Any>,
{
    repo::profile_by_slug(ex, &slug.to_ascii_lowercase()).await
}

/// The demo tenant's hosts, so a newcomer can book at once: alice
/// (Europe/Berlin, weekdays 09:00–17:00, a 30-minute intro over Google
/// Meet) and bob (America/New_York, weekdays 10:00–16:00, a 60-minute
/// consultation over Microsoft Teams).
pub async fn seed_demo_hosts(tx: &mut Tx, alice: &UserScope, bob: &UserScope) -> AppResult<()> {
    let hosts = [
        (
            alice,
            "alice",
            chrono_tz::Europe::Berlin,
            ("09:00", "17:00"),
            ("intro", "Intro call", 30, EventLocation::GoogleMeet),
        ),
        (
            bob,
            "bob",
            chrono_tz::America::New_York,
            ("10:00", "16:00"),
            ("consult", "Consultation", 60, EventLocation::MicrosoftTeams),
        ),
    ];
    for (owner, slug, zone, (start, end), (type_slug, name, duration, location)) in hosts {
        save_profile(
            &mut **tx,
            owner,
            slug,
            &Hours::weekdays(zone, start, end)?,
            DEFAULT_PUBLIC_DAILY_LIMIT,
        )
        .await?;
        let event_type = NewEventType {
            id: None,
            slug: type_slug,
            name,
            duration,
            location,
            location_detail: None,
            buffer_before: 0,
            buffer_after: 0,
            minimum_notice: 60,
            window_days: 60,
            slot_interval: None,
            daily_limit: None,
        };
        save_event_type(&mut **tx, owner, &event_type).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_lower_case_words() {
        assert_eq!(check_slug(" Alice ").unwrap(), "alice");
        assert_eq!(check_slug("dr-bob-2").unwrap(), "dr-bob-2");
        for bad in [
            "",
            "a",
            "-bob",
            "bob-",
            "bob smith",
            "böb",
            "bob/x",
            &"x".repeat(41),
        ] {
            assert!(check_slug(bad).is_err(), "{bad}");
        }
    }

    fn intro() -> NewEventType<'static> {
        NewEventType {
            id: None,
            slug: "intro",
            name: "Intro call",
            duration: 30,
            location: EventLocation::GoogleMeet,
            location_detail: None,
            buffer_before: 0,
            buffer_after: 0,
            minimum_notice: 120,
            window_days: 60,
            slot_interval: None,
            daily_limit: None,
        }
    }

    #[test]
    fn the_interval_defaults_to_the_duration() {
        let e = intro().check().unwrap();
        assert_eq!(e.slot_interval, 30);
        assert_eq!(rules(&e).interval, 30);
    }

    #[test]
    fn event_types_out_of_range_are_refused() {
        let cases = [
            NewEventType {
                duration: 0,
                ..intro()
            },
            NewEventType {
                duration: 721,
                ..intro()
            },
            NewEventType {
                slot_interval: Some(1),
                ..intro()
            },
            NewEventType {
                buffer_after: 241,
                ..intro()
            },
            NewEventType {
                window_days: 0,
                ..intro()
            },
            NewEventType {
                daily_limit: Some(0),
                ..intro()
            },
            NewEventType {
                name: " ",
                ..intro()
            },
            NewEventType {
                slug: "x",
                ..intro()
            },
        ];
        for case in cases {
            assert!(case.check().is_err());
        }
    }

    #[test]
    fn stored_hours_read_back_and_bad_ones_are_refused() {
        let hours = Hours::weekdays(chrono_tz::Europe::Berlin, "09:00", "17:00").unwrap();
        let weekly = serde_json::to_string(&hours.weekly).unwrap();
        let profile = |weekly: &str| Profile {
            owner: UserScope::new(
                crate::server::platform::db::TenantScope::new(crate::model::TenantId::generate()),
                crate::model::UserId::generate(),
            ),
            name: "Alice".into(),
            email: "alice@example.com".into(),
            slug: "alice".into(),
            time_zone: "Europe/Berlin".into(),
            weekly_hours: weekly.into(),
            date_overrides: "{}".into(),
            public_daily_limit: DEFAULT_PUBLIC_DAILY_LIMIT,
        };
        let schedule = schedule(&profile(&weekly)).unwrap();
        assert_eq!(
            schedule.weekly[0],
            vec![DayHours::parse("09:00", "17:00").unwrap()]
        );
        assert!(schedule.weekly[5].is_empty());
        let reversed = weekly.replace("\"start\":540", "\"start\":1100");
        assert!(super::schedule(&profile(&reversed)).is_err());
        assert!(Hours::weekdays(chrono_tz::UTC, "17:00", "09:00").is_err());
    }
}
