//! Provider wire formats and HTTP calls. Nothing here touches the database.
//! Every call goes through [`ProviderHttp`]: timeouts, retries with
//! exponential backoff and jitter on 429/5xx/timeouts (honouring
//! `Retry-After` and `X-RateLimit-Reset`), and a metric per provider and
//! status.

pub mod accounts;
pub mod api;
pub mod calendly;
pub mod google;
pub mod microsoft;
pub mod subscriptions;

use crate::model::{MeetingStatus, Provider};
use crate::server::crypto::SecretString;
use api::ProviderError;
use rand::Rng;
use std::time::Duration;

/// A meeting as the provider reports it now.
pub struct ProviderMeeting {
    pub provider: Provider,
    pub provider_event_id: String,
    pub title: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub time_zone: Option<String>,
    pub status: MeetingStatus,
    pub invitee_name: Option<String>,
    pub invitee_email: Option<String>,
    pub attendees: Vec<String>,
    pub location: Option<String>,
    pub join_url: Option<String>,
    pub cancel_url: Option<String>,
    pub reschedule_url: Option<String>,
    pub rescheduled_to: Option<String>,
    pub provider_updated_at: Option<i64>,
}

impl ProviderMeeting {
    /// Drops every link that may not become an `href` (see [`safe_link`]).
    pub fn keep_safe_links(&mut self, local_origin: Option<&str>) {
        for link in [
            &mut self.join_url,
            &mut self.cancel_url,
            &mut self.reschedule_url,
        ] {
            *link = link.take().and_then(|l| safe_link(&l, local_origin));
        }
    }
}

/// Where one provider's OAuth server and API live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    pub api_base: String,
}

/// Endpoints of all three providers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderEndpoints {
    pub calendly: Endpoints,
    pub google: Endpoints,
    pub microsoft: Endpoints,
}

impl ProviderEndpoints {
    pub fn get(&self, provider: Provider) -> &Endpoints {
        match provider {
            Provider::Calendly => &self.calendly,
            Provider::Google => &self.google,
            Provider::Microsoft => &self.microsoft,
        }
    }

    /// `auth` and `api` are base-URL overrides per provider (the sandbox
    /// passes its own); `None` means the real service.
    pub fn resolve(overrides: &BaseUrls) -> ProviderEndpoints {
        let trim = |s: &str| s.trim_end_matches('/').to_owned();
        let calendly_auth = overrides
            .calendly_auth
            .as_deref()
            .map(trim)
            .unwrap_or_else(|| "https://auth.calendly.com".into());
        let google = match overrides.google_auth.as_deref().map(trim) {
            // An override uses the sandbox's single-host layout.
            Some(base) => (
                format!("{base}/auth"),
                format!("{base}/token"),
                format!("{base}/revoke"),
            ),
            None => (
                "https://accounts.google.com/o/oauth2/v2/auth".into(),
                "https://oauth2.googleapis.com/token".into(),
                "https://oauth2.googleapis.com/revoke".into(),
            ),
        };
        let microsoft_auth = overrides
            .microsoft_auth
            .as_deref()
            .map(trim)
            .unwrap_or_else(|| "https://login.microsoftonline.com/common/oauth2/v2.0".into());
        ProviderEndpoints {
            calendly: Endpoints {
                authorize_url: format!("{calendly_auth}/oauth/authorize"),
                token_url: format!("{calendly_auth}/oauth/token"),
                revoke_url: Some(format!("{calendly_auth}/oauth/revoke")),
                api_base: overrides
                    .calendly_api
                    .as_deref()
                    .map(trim)
                    .unwrap_or_else(|| "https://api.calendly.com".into()),
            },
            google: Endpoints {
                authorize_url: google.0,
                token_url: google.1,
                revoke_url: Some(google.2),
                api_base: overrides
                    .google_api
                    .as_deref()
                    .map(trim)
                    .unwrap_or_else(|| "https://www.googleapis.com".into()),
            },
            microsoft: Endpoints {
                authorize_url: format!("{microsoft_auth}/authorize"),
                token_url: format!("{microsoft_auth}/token"),
                revoke_url: None,
                api_base: overrides
                    .microsoft_api
                    .as_deref()
                    .map(trim)
                    .unwrap_or_else(|| "https://graph.microsoft.com/v1.0".into()),
            },
        }
    }

    /// Every endpoint under the sandbox mounted at `sandbox_base`.
    pub fn sandbox(sandbox_base: &str) -> ProviderEndpoints {
        let b = sandbox_base.trim_end_matches('/');
        Self::resolve(&BaseUrls {
            calendly_auth: Some(format!("{b}/calendly-auth")),
            calendly_api: Some(format!("{b}/calendly")),
            google_auth: Some(format!("{b}/google-oauth")),
            google_api: Some(format!("{b}/google")),
            microsoft_auth: Some(format!("{b}/microsoft-login/common/oauth2/v2.0")),
            microsoft_api: Some(format!("{b}/graph/v1.0")),
        })
    }

    /// True when any endpoint starts with `prefix` (e.g. the sandbox URL).
    pub fn any_under(&self, prefix: &str) -> bool {
        [&self.calendly, &self.google, &self.microsoft]
            .iter()
            .any(|e| {
                [
                    Some(&e.authorize_url),
                    Some(&e.token_url),
                    e.revoke_url.as_ref(),
                    Some(&e.api_base),
                ]
                .into_iter()
                .flatten()
                .any(|u| u.starts_with(prefix))
            })
    }
}

/// Base-URL overrides from the environment (`*_BASE_URL`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BaseUrls {
    pub calendly_auth: Option<String>,
    pub calendly_api: Option<String>,
    pub google_auth: Option<String>,
    pub google_api: Option<String>,
    pub microsoft_auth: Option<String>,
    pub microsoft_api: Option<String>,
}

/// Checks that `candidate` lies under `api_base`: same scheme, host and port,
/// and a path inside the base's path. The check runs on the parsed,
/// normalised URL, so dot segments (also percent-encoded ones) cannot climb
/// out of the prefix; URLs carrying credentials are refused too.
pub fn pin_under(base: &url::Url, candidate: &str) -> Result<url::Url, ProviderError> {
    let untrusted = || ProviderError::UntrustedUrl(candidate.chars().take(200).collect());
    let url = url::Url::parse(candidate).map_err(|_| untrusted())?;
    let prefix = base.path().trim_end_matches('/');
    let path = url.path();
    let inside = path == prefix || path.starts_with(&format!("{prefix}/"));
    let same_origin = url.scheme() == base.scheme()
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default();
    if same_origin && inside && url.username().is_empty() && url.password().is_none() {
        Ok(url)
    } else {
        Err(untrusted())
    }
}

/// Whether a link from provider data may become an `href`: `https:` always,
/// `http:` only on `local_origin` (the sandbox's own, in dev). Everything
/// else (`javascript:`, `data:`, plain text) is dropped.
pub fn safe_link(link: &str, local_origin: Option<&str>) -> Option<String> {
    let url = url::Url::parse(link.trim()).ok()?;
    let allowed = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => local_origin.is_some_and(|o| url.origin().ascii_serialization() == o),
        _ => false,
    };
    allowed.then(|| url.to_string())
}

/// The one HTTP client every provider call uses. It knows where each
/// provider's API lives and sends a bearer token nowhere else.
#[derive(Clone)]
pub struct ProviderHttp {
    client: oauth2::reqwest::Client,
    /// Each provider's API base, parsed once (every call is checked).
    api_bases: Vec<(Provider, url::Url)>,
    max_attempts: u32,
    base_delay: Duration,
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
    let header_secs = |name: &str| {
        headers
            .and_then(|h| h.get(name))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    // X-RateLimit-Reset is seconds until the window resets (Calendly).
    if let Some(secs) = header_secs("retry-after").or_else(|| header_secs("x-ratelimit-reset")) {
        return Some(Duration::from_secs(secs.min(30)));
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
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
        }
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

    /// Sends the request `build` makes, retrying transient failures.
    pub async fn send(
        &self,
        provider: Provider,
        build: impl Fn(&oauth2::reqwest::Client) -> oauth2::reqwest::RequestBuilder,
    ) -> Result<oauth2::reqwest::Response, oauth2::reqwest::Error> {
        let mut attempt = 0;
        loop {
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
            match delay {
                Some(d) if attempt < self.max_attempts => tokio::time::sleep(d).await,
                _ => return result,
            }
        }
    }
}

/// What a provider's token endpoint said about a client id and secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialCheck {
    /// The client authenticated (the deliberately bogus code was refused).
    Accepted,
    /// The provider refused the client; its own words.
    Rejected(String),
    /// The provider could not be reached or answered nonsense.
    Unreachable(String),
}

type ConfiguredClient = oauth2::basic::BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// An OAuth client that authenticates as each provider expects.
fn oauth_client(
    provider: Provider,
    endpoints: &Endpoints,
    client_id: &str,
    client_secret: &SecretString,
    redirect_uri: &str,
) -> Result<ConfiguredClient, String> {
    use oauth2::{AuthType, AuthUrl, ClientId, ClientSecret, RedirectUrl, TokenUrl};
    let auth = AuthUrl::new(endpoints.authorize_url.clone()).map_err(|e| e.to_string())?;
    let token = TokenUrl::new(endpoints.token_url.clone()).map_err(|e| e.to_string())?;
    let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| e.to_string())?;
    Ok(
        oauth2::basic::BasicClient::new(ClientId::new(client_id.to_owned()))
            .set_client_secret(ClientSecret::new(client_secret.expose().to_owned()))
            .set_auth_uri(auth)
            .set_token_uri(token)
            .set_redirect_uri(redirect)
            .set_auth_type(match provider {
                // Calendly authenticates clients with HTTP Basic, the others with form fields.
                Provider::Calendly => AuthType::BasicAuth,
                Provider::Google | Provider::Microsoft => AuthType::RequestBody,
            }),
    )
}

/// Scopes calbridge asks each provider for.
pub fn scopes(provider: Provider) -> &'static [&'static str] {
    match provider {
        // Calendly grants its default scope; it takes no scope parameter.
        Provider::Calendly => &[],
        Provider::Google => &[
            "openid",
            "email",
            "profile",
            "https://www.googleapis.com/auth/calendar.events",
            "https://www.googleapis.com/auth/calendar.readonly",
        ],
        Provider::Microsoft => &["offline_access", "Calendars.ReadWrite", "User.Read"],
    }
}

/// The provider's authorize URL for `state`, and the PKCE verifier to keep.
pub fn authorize_url(
    provider: Provider,
    endpoints: &Endpoints,
    client_id: &str,
    client_secret: &SecretString,
    redirect_uri: &str,
    state: &str,
) -> Result<(String, SecretString), String> {
    use oauth2::{CsrfToken, PkceCodeChallenge, Scope};
    let client = oauth_client(provider, endpoints, client_id, client_secret, redirect_uri)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = state.to_owned();
    let mut request = client
        .authorize_url(move || CsrfToken::new(state))
        .set_pkce_challenge(challenge)
        .add_scopes(scopes(provider).iter().map(|s| Scope::new((*s).to_owned())));
    if provider == Provider::Google {
        // A refresh token comes only with offline access and fresh consent.
        request = request
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent");
    }
    let (url, _) = request.url();
    Ok((
        url.to_string(),
        SecretString::new(verifier.secret().clone()),
    ))
}

/// Tokens from a code exchange or refresh.
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in: Option<Duration>,
}

impl From<&oauth2::basic::BasicTokenResponse> for TokenSet {
    fn from(tokens: &oauth2::basic::BasicTokenResponse) -> Self {
        use oauth2::TokenResponse;
        TokenSet {
            access_token: SecretString::new(tokens.access_token().secret().clone()),
            refresh_token: tokens
                .refresh_token()
                .map(|t| SecretString::new(t.secret().clone())),
            expires_in: tokens.expires_in(),
        }
    }
}

/// Exchanges an authorization code (with its PKCE verifier) for tokens.
#[allow(clippy::too_many_arguments)]
pub async fn exchange_code(
    http: &ProviderHttp,
    provider: Provider,
    endpoints: &Endpoints,
    client_id: &str,
    client_secret: &SecretString,
    redirect_uri: &str,
    code: &str,
    verifier: &SecretString,
) -> Result<TokenSet, String> {
    use oauth2::{AuthorizationCode, PkceCodeVerifier, RequestTokenError};
    let client = oauth_client(provider, endpoints, client_id, client_secret, redirect_uri)?;
    let result = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()))
        .request_async(http.client())
        .await;
    metrics::counter!("provider_token_exchanges_total", "provider" => provider.as_str(), "ok" => result.is_ok().to_string())
        .increment(1);
    match result {
        Ok(tokens) => Ok(TokenSet::from(&tokens)),
        Err(RequestTokenError::ServerResponse(resp)) => Err(match resp.error_description() {
            Some(d) => format!("{}: {d}", resp.error().as_ref()),
            None => resp.error().as_ref().to_owned(),
        }),
        Err(RequestTokenError::Request(e)) => {
            Err(format!("the token endpoint could not be reached ({e})"))
        }
        Err(RequestTokenError::Parse(_, _)) => {
            Err("the token endpoint answered something unreadable".into())
        }
        Err(RequestTokenError::Other(e)) => Err(e),
    }
}

/// Why a refresh failed.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshError {
    /// The refresh token is dead (used, revoked, expired): only a new consent helps.
    InvalidGrant(String),
    /// Anything else (network, 5xx, unreadable answer): worth retrying later.
    Other(String),
}

/// Trades a refresh token for new tokens. Calendly and Microsoft rotate the
/// refresh token; Google returns none, and the old one stays valid.
pub async fn refresh_token(
    http: &ProviderHttp,
    provider: Provider,
    endpoints: &Endpoints,
    client_id: &str,
    client_secret: &SecretString,
    redirect_uri: &str,
    refresh: &SecretString,
) -> Result<TokenSet, RefreshError> {
    use oauth2::basic::BasicErrorResponseType as E;
    use oauth2::{RefreshToken, RequestTokenError};
    let client = oauth_client(provider, endpoints, client_id, client_secret, redirect_uri)
        .map_err(RefreshError::Other)?;
    let result = client
        .exchange_refresh_token(&RefreshToken::new(refresh.expose().to_owned()))
        .request_async(http.client())
        .await;
    metrics::counter!("provider_token_refreshes_total", "provider" => provider.as_str(), "ok" => result.is_ok().to_string())
        .increment(1);
    match result {
        Ok(tokens) => Ok(TokenSet::from(&tokens)),
        Err(RequestTokenError::ServerResponse(resp)) if *resp.error() == E::InvalidGrant => {
            Err(RefreshError::InvalidGrant(
                resp.error_description()
                    .cloned()
                    .unwrap_or_else(|| "invalid_grant".into()),
            ))
        }
        Err(RequestTokenError::ServerResponse(resp)) => {
            Err(RefreshError::Other(resp.error().as_ref().to_owned()))
        }
        Err(RequestTokenError::Request(e)) => Err(RefreshError::Other(format!(
            "token endpoint unreachable ({e})"
        ))),
        Err(RequestTokenError::Parse(_, _)) => {
            Err(RefreshError::Other("unreadable token response".into()))
        }
        Err(RequestTokenError::Other(e)) => Err(RefreshError::Other(e)),
    }
}

/// Checks client credentials against the token endpoint with a code that
/// cannot be valid: `invalid_grant` proves the client authenticated,
/// `invalid_client` that it did not.
pub async fn check_credentials(
    http: &ProviderHttp,
    provider: Provider,
    endpoints: &Endpoints,
    client_id: &str,
    client_secret: &SecretString,
    redirect_uri: &str,
) -> CredentialCheck {
    use oauth2::basic::BasicErrorResponseType as E;
    use oauth2::{AuthorizationCode, RequestTokenError};
    let client = match oauth_client(provider, endpoints, client_id, client_secret, redirect_uri) {
        Ok(c) => c,
        Err(e) => return CredentialCheck::Unreachable(format!("a provider URL is not valid: {e}")),
    };
    let result = client
        .exchange_code(AuthorizationCode::new("calbridge-credential-check".into()))
        .request_async(http.client())
        .await;
    metrics::counter!("provider_credential_checks_total", "provider" => provider.as_str())
        .increment(1);
    match result {
        Ok(_) => CredentialCheck::Accepted,
        Err(RequestTokenError::ServerResponse(resp)) => match resp.error() {
            E::InvalidGrant => CredentialCheck::Accepted,
            other => CredentialCheck::Rejected(match resp.error_description() {
                Some(d) => format!("{}: {d}", other.as_ref()),
                None => other.as_ref().to_owned(),
            }),
        },
        Err(RequestTokenError::Request(e)) => CredentialCheck::Unreachable(format!("{e}")),
        Err(RequestTokenError::Parse(_, body)) => CredentialCheck::Unreachable(format!(
            "unexpected answer from the token endpoint ({} bytes)",
            body.len()
        )),
        Err(RequestTokenError::Other(e)) => CredentialCheck::Unreachable(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_endpoints_by_default_and_sandbox_layout_when_overridden() {
        let real = ProviderEndpoints::resolve(&BaseUrls::default());
        assert_eq!(
            real.calendly.token_url,
            "https://auth.calendly.com/oauth/token"
        );
        assert_eq!(
            real.google.authorize_url,
            "https://accounts.google.com/o/oauth2/v2/auth"
        );
        assert_eq!(real.google.token_url, "https://oauth2.googleapis.com/token");
        assert_eq!(
            real.microsoft.token_url,
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        assert_eq!(real.microsoft.api_base, "https://graph.microsoft.com/v1.0");
        assert!(!real.any_under("http://127.0.0.1:3000/sandbox"));

        let sb = ProviderEndpoints::sandbox("http://127.0.0.1:3000/sandbox/");
        assert_eq!(
            sb.calendly.authorize_url,
            "http://127.0.0.1:3000/sandbox/calendly-auth/oauth/authorize"
        );
        assert_eq!(
            sb.calendly.api_base,
            "http://127.0.0.1:3000/sandbox/calendly"
        );
        assert_eq!(
            sb.google.token_url,
            "http://127.0.0.1:3000/sandbox/google-oauth/token"
        );
        assert_eq!(sb.google.api_base, "http://127.0.0.1:3000/sandbox/google");
        assert_eq!(
            sb.microsoft.authorize_url,
            "http://127.0.0.1:3000/sandbox/microsoft-login/common/oauth2/v2.0/authorize"
        );
        assert_eq!(
            sb.microsoft.api_base,
            "http://127.0.0.1:3000/sandbox/graph/v1.0"
        );
        assert!(sb.any_under("http://127.0.0.1:3000/sandbox"));
    }

    fn pin(base: &str, candidate: &str) -> Result<url::Url, ProviderError> {
        pin_under(&url::Url::parse(base).unwrap(), candidate)
    }

    #[test]
    fn only_urls_under_the_api_base_are_followed() {
        let base = "https://api.calendly.com";
        let ok = [
            "https://api.calendly.com/scheduled_events/E/invitees/I",
            "https://api.calendly.com:443/users/me",
            "https://API.calendly.com/x?page_token=abc",
        ];
        for url in ok {
            assert!(pin(base, url).is_ok(), "{url}");
        }
        let graph = "https://graph.microsoft.com/v1.0";
        assert!(pin(
            graph,
            "https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=x"
        )
        .is_ok());
        let refused = [
            (base, "http://api.calendly.com/users/me"),
            (base, "https://api.calendly.com.evil.test/users/me"),
            (base, "https://evil.test/api.calendly.com/users/me"),
            (base, "https://api.calendly.com:8443/users/me"),
            (base, "https://user:pw@api.calendly.com/users/me"),
            (base, "//evil.test/x"),
            (base, "/users/me"),
            (base, "javascript:alert(1)"),
            (base, ""),
            (graph, "https://graph.microsoft.com/beta/me"),
            (graph, "https://graph.microsoft.com/v1.0/../beta/me"),
            (graph, "https://graph.microsoft.com/v1.0/%2e%2e/beta/me"),
            (graph, "https://graph.microsoft.com/v1.00/me"),
            (graph, "https://graph.microsoft.com"),
            (
                "http://127.0.0.1:3000/sandbox/calendly",
                "http://127.0.0.1:3001/sandbox/calendly/x",
            ),
            (
                "http://127.0.0.1:3000/sandbox/calendly",
                "http://127.0.0.1:3000/sandbox/google/x",
            ),
            (
                "http://127.0.0.1:3000/sandbox/calendly",
                "http://localhost:3000/sandbox/calendly/x",
            ),
        ];
        for (base, url) in refused {
            assert!(
                matches!(pin(base, url), Err(ProviderError::UntrustedUrl(_))),
                "{url} under {base}"
            );
        }
    }

    #[test]
    fn only_https_links_or_the_sandbox_origin_become_links() {
        let local = Some("http://127.0.0.1:3000");
        assert_eq!(
            safe_link("https://meet.google.com/abc-defg-hij", None).as_deref(),
            Some("https://meet.google.com/abc-defg-hij")
        );
        assert!(safe_link("http://127.0.0.1:3000/sandbox/meet/x", local).is_some());
        for bad in [
            "javascript:alert(1)",
            " javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
            "http://meet.example.com/x",
            "http://127.0.0.1:3001/x",
            "Room 4",
            "//evil.test/x",
            "",
        ] {
            assert_eq!(safe_link(bad, local), None, "{bad}");
        }
        assert_eq!(safe_link("http://127.0.0.1:3000/x", None), None);
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
}
