//! Calendly: scheduled events and invitees (the change feed), user-scoped
//! webhook subscriptions signed with a per-subscription key.

pub mod events;
pub mod subscription;
pub mod webhook;
pub mod wire;

use super::client::{get_json, ProviderError, ProviderHttp};
use super::{ChangeFeed, ClientAuth, Coverage, ProviderAccount, ProviderApi, SubscriptionApi};
use crate::model::Provider;
use crate::server::platform::vault::crypto::SecretString;
use serde::Deserialize;

pub struct Calendly;

#[derive(Deserialize)]
struct CalendlyMe {
    resource: CalendlyUser,
}

#[derive(Deserialize)]
struct CalendlyUser {
    uri: String,
    email: String,
    name: String,
    current_organization: Option<String>,
}

#[async_trait::async_trait]
impl ProviderApi for Calendly {
    fn provider(&self) -> Provider {
        Provider::Calendly
    }

    /// Calendly grants its default scope; it takes no scope parameter.
    fn scopes(&self) -> &'static [&'static str] {
        &[]
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
        ClientAuth::Basic
    }

    fn deliveries_carry_changes(&self) -> bool {
        true
    }

    async fn account(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
    ) -> Result<ProviderAccount, ProviderError> {
        let base = &http.endpoints(Provider::Calendly).api_base;
        let me: CalendlyMe =
            get_json(http, Provider::Calendly, &format!("{base}/users/me"), token).await?;
        Ok(ProviderAccount {
            id: me.resource.uri,
            email: me.resource.email.to_lowercase(),
            name: me.resource.name,
            organization: me.resource.current_organization,
        })
    }
}
