//! Microsoft Graph (Outlook): calendars, delta queries on the calendar view
//! (the change feed), subscriptions with lifecycle notifications.

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

pub struct Microsoft;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphMe {
    id: String,
    #[serde(default)]
    mail: Option<String>,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct GraphCalendarList {
    value: Vec<GraphCalendar>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphCalendar {
    id: String,
    name: String,
    #[serde(default)]
    is_default_calendar: bool,
    #[serde(default)]
    can_edit: bool,
}

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
        let me: GraphMe = get_json(http, Provider::Microsoft, &format!("{base}/me"), token).await?;
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
        let list: GraphCalendarList = get_json(http, Provider::Microsoft, &url, token).await?;
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
}
