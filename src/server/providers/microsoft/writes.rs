//! Writing events to an Outlook calendar through Graph: `transactionId`
//! makes a retried create return the first try's event, `isOnlineMeeting`
//! adds a Teams link, and Graph itself mails the attendees.

use super::super::client::{call, call_if_match, decode, ProviderError, ProviderHttp};
use super::super::{ok_if_gone, path_segment, safe_link, CalendarEvent, EventDraft, EventRef};
use super::wire::Event;
use crate::model::Provider;
use crate::server::platform::vault::crypto::SecretString;
use oauth2::reqwest::Method;
use serde_json::{json, Value};

/// Graph's `dateTimeTimeZone`, in UTC.
pub(super) fn stamp(ms: i64) -> Value {
    json!({
        "dateTime": chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .naive_utc()
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string(),
        "timeZone": "UTC",
    })
}

fn event_url(http: &ProviderHttp, event_id: &str) -> String {
    let base = &http.endpoints(Provider::Microsoft).api_base;
    format!("{base}/me/events/{}", path_segment(event_id))
}

/// The event as calbridge reads it back (the answer of a read, create or
/// update): its links only if `https:`.
pub fn parse_event(answer: Value) -> Result<CalendarEvent, ProviderError> {
    let event: Event = decode(answer)?;
    let id = event
        .id
        .clone()
        .ok_or_else(|| ProviderError::Decode("event without an id".into()))?;
    Ok(CalendarEvent {
        id,
        etag: event.etag.clone(),
        join_url: event
            .online_meeting
            .as_ref()
            .and_then(|m| m.join_url.as_deref())
            .and_then(|link| safe_link(link, None)),
        conference_pending: false,
        content: super::events::meeting(&event).map(|m| m.content()),
        link: event.web_link.as_deref().and_then(|l| safe_link(l, None)),
    })
}

fn draft_body(draft: &EventDraft<'_>) -> Value {
    let mut body = json!({
        "subject": draft.title,
        "body": { "contentType": "text", "content": draft.description },
        "start": stamp(draft.start),
        "end": stamp(draft.end),
        "attendees": draft.attendees.iter().map(|(name, email)| json!({
            "emailAddress": { "address": email, "name": name },
            "type": "required",
        })).collect::<Vec<_>>(),
        "transactionId": draft.key,
        "isOnlineMeeting": draft.online_meeting,
    });
    if draft.online_meeting {
        body["onlineMeetingProvider"] = json!("teamsForBusiness");
    }
    if let Some(location) = draft.location {
        body["location"] = json!({ "displayName": location });
    }
    body
}

pub async fn create(
    http: &ProviderHttp,
    token: &SecretString,
    draft: &EventDraft<'_>,
) -> Result<CalendarEvent, ProviderError> {
    let base = &http.endpoints(Provider::Microsoft).api_base;
    let url = format!(
        "{base}/me/calendars/{}/events",
        path_segment(draft.calendar_id)
    );
    let body = draft_body(draft);
    let created = call(
        http,
        Provider::Microsoft,
        Method::POST,
        &url,
        token,
        Some(&body),
    )
    .await?;
    parse_event(created)
}

pub async fn get(
    http: &ProviderHttp,
    token: &SecretString,
    event_id: &str,
) -> Result<CalendarEvent, ProviderError> {
    let url = event_url(http, event_id);
    let found = call(http, Provider::Microsoft, Method::GET, &url, token, None).await?;
    parse_event(found)
}

pub async fn move_to(
    http: &ProviderHttp,
    token: &SecretString,
    at: &EventRef<'_>,
    start: i64,
    end: i64,
    if_match: Option<&str>,
) -> Result<CalendarEvent, ProviderError> {
    let body = json!({ "start": stamp(start), "end": stamp(end) });
    let url = event_url(http, at.event_id);
    let moved = call_if_match(
        http,
        Provider::Microsoft,
        Method::PATCH,
        &url,
        token,
        Some(&body),
        if_match,
    )
    .await?;
    parse_event(moved)
}

/// Rewrites what calbridge keeps of the event (not its Teams meeting),
/// while it still has the etag `if_match`.
pub async fn update(
    http: &ProviderHttp,
    token: &SecretString,
    at: &EventRef<'_>,
    draft: &EventDraft<'_>,
    if_match: Option<&str>,
) -> Result<CalendarEvent, ProviderError> {
    let mut body = draft_body(draft);
    if let Some(fields) = body.as_object_mut() {
        for create_only in ["transactionId", "isOnlineMeeting", "onlineMeetingProvider"] {
            fields.remove(create_only);
        }
        fields
            .entry("location")
            .or_insert_with(|| json!({ "displayName": "" }));
    }
    let url = event_url(http, at.event_id);
    let updated = call_if_match(
        http,
        Provider::Microsoft,
        Method::PATCH,
        &url,
        token,
        Some(&body),
        if_match,
    )
    .await?;
    parse_event(updated)
}

/// Deleting a meeting the user organizes mails its cancellation.
pub async fn delete(
    http: &ProviderHttp,
    token: &SecretString,
    at: &EventRef<'_>,
    if_match: Option<&str>,
) -> Result<(), ProviderError> {
    let url = event_url(http, at.event_id);
    ok_if_gone(
        call_if_match(
            http,
            Provider::Microsoft,
            Method::DELETE,
            &url,
            token,
            None,
            if_match,
        )
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_carries_its_key_as_transaction_id_and_asks_for_teams() {
        let attendees = [("Vera", "vera@example.com")];
        let body = draft_body(&EventDraft {
            key: "k-1",
            calendar_id: "AAMk",
            title: "Consultation",
            description: "d",
            start: 0,
            end: 3_600_000,
            attendees: &attendees,
            location: None,
            online_meeting: true,
        });
        assert_eq!(body["transactionId"], "k-1");
        assert_eq!(body["isOnlineMeeting"], true);
        assert_eq!(body["onlineMeetingProvider"], "teamsForBusiness");
        assert_eq!(
            body["start"],
            json!({"dateTime": "1970-01-01T00:00:00", "timeZone": "UTC"})
        );
        assert_eq!(
            body["attendees"][0]["emailAddress"]["address"],
            "vera@example.com"
        );
    }

    #[test]
    fn the_teams_link_is_read_when_https() {
        let e = parse_event(json!({
            "id": "AAMk1", "@odata.etag": "W/\"5\"",
            "onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/meetup-join/x"},
        }))
        .unwrap();
        assert_eq!(
            e.join_url.as_deref(),
            Some("https://teams.microsoft.com/l/meetup-join/x")
        );
        assert_eq!(e.etag.as_deref(), Some("W/\"5\""));
        let bad = parse_event(json!({"id": "x", "onlineMeeting": {"joinUrl": "http://evil.test"}}))
            .unwrap();
        assert_eq!(bad.join_url, None);
    }
}
