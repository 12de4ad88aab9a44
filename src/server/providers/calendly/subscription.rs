//! Calendly webhook subscriptions: user-scoped, one per connection, each with
//! its own signing key.

use super::super::client::{call, decode, get_json, ProviderError};
use super::super::{
    ok_if_gone, Created, HeldSubscription, ProviderHttp, Renewal, SubscribeRequest, Subscribed,
    SubscriptionApi,
};
use super::wire::{Page, Resource, WebhookSubscription};
use super::Calendly;
use crate::model::{paths, Provider};
use crate::server::platform::vault::crypto::SecretString;
use oauth2::reqwest::Method;
use serde_json::json;

/// Calendly events calbridge listens to.
const CALENDLY_EVENTS: [&str; 4] = [
    "invitee.created",
    "invitee.canceled",
    "invitee_no_show.created",
    "invitee_no_show.deleted",
];

#[async_trait::async_trait]
impl SubscriptionApi for Calendly {
    /// A user-scoped subscription with its own signing key, delivered to the
    /// connection's own URL. A 403 is Calendly's "your plan has no
    /// webhooks"; a 409 means an earlier attempt created it but did not live
    /// to record it: that one is deleted and the subscription created again.
    async fn subscribe(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        request: &SubscribeRequest<'_>,
    ) -> Result<Subscribed, ProviderError> {
        let organization = request
            .organization
            .ok_or(ProviderError::AccountIncomplete(
                "the Calendly account has no organization",
            ))?;
        let callback_url =
            request.webhook_url(&paths::WEBHOOK_CALENDLY.to(request.connection_public_id));
        let body = json!({
            "url": callback_url,
            "events": CALENDLY_EVENTS,
            "organization": organization,
            "user": request.account_id,
            "scope": "user",
            "signing_key": request.secret.expose(),
        });
        let url = format!(
            "{}/webhook_subscriptions",
            http.endpoints(Provider::Calendly).api_base
        );
        let create = || {
            call(
                http,
                Provider::Calendly,
                Method::POST,
                &url,
                token,
                Some(&body),
            )
        };
        let created = match create().await {
            Err(ProviderError::Rejected { status: 403, .. }) => {
                return Ok(Subscribed::PushUnavailable)
            }
            Err(ProviderError::Rejected { status: 409, .. }) => {
                let leftovers = list(http, token, organization, request.account_id).await?;
                for leftover in leftovers.iter().filter(|h| h.callback_url == callback_url) {
                    delete(http, token, &leftover.uri).await?;
                }
                create().await?
            }
            other => other?,
        };
        let created: Resource<WebhookSubscription> = decode(created)?;
        Ok(Subscribed::Created(Created {
            external_id: created.resource.uri,
            resource_id: None,
            expires_at: None,
        }))
    }

    /// Calendly subscriptions do not expire, but Calendly disables one after
    /// a day of failed deliveries: a disabled one is deleted and replaced.
    async fn renew(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        held: &HeldSubscription<'_>,
        _now_ms: i64,
    ) -> Result<Renewal, ProviderError> {
        let uri = held.external_id;
        match call(http, Provider::Calendly, Method::GET, uri, token, None).await {
            Ok(answer) => {
                let held: Resource<WebhookSubscription> = decode(answer)?;
                if held.resource.state.as_deref().is_none_or(|s| s == "active") {
                    return Ok(Renewal::Extended { expires_at: None });
                }
                tracing::warn!("Calendly disabled a subscription; recreating it");
                delete(http, token, uri).await?;
                Ok(Renewal::Replace {
                    old_still_open: false,
                    reason: "disabled by Calendly; replaced",
                })
            }
            Err(ProviderError::Rejected { status: 404, .. }) => Ok(Renewal::Replace {
                old_still_open: false,
                reason: "removed at Calendly; replaced",
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
        delete(http, token, held.external_id).await
    }
}

/// The user's subscriptions (to find one left behind by an earlier attempt).
async fn list(
    http: &ProviderHttp,
    token: &SecretString,
    organization: &str,
    user: &str,
) -> Result<Vec<WebhookSubscription>, ProviderError> {
    let base = &http.endpoints(Provider::Calendly).api_base;
    let mut url = url::Url::parse(&format!("{base}/webhook_subscriptions"))
        .map_err(|e| ProviderError::Decode(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("organization", organization)
        .append_pair("user", user)
        .append_pair("scope", "user")
        .append_pair("count", "100");
    let list: Page<WebhookSubscription> =
        get_json(http, Provider::Calendly, url.as_str(), token).await?;
    Ok(list.collection)
}

async fn delete(http: &ProviderHttp, token: &SecretString, uri: &str) -> Result<(), ProviderError> {
    ok_if_gone(call(http, Provider::Calendly, Method::DELETE, uri, token, None).await)
}
