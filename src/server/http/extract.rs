//! The caller extractors: every handler that needs a logged-in user (or an
//! admin) names `Caller` (or `AdminCaller`) among its arguments; a machine
//! API handler names `KeyCaller`.

use super::api_v1::failure::ApiFailure;
use crate::server::api_keys::{self, KeyCaller};
use crate::server::app_state::AppState;
use crate::server::auth::{AdminCaller, Caller};
use crate::server::error::AppError;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_parts(parts, &state.db)
            .await?
            .ok_or(AppError::Unauthorized)?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

impl OptionalFromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        let caller = Caller::from_parts(parts, &state.db).await?;
        if let Some(c) = &caller {
            parts.extensions.insert(c.clone());
        }
        Ok(caller)
    }
}

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        AdminCaller::check(
            <Caller as FromRequestParts<AppState>>::from_request_parts(parts, state).await?,
        )
    }
}

/// The API key a machine request presents as `Authorization: Bearer …`.
impl FromRequestParts<AppState> for KeyCaller {
    type Rejection = ApiFailure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Already checked (and counted) by the key's limit.
        if let Some(key) = parts.extensions.get::<KeyCaller>() {
            return Ok(key.clone());
        }
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiFailure::Unauthorized)?;
        api_keys::authenticate(&state.api_keys, bearer.trim())
            .await?
            .ok_or(ApiFailure::Unauthorized)
    }
}
