//! What two-way sync compares between an appointment and its calendar
//! event.

use serde::{Deserialize, Serialize};

/// The fields calbridge and the calendar both hold for an appointment, in
/// one normal form so that equal content compares (and hashes) equal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventContent {
    pub title: String,
    /// Unix ms.
    pub starts_at: i64,
    pub ends_at: i64,
    /// Lowercase, sorted, without repeats; never the owner.
    pub attendees: Vec<String>,
    pub location: Option<String>,
    pub canceled: bool,
}

impl EventContent {
    /// Trims the text, drops an empty location, sorts the attendees.
    pub fn normalized(mut self) -> Self {
        self.title = self.title.trim().to_owned();
        self.location = self
            .location
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty());
        for a in &mut self.attendees {
            *a = a.trim().to_lowercase();
        }
        self.attendees.retain(|a| !a.is_empty());
        self.attendees.sort();
        self.attendees.dedup();
        self
    }
}

/// What a booking's calendar event can change of the booking: its time,
/// or that it is gone. Title, description and guests of that event are
/// calbridge's wording and the attendee's own, not the host's to edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Unix ms.
    pub starts_at: i64,
    pub ends_at: i64,
    pub canceled: bool,
}

impl Slot {
    /// Whether the two say the same: any two canceled slots do, whatever
    /// their times were.
    pub fn same_as(&self, other: &Slot) -> bool {
        (self.canceled && other.canceled) || self == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_form_ignores_case_order_repeats_and_blank_locations() {
        let a = EventContent {
            title: " Review ".into(),
            starts_at: 0,
            ends_at: 1,
            attendees: vec![
                "Bo@Example.com".into(),
                "ada@example.com".into(),
                "bo@example.com".into(),
            ],
            location: Some("  ".into()),
            canceled: false,
        }
        .normalized();
        assert_eq!(a.title, "Review");
        assert_eq!(a.attendees, vec!["ada@example.com", "bo@example.com"]);
        assert_eq!(a.location, None);
    }
}
