//! The sync log over real HTTP against the sandbox: the first import, each
//! notification-driven sync, Sync now and Full resync are runs with their
//! trigger, counts, items and outcome; a resync of unchanged data changes
//! nothing; the progress stream follows a run to its end; `/admin/sync`
//! filters; a member syncs only their own connection and sees only their
//! own runs. Both backends.

use crate::common;
use crate::common::Expect;

use common::connect::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn sync_page(app: &TestApp, admin: &reqwest::Client, query: &str) -> Value {
    let resp = admin
        .get(app.url(&format!("/api/sync_runs?{query}")))
        .expect_status(StatusCode::OK)
        .await;
    resp.json().await.unwrap()
}

async fn runs(app: &TestApp, admin: &reqwest::Client, query: &str) -> Vec<Value> {
    sync_page(app, admin, query).await["runs"]
        .as_array()
        .unwrap()
        .clone()
}

/// The newest run the query lists that `pick` accepts, waiting for it.
async fn run_where(
    app: &TestApp,
    admin: &reqwest::Client,
    query: &str,
    pick: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(run) = runs(app, admin, query).await.into_iter().find(&pick) {
            return run;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for a run: {query}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The newest finished run with this trigger.
async fn finished_run(app: &TestApp, admin: &reqwest::Client, trigger: &str) -> Value {
    run_where(app, admin, &format!("trigger={trigger}"), |r| {
        r["outcome"] != "running"
    })
    .await
}

fn count(run: &Value, name: &str) -> i64 {
    run["counts"][name].as_i64().unwrap()
}

async fn items(app: &TestApp, admin: &reqwest::Client, run: &Value) -> Vec<Value> {
    let id = run["id"].as_str().unwrap();
    let detail: Value = admin
        .get(app.url(&format!("/api/sync_run?id={id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    detail["items"].as_array().unwrap().clone()
}

fn event(summary: &str, day: u32) -> Value {
    json!({
        "owner_email": "alice@sandbox.test",
        "summary": summary,
        "start": common::days_ahead(day, "09:00"),
        "end": common::days_ahead(day, "10:00"),
        "attendees": ["guest@example.com"],
    })
}

async fn every_sync_is_a_run_with_its_counts(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    control(
        &app,
        reqwest::Method::POST,
        "google/events",
        event("Planning", 3),
    )
    .await;
    connect(&app, &ada, "google", "alice@sandbox.test").await;

    // The first import: read from scratch, the event imported.
    let first = finished_run(&app, &ada, "setup").await;
    assert_eq!(first["outcome"], "succeeded", "{first}");
    assert_eq!(first["full_read"], true);
    assert_eq!(first["provider"], "google");
    assert_eq!(first["account_email"], "alice@sandbox.test");
    assert_eq!(count(&first, "imported"), 1, "{first}");
    assert_eq!(first["feeds_done"], first["feeds_total"]);
    let imported = items(&app, &ada, &first).await;
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0]["action"], "imported");
    assert_eq!(imported[0]["title"], "Planning");

    // A change in the calendar: a notification, an incremental run.
    eventually("subscribed", || async {
        connections(&app, &ada).await[0]["subscription"]["active"] == 1
    })
    .await;
    control(
        &app,
        reqwest::Method::POST,
        "google/events",
        event("Retro", 4),
    )
    .await;
    let pushed = run_where(&app, &ada, "trigger=webhook&outcome=succeeded", |r| {
        count(r, "imported") == 1
    })
    .await;
    assert_eq!(pushed["full_read"], false, "incremental: {pushed}");
    assert_eq!(count(&pushed, "updated") + count(&pushed, "deleted"), 0);
    let pushed_items = items(&app, &ada, &pushed).await;
    assert_eq!(pushed_items[0]["title"], "Retro");

    // Sync now with nothing new, then a full resync of unchanged data:
    // both succeed and change nothing.
    let connection = connections(&app, &ada).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = post_form(
        &ada,
        &app.url(&format!("/admin/connections/{connection}/sync")),
        &[],
    )
    .await;
    assert_eq!(location(&resp), "/admin/sync?notice=sync_queued");
    let manual = finished_run(&app, &ada, "manual").await;
    assert_eq!(manual["outcome"], "succeeded", "{manual}");
    assert_eq!(manual["counts"]["imported"], 0);
    assert_eq!(manual["full_read"], false);

    let since = chrono_now_ms();
    let resp = post_form(
        &ada,
        &app.url(&format!("/admin/connections/{connection}/resync")),
        &[],
    )
    .await;
    assert_eq!(location(&resp), "/admin/sync?notice=resync_queued");
    // The progress stream follows the run to its end.
    let mut stream = ada
        .get(app.url(&format!(
            "/api/sync/progress?connection={connection}&since={since}"
        )))
        .expect_status(StatusCode::OK)
        .await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, stream.chunk()).await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        seen.contains("\"outcome\":\"succeeded\""),
        "the stream ends with the run: {seen}"
    );
    let resync = finished_run(&app, &ada, "resync").await;
    assert_eq!(resync["outcome"], "succeeded");
    assert_eq!(resync["full_read"], true, "{resync}");
    assert_eq!(
        count(&resync, "imported") + count(&resync, "updated") + count(&resync, "deleted"),
        0,
        "re-reading unchanged events changes nothing: {resync}"
    );

    // Filters: by trigger and by outcome.
    let manual_only = runs(&app, &ada, "trigger=manual").await;
    assert!(manual_only.iter().all(|r| r["trigger"] == "manual"));
    assert!(runs(&app, &ada, "outcome=failed").await.is_empty());
    assert!(runs(&app, &ada, "provider=calendly").await.is_empty());
    let page = sync_page(&app, &ada, "").await;
    let health = &page["health"][0];
    assert_eq!(health["connection"], connection.as_str());
    assert!(health["last_success_at"].is_string());
    assert_eq!(health["last_failure"], Value::Null);
    // The page renders the log.
    let html = ada
        .get(app.url("/admin/sync?trigger=resync"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-trigger=\"resync\""), "{html}");
    assert!(!html.contains("data-trigger=\"webhook\""));
    // A bad filter is a clear 4xx.
    let bad = ada
        .get(app.url("/api/sync_runs?outcome=sideways"))
        .send()
        .await
        .unwrap();
    assert!(bad.status().is_client_error(), "{}", bad.status());

    // A member: not the admin page, not someone else's connection.
    let max = join_as_member(&app, &ada, "max@example.com").await;
    let denied = max.get(app.url("/api/sync_runs")).send().await.unwrap();
    assert!(denied.status().is_client_error());
    let resp = post_form(
        &max,
        &app.url(&format!("/settings/calendars/{connection}/sync")),
        &[],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "not max's connection");
    max.get(app.url(&format!(
        "/api/sync/progress?connection={connection}&since=0"
    )))
    .expect_status(StatusCode::NOT_FOUND)
    .await;
    assert!(
        own_runs(&app, &max).await.is_empty(),
        "ada's runs are not max's"
    );
    assert!(own_runs(&app, &ada).await.len() >= 4);

    // The runs, their items and their durations are metrics too.
    let metrics = app
        .client()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = |name: &str, labels: &[&str]| {
        metrics.lines().any(|line| {
            line.starts_with(&format!("{name}{{")) && labels.iter().all(|l| line.contains(l))
        })
    };
    assert!(
        series(
            "calbridge_sync_runs_total",
            &[
                "provider=\"google\"",
                "trigger=\"setup\"",
                "outcome=\"succeeded\""
            ]
        ),
        "{metrics}"
    );
    assert!(
        series(
            "calbridge_sync_items_total",
            &["provider=\"google\"", "action=\"imported\""]
        ),
        "{metrics}"
    );
    assert!(
        series("calbridge_sync_seconds_bucket", &["provider=\"google\""])
            || series(
                "calbridge_sync_seconds",
                &["provider=\"google\"", "quantile="]
            ),
        "{metrics}"
    );
    app.stop().await;
}

async fn own_runs(app: &TestApp, client: &reqwest::Client) -> Vec<Value> {
    client
        .get(app.url("/api/my_sync_runs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The server's clock and the test's are the same machine's.
fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

on_both_backends!(every_sync_is_a_run_with_its_counts);
