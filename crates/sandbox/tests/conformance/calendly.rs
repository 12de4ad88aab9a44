//! The Calendly API v2 emulator over real HTTP: OAuth with Calendly's
//! semantics, the REST API a client reads, signed webhook deliveries with
//! retries and disabling, reschedules, faults and ground truth.

use calbridge_sandbox::testing::*;
use calbridge_sandbox::Provider;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashSet;
use std::time::Duration;

const CLIENT: &str = "calbridge-calendly";
const SECRET: &str = "calendly-client-secret";
const REDIRECT: &str = "http://127.0.0.1:9/oauth/calendly/callback";
const ALICE: &str = "alice@sandbox.test";
const BOB: &str = "bob@sandbox.test";

async fn setup() -> SandboxServer {
    let srv = start_sandbox(42).await;
    srv.app(Provider::Calendly, CLIENT, SECRET, REDIRECT).await;
    srv
}

/// Connects `email`; returns (access token, token response).
async fn connect(srv: &SandboxServer, email: &str) -> (String, Value) {
    let t = srv
        .connect(Provider::Calendly, CLIENT, SECRET, REDIRECT, email)
        .await;
    (t["access_token"].as_str().unwrap().to_owned(), t)
}

struct Answer {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

async fn call(
    srv: &SandboxServer,
    token: &str,
    method: Method,
    url: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let url = if url.starts_with("http") {
        url.to_owned()
    } else {
        srv.url(url)
    };
    let mut req = srv
        .client
        .request(method, url)
        .bearer_auth(token)
        .query(query);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    }
}

async fn get(srv: &SandboxServer, token: &str, url: &str, query: &[(&str, &str)]) -> Answer {
    call(srv, token, Method::GET, url, query, None).await
}

async fn post(srv: &SandboxServer, token: &str, url: &str, body: Value) -> Answer {
    call(srv, token, Method::POST, url, &[], Some(body)).await
}

/// Books `host` for the `n`-th hour after 2030-01-01 09:00 UTC.
async fn book(srv: &SandboxServer, host: &str, n: i64) -> Value {
    let start = chrono::DateTime::parse_from_rfc3339("2030-01-01T09:00:00Z").unwrap()
        + chrono::Duration::hours(n);
    let end = start + chrono::Duration::minutes(30);
    srv.control(
        "/_control/calendly/bookings",
        json!({
            "host_email": host,
            "invitee_name": format!("Invitee {n}"),
            "invitee_email": format!("invitee{n}@example.com"),
            "start_time": start.to_rfc3339(),
            "end_time": end.to_rfc3339(),
            "event_name": "30 Minute Meeting",
        }),
    )
    .await
}

async fn subscribe(
    srv: &SandboxServer,
    token: &str,
    me: &Value,
    url: &str,
    events: &[&str],
    key: Option<&str>,
) -> Answer {
    let mut body = json!({
        "url": url,
        "events": events,
        "organization": me["current_organization"],
        "user": me["uri"],
        "scope": "user",
    });
    if let Some(k) = key {
        body["signing_key"] = json!(k);
    }
    post(srv, token, "/calendly/webhook_subscriptions", body).await
}

async fn me(srv: &SandboxServer, token: &str) -> Value {
    let a = get(srv, token, "/calendly/users/me", &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["resource"].clone()
}

fn body_json(r: &Received) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn event_is(name: &'static str) -> impl Fn(&Received) -> bool {
    move |r: &Received| body_json(r)["event"] == name
}

async fn settings(srv: &SandboxServer, patch: Value) {
    srv.control("/_control/settings", patch).await;
}

/// Refreshes with HTTP Basic client auth.
async fn refresh(srv: &SandboxServer, refresh_token: &str) -> (u16, Value) {
    let resp = srv
        .client
        .post(srv.url("/calendly-auth/oauth/token"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

// ------------------------------------------------------------------ OAuth

#[tokio::test]
async fn oauth_rejects_wrong_redirect_uri_and_reused_codes() {
    let srv = setup().await;
    let verifier = "verifier-verifier-verifier-verifier-verifier-0123";
    let challenge = pkce_challenge(verifier);
    let params = |redirect: &'static str| {
        vec![
            ("client_id", CLIENT.to_owned()),
            ("redirect_uri", redirect.to_owned()),
            ("response_type", "code".to_owned()),
            ("state", "s1".to_owned()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
        ]
    };
    // Wrong redirect URI: an error page, never a redirect carrying a code.
    let wrong = params("https://attacker.example/cb");
    let page = srv
        .client
        .get(srv.url("/calendly-auth/oauth/authorize"))
        .query(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    assert!(location(&page).is_empty());
    let mut form = wrong.clone();
    form.push(("account", ALICE.to_owned()));
    form.push(("decision", "allow".to_owned()));
    let decided = srv
        .client
        .post(srv.url("/calendly-auth/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), 400);
    assert!(location(&decided).is_empty(), "no redirect with a code");

    // Right redirect URI: a code, good once.
    let good = params(REDIRECT);
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let redirect = srv.consent(Provider::Calendly, &good, ALICE, "allow").await;
    let loc = location(&redirect);
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert_eq!(query_param(&loc, "state").as_deref(), Some("s1"));
    let code = query_param(&loc, "code").unwrap();
    let exchange = || {
        srv.client
            .post(srv.url("/calendly-auth/oauth/token"))
            .basic_auth(CLIENT, Some(SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ])
            .send()
    };
    let first = exchange().await.unwrap();
    assert_eq!(first.status(), 200);
    let second = exchange().await.unwrap();
    assert_eq!(second.status(), 400);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn oauth_refresh_tokens_are_single_use_and_rotate() {
    let srv = setup().await;
    let (access, tokens) = connect(&srv, ALICE).await;
    let me = me(&srv, &access).await;
    assert_eq!(tokens["owner"], me["uri"]);
    assert_eq!(tokens["organization"], me["current_organization"]);
    assert_eq!(tokens["token_type"], "Bearer");
    let rt1 = tokens["refresh_token"].as_str().unwrap().to_owned();

    let (status, rotated) = refresh(&srv, &rt1).await;
    assert_eq!(status, 200, "{rotated}");
    let rt2 = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2, "refresh token rotates");
    assert_eq!(rotated["owner"], me["uri"]);
    let access2 = rotated["access_token"].as_str().unwrap();
    assert_eq!(
        get(&srv, access2, "/calendly/users/me", &[]).await.status,
        200
    );

    // The old refresh token is spent.
    let (status, body) = refresh(&srv, &rt1).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    // The new one still works, once.
    assert_eq!(refresh(&srv, &rt2).await.0, 200);
    assert_eq!(refresh(&srv, &rt2).await.0, 400);
}

#[tokio::test]
async fn oauth_client_authentication_is_http_basic() {
    let srv = setup().await;
    let (_, tokens) = connect(&srv, ALICE).await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let resp = srv
        .client
        .post(srv.url("/calendly-auth/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    // The refresh token was not consumed by the rejected call.
    assert_eq!(refresh(&srv, rt).await.0, 200);
}

#[tokio::test]
async fn revoked_token_gets_401_everywhere() {
    let srv = setup().await;
    let (access, tokens) = connect(&srv, ALICE).await;
    let me = me(&srv, &access).await;
    let revoke = srv
        .client
        .post(srv.url("/calendly-auth/oauth/revoke"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    let user = me["uri"].as_str().unwrap();
    for (path, query) in [
        ("/calendly/users/me", vec![]),
        ("/calendly/scheduled_events", vec![("user", user)]),
        ("/calendly/event_types", vec![("user", user)]),
        (
            "/calendly/webhook_subscriptions",
            vec![
                ("organization", me["current_organization"].as_str().unwrap()),
                ("scope", "organization"),
            ],
        ),
    ] {
        let a = get(&srv, &access, path, &query).await;
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(a.body["title"], "Unauthorized", "{path}: {}", a.body);
    }
    let a = subscribe(
        &srv,
        &access,
        &me,
        "http://127.0.0.1:9/h",
        &["invitee.created"],
        None,
    )
    .await;
    assert_eq!(a.status, 401);
    // The whole grant is gone: the refresh token too.
    let (status, body) = refresh(&srv, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    // No token at all.
    let resp = srv
        .client
        .get(srv.url("/calendly/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

// ------------------------------------------------------------------ API

#[tokio::test]
async fn users_me_and_event_types() {
    let srv = setup().await;
    let (access, _) = connect(&srv, ALICE).await;
    let me = me(&srv, &access).await;
    let uri = me["uri"].as_str().unwrap();
    assert!(
        uri.starts_with(&format!("{}/calendly/users/", srv.base)),
        "{uri}"
    );
    assert_eq!(me["email"], ALICE);
    assert_eq!(me["name"], "Alice Sandbox");
    assert!(me["timezone"].is_string());
    assert!(me["scheduling_url"].is_string());
    assert!(me["slug"].is_string());
    assert!(me["current_organization"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/calendly/organizations/", srv.base)));

    let same = get(&srv, &access, uri, &[]).await;
    assert_eq!(same.status, 200);
    assert_eq!(same.body["resource"]["uri"], me["uri"]);

    let types = get(&srv, &access, "/calendly/event_types", &[("user", uri)]).await;
    assert_eq!(types.status, 200, "{}", types.body);
    let collection = types.body["collection"].as_array().unwrap();
    assert!(collection.len() >= 2);
    for t in collection {
        assert_eq!(t["profile"]["owner"], me["uri"]);
        assert!(t["duration"].as_i64().unwrap() > 0);
        let one = get(&srv, &access, t["uri"].as_str().unwrap(), &[]).await;
        assert_eq!(one.status, 200);
    }
    assert!(types.body["pagination"]["next_page"].is_null());

    // Another person's data is not readable.
    let (bob_access, _) = connect(&srv, BOB).await;
    let denied = get(
        &srv,
        &bob_access,
        "/calendly/scheduled_events",
        &[("user", uri)],
    )
    .await;
    assert_eq!(denied.status, 403);
    // No user or organization → 400.
    let bad = get(&srv, &access, "/calendly/scheduled_events", &[]).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn scheduled_events_paginate_through_next_page() {
    let srv = setup().await;
    let (access, _) = connect(&srv, ALICE).await;
    let me = me(&srv, &access).await;
    let user = me["uri"].as_str().unwrap();
    // Booked out of order; listed by start time.
    for n in (0..25).rev() {
        book(&srv, ALICE, n * 3 % 25).await;
    }
    book(&srv, BOB, 1).await;

    let first = get(
        &srv,
        &access,
        "/calendly/scheduled_events",
        &[("user", user), ("count", "10"), ("status", "active")],
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body["pagination"]["previous_page"].is_null());
    let mut pages = vec![first.body];
    while let Some(next) = pages.last().unwrap()["pagination"]["next_page"].as_str() {
        assert!(next.starts_with(&srv.base), "{next}");
        let page = get(&srv, &access, next, &[]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body["pagination"]["previous_page"].is_string());
        pages.push(page.body);
        assert!(pages.len() < 10, "pagination does not end");
    }
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p["collection"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![10, 10, 5]);
    let events: Vec<&Value> = pages
        .iter()
        .flat_map(|p| p["collection"].as_array().unwrap())
        .collect();
    let uris: HashSet<&str> = events.iter().map(|e| e["uri"].as_str().unwrap()).collect();
    assert_eq!(uris.len(), 25, "all distinct");
    let starts: Vec<&str> = events
        .iter()
        .map(|e| e["start_time"].as_str().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "ascending by start_time");
    for e in &events {
        assert_eq!(e["status"], "active");
        assert_eq!(e["event_memberships"][0]["user"], me["uri"]);
        assert_eq!(e["invitees_counter"]["active"], 1);
        assert!(e["location"]["type"].is_string());
        assert!(e["event_type"]
            .as_str()
            .unwrap()
            .contains("/calendly/event_types/"));
    }

    // Filters and bounds.
    let window = get(
        &srv,
        &access,
        "/calendly/scheduled_events",
        &[
            ("user", user),
            ("min_start_time", "2030-01-01T10:00:00Z"),
            ("max_start_time", "2030-01-01T12:00:00Z"),
        ],
    )
    .await;
    assert_eq!(window.body["collection"].as_array().unwrap().len(), 2);
    let canceled = get(
        &srv,
        &access,
        "/calendly/scheduled_events",
        &[("user", user), ("status", "canceled")],
    )
    .await;
    assert_eq!(canceled.body["collection"].as_array().unwrap().len(), 0);
    let too_many = get(
        &srv,
        &access,
        "/calendly/scheduled_events",
        &[("user", user), ("count", "101")],
    )
    .await;
    assert_eq!(too_many.status, 400);
    assert_eq!(too_many.body["title"], "Invalid Argument");
    let org = get(
        &srv,
        &access,
        "/calendly/scheduled_events",
        &[
            ("organization", me["current_organization"].as_str().unwrap()),
            ("count", "100"),
        ],
    )
    .await;
    assert_eq!(org.body["collection"].as_array().unwrap().len(), 25);
}

#[tokio::test]
async fn cancellation_endpoint_cancels_and_truth_follows() {
    let srv = setup().await;
    let (access, _) = connect(&srv, ALICE).await;
    let booking = book(&srv, ALICE, 2).await;
    let event_uri = booking["event"]["uri"].as_str().unwrap();
    let invitee_uri = booking["invitee"]["uri"].as_str().unwrap();
    assert!(invitee_uri.starts_with(&format!("{event_uri}/invitees/")));

    let invitees = get(&srv, &access, &format!("{event_uri}/invitees"), &[]).await;
    assert_eq!(invitees.status, 200);
    assert_eq!(invitees.body["collection"][0]["uri"], invitee_uri);
    assert_eq!(
        invitees.body["collection"][0]["email"],
        "invitee2@example.com"
    );

    // Bob can neither see nor cancel Alice's event.
    let (bob, _) = connect(&srv, BOB).await;
    let other = post(&srv, &bob, &format!("{event_uri}/cancellation"), json!({})).await;
    assert_eq!(other.status, 404);

    let canceled = post(
        &srv,
        &access,
        &format!("{event_uri}/cancellation"),
        json!({ "reason": "Double booked" }),
    )
    .await;
    assert_eq!(canceled.status, 201, "{}", canceled.body);
    let c = &canceled.body["resource"];
    assert_eq!(c["reason"], "Double booked");
    assert_eq!(c["canceler_type"], "host");
    assert_eq!(c["canceled_by"], "Alice Sandbox");
    assert!(c["created_at"].is_string());

    let event = get(&srv, &access, event_uri, &[]).await;
    assert_eq!(event.body["resource"]["status"], "canceled");
    assert_eq!(
        event.body["resource"]["cancellation"]["reason"],
        "Double booked"
    );
    assert_eq!(event.body["resource"]["invitees_counter"]["active"], 0);
    let invitee = get(&srv, &access, invitee_uri, &[]).await;
    assert_eq!(invitee.status, 200);
    assert_eq!(invitee.body["resource"]["status"], "canceled");
    assert_eq!(invitee.body["resource"]["rescheduled"], false);

    let again = post(
        &srv,
        &access,
        &format!("{event_uri}/cancellation"),
        json!({}),
    )
    .await;
    assert_eq!(again.status, 403);

    let truth = srv
        .get_json(&format!(
            "/_control/truth?account={ALICE}&provider=calendly"
        ))
        .await;
    let events = truth["calendly"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["uri"], event_uri);
    assert_eq!(events[0]["status"], "canceled");
    assert_eq!(events[0]["invitees"][0]["status"], "canceled");

    // A control-API cancel of another booking shows up in truth too.
    let second = book(&srv, ALICE, 5).await;
    let uuid = second["event"]["uuid"].as_str().unwrap();
    srv.control(
        &format!("/_control/calendly/bookings/{uuid}/cancel"),
        json!({ "reason": "sick" }),
    )
    .await;
    let truth = srv
        .get_json(&format!("/_control/truth?account={ALICE}"))
        .await;
    let events = truth["calendly"]["events"].as_array().unwrap();
    assert!(events.iter().all(|e| e["status"] == "canceled"));
}

#[tokio::test]
async fn user_busy_times_lists_active_events() {
    let srv = setup().await;
    let (access, _) = connect(&srv, ALICE).await;
    let me = me(&srv, &access).await;
    let a = book(&srv, ALICE, 1).await;
    let b = book(&srv, ALICE, 2).await;
    srv.control(
        &format!(
            "/_control/calendly/bookings/{}/cancel",
            b["event"]["uuid"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    let busy = get(
        &srv,
        &access,
        "/calendly/user_busy_times",
        &[
            ("user", me["uri"].as_str().unwrap()),
            ("start_time", "2030-01-01T00:00:00Z"),
            ("end_time", "2030-01-02T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(busy.status, 200, "{}", busy.body);
    let list = busy.body["collection"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["type"], "calendly");
    assert_eq!(list[0]["event"]["uri"], a["event"]["uri"]);
    assert_eq!(list[0]["start_time"], a["event"]["start_time"]);
    let too_long = get(
        &srv,
        &access,
        "/calendly/user_busy_times",
        &[
            ("user", me["uri"].as_str().unwrap()),
            ("start_time", "2030-01-01T00:00:00Z"),
            ("end_time", "2030-01-20T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(too_long.status, 400);
}

// ------------------------------------------------------------------ webhooks

/// `t=<unix>,v1=<hex>` checked with an independent HMAC-SHA256.
fn verify_signature(header: &str, key: &str, body: &[u8]) -> i64 {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_owned()),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    let (t, v1) = (t.expect("t="), v1.expect("v1="));
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&hex::decode(v1).expect("hex signature"))
        .expect("signature matches");
    t.parse().unwrap()
}

#[tokio::test]
async fn invitee_created_webhook_is_signed_and_complete() {
    let srv = setup().await;
    let receiver = start_receiver().await;
    let (access, _) = connect(&srv, ALICE).await;
    let me = me(&srv, &access).await;
    let key = "whsec-alice-0123456789";
    let sub = subscribe(
        &srv,
        &access,
        &me,
        &receiver.url("/webhooks/calendly/alice"),
        &["invitee.created", "invitee.canceled"],
        Some(key),
    )
    .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    let resource = &sub.body["resource"];
    assert_eq!(resource["state"], "active");
    assert_eq!(resource["scope"], "user");
    assert_eq!(resource["user"], me["uri"]);
    assert_eq!(resource["creator"], me["uri"]);
    assert_eq!(resource["organization"], me["current_organization"]);
    assert!(resource["signing_key"].is_null(), "the key is never echoed");

    // Bob's bookings do not reach Alice's user-scoped subscription.
    book(&srv, BOB, 1).await;
    let booking = book(&srv, ALICE, 3).await;
    let got = receiver
        .wait_for(1, event_is("invitee.created"), Duration::from_secs(5))
        .await;
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.path, "/webhooks/calendly/alice");
    assert_eq!(r.headers["content-type"], "application/json");
    let header = r.headers["calendly-webhook-signature"].to_str().unwrap();
    let t = verify_signature(header, key, &r.body);
    assert!((chrono::Utc::now().timestamp() - t).abs() <= 180);

    let body = body_json(r);
    assert_eq!(body["event"], "invitee.created");
    assert_eq!(body["created_by"], me["uri"]);
    assert!(chrono::DateTime::parse_from_rfc3339(body["created_at"].as_str().unwrap()).is_ok());
    let p = &body["payload"];
    assert_eq!(p["uri"], booking["invitee"]["uri"]);
    assert_eq!(p["event"], booking["event"]["uri"]);
    assert_eq!(p["email"], "invitee3@example.com");
    assert_eq!(p["name"], "Invitee 3");
    assert_eq!(p["status"], "active");
    assert_eq!(p["rescheduled"], false);
    assert!(p["old_invitee"].is_null());
    assert!(p["timezone"].is_string());
    let se = &p["scheduled_event"];
    assert_eq!(se["uri"], booking["event"]["uri"]);
    assert_eq!(se["start_time"], booking["event"]["start_time"]);
    assert_eq!(se["end_time"], booking["event"]["end_time"]);
    assert_eq!(se["name"], "30 Minute Meeting");
    assert_eq!(se["event_memberships"][0]["user"], me["uri"]);
    assert!(se["location"]["type"].is_string());

    // The API agrees with the payload.
    let inv = get(&srv, &access, p["uri"].as_str().unwrap(), &[]).await;
    assert_eq!(inv.body["resource"]["email"], p["email"]);

    // Cancel → invitee.canceled with the cancellation.
    let event_uuid = booking["event"]["uuid"].as_str().unwrap();
    srv.control(
        &format!("/_control/calendly/bookings/{event_uuid}/cancel"),
        json!({ "reason": "conflict" }),
    )
    .await;
    let got = receiver
        .wait_for(1, event_is("invitee.canceled"), Duration::from_secs(5))
        .await;
    assert_eq!(got.len(), 1);
    let p = &body_json(&got[0])["payload"];
    assert_eq!(p["status"], "canceled");
    assert_eq!(p["cancellation"]["reason"], "conflict");
    assert!(p["cancellation"]["canceled_by"].is_string());
    assert_eq!(p["scheduled_event"]["status"], "canceled");
    assert_eq!(receiver.received().len(), 2, "nothing of Bob's arrived");
}

#[tokio::test]
async fn no_show_webhooks_reach_organization_scope() {
    let srv = setup().await;
    let receiver = start_receiver().await;
    let (access, _) = connect(&srv, ALICE).await;
    let me = me(&srv, &access).await;
    let sub = post(
        &srv,
        &access,
        "/calendly/webhook_subscriptions",
        json!({
            "url": receiver.url("/org"),
            "events": ["invitee_no_show.created", "invitee_no_show.deleted"],
            "organization": me["current_organization"],
            "scope": "organization",
        }),
    )
    .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    let booking = book(&srv, ALICE, 1).await;
    let invitee = booking["invitee"]["uuid"].as_str().unwrap();
    srv.control(
        &format!("/_control/calendly/invitees/{invitee}/no_show"),
        json!({}),
    )
    .await;
    let again = srv
        .client
        .post(srv.url(&format!("/_control/calendly/invitees/{invitee}/no_show")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    let deleted = srv
        .client
        .delete(srv.url(&format!("/_control/calendly/invitees/{invitee}/no_show")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let got = receiver.wait_for(2, |_| true, Duration::from_secs(5)).await;
    let mut labels: Vec<String> = got
        .iter()
        .map(|r| body_json(r)["event"].as_str().unwrap().to_owned())
        .collect();
    labels.sort();
    assert_eq!(
        labels,
        ["invitee_no_show.created", "invitee_no_show.deleted"]
    );
    // Signed with the organization's key (none was given): a signature is present.
    assert!(got[0].headers.contains_key("calendly-webhook-signature"));
    let created = got
        .iter()
        .map(body_json)
        .find(|b| b["event"] == "invitee_no_show.created")
        .unwrap();
    assert_eq!(created["payload"]["uri"], booking["invitee"]["uri"]);
    assert!(created["payload"]["no_show"]["uri"].is_string());
}

#[tokio::test]
async fn free_plan_cannot_create_webhook_subscriptions() {
    let srv = setup().await;
    srv.control(
        "/_control/accounts",
        json!({ "provider": "calendly", "email": "frank@free.test", "name": "Frank Free", "plan": "free" }),
    )
    .await;
    let (access, _) = connect(&srv, "frank@free.test").await;
    let me = me(&srv, &access).await;
    let a = subscribe(
        &srv,
        &access,
        &me,
        "http://127.0.0.1:9/h",
        &["invitee.created"],
        None,
    )
    .await;
    assert_eq!(a.status, 403);
    assert_eq!(a.body["title"], "Permission Denied");
    assert_eq!(
        a.body["message"],
        "Please upgrade your Calendly account to Standard"
    );
    // Polling still works.
    let list = get(
        &srv,
        &access,
        "/calendly/scheduled_events",
        &[("user", me["uri"].as_str().unwrap())],
    )
    .await;
    assert_eq!(list.status, 200);
}

#[tokio::test]
async fn webhook_subscription_validation_conflicts_listing_and_delete() {
    let srv = setup().await;
    let (access, _) = connect(&srv, ALICE).await;
    let me = me(&srv, &access).await;
    let url = "http://127.0.0.1:9/hooks/alice";
    let org = me["current_organization"].clone();

    // The sandbox never posts to the internet.
    for outside in ["https://evil.test/hooks", "http://10.1.2.3/hooks"] {
        let refused = subscribe(&srv, &access, &me, outside, &["invitee.created"], None).await;
        assert_eq!(refused.status, 400, "{outside}: {}", refused.body);
    }
    let unknown = subscribe(&srv, &access, &me, url, &["invitee.exploded"], None).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.body["title"], "Invalid Argument");
    let no_url = post(
        &srv,
        &access,
        "/calendly/webhook_subscriptions",
        json!({ "events": ["invitee.created"], "organization": org, "scope": "user", "user": me["uri"] }),
    )
    .await;
    assert_eq!(no_url.status, 400);
    let no_user = post(
        &srv,
        &access,
        "/calendly/webhook_subscriptions",
        json!({ "url": url, "events": ["invitee.created"], "organization": org, "scope": "user" }),
    )
    .await;
    assert_eq!(no_user.status, 400);

    let first = subscribe(&srv, &access, &me, url, &["invitee.created"], Some("k")).await;
    assert_eq!(first.status, 201);
    let dup = subscribe(&srv, &access, &me, url, &["invitee.canceled"], Some("k")).await;
    assert_eq!(dup.status, 409);

    let list = get(
        &srv,
        &access,
        "/calendly/webhook_subscriptions",
        &[
            ("organization", org.as_str().unwrap()),
            ("user", me["uri"].as_str().unwrap()),
            ("scope", "user"),
        ],
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let collection = list.body["collection"].as_array().unwrap();
    assert_eq!(collection.len(), 1);
    assert_eq!(collection[0]["state"], "active");
    let sub_uri = first.body["resource"]["uri"].as_str().unwrap();
    assert_eq!(collection[0]["uri"], sub_uri);

    // Bob cannot see or delete it.
    let (bob, _) = connect(&srv, BOB).await;
    assert_eq!(get(&srv, &bob, sub_uri, &[]).await.status, 404);
    assert_eq!(
        call(&srv, &bob, Method::DELETE, sub_uri, &[], None)
            .await
            .status,
        404
    );

    let deleted = call(&srv, &access, Method::DELETE, sub_uri, &[], None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(get(&srv, &access, sub_uri, &[]).await.status, 404);
    // The URL is free again.
    let again = subscribe(&srv, &access, &me, url, &["invitee.created"], None).await;
    assert_eq!(again.status, 201);
}

#[tokio::test]
async fn reschedule_sends_canceled_and_created_linked_invitees() {
    let srv = setup().await;
    let receiver = start_receiver().await;
    let (access, _) = connect(&srv, ALICE).await;
    let me = me(&srv, &access).await;
    let sub = subscribe(
        &srv,
        &access,
        &me,
        &receiver.url("/h"),
        &["invitee.created", "invitee.canceled"],
        Some("key"),
    )
    .await;
    assert_eq!(sub.status, 201);
    let booking = book(&srv, ALICE, 1).await;
    receiver
        .wait_for(1, event_is("invitee.created"), Duration::from_secs(5))
        .await;
    let old_event = booking["event"]["uuid"].as_str().unwrap();
    let moved = srv
        .control(
            &format!("/_control/calendly/bookings/{old_event}/reschedule"),
            json!({ "start_time": "2030-01-03T15:00:00Z", "end_time": "2030-01-03T15:30:00Z" }),
        )
        .await;
    let new_event_uri = moved["event"]["uri"].as_str().unwrap();
    let new_invitee_uri = moved["invitee"]["uri"].as_str().unwrap();
    let old_invitee_uri = booking["invitee"]["uri"].as_str().unwrap();
    assert_ne!(new_event_uri, booking["event"]["uri"].as_str().unwrap());

    let got = receiver.wait_for(3, |_| true, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 3);
    let bodies: Vec<Value> = got[1..].iter().map(body_json).collect();
    let canceled = bodies
        .iter()
        .find(|b| b["event"] == "invitee.canceled")
        .expect("invitee.canceled");
    let created = bodies
        .iter()
        .find(|b| b["event"] == "invitee.created")
        .expect("invitee.created");
    let c = &canceled["payload"];
    assert_eq!(c["uri"], old_invitee_uri);
    assert_eq!(c["status"], "canceled");
    assert_eq!(c["rescheduled"], true);
    assert_eq!(c["new_invitee"], new_invitee_uri);
    assert_eq!(c["email"], "invitee1@example.com");
    let n = &created["payload"];
    assert_eq!(n["uri"], new_invitee_uri);
    assert_eq!(n["old_invitee"], old_invitee_uri);
    assert_eq!(n["event"], new_event_uri);
    assert_eq!(n["email"], "invitee1@example.com");
    assert_eq!(
        n["scheduled_event"]["start_time"],
        "2030-01-03T15:00:00.000000Z"
    );

    let old = get(
        &srv,
        &access,
        booking["event"]["uri"].as_str().unwrap(),
        &[],
    )
    .await;
    assert_eq!(old.body["resource"]["status"], "canceled");
    let new = get(&srv, &access, new_event_uri, &[]).await;
    assert_eq!(new.body["resource"]["status"], "active");

    let truth = srv
        .get_json(&format!(
            "/_control/truth?account={ALICE}&provider=calendly"
        ))
        .await;
    let events = truth["calendly"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["status"], "canceled");
    assert_eq!(events[0]["invitees"][0]["rescheduled"], true);
    assert_eq!(events[1]["status"], "active");
    assert_eq!(events[1]["invitees"][0]["uri"], new_invitee_uri);
}

#[tokio::test]
async fn failing_receiver_is_retried_then_subscription_disabled() {
    let srv = setup().await;
    settings(
        &srv,
        json!({ "retry_base_delay_ms": 20, "calendly_retry_window_ms": 300 }),
    )
    .await;
    let receiver = start_receiver().await;
    receiver.answer_with(500);
    let (access, _) = connect(&srv, ALICE).await;
    let me = me(&srv, &access).await;
    let sub = subscribe(
        &srv,
        &access,
        &me,
        &receiver.url("/h"),
        &["invitee.created"],
        None,
    )
    .await;
    let sub_uri = sub.body["resource"]["uri"].as_str().unwrap().to_owned();
    book(&srv, ALICE, 1).await;

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = get(&srv, &access, &sub_uri, &[]).await;
        if s.body["resource"]["state"] == "disabled" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never disabled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = srv
        .get_json("/_control/deliveries?provider=calendly&label=invitee.created")
        .await;
    let attempts = log["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 2, "retried: {log}");
    assert!(attempts.iter().all(|a| a["status"] == 500));
    assert!(attempts.iter().any(|a| a["outcome"] == "failed"));
    assert_eq!(attempts.last().unwrap()["outcome"], "gave_up");
    let tried = receiver.received().len();
    assert_eq!(tried, attempts.len());

    // Listed as disabled; no further deliveries, even once the receiver is healthy.
    let list = get(
        &srv,
        &access,
        "/calendly/webhook_subscriptions",
        &[
            ("organization", me["current_organization"].as_str().unwrap()),
            ("user", me["uri"].as_str().unwrap()),
            ("scope", "user"),
        ],
    )
    .await;
    assert_eq!(list.body["collection"][0]["state"], "disabled");
    receiver.answer_with(200);
    book(&srv, ALICE, 2).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), tried);
}

#[tokio::test]
async fn injected_faults_use_calendly_errors_until_cleared() {
    let srv = setup().await;
    let (access, _) = connect(&srv, ALICE).await;
    let me = me(&srv, &access).await;
    let user = me["uri"].as_str().unwrap();
    srv.control(
        "/_control/faults",
        json!({ "provider": "calendly", "endpoint": "scheduled_events", "error_rate": 1.0, "status": 503 }),
    )
    .await;
    let failed = get(
        &srv,
        &access,
        "/calendly/scheduled_events",
        &[("user", user)],
    )
    .await;
    assert_eq!(failed.status, 503);
    assert!(failed.body["title"].is_string(), "{}", failed.body);
    assert!(failed.body["message"].is_string());
    // Other endpoints are untouched.
    assert_eq!(
        get(&srv, &access, "/calendly/users/me", &[]).await.status,
        200
    );
    let cleared = srv
        .client
        .delete(srv.url("/_control/faults"))
        .send()
        .await
        .unwrap();
    assert!(cleared.status().is_success());
    let ok = get(
        &srv,
        &access,
        "/calendly/scheduled_events",
        &[("user", user)],
    )
    .await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn rate_limit_answers_429_with_reset() {
    let srv = setup().await;
    let (access, _) = connect(&srv, ALICE).await;
    settings(&srv, json!({ "calendly_rate_limit_per_minute": 2 })).await;
    // Six calls cross at most one window boundary, so one window sees three.
    let mut limited = None;
    for _ in 0..6 {
        let a = get(&srv, &access, "/calendly/users/me", &[]).await;
        if a.status == 429 {
            limited = Some(a);
            break;
        }
        assert_eq!(a.status, 200);
    }
    let a = limited.expect("a 429");
    assert_eq!(a.headers["x-ratelimit-limit"], "2");
    assert_eq!(a.headers["x-ratelimit-remaining"], "0");
    let reset: i64 = a.headers["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((0..=60).contains(&reset));
    assert_eq!(a.body["title"], "Too Many Requests");
    // Limits are per user: Bob is unaffected.
    settings(&srv, json!({ "calendly_rate_limit_per_minute": 0 })).await;
    let (bob, _) = connect(&srv, BOB).await;
    assert_eq!(get(&srv, &bob, "/calendly/users/me", &[]).await.status, 200);
}

#[tokio::test]
async fn control_api_rejects_bad_input_and_changes_nothing() {
    let srv = setup().await;
    let post_raw = |path: String, body: Value| {
        let srv = &srv;
        async move {
            let resp = srv
                .client
                .post(srv.url(&path))
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };
    let good = json!({
        "host_email": ALICE, "invitee_name": "Ivy", "invitee_email": "ivy@example.com",
        "start_time": "2030-02-01T10:00:00Z", "end_time": "2030-02-01T10:30:00Z",
        "event_name": "30 Minute Meeting",
    });
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("invitee_email");
    for (body, status) in [
        (missing, 400),
        (with("start_time", json!("tomorrow")), 400),
        (with("end_time", json!("2030-02-01T09:00:00Z")), 400),
        (with("invitee_email", json!("not-an-email")), 400),
        (with("host_email", json!("nobody@sandbox.test")), 404),
    ] {
        let (got, answer) = post_raw("/_control/calendly/bookings".into(), body).await;
        assert_eq!(got, status, "{answer}");
        assert!(answer["error"].is_string());
    }
    let (got, _) = post_raw("/_control/calendly/bookings/nope/cancel".into(), json!({})).await;
    assert_eq!(got, 404);
    let (got, _) = post_raw(
        "/_control/calendly/bookings/nope/reschedule".into(),
        json!({ "start_time": "2030-02-01T10:00:00Z", "end_time": "2030-02-01T10:30:00Z" }),
    )
    .await;
    assert_eq!(got, 404);
    let (got, _) = post_raw(
        "/_control/calendly/subscriptions/nope/disable".into(),
        json!({}),
    )
    .await;
    assert_eq!(got, 404);
    let truth = srv
        .get_json(&format!(
            "/_control/truth?account={ALICE}&provider=calendly"
        ))
        .await;
    assert_eq!(truth["calendly"]["events"].as_array().unwrap().len(), 0);

    // A good booking, then a bad reschedule of it leaves it alone.
    let (got, booked) = post_raw("/_control/calendly/bookings".into(), good.clone()).await;
    assert_eq!(got, 201);
    let uuid = booked["event"]["uuid"].as_str().unwrap();
    let (got, _) = post_raw(
        format!("/_control/calendly/bookings/{uuid}/reschedule"),
        json!({ "start_time": "2030-02-01T11:00:00Z", "end_time": "2030-02-01T10:00:00Z" }),
    )
    .await;
    assert_eq!(got, 400);
    let (got, _) = post_raw(
        format!("/_control/calendly/bookings/{uuid}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(got, 200);
    let (got, _) = post_raw(
        format!("/_control/calendly/bookings/{uuid}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(got, 400);
    let truth = srv
        .get_json(&format!(
            "/_control/truth?account={ALICE}&provider=calendly"
        ))
        .await;
    let events = truth["calendly"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["status"], "canceled");
    assert_eq!(events[0]["start_time"], "2030-02-01T10:00:00.000000Z");
}
