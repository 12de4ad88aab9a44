//! The sync log's shared types: what started a run, how it ended, what
//! happened to each item, and the views of `/admin/sync` and the user's
//! own runs on `/settings/calendars`.

use super::{AppointmentId, BookingId, ConnectionId, ConnectionState, Provider, SyncRunId, UserId};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// An enum stored and sent as one snake_case word, with the words people
/// read on the pages.
macro_rules! worded_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!(concat!("unknown ", stringify!($name), " '{}'"), other)),
                }
            }
        }
    };
}

worded_enum!(
    /// What started a sync run.
    SyncTrigger {
        /// A provider notification.
        Webhook => "webhook", "Webhook";
        /// The scheduler's poll (Calendly without webhooks).
        Schedule => "schedule", "Schedule";
        /// Someone pressed Sync now.
        Manual => "manual", "Sync now";
        /// A calbridge change written to the calendar.
        Export => "export", "Export";
        /// Full resync: every feed read from scratch.
        Resync => "resync", "Full resync";
        /// The first import after connecting.
        Setup => "setup", "Connected";
    }
);

worded_enum!(
    /// How a sync run ended.
    SyncOutcome {
        Running => "running", "Running";
        Succeeded => "succeeded", "Succeeded";
        /// Finished, but some items failed.
        Partial => "partial", "Partly failed";
        Failed => "failed", "Failed";
    }
);

worded_enum!(
    /// What a run did with one item.
    SyncAction {
        Imported => "imported", "Imported";
        Updated => "updated", "Updated";
        Deleted => "deleted", "Deleted";
        Exported => "exported", "Exported";
        Conflict => "conflict", "Conflict";
        Skipped => "skipped", "Skipped";
        Error => "error", "Error";
    }
);

worded_enum!(
    /// Where an appointment stands with its calendar event.
    SyncState {
        /// Both sides agree.
        Synced => "synced", "Synced";
        /// A change waits to be written (or there is no calendar yet).
        Pending => "pending", "Pending";
        /// Both sides changed; someone must choose.
        Conflict => "conflict", "Conflict";
        /// The last write failed; it is retried.
        Error => "error", "Error";
    }
);

worded_enum!(
    /// What two-way sync does when calbridge and the calendar both changed
    /// an appointment since they last agreed.
    ConflictPolicy {
        /// Queue the pair for a person to choose (the default).
        Ask => "ask", "Ask";
        CalendarWins => "calendar_wins", "Calendar wins";
        CalbridgeWins => "calbridge_wins", "calbridge wins";
    }
);

/// A run's counts, one per [`SyncAction`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCounts {
    pub imported: i64,
    pub updated: i64,
    pub deleted: i64,
    pub exported: i64,
    pub conflicts: i64,
    pub skipped: i64,
    pub errors: i64,
}

impl SyncCounts {
    pub fn add(&mut self, action: SyncAction) {
        *self.get_mut(action) += 1;
    }

    fn get_mut(&mut self, action: SyncAction) -> &mut i64 {
        match action {
            SyncAction::Imported => &mut self.imported,
            SyncAction::Updated => &mut self.updated,
            SyncAction::Deleted => &mut self.deleted,
            SyncAction::Exported => &mut self.exported,
            SyncAction::Conflict => &mut self.conflicts,
            SyncAction::Skipped => &mut self.skipped,
            SyncAction::Error => &mut self.errors,
        }
    }

    /// Every count with its action, for the pages.
    pub fn each(&self) -> [(SyncAction, i64); 7] {
        [
            (SyncAction::Imported, self.imported),
            (SyncAction::Updated, self.updated),
            (SyncAction::Deleted, self.deleted),
            (SyncAction::Exported, self.exported),
            (SyncAction::Conflict, self.conflicts),
            (SyncAction::Skipped, self.skipped),
            (SyncAction::Error, self.errors),
        ]
    }

    /// "3 imported, 1 deleted", or "no changes".
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .each()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(action, n)| format!("{n} {}", action.label().to_lowercase()))
            .collect();
        if parts.is_empty() {
            "no changes".into()
        } else {
            parts.join(", ")
        }
    }
}

/// One sync run as the log shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncRunView {
    pub id: SyncRunId,
    pub connection: ConnectionId,
    pub provider: Provider,
    pub account_email: String,
    pub user_email: String,
    pub calendar_id: Option<String>,
    pub trigger: SyncTrigger,
    /// A feed was read from scratch.
    pub full_read: bool,
    pub outcome: SyncOutcome,
    /// RFC 3339.
    pub started_at: String,
    pub duration_ms: Option<i64>,
    /// Feeds (calendars) read, of those to read.
    pub feeds_done: i64,
    pub feeds_total: i64,
    pub counts: SyncCounts,
    pub error: Option<String>,
}

/// What a run did with one event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncItemView {
    pub action: SyncAction,
    pub calendar_id: Option<String>,
    pub external_id: String,
    pub title: Option<String>,
    /// RFC 3339.
    pub starts_at: Option<String>,
    pub detail: Option<String>,
}

/// `/admin/sync/runs/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncRunDetail {
    pub run: SyncRunView,
    pub items: Vec<SyncItemView>,
    /// Items the run counted but did not keep (each run keeps the first
    /// [`SYNC_ITEMS_KEPT`]).
    pub items_not_kept: i64,
}

/// How many items a run keeps in the log.
pub const SYNC_ITEMS_KEPT: i64 = 500;

/// A connection's sync health on `/admin/sync`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionHealthView {
    pub connection: ConnectionId,
    pub provider: Provider,
    pub account_email: String,
    pub user: UserId,
    pub user_email: String,
    pub state: ConnectionState,
    /// RFC 3339: the last run that succeeded.
    pub last_success_at: Option<String>,
    /// The last failed run: when, and why.
    pub last_failure: Option<(String, String)>,
    /// Notifications stored but not yet covered by a sync.
    pub backlog: i64,
    /// RFC 3339: when the feed's cursor last moved (the last complete read).
    pub cursor_at: Option<String>,
    /// A run is going on now.
    pub running: bool,
}

/// The filters of `/admin/sync`'s run list; `None` is "all".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncRunFilter {
    pub user: Option<UserId>,
    pub provider: Option<Provider>,
    pub connection: Option<ConnectionId>,
    pub outcome: Option<SyncOutcome>,
    pub trigger: Option<SyncTrigger>,
    /// Only runs older than this one (the next page).
    pub before: Option<SyncRunId>,
}

/// `/admin/sync`: the health of every connection and the runs, newest
/// first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncPage {
    pub health: Vec<ConnectionHealthView>,
    pub runs: Vec<SyncRunView>,
    /// The run to continue from for older runs, when there are more.
    pub older: Option<SyncRunId>,
}

/// Where a run stands, as the progress stream sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncProgress {
    pub run: Option<SyncRunId>,
    pub outcome: Option<SyncOutcome>,
    pub feeds_done: i64,
    pub feeds_total: i64,
    pub counts: SyncCounts,
    pub error: Option<String>,
}

/// One field of an appointment in a conflict, as each side has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictField {
    pub label: String,
    pub calbridge: String,
    pub calendar: String,
    pub differs: bool,
}

/// What changed on both sides: an appointment, or a booking (whose time
/// the attendee and the host both changed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConflictSubject {
    Appointment(AppointmentId),
    Booking(BookingId),
}

/// An appointment or booking changed in calbridge and in the calendar
/// since the two last agreed, waiting for a person to keep one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictView {
    pub subject: ConflictSubject,
    pub title: String,
    pub owner_name: String,
    pub owner_email: String,
    pub provider: Provider,
    /// The event's page at the provider (`https:` only).
    pub external_link: Option<String>,
    pub fields: Vec<ConflictField>,
}

/// An appointment as its owner edits it on `/meetings/new` and
/// `/meetings/appointments/{id}`: times as `datetime-local` values in the
/// owner's zone, attendees as one comma-separated line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentForm {
    /// None for a new one.
    pub id: Option<AppointmentId>,
    pub title: String,
    /// `YYYY-MM-DDTHH:MM` in `time_zone`.
    pub start: String,
    pub end: String,
    pub attendees: String,
    pub location: String,
    pub notes: String,
    pub time_zone: String,
    pub canceled: bool,
    /// Where it stands with its calendar event (None for a new one).
    pub sync_state: Option<SyncState>,
    pub provider: Option<Provider>,
    /// The event's page at the provider (`https:` only).
    pub external_link: Option<String>,
    pub sync_error: Option<String>,
    /// Both versions, field by field, while in conflict.
    pub conflict: Vec<ConflictField>,
}
