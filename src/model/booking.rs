//! What the public booking pages show: a host's event types, the month
//! calendar with the day's free times, and one booking as its attendee
//! sees it. Every time here is already formatted by the server in the
//! reader's zone; starts travel as RFC 3339 in UTC.

use super::{BookingId, EventLocation, EventTypeId};
use serde::{Deserialize, Serialize};

/// One event type a host offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventTypeCard {
    pub slug: String,
    pub name: String,
    pub duration_minutes: u32,
    pub location: EventLocation,
    /// Its booking page.
    pub path: String,
}

/// `/book/{slug}`: who the host is and what can be booked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostPage {
    pub name: String,
    pub slug: String,
    pub time_zone: String,
    pub event_types: Vec<EventTypeCard>,
}

/// A day of the month calendar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalendarDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub day: u32,
    /// It has free times.
    pub open: bool,
    pub selected: bool,
    pub today: bool,
    /// Its free times, for an open day.
    pub href: Option<String>,
}

/// A free time to pick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlotChoice {
    /// RFC 3339 in UTC: what the form posts.
    pub start: String,
    /// The time of day in the visitor's zone, like `09:30`.
    pub label: String,
    /// The whole date and time, for alternatives on another day.
    pub long_label: String,
    /// The page with this time picked.
    pub href: String,
}

/// The time a visitor picked, in their zone and the host's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChosenSlot {
    pub start: String,
    pub label: String,
    /// The same time in the host's zone, when that zone differs.
    pub host_label: Option<String>,
}

/// The attendee moving their booking: the manage link's parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rescheduling {
    pub booking: BookingId,
    pub token: String,
    /// When it is now, in the visitor's zone.
    pub current: String,
}

/// `/book/{slug}/{event-type}`: the month, the chosen day's free times and
/// (once a time is picked) the form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchedulePage {
    pub host_name: String,
    pub host_slug: String,
    pub host_time_zone: String,
    pub event_type: EventTypeCard,
    /// The zone times are shown in.
    pub time_zone: String,
    /// The visitor chose the zone (or their browser told it); otherwise
    /// the page asks the browser once.
    pub zone_given: bool,
    /// This page's own path and query: where its form posts.
    pub href: String,
    /// What the zone switch keeps of the query, as hidden fields.
    pub keep: Vec<(String, String)>,
    pub month_label: String,
    /// The months before and after, when they can be booked.
    pub prev_month: Option<String>,
    pub next_month: Option<String>,
    /// Monday first; `None` pads the first and last week.
    pub weeks: Vec<Vec<Option<CalendarDay>>>,
    /// The chosen day (`YYYY-MM-DD`) and its heading.
    pub date: Option<String>,
    pub date_label: Option<String>,
    pub slots: Vec<SlotChoice>,
    pub chosen: Option<ChosenSlot>,
    /// A time was asked for that is no longer free.
    pub start_gone: bool,
    /// A calendar of the host cannot be read, so no time is offered.
    pub unavailable: bool,
    pub rescheduling: Option<Rescheduling>,
}

/// What a visitor typed into the booking form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BookFormValues {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub purpose: String,
}

/// A booking form post that did not book: the page renders again with
/// what was typed, the message at its field, and free times nearby.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BookFormFailure {
    pub values: BookFormValues,
    /// `name`, `email`, `phone`, `purpose`, or none for the time itself.
    pub field: Option<String>,
    pub message: String,
    pub alternatives: Vec<SlotChoice>,
}

/// `/booking/{id}?token=…`: one booking as its attendee sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BookingView {
    pub id: BookingId,
    pub canceled: bool,
    /// It has begun or ended: no more changes.
    pub started: bool,
    pub host_name: String,
    pub event_name: String,
    pub location: EventLocation,
    pub location_detail: Option<String>,
    pub attendee_name: String,
    pub attendee_email: String,
    /// In the attendee's zone.
    pub when: String,
    pub attendee_time_zone: String,
    /// In the host's zone, when that zone differs.
    pub when_host: Option<String>,
    pub host_time_zone: String,
    /// The video link, `https:` only.
    pub meeting_url: Option<String>,
    /// The calendar invitation (and its video link) is still being sent.
    pub invite_pending: bool,
    pub manage_url: String,
    pub token: String,
    pub ics_path: String,
    /// Where to pick a new time.
    pub reschedule_path: Option<String>,
}

/// One weekday's hours on `/settings/booking`, as typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeekdayHours {
    pub day: String,
    /// `09:00-12:00, 13:00-17:00`; empty: closed.
    pub hours: String,
}

/// An event type as its host edits it. Minutes throughout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventTypeSettings {
    pub id: EventTypeId,
    pub slug: String,
    pub name: String,
    pub duration: u32,
    pub location: EventLocation,
    pub location_detail: String,
    pub buffer_before: u32,
    pub buffer_after: u32,
    pub minimum_notice: u32,
    pub window_days: u32,
    pub slot_interval: u32,
    pub daily_limit: Option<u32>,
    /// Its public page.
    pub path: String,
}

/// `/settings/booking`: the host's profile (or one to start from) and
/// event types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BookingSettingsPage {
    /// The profile is saved (otherwise the fields are suggestions).
    pub exists: bool,
    pub slug: String,
    pub time_zone: String,
    /// Monday first.
    pub weekly: Vec<WeekdayHours>,
    /// `YYYY-MM-DD closed` / `YYYY-MM-DD 10:00-14:00`, one a line.
    pub overrides: String,
    /// How many bookings strangers may make on the public page a day.
    pub public_daily_limit: i64,
    pub page_url: Option<String>,
    pub event_types: Vec<EventTypeSettings>,
}
