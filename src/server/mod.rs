//! Server side: configuration, storage, services and the HTTP layer.

pub mod accounts;
pub mod auth;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod http;
pub mod observability;
pub mod state;
pub mod vault;

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

/// Opens the database, applies migrations and loads the vault.
pub async fn build_state(
    config: Config,
    leptos_options: LeptosOptions,
) -> Result<AppState, StartError> {
    observability::metrics_handle();
    let db = Db::connect(&config.database_url)
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
        })
    });
    Ok(AppState {
        sandbox,
        config: Arc::new(config),
        db,
        vault: Arc::new(vault),
        throttle: Arc::new(LoginThrottle::default()),
        leptos_options,
    })
}
