//! Google watch channels: one per busy calendar, at most 7 days each;
//! "renewing" opens a new channel and stops the old one.

use super::super::client::{call, ProviderError};
use super::super::{ok_if_gone, path_segment, Created, Endpoints, ProviderHttp};
use crate::model::Provider;
use crate::server::platform::vault::crypto::SecretString;
use oauth2::reqwest::Method;
use serde_json::json;

pub struct Watch<'a> {
    pub calendar_id: &'a str,
    pub channel_id: &'a str,
    pub address: &'a str,
    pub channel_token: &'a SecretString,
    /// Unix ms.
    pub expiration: i64,
}

/// Opens a watch channel on a calendar's events.
pub async fn watch(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    watch: &Watch<'_>,
) -> Result<Created, ProviderError> {
    let url = format!(
        "{}/calendar/v3/calendars/{}/events/watch",
        endpoints.api_base,
        path_segment(watch.calendar_id)
    );
    let body = json!({
        "id": watch.channel_id,
        "type": "web_hook",
        "address": watch.address,
        "token": watch.channel_token.expose(),
        "expiration": watch.expiration.to_string(),
    });
    let v = call(
        http,
        Provider::Google,
        Method::POST,
        &url,
        token,
        Some(&body),
    )
    .await?;
    let expires_at = v["expiration"]
        .as_str()
        .and_then(|e| e.parse().ok())
        .or_else(|| v["expiration"].as_i64());
    Ok(Created {
        external_id: watch.channel_id.to_owned(),
        resource_id: v["resourceId"].as_str().map(str::to_owned),
        expires_at,
    })
}

pub async fn stop(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    channel_id: &str,
    resource_id: &str,
) -> Result<(), ProviderError> {
    let url = format!("{}/calendar/v3/channels/stop", endpoints.api_base);
    let body = json!({ "id": channel_id, "resourceId": resource_id });
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
