//! The caller extractors: every handler that needs a logged-in user (or an
//! admin) names `Caller` (or `AdminCaller`) among its arguments.

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
