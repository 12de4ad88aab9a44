//! The owner's appointment form on `/meetings`: times typed as
//! `datetime-local` values in the owner's zone, attendees as one line of
//! emails. Reads the appointment into that shape and the posted fields
//! back into a [`Draft`].

use super::{conflicts, sync_state, Access, Appointments, Draft};
use crate::model::{AppointmentForm, AppointmentId};
use crate::server::booking::error::BookError;
use crate::server::platform::db::appointments::Appointment;
use crate::server::platform::db::connections as connections_repo;
use crate::server::platform::db::UserScope;
use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// The `datetime-local` format (minutes).
const LOCAL_FORMAT: &str = "%Y-%m-%dT%H:%M";

/// `ms` as a `datetime-local` value in `tz`.
pub fn local_value(ms: i64, tz: Tz) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&tz)
        .format(LOCAL_FORMAT)
        .to_string()
}

/// A `datetime-local` value (seconds allowed) in `tz` as unix ms. A time
/// the clocks skip (the spring-forward gap) is none; one they pass twice
/// is the earlier.
pub fn parse_local(value: &str, tz: Tz) -> Option<i64> {
    let value = value.trim();
    let naive = NaiveDateTime::parse_from_str(value, LOCAL_FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// Emails separated by commas, semicolons, spaces or lines.
pub fn attendee_list(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A blank form: the next full hour, for half an hour.
pub fn blank(time_zone: &str, now_ms: i64) -> AppointmentForm {
    let tz: Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    const HOUR: i64 = 3_600_000;
    let start = (now_ms / HOUR + 1) * HOUR;
    AppointmentForm {
        id: None,
        title: String::new(),
        start: local_value(start, tz),
        end: local_value(start + HOUR / 2, tz),
        attendees: String::new(),
        location: String::new(),
        notes: String::new(),
        time_zone: tz.name().to_owned(),
        canceled: false,
        sync_state: None,
        provider: None,
        external_link: None,
        sync_error: None,
        conflict: Vec::new(),
    }
}

/// The owner's appointment as the form shows it.
pub async fn of(
    ctx: &Appointments,
    owner: &UserScope,
    time_zone: &str,
    id: AppointmentId,
) -> Result<AppointmentForm, BookError> {
    let a = super::get(ctx, Access::Owner(owner), id).await?;
    let tz: Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let provider = match &a.link {
        Some(link) => connections_repo::get_for_user(ctx.db.pool(), owner, link.connection)
            .await
            .ok()
            .map(|c| c.provider),
        None => None,
    };
    Ok(view(&a, tz, provider))
}

fn view(a: &Appointment, tz: Tz, provider: Option<crate::model::Provider>) -> AppointmentForm {
    let link = a.link.as_ref();
    let conflict = link
        .and_then(|l| l.calendar_version.as_ref())
        .filter(|_| sync_state(a) == crate::model::SyncState::Conflict)
        .map(|calendar| conflicts::side_by_side(&a.content, calendar, tz))
        .unwrap_or_default();
    AppointmentForm {
        id: Some(a.id),
        title: a.content.title.clone(),
        start: local_value(a.content.starts_at, tz),
        end: local_value(a.content.ends_at, tz),
        attendees: a.content.attendees.join(", "),
        location: a.content.location.clone().unwrap_or_default(),
        notes: a.notes.clone().unwrap_or_default(),
        time_zone: tz.name().to_owned(),
        canceled: a.content.canceled,
        sync_state: Some(sync_state(a)),
        provider,
        external_link: link.and_then(|l| l.external_link.clone()),
        sync_error: link.and_then(|l| l.error.clone()),
        conflict,
    }
}

/// The posted fields, as typed.
pub struct Posted<'a> {
    pub title: &'a str,
    pub start: &'a str,
    pub end: &'a str,
    pub attendees: &'a [String],
    pub location: &'a str,
    pub notes: &'a str,
}

/// The posted form as a full draft (every field named: a cleared field
/// clears it), its times read in `tz`.
pub fn draft<'a>(posted: &'a Posted<'a>, tz: Tz) -> Result<Draft<'a>, BookError> {
    let time = |value: &str, field: &'static str| {
        parse_local(value, tz).ok_or(BookError::Invalid {
            field,
            message: "Give a date and time that exists in your time zone.",
        })
    };
    Ok(Draft {
        title: Some(posted.title),
        start: Some(time(posted.start, "start")?),
        end: Some(time(posted.end, "end")?),
        attendees: Some(posted.attendees),
        location: Some(Some(posted.location)),
        notes: Some(Some(posted.notes)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    #[test]
    fn local_values_round_trip_in_the_owners_zone() {
        let ms = parse_local("2026-12-07T10:00", Berlin).unwrap();
        assert_eq!(ms, 1_796_634_000_000, "09:00 UTC in winter");
        assert_eq!(local_value(ms, Berlin), "2026-12-07T10:00");
        assert_eq!(parse_local(" 2026-12-07T10:00:00 ", Berlin), Some(ms));
        assert_eq!(parse_local("2026-12-07", Berlin), None);
        assert_eq!(parse_local("tomorrow", Berlin), None);
    }

    #[test]
    fn the_spring_gap_has_no_time_and_the_autumn_repeat_takes_the_first() {
        assert_eq!(parse_local("2026-03-29T02:30", Berlin), None);
        let first = parse_local("2026-10-25T02:30", Berlin).unwrap();
        assert_eq!(local_value(first, Berlin), "2026-10-25T02:30");
        assert_eq!(
            local_value(first + 3_600_000, Berlin),
            "2026-10-25T02:30",
            "an hour later the clock reads the same: the first was taken"
        );
    }

    #[test]
    fn attendees_split_on_any_separator() {
        assert_eq!(
            attendee_list(" ada@example.com, bo@example.com;\ncy@example.com  "),
            ["ada@example.com", "bo@example.com", "cy@example.com"]
        );
        assert!(attendee_list(" , ").is_empty());
    }

    #[test]
    fn a_blank_form_starts_at_the_next_full_hour_for_half_an_hour() {
        let form = blank("Europe/Berlin", 1_796_634_000_000 + 60_000);
        assert_eq!(
            (form.start.as_str(), form.end.as_str()),
            ("2026-12-07T11:00", "2026-12-07T11:30")
        );
        assert_eq!(blank("Nowhere/City", 0).time_zone, "UTC");
    }

    #[test]
    fn a_time_outside_the_zone_names_its_field() {
        let attendees = Vec::new();
        let posted = Posted {
            title: "Review",
            start: "2026-03-29T02:30",
            end: "2026-03-29T04:00",
            attendees: &attendees,
            location: "",
            notes: "",
        };
        assert!(matches!(
            draft(&posted, Berlin),
            Err(BookError::Invalid { field: "start", .. })
        ));
    }
}
