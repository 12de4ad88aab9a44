//! What the Google emulator stores: each account's calendars with their
//! events and change sequence, push channels, and sync and page tokens.

use crate::core::Account;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default)]
pub struct State {
    pub(super) calendars: Vec<Calendar>,
    pub(super) channels: Vec<Channel>,
    pub(super) sync_tokens: HashMap<String, SyncToken>,
    pub(super) page_tokens: HashMap<String, PageState>,
    pub(super) etag_counter: u64,
    /// The emails Google would have sent (`sendUpdates`), newest last.
    pub(super) invitations: Vec<Invitation>,
}

/// An update mail to an event's attendees.
#[derive(Clone, Debug)]
pub(super) struct Invitation {
    pub(super) event_id: String,
    /// `created`, `updated` or `cancelled`.
    pub(super) kind: &'static str,
    pub(super) to: Vec<String>,
}

pub(super) struct Calendar {
    pub(super) id: String,
    pub(super) account_id: String,
    pub(super) summary: String,
    pub(super) time_zone: String,
    pub(super) primary: bool,
    /// Change sequence: bumped by every insert, update and delete.
    pub(super) seq: u64,
    pub(super) updated: DateTime<Utc>,
    pub(super) events: Vec<Event>,
    pub(super) index: HashMap<String, usize>,
}

#[derive(Clone, Debug)]
pub(super) struct When {
    pub(super) json: Value,
    pub(super) at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub(super) struct Event {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) summary: Option<String>,
    pub(super) description: Option<String>,
    pub(super) location: Option<String>,
    pub(super) start: When,
    pub(super) end: When,
    pub(super) attendees: Vec<Value>,
    pub(super) conference: Option<Value>,
    pub(super) hangout_link: Option<String>,
    /// A Meet being created (`createRequest` still `pending`): its link,
    /// shown once a read finds it done.
    pub(super) pending_meet: Option<String>,
    pub(super) creator: String,
    pub(super) created: DateTime<Utc>,
    pub(super) updated: DateTime<Utc>,
    pub(super) sequence: i64,
    pub(super) etag: u64,
    /// The calendar's change sequence when this event last changed.
    pub(super) changed: u64,
    pub(super) extra: Map<String, Value>,
    /// Its part in a recurring series, if any.
    pub(super) series: Option<Series>,
}

/// A recurring series is stored as its master (with `recurrence`) and
/// one event per instance (`{master}_{original start}`, with
/// `recurringEventId` and `originalStartTime`): `singleEvents=true` lists
/// the instances, otherwise the master and the instances changed on their
/// own (exceptions), as Google does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Series {
    Master,
    Instance { exception: bool },
}

impl Event {
    /// Whether a listing with (or without) `singleEvents` shows it.
    pub(super) fn listed(&self, single_events: bool) -> bool {
        match self.series {
            None => true,
            Some(Series::Master) => !single_events,
            Some(Series::Instance { exception }) => single_events || exception,
        }
    }
}

impl Event {
    pub(super) fn new(id: String, creator: String, now: DateTime<Utc>) -> Event {
        let placeholder = When {
            json: Value::Null,
            at: now,
        };
        Event {
            id,
            status: "confirmed".into(),
            summary: None,
            description: None,
            location: None,
            start: placeholder.clone(),
            end: placeholder,
            attendees: Vec::new(),
            conference: None,
            hangout_link: None,
            pending_meet: None,
            creator,
            created: now,
            updated: now,
            sequence: 0,
            etag: 0,
            changed: 0,
            extra: Map::new(),
            series: None,
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct Channel {
    pub(super) id: String,
    pub(super) resource_id: String,
    pub(super) resource_uri: String,
    pub(super) account_id: String,
    pub(super) calendar_id: String,
    pub(super) address: String,
    pub(super) token: Option<String>,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) stopped: bool,
    pub(super) message_number: u64,
}

pub(super) struct SyncToken {
    pub(super) calendar_id: String,
    pub(super) seq: u64,
    pub(super) valid: bool,
}

#[derive(Clone)]
pub(super) struct PageState {
    pub(super) calendar_id: String,
    pub(super) ids: Arc<Vec<String>>,
    pub(super) offset: usize,
    pub(super) max_results: usize,
    pub(super) next_sync_seq: u64,
}

pub(super) fn calendar_index(state: &State, account: &Account, id: &str) -> Option<usize> {
    state.calendars.iter().position(|c| {
        c.account_id == account.id
            && if id == "primary" {
                c.primary
            } else {
                c.id.eq_ignore_ascii_case(id)
            }
    })
}
