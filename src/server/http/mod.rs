//! The axum application: routes, middleware and the server loop.

pub mod client_addr;
mod forms;
mod guards;
mod health;
mod live;
mod oauth;
pub mod security_headers;
mod webhooks;

use crate::app::{shell, App};
use crate::server::observability;
use crate::server::state::AppState;
use axum::routing::{get, post};
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;

/// Form posts and JSON bodies are small; webhooks set their own limit later.
const BODY_LIMIT: usize = 256 * 1024;

/// The app's page routes, generated once per process. Generating them
/// runs the app with resource loading switched off process-wide (a global
/// flag in leptos_server), so a page rendered by another router in this
/// process at that moment would wait forever on its resources
/// (leptos-rs/leptos#4773). Several routers share a process in tests.
fn page_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState) -> Router {
    let routes = page_routes();
    let leptos_options = state.leptos_options.clone();
    let sandbox = match &state.sandbox {
        Some(sandbox) => Router::new().nest("/sandbox", sandbox.router()).layer(
            // One Arc per request, not a clone of every component: provider
            // calls to the sandbox go through here too.
            axum::middleware::from_fn_with_state(
                std::sync::Arc::new(state.clone()),
                guards::sandbox_access,
            ),
        ),
        None => Router::new(),
    };
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
        .leptos_routes_with_context(&state, routes, security_headers::adopt_request_nonce, {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(security_headers::adopt_request_nonce, shell))
        .layer(axum::middleware::from_fn_with_state(
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

/// Serves until `shutdown` resolves, then stops accepting, lets in-flight
/// requests finish and closes the pool.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let db = state.db.clone();
    let live = state.live.clone();
    let (stop_workers, workers_stop) = tokio::sync::watch::channel(false);
    let workers = state
        .config
        .workers
        .then(|| tokio::spawn(crate::server::jobs::run(state.clone(), workers_stop)));
    let notifications = crate::server::pg_notify::listen(&state);
    // Histograms keep raw samples until drained; drain them regularly.
    let upkeep = tokio::spawn(async {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            observability::metrics_handle().run_upkeep();
        }
    });
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_workers.send(true);
            live.close();
        })
        .await;
    if let Some(workers) = workers {
        let _ = workers.await;
    }
    if let Some(notifications) = notifications {
        notifications.abort();
    }
    upkeep.abort();
    db.close().await;
    served?;
    Ok(())
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
