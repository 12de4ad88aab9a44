//! What the Microsoft emulator stores: each user's mailbox (its calendar's
//! events, including tombstones, and change sequence), change-notification
//! subscriptions and delta cursors.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The directory (tenant) every sandbox user belongs to.
pub const TENANT_ID: &str = "6f1c4b9e-2d3a-4e5f-8a7b-0c1d2e3f4a5b";

#[derive(Clone, Debug)]
pub struct Attendee {
    pub address: String,
    pub name: String,
    /// `required`, `optional` or `resource`.
    pub kind: String,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    /// The mailbox change sequence at this event's last change.
    pub seq: u64,
    pub deleted: bool,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub change_key: String,
    pub subject: String,
    /// `text` or `html`.
    pub body_type: String,
    pub body: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub start_tz: String,
    pub end_tz: String,
    pub location: String,
    pub attendees: Vec<Attendee>,
    pub organizer_name: String,
    pub organizer_email: String,
    pub is_cancelled: bool,
    pub is_online_meeting: bool,
    pub online_meeting_provider: String,
    pub join_url: Option<String>,
    pub transaction_id: Option<String>,
    pub kind: EventKind,
    /// Graph `isAllDay`: `start` and `end` are midnights of its dates (end
    /// exclusive), the same dates in every zone.
    pub is_all_day: bool,
}

/// An event's part in a recurring series (Graph `type`). A series is
/// stored as its master and one event per occurrence, each with its own
/// id: `calendarView` and its delta list the occurrences, `/me/events`
/// the master.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    SingleInstance,
    SeriesMaster {
        recurrence: serde_json::Value,
    },
    Occurrence {
        master: String,
    },
    /// An occurrence changed on its own.
    Exception {
        master: String,
    },
}

impl Event {
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.change_key)
    }

    /// Listed by `calendarView` (and its delta, and `getSchedule`): all but
    /// series masters.
    pub fn in_calendar_view(&self) -> bool {
        !matches!(self.kind, EventKind::SeriesMaster { .. })
    }

    /// Listed by `/me/events`: single events and series masters.
    pub fn in_event_list(&self) -> bool {
        matches!(
            self.kind,
            EventKind::SingleInstance | EventKind::SeriesMaster { .. }
        )
    }
}

/// One user's calendar.
#[derive(Clone, Debug, Default)]
pub struct Mailbox {
    pub calendar_id: String,
    /// Last change sequence number handed out.
    pub seq: u64,
    /// Bumped to invalidate every delta token of this mailbox.
    pub sync_epoch: u64,
    /// Including deleted events (tombstones, for delta queries).
    pub events: Vec<Event>,
}

#[derive(Clone, Debug)]
pub struct Subscription {
    pub id: String,
    pub user_id: String,
    pub application_id: String,
    pub resource: String,
    pub change_type: String,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub client_state: Option<String>,
    pub expires: DateTime<Utc>,
}

impl Subscription {
    pub(super) fn notifies(&self, change: &str) -> bool {
        self.change_type.split(',').any(|c| c.trim() == change)
    }
}

/// Where a delta query stands: changes with `from < seq <= upto` that come
/// after `after` (the last sequence already paged out).
#[derive(Clone, Debug)]
pub(super) struct DeltaCursor {
    pub(super) user_id: String,
    pub(super) epoch: u64,
    pub(super) start: DateTime<Utc>,
    pub(super) end: DateTime<Utc>,
    pub(super) from: u64,
    /// `None` for a deltaLink: fixed when it is followed.
    pub(super) upto: Option<u64>,
    pub(super) after: u64,
    /// The first round (no deltaToken yet): it lists what is there and
    /// names nothing removed. A later round names every removal, also
    /// when the first found an empty mailbox.
    pub(super) initial: bool,
}

#[derive(Default)]
pub struct State {
    pub mailboxes: HashMap<String, Mailbox>,
    pub subscriptions: Vec<Subscription>,
    pub(super) cursors: HashMap<String, DeltaCursor>,
}
