//! Creating and revoking API keys: the form posts.

use crate::api::form::{fail, settle, IdPath};
use crate::model::{paths, with_flash, ApiKeyId, ApiScope, Flash, FlashKind};
use crate::server::api_keys;
use crate::server::app_state::AppState;
use crate::server::auth::AdminCaller;
use crate::server::error::AppError;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize)]
pub struct NewKeyForm {
    name: String,
    /// Requests a minute; empty: the default.
    #[serde(default)]
    rate_limit: String,
    /// The scopes' checkboxes (`ApiScope::field`): present when ticked.
    #[serde(flatten)]
    ticked: HashMap<String, String>,
}

pub async fn create_api_key(
    State(state): State<AppState>,
    admin: AdminCaller,
    Form(form): Form<NewKeyForm>,
) -> Response {
    let scopes: Vec<ApiScope> = ApiScope::ALL
        .into_iter()
        .filter(|scope| form.ticked.contains_key(scope.field()))
        .collect();
    let rate_limit = match form.rate_limit.trim() {
        "" => Ok(None),
        text => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::Invalid(Flash::InvalidRateLimit)),
    };
    let created = match rate_limit {
        Ok(rate_limit_per_minute) => {
            let new = api_keys::NewKey {
                name: &form.name,
                scopes: &scopes,
                rate_limit_per_minute,
            };
            api_keys::create(
                &state.api_keys,
                admin.0.scope(),
                Some(admin.0.user.user_id()),
                crate::server::audit::Actor::of(&admin.0),
                &new,
                true,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok((id, _)) => Redirect::to(&with_flash(
            &format!("{}?created={id}", paths::ADMIN_API_KEYS),
            FlashKind::Notice,
            Flash::ApiKeyCreated,
        ))
        .into_response(),
        Err(e) => fail(e, paths::ADMIN_API_KEYS),
    }
}

pub async fn revoke_api_key(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<ApiKeyId>,
) -> Response {
    settle(
        api_keys::revoke(&state.api_keys, &admin, id).await,
        paths::ADMIN_API_KEYS,
        Flash::ApiKeyRevoked,
    )
}
