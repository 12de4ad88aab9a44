//! Calendly API v2 emulator (`/calendly/...`) and its control routes
//! (`/_control/calendly/...`).
//!
//! Every user gets their own organization (with a signing key) and two event
//! types. Scheduled events and invitees are created through the control API
//! or the panel (people booking as invitees); hosts read and cancel them
//! through the API. Webhook deliveries follow Calendly's wire format and are
//! signed with the subscription's signing key.

mod api;
mod auth;
mod bookings;
mod control;
mod request;
mod state;
mod subscriptions;
mod webhooks;
mod wire;

pub use bookings::{book, cancel, reschedule, set_no_show, BookingRequest};
pub use state::{
    Cancellation, EventType, Invitee, InviteeRef, NoShow, Organization, ScheduledEvent, State,
    Subscription, User,
};
pub use webhooks::{disable_subscription, signature_header, subscription_active, WEBHOOK_EVENTS};
pub use wire::{organization_uri, user_uri};

use crate::core::Account;
use crate::{Sandbox, World};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use wire::{event_uri, invitee_uri, slugify, ts, PAGES};

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/calendly-auth/oauth/token", post(auth::token))
        .route("/calendly-auth/oauth/introspect", post(auth::introspect))
        .route("/calendly/users/me", get(api::users_me))
        .route("/calendly/users/{uuid}", get(api::users_get))
        .route("/calendly/organizations/{uuid}", get(api::organization_get))
        .route("/calendly/event_types", get(api::event_types_list))
        .route("/calendly/event_types/{uuid}", get(api::event_type_get))
        .route("/calendly/scheduled_events", get(api::events_list))
        .route("/calendly/scheduled_events/{uuid}", get(api::event_get))
        .route(
            "/calendly/scheduled_events/{uuid}/invitees",
            get(api::invitees_list),
        )
        .route(
            "/calendly/scheduled_events/{uuid}/invitees/{invitee}",
            get(api::invitee_get),
        )
        .route(
            "/calendly/scheduled_events/{uuid}/cancellation",
            post(api::event_cancel),
        )
        .route("/calendly/user_busy_times", get(api::busy_times))
        .route(
            "/calendly/webhook_subscriptions",
            post(subscriptions::subscription_create).get(subscriptions::subscription_list),
        )
        .route(
            "/calendly/webhook_subscriptions/{uuid}",
            get(subscriptions::subscription_get).delete(subscriptions::subscription_delete),
        )
        .route("/_control/calendly/bookings", post(control::control_book))
        .route(
            "/_control/calendly/bookings/{uuid}/cancel",
            post(control::control_cancel),
        )
        .route(
            "/_control/calendly/bookings/{uuid}/reschedule",
            post(control::control_reschedule),
        )
        .route(
            "/_control/calendly/invitees/{uuid}/no_show",
            post(control::control_no_show).delete(control::control_no_show_delete),
        )
        .route(
            "/_control/calendly/subscriptions/{uuid}/disable",
            post(control::control_disable),
        )
        .route(
            "/_control/calendly/subscriptions",
            get(control::control_subscriptions),
        )
}

pub fn on_account_added(world: &mut World, account: &Account) {
    let now = world.now();
    let org = world.uuid();
    let signing_key = world.token("");
    world.calendly.organizations.push(Organization {
        uuid: org.clone(),
        owner: account.id.clone(),
        signing_key,
        created_at: now,
    });
    let wanted = slugify(&account.name);
    let mut slug = wanted.clone();
    let mut n = 1;
    while world.calendly.users.values().any(|u| u.slug == slug) {
        n += 1;
        slug = format!("{wanted}-{n}");
    }
    world.calendly.users.insert(
        account.id.clone(),
        User {
            account_id: account.id.clone(),
            slug,
            organization: org,
            created_at: now,
        },
    );
    for (name, duration, kind) in [
        ("30 Minute Meeting", 30, "zoom_conference"),
        ("60 Minute Meeting", 60, "physical"),
    ] {
        let uuid = world.uuid();
        world.calendly.event_types.push(EventType {
            uuid,
            owner: account.id.clone(),
            name: name.to_owned(),
            slug: slugify(name),
            duration,
            location_kind: kind.to_owned(),
            created_at: now,
        });
    }
}

pub fn account_extras(base: &str, world: &World, account: &Account) -> Value {
    let slug = world
        .calendly
        .users
        .get(&account.id)
        .map(|u| u.slug.clone())
        .unwrap_or_default();
    json!({
        "uri": user_uri(base, &account.id),
        "organization": organization_uri(base, world, account),
        "slug": slug,
        "scheduling_url": format!("{PAGES}/{slug}"),
    })
}

pub fn truth(base: &str, world: &World, account: &Account) -> Value {
    let mut events: Vec<&ScheduledEvent> = world
        .calendly
        .events
        .iter()
        .filter(|e| e.host == account.id)
        .collect();
    events.sort_by_key(|e| e.start_time);
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| {
            let invitees: Vec<Value> = e
                .invitees
                .iter()
                .filter_map(|i| world.calendly.invitees.get(i))
                .map(|i| {
                    json!({
                        "uuid": i.uuid,
                        "uri": invitee_uri(base, &e.uuid, &i.uuid),
                        "name": i.name,
                        "email": i.email,
                        "status": i.status,
                        "rescheduled": i.rescheduled,
                    })
                })
                .collect();
            json!({
                "uuid": e.uuid,
                "uri": event_uri(base, &e.uuid),
                "name": e.name,
                "status": e.status,
                "start_time": ts(e.start_time),
                "end_time": ts(e.end_time),
                "invitees": invitees,
            })
        })
        .collect();
    json!({ "events": events })
}
