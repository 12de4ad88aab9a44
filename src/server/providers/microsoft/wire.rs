//! What Microsoft Graph v1.0 sends, as far as calbridge reads it. Graph
//! leaves out (or nulls) what is empty, so every field is optional; fields
//! calbridge does not read are ignored.

use serde::de::IgnoredAny;
use serde::Deserialize;

/// The signed-in user (`/me`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: String,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `/me/calendars`.
#[derive(Debug, Deserialize)]
pub struct CalendarList {
    pub value: Vec<Calendar>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Calendar {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub is_default_calendar: bool,
    #[serde(default)]
    pub can_edit: bool,
}

/// An event (a `calendarView/delta` item; the answer of a read, create or
/// update).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Event {
    pub id: Option<String>,
    #[serde(rename = "@odata.etag")]
    pub etag: Option<String>,
    /// Present on a delta item for an event that is gone.
    #[serde(rename = "@removed")]
    pub removed: Option<IgnoredAny>,
    pub subject: Option<String>,
    pub start: Option<DateTimeZone>,
    pub end: Option<DateTimeZone>,
    pub is_all_day: Option<bool>,
    pub is_cancelled: Option<bool>,
    pub original_start_time_zone: Option<String>,
    pub attendees: Vec<Attendee>,
    pub location: Option<Location>,
    pub online_meeting: Option<OnlineMeeting>,
    pub web_link: Option<String>,
    /// RFC 3339.
    pub last_modified_date_time: Option<String>,
    /// `free`, `tentative`, `busy`, `oof`, `workingElsewhere` or `unknown`.
    pub show_as: Option<String>,
    pub response_status: Option<ResponseStatus>,
    /// The key calbridge created the event with.
    pub transaction_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Attendee {
    pub email_address: Option<EmailAddress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EmailAddress {
    pub name: Option<String>,
    pub address: Option<String>,
}

/// `{dateTime: "2026-12-01T10:00:00.0000000", timeZone: "Europe/Paris"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DateTimeZone {
    pub date_time: Option<String>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Location {
    pub display_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OnlineMeeting {
    pub join_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResponseStatus {
    /// `none`, `organizer`, `accepted`, `declined`, …
    pub response: Option<String>,
}

/// One page of `calendarView/delta`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeltaPage {
    pub value: Vec<Event>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    pub delta_link: Option<String>,
}

/// The answer of `getSchedule`: one entry per mailbox asked about.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Schedules {
    pub value: Vec<Schedule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Schedule {
    /// Why the mailbox could not be read.
    pub error: Option<IgnoredAny>,
    pub schedule_items: Option<Vec<ScheduleItem>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScheduleItem {
    /// `free`, `tentative`, `busy`, `oof`, `workingElsewhere` or `unknown`.
    pub status: Option<String>,
    pub start: Option<DateTimeZone>,
    pub end: Option<DateTimeZone>,
}

/// A Graph change-notification subscription.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Subscription {
    pub id: Option<String>,
    /// RFC 3339.
    pub expiration_date_time: Option<String>,
}

/// One change or lifecycle notification of a batch (`{"value": […]}`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Notification {
    pub subscription_id: Option<String>,
    /// The secret calbridge gave the subscription.
    pub client_state: Option<String>,
    /// `created`, `updated` or `deleted`.
    pub change_type: Option<String>,
    /// On the lifecycle channel: `reauthorizationRequired`,
    /// `subscriptionRemoved` or `missed`.
    pub lifecycle_event: Option<String>,
    pub subscription_expiration_date_time: Option<String>,
    pub resource_data: Option<ResourceData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResourceData {
    pub id: Option<String>,
    #[serde(rename = "@odata.etag")]
    pub etag: Option<String>,
}
