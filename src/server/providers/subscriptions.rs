//! Provider-side change notifications and calendar lists: Calendly webhook
//! subscriptions, Google watch channels, Graph subscriptions.

use super::api::{call, get_json, ProviderError};
use super::{Endpoints, ProviderHttp};
use crate::model::Provider;
use crate::server::crypto::SecretString;
use oauth2::reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

/// Calendly events calbridge listens to.
pub const CALENDLY_EVENTS: [&str; 4] = [
    "invitee.created",
    "invitee.canceled",
    "invitee_no_show.created",
    "invitee_no_show.deleted",
];

/// A subscription as the provider reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    /// Calendly subscription URI, Google channel id or Graph subscription id.
    pub external_id: String,
    /// Google's `resourceId`, needed to stop the channel.
    pub resource_id: Option<String>,
    /// Unix ms; Calendly subscriptions do not expire.
    pub expires_at: Option<i64>,
}

/// One calendar of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderCalendar {
    pub id: String,
    pub name: String,
    pub primary: bool,
    pub writable: bool,
}

fn ok_if_gone(result: Result<Value, ProviderError>) -> Result<(), ProviderError> {
    match result {
        Ok(_) => Ok(()),
        // Already gone: what deleting wanted.
        Err(ProviderError::Rejected {
            status: 404 | 410, ..
        }) => Ok(()),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- Calendly

pub struct CalendlyHook<'a> {
    pub callback_url: &'a str,
    pub organization: &'a str,
    pub user: &'a str,
    pub signing_key: &'a SecretString,
}

/// Creates a user-scoped subscription with its own signing key. A 403 is
/// Calendly's "your plan has no webhooks".
pub async fn calendly_create(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    hook: &CalendlyHook<'_>,
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
struct CalendlyHookList {
    collection: Vec<CalendlyHookEntry>,
}

#[derive(Deserialize)]
pub struct CalendlyHookEntry {
    pub uri: String,
    pub callback_url: String,
    /// `active` or `disabled`.
    pub state: String,
}

/// The user's subscriptions (to find one left behind by an earlier attempt).
pub async fn calendly_list(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    organization: &str,
    user: &str,
) -> Result<Vec<CalendlyHookEntry>, ProviderError> {
    let mut url = url::Url::parse(&format!("{}/webhook_subscriptions", endpoints.api_base))
        .map_err(|e| ProviderError::Decode(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("organization", organization)
        .append_pair("user", user)
        .append_pair("scope", "user")
        .append_pair("count", "100");
    let list: CalendlyHookList = get_json(http, Provider::Calendly, url.as_str(), token).await?;
    Ok(list.collection)
}

/// `active` or `disabled` (Calendly disables a subscription after 24 h of
/// failed deliveries).
pub async fn calendly_state(
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

pub async fn calendly_delete(
    http: &ProviderHttp,
    token: &SecretString,
    uri: &str,
) -> Result<(), ProviderError> {
    ok_if_gone(call(http, Provider::Calendly, Method::DELETE, uri, token, None).await)
}

// ---------------------------------------------------------------- Google

fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
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

pub async fn google_calendars(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
) -> Result<Vec<ProviderCalendar>, ProviderError> {
    let url = format!("{}/calendar/v3/users/me/calendarList", endpoints.api_base);
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

pub struct GoogleWatch<'a> {
    pub calendar_id: &'a str,
    pub channel_id: &'a str,
    pub address: &'a str,
    pub channel_token: &'a SecretString,
    /// Unix ms.
    pub expiration: i64,
}

/// Opens a watch channel on a calendar's events.
pub async fn google_watch(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    watch: &GoogleWatch<'_>,
) -> Result<Created, ProviderError> {
    let url = format!(
        "{}/calendar/v3/calendars/{}/events/watch",
        endpoints.api_base,
        encode(watch.calendar_id)
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

pub async fn google_stop(
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

// ---------------------------------------------------------------- Microsoft

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

pub async fn graph_calendars(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
) -> Result<Vec<ProviderCalendar>, ProviderError> {
    let url = format!("{}/me/calendars", endpoints.api_base);
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

pub struct GraphSubscription<'a> {
    pub notification_url: &'a str,
    pub lifecycle_url: &'a str,
    pub client_state: &'a SecretString,
    /// Unix ms.
    pub expiration: i64,
}

/// Creates a subscription on the user's events. Graph first calls both URLs
/// with a `validationToken` that calbridge must echo.
pub async fn graph_create(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    sub: &GraphSubscription<'_>,
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
pub async fn graph_renew(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    id: &str,
    expiration: i64,
) -> Result<Option<i64>, ProviderError> {
    let url = format!("{}/subscriptions/{}", endpoints.api_base, encode(id));
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

pub async fn graph_delete(
    http: &ProviderHttp,
    endpoints: &Endpoints,
    token: &SecretString,
    id: &str,
) -> Result<(), ProviderError> {
    let url = format!("{}/subscriptions/{}", endpoints.api_base, encode(id));
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

    #[test]
    fn deleting_something_already_gone_succeeds() {
        let gone = |status| {
            Err(ProviderError::Rejected {
                status,
                message: String::new(),
            })
        };
        assert!(ok_if_gone(gone(404)).is_ok());
        assert!(ok_if_gone(gone(410)).is_ok());
        assert!(ok_if_gone(gone(500)).is_err());
    }
}
