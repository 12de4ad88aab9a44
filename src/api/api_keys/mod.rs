//! The team's API keys for machines and AI agents (admins only); the form
//! posts are in `forms`.

use crate::model::{ApiError, ApiKeysPage};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// The keys, and (once, for its creator) the one just created.
#[server(endpoint = "api_keys", input = GetUrl)]
pub async fn get_api_keys(created: Option<String>) -> Result<ApiKeysPage, ApiError> {
    let admin = super::context::require_admin().await?;
    let state = super::context::state();
    let created = created.and_then(|id| id.parse().ok());
    Ok(crate::server::api_keys::page(&state.api_keys, &admin, created).await?)
}

#[cfg(feature = "ssr")]
pub mod forms;
