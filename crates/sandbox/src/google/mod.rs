//! Google Calendar API v3 emulator (`/google/...`, standing for
//! `https://www.googleapis.com`) and its control routes
//! (`/_control/google/...`).
//!
//! What a real client relies on is kept: `primary` alias, events paging
//! (`nextSyncToken` only on the last page), incremental sync through sync
//! tokens (deleted events come back as `status: "cancelled"`, an unknown or
//! invalidated token is `410 fullSyncRequired`), etags with `If-Match`
//! (`412 conditionNotMet`), idempotent inserts with a client-supplied id
//! (`409 duplicate`), Meet links through `conferenceData.createRequest`
//! (`pending` in the answer, `success` with the link on the next read),
//! the mails `sendUpdates` would send (`/_control/google/invitations`),
//! free/busy, and push channels (`events.watch`, `channels.stop`) whose
//! notifications have an empty body and the `X-Goog-*` headers.
//!
//! Sync tokens are a per-calendar change sequence: every insert, update and
//! delete bumps the calendar's counter and stamps the event with it.

mod api;
mod channels;
mod control;
mod events;
mod state;
mod wire;

pub use control::create_owner_event;
pub use state::State;

use crate::core::Account;
use crate::{Sandbox, World};
use axum::routing::{get, patch, post};
use axum::Router;
use serde_json::{json, Value};
use state::Calendar;
use std::collections::HashMap;
use wire::{etag, ts, when_string};

pub fn on_account_added(world: &mut World, account: &Account) {
    let now = world.now();
    let calendar = |id: String, summary: String, primary: bool| Calendar {
        id,
        account_id: account.id.clone(),
        summary,
        time_zone: account.time_zone.clone(),
        primary,
        seq: 0,
        updated: now,
        events: Vec::new(),
        index: HashMap::new(),
    };
    world
        .google
        .calendars
        .push(calendar(account.email.clone(), account.email.clone(), true));
    world
        .google
        .calendars
        .push(calendar(team_calendar_id(account), "Team".into(), false));
}

pub fn routes() -> Router<Sandbox> {
    const CAL: &str = "/google/calendar/v3/calendars/{calendar_id}";
    Router::new()
        .route("/google/oauth2/v3/userinfo", get(api::userinfo))
        .route("/google/oauth2/v2/userinfo", get(api::userinfo))
        .route(
            "/google/calendar/v3/users/me/calendarList",
            get(api::calendar_list),
        )
        .route(
            "/google/calendar/v3/users/me/calendarList/{calendar_id}",
            get(api::calendar_list_entry),
        )
        .route(CAL, get(api::calendar_get))
        .route(
            &format!("{CAL}/events"),
            get(api::list_events).post(api::insert_event),
        )
        .route(&format!("{CAL}/events/watch"), post(channels::watch))
        .route(
            &format!("{CAL}/events/{{event_id}}"),
            get(api::get_event)
                .put(api::put_event)
                .patch(api::patch_event)
                .delete(api::delete_event),
        )
        .route("/google/calendar/v3/freeBusy", post(api::free_busy))
        .route(
            "/google/calendar/v3/channels/stop",
            post(channels::stop_channel),
        )
        .route("/_control/google/events", post(control::control_create))
        .route(
            "/_control/google/events/{event_id}",
            patch(control::control_patch).delete(control::control_delete),
        )
        .route(
            "/_control/google/invalidate-sync-tokens",
            post(control::control_invalidate),
        )
        .route(
            "/_control/google/expire-channels",
            post(control::control_expire),
        )
        .route("/_control/google/channels", get(control::control_channels))
        .route(
            "/_control/google/invitations",
            get(control::control_invitations),
        )
}

pub fn account_extras(world: &World, account: &Account) -> Value {
    let calendars: Vec<Value> = world
        .google
        .calendars
        .iter()
        .filter(|c| c.account_id == account.id)
        .map(|c| json!({ "id": c.id, "summary": c.summary, "primary": c.primary }))
        .collect();
    json!({ "calendar_id": account.email, "calendars": calendars })
}

pub fn truth(world: &World, account: &Account) -> Value {
    let calendars: Vec<Value> = world
        .google
        .calendars
        .iter()
        .filter(|c| c.account_id == account.id)
        .map(|c| {
            let events: Vec<Value> = c
                .events
                .iter()
                .map(|e| {
                    let mut v = json!({
                        "id": e.id,
                        "summary": e.summary,
                        "status": e.status,
                        "start": when_string(&e.start),
                        "end": when_string(&e.end),
                        "etag": etag(e.etag),
                        "updated": ts(e.updated),
                    });
                    for (key, value) in [
                        ("hangoutLink", &e.hangout_link),
                        ("location", &e.location),
                        ("description", &e.description),
                    ] {
                        if let Some(value) = value {
                            v[key] = json!(value);
                        }
                    }
                    if !e.attendees.is_empty() {
                        v["attendees"] = json!(e.attendees);
                    }
                    v
                })
                .collect();
            json!({ "id": c.id, "summary": c.summary, "primary": c.primary, "events": events })
        })
        .collect();
    json!({ "calendars": calendars })
}

fn team_calendar_id(account: &Account) -> String {
    format!(
        "c_{}@group.calendar.google.com",
        account.id.replace('-', "")
    )
}
