//! One authenticated JSON call to a provider API, with the provider's own
//! error text kept for the user.

use super::ProviderHttp;
use crate::model::Provider;
use crate::server::crypto::SecretString;
use oauth2::reqwest::Method;
use serde_json::Value;

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
            ProviderError::Unauthorized(_) | ProviderError::UntrustedUrl(_) => false,
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
    let url = http.pin(provider, url)?;
    let resp = http
        .send(provider, |c| {
            let request = c
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose());
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
    let value = call(http, provider, Method::GET, url, token, None).await?;
    serde_json::from_value(value).map_err(|e| ProviderError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
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
