//! Google Calendar: calendar lists, incremental event sync with sync tokens
//! (the change feed), watch channels per calendar.

pub mod events;
pub mod subscription;
pub mod webhook;

use super::client::{get_json, ProviderError, ProviderHttp};
use super::{
    CalendarApi, ChangeFeed, ClientAuth, Coverage, ProviderAccount, ProviderApi, ProviderCalendar,
    SubscriptionApi,
};
use crate::model::Provider;
use crate::server::platform::vault::crypto::SecretString;
use serde::Deserialize;

pub struct Google;

#[derive(Deserialize)]
struct GoogleUserinfo {
    sub: String,
    email: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct GoogleCalendarList {
    items: Vec<GoogleCalendarEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GoogleCalendarEntry {
    id: String,
    summary: String,
    #[serde(default)]
    primary: bool,
    access_role: String,
}

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
        let info: GoogleUserinfo = get_json(
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
        let list: GoogleCalendarList = get_json(http, Provider::Google, &url, token).await?;
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
}
