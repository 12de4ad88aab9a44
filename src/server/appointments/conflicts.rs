//! The conflict queue: each appointment or booking both sides changed
//! since they last agreed, as a person compares the two versions field by
//! field before keeping one (`super::resolve`, `booking::conflicts`).

use super::Appointments;
use crate::model::{ConflictField, ConflictSubject, ConflictView, EventContent, Slot};
use crate::server::error::AppResult;
use crate::server::platform::db::appointments::{self as repo, Appointment};
use crate::server::platform::db::bookings::{self as bookings_repo, Booking};
use crate::server::platform::db::connections::{self as connections_repo, Connection};
use crate::server::platform::db::users::{self as users_repo, User};
use crate::server::platform::db::{TenantScope, UserScope};
use crate::server::sync::plan as sync_plan;
use chrono_tz::Tz;

/// The most conflicts one page lists, oldest first.
const QUEUE_LIMIT: i64 = 100;

/// The tenant's conflicts, or only `owner`'s.
pub async fn queue(
    ctx: &Appointments,
    tenant: &TenantScope,
    owner: Option<&UserScope>,
) -> AppResult<Vec<ConflictView>> {
    let pool = ctx.db.pool();
    let owner = owner.map(UserScope::user_id);
    let appointments = repo::conflicts(pool, tenant, owner, QUEUE_LIMIT).await?;
    let bookings = bookings_repo::conflicts(pool, tenant, owner, QUEUE_LIMIT).await?;
    if appointments.is_empty() && bookings.is_empty() {
        return Ok(Vec::new());
    }
    let users = users_repo::list(pool, tenant).await?;
    let connections = connections_repo::list_for_tenant(pool, tenant, None, None).await?;
    let owner_of = |user: crate::model::UserId| users.iter().find(|u| u.id == user);
    let connection_of = |id: Option<crate::model::ConnectionId>| {
        connections
            .iter()
            .find(|(c, ..)| Some(c.id) == id)
            .map(|(c, ..)| c)
    };
    let appointment_views = appointments.iter().filter_map(|a| {
        let link = a.link.as_ref()?;
        view(
            a,
            owner_of(a.owner.user_id())?,
            connection_of(Some(link.connection))?,
        )
    });
    let booking_views = bookings.iter().filter_map(|b| {
        booking_view(
            b,
            owner_of(b.host.user_id())?,
            connection_of(b.export.connection)?,
        )
    });
    Ok(appointment_views.chain(booking_views).collect())
}

/// A booking as the fields an appointment shows: only the time and the
/// status can differ (the calendar's side changes nothing else).
fn booking_content(b: &Booking, slot: Slot) -> EventContent {
    EventContent {
        title: crate::server::booking::two_way::log_title(b),
        starts_at: slot.starts_at,
        ends_at: slot.ends_at,
        attendees: vec![b.attendee_email.clone()],
        location: None,
        canceled: slot.canceled,
    }
}

fn booking_view(b: &Booking, host: &User, connection: &Connection) -> Option<ConflictView> {
    let calendar = b.export.conflict?;
    let tz: Tz = host.time_zone.parse().unwrap_or(chrono_tz::UTC);
    Some(ConflictView {
        subject: ConflictSubject::Booking(b.id),
        title: crate::server::booking::two_way::log_title(b),
        owner_name: host.name.clone(),
        owner_email: host.email.clone(),
        provider: connection.provider,
        external_link: None,
        fields: side_by_side(
            &booking_content(b, b.slot()),
            &booking_content(b, calendar),
            tz,
        ),
    })
}

fn view(a: &Appointment, owner: &User, connection: &Connection) -> Option<ConflictView> {
    let link = a.link.as_ref()?;
    let calendar = link.calendar_version.as_ref()?;
    let tz: Tz = owner.time_zone.parse().unwrap_or(chrono_tz::UTC);
    Some(ConflictView {
        subject: ConflictSubject::Appointment(a.id),
        title: a.content.title.clone(),
        owner_name: owner.name.clone(),
        owner_email: owner.email.clone(),
        provider: connection.provider,
        external_link: link.external_link.clone(),
        fields: side_by_side(&a.content, calendar, tz),
    })
}

/// Every field both sides hold, as words, the differing ones marked.
pub fn side_by_side(local: &EventContent, calendar: &EventContent, tz: Tz) -> Vec<ConflictField> {
    let differing = sync_plan::differences(local, calendar);
    let words = |c: &EventContent| -> [String; 5] {
        [
            c.title.clone(),
            span_words(c.starts_at, c.ends_at, tz),
            match c.attendees.is_empty() {
                true => "—".to_owned(),
                false => c.attendees.join(", "),
            },
            c.location.clone().unwrap_or_else(|| "—".to_owned()),
            match c.canceled {
                true => "Deleted".to_owned(),
                false => "Scheduled".to_owned(),
            },
        ]
    };
    let fields = [
        ("title", "Title"),
        ("time", "Time"),
        ("attendees", "Attendees"),
        ("location", "Location"),
        ("status", "Status"),
    ];
    fields
        .into_iter()
        .zip(words(local).into_iter().zip(words(calendar)))
        .map(|((name, label), (calbridge, calendar))| ConflictField {
            label: label.to_owned(),
            calbridge,
            calendar,
            differs: differing.contains(&name),
        })
        .collect()
}

/// "Mon 14 Dec 2026, 10:00–11:00 (Europe/Berlin)"; both dates when the
/// span crosses midnight.
fn span_words(start: i64, end: i64, tz: Tz) -> String {
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&tz)
    };
    let (from, to) = (at(start), at(end));
    let to_format = match from.date_naive() == to.date_naive() {
        true => "%H:%M",
        false => "%a %-d %b %Y, %H:%M",
    };
    format!(
        "{}–{} ({})",
        from.format("%a %-d %b %Y, %H:%M"),
        to.format(to_format),
        tz.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONDAY_10_BERLIN: i64 = 1_796_634_000_000; // 2026-12-07T09:00:00Z

    fn content() -> EventContent {
        EventContent {
            title: "Review".into(),
            starts_at: MONDAY_10_BERLIN,
            ends_at: MONDAY_10_BERLIN + 3_600_000,
            attendees: vec!["ada@example.com".into()],
            location: None,
            canceled: false,
        }
    }

    #[test]
    fn both_versions_read_in_the_owners_zone_with_the_differences_marked() {
        let calendar = EventContent {
            starts_at: MONDAY_10_BERLIN + 7_200_000,
            ends_at: MONDAY_10_BERLIN + 10_800_000,
            location: Some("Room 4".into()),
            ..content()
        };
        let fields = side_by_side(&content(), &calendar, chrono_tz::Europe::Berlin);
        let rows: Vec<(&str, &str, &str, bool)> = fields
            .iter()
            .map(|f| (&*f.label, &*f.calbridge, &*f.calendar, f.differs))
            .collect();
        assert_eq!(
            rows,
            [
                ("Title", "Review", "Review", false),
                (
                    "Time",
                    "Mon 7 Dec 2026, 10:00–11:00 (Europe/Berlin)",
                    "Mon 7 Dec 2026, 12:00–13:00 (Europe/Berlin)",
                    true
                ),
                ("Attendees", "ada@example.com", "ada@example.com", false),
                ("Location", "—", "Room 4", true),
                ("Status", "Scheduled", "Scheduled", false),
            ]
        );
    }

    #[test]
    fn a_delete_against_an_edit_shows_as_the_status() {
        let deleted = EventContent {
            canceled: true,
            ..content()
        };
        let edited = EventContent {
            title: "Review (new room)".into(),
            ..content()
        };
        let fields = side_by_side(&edited, &deleted, chrono_tz::UTC);
        let status = fields.iter().find(|f| f.label == "Status").unwrap();
        assert_eq!(
            (&*status.calbridge, &*status.calendar),
            ("Scheduled", "Deleted")
        );
        assert!(status.differs);
        assert!(fields.iter().find(|f| f.label == "Title").unwrap().differs);
    }

    #[test]
    fn a_span_past_midnight_names_both_dates() {
        let words = span_words(
            MONDAY_10_BERLIN,
            MONDAY_10_BERLIN + 16 * 3_600_000,
            chrono_tz::UTC,
        );
        assert_eq!(words, "Mon 7 Dec 2026, 09:00–Tue 8 Dec 2026, 01:00 (UTC)");
    }
}
