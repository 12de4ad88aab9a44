//! Graph subscriptions on the user's events, with lifecycle notifications;
//! renewed by PATCH before they expire.

use super::super::client::{call, decode, ProviderError};
use super::super::{
    ok_if_gone, path_segment, Created, HeldSubscription, ProviderHttp, Renewal, SubscribeRequest,
    Subscribed, SubscriptionApi,
};
use super::wire::Subscription;
use super::Microsoft;
use crate::model::{paths, Provider};
use crate::server::platform::vault::crypto::SecretString;
use oauth2::reqwest::Method;
use serde_json::json;

fn graph_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn graph_expiry(subscription: &Subscription) -> Option<i64> {
    subscription
        .expiration_date_time
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_millis())
}

/// Graph allows up to 10,080 minutes on events; 3 days leaves slack.
const TTL_MS: i64 = 3 * 24 * 3600 * 1000;

fn subscription_url(http: &ProviderHttp, id: &str) -> String {
    format!(
        "{}/subscriptions/{}",
        http.endpoints(Provider::Microsoft).api_base,
        path_segment(id)
    )
}

#[async_trait::async_trait]
impl SubscriptionApi for Microsoft {
    /// A subscription on the user's events with lifecycle notifications.
    /// Graph first calls both URLs with a `validationToken` that calbridge
    /// must echo.
    async fn subscribe(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        request: &SubscribeRequest<'_>,
    ) -> Result<Subscribed, ProviderError> {
        let body = json!({
            "changeType": "created,updated,deleted",
            "notificationUrl": request.webhook_url(paths::WEBHOOK_MICROSOFT),
            "lifecycleNotificationUrl": request.webhook_url(paths::WEBHOOK_MICROSOFT_LIFECYCLE),
            "resource": "me/events",
            "expirationDateTime": graph_time(request.now_ms + TTL_MS),
            "clientState": request.secret.expose(),
        });
        let url = format!(
            "{}/subscriptions",
            http.endpoints(Provider::Microsoft).api_base
        );
        let created: Subscription = decode(
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
        Ok(Subscribed::Created(Created {
            expires_at: graph_expiry(&created),
            external_id: created
                .id
                .ok_or_else(|| ProviderError::Decode("no subscription id".into()))?,
            resource_id: None,
        }))
    }

    /// Extends by PATCH; a 404 means Graph dropped it (expired or removed).
    async fn renew(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        held: &HeldSubscription<'_>,
        now_ms: i64,
    ) -> Result<Renewal, ProviderError> {
        let expiration = now_ms + TTL_MS;
        let body = json!({ "expirationDateTime": graph_time(expiration) });
        let url = subscription_url(http, held.external_id);
        match call(
            http,
            Provider::Microsoft,
            Method::PATCH,
            &url,
            token,
            Some(&body),
        )
        .await
        {
            Ok(answer) => Ok(Renewal::Extended {
                expires_at: Some(graph_expiry(&decode(answer)?).unwrap_or(expiration)),
            }),
            Err(ProviderError::Rejected { status: 404, .. }) => Ok(Renewal::Replace {
                old_still_open: false,
                reason: "removed by Microsoft; replaced",
            }),
            Err(e) => Err(e),
        }
    }

    async fn unsubscribe(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        held: &HeldSubscription<'_>,
    ) -> Result<(), ProviderError> {
        let url = subscription_url(http, held.external_id);
        ok_if_gone(call(http, Provider::Microsoft, Method::DELETE, &url, token, None).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_times_round_trip() {
        let ms = 1_800_000_000_123;
        let text = graph_time(ms);
        assert_eq!(text, "2027-01-15T08:00:00.123Z");
        let read = |v| serde_json::from_value::<Subscription>(v).expect("a subscription");
        assert_eq!(
            graph_expiry(&read(json!({ "expirationDateTime": text }))),
            Some(ms)
        );
        assert_eq!(graph_expiry(&read(json!({}))), None);
    }
}
