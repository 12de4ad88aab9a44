//! Server functions, grouped by domain. Each one is thin: find the caller,
//! call a service, return a view type.

pub mod accounts;
pub mod connections;
#[cfg(feature = "ssr")]
pub mod form;
pub mod meetings;
pub mod operations;

#[cfg(feature = "ssr")]
mod context {
    use crate::model::ApiError;
    use crate::server::app_state::AppState;
    use crate::server::auth::{AdminCaller, Caller};
    use leptos::prelude::{expect_context, use_context};

    pub fn state() -> AppState {
        expect_context::<AppState>()
    }

    /// The caller of this server function, if logged in.
    pub async fn caller() -> Result<Option<Caller>, ApiError> {
        let state = state();
        let Some(parts) = use_context::<axum::http::request::Parts>() else {
            return Ok(None);
        };
        Caller::from_parts(&parts, &state.db)
            .await
            .map_err(ApiError::from)
    }

    pub async fn require_caller() -> Result<Caller, ApiError> {
        caller().await?.ok_or(ApiError::Unauthorized)
    }

    pub async fn require_admin() -> Result<AdminCaller, ApiError> {
        AdminCaller::check(require_caller().await?).map_err(ApiError::from)
    }
}
