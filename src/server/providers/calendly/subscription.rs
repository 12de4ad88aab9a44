//! Calendly webhook subscriptions: user-scoped, one per connection, each with
//! its own signing key.

use super::super::client::{call, get_json, ProviderError};
use super::super::{ok_if_gone, Created, Endpoints, ProviderHttp};
use crate::model::Provider;
use crate::server::platform::vault::crypto::SecretString;
use oauth2::reqwest::Method;
use serde::Deserialize;
use serde_json::json;

/// Calendly events calbridge listens to.
pub const CALENDLY_EVENTS: [&str; 4] = [
    "invitee.created",
    "invitee.canceled",
    "invitee_no_show.created",
    "invitee_no_show.deleted",
];

pub struct Hook<'a> {
    pub callback_url: &'a str,
    pub organization: &'a str,
    pub user: &'a str,
    pub signing_key: &'a SecretString,
}

/// Creates a user-scoped subscription with its own signing key. A 403 is
/// Calendly's "your plan has no webhooks".
pub async fn create(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    hook: &Hook<'_>,
) -> Result<Created, ProviderError> {
    let body = json!({
        "url": hook.callback_url,
        "events": CALENDLY_EVENTS,
        "organization": hook.organization,
        "user": hook.user,
        "scope": "user",
        "signing_key": hook.signing_key.expose(),
    });
    let url = format!("{}/webhook_subscriptions", endpoints.api_base);
    let created = call(
        http,
        Provider::Calendly,
        Method::POST,
        &url,
        token,
        Some(&body),
    )
    .await?;
    let uri = created["resource"]["uri"]
        .as_str()
        .ok_or_else(|| ProviderError::Decode("no subscription uri".into()))?;
    Ok(Created {
        external_id: uri.to_owned(),
        resource_id: None,
        expires_at: None,
    })
}

#[derive(Deserialize)]
struct HookList {
    collection: Vec<HookEntry>,
}

#[derive(Deserialize)]
pub struct HookEntry {
    pub uri: String,
    pub callback_url: String,
    /// `active` or `disabled`.
    pub state: String,
}

/// The user's subscriptions (to find one left behind by an earlier attempt).
pub async fn list(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    organization: &str,
    user: &str,
) -> Result<Vec<HookEntry>, ProviderError> {
    let mut url = url::Url::parse(&format!("{}/webhook_subscriptions", endpoints.api_base))
        .map_err(|e| ProviderError::Decode(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("organization", organization)
        .append_pair("user", user)
        .append_pair("scope", "user")
        .append_pair("count", "100");
    let list: HookList = get_json(http, Provider::Calendly, url.as_str(), token).await?;
    Ok(list.collection)
}

/// `active` or `disabled` (Calendly disables a subscription after 24 h of
/// failed deliveries).
pub async fn state(
    http: &ProviderHttp,
    token: &SecretString,
    uri: &str,
) -> Result<String, ProviderError> {
    let v = call(http, Provider::Calendly, Method::GET, uri, token, None).await?;
    Ok(v["resource"]["state"]
        .as_str()
        .unwrap_or("active")
        .to_owned())
}

pub async fn delete(
    http: &ProviderHttp,
    token: &SecretString,
    uri: &str,
) -> Result<(), ProviderError> {
    ok_if_gone(call(http, Provider::Calendly, Method::DELETE, uri, token, None).await)
}
