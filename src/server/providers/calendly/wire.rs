//! What the Calendly API v2 sends, as far as calbridge reads it: invitees,
//! scheduled events, pages of them, webhook subscriptions and the body of
//! a webhook delivery.

use serde::Deserialize;

/// A single resource: `{"resource": …}`.
#[derive(Debug, Deserialize)]
pub struct Resource<T> {
    pub resource: T,
}

/// A page of a collection.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub collection: Vec<T>,
    pub pagination: Pagination,
}

#[derive(Debug, Deserialize)]
pub struct Pagination {
    pub next_page: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Invitee {
    pub uri: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// `active` or `canceled`.
    pub status: String,
    pub timezone: Option<String>,
    /// The scheduled event's URI.
    pub event: String,
    #[serde(default)]
    pub rescheduled: bool,
    /// After a reschedule: the invitee of the new booking.
    pub new_invitee: Option<String>,
    pub cancel_url: Option<String>,
    pub reschedule_url: Option<String>,
    pub updated_at: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Event {
    pub name: String,
    /// `active` or `canceled`.
    pub status: String,
    /// RFC 3339.
    pub start_time: String,
    pub end_time: String,
    #[serde(default)]
    pub location: Option<Location>,
    pub updated_at: Option<String>,
}

/// Where a scheduled event happens; which fields are set depends on its
/// `type` (`physical`, `google_conference`, `zoom`, `outbound_call`, …).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Location {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// An address, a phone number or a link, as the host wrote it.
    pub location: Option<String>,
    pub join_url: Option<String>,
}

/// A scheduled event as a collection lists it.
#[derive(Debug, Deserialize)]
pub struct EventRef {
    pub uri: String,
}

/// A webhook subscription.
#[derive(Debug, Deserialize)]
pub struct WebhookSubscription {
    pub uri: String,
    pub callback_url: String,
    /// `active` or `disabled`.
    #[serde(default)]
    pub state: Option<String>,
}

/// The body of a webhook delivery, as far as calbridge reads it: what
/// happened and to which invitee (read back from the API, never trusted
/// from the body).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Delivery {
    /// `invitee.created`, `invitee.canceled` …
    pub event: Option<String>,
    pub payload: Option<DeliveryPayload>,
    /// The Calendly user whose subscription sent it.
    pub created_by: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeliveryPayload {
    /// The invitee's URI.
    pub uri: Option<String>,
}

impl Delivery {
    pub fn invitee_uri(&self) -> Option<&str> {
        self.payload.as_ref()?.uri.as_deref()
    }
}
