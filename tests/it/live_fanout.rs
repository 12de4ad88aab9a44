//! Two calbridge instances on one PostgreSQL database: a webhook received
//! and processed by instance A reaches a browser connected to instance B's
//! live stream (`LISTEN/NOTIFY`), and only that user's.

use crate::common;
use crate::common::Expect;

use common::connect::*;
use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_webhook_on_one_instance_reaches_a_browser_on_another() {
    let Some(a) = TestApp::start_with(Backend::Postgres, sandboxed()).await else {
        return;
    };
    // B serves pages and live streams only; A's workers process the jobs.
    let b = TestApp::start_with(
        Backend::Postgres,
        Options {
            workers: false,
            database_url: Some(a.database_url.clone()),
            data_dir: Some(a.dir.path().to_owned()),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let ada = a.client();
    sign_up_first(&a, &ada, "ada@example.com").await;
    let bob = join_as_member(&a, &ada, "bob@example.com").await;
    connect(&a, &ada, "calendly", "alice@sandbox.test").await;
    eventually("subscribed and first import done", || async {
        let c = &connections(&a, &ada).await[0];
        c["subscription"]["active"] == 1 && c["last_sync_at"].is_string()
    })
    .await;

    // The same session cookie works on B: sessions live in the shared database.
    let mut ada_on_b = ada.get(b.url("/api/live")).send().await.unwrap();
    assert_eq!(ada_on_b.status(), StatusCode::OK);
    assert!(next_live_event(&mut ada_on_b, "hello").await);
    let mut bob_on_b = bob.get(b.url("/api/live")).send().await.unwrap();
    assert!(next_live_event(&mut bob_on_b, "hello").await);

    reqwest::Client::new()
        .post(a.url("/sandbox/_control/calendly/bookings"))
        .json(&json!({
            "host_email": "alice@sandbox.test",
            "invitee_name": "Pat",
            "invitee_email": "pat@example.com",
            "start_time": common::days_ahead(2, "10:00"),
            "end_time": common::days_ahead(2, "10:30"),
        }))
        .expect_status(StatusCode::CREATED)
        .await;
    assert!(
        next_live_event(&mut ada_on_b, "meeting").await,
        "the change reached instance B"
    );
    let quiet = tokio::time::timeout(Duration::from_millis(500), bob_on_b.chunk()).await;
    assert!(quiet.is_err(), "bob's stream on B stays quiet");
    b.stop().await;
    a.stop().await;
}
