//! The web application: the Leptos pages, the UI's form posts and the
//! server's routes in one axum router, and the server loop. It sits above both `app` and `server`,
//! so neither imports the other.

use crate::api;
use crate::api::booking::forms::Submitted;
use crate::app::{shell, App};
use crate::model::paths;
use crate::server::app_state::AppState;
use crate::server::http::client_addr::ClientAddr;
use crate::server::http::{self, security_headers};
use crate::server::platform::observability;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Router};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use tokio::net::TcpListener;

mod overview_live;

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
    let leptos_options = state.leptos_options.clone();
    let app = http::routes(&state)
        .merge(api::form_routes())
        .route(paths::BOOK_EVENT, post(submit_booking))
        .route(
            paths::ADMIN_OVERVIEW_LIVE,
            axum::routing::get(overview_live::stream),
        )
        .leptos_routes_with_context(
            &state,
            page_routes(),
            security_headers::adopt_request_nonce,
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(security_headers::adopt_request_nonce, shell));
    http::finish(app, state)
}

/// The booking form's post. A refusal (a field to fix, the time taken
/// meanwhile) renders the page again, status and all, with what the
/// visitor typed and the free times nearby; a booking goes on to its page.
async fn submit_booking(
    State(state): State<AppState>,
    Path((host, event_type)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(client) = ClientAddr::from_request_parts(&mut parts, &state).await;
    let form = match Form::from_request(Request::from_parts(parts.clone(), body), &state).await {
        Ok(Form(form)) => form,
        Err(rejection) => return rejection.into_response(),
    };
    let visitor = client.key();
    let (status, failure, retry_after_secs) =
        match api::booking::forms::submit(&state, &host, &event_type, form, &visitor).await {
            Submitted::Done(response) => return response,
            Submitted::Again {
                status,
                failure,
                retry_after_secs,
            } => (status, failure, retry_after_secs),
        };
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || {
            provide_context(state.clone());
            provide_context(failure.clone());
            security_headers::adopt_request_nonce();
        },
        move || shell(options.clone()),
    );
    let mut response = render(Request::from_parts(parts, Body::empty())).await;
    *response.status_mut() = status;
    if let Some(secs) = retry_after_secs {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    response
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
        .then(|| tokio::spawn(state.clone().run_workers(workers_stop)));
    let notifications = state.listen_for_notifications();
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
