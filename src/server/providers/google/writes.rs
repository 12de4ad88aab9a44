//! Writing events to a Google calendar: insert with a client-chosen id
//! (so a retry finds the first try's event), Meet through
//! `conferenceData.createRequest`, attendees mailed with `sendUpdates=all`.

use super::super::client::{call, call_if_match, decode, ProviderError, ProviderHttp};
use super::super::{
    ok_if_gone, path_segment, safe_link, utc_stamp, CalendarEvent, EventDraft, EventRef,
};
use super::wire::Event;
use crate::model::Provider;
use crate::server::platform::vault::crypto::SecretString;
use oauth2::reqwest::Method;
use serde_json::{json, Value};

/// Google's id for the event standing for `key`. Ids are base32hex
/// (`0-9`, `a-v`), 5 to 1024 characters: a UUID's hex digits qualify.
pub fn event_id(key: &str) -> String {
    let digits: String = key
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("cb{digits}")
}

fn events_url(http: &ProviderHttp, calendar_id: &str) -> String {
    let base = &http.endpoints(Provider::Google).api_base;
    format!(
        "{base}/calendar/v3/calendars/{}/events",
        path_segment(calendar_id)
    )
}

fn event_url(http: &ProviderHttp, at: &EventRef<'_>) -> String {
    format!(
        "{}/{}",
        events_url(http, at.calendar_id),
        path_segment(at.event_id)
    )
}

/// The event as calbridge reads it back (the answer of `get`, `insert` or
/// `patch`): its links only if `https:`.
pub fn parse_event(answer: Value) -> Result<CalendarEvent, ProviderError> {
    let event: Event = decode(answer)?;
    let id = event
        .id
        .clone()
        .ok_or_else(|| ProviderError::Decode("event without an id".into()))?;
    Ok(CalendarEvent {
        id,
        etag: event.etag.clone(),
        join_url: event.video_link().and_then(|link| safe_link(link, None)),
        conference_pending: event.conference_pending(),
        content: super::events::meeting("", &event).map(|m| m.content()),
        link: event.html_link.as_deref().and_then(|l| safe_link(l, None)),
    })
}

fn draft_body(draft: &EventDraft<'_>) -> Value {
    let mut body = json!({
        "id": event_id(draft.key),
        "summary": draft.title,
        "description": draft.description,
        "start": { "dateTime": utc_stamp(draft.start) },
        "end": { "dateTime": utc_stamp(draft.end) },
        "attendees": draft.attendees.iter().map(|(name, email)| json!({
            "email": email,
            "displayName": name,
        })).collect::<Vec<_>>(),
    });
    if let Some(location) = draft.location {
        body["location"] = json!(location);
    }
    if draft.online_meeting {
        body["conferenceData"] = json!({
            "createRequest": {
                "requestId": draft.key,
                "conferenceSolutionKey": { "type": "hangoutsMeet" },
            }
        });
    }
    body
}

pub async fn create(
    http: &ProviderHttp,
    token: &SecretString,
    draft: &EventDraft<'_>,
) -> Result<CalendarEvent, ProviderError> {
    let url = format!(
        "{}?conferenceDataVersion=1&sendUpdates=all",
        events_url(http, draft.calendar_id)
    );
    let body = draft_body(draft);
    match call(
        http,
        Provider::Google,
        Method::POST,
        &url,
        token,
        Some(&body),
    )
    .await
    {
        Ok(created) => parse_event(created),
        // An earlier try made it.
        Err(ProviderError::Rejected { status: 409, .. }) => {
            let id = event_id(draft.key);
            let at = EventRef {
                calendar_id: draft.calendar_id,
                event_id: &id,
            };
            get(http, token, &at).await
        }
        Err(e) => Err(e),
    }
}

pub async fn get(
    http: &ProviderHttp,
    token: &SecretString,
    at: &EventRef<'_>,
) -> Result<CalendarEvent, ProviderError> {
    let found = call(
        http,
        Provider::Google,
        Method::GET,
        &event_url(http, at),
        token,
        None,
    )
    .await?;
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
    let url = format!(
        "{}?conferenceDataVersion=1&sendUpdates=all",
        event_url(http, at)
    );
    let body = json!({
        "start": { "dateTime": utc_stamp(start) },
        "end": { "dateTime": utc_stamp(end) },
    });
    let moved = call_if_match(
        http,
        Provider::Google,
        Method::PATCH,
        &url,
        token,
        Some(&body),
        if_match,
    )
    .await?;
    parse_event(moved)
}

/// Rewrites what calbridge keeps of the event (never its id or
/// conference), while it still has the etag `if_match`.
pub async fn update(
    http: &ProviderHttp,
    token: &SecretString,
    at: &EventRef<'_>,
    draft: &EventDraft<'_>,
    if_match: Option<&str>,
) -> Result<CalendarEvent, ProviderError> {
    let url = format!(
        "{}?conferenceDataVersion=1&sendUpdates=all",
        event_url(http, at)
    );
    let mut body = draft_body(draft);
    if let Some(fields) = body.as_object_mut() {
        fields.remove("id");
        fields.remove("conferenceData");
        // An empty location clears the one the calendar holds.
        fields
            .entry("location")
            .or_insert_with(|| Value::String(String::new()));
    }
    let updated = call_if_match(
        http,
        Provider::Google,
        Method::PATCH,
        &url,
        token,
        Some(&body),
        if_match,
    )
    .await?;
    parse_event(updated)
}

pub async fn delete(
    http: &ProviderHttp,
    token: &SecretString,
    at: &EventRef<'_>,
    if_match: Option<&str>,
) -> Result<(), ProviderError> {
    let url = format!("{}?sendUpdates=all", event_url(http, at));
    ok_if_gone(
        call_if_match(
            http,
            Provider::Google,
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
    use super::super::events::written_for;
    use super::*;

    #[test]
    fn the_event_id_is_base32hex_and_the_same_for_a_key() {
        let id = event_id("01931c2e-7b4a-7cde-8f00-0123456789AB");
        assert_eq!(id, "cb01931c2e7b4a7cde8f000123456789ab");
        assert!(id
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c)));
        assert_eq!(id, event_id("01931c2e-7b4a-7cde-8f00-0123456789AB"));
    }

    #[test]
    fn a_derived_id_names_its_key_and_other_ids_name_none() {
        let key = uuid::Uuid::parse_str("01931c2e-7b4a-7cde-8f00-0123456789ab").unwrap();
        assert_eq!(written_for(&event_id(&key.to_string())), Some(key));
        let replacement = event_id(&format!("{key}-0a1b2c3d"));
        assert_eq!(written_for(&replacement), Some(key));
        for other in [
            "",
            "cb",
            "abc123",
            "cb01931c2e7b4a",
            "cb01931c2e7b4a7cde8f000123456789zz",
        ] {
            assert_eq!(written_for(other), None, "{other}");
        }
        assert_eq!(
            written_for(&format!("{}_20261224T100000Z", event_id("x"))),
            None
        );
    }

    #[test]
    fn a_pending_meet_has_no_link_yet_and_a_done_one_has_its_https_link() {
        let pending = json!({
            "id": "cb1", "etag": "\"3\"",
            "conferenceData": {"createRequest": {"requestId": "k", "status": {"statusCode": "pending"}}},
        });
        let e = parse_event(pending).unwrap();
        assert!(e.conference_pending && e.join_url.is_none());
        assert_eq!(e.etag.as_deref(), Some("\"3\""));
        let done = json!({
            "id": "cb1",
            "conferenceData": {
                "createRequest": {"status": {"statusCode": "success"}},
                "entryPoints": [{"entryPointType": "phone", "uri": "tel:+1"}, {"entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij"}],
            },
        });
        let e = parse_event(done).unwrap();
        assert!(!e.conference_pending);
        assert_eq!(
            e.join_url.as_deref(),
            Some("https://meet.google.com/abc-defg-hij")
        );
        let hostile = json!({"id": "x", "hangoutLink": "javascript:alert(1)"});
        assert_eq!(parse_event(hostile).unwrap().join_url, None);
        assert!(parse_event(json!({})).is_err());
    }

    #[test]
    fn a_draft_asks_for_meet_with_its_key_and_names_the_attendees() {
        let attendees = [("Vera", "vera@example.com")];
        let body = draft_body(&EventDraft {
            key: "01931c2e-7b4a-7cde-8f00-0123456789ab",
            calendar_id: "primary",
            title: "Intro call",
            description: "d",
            start: 0,
            end: 1_800_000,
            attendees: &attendees,
            location: None,
            online_meeting: true,
        });
        assert_eq!(body["id"], "cb01931c2e7b4a7cde8f000123456789ab");
        assert_eq!(body["start"]["dateTime"], "1970-01-01T00:00:00Z");
        assert_eq!(body["attendees"][0]["email"], "vera@example.com");
        assert_eq!(
            body["conferenceData"]["createRequest"]["conferenceSolutionKey"]["type"],
            "hangoutsMeet"
        );
        assert_eq!(
            body["conferenceData"]["createRequest"]["requestId"],
            "01931c2e-7b4a-7cde-8f00-0123456789ab"
        );
    }
}
