//! Connecting sandbox calendars through the real popup flow.

use super::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

pub fn sandboxed() -> Options {
    Options {
        sandbox: true,
        ..Options::default()
    }
}

/// Follows start → consent (deciding as `account`) and returns the callback URL.
pub async fn consent(
    app: &TestApp,
    client: &reqwest::Client,
    provider: &str,
    account: &str,
    decision: &str,
) -> String {
    let start = client
        .get(app.url(&format!("/oauth/{provider}/start")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        start.status(),
        StatusCode::SEE_OTHER,
        "start redirects to the provider"
    );
    let authorize = url::Url::parse(&location(&start)).unwrap();
    assert!(
        authorize.as_str().starts_with(&app.url("/sandbox/")),
        "{authorize}"
    );
    let params: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("code_challenge_method").as_deref(), Some("S256"));
    assert!(get("state").is_some_and(|s| s.len() >= 43), "256-bit state");
    assert_eq!(
        get("redirect_uri"),
        Some(app.url(&format!("/oauth/{provider}/callback")))
    );
    if provider == "google" {
        assert_eq!(get("access_type").as_deref(), Some("offline"));
        assert_eq!(get("prompt").as_deref(), Some("consent"));
    }
    if provider == "microsoft" {
        assert!(get("scope").unwrap().contains("offline_access"));
    }
    let mut form = params.clone();
    form.push(("account".into(), account.into()));
    form.push(("decision".into(), decision.into()));
    let mut endpoint = authorize.clone();
    endpoint.set_query(None);
    let decided = client.post(endpoint).form(&form).send().await.unwrap();
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    location(&decided)
}

pub async fn connect(
    app: &TestApp,
    client: &reqwest::Client,
    provider: &str,
    account: &str,
) -> reqwest::Response {
    let callback = consent(app, client, provider, account, "allow").await;
    client.get(callback).send().await.unwrap()
}

/// Connects Alice's sandbox Calendly account; returns the connection id.
pub async fn connect_calendly(app: &TestApp, client: &reqwest::Client) -> String {
    connect(app, client, "calendly", "alice@sandbox.test").await;
    connections(app, client).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Makes calbridge believe every access token has expired.
pub async fn expire_tokens(app: &TestApp) {
    sqlx::query("UPDATE connections SET token_expires_at = 0")
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

pub async fn connections(app: &TestApp, client: &reqwest::Client) -> Vec<Value> {
    client
        .get(app.url("/api/connections"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until `check` holds, polling; panics with `what` after 20 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the sandbox has delivered every notification and no
/// webhook processing, connection setup or sync is due or running, so that
/// a test that then edits the mirror or the calendar is not overtaken by a
/// sync finishing late (a sync stores its events before it stamps
/// `last_sync_at`, and reads the feed as it is when it runs).
pub async fn syncs_settled(app: &TestApp) {
    eventually("the sandbox's notifications delivered", || async {
        sandbox_get(app, "deliveries").await["pending"] == 0
    })
    .await;
    eventually("no sync queued or running", || async {
        let busy: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM jobs WHERE kind IN ('webhook.process', 'connection.setup', 'connection.sync') \
                     AND (status = 'running' OR (status = 'queued' AND run_at <= $1))) \
                  + (SELECT COUNT(*) FROM sync_runs WHERE outcome = 'running')",
        )
        .bind(chrono::Utc::now().timestamp_millis())
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
        busy == 0
    })
    .await;
}

/// Holds back the sandbox's push notifications for `provider`, so a change
/// in the calendar stays unseen until calbridge writes (after the ones
/// already sent have been taken in).
pub async fn hold_notifications(app: &TestApp, provider: &str) {
    syncs_settled(app).await;
    control(
        app,
        reqwest::Method::POST,
        "faults",
        serde_json::json!({"provider": provider, "drop_rate": 1.0}),
    )
    .await;
}

pub async fn clear_faults(app: &TestApp) {
    control(
        app,
        reqwest::Method::DELETE,
        "faults",
        serde_json::json!({}),
    )
    .await;
}

/// Secrets of one owner kind left in the vault.
pub async fn secrets_of(app: &TestApp, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM secrets WHERE owner_kind = $1")
        .bind(kind)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

/// The upcoming meetings on the caller's `/meetings` page, flattened.
pub async fn meetings(app: &TestApp, client: &reqwest::Client) -> Vec<Value> {
    let page: Value = client
        .get(app.url("/api/meetings?past=false"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["meetings"].as_array().unwrap().clone())
        .collect()
}

/// The kinds of token-endpoint activity a sandbox saw, in order
/// (`sandbox_base` ends in `/sandbox`).
pub async fn token_events_at(sandbox_base: &str) -> Vec<String> {
    let events: Value = reqwest::get(format!("{sandbox_base}/_control/oauth/events"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// A member's user id, from the admin's member list.
pub async fn member_id(app: &TestApp, admin: &reqwest::Client, email: &str) -> String {
    members(app, admin).await["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// How many watch channels the sandbox's Google holds active.
pub async fn active_google_channels(app: &TestApp) -> usize {
    let channels: Value = reqwest::get(app.url("/sandbox/_control/google/channels"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "active")
        .count()
}

/// Reads a `/api/live` stream until an event named `name` arrives (false
/// after 5 s).
pub async fn next_live_event(stream: &mut reqwest::Response, name: &str) -> bool {
    let wanted = format!("event: {name}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, stream.chunk()).await {
        if String::from_utf8_lossy(&chunk).contains(&wanted) {
            return true;
        }
    }
    false
}

/// A call to the app's built-in sandbox control API that must succeed.
pub async fn control(app: &TestApp, method: reqwest::Method, path: &str, body: Value) {
    let resp = reqwest::Client::new()
        .request(method, app.url(&format!("/sandbox/_control/{path}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
}

/// A GET of the sandbox's control API.
pub async fn sandbox_get(app: &TestApp, path: &str) -> Value {
    reqwest::get(app.url(&format!("/sandbox/_control/{path}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The sandbox's own record of a Google event, by id.
pub async fn google_truth(app: &TestApp, id: &str) -> Vec<Value> {
    let truth = sandbox_get(app, "truth?account=alice@sandbox.test&provider=google").await;
    truth["google"]["calendars"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["events"].as_array().unwrap().clone())
        .filter(|e| e["id"] == id)
        .collect()
}

/// Unix ms as an RFC 3339 time (UTC).
pub fn stamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339()
}

/// An RFC 3339 time as Unix ms.
pub fn instant(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp_millis()
}

/// Logs in as `email` and connects `provider` as `account`; waits for the
/// calendar list. The user's client.
pub async fn connected(
    app: &TestApp,
    email: &str,
    provider: &str,
    account: &str,
) -> reqwest::Client {
    let user = app.client();
    log_in(app, &user, email, PASSWORD).await;
    connect(app, &user, provider, account).await;
    eventually("calendars listed", || async {
        connections(app, &user).await.iter().any(|c| {
            c["provider"] == provider
                && c["calendars"]
                    .as_array()
                    .is_some_and(|cals| !cals.is_empty())
        })
    })
    .await;
    user
}
