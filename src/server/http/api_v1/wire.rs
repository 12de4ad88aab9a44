//! The machine API's JSON: requests, responses and errors, with their
//! OpenAPI schemas. Times are RFC 3339 in the zone the caller reads.

use crate::model::ApiScope;
use crate::server::api_keys::KeyCaller;
use crate::server::booking::book::Placed;
use crate::server::booking::error::FreeSlot;
use crate::server::booking::slots::Host;
use crate::server::booking::speak;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct EventTypeOut {
    pub slug: String,
    pub name: String,
    pub duration_minutes: u32,
    /// google_meet, microsoft_teams, phone, in_person or none.
    pub location: String,
}

#[derive(Serialize, ToSchema)]
pub struct HostOut {
    pub slug: String,
    pub name: String,
    /// IANA zone the host works in.
    pub time_zone: String,
    pub event_types: Vec<EventTypeOut>,
}

#[derive(Serialize, ToSchema)]
pub struct HostsOut {
    pub data: Vec<HostOut>,
}

impl From<Host> for HostOut {
    fn from(h: Host) -> Self {
        HostOut {
            slug: h.profile.slug,
            name: h.profile.name,
            time_zone: h.profile.time_zone,
            event_types: h
                .event_types
                .into_iter()
                .map(|e| EventTypeOut {
                    slug: e.slug,
                    name: e.name,
                    duration_minutes: e.duration,
                    location: e.location.as_str().to_owned(),
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SlotOut {
    /// RFC 3339 with the requested zone's offset.
    pub start: String,
    pub end: String,
    /// The host's slug.
    pub host: String,
    /// The start as a voice agent says it, e.g. "Tuesday 2 December at 2:00 PM".
    pub speakable: String,
}

impl SlotOut {
    pub fn new(slot: &FreeSlot, tz: Tz) -> Self {
        SlotOut {
            start: speak::rfc3339(slot.span.start, tz),
            end: speak::rfc3339(slot.span.end, tz),
            host: slot.host.clone(),
            speakable: speak::speakable(slot.span.start, tz),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AvailabilityOut {
    pub time_zone: String,
    pub slots: Vec<SlotOut>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendeeIn {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// IANA zone the attendee reads times in; the host's when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingIn {
    /// A host's slug, or "any" for whichever host of the team is free.
    pub host: String,
    pub event_type: String,
    /// RFC 3339, a start `GET /api/v1/availability` returned.
    pub start: String,
    pub attendee: AttendeeIn,
    #[serde(default)]
    pub purpose: Option<String>,
    /// A repeat with the same key returns the first result (also as the
    /// `Idempotency-Key` header).
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleIn {
    /// RFC 3339, a free start of the same event type.
    pub start: String,
}

#[derive(Serialize, ToSchema)]
pub struct BookingOut {
    pub id: String,
    /// confirmed or canceled.
    pub status: String,
    /// RFC 3339 in the attendee's zone.
    pub start: String,
    pub end: String,
    pub time_zone: String,
    pub host: String,
    pub event_type: Option<String>,
    pub attendee_name: String,
    pub attendee_email: String,
    /// The Meet or Teams link once the calendar event exists; null while
    /// the invitation is on its way.
    pub meeting_url: Option<String>,
    /// The attendee's page to see, cancel or reschedule: given only to a
    /// key with `bookings:write`, since the link itself can do that.
    pub manage_url: Option<String>,
    pub speakable: String,
}

impl BookingOut {
    /// `placed` as `key` may see it: the manage link only with
    /// `bookings:write`.
    pub fn new(placed: &Placed, key: &KeyCaller) -> Self {
        let b = &placed.booking;
        let tz: Tz = b.attendee_time_zone.parse().unwrap_or(chrono_tz::UTC);
        BookingOut {
            id: b.id.to_string(),
            status: if b.confirmed { "confirmed" } else { "canceled" }.to_owned(),
            start: speak::rfc3339(b.starts_at, tz),
            end: speak::rfc3339(b.ends_at, tz),
            time_zone: b.attendee_time_zone.clone(),
            host: placed.host.slug.clone(),
            event_type: placed.event_type.as_ref().map(|e| e.slug.clone()),
            attendee_name: b.attendee_name.clone(),
            attendee_email: b.attendee_email.clone(),
            meeting_url: b.export.meeting_url.clone(),
            manage_url: placed
                .manage
                .as_ref()
                .filter(|_| key.may(ApiScope::BookingsWrite))
                .map(|m| m.url.clone()),
            speakable: speak::speakable(b.starts_at, tz),
        }
    }
}

/// Every error: a stable code, what to do next, and for bad input the
/// field; for a start that cannot be booked, the nearest free ones.
#[derive(Serialize, ToSchema)]
pub struct ErrorOut {
    /// unauthorized, insufficient_scope, not_found, invalid_request,
    /// not_a_slot, slot_taken, idempotency_key_reused, booking_canceled,
    /// calendar_unavailable (503: a busy calendar of the host cannot be read),
    /// unknown_tool,
    /// rate_limited, internal.
    pub error: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<Vec<SlotOut>>,
    /// rate_limited: seconds until the request may be tried again (also
    /// the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

/// One entry of the audit trail.
#[derive(Serialize, ToSchema)]
pub struct AuditEntryOut {
    pub id: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// user, api_key, operator, visitor or system.
    pub actor_kind: String,
    /// An e-mail, a key's name, "command line", "visitors", "calbridge".
    pub actor: String,
    /// api_key.created, member.role_changed, connection.disconnected, …
    pub action: String,
    pub target: String,
    pub detail: String,
    /// How many times it happened (a limit reached in one minute).
    pub count: i64,
}

/// A page of the audit trail, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditOut {
    pub data: Vec<AuditEntryOut>,
    /// Pass as `before` for the next (older) page; null at the end.
    pub next: Option<String>,
}

impl From<crate::model::AuditPage> for AuditOut {
    fn from(page: crate::model::AuditPage) -> Self {
        AuditOut {
            data: page
                .entries
                .into_iter()
                .map(|e| AuditEntryOut {
                    id: e.id,
                    at: e.at,
                    actor_kind: e.actor_kind.as_str().to_owned(),
                    actor: e.actor,
                    action: e.action.as_str().to_owned(),
                    target: e.target,
                    detail: e.detail,
                    count: e.count,
                })
                .collect(),
            next: page.next,
        }
    }
}
