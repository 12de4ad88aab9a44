//! What the Calendly emulator stores: users, organizations, event types,
//! scheduled events with their invitees, and webhook subscriptions.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct User {
    pub account_id: String,
    pub slug: String,
    pub organization: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Organization {
    pub uuid: String,
    pub owner: String,
    /// Used for subscriptions created without their own `signing_key`.
    pub signing_key: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct EventType {
    pub uuid: String,
    pub owner: String,
    pub name: String,
    pub slug: String,
    pub duration: i64,
    /// `zoom_conference` or `physical`.
    pub location_kind: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Cancellation {
    pub canceled_by: String,
    pub reason: Option<String>,
    /// `host` or `invitee`.
    pub canceler_type: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct ScheduledEvent {
    pub uuid: String,
    /// Account id of the host.
    pub host: String,
    /// Further hosts of a collective event (account ids): each sees the
    /// event and its invitees and gets its own deliveries.
    pub co_hosts: Vec<String>,
    pub event_type: String,
    pub name: String,
    /// `active` or `canceled`.
    pub status: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub location: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancellation: Option<Cancellation>,
    /// Invitee uuids, in booking order.
    pub invitees: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct NoShow {
    pub uuid: String,
    pub created_at: DateTime<Utc>,
}

/// (scheduled event uuid, invitee uuid)
pub type InviteeRef = (String, String);

#[derive(Clone, Debug)]
pub struct Invitee {
    pub uuid: String,
    /// Scheduled event uuid.
    pub event: String,
    pub name: String,
    pub email: String,
    /// `active` or `canceled`.
    pub status: String,
    pub timezone: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub rescheduled: bool,
    pub old_invitee: Option<InviteeRef>,
    pub new_invitee: Option<InviteeRef>,
    pub cancellation: Option<Cancellation>,
    pub no_show: Option<NoShow>,
}

#[derive(Clone, Debug)]
pub struct Subscription {
    pub uuid: String,
    pub callback_url: String,
    pub events: Vec<String>,
    /// `user` or `organization`.
    pub scope: String,
    /// Organization uuid.
    pub organization: String,
    /// Account id, for user scope.
    pub user: Option<String>,
    /// Account id of the user who created it.
    pub creator: String,
    pub signing_key: String,
    /// `active` or `disabled`.
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub retry_started_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct State {
    /// By account id.
    pub users: HashMap<String, User>,
    pub organizations: Vec<Organization>,
    pub event_types: Vec<EventType>,
    /// In creation order.
    pub events: Vec<ScheduledEvent>,
    /// By invitee uuid.
    pub invitees: HashMap<String, Invitee>,
    pub subscriptions: Vec<Subscription>,
}

impl ScheduledEvent {
    pub fn hosted_by(&self, account_id: &str) -> bool {
        self.host == account_id || self.co_hosts.iter().any(|h| h == account_id)
    }
}

impl State {
    pub(super) fn event(&self, uuid: &str) -> Option<&ScheduledEvent> {
        self.events.iter().find(|e| e.uuid == uuid)
    }
    pub(super) fn event_mut(&mut self, uuid: &str) -> Option<&mut ScheduledEvent> {
        self.events.iter_mut().find(|e| e.uuid == uuid)
    }
    pub(super) fn org_of(&self, account_id: &str) -> Option<&str> {
        self.users.get(account_id).map(|u| u.organization.as_str())
    }
}
