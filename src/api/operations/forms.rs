//! Jobs and webhook deliveries: the admins' form posts.

use crate::api::form::{settle, IdPath};
use crate::model::{paths, Flash, JobId, WebhookEventId};
use crate::server::admin;
use crate::server::app_state::AppState;
use crate::server::auth::AdminCaller;
use axum::extract::State;
use axum::response::Response;

pub async fn retry_job(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<JobId>,
) -> Response {
    settle(
        admin::jobs::retry(&state.admin, &admin, id).await,
        paths::ADMIN_JOBS,
        Flash::JobRetried,
    )
}

pub async fn discard_job(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<JobId>,
) -> Response {
    settle(
        admin::jobs::discard(&state.admin, &admin, id).await,
        paths::ADMIN_JOBS,
        Flash::JobDiscarded,
    )
}

pub async fn replay_webhook(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<WebhookEventId>,
) -> Response {
    settle(
        admin::webhooks::replay(&state.admin, &admin, id).await,
        paths::ADMIN_WEBHOOKS,
        Flash::WebhookReplayed,
    )
}
