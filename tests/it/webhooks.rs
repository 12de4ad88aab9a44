//! Calendly webhooks end to end over real HTTP: the sandbox books, cancels
//! and reschedules, delivers signed webhooks to calbridge, calbridge stores
//! them with their job in one transaction and turns them into meetings.
//! Signature failures, unrouted deliveries, concurrent duplicates, out-of-
//! order deliveries and per-user isolation (SSE included). Both backends.

use crate::common;
use crate::common::Expect;

use calbridge::server::providers::calendly::webhook as signature;
use common::connect::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// Connects `account`'s sandbox Calendly for the logged-in `client` and
/// waits for its webhook subscription; returns (webhook URL, signing key).
async fn connect_with_hook(
    app: &TestApp,
    client: &reqwest::Client,
    account: &str,
) -> (String, String) {
    connect(app, client, "calendly", account).await;
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let find = || {
        let world = sandbox.world();
        let id = world
            .account_by_email(calbridge::sandbox::Provider::Calendly, account)?
            .id
            .clone();
        world
            .calendly
            .subscriptions
            .iter()
            .find(|s| s.state == "active" && s.user.as_deref() == Some(id.as_str()))
            .map(|s| (s.callback_url.clone(), s.signing_key.clone()))
    };
    eventually("the webhook subscription", || async { find().is_some() }).await;
    let found = find().unwrap();
    eventually("calbridge recorded it", || async {
        connections(app, client).await.iter().any(|c| {
            c["account_email"] == account
                && c["subscription"]["active"] == 1
                && c["last_sync_at"].is_string()
        })
    })
    .await;
    found
}

/// The Calendly user URI the subscription belongs to (`created_by`).
fn creator_uri(app: &TestApp, sandbox: &calbridge::sandbox::Sandbox) -> String {
    let user = sandbox.world().calendly.subscriptions[0].creator.clone();
    format!("{}/calendly/users/{user}", app.url("/sandbox"))
}

async fn book(app: &TestApp, host: &str, invitee: &str, day: u32) -> Value {
    book_with(app, host, invitee, day, json!({})).await
}

/// Books with further booking fields (`location`, `co_host_emails`, …).
async fn book_with(app: &TestApp, host: &str, invitee: &str, day: u32, extra: Value) -> Value {
    let mut booking = json!({
        "host_email": host,
        "invitee_name": invitee,
        "invitee_email": format!("{}@example.com", invitee.to_lowercase()),
        "start_time": common::days_ahead(day, "10:00"),
        "end_time": common::days_ahead(day, "10:30"),
        "event_name": "Intro call",
    });
    if let (Some(fields), Value::Object(more)) = (booking.as_object_mut(), extra) {
        fields.extend(more);
    }
    let resp = reqwest::Client::new()
        .post(app.url("/sandbox/_control/calendly/bookings"))
        .json(&booking)
        .expect_status(StatusCode::CREATED)
        .await;
    resp.json().await.unwrap()
}

async fn events(app: &TestApp) -> Vec<(String, Option<String>, i64)> {
    sqlx::query_as("SELECT result, detail, duplicates FROM webhook_events ORDER BY received_at, id")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

/// Refused deliveries counted, including repeats folded into one record.
async fn refusals(app: &TestApp, result: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(duplicates + 1), 0) AS BIGINT) FROM webhook_events WHERE result = $1",
    )
    .bind(result)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn deliver(url: &str, body: &str, header: Option<String>) -> StatusCode {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(h) = header {
        request = request.header("Calendly-Webhook-Signature", h);
    }
    request.send().await.unwrap().status()
}

/// A realistic delivery for an invitee that really exists in the sandbox.
fn body_for(booking: &Value, creator: &str) -> String {
    json!({
        "event": "invitee.created",
        "created_at": "2030-01-01T09:00:00.000000Z",
        "created_by": creator,
        "payload": booking["invitee"],
    })
    .to_string()
}

/// Connects alice's Calendly, then books with deliveries switched off;
/// returns the webhook URL, its signing key and a real delivery body.
async fn undelivered_booking(
    app: &TestApp,
    ada: &reqwest::Client,
    day: u32,
) -> (String, String, String) {
    let (url, key) = connect_with_hook(app, ada, "alice@sandbox.test").await;
    let creator = creator_uri(app, app.state.sandbox.as_ref().unwrap());
    reqwest::Client::new()
        .post(app.url("/sandbox/_control/faults"))
        .json(&json!({"provider": "calendly", "drop_rate": 1.0}))
        .send()
        .await
        .unwrap();
    let booking = book(app, "alice@sandbox.test", "Pat", day).await;
    (url, key, body_for(&booking, &creator))
}

async fn a_booking_becomes_a_meeting_for_its_owner_only(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let bob = join_as_member(&app, &ada, "bob@example.com").await;
    connect_with_hook(&app, &ada, "alice@sandbox.test").await;
    connect_with_hook(&app, &bob, "bob@sandbox.test").await;

    // Bob listens on his live stream.
    let mut bob_live = bob.get(app.url("/api/live")).send().await.unwrap();
    assert_eq!(bob_live.status(), StatusCode::OK);
    let hello = bob_live.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&hello).contains("event: hello"));
    let mut ada_live = ada.get(app.url("/api/live")).send().await.unwrap();
    ada_live.chunk().await.unwrap();

    let booking = book(&app, "alice@sandbox.test", "Pat", 7).await;
    let invitee_uri = booking["invitee"]["uri"].as_str().unwrap().to_owned();
    eventually("the meeting appears for ada", || async {
        meetings(&app, &ada).await.len() == 1
    })
    .await;
    let chunk = tokio::time::timeout(Duration::from_secs(5), ada_live.chunk())
        .await
        .expect("a live event for ada")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&chunk).contains("event: meeting"));
    let m = &meetings(&app, &ada).await[0];
    assert_eq!(m["title"], "Intro call");
    assert_eq!(m["invitee_name"], "Pat");
    assert_eq!(m["invitee_email"], "pat@example.com");
    assert_eq!(m["status"], "scheduled");
    assert_eq!(m["source"], "calendly");
    assert!(meetings(&app, &bob).await.is_empty(), "never on bob's page");
    let nothing = tokio::time::timeout(Duration::from_millis(300), bob_live.chunk()).await;
    assert!(nothing.is_err(), "bob's stream stays quiet");
    let stored: String = sqlx::query_scalar("SELECT provider_event_id FROM meetings")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, invitee_uri);
    let processed: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT result, processed_at FROM webhook_events WHERE dedupe_key IS NOT NULL",
    )
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(processed.len(), 1);
    assert_eq!(processed[0].0, "processed");
    assert!(processed[0].1.is_some());

    // The host cancels: the meeting is marked canceled, not removed.
    let event_uuid = booking["event"]["uuid"].as_str().unwrap();
    let resp = reqwest::Client::new()
        .post(app.url(&format!(
            "/sandbox/_control/calendly/bookings/{event_uuid}/cancel"
        )))
        .json(&json!({"reason": "conflict"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    eventually("the meeting is canceled", || async {
        meetings(&app, &ada).await[0]["status"] == "canceled"
    })
    .await;
    app.stop().await;
}

async fn bad_signatures_are_rejected_and_store_nothing_else(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let (url, key, body) = undelivered_booking(&app, &ada, 8).await;
    let other_body = body.replace("Pat", "Mallory");
    let t = now();
    let cases: Vec<(&str, &str, Option<String>, StatusCode)> = vec![
        (
            "wrong key",
            &body,
            Some(signature::sign(b"not-the-key", t, body.as_bytes())),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "tampered body",
            &other_body,
            Some(signature::sign(key.as_bytes(), t, body.as_bytes())),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "stale",
            &body,
            Some(signature::sign(key.as_bytes(), t - 600, body.as_bytes())),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "future",
            &body,
            Some(signature::sign(key.as_bytes(), t + 600, body.as_bytes())),
            StatusCode::UNAUTHORIZED,
        ),
        ("missing header", &body, None, StatusCode::UNAUTHORIZED),
        (
            "garbled header",
            &body,
            Some("t=abc,v1=xyz".into()),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "not JSON",
            "{not json",
            Some(signature::sign(key.as_bytes(), t, b"{not json")),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, body, header, expected) in &cases {
        assert_eq!(
            deliver(&url, body, header.clone()).await,
            *expected,
            "{what}"
        );
    }
    let recorded = events(&app).await;
    assert!(
        recorded.iter().all(|(result, _, _)| result == "rejected"),
        "{recorded:?}"
    );
    // One record per source and minute (two if the minute turned), every
    // refusal counted on it.
    assert!((1..=2).contains(&recorded.len()), "{recorded:?}");
    assert_eq!(refusals(&app, "rejected").await, cases.len() as i64);
    assert_eq!(count(&app, "meetings").await, 0);
    assert_eq!(
        count(&app, "jobs WHERE kind = 'webhook.process'").await,
        0,
        "no processing queued"
    );

    // Several v1 values, one of them right: accepted.
    let good = signature::sign(key.as_bytes(), t, body.as_bytes());
    let several = good.replace(",v1=", &format!(",v1={},v1=", "ab".repeat(32)));
    assert_eq!(
        deliver(&url, &body, Some(several)).await,
        StatusCode::ACCEPTED
    );
    eventually("the accepted delivery becomes a meeting", || async {
        count(&app, "meetings").await == 1
    })
    .await;

    // Too big: 413 before anything else.
    let huge = "x".repeat(300 * 1024);
    assert_eq!(
        deliver(
            &url,
            &huge,
            Some(signature::sign(key.as_bytes(), t, huge.as_bytes()))
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // An unknown connection: 200 so Calendly keeps the hook, and a record.
    let unknown = app.url("/webhooks/calendly/no-such-connection");
    assert_eq!(
        deliver(&unknown, &body, Some(good.clone())).await,
        StatusCode::OK
    );
    let unrouted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_events WHERE result = 'unrouted' AND tenant_id IS NULL",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(unrouted, 1);

    // Signed, but for a booking Calendly does not have: accepted, then failed.
    let ghost = body.replace("/invitees/", "/invitees/ghost-");
    let signed = signature::sign(key.as_bytes(), now(), ghost.as_bytes());
    assert_eq!(
        deliver(&url, &ghost, Some(signed)).await,
        StatusCode::ACCEPTED
    );
    eventually("the ghost delivery is marked failed", || async {
        count(
            &app,
            "webhook_events WHERE result = 'failed' AND detail IS NOT NULL",
        )
        .await
            == 1
    })
    .await;
    app.stop().await;
}

async fn the_same_delivery_twenty_times_makes_one_meeting(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let (url, key, body) = undelivered_booking(&app, &ada, 9).await;
    let header = signature::sign(key.as_bytes(), now(), body.as_bytes());
    let sends = (0..20).map(|_| deliver(&url, &body, Some(header.clone())));
    let statuses = futures::future::join_all(sends).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::ACCEPTED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses.iter().all(|s| s.is_success()), "{statuses:?}");
    eventually("processed", || async {
        count(&app, "webhook_events WHERE result = 'processed'").await == 1
    })
    .await;
    let recorded = events(&app).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].2, 19, "duplicates counted on the original");
    assert_eq!(count(&app, "meetings").await, 1);
    assert_eq!(meetings(&app, &ada).await.len(), 1);
    app.stop().await;
}

/// A burst of different deliveries, each sent twice, with forged ones mixed
/// in, arrives together (so they share group commits): every booking
/// becomes exactly one meeting, every repeat is counted, every forgery is
/// refused and recorded.
async fn a_burst_of_mixed_deliveries_is_stored_exactly(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let (url, key, first) = undelivered_booking(&app, &ada, 1).await;
    let creator = creator_uri(&app, app.state.sandbox.as_ref().unwrap());
    let mut bodies = vec![first];
    for i in 0..24 {
        let booking = book(&app, "alice@sandbox.test", &format!("Guest{i}"), 2 + i % 20).await;
        bodies.push(body_for(&booking, &creator));
    }
    let signed = |body: &str| signature::sign(key.as_bytes(), now(), body.as_bytes());
    let forged = |body: &str| signature::sign(b"not the key", now(), body.as_bytes());
    let mut sends = Vec::new();
    for body in &bodies {
        sends.push(deliver(&url, body, Some(signed(body))));
        sends.push(deliver(&url, body, Some(signed(body))));
    }
    for body in bodies.iter().take(5) {
        sends.push(deliver(&url, body, Some(forged(body))));
    }
    let statuses = futures::future::join_all(sends).await;
    let with = |code: StatusCode| statuses.iter().filter(|s| **s == code).count();
    assert_eq!(with(StatusCode::ACCEPTED), 25, "{statuses:?}");
    assert_eq!(with(StatusCode::OK), 25, "{statuses:?}");
    assert_eq!(with(StatusCode::UNAUTHORIZED), 5, "{statuses:?}");
    eventually("all processed", || async {
        count(&app, "webhook_events WHERE result = 'processed'").await == 25
    })
    .await;
    assert_eq!(refusals(&app, "rejected").await, 5);
    assert_eq!(
        count(
            &app,
            "webhook_events WHERE result = 'processed' AND duplicates = 1"
        )
        .await,
        25
    );
    assert_eq!(count(&app, "jobs WHERE kind = 'webhook.process'").await, 25);
    assert_eq!(meetings(&app, &ada).await.len(), 25);
    app.stop().await;
}

/// Reschedules and cancellations delivered twice and in reverse order end
/// as the sandbox's truth.
async fn out_of_order_deliveries_converge_to_the_truth(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    connect_with_hook(&app, &ada, "alice@sandbox.test").await;
    reqwest::Client::new()
        .post(app.url("/sandbox/_control/faults"))
        .json(&json!({"provider": "calendly", "duplicate_delivery_rate": 1.0, "reorder_deliveries": true}))
        .expect_status(StatusCode::CREATED)
        .await;
    let control = reqwest::Client::new();
    let a = book(&app, "alice@sandbox.test", "Ann", 10).await;
    let b = book(&app, "alice@sandbox.test", "Ben", 11).await;
    let c = book(&app, "alice@sandbox.test", "Cy", 12).await;
    // Ann cancels her own booking; Ben's is rescheduled; Cy's stays.
    let ann = a["invitee"]["uuid"].as_str().unwrap();
    assert!(control
        .post(app.url(&format!("/sandbox/_control/calendly/bookings/{ann}/cancel")))
        .json(&json!({"reason": "sick"}))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    let ben = b["invitee"]["uuid"].as_str().unwrap();
    assert!(control
        .post(app.url(&format!(
            "/sandbox/_control/calendly/bookings/{ben}/reschedule"
        )))
        .json(&json!({"start_time": common::days_ahead(20, "15:00"), "end_time": common::days_ahead(20, "15:30")}))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    let _ = c;
    let truth: Value = control
        .get(app.url("/sandbox/_control/truth?account=alice@sandbox.test&provider=calendly"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut expected: Vec<(String, String)> = truth["calendly"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["invitees"].as_array().unwrap().iter().map(move |i| {
                let status = match (i["status"].as_str(), i["rescheduled"].as_bool()) {
                    (Some("active"), _) if e["status"] == "active" => "scheduled",
                    (_, Some(true)) => "rescheduled",
                    _ => "canceled",
                };
                (i["name"].as_str().unwrap().to_owned(), status.to_owned())
            })
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 4, "{truth}");
    eventually("calbridge matches the sandbox", || async {
        let mut got: Vec<(String, String)> = meetings(&app, &ada)
            .await
            .iter()
            .map(|m| {
                (
                    m["invitee_name"].as_str().unwrap().to_owned(),
                    m["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        got.sort();
        got == expected
    })
    .await;
    assert!(
        count(&app, "webhook_events WHERE duplicates > 0").await > 0,
        "the sandbox really delivered duplicates"
    );
    app.stop().await;
}

async fn free_plan_polling_imports_bookings(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let created = reqwest::Client::new()
        .post(app.url("/sandbox/_control/accounts"))
        .json(&json!({"provider": "calendly", "email": "frugal@sandbox.test", "name": "Frugal", "plan": "free"}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    book(&app, "frugal@sandbox.test", "Pat", 13).await;
    connect(&app, &ada, "calendly", "frugal@sandbox.test").await;
    eventually("the first poll imports the booking", || async {
        meetings(&app, &ada).await.len() == 1
    })
    .await;
    // The meeting is stored as the feed is read; the sync is stamped once
    // it is read to its end.
    eventually("the poll is recorded as the last sync", || async {
        connections(&app, &ada).await[0]["last_sync_at"].is_string()
    })
    .await;
    assert_eq!(connections(&app, &ada).await[0]["sync_mode"], "polling");
    app.stop().await;
}

async fn admins_see_and_replay_webhooks(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let bob = join_as_member(&app, &ada, "bob@example.com").await;
    connect_with_hook(&app, &ada, "alice@sandbox.test").await;
    book(&app, "alice@sandbox.test", "Pat", 14).await;
    let list = |query: &'static str| {
        let ada = ada.clone();
        let url = app.url(&format!("/api/webhook_events?{query}"));
        async move {
            ada.get(url)
                .send()
                .await
                .unwrap()
                .json::<Vec<Value>>()
                .await
                .unwrap()
        }
    };
    eventually("the delivery is processed", || async {
        list("result=processed").await.len() == 1
    })
    .await;
    let event = &list("provider=calendly&q=invitee.created").await[0];
    assert_eq!(event["user_email"], "ada@example.com");
    assert_eq!(event["event_type"], "invitee.created");
    assert!(event["dedupe_key"]
        .as_str()
        .unwrap()
        .starts_with("invitee.created|"));
    assert!(event["latency_ms"].as_i64().is_some());
    let payload = event["payload"].as_str().unwrap();
    assert!(payload.contains("\"invitee.created\""), "{payload}");
    assert!(list("q=no-such-thing").await.is_empty());
    // Members see nothing of it.
    let denied = bob
        .get(app.url("/api/webhook_events"))
        .send()
        .await
        .unwrap();
    assert!(!denied.status().is_success());

    let id = event["id"].as_str().unwrap();
    let resp = post_form(&ada, &app.url(&format!("/admin/webhooks/{id}/replay")), &[]).await;
    assert_eq!(location(&resp), "/admin/webhooks?notice=webhook_replayed");
    eventually("replayed and processed again", || async {
        count(
            &app,
            "jobs WHERE kind = 'webhook.process' AND status = 'done'",
        )
        .await
            == 2
            && list("result=processed").await.len() == 1
    })
    .await;
    assert_eq!(count(&app, "meetings").await, 1, "replay is idempotent");
    let resp = post_form(&bob, &app.url(&format!("/admin/webhooks/{id}/replay")), &[]).await;
    assert!(!location(&resp).contains("notice=webhook_replayed"));
    app.stop().await;
}

/// A correctly signed delivery whose invitee URI points at another host:
/// calbridge must not send the owner's token there (nor fetch anything),
/// and the event ends `failed` as "untrusted URL".
async fn a_payload_url_off_the_provider_api_is_never_followed(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let (url, key, body) = undelivered_booking(&app, &ada, 9).await;
    let listener = common::sandbox::start_receiver().await;
    let mut forged: Value = serde_json::from_str(&body).unwrap();
    let sandbox_prefix = app.url("/sandbox/calendly");
    let lookalikes = [
        listener.url("/sandbox/calendly/scheduled_events/E/invitees/I"),
        format!("{sandbox_prefix}/../../evil/invitees/I"),
        format!(
            "{}/sandbox/calendly/scheduled_events/E/invitees/I",
            app.base.replace("http://", "http://mallory:pw@")
        ),
    ];
    for (i, uri) in lookalikes.iter().enumerate() {
        forged["payload"]["uri"] = json!(uri);
        forged["created_at"] = json!(format!("2030-01-0{}T09:00:00.000000Z", i + 1));
        let body = forged.to_string();
        let header = signature::sign(key.as_bytes(), now(), body.as_bytes());
        assert!(deliver(&url, &body, Some(header)).await.is_success());
    }
    // The event is marked failed just before its job is recorded dead.
    eventually(
        "every forged delivery ends failed, its job dead",
        || async {
            count(&app, "webhook_events WHERE result = 'failed'").await == lookalikes.len() as i64
                && count(
                    &app,
                    "jobs WHERE kind = 'webhook.process' AND status = 'dead'",
                )
                .await
                    == lookalikes.len() as i64
        },
    )
    .await;
    let details: Vec<Option<String>> =
        sqlx::query_scalar("SELECT detail FROM webhook_events WHERE result = 'failed'")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert!(
        details
            .iter()
            .all(|d| d.as_deref() == Some("untrusted URL")),
        "{details:?}"
    );
    assert!(listener.received().is_empty(), "the listener got a request");
    assert_eq!(count(&app, "meetings").await, 0);
    assert_eq!(
        count(
            &app,
            "jobs WHERE kind = 'webhook.process' AND status = 'dead'"
        )
        .await,
        lookalikes.len() as i64,
        "refused at once, not retried"
    );
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("provider_untrusted_urls_total{provider=\"calendly\"}"),
        "{metrics}"
    );
    app.stop().await;
}

/// A booking whose location is a `javascript:` URL shows no link anywhere.
async fn a_javascript_location_never_becomes_a_link(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    connect_with_hook(&app, &ada, "alice@sandbox.test").await;
    for (day, location) in [
        (
            10,
            json!({"type": "custom", "location": "javascript:alert(1)"}),
        ),
        (
            11,
            json!({"type": "zoom", "location": "javascript:alert(1)", "join_url": "javascript:alert(1)"}),
        ),
        (
            12,
            json!({"type": "zoom", "join_url": "data:text/html,<script>alert(1)</script>"}),
        ),
    ] {
        book_with(
            &app,
            "alice@sandbox.test",
            "Mallory",
            day,
            json!({ "location": location }),
        )
        .await;
    }
    eventually("the bookings arrive", || async {
        meetings(&app, &ada).await.len() == 3
    })
    .await;
    for m in meetings(&app, &ada).await {
        assert!(m["join_url"].is_null(), "{m}");
    }
    let stored: Vec<Option<String>> = sqlx::query_scalar("SELECT join_url FROM meetings")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert!(stored.iter().all(Option::is_none), "{stored:?}");
    let html = ada
        .get(app.url("/meetings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Mallory"), "the meetings are on the page");
    let hrefs = regex::Regex::new(r#"href="([^"]*)""#).unwrap();
    for href in hrefs.captures_iter(&html) {
        let target = href[1].to_ascii_lowercase();
        assert!(
            !target.starts_with("javascript:") && !target.starts_with("data:"),
            "unsafe link rendered: {target}"
        );
    }
    app.stop().await;
}

/// A collective event (two hosts, one invitee URI) is delivered to each
/// host's own subscription: each delivery is its own event, not a
/// duplicate of the other, and each host gets the meeting.
async fn a_collective_event_becomes_a_meeting_for_each_host(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let bob = join_as_member(&app, &ada, "bob@example.com").await;
    connect_with_hook(&app, &ada, "alice@sandbox.test").await;
    connect_with_hook(&app, &bob, "bob@sandbox.test").await;
    let booking = book_with(
        &app,
        "alice@sandbox.test",
        "Pat",
        16,
        json!({ "co_host_emails": ["bob@sandbox.test"], "event_name": "Panel interview" }),
    )
    .await;
    let invitee_uri = booking["invitee"]["uri"].as_str().unwrap().to_owned();
    for (who, client) in [("ada", &ada), ("bob", &bob)] {
        eventually(&format!("the meeting reaches {who}"), || async {
            meetings(&app, client)
                .await
                .iter()
                .any(|m| m["title"] == "Panel interview" && m["invitee_name"] == "Pat")
        })
        .await;
    }
    // A meeting is published before its delivery is marked processed.
    let processed_now = || async {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT dedupe_key, duplicates FROM webhook_events WHERE result = 'processed'",
        )
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
        rows
    };
    eventually("both deliveries processed", || async {
        processed_now().await.len() >= 2
    })
    .await;
    let processed = processed_now().await;
    assert_eq!(processed.len(), 2, "{processed:?}");
    assert!(processed.iter().all(|(key, _)| key.contains(&invitee_uri)));
    assert_ne!(processed[0].0, processed[1].0);
    let owners: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT user_id) FROM meetings WHERE provider_event_id = $1",
    )
    .bind(&invitee_uri)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(owners, 2);
    app.stop().await;
}

/// Anyone can post garbage at the webhook endpoints. Forged deliveries to a
/// real hook, deliveries to hooks that do not exist and oversized Graph
/// batches are refused and counted, but stored at most once per source,
/// result and minute.
async fn garbage_cannot_grow_the_database(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let (url, _key, body) = undelivered_booking(&app, &ada, 17).await;
    let before = count(&app, "webhook_events").await;
    let forged = signature::sign(b"not the key", now(), body.as_bytes());
    let sends = (0..150).map(|i| {
        let url = url.clone();
        let body = body.clone();
        let forged = forged.clone();
        let unknown = app.url(&format!("/webhooks/calendly/no-such-hook-{i}"));
        async move {
            let a = deliver(&url, &body, Some(forged.clone())).await;
            let b = deliver(&unknown, &body, Some(forged)).await;
            (a, b)
        }
    });
    for (to_real, to_unknown) in futures::future::join_all(sends).await {
        assert_eq!(to_real, StatusCode::UNAUTHORIZED);
        assert!(
            to_unknown.is_success(),
            "unknown hooks answer 2xx: {to_unknown}"
        );
    }
    let items: Vec<Value> = (0..101)
        .map(|i| json!({"subscriptionId": format!("s{i}"), "clientState": "x", "changeType": "created", "resource": "me/events/x"}))
        .collect();
    reqwest::Client::new()
        .post(app.url("/webhooks/microsoft"))
        .json(&json!({ "value": items }))
        .expect_status(StatusCode::BAD_REQUEST)
        .await;

    let stored = count(&app, "webhook_events").await - before;
    // One per (result, source) in the minute; two if the minute turned.
    assert!(
        (3..=6).contains(&stored),
        "{stored} records for 301 bad deliveries"
    );
    let counted = refusals(&app, "rejected").await + refusals(&app, "unrouted").await;
    assert_eq!(counted, 301, "every refusal is counted");
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("webhooks_discarded_total"), "{metrics}");
    app.stop().await;
}

/// The admin overview's webhook figures are the deliveries as stored:
/// processed, duplicate and rejected counted as they happen, a replay
/// moving its delivery out and back; connections that need someone listed
/// with where to fix them; charts as SVG with a name and a table. Members
/// see none of it.
async fn the_admin_overview_counts_every_delivery(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let bob = join_as_member(&app, &ada, "bob@example.com").await;
    let (url, key, body) = undelivered_booking(&app, &ada, 10).await;
    connect_with_hook(&app, &bob, "bob@sandbox.test").await;
    let signed = signature::sign(key.as_bytes(), now(), body.as_bytes());
    for _ in 0..3 {
        let status = deliver(&url, &body, Some(signed.clone())).await;
        assert!(status.is_success(), "{status}");
    }
    let forged = signature::sign(b"not-the-key", now(), body.as_bytes());
    assert_eq!(
        deliver(&url, &body, Some(forged)).await,
        StatusCode::UNAUTHORIZED
    );
    eventually("the delivery is processed", || async {
        count(&app, "webhook_events WHERE result = 'processed'").await == 1
    })
    .await;
    let overview = |range: &'static str| {
        let ada = ada.clone();
        let url = app.url(&format!("/api/overview?range={range}"));
        async move {
            ada.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let calendly = |page: &Value| {
        page["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["provider"] == "calendly")
            .cloned()
            .unwrap()
    };
    let day = overview("24h").await;
    let figures = calendly(&day);
    assert_eq!(figures["received"], 4, "{figures}");
    assert_eq!(figures["processed"], 1);
    assert_eq!(figures["duplicate"], 2);
    assert_eq!(figures["rejected"], 1);
    assert_eq!(
        (figures["queued"].clone(), figures["failed"].clone()),
        (json!(0), json!(0))
    );
    // The figures are the stored truth: every delivery (repeats folded
    // into their record included) counted once.
    assert_eq!(
        refusals(&app, "processed").await + refusals(&app, "rejected").await,
        4
    );
    eventually("every acknowledgement latency is recorded", || async {
        calendly(&overview("24h").await)["acked"] == 4
    })
    .await;
    let figures = calendly(&overview("24h").await);
    assert!(figures["ack_avg_ms"].as_f64().unwrap() > 0.0, "{figures}");
    assert!(figures["ack_p95"].as_str().unwrap().ends_with(" ms"));
    let week = calendly(&overview("7d").await);
    assert_eq!(
        (week["received"].clone(), week["processed"].clone()),
        (json!(4), json!(1))
    );
    assert_eq!(
        day["connections"][0],
        json!({"provider": "calendly", "connected": 2, "error": 0})
    );
    assert!(day["attention"].as_array().unwrap().is_empty(), "{day}");

    // A replay takes its delivery back to queued, then processed again.
    let id: String = sqlx::query_scalar(
        "SELECT id FROM webhook_events WHERE result = 'processed' ORDER BY received_at LIMIT 1",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    post_form(&ada, &app.url(&format!("/admin/webhooks/{id}/replay")), &[]).await;
    eventually("replayed", || async {
        count(
            &app,
            "jobs WHERE kind = 'webhook.process' AND status = 'done'",
        )
        .await
            == 2
    })
    .await;
    let figures = calendly(&overview("24h").await);
    assert_eq!(
        (figures["processed"].clone(), figures["queued"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(figures["received"], 4, "a replay is not a delivery");

    // Bob's tokens stopped working, his last sync failed and Ada's
    // subscription cannot be renewed (how they get there is tested with the
    // token refresh, sync and subscription lifecycles): each is listed with
    // where to fix it.
    for trouble in [
        "UPDATE connections SET state = 'error', last_error = 'invalid_grant' \
         WHERE account_email = 'bob@sandbox.test'",
        "UPDATE subscriptions SET state = 'failed', last_error = 'Calendly said 403' WHERE connection_id = \
         (SELECT id FROM connections WHERE account_email = 'alice@sandbox.test')",
        "UPDATE sync_runs SET outcome = 'failed', error = 'the calendar timed out' WHERE connection_id = \
         (SELECT id FROM connections WHERE account_email = 'bob@sandbox.test')",
    ] {
        sqlx::query(trouble)
            .execute(app.state.db.pool())
            .await
            .unwrap();
    }
    let day = overview("24h").await;
    assert_eq!(
        day["connections"][0],
        json!({"provider": "calendly", "connected": 1, "error": 1})
    );
    let attention = day["attention"].as_array().unwrap();
    assert_eq!(attention.len(), 3, "{attention:?}");
    let sync = attention
        .iter()
        .find(|a| a["reason"] == "sync_failing")
        .unwrap();
    assert_eq!(sync["detail"], "the calendar timed out");
    assert!(sync["fix_href"]
        .as_str()
        .unwrap()
        .starts_with("/admin/sync?connection="));
    let bobs = attention
        .iter()
        .find(|a| a["user_email"] == "bob@example.com")
        .unwrap();
    assert_eq!(bobs["reason"], "reconnect_needed");
    assert_eq!(bobs["detail"], "invalid_grant");
    assert_eq!(
        bobs["fix_href"],
        "/admin/connections?provider=calendly&state=error"
    );
    let adas = attention
        .iter()
        .find(|a| a["user_email"] == "ada@example.com")
        .unwrap();
    assert_eq!(adas["reason"], "subscription_failing");
    assert_eq!(adas["detail"], "Calendly said 403");

    // The page: server-drawn charts with a name and a table, the list.
    let html = page(&app, &ada, "/admin").await;
    assert_eq!(html.matches("role=\"img\"").count(), 3, "three charts");
    assert!(html.contains("aria-label=\"Webhook deliveries per hour (UTC), last 24 hours: 4 received; 1 processed"), "{html}");
    assert_eq!(html.matches("Show as a table").count(), 3);
    assert!(html.contains("Reconnect needed") && html.contains("Webhook subscription failing"));
    assert!(html.contains("href=\"/admin/connections?provider=calendly&amp;state=error\""));
    let week_html = page(&app, &ada, "/admin?range=7d").await;
    assert!(week_html.contains("per 6 hours (UTC), last 7 days: 4 received"));

    // Live: the figures again, as HTML the page swaps in.
    let mut stream = ada
        .get(app.url("/api/admin/overview/live?range=24h"))
        .expect_status(StatusCode::OK)
        .await;
    let mut text = String::new();
    while !text.contains("Needs attention") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("figures within 10 s")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.starts_with("event: figures"), "{text}");
    drop(stream);

    // Bad input and members.
    let bad = ada
        .get(app.url("/api/overview?range=30d"))
        .send()
        .await
        .unwrap();
    assert!(bad.status().is_client_error(), "{}", bad.status());
    ada.get(app.url("/api/admin/overview/live?range=30d"))
        .expect_status(StatusCode::BAD_REQUEST)
        .await;
    for path in ["/api/overview", "/api/admin/overview/live"] {
        let denied = bob.get(app.url(path)).send().await.unwrap();
        assert!(
            denied.status().is_client_error(),
            "{path}: {}",
            denied.status()
        );
    }
    let resp = bob.get(app.url("/admin")).send().await.unwrap();
    assert!(!resp.status().is_success() || !resp.text().await.unwrap().contains("Needs attention"));
    app.stop().await;
}

on_both_backends!(
    the_admin_overview_counts_every_delivery,
    garbage_cannot_grow_the_database,
    a_collective_event_becomes_a_meeting_for_each_host,
    a_payload_url_off_the_provider_api_is_never_followed,
    a_javascript_location_never_becomes_a_link,
    a_burst_of_mixed_deliveries_is_stored_exactly,
    admins_see_and_replay_webhooks,
    a_booking_becomes_a_meeting_for_its_owner_only,
    bad_signatures_are_rejected_and_store_nothing_else,
    the_same_delivery_twenty_times_makes_one_meeting,
    out_of_order_deliveries_converge_to_the_truth,
    free_plan_polling_imports_bookings,
);
