//! The two-way sync decision, without I/O, for appointments and bookings
//! alike: given what both sides last agreed on, whether calbridge changed
//! its side since, and what the calendar holds now, which way the change
//! flows — or that both changed and the connection's policy decides.

use crate::model::{ConflictPolicy, EventContent, Slot};
use sha2::{Digest, Sha256};

/// SHA-256 of the content's normal form: equal content, equal hash. A
/// deleted event is deleted whatever it said: every canceled content
/// hashes alike, so a delete seen again (or seen on both sides) is no news.
pub fn content_hash(content: &EventContent) -> String {
    if content.canceled {
        return hex::encode(Sha256::digest(b"[\"canceled\"]"));
    }
    let c = content.clone().normalized();
    let canonical = serde_json::json!([
        c.title,
        c.starts_at,
        c.ends_at,
        c.attendees,
        c.location,
        c.canceled
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// What a change feed saw of an event calbridge wrote.
pub enum Seen {
    /// The event as it is now, with its etag.
    Event(EventContent, Option<String>),
    /// Deleted in the calendar.
    Removed,
}

/// Which side a person keeps when both changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    Calbridge,
    Calendar,
}

impl Keep {
    /// The decision in words, for the audit trail.
    pub fn decision(self) -> &'static str {
        match self {
            Keep::Calbridge => "kept calbridge's version",
            Keep::Calendar => "kept the calendar's version",
        }
    }
}

/// What to do about one appointment and its event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Neither side changed.
    Nothing,
    /// Only calbridge changed: write the appointment to the calendar.
    Export,
    /// Only the calendar changed: take its version.
    Import,
    /// Both changed to the same thing: record that they agree.
    Converged,
    /// Both changed differently: a person chooses.
    Queue,
}

/// The plan for an appointment whose calendar event holds `calendar` now.
/// `agreed_hash` is the content both last agreed on; `local` what
/// calbridge holds, `local_changed` whether it changed since.
pub fn plan(
    agreed_hash: &str,
    local: &EventContent,
    local_changed: bool,
    calendar: &EventContent,
    policy: ConflictPolicy,
) -> Plan {
    let calendar_changed = content_hash(calendar) != agreed_hash;
    decide(local_changed, calendar_changed, policy, || {
        content_hash(local) == content_hash(calendar)
    })
}

/// The plan for a booking whose calendar event holds `calendar` now, when
/// both last agreed on `agreed` and the booking is at `local`.
pub fn plan_slot(agreed: Slot, local: Slot, calendar: Slot, policy: ConflictPolicy) -> Plan {
    decide(
        !local.same_as(&agreed),
        !calendar.same_as(&agreed),
        policy,
        || local.same_as(&calendar),
    )
}

fn decide(
    local_changed: bool,
    calendar_changed: bool,
    policy: ConflictPolicy,
    converged: impl FnOnce() -> bool,
) -> Plan {
    match (local_changed, calendar_changed) {
        (false, false) => Plan::Nothing,
        (true, false) => Plan::Export,
        (false, true) => Plan::Import,
        (true, true) if converged() => Plan::Converged,
        (true, true) => match policy {
            ConflictPolicy::Ask => Plan::Queue,
            ConflictPolicy::CalendarWins => Plan::Import,
            ConflictPolicy::CalbridgeWins => Plan::Export,
        },
    }
}

/// The fields where the two versions differ, for the conflict view.
pub fn differences(local: &EventContent, calendar: &EventContent) -> Vec<&'static str> {
    let (l, c) = (local.clone().normalized(), calendar.clone().normalized());
    let mut fields = Vec::new();
    if l.title != c.title {
        fields.push("title");
    }
    if l.starts_at != c.starts_at || l.ends_at != c.ends_at {
        fields.push("time");
    }
    if l.attendees != c.attendees {
        fields.push("attendees");
    }
    if l.location != c.location {
        fields.push("location");
    }
    if l.canceled != c.canceled {
        fields.push("status");
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(title: &str, start: i64) -> EventContent {
        EventContent {
            title: title.into(),
            starts_at: start,
            ends_at: start + 1_800_000,
            attendees: vec!["ada@example.com".into()],
            location: None,
            canceled: false,
        }
    }

    const POLICIES: [ConflictPolicy; 3] = [
        ConflictPolicy::Ask,
        ConflictPolicy::CalendarWins,
        ConflictPolicy::CalbridgeWins,
    ];

    #[test]
    fn the_hash_is_of_the_normal_form() {
        let a = content("Review", 0);
        let mut b = a.clone();
        b.attendees = vec!["ADA@example.com ".into()];
        b.title = " Review".into();
        b.location = Some(String::new());
        assert_eq!(content_hash(&a), content_hash(&b));
        let mut moved = a.clone();
        moved.starts_at += 1;
        assert_ne!(content_hash(&a), content_hash(&moved));
        let mut canceled = a.clone();
        canceled.canceled = true;
        assert_ne!(content_hash(&a), content_hash(&canceled));
        let mut canceled_renamed = moved.clone();
        canceled_renamed.canceled = true;
        canceled_renamed.title = "Other".into();
        assert_eq!(content_hash(&canceled), content_hash(&canceled_renamed));
        assert_eq!(content_hash(&a).len(), 64);
    }

    #[test]
    fn one_side_changing_flows_to_the_other_under_every_policy() {
        let agreed = content("Review", 0);
        let hash = content_hash(&agreed);
        let renamed = content("Design review", 0);
        for policy in POLICIES {
            assert_eq!(plan(&hash, &agreed, false, &agreed, policy), Plan::Nothing);
            assert_eq!(plan(&hash, &renamed, true, &agreed, policy), Plan::Export);
            assert_eq!(plan(&hash, &agreed, false, &renamed, policy), Plan::Import);
            assert_eq!(
                plan(&hash, &renamed, true, &renamed, policy),
                Plan::Converged
            );
        }
    }

    #[test]
    fn both_sides_changing_differently_follows_the_policy() {
        let agreed = content("Review", 0);
        let hash = content_hash(&agreed);
        let local = content("Design review", 0);
        let calendar = content("Review", 3_600_000);
        let decide = |policy| plan(&hash, &local, true, &calendar, policy);
        assert_eq!(decide(ConflictPolicy::Ask), Plan::Queue);
        assert_eq!(decide(ConflictPolicy::CalendarWins), Plan::Import);
        assert_eq!(decide(ConflictPolicy::CalbridgeWins), Plan::Export);
    }

    #[test]
    fn a_delete_against_an_edit_is_a_conflict_never_a_silent_loss() {
        let agreed = content("Review", 0);
        let hash = content_hash(&agreed);
        let mut deleted = agreed.clone();
        deleted.canceled = true;
        let edited = content("Review", 3_600_000);
        assert_eq!(
            plan(&hash, &edited, true, &deleted, ConflictPolicy::Ask),
            Plan::Queue
        );
        assert_eq!(
            plan(&hash, &deleted, true, &edited, ConflictPolicy::Ask),
            Plan::Queue
        );
        // Deleted on both sides: nothing to choose.
        assert_eq!(
            plan(&hash, &deleted, true, &deleted, ConflictPolicy::Ask),
            Plan::Converged
        );
        // A delete alone flows.
        assert_eq!(
            plan(&hash, &agreed, false, &deleted, ConflictPolicy::Ask),
            Plan::Import
        );
        // A person kept calbridge's edit over the calendar's delete: the
        // delete, seen again, is not a new conflict.
        let overridden = content_hash(&deleted);
        assert_eq!(
            plan(&overridden, &edited, true, &deleted, ConflictPolicy::Ask),
            Plan::Export
        );
    }

    #[test]
    fn differences_name_each_changed_field() {
        let a = content("Review", 0);
        assert!(differences(&a, &a).is_empty());
        let mut b = content("Design review", 3_600_000);
        b.attendees.push("bo@example.com".into());
        b.location = Some("Room 4".into());
        b.canceled = true;
        assert_eq!(
            differences(&a, &b),
            vec!["title", "time", "attendees", "location", "status"]
        );
    }

    fn slot(start: i64, canceled: bool) -> Slot {
        Slot {
            starts_at: start,
            ends_at: start + 1_800_000,
            canceled,
        }
    }

    #[test]
    fn a_booking_follows_a_move_or_delete_in_the_calendar_and_the_calendar_follows_the_booking() {
        let agreed = slot(0, false);
        let moved = slot(3_600_000, false);
        let gone = slot(0, true);
        for policy in POLICIES {
            assert_eq!(plan_slot(agreed, agreed, agreed, policy), Plan::Nothing);
            assert_eq!(plan_slot(agreed, agreed, moved, policy), Plan::Import);
            assert_eq!(plan_slot(agreed, agreed, gone, policy), Plan::Import);
            assert_eq!(plan_slot(agreed, moved, agreed, policy), Plan::Export);
            assert_eq!(plan_slot(agreed, gone, agreed, policy), Plan::Export);
            // Both moved to the same time, or both canceled (at any time).
            assert_eq!(plan_slot(agreed, moved, moved, policy), Plan::Converged);
            assert_eq!(
                plan_slot(agreed, gone, slot(7_200_000, true), policy),
                Plan::Converged
            );
            // A delete seen again after calbridge's own delete is no news.
            assert_eq!(plan_slot(gone, gone, slot(5, true), policy), Plan::Nothing);
        }
    }

    #[test]
    fn a_booking_changed_on_both_sides_follows_the_policy_even_delete_against_move() {
        let agreed = slot(0, false);
        let attendee_moved = slot(3_600_000, false);
        let host_moved = slot(7_200_000, false);
        let gone = slot(0, true);
        for (local, calendar) in [
            (attendee_moved, host_moved),
            (gone, host_moved),
            (attendee_moved, gone),
        ] {
            assert_eq!(
                plan_slot(agreed, local, calendar, ConflictPolicy::Ask),
                Plan::Queue
            );
            assert_eq!(
                plan_slot(agreed, local, calendar, ConflictPolicy::CalendarWins),
                Plan::Import
            );
            assert_eq!(
                plan_slot(agreed, local, calendar, ConflictPolicy::CalbridgeWins),
                Plan::Export
            );
        }
    }
}
