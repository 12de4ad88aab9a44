//! A booking's event on its host's calendar, over real HTTP with the
//! sandbox: created with the attendee invited and a Meet (Google) or Teams
//! (Outlook) link, moved when the booking moves, deleted when it is
//! canceled; when the provider fails the booking stands and the export job
//! finishes it, once, even after a crash lost what the first try made.
//! Both backends.

use crate::common;

use calbridge::model::ApiScope;
use common::booking::{alice_at, api, demo_tenant, json_of, key_for, next_monday, seed_demo};
use common::connect::{
    connected, connections, control, eventually, google_truth, instant, meetings, next_live_event,
    sandbox_get, sandboxed,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// `POST` to the booking API as `agent`, with a JSON body (`null`: none).
async fn post(
    agent: &reqwest::Client,
    app: &common::TestApp,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    json_of(agent.post(app.url(path)).json(&body).send().await.unwrap()).await
}

async fn book(agent: &reqwest::Client, app: &common::TestApp, body: Value) -> (StatusCode, Value) {
    post(agent, app, "/api/v1/bookings", body).await
}

fn vera_at(host: &str, event_type: &str, start: String) -> Value {
    json!({"host": host, "event_type": event_type, "start": start,
           "attendee": {"name": "Vera", "email": "vera@example.com"}})
}

async fn export_row(app: &common::TestApp, id: &str) -> (Option<String>, Option<String>) {
    sqlx::query_as("SELECT export_event_id, export_error FROM bookings WHERE id = $1")
        .bind(id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

async fn a_google_booking_becomes_an_event_with_meet_and_follows_the_booking(
    backend: common::Backend,
) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    let alice = connected(&app, "alice@demo.test", "google", "alice@sandbox.test").await;
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);
    let mut live = alice.get(app.url("/api/live")).send().await.unwrap();
    assert!(next_live_event(&mut live, "hello").await);

    let (status, booked) = book(
        &agent,
        &app,
        vera_at(
            "alice",
            "intro",
            format!("{}T15:00:00+01:00", next_monday()),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    assert!(
        next_live_event(&mut live, "meeting").await,
        "Alice's open page hears of it"
    );
    let link = booked["meeting_url"]
        .as_str()
        .expect("the Meet link")
        .to_owned();
    let meet =
        regex::Regex::new(r"^https://meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}$").unwrap();
    assert!(meet.is_match(&link), "{link}");
    let id = booked["id"].as_str().unwrap();
    let (event_id, error) = export_row(&app, id).await;
    let event_id = event_id.expect("the event is recorded");
    assert_eq!(error, None);
    assert_eq!(event_id, format!("cb{}", id.replace('-', "")));

    let events = google_truth(&app, &event_id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["status"], "confirmed");
    assert_eq!(event["hangoutLink"], link.as_str());
    assert_eq!(instant(event["start"].as_str().unwrap()), alice_at(15, 0));
    assert_eq!(instant(event["end"].as_str().unwrap()), alice_at(15, 30));
    assert_eq!(
        event["summary"],
        "Intro call between Alice Example and Vera"
    );
    let mails = sandbox_get(&app, "google/invitations").await;
    assert_eq!(
        mails["invitations"],
        json!([{"event_id": event_id, "kind": "created", "to": ["vera@example.com"]}])
    );

    // The attendee's page shows the link.
    let page = reqwest::get(booked["manage_url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("href=\"{link}\"")), "{page}");

    // On Alice's meetings page once, as a booking, even after her calendar
    // (which now holds the event) is imported again.
    let scope = demo_tenant(&app).await;
    let google = connections(&app, &alice).await[0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    calbridge::server::meetings::sync(
        &app.state.meetings,
        &scope,
        google,
        calbridge::model::SyncTrigger::Manual,
    )
    .await
    .unwrap();
    // The sync log has the export and the import that skipped its event.
    let (exported, outcome): (i64, String) = sqlx::query_as(
        "SELECT exported, outcome FROM sync_runs WHERE trigger = 'export' ORDER BY id LIMIT 1",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!((exported, outcome.as_str()), (1, "succeeded"));
    let skipped: i64 =
        sqlx::query_scalar("SELECT max(skipped) FROM sync_runs WHERE trigger <> 'export'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(
        skipped >= 1,
        "the booking's own event is skipped, not imported"
    );
    let listed: Vec<Value> = meetings(&app, &alice)
        .await
        .into_iter()
        .filter(|m| instant(m["starts_at"].as_str().unwrap()) == alice_at(15, 0))
        .collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["source"], "calbridge");
    assert_eq!(listed[0]["title"], "Intro call");
    assert_eq!(listed[0]["invitee_email"], "vera@example.com");
    assert_eq!(listed[0]["join_url"], link.as_str());
    assert_eq!(listed[0]["status"], "scheduled");

    // A move may overlap the booking's own time, which the live read of
    // Alice's calendar reports busy with the booking's event.
    sqlx::query("UPDATE event_types SET slot_interval_minutes = 15 WHERE slug = 'intro'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let (status, moved) = post(
        &agent,
        &app,
        &format!("/api/v1/bookings/{id}/reschedule"),
        json!({"start": format!("{}T15:15:00+01:00", next_monday())}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    // The request tries the calendar for a few seconds; past that the
    // export finishes in the background.
    eventually("the event moved to 15:15", || async {
        let event = &google_truth(&app, &event_id).await[0];
        instant(event["start"].as_str().unwrap()) == alice_at(15, 15)
    })
    .await;

    // Rescheduling moves the event; the attendee is told.
    let (status, moved) = post(
        &agent,
        &app,
        &format!("/api/v1/bookings/{id}/reschedule"),
        json!({"start": format!("{}T16:00:00+01:00", next_monday())}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["meeting_url"], link.as_str(), "the same Meet");
    eventually("the event moved to 16:00–16:30", || async {
        let event = &google_truth(&app, &event_id).await[0];
        instant(event["start"].as_str().unwrap()) == alice_at(16, 0)
            && instant(event["end"].as_str().unwrap()) == alice_at(16, 30)
    })
    .await;

    // Canceling deletes it; the attendee is told.
    let (status, canceled) = post(
        &agent,
        &app,
        &format!("/api/v1/bookings/{id}/cancel"),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{canceled}");
    eventually("the event deleted", || async {
        google_truth(&app, &event_id).await[0]["status"] == "cancelled"
    })
    .await;
    let kinds: Vec<Value> = sandbox_get(&app, "google/invitations").await["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            json!("created"),
            json!("updated"),
            json!("updated"),
            json!("cancelled")
        ]
    );
    app.stop().await;
}

async fn a_provider_failure_leaves_the_booking_and_the_job_finishes_it_once(
    backend: common::Backend,
) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    connected(&app, "alice@demo.test", "google", "alice@sandbox.test").await;
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);

    control(
        &app,
        reqwest::Method::POST,
        "faults",
        json!({"provider": "google", "endpoint": "/events", "error_rate": 1.0, "status": 503}),
    )
    .await;
    let (status, booked) = book(
        &agent,
        &app,
        vera_at(
            "alice",
            "intro",
            format!("{}T11:00:00+01:00", next_monday()),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "the booking stands: {booked}");
    assert!(booked["meeting_url"].is_null());
    let id = booked["id"].as_str().unwrap().to_owned();
    let (event_id, error) = export_row(&app, &id).await;
    assert_eq!(event_id, None);
    assert!(
        error.is_some_and(|e| e.contains("503")),
        "the failure is recorded"
    );
    // The confirmation says the link is on its way.
    let page = reqwest::get(booked["manage_url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("link is on its way"), "{page}");

    // The admin sees the job waiting.
    let admin = app.client();
    common::log_in(&app, &admin, "admin@demo.test", common::PASSWORD).await;
    let jobs = admin
        .get(app.url("/admin/jobs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(jobs.contains("data-job=\"booking.export\""), "{jobs}");

    // The provider recovers; the job's time comes.
    control(&app, reqwest::Method::DELETE, "faults", json!({})).await;
    let due = "UPDATE jobs SET run_at = 0 WHERE kind = 'booking.export' AND status = 'queued'";
    sqlx::query(due).execute(app.state.db.pool()).await.unwrap();
    let fetch = || async {
        json_of(
            agent
                .get(app.url(&format!("/api/v1/bookings/{id}")))
                .send()
                .await
                .unwrap(),
        )
        .await
        .1
    };
    eventually("the job made the event", || async {
        fetch().await["meeting_url"].is_string()
    })
    .await;
    let (event_id, error) = export_row(&app, &id).await;
    let event_id = event_id.unwrap();
    assert_eq!(error, None);

    // A crash between the provider's create and recording it: the next run
    // finds the first event instead of making a second.
    sqlx::query("UPDATE bookings SET export_event_id = NULL, meeting_url = NULL WHERE id = $1")
        .bind(&id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let scope = demo_tenant(&app).await;
    calbridge::server::booking::export::reconcile(&app.state.bookings, &scope, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        export_row(&app, &id).await.0.as_deref(),
        Some(event_id.as_str())
    );
    assert_eq!(google_truth(&app, &event_id).await.len(), 1);
    let truth = sandbox_get(&app, "truth?account=alice@sandbox.test&provider=google").await;
    let vera_events = truth["google"]["calendars"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["events"].as_array().unwrap().clone())
        .filter(|e| e["summary"] == "Intro call between Alice Example and Vera")
        .count();
    assert_eq!(vera_events, 1, "exactly one event for the booking");
    app.stop().await;
}

async fn an_outlook_booking_gets_teams_and_follows_the_booking(backend: common::Backend) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    connected(&app, "bob@demo.test", "microsoft", "bob@sandbox.test").await;
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);

    let (status, booked) = book(
        &agent,
        &app,
        vera_at(
            "bob",
            "consult",
            format!("{}T11:00:00-05:00", next_monday()),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let link = booked["meeting_url"].as_str().expect("the Teams link");
    assert!(
        link.starts_with("https://teams.microsoft.com/l/meetup-join/"),
        "{link}"
    );
    let id = booked["id"].as_str().unwrap();
    let mine = || async {
        let truth = sandbox_get(&app, "truth?account=bob@sandbox.test&provider=microsoft").await;
        truth["microsoft"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["transactionId"] == id)
            .cloned()
            .collect::<Vec<Value>>()
    };
    let events = mine().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["onlineMeeting"]["joinUrl"], link);
    let eleven = instant(&format!("{}T11:00:00-05:00", next_monday()));
    assert_eq!(instant(events[0]["start"].as_str().unwrap()), eleven);

    let (status, _) = post(
        &agent,
        &app,
        &format!("/api/v1/bookings/{id}/reschedule"),
        json!({"start": format!("{}T13:00:00-05:00", next_monday())}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    eventually("the event moved two hours", || async {
        let events = mine().await;
        instant(events[0]["start"].as_str().unwrap()) == eleven + 2 * 3600 * 1000
    })
    .await;

    let (status, _) = post(
        &agent,
        &app,
        &format!("/api/v1/bookings/{id}/cancel"),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    eventually("the event deleted", || async {
        let events = mine().await;
        events[0]["deleted"] == true || events[0]["isCancelled"] == true
    })
    .await;
    app.stop().await;
}

on_both_backends!(
    a_google_booking_becomes_an_event_with_meet_and_follows_the_booking,
    a_provider_failure_leaves_the_booking_and_the_job_finishes_it_once,
    an_outlook_booking_gets_teams_and_follows_the_booking,
);
