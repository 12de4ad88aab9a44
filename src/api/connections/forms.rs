//! Calendar connections and the team's OAuth apps: the form posts.

use crate::api::form::{error, fail, notice, settle, IdPath};
use crate::model::{paths, CalendarId, ConnectionId, Flash, Provider};
use crate::server::app_state::AppState;
use crate::server::auth::{AdminCaller, Caller};
use crate::server::connections::{self, oauth_apps};
use crate::server::providers::oauth::CredentialCheck;
use crate::server::sync::runs as sync_runs;
use axum::extract::State;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct OAuthAppFormData {
    provider: Provider,
    name: String,
    client_id: String,
    #[serde(default)]
    client_secret: String,
}

pub async fn save_oauth_app(
    State(state): State<AppState>,
    admin: AdminCaller,
    Form(form): Form<OAuthAppFormData>,
) -> Response {
    let result = oauth_apps::save(
        &state.apps,
        &admin,
        oauth_apps::AppForm {
            provider: form.provider,
            name: form.name,
            client_id: form.client_id,
            client_secret: form.client_secret,
        },
    )
    .await;
    match result {
        Ok(()) => notice(
            &format!("{}#{}", paths::ADMIN_APPS, form.provider),
            Flash::AppSaved,
        ),
        Err(err) => fail(err, paths::ADMIN_APPS),
    }
}

pub async fn test_oauth_app(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(provider): IdPath<Provider>,
) -> Response {
    match oauth_apps::test(&state.apps, &admin, provider).await {
        Ok(outcome) => {
            let page = format!("{}#{provider}", paths::ADMIN_APPS);
            match outcome {
                CredentialCheck::Accepted => notice(&page, Flash::AppCheckOk),
                CredentialCheck::Rejected(_) => error(&page, Flash::AppCheckFailed),
                CredentialCheck::Unreachable(_) => error(&page, Flash::AppUnreachable),
            }
        }
        Err(err) => fail(err, paths::ADMIN_APPS),
    }
}

pub async fn delete_oauth_app(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(provider): IdPath<Provider>,
) -> Response {
    settle(
        oauth_apps::delete(&state.apps, &admin, provider).await,
        paths::ADMIN_APPS,
        Flash::AppDeleted,
    )
}

pub async fn disconnect(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConnectionId>,
) -> Response {
    settle(
        connections::disconnect(&state.connections, &caller, id).await,
        paths::CALENDARS,
        Flash::Disconnected,
    )
}

pub async fn test_connection(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConnectionId>,
) -> Response {
    match connections::test(&state.connections, &caller, id).await {
        Ok(true) => notice(paths::CALENDARS, Flash::ConnectionOk),
        Ok(false) => error(paths::CALENDARS, Flash::ConnectionBroken),
        Err(err) => fail(err, paths::CALENDARS),
    }
}

pub async fn admin_refresh_connection(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<ConnectionId>,
) -> Response {
    match connections::admin_refresh(&state.connections, &admin, id).await {
        Ok(true) => notice(paths::ADMIN_CONNECTIONS, Flash::ConnectionRefreshed),
        Ok(false) => error(paths::ADMIN_CONNECTIONS, Flash::RefreshFailed),
        Err(err) => fail(err, paths::ADMIN_CONNECTIONS),
    }
}

pub async fn admin_disconnect_connection(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<ConnectionId>,
) -> Response {
    settle(
        connections::admin_disconnect(&state.connections, &admin, id).await,
        paths::ADMIN_CONNECTIONS,
        Flash::Disconnected,
    )
}

/// Busy calendars come as repeated `busy` fields, which plain `Form`
/// cannot collect, so the body is read as pairs.
pub async fn save_calendars(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConnectionId>,
    body: axum::body::Bytes,
) -> Response {
    let mut busy = Vec::new();
    let mut booking = None;
    for (key, value) in url::form_urlencoded::parse(&body) {
        match key.as_ref() {
            "busy" => busy.push(CalendarId(value.into_owned())),
            "booking" if !value.is_empty() => booking = Some(CalendarId(value.into_owned())),
            _ => {}
        }
    }
    settle(
        connections::save_calendars(&state.connections, &caller, id, &busy, booking.as_ref()).await,
        paths::CALENDARS,
        Flash::CalendarsSaved,
    )
}

#[derive(Deserialize)]
pub struct ConflictPolicyForm {
    policy: String,
}

/// What two-way sync does when both sides changed, by the owner.
pub async fn save_conflict_policy(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConnectionId>,
    Form(form): Form<ConflictPolicyForm>,
) -> Response {
    let Ok(policy) = form.policy.parse() else {
        return error(paths::CALENDARS, Flash::InvalidConflictPolicy);
    };
    settle(
        connections::set_conflict_policy(&state.connections, &caller, id, policy).await,
        paths::CALENDARS,
        Flash::ConflictPolicySaved,
    )
}

/// Sync now, by the connection's owner.
pub async fn sync_connection(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConnectionId>,
) -> Response {
    let scope = caller.user.tenant;
    settle(
        sync_runs::request(
            &state.db,
            &state.jobs,
            &scope,
            Some(&caller.user),
            id,
            false,
        )
        .await,
        paths::CALENDARS,
        Flash::SyncQueued,
    )
}

/// Sync now, by an admin; back to the sync log.
pub async fn admin_sync_connection(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<ConnectionId>,
) -> Response {
    settle(
        sync_runs::request(&state.db, &state.jobs, admin.0.scope(), None, id, false).await,
        paths::ADMIN_SYNC,
        Flash::SyncQueued,
    )
}

/// Full resync, by an admin: every feed read again from scratch.
pub async fn admin_resync_connection(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<ConnectionId>,
) -> Response {
    settle(
        sync_runs::request(&state.db, &state.jobs, admin.0.scope(), None, id, true).await,
        paths::ADMIN_SYNC,
        Flash::ResyncQueued,
    )
}
