//! Who an access token belongs to, per provider (Calendly `users/me`,
//! Google `userinfo`, Graph `/me`), and revoking a grant.

use super::api::get_json;
pub use super::api::ProviderError;
use super::{Endpoints, ProviderHttp};
use crate::model::Provider;
use crate::server::crypto::SecretString;
use serde::Deserialize;

/// The provider account behind a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderAccount {
    /// Stable id webhooks route by: Calendly user URI, Google `sub`, Graph user id.
    pub id: String,
    pub email: String,
    pub name: String,
    /// Calendly organization URI.
    pub organization: Option<String>,
}

#[derive(Deserialize)]
struct CalendlyMe {
    resource: CalendlyUser,
}

#[derive(Deserialize)]
struct CalendlyUser {
    uri: String,
    email: String,
    name: String,
    current_organization: Option<String>,
}

#[derive(Deserialize)]
struct GoogleUserinfo {
    sub: String,
    email: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphMe {
    id: String,
    #[serde(default)]
    mail: Option<String>,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

pub async fn account(
    http: &ProviderHttp,
    provider: Provider,
    endpoints: &Endpoints,
    access_token: &SecretString,
) -> Result<ProviderAccount, ProviderError> {
    let base = &endpoints.api_base;
    Ok(match provider {
        Provider::Calendly => {
            let me: CalendlyMe =
                get_json(http, provider, &format!("{base}/users/me"), access_token).await?;
            ProviderAccount {
                id: me.resource.uri,
                email: me.resource.email.to_lowercase(),
                name: me.resource.name,
                organization: me.resource.current_organization,
            }
        }
        Provider::Google => {
            let info: GoogleUserinfo = get_json(
                http,
                provider,
                &format!("{base}/oauth2/v3/userinfo"),
                access_token,
            )
            .await?;
            ProviderAccount {
                name: info.name.unwrap_or_else(|| info.email.clone()),
                id: info.sub,
                email: info.email.to_lowercase(),
                organization: None,
            }
        }
        Provider::Microsoft => {
            let me: GraphMe = get_json(http, provider, &format!("{base}/me"), access_token).await?;
            let email = me
                .mail
                .or(me.user_principal_name)
                .unwrap_or_default()
                .to_lowercase();
            ProviderAccount {
                name: me.display_name.unwrap_or_else(|| email.clone()),
                id: me.id,
                email,
                organization: None,
            }
        }
    })
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
        .send(provider, |c| {
            let form = [("token", token.expose())];
            match provider {
                Provider::Calendly => c
                    .post(url)
                    .basic_auth(client_id, Some(client_secret.expose()))
                    .form(&form),
                _ => c.post(url).form(&form),
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
