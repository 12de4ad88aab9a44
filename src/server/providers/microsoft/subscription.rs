//! Graph subscriptions on the user's events, with lifecycle notifications;
//! renewed by PATCH before they expire.

use super::super::client::{call, ProviderError};
use super::super::{ok_if_gone, path_segment, Created, Endpoints, ProviderHttp};
use crate::model::Provider;
use crate::server::platform::vault::crypto::SecretString;
use oauth2::reqwest::Method;
use serde_json::{json, Value};

fn graph_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn graph_expiry(v: &Value) -> Option<i64> {
    v["expirationDateTime"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_millis())
}

pub struct Subscription<'a> {
    pub notification_url: &'a str,
    pub lifecycle_url: &'a str,
    pub client_state: &'a SecretString,
    /// Unix ms.
    pub expiration: i64,
}

/// Creates a subscription on the user's events. Graph first calls both URLs
/// with a `validationToken` that calbridge must echo.
pub async fn create(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    sub: &Subscription<'_>,
) -> Result<Created, ProviderError> {
    let body = json!({
        "changeType": "created,updated,deleted",
        "notificationUrl": sub.notification_url,
        "lifecycleNotificationUrl": sub.lifecycle_url,
        "resource": "me/events",
        "expirationDateTime": graph_time(sub.expiration),
        "clientState": sub.client_state.expose(),
    });
    let url = format!("{}/subscriptions", endpoints.api_base);
    let v = call(
        http,
        Provider::Microsoft,
        Method::POST,
        &url,
        token,
        Some(&body),
    )
    .await?;
    Ok(Created {
        external_id: v["id"]
            .as_str()
            .ok_or_else(|| ProviderError::Decode("no subscription id".into()))?
            .to_owned(),
        resource_id: None,
        expires_at: graph_expiry(&v),
    })
}

/// Extends a subscription; a 404 means Graph dropped it (recreate).
pub async fn renew(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    id: &str,
    expiration: i64,
) -> Result<Option<i64>, ProviderError> {
    let url = format!("{}/subscriptions/{}", endpoints.api_base, path_segment(id));
    let body = json!({ "expirationDateTime": graph_time(expiration) });
    let v = call(
        http,
        Provider::Microsoft,
        Method::PATCH,
        &url,
        token,
        Some(&body),
    )
    .await?;
    Ok(graph_expiry(&v))
}

pub async fn delete(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    id: &str,
) -> Result<(), ProviderError> {
    let url = format!("{}/subscriptions/{}", endpoints.api_base, path_segment(id));
    ok_if_gone(call(http, Provider::Microsoft, Method::DELETE, &url, token, None).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_times_round_trip() {
        let ms = 1_800_000_000_123;
        let text = graph_time(ms);
        assert_eq!(text, "2027-01-15T08:00:00.123Z");
        assert_eq!(
            graph_expiry(&json!({ "expirationDateTime": text })),
            Some(ms)
        );
        assert_eq!(graph_expiry(&json!({})), None);
    }
}
