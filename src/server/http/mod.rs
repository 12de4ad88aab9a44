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
        .route("/api/live", get(live::stream))
        .route("/auth/login", post(forms::login))
        .route("/auth/signup", post(forms::signup))
        .route("/auth/logout", post(forms::logout))
        .route("/settings/profile", post(forms::save_profile))
        .route("/admin/users/invites", post(forms::create_invite))
        .route(
            "/admin/users/invites/{id}/revoke",
            post(forms::revoke_invite),
        )
        .route("/admin/users/{id}/role", post(forms::change_role))
        .route("/admin/users/{id}/remove", post(forms::remove_member))
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
        .route("/oauth/{provider}/start", get(oauth::start))
        .route("/oauth/{provider}/callback", get(oauth::callback))
        .route(
            "/settings/calendars/{id}/disconnect",
            post(forms::disconnect),
        )
        .route(
            "/settings/calendars/{id}/test",
            post(forms::test_connection),
        )
        .route(
            "/admin/connections/{id}/refresh",
            post(forms::admin_refresh_connection),
        )
        .route(
            "/settings/calendars/{id}/calendars",
            post(forms::save_calendars),
        )
        .route(
            "/admin/connections/{id}/resync",
            post(forms::admin_resync_connection),
        )
        .route(
            "/admin/connections/{id}/disconnect",
            post(forms::admin_disconnect_connection),
        )
        .route("/admin/webhooks/{id}/replay", post(forms::replay_webhook))
        .route("/admin/jobs/{id}/retry", post(forms::retry_job))
        .route("/admin/jobs/{id}/discard", post(forms::discard_job))
        .route("/admin/apps", post(forms::save_oauth_app))
        .route("/admin/apps/{provider}/test", post(forms::test_oauth_app))
        .route(
            "/admin/apps/{provider}/delete",
            post(forms::delete_oauth_app),
        )
}

/// Wraps the app's routes (pages included) in the guards and middleware,
/// and mounts the sandbox when it runs.
pub fn finish(app: Router<AppState>, state: AppState) -> Router {
    #[cfg(feature = "sandbox")]
    let sandbox = match &state.sandbox {
        Some(sandbox) => Router::new().nest("/sandbox", sandbox.router()).layer(
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
