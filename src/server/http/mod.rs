//! The HTTP layer: the routes that are neither pages nor the UI's form
//! posts (OAuth, webhooks, health, the live stream), the guards and
//! middleware, and the mapping of service errors to status codes.
//! `crate::web` mounts it beside the pages and `api::form_routes`.

mod api_limit;
pub mod api_v1;
pub mod client_addr;
pub mod error;
mod extract;
pub mod guards;
mod health;
mod live;
pub use live::too_many_streams;
mod mcp;
mod oauth;
#[cfg(feature = "sandbox")]
mod sandbox_guard;
pub mod security_headers;
mod sync_progress;
mod webhooks;

use crate::model::paths;
use crate::server::app_state::AppState;
use crate::server::platform::observability;
use axum::routing::{get, post};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;

/// Form posts and JSON bodies are small; webhooks set their own limit later.
const BODY_LIMIT: usize = 256 * 1024;

/// Every route that is neither a page nor a form post of the UI.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route(paths::LIVE, get(live::stream))
        .route(paths::SYNC_PROGRESS, get(sync_progress::stream))
        .route(
            paths::WEBHOOK_CALENDLY.template(),
            post(webhooks::calendly_delivery),
        )
        .route(
            paths::WEBHOOK_MICROSOFT,
            post(webhooks::microsoft_notifications),
        )
        .route(
            paths::WEBHOOK_MICROSOFT_LIFECYCLE,
            post(webhooks::microsoft_lifecycle),
        )
        .route(paths::WEBHOOK_GOOGLE, post(webhooks::google_notification))
        .route(paths::CONNECT_START.template(), get(oauth::start))
        .route(paths::CONNECT_CALLBACK.template(), get(oauth::callback))
        .merge(
            api_v1::routes().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                api_limit::per_key,
            )),
        )
        .merge(mcp::routes(state.clone()))
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
    .layer(axum::middleware::from_fn(error::server_fn_status))
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
