//! Provider subscriptions over real HTTP against the sandbox: created after
//! connecting (the Graph handshake included), renewed before they expire
//! with both clocks moved forward, recreated when Calendly disables them,
//! polling on Calendly's free plan, and watch channels following the busy
//! calendar choice. Both backends.

use crate::common;
use crate::common::Expect;

use common::connect::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Moves calbridge's and the sandbox's clocks forward together.
async fn advance(app: &TestApp, by: Duration) {
    app.state.clock.advance(by);
    let resp = reqwest::Client::new()
        .post(app.url("/sandbox/_control/clock"))
        .json(&json!({ "advance_secs": by.as_secs() }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
}

async fn run_scheduler(app: &TestApp) {
    calbridge::server::jobs::scheduler::ensure(&app.state.db, &app.state.jobs)
        .await
        .unwrap();
}

async fn google_channels(app: &TestApp) -> Vec<Value> {
    let v: Value = reqwest::Client::new()
        .get(app.url("/sandbox/_control/google/channels"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["channels"].as_array().unwrap().clone()
}

fn active_on<'a>(channels: &'a [Value], calendar: &str) -> Vec<&'a Value> {
    channels
        .iter()
        .filter(|c| c["state"] == "active" && c["calendar_id"] == calendar)
        .collect()
}

/// Ada, signed up, with the sandbox's alice Calendly connected and its
/// webhook subscription active.
async fn ada_with_calendly(app: &TestApp) -> reqwest::Client {
    let ada = app.client();
    sign_up_first(app, &ada, "ada@example.com").await;
    connect(app, &ada, "calendly", "alice@sandbox.test").await;
    eventually("the subscription exists", || async {
        connections(app, &ada).await[0]["subscription"]["active"] == 1
    })
    .await;
    ada
}

async fn calendly_subscription_uses_its_own_signing_key_and_is_recreated_when_disabled(
    backend: Backend,
) {
    let app = start_app!(backend, sandboxed());
    let ada = ada_with_calendly(&app).await;
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let list = connections(&app, &ada).await;
    let view = &list[0];
    assert_eq!(view["sync_mode"], "webhook");
    assert!(view["subscription"]["next_renewal_at"].is_string());
    let (uuid, url, key, user) = {
        let world = sandbox.world();
        let hook = &world.calendly.subscriptions[0];
        assert_eq!(hook.scope, "user");
        (
            hook.uuid.clone(),
            hook.callback_url.clone(),
            hook.signing_key.clone(),
            hook.user.clone(),
        )
    };
    assert!(user.is_some(), "user-scoped");
    assert!(url.starts_with(&app.url("/webhooks/calendly/")), "{url}");
    let org_key = sandbox.world().calendly.organizations[0]
        .signing_key
        .clone();
    assert_ne!(key, org_key, "its own signing key, not the organization's");
    // The key is stored encrypted, never in plain text.
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT ciphertext FROM secrets")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert!(stored
        .iter()
        .all(|c| !c.windows(key.len()).any(|w| w == key.as_bytes())));
    assert_eq!(secrets_of(&app, "subscription").await, 1);

    // Calendly disables it after a day of failed deliveries.
    let resp = reqwest::Client::new()
        .post(app.url(&format!(
            "/sandbox/_control/calendly/subscriptions/{uuid}/disable"
        )))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    advance(&app, DAY + Duration::from_secs(60)).await;
    run_scheduler(&app).await;
    eventually("a new subscription replaces the disabled one", || async {
        let world = sandbox.world();
        world.calendly.subscriptions.len() == 1
            && world.calendly.subscriptions[0].uuid != uuid
            && world.calendly.subscriptions[0].state == "active"
    })
    .await;
    eventually("calbridge records the replacement", || async {
        secrets_of(&app, "subscription").await == 1
            && connections(&app, &ada).await[0]["subscription"]["active"] == 1
    })
    .await;
    app.stop().await;
}

/// A subscription created at Calendly whose record was lost (a crash
/// between the two): the next attempt gets 409, removes the leftover and
/// ends with exactly one subscription, recorded with its key.
async fn calendly_leftover_subscription_is_replaced_not_duplicated(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = ada_with_calendly(&app).await;
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let leftover = sandbox.world().calendly.subscriptions[0].uuid.clone();
    for forget in [
        "DELETE FROM secrets WHERE owner_kind = 'subscription'",
        "DELETE FROM subscriptions",
    ] {
        sqlx::query(forget)
            .execute(app.state.db.pool())
            .await
            .unwrap();
    }
    // Saving the calendar choice sets the connection up again.
    let id = connections(&app, &ada).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = post_form(
        &ada,
        &app.url(&format!("/settings/calendars/{id}/calendars")),
        &[],
    )
    .await;
    assert_eq!(
        location(&resp),
        "/settings/calendars?notice=calendars_saved"
    );
    eventually("one new subscription, recorded with its key", || async {
        let replaced = {
            let world = sandbox.world();
            world.calendly.subscriptions.len() == 1
                && world.calendly.subscriptions[0].uuid != leftover
                && world.calendly.subscriptions[0].state == "active"
        };
        replaced
            && secrets_of(&app, "subscription").await == 1
            && connections(&app, &ada).await[0]["subscription"]["active"] == 1
    })
    .await;
    let list = connections(&app, &ada).await;
    assert_eq!(list[0]["sync_mode"], "webhook");
    assert!(
        list[0]["last_error"].is_null(),
        "{:?}",
        list[0]["last_error"]
    );
    app.stop().await;
}

async fn calendly_free_plan_falls_back_to_polling(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let created = reqwest::Client::new()
        .post(app.url("/sandbox/_control/accounts"))
        .json(&json!({"provider": "calendly", "email": "frugal@sandbox.test", "name": "Frugal", "plan": "free"}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    connect(&app, &ada, "calendly", "frugal@sandbox.test").await;
    eventually("the connection switches to polling", || async {
        connections(&app, &ada).await[0]["sync_mode"] == "polling"
    })
    .await;
    let view = &connections(&app, &ada).await[0];
    assert_eq!(view["subscription"]["active"], 0);
    assert_eq!(view["state"], "connected");
    assert!(app
        .state
        .sandbox
        .as_ref()
        .unwrap()
        .world()
        .calendly
        .subscriptions
        .is_empty());
    app.stop().await;
}

async fn google_channels_follow_busy_calendars_and_renew_before_expiry(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    connect(&app, &ada, "google", "alice@sandbox.test").await;
    eventually("a channel on the primary calendar", || async {
        active_on(&google_channels(&app).await, "alice@sandbox.test").len() == 1
    })
    .await;
    let list = connections(&app, &ada).await;
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let calendars = list[0]["calendars"].as_array().unwrap().clone();
    assert_eq!(calendars.len(), 2, "{calendars:?}");
    let team = calendars.iter().find(|c| c["primary"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(active_on(&google_channels(&app).await, &team).is_empty());

    // The team calendar counts as busy too; the primary receives bookings.
    let resp = post_form(
        &ada,
        &app.url(&format!("/settings/calendars/{id}/calendars")),
        &[
            ("busy", "alice@sandbox.test"),
            ("busy", &team),
            ("booking", "alice@sandbox.test"),
        ],
    )
    .await;
    assert_eq!(
        location(&resp),
        "/settings/calendars?notice=calendars_saved"
    );
    eventually("a channel on the team calendar", || async {
        active_on(&google_channels(&app).await, &team).len() == 1
    })
    .await;
    // An unknown calendar is refused and changes nothing.
    let resp = post_form(
        &ada,
        &app.url(&format!("/settings/calendars/{id}/calendars")),
        &[("busy", "someone-else@sandbox.test")],
    )
    .await;
    assert_eq!(
        location(&resp),
        "/settings/calendars?error=unknown_calendar"
    );

    // Six and a half days later both channels are replaced before expiry.
    let before = google_channels(&app).await;
    let old_primary = active_on(&before, "alice@sandbox.test")[0]["id"].clone();
    advance(&app, 6 * DAY + DAY / 2).await;
    run_scheduler(&app).await;
    eventually("new channels replace the old ones", || async {
        let channels = google_channels(&app).await;
        let primary = active_on(&channels, "alice@sandbox.test");
        primary.len() == 1
            && primary[0]["id"] != old_primary
            && active_on(&channels, &team).len() == 1
            && channels.iter().filter(|c| c["state"] == "stopped").count() == 2
    })
    .await;

    // The team calendar stops counting as busy: its channel is stopped.
    let resp = post_form(
        &ada,
        &app.url(&format!("/settings/calendars/{id}/calendars")),
        &[("busy", "alice@sandbox.test")],
    )
    .await;
    assert_eq!(
        location(&resp),
        "/settings/calendars?notice=calendars_saved"
    );
    eventually("the team channel is stopped", || async {
        active_on(&google_channels(&app).await, &team).is_empty()
    })
    .await;
    let view = &connections(&app, &ada).await[0];
    assert_eq!(view["subscription"]["active"], 1);
    app.stop().await;
}

async fn graph_subscription_passes_the_handshake_and_is_renewed(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    connect(&app, &ada, "microsoft", "alice@sandbox.test").await;
    let sandbox = app.state.sandbox.as_ref().unwrap();
    eventually("the Graph subscription exists", || async {
        sandbox.world().microsoft.subscriptions.len() == 1
    })
    .await;
    let (id, expires, client_state, url) = {
        let world = sandbox.world();
        let sub = &world.microsoft.subscriptions[0];
        (
            sub.id.clone(),
            sub.expires,
            sub.client_state.clone().unwrap(),
            sub.notification_url.clone(),
        )
    };
    assert_eq!(url, app.url("/webhooks/microsoft"));
    assert!(client_state.len() >= 32, "a random clientState");
    let view = &connections(&app, &ada).await[0];
    assert_eq!(view["subscription"]["active"], 1);
    assert_eq!(view["calendars"].as_array().unwrap().len(), 1);

    // The handshake echoes the token as plain text.
    let echo = reqwest::Client::new()
        .post(app.url("/webhooks/microsoft?validationToken=Validation%3A%20hello"))
        .expect_status(StatusCode::OK)
        .await;
    assert!(echo.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(echo.text().await.unwrap(), "Validation: hello");

    advance(&app, 2 * DAY + DAY / 2).await;
    run_scheduler(&app).await;
    eventually("the subscription is extended in place", || async {
        let world = sandbox.world();
        world.microsoft.subscriptions.len() == 1
            && world.microsoft.subscriptions[0].id == id
            && world.microsoft.subscriptions[0].expires > expires + chrono::Duration::days(2)
    })
    .await;
    app.stop().await;
}

on_both_backends!(
    calendly_subscription_uses_its_own_signing_key_and_is_recreated_when_disabled,
    calendly_leftover_subscription_is_replaced_not_duplicated,
    calendly_free_plan_falls_back_to_polling,
    google_channels_follow_busy_calendars_and_renew_before_expiry,
    graph_subscription_passes_the_handshake_and_is_renewed,
);
