//! A booking as an iCalendar file, for the attendee's "add to calendar":
//! `METHOD:REQUEST` with the host as organizer and the attendee invited
//! while it stands, `METHOD:CANCEL` with `STATUS:CANCELLED` once canceled.
//! The `UID` is the booking's and `SEQUENCE` grows with every move and
//! cancellation, so a calendar app that opens a later copy replaces the
//! entry it has instead of adding a second.

use super::book::Placed;
use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, EventLike, EventStatus, Property};

/// Text for a one-line value or a parameter: no control characters (the
/// `icalendar` crate escapes line feeds but not carriage returns, and a
/// bare CR ends a line for many readers) and no double quotes, which a
/// quoted parameter value cannot hold. Names are checked on input; this
/// holds for what was stored before.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .filter(|c| *c != '"')
        .collect()
}

/// Multi-line text: line breaks become plain line feeds (which the crate
/// escapes as `\n`), other control characters go.
fn lines(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect()
}

fn party(key: &str, name: &str, email: &str) -> Property {
    let mut property = Property::new(key, format!("mailto:{}", one_line(email)));
    property.add_parameter("CN", &one_line(name));
    property.done()
}

pub fn invite(placed: &Placed, meeting_url: Option<&str>, manage_url: &str) -> String {
    let booking = &placed.booking;
    let host = &placed.host;
    let name = placed
        .event_type
        .as_ref()
        .map_or("Meeting", |e| e.name.as_str());
    let at = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    let mut description = format!("Booked with {} via calbridge.", host.name);
    if let Some(url) = meeting_url {
        description.push_str(&format!("\nJoin: {url}"));
    }
    description.push_str(&format!("\nChange or cancel: {manage_url}"));
    let mut event = icalendar::Event::new();
    event
        .uid(&format!("{}@calbridge", booking.id))
        .sequence(u32::try_from(booking.sequence).unwrap_or(u32::MAX))
        .summary(&one_line(&format!("{name} with {}", host.name)))
        .starts(at(booking.starts_at))
        .ends(at(booking.ends_at))
        .description(&lines(&description))
        .append_property(party("ORGANIZER", &host.name, &host.email))
        .append_multi_property(party(
            "ATTENDEE",
            &booking.attendee_name,
            &booking.attendee_email,
        ))
        .status(if booking.confirmed {
            EventStatus::Confirmed
        } else {
            EventStatus::Cancelled
        });
    if let Some(url) = meeting_url {
        event.location(&one_line(url)).url(&one_line(url));
    }
    let method = if booking.confirmed {
        "REQUEST"
    } else {
        "CANCEL"
    };
    Calendar::new()
        .append_property(Property::new("METHOD", method))
        .push(event.done())
        .done()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_text_has_no_control_characters_or_quotes() {
        assert_eq!(one_line("Ada\r\nBCC: x"), "Ada  BCC: x");
        assert_eq!(one_line("Ada \"the\" Lovelace"), "Ada the Lovelace");
        assert_eq!(one_line("Zoë\u{1b}[31m"), "Zoë [31m");
    }

    #[test]
    fn multi_line_text_keeps_only_line_feeds() {
        assert_eq!(lines("a\r\nb\rc\nd\u{0}e\tf"), "a\nb\nc\ndef");
    }
}
