//! What the Google Calendar API v3 sends, as far as calbridge reads it.
//! Google leaves out what is empty, so every field is optional; fields
//! calbridge does not read are ignored.

use serde::Deserialize;
use std::collections::HashMap;

/// The OpenID Connect `userinfo` answer: who connected.
#[derive(Debug, Deserialize)]
pub struct Userinfo {
    pub sub: String,
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// `calendarList.list`.
#[derive(Debug, Deserialize)]
pub struct CalendarList {
    pub items: Vec<CalendarEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarEntry {
    pub id: String,
    pub summary: String,
    #[serde(default)]
    pub primary: bool,
    /// `owner`, `writer`, `reader` or `freeBusyReader`.
    pub access_role: String,
}

/// An event (an `events.list` item; the answer of `events.get`, `insert`
/// and `patch`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Event {
    pub id: Option<String>,
    pub etag: Option<String>,
    /// `confirmed`, `tentative` or `cancelled`.
    pub status: Option<String>,
    pub summary: Option<String>,
    pub location: Option<String>,
    pub html_link: Option<String>,
    pub hangout_link: Option<String>,
    pub conference_data: Option<ConferenceData>,
    pub attendees: Vec<Attendee>,
    pub start: Option<When>,
    pub end: Option<When>,
    /// RFC 3339.
    pub updated: Option<String>,
    /// `opaque` (busy, the default) or `transparent` (free).
    pub transparency: Option<String>,
}

impl Event {
    pub fn is_cancelled(&self) -> bool {
        self.status.as_deref() == Some("cancelled")
    }

    /// The video link: the Meet link, else the conference's video entry.
    pub fn video_link(&self) -> Option<&str> {
        self.hangout_link.as_deref().or_else(|| {
            self.conference_data
                .as_ref()?
                .entry_points
                .iter()
                .find(|e| e.entry_point_type.as_deref() == Some("video"))?
                .uri
                .as_deref()
        })
    }

    /// A Meet asked for that Google is still making.
    pub fn conference_pending(&self) -> bool {
        self.conference_data
            .as_ref()
            .and_then(|c| c.create_request.as_ref())
            .and_then(|r| r.status.as_ref())
            .and_then(|s| s.status_code.as_deref())
            == Some("pending")
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConferenceData {
    pub entry_points: Vec<EntryPoint>,
    pub create_request: Option<CreateRequest>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EntryPoint {
    /// `video`, `phone`, `sip` or `more`.
    pub entry_point_type: Option<String>,
    pub uri: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateRequest {
    pub status: Option<CreateStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateStatus {
    /// `pending`, `success` or `failure`.
    pub status_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Attendee {
    pub email: Option<String>,
    /// The calendar's owner.
    #[serde(rename = "self")]
    pub is_self: bool,
    /// `needsAction`, `declined`, `tentative` or `accepted`.
    pub response_status: Option<String>,
}

/// An event's start or end: a time, or a date for an all-day event.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct When {
    /// RFC 3339.
    pub date_time: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    pub time_zone: Option<String>,
}

/// One page of `events.list`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventPage {
    pub items: Vec<Event>,
    pub next_page_token: Option<String>,
    pub next_sync_token: Option<String>,
}

/// The answer of `freeBusy.query`, by calendar id.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FreeBusy {
    pub calendars: HashMap<String, FreeBusyCalendar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FreeBusyCalendar {
    /// Why the calendar could not be read (`notFound`, …).
    pub errors: Vec<FreeBusyError>,
    pub busy: Vec<Span>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FreeBusyError {
    pub reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Span {
    /// RFC 3339.
    pub start: Option<String>,
    pub end: Option<String>,
}

/// The answer of `events.watch`: the channel Google opened.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Channel {
    pub resource_id: Option<String>,
    /// Unix ms; Google sends it as a string.
    pub expiration: Option<Millis>,
}

/// A count of milliseconds, as a JSON string or number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Millis {
    Text(String),
    Number(i64),
}

impl Millis {
    pub fn value(&self) -> Option<i64> {
        match self {
            Millis::Text(text) => text.parse().ok(),
            Millis::Number(ms) => Some(*ms),
        }
    }
}
