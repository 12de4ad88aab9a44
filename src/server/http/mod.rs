//! The HTTP layer: every non-page route (form posts, OAuth, webhooks,
//! health, the live stream), the guards and middleware, and the mapping of
//! service errors to status codes. `crate::web` mounts it beside the pages.

pub mod client_addr;
mod error;
mod extract;
mod forms;
mod guards;
mod health;
mod live;
mod oauth;
#[cfg(feature = "sandbox")]
mod sandbox_guard;
pub mod security_headers;
mod webhooks;

use crate::model::paths;
use crate::server::app_state::AppState;
use crate::server::platform::observability;
use axum::routing::{get, post};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;

/// Form posts and JSON bodies are small; webhooks set their own limit later.
const BODY_LIMIT: usize = 256 * 1024;

/// Every route that is not a page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route(paths::LIVE, get(live::stream))
        .route(paths::LOG_IN, post(forms::login))
        .route(paths::SIGN_UP, post(forms::signup))
        .route(paths::LOG_OUT, post(forms::logout))
        .route(paths::SAVE_PROFILE, post(forms::save_profile))
        .route(paths::CREATE_INVITE, post(forms::create_invite))
        .route(paths::REVOKE_INVITE.template(), post(forms::revoke_invite))
        .route(paths::CHANGE_ROLE.template(), post(forms::change_role))
        .route(paths::REMOVE_MEMBER.template(), post(forms::remove_member))
        .route(
            "/webhooks/calendly/{public_id}",
            post(webhooks::calendly_delivery),
        )
        .route(
            "/webhooks/microsoft",
            post(webhooks::microsoft_notifications),
        )
        .route(
            "/webhooks/microsoft/lifecycle",
            post(webhooks::microsoft_lifecycle),
        )
        .route("/webhooks/google", post(webhooks::google_notification))
        .route(paths::CONNECT_START.template(), get(oauth::start))
        .route(paths::CONNECT_CALLBACK.template(), get(oauth::callback))
        .route(paths::DISCONNECT.template(), post(forms::disconnect))
        .route(
            paths::TEST_CONNECTION.template(),
            post(forms::test_connection),
        )
        .route(
            paths::ADMIN_REFRESH_CONNECTION.template(),
            post(forms::admin_refresh_connection),
        )
        .route(
            paths::SAVE_CALENDARS.template(),
            post(forms::save_calendars),
        )
        .route(
            paths::ADMIN_RESYNC_CONNECTION.template(),
            post(forms::admin_resync_connection),
        )
        .route(
            paths::ADMIN_DISCONNECT_CONNECTION.template(),
            post(forms::admin_disconnect_connection),
        )
        .route(
            paths::REPLAY_WEBHOOK.template(),
            post(forms::replay_webhook),
        )
        .route(paths::RETRY_JOB.template(), post(forms::retry_job))
        .route(paths::DISCARD_JOB.template(), post(forms::discard_job))
        .route(paths::SAVE_OAUTH_APP, post(forms::save_oauth_app))
        .route(
            paths::TEST_OAUTH_APP.template(),
            post(forms::test_oauth_app),
        )
        .route(
            paths::DELETE_OAUTH_APP.template(),
            post(forms::delete_oauth_app),
        )
}

/// Wraps the app's routes (pages included) in the guards and middleware,
/// and mounts the sandbox when it runs.
pub fn finish(app: Router<AppState>, state: AppState) -> Router {
    #[cfg(feature = "sandbox")]
    let sandbox = match &state.sandbox {
        Some(sandbox) => Router::new().nest(paths::SANDBOX, sandbox.router()).layer(
            // One Arc per request, not a clone of every component: provider
            // calls to the sandbox go through here too.
            axum::middleware::from_fn_with_state(
                std::sync::Arc::new(state.clone()),
                sandbox_guard::sandbox_access,
            ),
        ),
        None => Router::new(),
    };
    #[cfg(not(feature = "sandbox"))]
    let sandbox = Router::new();
    app.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        guards::pages,
    ))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        guards::same_origin,
    ))
    .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
    .layer(axum::middleware::from_fn(observability::track_requests))
    .with_state(state.clone())
    .merge(sandbox)
    .layer(axum::middleware::from_fn_with_state(
        std::sync::Arc::new(security_headers::SecurityHeaders::new(&state)),
        security_headers::security_headers,
    ))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
