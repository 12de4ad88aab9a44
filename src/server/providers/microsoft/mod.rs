//! Microsoft Graph (Outlook): calendars, delta queries on the calendar view
//! (the change feed), subscriptions with lifecycle notifications.

pub mod events;
pub mod subscription;
pub mod webhook;
pub mod wire;
pub mod writes;

use super::client::{call, decode, get_json, ProviderError, ProviderHttp};
use super::{
    BusyQuery, CalendarApi, CalendarBusy, CalendarEvent, ChangeFeed, ClientAuth, Coverage,
    EventDraft, EventRef, ProviderAccount, ProviderApi, ProviderCalendar, SubscriptionApi,
};
use crate::model::Provider;
use crate::server::platform::vault::crypto::SecretString;
use oauth2::reqwest::Method;
use wire::{CalendarList, Me, Schedule, Schedules};

pub struct Microsoft;

#[async_trait::async_trait]
impl ProviderApi for Microsoft {
    fn provider(&self) -> Provider {
        Provider::Microsoft
    }

    fn scopes(&self) -> &'static [&'static str] {
        &["offline_access", "Calendars.ReadWrite", "User.Read"]
    }

    fn coverage(&self) -> Coverage {
        Coverage::Account
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

    async fn account(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
    ) -> Result<ProviderAccount, ProviderError> {
        let base = &http.endpoints(Provider::Microsoft).api_base;
        let me: Me = get_json(http, Provider::Microsoft, &format!("{base}/me"), token).await?;
        let email = me
            .mail
            .or(me.user_principal_name)
            .unwrap_or_default()
            .to_lowercase();
        Ok(ProviderAccount {
            name: me.display_name.unwrap_or_else(|| email.clone()),
            id: me.id,
            email,
            organization: None,
        })
    }

    fn calendars(&self) -> Option<&dyn CalendarApi> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl CalendarApi for Microsoft {
    async fn list_calendars(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
    ) -> Result<Vec<ProviderCalendar>, ProviderError> {
        let base = &http.endpoints(Provider::Microsoft).api_base;
        let url = format!("{base}/me/calendars");
        let list: CalendarList = get_json(http, Provider::Microsoft, &url, token).await?;
        Ok(list
            .value
            .into_iter()
            .map(|c| ProviderCalendar {
                id: c.id,
                name: c.name,
                primary: c.is_default_calendar,
                writable: c.can_edit,
            })
            .collect())
    }

    /// `getSchedule` of the account's mailbox (its default calendar, the
    /// one the change feed mirrors); an `error` in its entry is unknown.
    async fn busy(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        query: &BusyQuery<'_>,
    ) -> Result<Vec<CalendarBusy>, ProviderError> {
        let base = &http.endpoints(Provider::Microsoft).api_base;
        let url = format!("{base}/me/calendar/getSchedule");
        let body = serde_json::json!({
            "schedules": [query.mailbox],
            "startTime": writes::stamp(query.from),
            "endTime": writes::stamp(query.to),
            "availabilityViewInterval": 15,
        });
        let answer: Schedules = decode(
            call(
                http,
                Provider::Microsoft,
                Method::POST,
                &url,
                token,
                Some(&body),
            )
            .await?,
        )?;
        let spans = answer.value.first().and_then(schedule_spans);
        Ok(query
            .calendars
            .iter()
            .map(|id| CalendarBusy {
                calendar_id: id.clone(),
                busy: spans.clone(),
            })
            .collect())
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
        _calendar_id: &str,
        event_id: &str,
    ) -> Result<CalendarEvent, ProviderError> {
        writes::get(http, token, event_id).await
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

/// A `scheduleInformation`'s items that are not free, or `None` when it
/// carries an error or an item cannot be read.
fn schedule_spans(schedule: &Schedule) -> Option<Vec<(i64, i64)>> {
    if schedule.error.is_some() {
        return None;
    }
    schedule
        .schedule_items
        .iter()
        .flatten()
        .filter(|item| item.status.as_deref() != Some("free"))
        .map(|item| {
            Some((
                events::time(item.start.as_ref()?, false)?,
                events::time(item.end.as_ref()?, false)?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::schedule_spans;
    use super::wire::Schedule;
    use serde_json::json;

    fn schedule(v: serde_json::Value) -> Schedule {
        serde_json::from_value(v).expect("a scheduleInformation")
    }

    #[test]
    fn a_schedule_counts_what_is_not_free_and_an_error_is_unknown() {
        let item = |status: &str, from: &str, to: &str| {
            json!({"status": status,
                "start": {"dateTime": format!("2026-12-01T{from}:00.0000000"), "timeZone": "UTC"},
                "end": {"dateTime": format!("2026-12-01T{to}:00.0000000"), "timeZone": "UTC"}})
        };
        let read = schedule(json!({"scheduleId": "a@example.com", "scheduleItems": [
            item("busy", "09:00", "10:00"), item("free", "11:00", "12:00"),
            item("tentative", "13:00", "13:30"), item("oof", "15:00", "16:00")]}));
        let spans = schedule_spans(&read).unwrap();
        assert_eq!(spans.len(), 3);
        assert_eq!(spans[0].1 - spans[0].0, 3_600_000);
        assert_eq!(
            schedule_spans(&schedule(json!({"scheduleId": "a", "scheduleItems": []}))),
            Some(vec![])
        );
        assert_eq!(
            schedule_spans(&schedule(
                json!({"scheduleId": "a", "error": {"message": "no"}})
            )),
            None
        );
        assert_eq!(
            schedule_spans(&schedule(json!({"scheduleItems": [{"status": "busy"}]}))),
            None,
            "an item without its times is unreadable"
        );
    }
}
