//! Google Calendar events: incremental listing with sync tokens.

use super::super::capabilities::expired_cursor;
use super::super::client::{get_json, ProviderError};
use super::super::{
    path_segment, ChangeFeed, ChangePage, FeedRequest, ProviderHttp, ProviderMeeting,
};
use super::wire::{Event, EventPage, When};
use super::Google;
use crate::model::{MeetingStatus, Provider};
use crate::server::platform::vault::crypto::SecretString;

/// The provider event id calbridge stores for a Google event: calendar and
/// event id, as one event id may appear on several calendars.
fn event_key(calendar_id: &str, event_id: &str) -> String {
    format!("{calendar_id}/{event_id}")
}

fn time(when: &When) -> Option<i64> {
    match when.date_time.as_deref() {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.timestamp_millis()),
        // All-day events: midnight UTC of that date.
        None => when
            .date
            .as_deref()
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

pub(super) fn meeting(calendar_id: &str, event: &Event) -> Option<ProviderMeeting> {
    let id = event.id.clone()?;
    let (start, end) = (event.start.as_ref()?, event.end.as_ref()?);
    let attendees: Vec<String> = event
        .attendees
        .iter()
        .filter(|a| !a.is_self)
        .filter_map(|a| a.email.clone())
        .collect();
    let declined_by_owner = event
        .attendees
        .iter()
        .any(|a| a.is_self && a.response_status.as_deref() == Some("declined"));
    Some(ProviderMeeting {
        provider: Provider::Google,
        provider_event_id: event_key(calendar_id, &id),
        title: event.summary.clone().unwrap_or_else(|| "(no title)".into()),
        starts_at: time(start)?,
        ends_at: time(end)?,
        time_zone: start.time_zone.clone(),
        status: if event.is_cancelled() {
            MeetingStatus::Canceled
        } else {
            MeetingStatus::Scheduled
        },
        invitee_name: None,
        invitee_email: attendees.first().cloned(),
        attendees,
        location: event.location.clone(),
        join_url: event.video_link().map(str::to_owned),
        cancel_url: None,
        reschedule_url: event.html_link.clone(),
        rescheduled_to: None,
        provider_updated_at: event
            .updated
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis()),
        blocks_time: event.transparency.as_deref() != Some("transparent") && !declined_by_owner,
        all_day: start.date_time.is_none(),
        etag: event.etag.clone(),
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
        let page: EventPage = get_json(http, Provider::Google, url.as_str(), token)
            .await
            .map_err(expired_cursor)?;
        let mut changes = ChangePage {
            next_page: page.next_page_token,
            cursor: page.next_sync_token,
            ..ChangePage::default()
        };
        for event in &page.items {
            match (event.is_cancelled(), event.id.as_deref()) {
                (true, Some(id)) => changes.removed.push(event_key(calendar_id, id)),
                (true, None) => {}
                (false, _) => changes.meetings.extend(meeting(calendar_id, event)),
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
    use serde_json::{json, Value};

    fn event(v: Value) -> Event {
        serde_json::from_value(v).expect("an event")
    }

    #[test]
    fn reads_an_event_with_a_meet_link() {
        let m = meeting(
            "ada@example.com",
            &event(json!({
                "id": "e1", "summary": "Design review",
                "start": {"dateTime": "2026-12-01T10:00:00+01:00", "timeZone": "Europe/Paris"},
                "end": {"dateTime": "2026-12-01T11:00:00+01:00"},
                "attendees": [{"email": "ada@example.com", "self": true}, {"email": "bo@example.com"}],
                "conferenceData": {"entryPoints": [{"entryPointType": "video", "uri": "https://meet.google.com/x"}]},
                "updated": "2026-11-20T08:00:00Z"
            })),
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
        let meeting_with = |extra: Value| {
            let mut e =
                json!({"id": "e", "start": at, "end": {"dateTime": "2026-12-01T11:00:00Z"}});
            e.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            meeting("c", &event(e)).unwrap()
        };
        let busy = meeting_with(json!({}));
        assert!(busy.blocks_time && !busy.all_day);
        assert!(!meeting_with(json!({"transparency": "transparent"})).blocks_time);
        assert!(meeting_with(json!({"transparency": "opaque"})).blocks_time);
        let declined = json!({"attendees": [
            {"email": "me@example.com", "self": true, "responseStatus": "declined"},
            {"email": "o@example.com", "responseStatus": "accepted"}]});
        assert!(!meeting_with(declined).blocks_time);
        let someone_else_declined = json!({"attendees": [
            {"email": "me@example.com", "self": true, "responseStatus": "accepted"},
            {"email": "o@example.com", "responseStatus": "declined"}]});
        assert!(meeting_with(someone_else_declined).blocks_time);
    }

    #[test]
    fn all_day_events_and_missing_times() {
        let m = meeting(
            "c",
            &event(
                json!({"id": "d", "start": {"date": "2026-12-24"}, "end": {"date": "2026-12-25"}}),
            ),
        )
        .unwrap();
        assert_eq!(m.ends_at - m.starts_at, 24 * 3_600_000);
        assert!(m.all_day && m.blocks_time);
        assert_eq!(m.title, "(no title)");
        assert!(meeting("c", &event(json!({"id": "x", "start": {}}))).is_none());
    }
}
