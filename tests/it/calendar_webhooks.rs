//! Google push notifications and Microsoft Graph notifications over real
//! HTTP against the sandbox: an owner's change in the calendar reaches
//! calbridge as a notification, which queues an incremental sync (Google
//! sync tokens, 410 → full resync; Graph delta with `@removed`); wrong
//! channel tokens and clientStates are rejected; unknown channels are
//! ignored; Graph lifecycle events recreate subscriptions. Both backends.

use crate::common;
use crate::common::Expect;

use common::connect::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn statuses(list: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|m| {
            (
                m["title"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

async fn results(app: &TestApp, provider: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT result FROM webhook_events WHERE provider = $1 ORDER BY received_at, id",
    )
    .bind(provider)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap()
}

async fn control(app: &TestApp, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(app.url(&format!("/sandbox/_control/{path}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

async fn connected_and_synced(app: &TestApp, client: &reqwest::Client, provider: &str) {
    connect(app, client, provider, "alice@sandbox.test").await;
    eventually("subscribed and first import done", || async {
        let list = connections(app, client).await;
        list.iter().any(|c| {
            c["provider"] == provider
                && c["subscription"]["active"] == 1
                && c["last_sync_at"].is_string()
        })
    })
    .await;
}

fn event(summary: &str, day: u32) -> Value {
    json!({
        "owner_email": "alice@sandbox.test",
        "summary": summary,
        "start": common::days_ahead(day, "09:00"),
        "end": common::days_ahead(day, "10:00"),
        "attendees": ["guest@example.com"],
        "online_meeting": true,
    })
}

async fn google_notifications_drive_incremental_syncs(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    connected_and_synced(&app, &ada, "google").await;

    let created = control(&app, "google/events", event("Planning", 3)).await;
    eventually("the new event arrives", || async {
        statuses(&meetings(&app, &ada).await) == [("Planning".to_owned(), "scheduled".to_owned())]
    })
    .await;
    let m = &meetings(&app, &ada).await[0];
    assert!(
        m["join_url"]
            .as_str()
            .is_some_and(|u| u.contains("meet.google.com")),
        "{m}"
    );
    assert!(
        results(&app, "google").await.iter().any(|r| r == "ignored"),
        "the sync handshake is ignored"
    );
    eventually("the notification is processed", || async {
        results(&app, "google")
            .await
            .iter()
            .any(|r| r == "processed")
    })
    .await;

    // Deleted in Google: canceled here.
    let id = created["id"].as_str().unwrap();
    let resp = reqwest::Client::new()
        .delete(app.url(&format!(
            "/sandbox/_control/google/events/{id}?owner_email=alice@sandbox.test"
        )))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    eventually("the deletion arrives", || async {
        statuses(&meetings(&app, &ada).await) == [("Planning".to_owned(), "canceled".to_owned())]
    })
    .await;

    // Google forgets the sync token: 410, then a full resync.
    control(
        &app,
        "google/invalidate-sync-tokens",
        json!({"owner_email": "alice@sandbox.test"}),
    )
    .await;
    control(&app, "google/events", event("Retro", 4)).await;
    eventually("the full resync finds the new event", || async {
        statuses(&meetings(&app, &ada).await)
            == [
                ("Planning".to_owned(), "canceled".to_owned()),
                ("Retro".to_owned(), "scheduled".to_owned()),
            ]
    })
    .await;

    // Forged and unknown channels.
    let channel: String =
        sqlx::query_scalar("SELECT external_id FROM subscriptions WHERE provider = 'google'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    let notify = |channel: String, token: &'static str| {
        reqwest::Client::new()
            .post(app.url("/webhooks/google"))
            .header("X-Goog-Channel-ID", channel)
            .header("X-Goog-Channel-Token", token)
            .header("X-Goog-Resource-State", "exists")
            .header("X-Goog-Message-Number", "999")
            .send()
    };
    let before = meetings(&app, &ada).await;
    assert_eq!(
        notify(channel, "forged").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        notify("no-such-channel".into(), "x")
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let recorded = results(&app, "google").await;
    assert_eq!(recorded.iter().filter(|r| *r == "rejected").count(), 1);
    // Unroutable notifications of one minute share one record and count
    // (two records if the minute turned in between).
    let ignored: Vec<i64> =
        sqlx::query_scalar("SELECT duplicates FROM webhook_events WHERE result = 'ignored'")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert!((1..=2).contains(&ignored.len()), "{ignored:?}");
    let seen: i64 = ignored.iter().map(|d| d + 1).sum();
    assert!(seen >= 2, "the unknown channel was counted: {ignored:?}");
    assert_eq!(meetings(&app, &ada).await, before, "nothing changed");
    app.stop().await;
}

async fn graph_notifications_drive_delta_syncs_and_lifecycle(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    connected_and_synced(&app, &ada, "microsoft").await;

    let created = control(&app, "microsoft/events", event("Standup", 5)).await;
    eventually("the new event arrives", || async {
        statuses(&meetings(&app, &ada).await) == [("Standup".to_owned(), "scheduled".to_owned())]
    })
    .await;
    let m = &meetings(&app, &ada).await[0];
    assert!(
        m["join_url"].as_str().is_some_and(|u| u.contains("teams")),
        "{m}"
    );

    // Deleted in Outlook: the delta says @removed.
    let id = created["id"].as_str().unwrap();
    let resp = reqwest::Client::new()
        .delete(app.url(&format!(
            "/sandbox/_control/microsoft/events/{id}?owner_email=alice@sandbox.test"
        )))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    eventually("the removal arrives", || async {
        statuses(&meetings(&app, &ada).await) == [("Standup".to_owned(), "canceled".to_owned())]
    })
    .await;

    // A notification with the wrong clientState is refused.
    let sub_id = app
        .state
        .sandbox
        .as_ref()
        .unwrap()
        .world()
        .microsoft
        .subscriptions[0]
        .id
        .clone();
    let forged = json!({"value": [{
        "subscriptionId": sub_id, "clientState": "guess", "changeType": "created",
        "resource": "me/events/x", "resourceData": {"id": "x"}
    }]});
    reqwest::Client::new()
        .post(app.url("/webhooks/microsoft"))
        .json(&forged)
        .expect_status(StatusCode::UNAUTHORIZED)
        .await;
    assert!(results(&app, "microsoft")
        .await
        .iter()
        .any(|r| r == "rejected"));
    reqwest::Client::new()
        .post(app.url("/webhooks/microsoft"))
        .body("{nope")
        .expect_status(StatusCode::BAD_REQUEST)
        .await;

    // Graph removes the subscription: calbridge creates a new one.
    control(
        &app,
        "microsoft/lifecycle",
        json!({"subscription_id": sub_id, "kind": "subscriptionRemoved"}),
    )
    .await;
    let sandbox = app.state.sandbox.as_ref().unwrap();
    eventually("a new subscription replaces the removed one", || async {
        let world = sandbox.world();
        world.microsoft.subscriptions.len() == 1 && world.microsoft.subscriptions[0].id != sub_id
    })
    .await;
    eventually("calbridge records it", || async {
        connections(&app, &ada).await[0]["subscription"]["active"] == 1
    })
    .await;
    app.stop().await;
}

/// Ada disconnects her Google account; Bob then connects the same account.
/// The connection's data moves with it: Ada sees nothing of it any more
/// (not even later changes), Bob gets it all re-imported, and at the
/// provider only Bob's watch channel is left.
async fn a_reconnected_account_takes_its_data_to_the_new_owner(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let bob = join_as_member(&app, &ada, "bob@example.com").await;
    connected_and_synced(&app, &ada, "google").await;
    control(&app, "google/events", event("Planning", 3)).await;
    eventually("ada sees the event", || async {
        meetings(&app, &ada).await.len() == 1
    })
    .await;
    let id = connections(&app, &ada).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = post_form(
        &ada,
        &app.url(&format!("/settings/calendars/{id}/disconnect")),
        &[],
    )
    .await;
    assert_eq!(location(&resp), "/settings/calendars?notice=disconnected");
    // The clean-up revokes Ada's grant at Google, which would take a grant
    // issued meanwhile with it (providers revoke per grant): let it finish.
    eventually("ada's clean-up finished", || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'connection.cleanup' AND status = 'done'",
        )
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
            == 1
    })
    .await;

    connected_and_synced(&app, &bob, "google").await;
    assert_eq!(
        connections(&app, &bob).await[0]["id"],
        id.as_str(),
        "the same account"
    );
    assert!(meetings(&app, &ada).await.is_empty(), "ada's copy is gone");
    eventually("bob gets the calendar imported", || async {
        statuses(&meetings(&app, &bob).await) == [("Planning".to_owned(), "scheduled".to_owned())]
    })
    .await;
    control(&app, "google/events", event("Retro", 4)).await;
    eventually("bob sees the next change", || async {
        meetings(&app, &bob).await.len() == 2
    })
    .await;
    assert!(meetings(&app, &ada).await.is_empty(), "ada never sees it");
    let owners: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT u.email FROM meetings m JOIN users u ON u.id = m.user_id",
    )
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(owners, ["bob@example.com"]);
    eventually("only bob's watch channel is left at Google", || async {
        active_google_channels(&app).await == 1
    })
    .await;
    app.stop().await;
}

/// A Google series (daily, in Berlin time), an all-day event and an event
/// in New York time, imported as the owner's meetings; then one instance
/// moved and one cancelled in Google: only those two change.
async fn series_all_day_and_other_zones_import_as_they_are(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    connected_and_synced(&app, &ada, "google").await;

    // 08:00 in Berlin on five days in a row (UTC+1 in December).
    let first = chrono::Utc::now().date_naive() + chrono::Days::new(3);
    let series = control(
        &app,
        "google/events",
        json!({"owner_email": "alice@sandbox.test", "summary": "Standup",
               "start": format!("{first}T08:00:00+01:00"), "end": format!("{first}T08:15:00+01:00"),
               "time_zone": "Europe/Berlin", "repeat": {"frequency": "daily", "count": 5}}),
    )
    .await;
    assert_eq!(series["recurrence"], json!(["RRULE:FREQ=DAILY;COUNT=5"]));
    let offsite = first + chrono::Days::new(10);
    control(
        &app,
        "google/events",
        json!({"owner_email": "alice@sandbox.test", "summary": "Offsite",
               "start": format!("{offsite}T00:00:00Z"),
               "end": format!("{}T00:00:00Z", offsite + chrono::Days::new(2)), "all_day": true}),
    )
    .await;
    control(
        &app,
        "google/events",
        json!({"owner_email": "alice@sandbox.test", "summary": "Call with New York",
               "start": format!("{first}T09:00:00-05:00"), "end": format!("{first}T09:30:00-05:00"),
               "time_zone": "America/New_York"}),
    )
    .await;

    let titled = |list: &[Value], title: &str| -> Vec<Value> {
        list.iter()
            .filter(|m| m["title"] == title)
            .cloned()
            .collect()
    };
    let at = |day: chrono::NaiveDate, hh_mm: &str, offset: &str| {
        instant(&format!("{day}T{hh_mm}:00{offset}"))
    };
    let standups: Vec<i64> = (0..5)
        .map(|k| at(first + chrono::Days::new(k), "08:00", "+01:00"))
        .collect();
    eventually(
        "the series, the all-day event and the New York call arrive",
        || async {
            let list = meetings(&app, &ada).await;
            titled(&list, "Standup").len() == 5
                && titled(&list, "Offsite").len() == 1
                && titled(&list, "Call with New York").len() == 1
        },
    )
    .await;
    let list = meetings(&app, &ada).await;
    let mut starts: Vec<i64> = titled(&list, "Standup")
        .iter()
        .map(|m| instant(m["starts_at"].as_str().unwrap()))
        .collect();
    starts.sort();
    assert_eq!(
        starts, standups,
        "one meeting per instance, each at 08:00 Berlin"
    );
    let offsite_meeting = &titled(&list, "Offsite")[0];
    assert_eq!(
        (
            instant(offsite_meeting["starts_at"].as_str().unwrap()),
            instant(offsite_meeting["ends_at"].as_str().unwrap())
        ),
        (
            at(offsite, "00:00", "Z"),
            at(offsite + chrono::Days::new(2), "00:00", "Z")
        ),
        "an all-day event keeps its dates, the end exclusive"
    );
    let call = &titled(&list, "Call with New York")[0];
    assert_eq!(
        instant(call["starts_at"].as_str().unwrap()),
        at(first, "15:00", "+01:00"),
        "09:00 in New York is 15:00 in Berlin"
    );
    assert_eq!(call["local_start"], "15:00", "shown in Ada's zone");

    // Alice moves the second instance by two hours and cancels the fourth.
    let instance = |k: usize| {
        let start = chrono::DateTime::from_timestamp_millis(standups[k]).unwrap();
        format!(
            "{}_{}",
            series["id"].as_str().unwrap(),
            start.format("%Y%m%dT%H%M%SZ")
        )
    };
    let moved_start = standups[1] + 2 * 3_600_000;
    common::connect::control(
        &app,
        reqwest::Method::PATCH,
        &format!("google/events/{}", instance(1)),
        json!({"owner_email": "alice@sandbox.test",
               "start": stamp(moved_start), "end": stamp(moved_start + 900_000)}),
    )
    .await;
    common::connect::control(
        &app,
        reqwest::Method::DELETE,
        &format!(
            "google/events/{}?owner_email=alice@sandbox.test",
            instance(3)
        ),
        json!({}),
    )
    .await;
    let expected: Vec<(i64, &str)> = vec![
        (standups[0], "scheduled"),
        (standups[2], "scheduled"),
        (standups[3], "canceled"),
        (standups[4], "scheduled"),
        (moved_start, "scheduled"),
    ];
    eventually("the moved and the cancelled instance follow", || async {
        let mut got: Vec<(i64, String)> = titled(&meetings(&app, &ada).await, "Standup")
            .iter()
            .map(|m| {
                (
                    instant(m["starts_at"].as_str().unwrap()),
                    m["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        got.sort();
        let mut want: Vec<(i64, String)> = expected
            .iter()
            .map(|(t, s)| (*t, (*s).to_owned()))
            .collect();
        want.sort();
        got == want
    })
    .await;
    app.stop().await;
}

/// An Outlook series in New York time imports as its occurrences, an
/// all-day event as its dates; one occurrence moved and one deleted in
/// Outlook follow through the delta feed.
async fn an_outlook_series_imports_as_its_occurrences(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    connected_and_synced(&app, &ada, "microsoft").await;

    let first = chrono::Utc::now().date_naive() + chrono::Days::new(3);
    let series = control(
        &app,
        "microsoft/events",
        json!({"owner_email": "alice@sandbox.test", "summary": "Weekly sync",
               "start": format!("{first}T09:00:00-05:00"), "end": format!("{first}T09:30:00-05:00"),
               "time_zone": "America/New_York", "repeat": {"frequency": "weekly", "count": 4}}),
    )
    .await;
    assert_eq!(series["type"], "seriesMaster");
    assert_eq!(series["recurrence"]["range"]["numberOfOccurrences"], 4);
    let weekly: Vec<i64> = (0..4)
        .map(|k| instant(&format!("{}T14:00:00Z", first + chrono::Days::new(7 * k))))
        .collect();
    let shown = || async {
        let mut got: Vec<(i64, String)> = meetings(&app, &ada)
            .await
            .iter()
            .filter(|m| m["title"] == "Weekly sync")
            .map(|m| {
                (
                    instant(m["starts_at"].as_str().unwrap()),
                    m["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        got.sort();
        got
    };
    let scheduled = |times: &[i64]| -> Vec<(i64, String)> {
        times.iter().map(|t| (*t, "scheduled".to_owned())).collect()
    };
    eventually("the occurrences arrive, not the master", || async {
        shown().await == scheduled(&weekly)
    })
    .await;

    // An all-day event in New York keeps its dates (end exclusive), as
    // Graph gives them: midnight, the same dates in every zone.
    let offsite = first + chrono::Days::new(10);
    let made = control(
        &app,
        "microsoft/events",
        json!({"owner_email": "alice@sandbox.test", "summary": "Offsite",
               "start": format!("{offsite}T00:00:00-05:00"),
               "end": format!("{}T00:00:00-05:00", offsite + chrono::Days::new(2)),
               "time_zone": "America/New_York", "all_day": true}),
    )
    .await;
    assert_eq!(made["isAllDay"], true);
    eventually("the all-day event arrives", || async {
        meetings(&app, &ada)
            .await
            .iter()
            .any(|m| m["title"] == "Offsite")
    })
    .await;
    let list = meetings(&app, &ada).await;
    let offsite_meeting = list.iter().find(|m| m["title"] == "Offsite").unwrap();
    assert_eq!(
        (
            instant(offsite_meeting["starts_at"].as_str().unwrap()),
            instant(offsite_meeting["ends_at"].as_str().unwrap())
        ),
        (
            instant(&format!("{offsite}T00:00:00Z")),
            instant(&format!("{}T00:00:00Z", offsite + chrono::Days::new(2)))
        ),
        "an all-day event keeps its dates, the end exclusive"
    );

    let truth = sandbox_get(&app, "truth?account=alice@sandbox.test&provider=microsoft").await;
    let mut occurrences: Vec<(i64, String)> = truth["microsoft"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["seriesMasterId"] == series["id"])
        .map(|e| {
            (
                instant(e["start"].as_str().unwrap()),
                e["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    occurrences.sort();
    assert_eq!(occurrences.len(), 4);
    let moved = weekly[1] + 3_600_000;
    common::connect::control(
        &app,
        reqwest::Method::PATCH,
        &format!("microsoft/events/{}", occurrences[1].1),
        json!({"owner_email": "alice@sandbox.test",
               "start": stamp(moved), "end": stamp(moved + 1_800_000)}),
    )
    .await;
    common::connect::control(
        &app,
        reqwest::Method::DELETE,
        &format!(
            "microsoft/events/{}?owner_email=alice@sandbox.test",
            occurrences[2].1
        ),
        json!({}),
    )
    .await;
    let mut want = vec![
        (weekly[0], "scheduled".to_owned()),
        (moved, "scheduled".to_owned()),
        (weekly[2], "canceled".to_owned()),
        (weekly[3], "scheduled".to_owned()),
    ];
    want.sort();
    eventually("the moved and the deleted occurrence follow", || async {
        shown().await == want
    })
    .await;
    app.stop().await;
}

on_both_backends!(
    an_outlook_series_imports_as_its_occurrences,
    series_all_day_and_other_zones_import_as_they_are,
    a_reconnected_account_takes_its_data_to_the_new_owner,
    google_notifications_drive_incremental_syncs,
    graph_notifications_drive_delta_syncs_and_lifecycle,
);
