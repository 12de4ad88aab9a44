//! The UI's way to the server, by domain: reads are server functions (find
//! the caller, call a service, return a view type), writes are form posts in
//! each domain's `forms`.

pub mod accounts;
pub mod api_keys;
pub mod appointments;
pub mod booking;
pub mod connections;
#[cfg(feature = "ssr")]
pub mod form;
pub mod meetings;
pub mod operations;
pub mod sync;

/// Every form post of the UI (handlers in each domain's `forms`), each at
/// its path in `model::paths`.
#[cfg(feature = "ssr")]
pub fn form_routes() -> axum::Router<crate::server::app_state::AppState> {
    use crate::model::paths;
    use axum::routing::{get, post};
    axum::Router::new()
        .route(paths::LOG_IN, post(accounts::forms::login))
        .route(paths::SIGN_UP, post(accounts::forms::signup))
        .route(paths::LOG_OUT, post(accounts::forms::logout))
        .route(paths::SAVE_PROFILE, post(accounts::forms::save_profile))
        .route(
            paths::SAVE_BOOKING_PROFILE,
            post(booking::settings::save_profile),
        )
        .route(
            paths::SAVE_EVENT_TYPE,
            post(booking::settings::save_event_type),
        )
        .route(
            paths::DELETE_EVENT_TYPE.template(),
            post(booking::settings::delete_event_type),
        )
        .route(paths::CREATE_INVITE, post(accounts::forms::create_invite))
        .route(
            paths::REVOKE_INVITE.template(),
            post(accounts::forms::revoke_invite),
        )
        .route(
            paths::CHANGE_ROLE.template(),
            post(accounts::forms::change_role),
        )
        .route(
            paths::REMOVE_MEMBER.template(),
            post(accounts::forms::remove_member),
        )
        .route(
            paths::DISCONNECT.template(),
            post(connections::forms::disconnect),
        )
        .route(
            paths::TEST_CONNECTION.template(),
            post(connections::forms::test_connection),
        )
        .route(
            paths::SAVE_CALENDARS.template(),
            post(connections::forms::save_calendars),
        )
        .route(
            paths::ADMIN_REFRESH_CONNECTION.template(),
            post(connections::forms::admin_refresh_connection),
        )
        .route(
            paths::ADMIN_RESYNC_CONNECTION.template(),
            post(connections::forms::admin_resync_connection),
        )
        .route(
            paths::ADMIN_SYNC_CONNECTION.template(),
            post(connections::forms::admin_sync_connection),
        )
        .route(
            paths::SYNC_CONNECTION.template(),
            post(connections::forms::sync_connection),
        )
        .route(
            paths::ADMIN_DISCONNECT_CONNECTION.template(),
            post(connections::forms::admin_disconnect_connection),
        )
        .route(
            paths::SAVE_OAUTH_APP,
            post(connections::forms::save_oauth_app),
        )
        .route(
            paths::TEST_OAUTH_APP.template(),
            post(connections::forms::test_oauth_app),
        )
        .route(
            paths::DELETE_OAUTH_APP.template(),
            post(connections::forms::delete_oauth_app),
        )
        .route(
            paths::REPLAY_WEBHOOK.template(),
            post(operations::forms::replay_webhook),
        )
        .route(
            paths::RETRY_JOB.template(),
            post(operations::forms::retry_job),
        )
        .route(
            paths::DISCARD_JOB.template(),
            post(operations::forms::discard_job),
        )
        .route(paths::CREATE_API_KEY, post(api_keys::forms::create_api_key))
        .route(
            paths::CANCEL_BOOKING.template(),
            post(booking::forms::cancel),
        )
        .route(
            paths::RESCHEDULE_BOOKING.template(),
            post(booking::forms::reschedule),
        )
        .route(
            paths::BOOKING_ICS.template(),
            get(booking::forms::invite_file),
        )
        .route(
            paths::REVOKE_API_KEY.template(),
            post(api_keys::forms::revoke_api_key),
        )
        .route(
            paths::SAVE_CONFLICT_POLICY.template(),
            post(connections::forms::save_conflict_policy),
        )
        .route(
            paths::CREATE_APPOINTMENT,
            post(appointments::forms::create_appointment),
        )
        .route(
            paths::SAVE_APPOINTMENT.template(),
            post(appointments::forms::save_appointment),
        )
        .route(
            paths::DELETE_APPOINTMENT.template(),
            post(appointments::forms::delete_appointment),
        )
        .route(
            paths::ADMIN_KEEP_CONFLICT.template(),
            post(appointments::forms::admin_keep),
        )
        .route(
            paths::KEEP_CONFLICT.template(),
            post(appointments::forms::keep),
        )
        .route(
            paths::ADMIN_KEEP_BOOKING_CONFLICT.template(),
            post(appointments::forms::admin_keep_booking),
        )
        .route(
            paths::KEEP_BOOKING_CONFLICT.template(),
            post(appointments::forms::keep_booking),
        )
}

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
