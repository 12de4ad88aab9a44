//! Google watch channels: one per busy calendar, at most 7 days each;
//! channels cannot be extended, so renewing opens a new channel and stops
//! the old one.

use super::super::client::{call, decode, ProviderError};
use super::super::{
    ok_if_gone, path_segment, Created, HeldSubscription, ProviderHttp, Renewal, SubscribeRequest,
    Subscribed, SubscriptionApi,
};
use super::wire::{Channel, Millis};
use super::Google;
use crate::model::{paths, Provider};
use crate::server::platform::vault::crypto::SecretString;
use oauth2::reqwest::Method;
use serde_json::json;

/// Google allows channels of up to 7 days.
const CHANNEL_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

#[async_trait::async_trait]
impl SubscriptionApi for Google {
    /// Opens a watch channel on a calendar's events; the channel id is
    /// calbridge's subscription id.
    async fn subscribe(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        request: &SubscribeRequest<'_>,
    ) -> Result<Subscribed, ProviderError> {
        let calendar_id = request.calendar_id.ok_or(ProviderError::AccountIncomplete(
            "a channel needs a calendar",
        ))?;
        let url = format!(
            "{}/calendar/v3/calendars/{}/events/watch",
            http.endpoints(Provider::Google).api_base,
            path_segment(calendar_id)
        );
        let channel_id = request.id.to_string();
        let body = json!({
            "id": channel_id,
            "type": "web_hook",
            "address": request.webhook_url(paths::WEBHOOK_GOOGLE),
            "token": request.secret.expose(),
            "expiration": (request.now_ms + CHANNEL_TTL_MS).to_string(),
        });
        let channel: Channel = decode(
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
        Ok(Subscribed::Created(Created {
            external_id: channel_id,
            expires_at: channel.expiration.as_ref().and_then(Millis::value),
            resource_id: channel.resource_id,
        }))
    }

    async fn renew(
        &self,
        _http: &ProviderHttp,
        _token: &SecretString,
        _held: &HeldSubscription<'_>,
        _now_ms: i64,
    ) -> Result<Renewal, ProviderError> {
        Ok(Renewal::Replace {
            old_still_open: true,
            reason: "replaced by a new channel",
        })
    }

    async fn unsubscribe(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        held: &HeldSubscription<'_>,
    ) -> Result<(), ProviderError> {
        let url = format!(
            "{}/calendar/v3/channels/stop",
            http.endpoints(Provider::Google).api_base
        );
        let body =
            json!({ "id": held.external_id, "resourceId": held.resource_id.unwrap_or_default() });
        ok_if_gone(
            call(
                http,
                Provider::Google,
                Method::POST,
                &url,
                token,
                Some(&body),
            )
            .await,
        )
    }
}
