//! Where each provider's OAuth server and API live: the real services by
//! default, or base-URL overrides (the sandbox, a staging tenant).

use crate::model::Provider;

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
}
