//! Microsoft Graph v1.0 (Outlook calendar) emulator: `/me`, events with
//! `If-Match` and `transactionId`, `calendarView` and its delta query,
//! `getSchedule`, change-notification subscriptions with the validation
//! handshake and lifecycle notifications, and the control routes that let
//! a test act as the calendar owner editing in Outlook.
//!
//! Paths mirror `https://graph.microsoft.com/v1.0` under `{base}/graph/v1.0`;
//! every `@odata.*` link is absolute. Each user's mailbox keeps a change
//! sequence: every create, update and delete bumps it, and delta tokens are
//! cursors over that sequence.

mod api;
mod control;
mod input;
mod mailbox;
mod notifications;
mod state;
mod subscriptions;
mod wire;

pub use control::create_owner_event;
pub use state::{Attendee, Event, EventKind, Mailbox, State, Subscription, TENANT_ID};
pub use subscriptions::MAX_SUBSCRIPTION_MINUTES;

use crate::core::Account;
use crate::{Sandbox, World};
use axum::routing::{get, patch, post};
use axum::Router;
use mailbox::mailbox_mut;
use serde_json::{json, Value};
use wire::graph_ts;

pub fn on_account_added(world: &mut World, account: &Account) {
    mailbox_mut(world, &account.id);
}

pub fn account_extras(world: &World, account: &Account) -> Value {
    let calendar_id = world
        .microsoft
        .mailboxes
        .get(&account.id)
        .map(|m| m.calendar_id.clone());
    json!({
        "id": account.id,
        "userPrincipalName": account.email,
        "tenantId": TENANT_ID,
        "calendarId": calendar_id,
    })
}

pub fn truth(world: &World, account: &Account) -> Value {
    let events: Vec<Value> = world
        .microsoft
        .mailboxes
        .get(&account.id)
        .map(|m| m.events.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let mut v = json!({
                "id": e.id,
                "subject": e.subject,
                "start": e.start.to_rfc3339(),
                "end": e.end.to_rfc3339(),
                "isCancelled": e.is_cancelled,
                "deleted": e.deleted,
                "@odata.etag": e.etag(),
                "lastModifiedDateTime": graph_ts(e.modified),
                "transactionId": e.transaction_id,
            });
            if let Some(url) = &e.join_url {
                v["onlineMeeting"] = json!({ "joinUrl": url });
            }
            match &e.kind {
                EventKind::SingleInstance => {}
                EventKind::SeriesMaster { .. } => v["type"] = json!("seriesMaster"),
                EventKind::Occurrence { master } | EventKind::Exception { master } => {
                    v["seriesMasterId"] = json!(master);
                }
            }
            v
        })
        .collect();
    json!({ "events": events })
}

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/graph/v1.0/me", get(api::me))
        .route("/graph/v1.0/me/calendar", get(api::calendar))
        .route("/graph/v1.0/me/calendars", get(api::calendars))
        .route(
            "/graph/v1.0/me/events",
            get(api::list_events).post(api::create_event),
        )
        .route(
            "/graph/v1.0/me/calendar/events",
            get(api::list_events).post(api::create_event),
        )
        .route(
            "/graph/v1.0/me/calendars/{calendar_id}/events",
            post(api::create_event_in),
        )
        .route(
            "/graph/v1.0/me/events/{id}",
            get(api::get_event)
                .patch(api::patch_event)
                .delete(api::delete_event),
        )
        .route("/graph/v1.0/me/calendarView", get(api::calendar_view))
        .route("/graph/v1.0/me/calendarView/delta", get(api::delta))
        .route(
            "/graph/v1.0/me/calendar/calendarView/delta",
            get(api::delta),
        )
        .route(
            "/graph/v1.0/me/calendar/getSchedule",
            post(api::get_schedule),
        )
        .route(
            "/graph/v1.0/subscriptions",
            post(subscriptions::create_subscription).get(subscriptions::list_subscriptions),
        )
        .route(
            "/graph/v1.0/subscriptions/{id}",
            get(subscriptions::get_subscription)
                .patch(subscriptions::patch_subscription)
                .delete(subscriptions::delete_subscription),
        )
        .route("/_control/microsoft/events", post(control::control_create))
        .route(
            "/_control/microsoft/events/{id}",
            patch(control::control_patch).delete(control::control_delete),
        )
        .route(
            "/_control/microsoft/invalidate-sync-tokens",
            post(control::control_invalidate),
        )
        .route(
            "/_control/microsoft/expire-channels",
            post(control::control_expire),
        )
        .route(
            "/_control/microsoft/lifecycle",
            post(control::control_lifecycle),
        )
}
