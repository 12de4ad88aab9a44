//! Typed IDs: a UUID v7 (time-ordered) per kind of row, so an id of one
//! kind cannot be passed where another is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered (UUID v7) id.
            #[cfg(feature = "ssr")]
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

typed_id!(
    /// A customer organisation; every other row belongs to exactly one.
    TenantId
);
typed_id!(
    /// A person who logs in.
    UserId
);
typed_id!(
    /// A pending or used invitation to join a tenant.
    InviteId
);

typed_id!(
    /// A tenant's own OAuth app for one provider.
    OAuthAppId
);

typed_id!(
    /// One user's link to one provider account.
    ConnectionId
);

typed_id!(
    /// A unit of background work in the durable queue.
    JobId
);

typed_id!(
    /// One received webhook delivery.
    WebhookEventId
);

typed_id!(
    /// A meeting on a user's meetings page (one provider booking or event).
    MeetingId
);

typed_id!(
    /// A provider-side webhook subscription (Calendly), watch channel
    /// (Google) or Graph subscription (Outlook).
    SubscriptionId
);

typed_id!(
    /// A kind of meeting a host offers on their booking page.
    EventTypeId
);

typed_id!(
    /// An appointment a visitor or an agent booked with a host.
    BookingId
);

typed_id!(
    /// A tenant's key for the machine API (`/api/v1`, `/mcp`).
    ApiKeyId
);

/// One calendar of a provider account, named by the provider (Google: the
/// calendar's id, often an email address; Graph: an opaque id). Not a UUID:
/// calbridge does not choose it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CalendarId(pub String);

impl CalendarId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CalendarId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

typed_id!(
    /// One run of a sync: a connection's change feed read, or an export.
    SyncRunId
);

typed_id!(
    /// An appointment created in calbridge (on `/meetings` or by the API),
    /// kept in two-way sync with its owner's calendar.
    AppointmentId
);
