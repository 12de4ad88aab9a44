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
    pub leptos_options: LeptosOptions,
    /// The built-in provider sandbox, when enabled.
    pub sandbox: Option<crate::sandbox::Sandbox>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
