//! Google Calendar events: incremental listing with sync tokens.

use super::super::capabilities::expired_cursor;
use super::super::client::{get_json, ProviderError};
use super::super::{
    path_segment, ChangeFeed, ChangePage, FeedRequest, ProviderHttp, ProviderMeeting,
};
use super::Google;
use crate::model::{MeetingStatus, Provider};
use crate::server::platform::vault::crypto::SecretString;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    items: Vec<Value>,
    next_page_token: Option<String>,
    next_sync_token: Option<String>,
}

/// The provider event id calbridge stores for a Google event: calendar and
/// event id, as one event id may appear on several calendars.
fn event_key(calendar_id: &str, event_id: &str) -> String {
    format!("{calendar_id}/{event_id}")
}

fn time(v: &Value) -> Option<i64> {
    let text = v.get("dateTime").and_then(Value::as_str);
    match text {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.timestamp_millis()),
        // All-day events: midnight UTC of that date.
        None => v
            .get("date")
            .and_then(Value::as_str)
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_millis()),
    }
}

/// The key `writes::event_id` derived `id` from, when it is such an id: the
/// UUID its first 32 hex digits spell (an appointment's replacement event
/// adds digits after them).
pub fn written_for(id: &str) -> Option<uuid::Uuid> {
    let digits = id.strip_prefix("cb")?;
    if digits.len() < 32 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    uuid::Uuid::try_parse(&digits[..32]).ok()
}

pub(super) fn meeting(calendar_id: &str, item: &Value) -> Option<ProviderMeeting> {
    let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    let id = text("id")?;
    let join_url = text("hangoutLink").or_else(|| {
        item["conferenceData"]["entryPoints"]
            .as_array()?
            .iter()
            .find(|e| e["entryPointType"] == "video")
            .and_then(|e| e["uri"].as_str())
            .map(str::to_owned)
    });
    let attendees: Vec<String> = item["attendees"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter(|a| a["self"] != true)
                .filter_map(|a| a["email"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let declined_by_owner = item["attendees"].as_array().is_some_and(|list| {
        list.iter()
            .any(|a| a["self"] == true && a["responseStatus"] == "declined")
    });
    Some(ProviderMeeting {
        provider: Provider::Google,
        provider_event_id: event_key(calendar_id, &id),
        title: text("summary").unwrap_or_else(|| "(no title)".into()),
        starts_at: time(&item["start"])?,
        ends_at: time(&item["end"])?,
        time_zone: item["start"]["timeZone"].as_str().map(str::to_owned),
        status: if item["status"] == "cancelled" {
            MeetingStatus::Canceled
        } else {
            MeetingStatus::Scheduled
        },
        invitee_name: None,
        invitee_email: attendees.first().cloned(),
        attendees,
        location: text("location"),
        join_url,
        cancel_url: None,
        reschedule_url: text("htmlLink"),
        rescheduled_to: None,
        provider_updated_at: text("updated")
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.timestamp_millis()),
        blocks_time: item["transparency"] != "transparent" && !declined_by_owner,
        all_day: item["start"].get("dateTime").is_none(),
        etag: text("etag"),
        written_for: written_for(&id),
    })
}

#[async_trait::async_trait]
impl ChangeFeed for Google {
    /// One page of a calendar's events: incremental from the sync token, or
    /// the full list without one. Expanded into instances (`singleEvents`).
    async fn changes(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        request: &FeedRequest<'_>,
    ) -> Result<ChangePage, ProviderError> {
        let calendar_id = request.calendar_id.ok_or(ProviderError::AccountIncomplete(
            "a Google feed reads one calendar",
        ))?;
        let api_base = &http.endpoints(Provider::Google).api_base;
        let mut url = url::Url::parse(&format!(
            "{api_base}/calendar/v3/calendars/{}/events",
            path_segment(calendar_id)
        ))
        .map_err(|e| ProviderError::Decode(e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("maxResults", "250");
            q.append_pair("singleEvents", "true");
            match request.cursor {
                Some(t) => q.append_pair("syncToken", t),
                None => q.append_pair("showDeleted", "false"),
            };
            if let Some(p) = request.page {
                q.append_pair("pageToken", p);
            }
        }
        let page: Page = get_json(http, Provider::Google, url.as_str(), token)
            .await
            .map_err(expired_cursor)?;
        let mut changes = ChangePage {
            next_page: page.next_page_token,
            cursor: page.next_sync_token,
            ..ChangePage::default()
        };
        for item in &page.items {
            match item["status"].as_str() {
                Some("cancelled") => {
                    if let Some(id) = item["id"].as_str() {
                        changes.removed.push(event_key(calendar_id, id));
                    }
                }
                _ => changes.meetings.extend(meeting(calendar_id, item)),
            }
        }
        Ok(changes)
    }

    /// A read without a sync token lists every live event of the calendar.
    fn complete_listing_prefix(&self, calendar_id: Option<&str>) -> Option<String> {
        calendar_id.map(|c| event_key(c, ""))
    }

    fn meeting_key(&self, calendar_id: Option<&str>, event_id: &str) -> String {
        calendar_id.map_or_else(|| event_id.to_owned(), |c| event_key(c, event_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_an_event_with_a_meet_link() {
        let m = meeting(
            "ada@example.com",
            &json!({
                "id": "e1", "summary": "Design review",
                "start": {"dateTime": "2026-12-01T10:00:00+01:00", "timeZone": "Europe/Paris"},
                "end": {"dateTime": "2026-12-01T11:00:00+01:00"},
                "attendees": [{"email": "ada@example.com", "self": true}, {"email": "bo@example.com"}],
                "conferenceData": {"entryPoints": [{"entryPointType": "video", "uri": "https://meet.google.com/x"}]},
                "updated": "2026-11-20T08:00:00Z"
            }),
        )
        .unwrap();
        assert_eq!(m.provider_event_id, "ada@example.com/e1");
        assert_eq!(m.ends_at - m.starts_at, 3_600_000);
        assert_eq!(m.starts_at, 1_796_115_600_000);
        assert_eq!(m.attendees, vec!["bo@example.com".to_owned()]);
        assert_eq!(m.join_url.as_deref(), Some("https://meet.google.com/x"));
        assert_eq!(m.time_zone.as_deref(), Some("Europe/Paris"));
    }

    #[test]
    fn free_and_declined_events_block_no_time() {
        let at = json!({"dateTime": "2026-12-01T10:00:00Z"});
        let event = |extra: Value| {
            let mut e =
                json!({"id": "e", "start": at, "end": {"dateTime": "2026-12-01T11:00:00Z"}});
            e.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            meeting("c", &e).unwrap()
        };
        let busy = event(json!({}));
        assert!(busy.blocks_time && !busy.all_day);
        assert!(!event(json!({"transparency": "transparent"})).blocks_time);
        assert!(event(json!({"transparency": "opaque"})).blocks_time);
        let declined = json!({"attendees": [
            {"email": "me@example.com", "self": true, "responseStatus": "declined"},
            {"email": "o@example.com", "responseStatus": "accepted"}]});
        assert!(!event(declined).blocks_time);
        let someone_else_declined = json!({"attendees": [
            {"email": "me@example.com", "self": true, "responseStatus": "accepted"},
            {"email": "o@example.com", "responseStatus": "declined"}]});
        assert!(event(someone_else_declined).blocks_time);
    }

    #[test]
    fn all_day_events_and_missing_times() {
        let m = meeting(
            "c",
            &json!({"id": "d", "start": {"date": "2026-12-24"}, "end": {"date": "2026-12-25"}}),
        )
        .unwrap();
        assert_eq!(m.ends_at - m.starts_at, 24 * 3_600_000);
        assert!(m.all_day && m.blocks_time);
        assert_eq!(m.title, "(no title)");
        assert!(meeting("c", &json!({"id": "x", "start": {}})).is_none());
    }
}
