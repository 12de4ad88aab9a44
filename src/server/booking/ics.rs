//! A booking as an iCalendar file, for the attendee's "add to calendar".

use super::book::Placed;
use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, EventLike, EventStatus};

/// One VEVENT whose UID is the booking's, so a calendar that imports the
/// file again (after a reschedule or a cancellation) can match the entry.
pub fn invite(placed: &Placed, meeting_url: Option<&str>, manage_url: &str) -> String {
    let booking = &placed.booking;
    let name = placed
        .event_type
        .as_ref()
        .map_or("Meeting", |e| e.name.as_str());
    let at = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    let mut description = format!("Booked with {} via calbridge.", placed.host.name);
    if let Some(url) = meeting_url {
        description.push_str(&format!("\nJoin: {url}"));
    }
    description.push_str(&format!("\nChange or cancel: {manage_url}"));
    let mut event = icalendar::Event::new();
    event
        .uid(&format!("{}@calbridge", booking.id))
        .summary(&format!("{name} with {}", placed.host.name))
        .starts(at(booking.starts_at))
        .ends(at(booking.ends_at))
        .description(&description)
        .status(if booking.confirmed {
            EventStatus::Confirmed
        } else {
            EventStatus::Cancelled
        });
    if let Some(url) = meeting_url {
        event.location(url).url(url);
    }
    Calendar::new().push(event.done()).done().to_string()
}
