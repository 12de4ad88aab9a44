//! Calendar connections and the team's OAuth apps: the reads; the form
//! posts are in `forms`.

use crate::model::ApiError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
pub mod forms;

/// OAuth apps per provider for the caller's tenant (admins only).
#[server(endpoint = "oauth_apps", input = GetUrl)]
pub async fn get_oauth_apps() -> Result<Vec<crate::model::OAuthAppView>, ApiError> {
    let admin = super::context::require_admin().await?;
    let state = super::context::state();
    Ok(crate::server::connections::oauth_apps::list(&state.apps, &admin).await?)
}

/// The caller's calendar connections.
#[server(endpoint = "connections", input = GetUrl)]
pub async fn get_connections() -> Result<Vec<crate::model::ConnectionView>, ApiError> {
    let caller = super::context::require_caller().await?;
    let state = super::context::state();
    Ok(crate::server::connections::list(&state.connections, &caller).await?)
}

/// Every connection in the admin's tenant, optionally filtered.
#[server(endpoint = "tenant_connections", input = GetUrl)]
pub async fn get_tenant_connections(
    provider: Option<String>,
    state: Option<String>,
) -> Result<Vec<crate::model::TenantConnectionView>, ApiError> {
    let admin = super::context::require_admin().await?;
    let app = super::context::state();
    let provider = provider
        .filter(|p| !p.is_empty())
        .map(|p| p.parse())
        .transpose()
        .map_err(ApiError::Invalid)?;
    let connection_state = state
        .filter(|s| !s.is_empty())
        .map(|s| s.parse())
        .transpose()
        .map_err(ApiError::Invalid)?;
    Ok(crate::server::connections::tenant_list(
        &app.connections,
        &admin,
        provider,
        connection_state,
    )
    .await?)
}
