//! Microsoft Graph calendar changes: `calendarView/delta` pages.

use super::super::capabilities::expired_cursor;
use super::super::client::{get_json, ProviderError};
use super::super::{ChangeFeed, ChangePage, FeedRequest, ProviderHttp, ProviderMeeting};
use super::wire::{DateTimeZone, DeltaPage, Event};
use super::Microsoft;
use crate::model::{MeetingStatus, Provider};
use crate::server::platform::vault::crypto::SecretString;

/// Graph date-times come as `{dateTime: "2026-12-01T10:00:00.0000000", timeZone}`.
/// An all-day event's are midnights of its dates, kept as midnight UTC.
pub(super) fn time(v: &DateTimeZone, all_day: bool) -> Option<i64> {
    let text = v.date_time.as_deref()?;
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    if all_day {
        return Some(
            naive
                .date()
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp_millis(),
        );
    }
    let zone: chrono_tz::Tz = v
        .time_zone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    naive
        .and_local_timezone(zone)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// A text Graph sent, unless empty.
fn text(value: &Option<String>) -> Option<String> {
    value.clone().filter(|s| !s.is_empty())
}

pub(super) fn meeting(event: &Event) -> Option<ProviderMeeting> {
    let attendees: Vec<String> = event
        .attendees
        .iter()
        .filter_map(|a| text(&a.email_address.as_ref()?.address))
        .collect();
    let first_name = event
        .attendees
        .first()
        .and_then(|a| a.email_address.as_ref()?.name.clone());
    let all_day = event.is_all_day == Some(true);
    let declined = event
        .response_status
        .as_ref()
        .is_some_and(|r| r.response.as_deref() == Some("declined"));
    Some(ProviderMeeting {
        provider: Provider::Microsoft,
        provider_event_id: text(&event.id)?,
        title: text(&event.subject).unwrap_or_else(|| "(no title)".into()),
        starts_at: time(event.start.as_ref()?, all_day)?,
        ends_at: time(event.end.as_ref()?, all_day)?,
        time_zone: text(&event.original_start_time_zone),
        status: if event.is_cancelled == Some(true) {
            MeetingStatus::Canceled
        } else {
            MeetingStatus::Scheduled
        },
        invitee_name: first_name,
        invitee_email: attendees.first().cloned(),
        attendees,
        location: event.location.as_ref().and_then(|l| text(&l.display_name)),
        join_url: event
            .online_meeting
            .as_ref()
            .and_then(|m| text(&m.join_url)),
        cancel_url: None,
        reschedule_url: text(&event.web_link),
        rescheduled_to: None,
        provider_updated_at: event
            .last_modified_date_time
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis()),
        blocks_time: event.show_as.as_deref() != Some("free") && !declined,
        all_day,
        etag: text(&event.etag),
        // calbridge's keys start with the record's UUID (an appointment's
        // replacement event adds a suffix).
        written_for: event
            .transaction_id
            .as_deref()
            .and_then(|key| key.get(..36))
            .and_then(|id| uuid::Uuid::try_parse(id).ok()),
    })
}

/// The first delta request over a window of the calendar.
fn initial_delta_url(api_base: &str, from_ms: i64, to_ms: i64) -> String {
    let stamp = |ms| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let mut url = url::Url::parse(&format!("{api_base}/me/calendarView/delta"))
        .unwrap_or_else(|_| url::Url::parse("http://invalid/").expect("static URL"));
    url.query_pairs_mut()
        .append_pair("startDateTime", &stamp(from_ms))
        .append_pair("endDateTime", &stamp(to_ms));
    url.to_string()
}

#[async_trait::async_trait]
impl ChangeFeed for Microsoft {
    /// One page of `calendarView/delta`: the next link, else the stored
    /// delta link, else a new delta over the request's window. Links are
    /// checked against the API base before they are returned, since every
    /// later request starts there.
    async fn changes(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        request: &FeedRequest<'_>,
    ) -> Result<ChangePage, ProviderError> {
        let url = match request.page.or(request.cursor) {
            Some(link) => link.to_owned(),
            None => {
                let base = &http.endpoints(Provider::Microsoft).api_base;
                initial_delta_url(base, request.window.0, request.window.1)
            }
        };
        let page: DeltaPage = get_json(http, Provider::Microsoft, &url, token)
            .await
            .map_err(expired_cursor)?;
        for link in page.next_link.iter().chain(&page.delta_link) {
            http.pin(Provider::Microsoft, link)?;
        }
        let mut changes = ChangePage {
            next_page: page.next_link,
            cursor: page.delta_link,
            ..ChangePage::default()
        };
        for event in &page.value {
            match (&event.removed, &event.id) {
                (Some(_), Some(id)) => changes.removed.push(id.clone()),
                (Some(_), None) => {}
                (None, _) => changes.meetings.extend(meeting(event)),
            }
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn read(v: Value) -> Option<ProviderMeeting> {
        meeting(&serde_json::from_value(v).expect("an event"))
    }

    #[test]
    fn an_event_calbridge_wrote_names_its_record_by_transaction_id() {
        let key = uuid::Uuid::now_v7();
        let event = |transaction: serde_json::Value| {
            read(
                json!({"id": "A", "subject": "S", "transactionId": transaction,
                "start": {"dateTime": "2026-12-24T10:00:00.0000000", "timeZone": "UTC"},
                "end": {"dateTime": "2026-12-24T11:00:00.0000000", "timeZone": "UTC"}}),
            )
            .unwrap()
        };
        assert_eq!(event(json!(key.to_string())).written_for, Some(key));
        assert_eq!(
            event(json!(format!("{key}-0a1b2c3d"))).written_for,
            Some(key)
        );
        assert_eq!(event(json!("someone-elses-key")).written_for, None);
        assert_eq!(event(json!(null)).written_for, None);
    }

    #[test]
    fn free_declined_and_all_day_events() {
        let event = |extra: serde_json::Value| {
            let mut e = json!({"id": "A", "subject": "S",
                "start": {"dateTime": "2026-12-24T00:00:00.0000000", "timeZone": "UTC"},
                "end": {"dateTime": "2026-12-25T00:00:00.0000000", "timeZone": "UTC"}});
            e.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            read(e).unwrap()
        };
        assert!(event(json!({"showAs": "busy"})).blocks_time);
        assert!(event(json!({"showAs": "tentative"})).blocks_time);
        assert!(!event(json!({"showAs": "free"})).blocks_time);
        assert!(!event(json!({"responseStatus": {"response": "declined"}})).blocks_time);
        let all_day = event(json!({"isAllDay": true}));
        assert!(all_day.all_day);
        let christmas = chrono::NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
        assert_eq!(
            all_day.starts_at,
            christmas
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis()
        );
        assert_eq!(all_day.ends_at - all_day.starts_at, 24 * 3_600_000);
    }

    #[test]
    fn reads_an_event_with_a_teams_link_in_its_time_zone() {
        let m = read(json!({
            "id": "AAMk1", "subject": "Sync",
            "start": {"dateTime": "2026-12-01T10:00:00.0000000", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2026-12-01T10:30:00.0000000", "timeZone": "Europe/Paris"},
            "attendees": [{"emailAddress": {"name": "Bo", "address": "bo@example.com"}}],
            "onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/x"},
            "isCancelled": false
        }))
        .unwrap();
        assert_eq!(m.starts_at, 1_796_115_600_000);
        assert_eq!(
            m.join_url.as_deref(),
            Some("https://teams.microsoft.com/l/x")
        );
        assert_eq!(m.invitee_name.as_deref(), Some("Bo"));
        assert_eq!(m.status, MeetingStatus::Scheduled);
        let cancelled = read(json!({
            "id": "x", "isCancelled": true,
            "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"}
        }))
        .unwrap();
        assert_eq!(cancelled.status, MeetingStatus::Canceled);
    }

    #[test]
    fn the_first_delta_covers_a_window() {
        let url = initial_delta_url("https://graph.example/v1.0", 0, 86_400_000);
        assert!(url.starts_with("https://graph.example/v1.0/me/calendarView/delta?"));
        assert!(url.contains("startDateTime=1970-01-01T00%3A00%3A00Z"));
        assert!(url.contains("endDateTime=1970-01-02T00%3A00%3A00Z"));
    }
}
