//! Where a host's busy time comes from, over real HTTP with the sandbox:
//! the mirror of a pushed, recently synced Google calendar (free events do
//! not block), a live `freeBusy` when the mirror is not trusted, fail
//! closed (`calendar_unavailable`) when the calendar cannot be read, and
//! the live re-check just before a booking commits. Both backends.

use crate::common;

use calbridge::model::ApiScope;
use common::booking::{alice_at, api, demo_tenant, json_of, key_for, next_monday, seed_demo};
use common::connect::{connect, connections, control, eventually, sandboxed, stamp, syncs_settled};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// An event in Alice's sandbox Google calendar at `hour` Berlin time on
/// the test Monday, an hour long.
async fn google_event(app: &common::TestApp, summary: &str, hour: u16, free: bool) {
    control(
        app,
        reqwest::Method::POST,
        "google/events",
        json!({"owner_email": "alice@sandbox.test", "summary": summary,
               "start": stamp(alice_at(hour, 0)), "end": stamp(alice_at(hour + 1, 0)), "free": free}),
    )
    .await;
}

async fn mirrored(app: &common::TestApp, title: &str) -> bool {
    let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM meetings WHERE title = $1")
        .bind(title)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    n.0 == 1
}

/// The Berlin hours:minutes of Alice's free intro slots on the Monday.
async fn free_times(client: &reqwest::Client, app: &common::TestApp) -> (StatusCode, Value) {
    let monday = next_monday();
    json_of(
        client
            .get(app.url(&format!(
                "/api/v1/availability?host=alice&event_type=intro&start={monday}&time_zone=Europe/Berlin"
            )))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Books Alice's 15:00 (Berlin) intro on the Monday over the API.
async fn book_at_three(agent: &reqwest::Client, app: &common::TestApp) -> (StatusCode, Value) {
    json_of(
        agent
            .post(app.url("/api/v1/bookings"))
            .json(&json!({"host": "alice", "event_type": "intro",
                "start": format!("{}T15:00:00+01:00", next_monday()),
                "attendee": {"name": "Vera", "email": "vera@example.com"}}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn starts(body: &Value) -> Vec<String> {
    body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap()[11..16].to_owned())
        .collect()
}

async fn set_last_sync(app: &common::TestApp, at: Option<i64>) {
    sqlx::query("UPDATE connections SET last_sync_at = $1 WHERE provider = 'google'")
        .bind(at)
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

async fn busy_time_comes_from_the_mirror_or_live_and_fails_closed(backend: common::Backend) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    let alice = app.client();
    common::log_in(&app, &alice, "alice@demo.test", common::PASSWORD).await;
    connect(&app, &alice, "google", "alice@sandbox.test").await;
    eventually("subscribed and first import done", || async {
        connections(&app, &alice).await.iter().any(|c| {
            c["provider"] == "google"
                && c["subscription"]["active"] == 1
                && c["last_sync_at"].is_string()
        })
    })
    .await;
    let key = key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await;
    let agent = api(&key);

    google_event(&app, "Dentist", 10, false).await;
    google_event(&app, "Focus time (free)", 12, true).await;
    eventually("both events mirrored", || async {
        mirrored(&app, "Dentist").await && mirrored(&app, "Focus time (free)").await
    })
    .await;
    syncs_settled(&app).await;

    // From the mirror: the busy hour is gone, the free one is offered.
    let (status, body) = free_times(&agent, &app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let offered = starts(&body);
    assert_eq!(offered.len(), 14, "{offered:?}");
    assert!(!offered.contains(&"10:00".to_owned()) && !offered.contains(&"10:30".to_owned()));
    assert!(offered.contains(&"12:00".to_owned()));

    // A mirror that has not synced for hours is not trusted: freeBusy
    // answers, even for an event the mirror lost.
    set_last_sync(&app, Some(0)).await;
    sqlx::query("UPDATE meetings SET status = 'canceled' WHERE title = 'Dentist'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let (status, body) = free_times(&agent, &app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(starts(&body), offered, "the live read sees the dentist");

    // An unreadable calendar offers nothing and says why.
    control(
        &app,
        reqwest::Method::POST,
        "faults",
        json!({"provider": "google", "endpoint": "freeBusy", "error_rate": 1.0, "status": 403}),
    )
    .await;
    let (status, body) = free_times(&agent, &app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "calendar_unavailable");
    assert!(body["message"].as_str().unwrap().contains("alice"));
    let (status, body) = book_at_three(&agent, &app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "calendar_unavailable");
    // The booking page says so instead of showing an empty month.
    let page = reqwest::get(app.url(&format!(
        "/book/alice/intro?tz=Europe/Berlin&date={}",
        next_monday()
    )))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(page.contains("Calendar temporarily unavailable"), "{page}");
    assert!(!page.contains("class=\"slot\""), "no time is offered");
    control(&app, reqwest::Method::DELETE, "faults", json!({})).await;

    // A trusted mirror that lags: the booking's live re-check refuses a
    // time the calendar took a moment ago.
    control(
        &app,
        reqwest::Method::POST,
        "faults",
        json!({"provider": "google", "drop_rate": 1.0}),
    )
    .await;
    google_event(&app, "Just added", 15, false).await;
    set_last_sync(&app, Some(chrono::Utc::now().timestamp_millis())).await;
    let (_, body) = free_times(&agent, &app).await;
    assert!(
        starts(&body).contains(&"15:00".to_owned()),
        "the mirror has not heard of it yet"
    );
    let (status, body) = book_at_three(&agent, &app).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "slot_taken");
    let bookings: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bookings")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(bookings.0, 0);
    app.stop().await;
}

on_both_backends!(busy_time_comes_from_the_mirror_or_live_and_fails_closed);
