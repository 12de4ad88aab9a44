//! Server side: configuration, storage, services and the HTTP layer.

pub mod accounts;
pub mod auth;
pub mod clock;
pub mod config;
pub mod connections;
pub mod crypto;
pub mod db;
pub mod error;
pub mod http;
pub mod jobs;
pub mod live;
pub mod meetings;
pub mod oauth_apps;
pub mod observability;
pub mod pg_notify;
pub mod providers;
pub mod state;
pub mod subscriptions;
pub mod tokens;
pub mod vault;
pub mod webhooks;

use crate::server::auth::throttle::LoginThrottle;
use crate::server::config::Config;
use crate::server::db::Db;
use crate::server::state::AppState;
use crate::server::vault::{Vault, VaultError};
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("DATABASE_URL: cannot open the database: {0}")]
    Database(db::DbError),
    #[error("migrations failed: {0}")]
    Migrate(db::DbError),
    #[error("CALBRIDGE_MASTER_KEY: {0}")]
    Vault(VaultError),
    #[error("CALBRIDGE_DATA_DIR: {0}")]
    KeyFile(crypto::CryptoError),
}

/// The master key from configuration, or in dev the one kept in the data dir
/// (configuration validation requires an explicit key in production).
pub fn master_key(config: &Config) -> Result<[u8; 32], StartError> {
    match &config.master_key {
        Some(key) => Ok(key.0),
        None => crypto::load_or_create_key_file(&config.data_dir.join("master.key"))
            .map_err(StartError::KeyFile),
    }
}

/// In sandbox mode calbridge registers its own OAuth app for each provider,
/// so a newcomer can connect calendars with no set-up.
fn sandbox_apps(config: &Config, sandbox: &crate::sandbox::Sandbox) -> Vec<config::InstanceApp> {
    crate::model::Provider::ALL
        .into_iter()
        .map(|provider| {
            let app = config::InstanceApp {
                provider,
                client_id: format!("calbridge-{}", provider.as_str()),
                client_secret: auth::random_token(),
            };
            sandbox.register_app(crate::sandbox::App {
                provider,
                client_id: app.client_id.clone(),
                client_secret: app.client_secret.clone(),
                redirect_uris: vec![
                    config.public_link(&format!("/oauth/{}/callback", provider.as_str()))
                ],
            });
            app
        })
        .collect()
}

/// Opens the database, applies migrations and loads the vault.
pub async fn build_state(
    config: Config,
    leptos_options: LeptosOptions,
) -> Result<AppState, StartError> {
    observability::metrics_handle();
    let db = Db::connect_with(&config.database_url, config.db_max_connections)
        .await
        .map_err(StartError::Database)?;
    db.migrate().await.map_err(StartError::Migrate)?;
    let vault = Vault::open(db.clone(), master_key(&config)?)
        .await
        .map_err(StartError::Vault)?;
    let sandbox = config.sandbox.then(|| {
        crate::sandbox::Sandbox::new(crate::sandbox::SandboxSettings {
            base_url: config.public_link("/sandbox"),
            seed: rand::random(),
            deliver_to: None,
            callback_origin: Some(config.public_origin()),
        })
    });
    let instance_apps = match &sandbox {
        Some(sandbox) => sandbox_apps(&config, sandbox),
        None => config.instance_apps.clone(),
    };
    let jobs: Arc<jobs::Queue> = Arc::default();
    Ok(AppState {
        sandbox,
        provider_http: providers::ProviderHttp::new(config.endpoints.clone()),
        tokens: Arc::default(),
        ingest: Arc::new(webhooks::ingest::Ingest::start(db.clone(), jobs.clone())),
        calendly_routes: Arc::default(),
        jobs,
        clock: Arc::default(),
        live: Arc::default(),
        instance_apps: Arc::new(instance_apps),
        config: Arc::new(config),
        db,
        vault: Arc::new(vault),
        throttle: Arc::new(LoginThrottle::default()),
        signup_throttle: Arc::new(LoginThrottle::new(
            10,
            std::time::Duration::from_secs(15 * 60),
        )),
        leptos_options,
    })
}
