//! The one HTTP client every provider call goes through (timeouts, retries
//! with backoff and jitter honouring the provider's hints, a metric per
//! provider and status, URLs pinned under the configured API base), and one
//! authenticated JSON call with the provider's own error text kept.

use super::{pin_under, Endpoints, ProviderEndpoints};
use crate::model::Provider;
use crate::server::platform::vault::crypto::SecretString;
use oauth2::reqwest::Method;
use rand::Rng;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider refused the token (HTTP {0})")]
    Unauthorized(u16),
    /// A definite answer other than success, in the provider's words.
    #[error("{message} (HTTP {status})")]
    Rejected { status: u16, message: String },
    #[error("the provider could not be reached: {0}")]
    Network(String),
    #[error("the provider's answer could not be read: {0}")]
    Decode(String),
    /// A URL from a payload or response that is not under the provider's
    /// configured API base; no request was made. The URL is kept for logs
    /// but not shown: the reason is the same whatever the attacker chose.
    #[error("untrusted URL")]
    UntrustedUrl(String),
    /// The change feed's cursor (sync token, delta link) is no longer
    /// accepted: read everything again.
    #[error("the provider no longer accepts the sync cursor")]
    CursorExpired,
    /// The account lacks something the call needs; asking again will not help.
    #[error("{0}")]
    AccountIncomplete(&'static str),
}

impl ProviderError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ProviderError::Unauthorized(s) | ProviderError::Rejected { status: s, .. } => Some(*s),
            _ => None,
        }
    }

    /// Worth trying again later: the provider was unreachable or overloaded.
    pub fn is_transient(&self) -> bool {
        match self {
            ProviderError::Network(_) | ProviderError::Decode(_) => true,
            ProviderError::Rejected { status, .. } => *status == 429 || *status >= 500,
            ProviderError::Unauthorized(_)
            | ProviderError::UntrustedUrl(_)
            | ProviderError::CursorExpired
            | ProviderError::AccountIncomplete(_) => false,
        }
    }
}

/// The error text inside a provider's error body: Calendly `message`,
/// Google and Graph `error.message`, OAuth `error_description`.
fn error_message(body: &Value) -> Option<String> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    body.get("message")
        .and_then(text)
        .or_else(|| {
            body.get("error")
                .and_then(|e| e.get("message"))
                .and_then(text)
        })
        .or_else(|| body.get("error_description").and_then(text))
        .or_else(|| body.get("title").and_then(text))
}

/// Sends `body` (if any) as JSON with the bearer token; success bodies come
/// back as JSON (`Null` when empty, e.g. 204).
pub async fn call(
    http: &ProviderHttp,
    provider: Provider,
    method: Method,
    url: &str,
    token: &SecretString,
    body: Option<&Value>,
) -> Result<Value, ProviderError> {
    call_if_match(http, provider, method, url, token, body, None).await
}

/// [`call`] that changes the resource only while it still has the etag
/// `if_match` (`If-Match`); a newer version answers 412.
pub async fn call_if_match(
    http: &ProviderHttp,
    provider: Provider,
    method: Method,
    url: &str,
    token: &SecretString,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> Result<Value, ProviderError> {
    let url = http.pin(provider, url)?;
    let resp = http
        .send(provider, Some(token), |c| {
            let mut request = c
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose());
            if let Some(etag) = if_match {
                request = request.header("If-Match", etag);
            }
            match body {
                Some(b) => request.json(b),
                None => request,
            }
        })
        .await
        .map_err(|e| ProviderError::Network(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| ProviderError::Network(e.without_url().to_string()))?;
    let parsed = if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(Value::Null)
    } else {
        serde_json::from_slice::<Value>(&bytes)
    };
    match status {
        200..=299 => parsed.map_err(|e| ProviderError::Decode(e.to_string())),
        401 => Err(ProviderError::Unauthorized(status)),
        _ => Err(ProviderError::Rejected {
            status,
            message: parsed
                .ok()
                .as_ref()
                .and_then(error_message)
                .unwrap_or_else(|| format!("HTTP {status}")),
        }),
    }
}

/// `GET` returning the decoded JSON.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    http: &ProviderHttp,
    provider: Provider,
    url: &str,
    token: &SecretString,
) -> Result<T, ProviderError> {
    decode(call(http, provider, Method::GET, url, token, None).await?)
}

/// A success body as the provider's wire type.
pub fn decode<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, ProviderError> {
    serde_json::from_value(body).map_err(|e| ProviderError::Decode(e.to_string()))
}

/// The one HTTP client every provider call uses. It knows where each
/// provider's API lives and sends a bearer token nowhere else.
#[derive(Clone)]
pub struct ProviderHttp {
    client: oauth2::reqwest::Client,
    endpoints: std::sync::Arc<ProviderEndpoints>,
    /// Each provider's API base, parsed once (every call is checked).
    api_bases: Vec<(Provider, url::Url)>,
    max_attempts: u32,
    base_delay: Duration,
    cooldowns: std::sync::Arc<Cooldowns>,
}

/// Until when each caller (a provider account, known by its token) holds
/// its calls after the provider said 429: one `Retry-After` shared by every
/// call in flight, so a burst of exports backs off together instead of
/// each finding the limit again (a 429 storm).
#[derive(Default)]
struct Cooldowns {
    /// SipHash keyed at random once: a caller's key says nothing of its
    /// token outside this process.
    hashing: std::collections::hash_map::RandomState,
    held: std::sync::Mutex<std::collections::HashMap<u64, tokio::time::Instant>>,
}

impl Cooldowns {
    fn key(&self, provider: Provider, token: &SecretString) -> u64 {
        use std::hash::BuildHasher;
        self.hashing.hash_one((provider.as_str(), token.expose()))
    }

    fn until(&self, key: u64) -> Option<tokio::time::Instant> {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(&key)
            .copied()
            .filter(|&t| t > tokio::time::Instant::now())
    }

    fn hold(&self, key: u64, delay: Duration) {
        let now = tokio::time::Instant::now();
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.retain(|_, until| *until > now);
        let until = held.entry(key).or_insert(now);
        *until = (*until).max(now + delay);
    }
}

/// How long the provider asked callers to wait: `Retry-After` seconds, or
/// Calendly's `X-RateLimit-Reset` (seconds until its window resets); at
/// most an hour.
fn reset_after(headers: &oauth2::http::HeaderMap) -> Option<Duration> {
    let header_secs = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    header_secs("retry-after")
        .or_else(|| header_secs("x-ratelimit-reset"))
        .map(|secs| Duration::from_secs(secs.min(3600)))
}

/// How long to wait before the next attempt, or `None` when the answer is final.
fn retry_delay(
    status: Option<u16>,
    headers: Option<&oauth2::http::HeaderMap>,
    attempt: u32,
    base: Duration,
) -> Option<Duration> {
    let retryable = match status {
        None => true,
        Some(s) => s == 429 || (500..=599).contains(&s),
    };
    if !retryable {
        return None;
    }
    if let Some(asked) = headers.and_then(reset_after) {
        return Some(asked.min(Duration::from_secs(30)));
    }
    let exp = base.saturating_mul(1 << attempt.min(8));
    let jitter = rand::thread_rng().gen_range(0..=exp.as_millis() as u64 / 2);
    Some(exp + Duration::from_millis(jitter))
}

impl ProviderHttp {
    pub fn new(endpoints: ProviderEndpoints) -> Self {
        ProviderHttp {
            client: oauth2::reqwest::Client::builder()
                // OAuth code exchanges must never follow redirects.
                .redirect(oauth2::reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(15))
                .build()
                .expect("static reqwest configuration is valid"),
            api_bases: Provider::ALL
                .into_iter()
                .filter_map(|p| Some((p, url::Url::parse(&endpoints.get(p).api_base).ok()?)))
                .collect(),
            endpoints: std::sync::Arc::new(endpoints),
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            cooldowns: std::sync::Arc::default(),
        }
    }

    /// Where `provider`'s OAuth server and API live.
    pub fn endpoints(&self, provider: Provider) -> &Endpoints {
        self.endpoints.get(provider)
    }

    pub fn client(&self) -> &oauth2::reqwest::Client {
        &self.client
    }

    /// `url` if it lies under `provider`'s API base; otherwise counts it and
    /// refuses, before any request is made.
    pub fn pin(&self, provider: Provider, url: &str) -> Result<url::Url, ProviderError> {
        let base = self.api_bases.iter().find(|(p, _)| *p == provider);
        let pinned = match base {
            Some((_, base)) => pin_under(base, url),
            None => Err(ProviderError::UntrustedUrl(url.chars().take(200).collect())),
        };
        pinned.inspect_err(|_| {
            metrics::counter!("provider_untrusted_urls_total", "provider" => provider.as_str())
                .increment(1);
            tracing::warn!(
                provider = provider.as_str(),
                "refused a URL outside the provider's API base"
            );
        })
    }

    /// Sends the request `build` makes, retrying transient failures. Calls
    /// made with a `token` wait out that caller's cool-down first.
    pub async fn send(
        &self,
        provider: Provider,
        token: Option<&SecretString>,
        build: impl Fn(&oauth2::reqwest::Client) -> oauth2::reqwest::RequestBuilder,
    ) -> Result<oauth2::reqwest::Response, oauth2::reqwest::Error> {
        let caller = token.map(|t| self.cooldowns.key(provider, t));
        let mut attempt = 0;
        loop {
            if let Some(until) = caller.and_then(|c| self.cooldowns.until(c)) {
                tokio::time::sleep_until(until).await;
            }
            let result = build(&self.client).send().await;
            let status = result.as_ref().ok().map(|r| r.status().as_u16());
            metrics::counter!(
                "provider_requests_total",
                "provider" => provider.as_str(),
                "status" => status.map(|s| s.to_string()).unwrap_or_else(|| "error".into())
            )
            .increment(1);
            attempt += 1;
            let delay = retry_delay(
                status,
                result.as_ref().ok().map(|r| r.headers()),
                attempt,
                self.base_delay,
            );
            if let (Some(caller), Some(429), Some(d)) = (caller, status, delay) {
                // The whole wait the provider asked for, even past what this
                // call sleeps before its own retry.
                let asked = result.as_ref().ok().and_then(|r| reset_after(r.headers()));
                self.cooldowns.hold(caller, asked.unwrap_or(d));
            }
            match delay {
                Some(d) if attempt < self.max_attempts => tokio::time::sleep(d).await,
                _ => return result,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hold_is_the_whole_wait_asked_while_one_retry_sleeps_at_most_30_s() {
        let mut h = oauth2::http::HeaderMap::new();
        h.insert("retry-after", "50".parse().unwrap());
        assert_eq!(reset_after(&h), Some(Duration::from_secs(50)));
        assert_eq!(
            retry_delay(Some(429), Some(&h), 1, Duration::from_millis(100)),
            Some(Duration::from_secs(30))
        );
        let mut calendly = oauth2::http::HeaderMap::new();
        calendly.insert("x-ratelimit-reset", "12".parse().unwrap());
        assert_eq!(reset_after(&calendly), Some(Duration::from_secs(12)));
        assert_eq!(reset_after(&oauth2::http::HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn a_429_holds_that_callers_calls_only_and_only_until_its_reset() {
        let cooldowns = Cooldowns::default();
        let alice = cooldowns.key(Provider::Google, &SecretString::new("alice-token"));
        let bob = cooldowns.key(Provider::Google, &SecretString::new("bob-token"));
        let alice_at_graph = cooldowns.key(Provider::Microsoft, &SecretString::new("alice-token"));
        assert_ne!(alice, bob);
        assert_ne!(alice, alice_at_graph);
        assert_eq!(cooldowns.until(alice), None);
        cooldowns.hold(alice, Duration::from_millis(300));
        cooldowns.hold(alice, Duration::from_millis(100));
        let left = cooldowns.until(alice).expect("held") - tokio::time::Instant::now();
        assert!(
            left > Duration::from_millis(150),
            "the later reset wins: {left:?}"
        );
        assert_eq!(cooldowns.until(bob), None);
        assert_eq!(cooldowns.until(alice_at_graph), None);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(cooldowns.until(alice), None, "free again after the reset");
    }

    #[test]
    fn retries_only_transient_failures_and_honours_provider_hints() {
        let base = Duration::from_millis(100);
        assert_eq!(retry_delay(Some(400), None, 1, base), None);
        assert_eq!(retry_delay(Some(401), None, 1, base), None);
        assert_eq!(retry_delay(Some(200), None, 1, base), None);
        let d = retry_delay(Some(503), None, 1, base).unwrap();
        assert!(
            d >= Duration::from_millis(200) && d <= Duration::from_millis(300),
            "{d:?}"
        );
        let later = retry_delay(None, None, 3, base).unwrap();
        assert!(
            later >= Duration::from_millis(800),
            "backoff grows: {later:?}"
        );
        let mut h = oauth2::http::HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(
            retry_delay(Some(429), Some(&h), 1, base),
            Some(Duration::from_secs(2))
        );
        let mut h = oauth2::http::HeaderMap::new();
        h.insert("x-ratelimit-reset", "7".parse().unwrap());
        assert_eq!(
            retry_delay(Some(429), Some(&h), 1, base),
            Some(Duration::from_secs(7))
        );
    }
    use serde_json::json;

    #[test]
    fn finds_each_providers_error_text() {
        assert_eq!(
            error_message(&json!({"title": "Permission Denied", "message": "Please upgrade"})),
            Some("Please upgrade".into())
        );
        assert_eq!(
            error_message(&json!({"error": {"code": 400, "message": "Invalid channel"}})),
            Some("Invalid channel".into())
        );
        assert_eq!(
            error_message(&json!({"error": "invalid_grant", "error_description": "expired"})),
            Some("expired".into())
        );
        assert_eq!(error_message(&json!({"nothing": 1})), None);
    }

    #[test]
    fn transient_errors_are_retried_later() {
        let rejected = |status| ProviderError::Rejected {
            status,
            message: String::new(),
        };
        assert!(rejected(503).is_transient());
        assert!(rejected(429).is_transient());
        assert!(!rejected(403).is_transient());
        assert!(!ProviderError::Unauthorized(401).is_transient());
        assert!(ProviderError::Network("reset".into()).is_transient());
    }
}
