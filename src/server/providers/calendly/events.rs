//! Calendly bookings: an invitee and its scheduled event, read back from
//! the API so that whatever order webhooks arrive in, calbridge stores what
//! Calendly holds now.

use super::super::client::{get_json, ProviderError};
use super::super::{ChangeFeed, ChangePage, FeedRequest, ProviderHttp, ProviderMeeting};
use super::wire::{Event, EventRef, Invitee, Location, Page, Resource};
use super::Calendly;
use crate::model::{MeetingStatus, Provider};
use crate::server::platform::vault::crypto::SecretString;

fn ms(rfc3339: &str) -> Result<i64, ProviderError> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.timestamp_millis())
        .map_err(|e| ProviderError::Decode(format!("time '{rfc3339}': {e}")))
}

/// Location text and join link from Calendly's `location` object (Zoom,
/// Google Meet, Teams, phone, in person …).
fn location(at: &Location) -> (Option<String>, Option<String>) {
    let join = at.join_url.clone().or_else(|| {
        at.location
            .clone()
            .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
    });
    let place = at.location.clone().or_else(|| at.kind.clone());
    (place, join)
}

/// The booking behind an invitee URI, as Calendly holds it now.
pub async fn booking(
    http: &ProviderHttp,
    token: &SecretString,
    invitee_uri: &str,
) -> Result<ProviderMeeting, ProviderError> {
    let invitee: Resource<Invitee> = get_json(http, Provider::Calendly, invitee_uri, token).await?;
    let invitee = invitee.resource;
    let event: Resource<Event> = get_json(http, Provider::Calendly, &invitee.event, token).await?;
    meeting(invitee, event.resource)
}

fn meeting(invitee: Invitee, event: Event) -> Result<ProviderMeeting, ProviderError> {
    let status = if invitee.status == "canceled" || event.status == "canceled" {
        if invitee.rescheduled {
            MeetingStatus::Rescheduled
        } else {
            MeetingStatus::Canceled
        }
    } else {
        MeetingStatus::Scheduled
    };
    let (place, join_url) = event.location.as_ref().map(location).unwrap_or_default();
    let updated = [invitee.updated_at.as_deref(), event.updated_at.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|t| ms(t).ok())
        .max();
    Ok(ProviderMeeting {
        provider: Provider::Calendly,
        provider_event_id: invitee.uri,
        title: event.name,
        starts_at: ms(&event.start_time)?,
        ends_at: ms(&event.end_time)?,
        time_zone: invitee.timezone,
        status,
        invitee_name: invitee.name,
        invitee_email: invitee.email,
        attendees: Vec::new(),
        location: place,
        join_url,
        cancel_url: invitee.cancel_url,
        reschedule_url: invitee.reschedule_url,
        rescheduled_to: invitee.new_invitee,
        provider_updated_at: updated,
        blocks_time: true,
        all_day: false,
        etag: None,
        written_for: None,
    })
}

#[async_trait::async_trait]
impl ChangeFeed for Calendly {
    /// Calendly has no change cursor: every sync (polling mode, first
    /// import, resync) pages through the user's `scheduled_events`, each
    /// page with every invitee of its events. Cancellations are statuses.
    async fn changes(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        request: &FeedRequest<'_>,
    ) -> Result<ChangePage, ProviderError> {
        let url = match request.page {
            Some(next) => next.to_owned(),
            None => {
                let base = &http.endpoints(Provider::Calendly).api_base;
                let mut first = url::Url::parse(&format!("{base}/scheduled_events"))
                    .map_err(|e| ProviderError::Decode(e.to_string()))?;
                first
                    .query_pairs_mut()
                    .append_pair("user", request.account_id)
                    .append_pair("count", "100");
                first.to_string()
            }
        };
        let page: Page<EventRef> = get_json(http, Provider::Calendly, &url, token).await?;
        let mut meetings = Vec::new();
        for event in page.collection {
            let details: Resource<Event> =
                get_json(http, Provider::Calendly, &event.uri, token).await?;
            let mut invitees_url = format!("{}/invitees?count=100", event.uri);
            loop {
                let invitees: Page<Invitee> =
                    get_json(http, Provider::Calendly, &invitees_url, token).await?;
                for invitee in invitees.collection {
                    meetings.push(meeting(invitee, details.resource.clone())?);
                }
                match invitees.pagination.next_page {
                    Some(more) => invitees_url = more,
                    None => break,
                }
            }
        }
        Ok(ChangePage {
            meetings,
            next_page: page.pagination.next_page,
            ..ChangePage::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn at(v: Value) -> Location {
        serde_json::from_value(v).expect("a location")
    }

    fn invitee(status: &str, rescheduled: bool) -> Invitee {
        Invitee {
            uri: "https://api.calendly.com/scheduled_events/E/invitees/I".into(),
            email: Some("pat@example.com".into()),
            name: Some("Pat".into()),
            status: status.into(),
            timezone: Some("Europe/Paris".into()),
            event: "https://api.calendly.com/scheduled_events/E".into(),
            rescheduled,
            new_invitee: rescheduled.then(|| "https://api.calendly.com/x/invitees/J".into()),
            cancel_url: None,
            reschedule_url: None,
            updated_at: Some("2026-11-21T10:00:00Z".into()),
        }
    }

    fn event(status: &str, location: Option<Location>) -> Event {
        Event {
            name: "Intro call".into(),
            status: status.into(),
            start_time: "2026-11-23T09:00:00.000000Z".into(),
            end_time: "2026-11-23T09:30:00.000000Z".into(),
            location,
            updated_at: Some("2026-11-21T11:00:00Z".into()),
        }
    }

    #[test]
    fn status_follows_invitee_and_event() {
        let m = meeting(invitee("active", false), event("active", None)).unwrap();
        assert_eq!(m.status, MeetingStatus::Scheduled);
        let m = meeting(invitee("canceled", false), event("active", None)).unwrap();
        assert_eq!(m.status, MeetingStatus::Canceled);
        let m = meeting(invitee("active", false), event("canceled", None)).unwrap();
        assert_eq!(m.status, MeetingStatus::Canceled);
        let m = meeting(invitee("canceled", true), event("active", None)).unwrap();
        assert_eq!(m.status, MeetingStatus::Rescheduled);
        assert!(m.rescheduled_to.is_some());
    }

    #[test]
    fn times_and_join_links_are_read() {
        let m = meeting(
            invitee("active", false),
            event(
                "active",
                Some(at(
                    json!({"type": "google_conference", "join_url": "https://meet.google.com/abc"}),
                )),
            ),
        )
        .unwrap();
        assert_eq!(m.starts_at, 1_795_424_400_000);
        assert_eq!(m.ends_at - m.starts_at, 30 * 60 * 1000);
        assert_eq!(m.join_url.as_deref(), Some("https://meet.google.com/abc"));
        assert_eq!(m.location.as_deref(), Some("google_conference"));
        assert_eq!(
            m.provider_updated_at,
            Some(ms("2026-11-21T11:00:00Z").unwrap())
        );
        let (place, join) = location(&at(json!({"type": "physical", "location": "Room 4"})));
        assert_eq!((place.as_deref(), join), (Some("Room 4"), None));
        let (_, join) = location(&at(
            json!({"type": "custom", "location": "https://zoom.us/j/1"}),
        ));
        assert_eq!(join.as_deref(), Some("https://zoom.us/j/1"));
    }
}
