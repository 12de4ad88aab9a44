//! Crash safety of two-way sync: the calbridge process is `kill -9`ed after
//! the provider made an appointment's event and before calbridge recorded
//! it (the sandbox carries out the create, then holds its answer while the
//! process dies). After a restart the export job finds that event instead
//! of making a second: exactly one event at the provider, and the
//! appointment mapped to it. Google (event id derived from the
//! appointment) and Outlook (`transactionId`); both backends.

use crate::common;

use calbridge::model::Provider;
use calbridge::server::providers::google::writes::event_id;
use common::process::{api_key, connect_provider, connection_ready, database_url, start_signed_up};
use common::sandbox::{start_sandbox, SandboxServer};
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "ada@sandbox.test";
const TITLE: &str = "Crash review";

/// The events of the account's calendars the appointment became.
async fn events_at_provider(sandbox: &SandboxServer, provider: Provider) -> Vec<Value> {
    let events = sandbox.events_of(ACCOUNT, provider).await;
    let title = |e: &Value| e["summary"].as_str().or(e["subject"].as_str()) == Some(TITLE);
    events
        .into_iter()
        .filter(|e| title(e) && e["status"] != "cancelled" && e["isCancelled"] != true)
        .collect()
}

async fn eventually<F, Fut>(what: &str, seconds: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {seconds} s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn crash_between_create_and_record(backend: Backend, provider: Provider) {
    let _storm = common::process::one_storm_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    let Some(database_url) = database_url(backend, dir.path()).await else {
        return;
    };
    let sandbox = start_sandbox(11).await;
    sandbox
        .control(
            "/_control/accounts",
            json!({"provider": provider, "email": ACCOUNT, "name": "Ada"}),
        )
        .await;
    let (mut server, client) = start_signed_up(
        dir.path(),
        &database_url,
        &sandbox,
        provider,
        "ada@crash.test",
    )
    .await;
    connect_provider(&server, &sandbox, &client, provider, ACCOUNT).await;
    connection_ready(&server, &client).await;
    let key = api_key(&database_url, dir.path(), "ada@crash.test");

    // From now on the provider carries out every create and holds its
    // answer, so calbridge never learns the event's id before it dies.
    sandbox
        .control(
            "/_control/faults",
            json!({"provider": provider, "endpoint": "/events", "method": "POST",
                   "hold_answer_ms": 600_000}),
        )
        .await;
    let start = common::days_ahead(3, "10:00");
    let end = common::days_ahead(3, "11:00");
    let made: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/appointments", server.base()))
        .bearer_auth(&key)
        .json(
            &json!({"host": "ada@crash.test", "title": TITLE, "start": start, "end": end,
                      "attendees": ["bo@example.com"]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = made["id"].as_str().expect("the appointment").to_owned();
    assert_eq!(made["sync"]["state"], "pending", "{made}");
    eventually("the provider made the event", 20, || async {
        events_at_provider(&sandbox, provider).await.len() == 1
    })
    .await;

    let db = calbridge::server::platform::db::Db::connect(&database_url)
        .await
        .unwrap();
    let mapped = || async {
        sqlx::query_as::<_, (String, String)>(
            "SELECT external_id, state FROM appointment_events WHERE appointment_id = $1",
        )
        .bind(&id)
        .fetch_optional(db.pool())
        .await
        .unwrap()
    };
    assert_eq!(mapped().await, None, "calbridge has not recorded it");
    server.kill();

    // Restarted with the provider answering again: the queued export
    // finds the event the dead process made.
    client
        .delete(sandbox.url("/_control/faults"))
        .send()
        .await
        .unwrap();
    server.start().await;
    eventually("the export finished after the restart", 90, || async {
        mapped().await.is_some_and(|(_, state)| state == "synced")
    })
    .await;
    let events = events_at_provider(&sandbox, provider).await;
    assert_eq!(events.len(), 1, "exactly one event: {events:?}");
    let (external_id, _) = mapped().await.unwrap();
    assert_eq!(events[0]["id"], external_id.as_str());
    match provider {
        Provider::Google => assert_eq!(external_id, event_id(&id)),
        _ => assert_eq!(events[0]["transactionId"], id.as_str()),
    }
    // The import that reads the calendar shows it once, as the appointment.
    let shown: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meetings WHERE title = $1")
        .bind(TITLE)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(shown, 0, "not imported as a second meeting");
    db.close().await;
    server.kill();
}

async fn a_crash_between_the_provider_create_and_its_record_leaves_one_event(backend: Backend) {
    for provider in [Provider::Google, Provider::Microsoft] {
        crash_between_create_and_record(backend, provider).await;
    }
}

on_both_backends!(a_crash_between_the_provider_create_and_its_record_leaves_one_event);
