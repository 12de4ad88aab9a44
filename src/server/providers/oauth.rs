//! The OAuth authorization-code flow with PKCE, refresh, revocation and a
//! credential check, shared by every provider through the `oauth2` crate;
//! each provider only says how its clients authenticate and what it asks
//! for (see [`super::ProviderApi`]).

use super::client::{ProviderError, ProviderHttp};
use super::{api, ClientAuth, Endpoints};
use crate::model::Provider;
use crate::server::platform::vault::crypto::SecretString;
use std::time::Duration;

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
            .set_auth_type(match api(provider).client_auth() {
                ClientAuth::Basic => AuthType::BasicAuth,
                ClientAuth::RequestBody => AuthType::RequestBody,
            }),
    )
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
        .add_scopes(
            api(provider)
                .scopes()
                .iter()
                .map(|s| Scope::new((*s).to_owned())),
        );
    for (name, value) in api(provider).authorize_params() {
        request = request.add_extra_param(*name, *value);
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

/// Revokes a grant where the provider supports it (Calendly, Google);
/// Microsoft has no revoke endpoint, so there is nothing to call.
pub async fn revoke(
    http: &ProviderHttp,
    provider: Provider,
    endpoints: &Endpoints,
    client_id: &str,
    client_secret: &SecretString,
    token: &SecretString,
) -> Result<(), ProviderError> {
    let Some(url) = &endpoints.revoke_url else {
        return Ok(());
    };
    let resp = http
        .send(provider, None, |c| {
            let form = [("token", token.expose())];
            match api(provider).client_auth() {
                ClientAuth::Basic => c
                    .post(url)
                    .basic_auth(client_id, Some(client_secret.expose()))
                    .form(&form),
                ClientAuth::RequestBody => c.post(url).form(&form),
            }
        })
        .await
        .map_err(|e| ProviderError::Network(e.without_url().to_string()))?;
    match resp.status().as_u16() {
        // Google answers 400 for a token that is already dead: the goal is met.
        200..=299 | 400 => Ok(()),
        status => Err(ProviderError::Rejected {
            status,
            message: format!("revoking failed (HTTP {status})"),
        }),
    }
}
