//! Everything a request handler may need, cloned cheaply per request.

use crate::server::auth::throttle::LoginThrottle;
use crate::server::config::Config;
use crate::server::db::Db;
use crate::server::vault::Vault;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub vault: Arc<Vault>,
    pub throttle: Arc<LoginThrottle>,
    /// Failed sign-ups per client address.
    pub signup_throttle: Arc<LoginThrottle>,
    pub leptos_options: LeptosOptions,
    /// The built-in provider sandbox, when enabled.
    pub sandbox: Option<crate::sandbox::Sandbox>,
    /// The client every provider call goes through.
    pub provider_http: crate::server::providers::ProviderHttp,
    /// Instance-wide OAuth apps: from the environment, or registered with
    /// the sandbox at start.
    pub instance_apps: Arc<Vec<crate::server::config::InstanceApp>>,
    pub tokens: Arc<crate::server::tokens::TokenManager>,
    pub jobs: Arc<crate::server::jobs::Queue>,
    pub clock: Arc<crate::server::clock::Clock>,
    pub live: Arc<crate::server::live::Live>,
    /// Where webhook receivers store deliveries (group commit).
    pub ingest: Arc<crate::server::webhooks::ingest::Ingest>,
    /// Calendly webhook routes with their signing keys, so a delivery needs
    /// no database read.
    pub calendly_routes: Arc<crate::server::webhooks::routes::CalendlyRoutes>,
}

impl AppState {
    /// The exact redirect URI to register at `provider`.
    pub fn redirect_uri(&self, provider: crate::model::Provider) -> String {
        self.config
            .public_link(&format!("/oauth/{}/callback", provider.as_str()))
    }

    /// Where a provider delivers change notifications for calbridge.
    pub fn webhook_url(&self, path: &str) -> String {
        self.config.public_link(&format!("/webhooks/{path}"))
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
