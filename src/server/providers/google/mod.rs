//! Google Calendar: calendar lists, incremental event sync with sync tokens
//! (the change feed), watch channels per calendar.

pub mod events;
pub mod subscription;
pub mod webhook;
pub mod wire;
pub mod writes;

use super::client::{call, decode, get_json, ProviderError, ProviderHttp};
use super::{
    utc_stamp, BusyQuery, CalendarApi, CalendarBusy, CalendarEvent, ChangeFeed, ClientAuth,
    Coverage, EventDraft, EventRef, ProviderAccount, ProviderApi, ProviderCalendar,
    SubscriptionApi,
};
use crate::model::Provider;
use crate::server::platform::vault::crypto::SecretString;
use oauth2::reqwest::Method;
use wire::{CalendarList, FreeBusy, FreeBusyCalendar, Userinfo};

pub struct Google;

#[async_trait::async_trait]
impl ProviderApi for Google {
    fn provider(&self) -> Provider {
        Provider::Google
    }

    fn scopes(&self) -> &'static [&'static str] {
        &[
            "openid",
            "email",
            "profile",
            "https://www.googleapis.com/auth/calendar.events",
            "https://www.googleapis.com/auth/calendar.readonly",
        ]
    }

    fn coverage(&self) -> Coverage {
        Coverage::BusyCalendar
    }

    fn subscriptions(&self) -> &dyn SubscriptionApi {
        self
    }

    fn change_feed(&self) -> &dyn ChangeFeed {
        self
    }

    fn client_auth(&self) -> ClientAuth {
        ClientAuth::RequestBody
    }

    fn authorize_params(&self) -> &'static [(&'static str, &'static str)] {
        // A refresh token comes only with offline access and fresh consent.
        &[("access_type", "offline"), ("prompt", "consent")]
    }

    async fn account(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
    ) -> Result<ProviderAccount, ProviderError> {
        let base = &http.endpoints(Provider::Google).api_base;
        let info: Userinfo = get_json(
            http,
            Provider::Google,
            &format!("{base}/oauth2/v3/userinfo"),
            token,
        )
        .await?;
        Ok(ProviderAccount {
            name: info.name.unwrap_or_else(|| info.email.clone()),
            id: info.sub,
            email: info.email.to_lowercase(),
            organization: None,
        })
    }

    fn calendars(&self) -> Option<&dyn CalendarApi> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl CalendarApi for Google {
    async fn list_calendars(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
    ) -> Result<Vec<ProviderCalendar>, ProviderError> {
        let base = &http.endpoints(Provider::Google).api_base;
        let url = format!("{base}/calendar/v3/users/me/calendarList");
        let list: CalendarList = get_json(http, Provider::Google, &url, token).await?;
        Ok(list
            .items
            .into_iter()
            .map(|c| ProviderCalendar {
                writable: matches!(c.access_role.as_str(), "owner" | "writer"),
                id: c.id,
                name: c.summary,
                primary: c.primary,
            })
            .collect())
    }

    /// `freeBusy`, at most 50 calendars a call; a calendar with `errors`
    /// in the answer is unknown.
    async fn busy(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        query: &BusyQuery<'_>,
    ) -> Result<Vec<CalendarBusy>, ProviderError> {
        const MAX_CALENDARS: usize = 50;
        let base = &http.endpoints(Provider::Google).api_base;
        let url = format!("{base}/calendar/v3/freeBusy");
        let mut found = Vec::with_capacity(query.calendars.len());
        for chunk in query.calendars.chunks(MAX_CALENDARS) {
            let body = serde_json::json!({
                "timeMin": utc_stamp(query.from),
                "timeMax": utc_stamp(query.to),
                "items": chunk.iter().map(|id| serde_json::json!({"id": id})).collect::<Vec<_>>(),
            });
            let answer: FreeBusy = decode(
                call(
                    http,
                    Provider::Google,
                    Method::POST,
                    &url,
                    token,
                    Some(&body),
                )
                .await?,
            )?;
            found.extend(chunk.iter().map(|id| CalendarBusy {
                calendar_id: id.clone(),
                busy: answer.calendars.get(id).and_then(free_busy_spans),
            }));
        }
        Ok(found)
    }

    async fn create_event(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        draft: &EventDraft<'_>,
    ) -> Result<CalendarEvent, ProviderError> {
        writes::create(http, token, draft).await
    }

    async fn get_event(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        calendar_id: &str,
        event_id: &str,
    ) -> Result<CalendarEvent, ProviderError> {
        writes::get(
            http,
            token,
            &EventRef {
                calendar_id,
                event_id,
            },
        )
        .await
    }

    async fn move_event(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        at: &EventRef<'_>,
        start: i64,
        end: i64,
        if_match: Option<&str>,
    ) -> Result<CalendarEvent, ProviderError> {
        writes::move_to(http, token, at, start, end, if_match).await
    }

    async fn update_event(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        at: &EventRef<'_>,
        draft: &EventDraft<'_>,
        if_match: Option<&str>,
    ) -> Result<CalendarEvent, ProviderError> {
        writes::update(http, token, at, draft, if_match).await
    }

    async fn delete_event(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        at: &EventRef<'_>,
        if_match: Option<&str>,
    ) -> Result<(), ProviderError> {
        writes::delete(http, token, at, if_match).await
    }
}

/// One calendar's entry of a `freeBusy` answer: its busy spans, or `None`
/// when it reports errors or a span cannot be read.
fn free_busy_spans(entry: &FreeBusyCalendar) -> Option<Vec<(i64, i64)>> {
    if !entry.errors.is_empty() {
        return None;
    }
    let instant = |text: Option<&str>| {
        chrono::DateTime::parse_from_rfc3339(text?)
            .ok()
            .map(|t| t.timestamp_millis())
    };
    entry
        .busy
        .iter()
        .map(|s| Some((instant(s.start.as_deref())?, instant(s.end.as_deref())?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::free_busy_spans;
    use super::wire::FreeBusyCalendar;
    use serde_json::json;

    fn entry(v: serde_json::Value) -> FreeBusyCalendar {
        serde_json::from_value(v).expect("a freeBusy entry")
    }

    #[test]
    fn a_calendar_with_errors_or_an_unreadable_span_is_unknown() {
        let read = entry(
            json!({"busy": [{"start": "2026-12-01T09:00:00Z", "end": "2026-12-01T10:00:00+00:00"}]}),
        );
        let spans = free_busy_spans(&read).unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].1 - spans[0].0, 3_600_000);
        assert_eq!(free_busy_spans(&entry(json!({"busy": []}))), Some(vec![]));
        assert_eq!(
            free_busy_spans(&entry(
                json!({"errors": [{"domain": "global", "reason": "notFound"}], "busy": []})
            )),
            None
        );
        assert_eq!(
            free_busy_spans(&entry(json!({"busy": [{"start": "soon"}]}))),
            None
        );
    }
}
