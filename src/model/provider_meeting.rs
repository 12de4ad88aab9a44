//! The provider-neutral meeting the provider adapters produce and the
//! meetings store keeps (server only).

use super::{EventContent, MeetingStatus, Provider};

/// A meeting as the provider reports it now.
pub struct ProviderMeeting {
    pub provider: Provider,
    pub provider_event_id: String,
    pub title: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub time_zone: Option<String>,
    pub status: MeetingStatus,
    pub invitee_name: Option<String>,
    pub invitee_email: Option<String>,
    pub attendees: Vec<String>,
    pub location: Option<String>,
    pub join_url: Option<String>,
    pub cancel_url: Option<String>,
    pub reschedule_url: Option<String>,
    pub rescheduled_to: Option<String>,
    pub provider_updated_at: Option<i64>,
    /// Whether it makes its owner busy: not when marked free/transparent
    /// or when the owner declined it.
    pub blocks_time: bool,
    /// An all-day event: `starts_at`/`ends_at` are midnight UTC of its
    /// first and (exclusive) last date, which hold in the owner's zone.
    pub all_day: bool,
    /// The provider's version tag (Google `etag`, Graph `@odata.etag`):
    /// what a later write sends as `If-Match`.
    pub etag: Option<String>,
    /// The id of the calbridge booking or appointment the event was written
    /// for, as the wire carries it (Google: the derived event id; Graph:
    /// `transactionId`): known before calbridge has stored the event's id,
    /// so a sync that reads the event meanwhile does not import it.
    pub written_for: Option<uuid::Uuid>,
}

impl ProviderMeeting {
    /// What two-way sync compares with the appointment it stands for.
    pub fn content(&self) -> EventContent {
        EventContent {
            title: self.title.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            attendees: self.attendees.clone(),
            location: self.location.clone(),
            canceled: self.status == MeetingStatus::Canceled,
        }
        .normalized()
    }
}
