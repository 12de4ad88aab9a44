//! Every kind of background work, as one serde-tagged enum: the tag is the
//! `kind` column, the fields are the `payload` column. A handler receives a
//! typed value, never a JSON object to pick fields from.

use crate::model::{AppointmentId, BookingId, ConnectionId, SubscriptionId, SyncTrigger};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Job {
    /// The scheduler's own run.
    #[serde(rename = "scheduler.tick")]
    SchedulerTick,
    /// Purge expired sessions, OAuth states, old webhook events and
    /// orphaned secrets.
    #[serde(rename = "housekeeping")]
    Housekeeping,
    /// After connecting: calendars, subscriptions, the first import.
    #[serde(rename = "connection.setup")]
    SetUpConnection { connection: ConnectionId },
    /// Import changes from the provider.
    #[serde(rename = "connection.sync")]
    SyncConnection {
        connection: ConnectionId,
        #[serde(default = "trigger_of_older_rows")]
        trigger: SyncTrigger,
    },
    /// Refresh the access token ahead of expiry.
    #[serde(rename = "connection.refresh")]
    RefreshToken { connection: ConnectionId },
    /// After disconnecting: delete subscriptions, revoke tokens.
    #[serde(rename = "connection.cleanup")]
    CleanUpConnection { connection: ConnectionId },
    #[serde(rename = "subscription.renew")]
    RenewSubscription { subscription: SubscriptionId },
    #[serde(rename = "subscription.recreate")]
    RecreateSubscription { subscription: SubscriptionId },
    /// Turn a stored Calendly delivery into a meeting.
    #[serde(rename = "webhook.process")]
    ProcessWebhook { event: String },
    /// Bring the host's calendar event in line with a booking.
    #[serde(rename = "booking.export")]
    ExportBooking { booking: BookingId },
    /// Bring the owner's calendar event in line with an appointment.
    #[serde(rename = "appointment.export")]
    ExportAppointment { appointment: AppointmentId },
}

/// Sync jobs stored before runs had triggers were queued by notifications
/// or the scheduler; notifications are the likelier.
fn trigger_of_older_rows() -> SyncTrigger {
    SyncTrigger::Webhook
}

impl Job {
    /// The `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::SchedulerTick => "scheduler.tick",
            Job::Housekeeping => "housekeeping",
            Job::SetUpConnection { .. } => "connection.setup",
            Job::SyncConnection { .. } => "connection.sync",
            Job::RefreshToken { .. } => "connection.refresh",
            Job::CleanUpConnection { .. } => "connection.cleanup",
            Job::RenewSubscription { .. } => "subscription.renew",
            Job::RecreateSubscription { .. } => "subscription.recreate",
            Job::ProcessWebhook { .. } => "webhook.process",
            Job::ExportBooking { .. } => "booking.export",
            Job::ExportAppointment { .. } => "appointment.export",
        }
    }

    /// The `payload` column: the variant's fields.
    pub fn payload(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(fields) = value.as_object_mut() {
            fields.remove("kind");
        }
        value
    }

    /// Reads a stored job back; an unknown kind or a payload that does not
    /// fit it is an error the worker records (retrying cannot help).
    pub fn from_stored(kind: &str, payload: &serde_json::Value) -> Result<Job, String> {
        let mut tagged = match payload {
            serde_json::Value::Object(fields) => fields.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            _ => return Err(format!("the payload of a '{kind}' job is not an object")),
        };
        tagged.insert("kind".into(), kind.into());
        serde_json::from_value(serde_json::Value::Object(tagged))
            .map_err(|e| format!("unreadable '{kind}' job: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Job> {
        let connection = ConnectionId(uuid::Uuid::now_v7());
        let subscription = SubscriptionId(uuid::Uuid::now_v7());
        vec![
            Job::SchedulerTick,
            Job::Housekeeping,
            Job::SetUpConnection { connection },
            Job::SyncConnection {
                connection,
                trigger: SyncTrigger::Manual,
            },
            Job::RefreshToken { connection },
            Job::CleanUpConnection { connection },
            Job::RenewSubscription { subscription },
            Job::RecreateSubscription { subscription },
            Job::ProcessWebhook {
                event: "event-1".into(),
            },
            Job::ExportBooking {
                booking: crate::model::BookingId(uuid::Uuid::now_v7()),
            },
            Job::ExportAppointment {
                appointment: AppointmentId(uuid::Uuid::now_v7()),
            },
        ]
    }

    #[test]
    fn every_job_reads_back_as_itself() {
        for job in every_kind() {
            let back = Job::from_stored(job.kind(), &job.payload()).expect("readable");
            assert_eq!(back, job);
            assert!(
                job.payload().get("kind").is_none(),
                "the kind is its own column"
            );
        }
    }

    #[test]
    fn rows_stored_before_the_enum_still_read() {
        let id = ConnectionId(uuid::Uuid::now_v7());
        let stored = serde_json::json!({ "connection": id.to_string() });
        assert_eq!(
            Job::from_stored("connection.sync", &stored),
            Ok(Job::SyncConnection {
                connection: id,
                trigger: SyncTrigger::Webhook
            })
        );
        assert_eq!(
            Job::from_stored("scheduler.tick", &serde_json::json!({})),
            Ok(Job::SchedulerTick)
        );
    }

    #[test]
    fn unknown_kinds_and_wrong_payloads_are_refused() {
        assert!(Job::from_stored("mystery", &serde_json::json!({})).is_err());
        assert!(Job::from_stored("connection.sync", &serde_json::json!({})).is_err());
        assert!(Job::from_stored(
            "connection.sync",
            &serde_json::json!({ "connection": "not-a-uuid" })
        )
        .is_err());
        assert!(Job::from_stored("housekeeping", &serde_json::json!([1])).is_err());
    }
}
