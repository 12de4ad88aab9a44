//! Microsoft Graph v1.0 emulator, over real HTTP: OAuth semantics, events,
//! delta sync, getSchedule, subscriptions (validation handshake,
//! notifications, expiry, lifecycle) and fault injection.

use calbridge_sandbox::testing::*;
use calbridge_sandbox::Provider;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const CLIENT: &str = "ms-client";
const SECRET: &str = "ms-secret";
const REDIRECT: &str = "http://localhost:4000/oauth/microsoft/callback";
const ALICE: &str = "alice@sandbox.test";

async fn setup() -> (SandboxServer, String) {
    let srv = start_sandbox(7).await;
    srv.app(Provider::Microsoft, CLIENT, SECRET, REDIRECT).await;
    let tokens = srv
        .connect(Provider::Microsoft, CLIENT, SECRET, REDIRECT, ALICE)
        .await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    (srv, access)
}

fn graph(srv: &SandboxServer, path: &str) -> String {
    srv.url(&format!("/graph/v1.0{path}"))
}

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn event_body(subject: &str, start: &str, end: &str) -> Value {
    json!({
        "subject": subject,
        "body": { "contentType": "HTML", "content": "<p>Hello <b>there</b></p>" },
        "start": { "dateTime": start, "timeZone": "UTC" },
        "end": { "dateTime": end, "timeZone": "UTC" },
        "location": { "displayName": "Room 1" },
        "attendees": [{ "emailAddress": { "address": "guest@example.com", "name": "Guest" }, "type": "required" }],
    })
}

async fn create_event(srv: &SandboxServer, token: &str, body: Value) -> Value {
    let (status, _, v) = send(
        srv.client
            .post(graph(srv, "/me/events"))
            .bearer_auth(token)
            .json(&body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v
}

async fn sandbox_now(srv: &SandboxServer) -> DateTime<Utc> {
    let v = srv
        .control("/_control/clock", json!({ "advance_secs": 0 }))
        .await;
    DateTime::parse_from_rfc3339(v["now"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

async fn owner_event(srv: &SandboxServer, summary: &str) -> Value {
    srv.control(
        "/_control/microsoft/events",
        json!({
            "owner_email": ALICE,
            "summary": summary,
            "start": "2026-11-22T10:00:00Z",
            "end": "2026-11-22T10:30:00Z",
        }),
    )
    .await
}

// ---------------------------------------------------------------- OAuth

#[tokio::test]
async fn oauth_refresh_rotates_and_old_refresh_token_stays_valid() {
    let srv = start_sandbox(1).await;
    srv.app(Provider::Microsoft, CLIENT, SECRET, REDIRECT).await;
    let tokens = srv
        .connect(Provider::Microsoft, CLIENT, SECRET, REDIRECT, ALICE)
        .await;
    let first = tokens["refresh_token"].as_str().expect("refresh token");
    assert!(tokens["ext_expires_in"].is_number());
    let refresh = |rt: String| {
        srv.client
            .post(srv.url(SandboxServer::token_path(Provider::Microsoft)))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
                ("client_id", CLIENT),
                ("client_secret", SECRET),
            ])
            .send()
    };
    let resp = refresh(first.to_owned()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let second: Value = resp.json().await.unwrap();
    let second_rt = second["refresh_token"].as_str().unwrap();
    assert_ne!(second_rt, first, "Microsoft rotates refresh tokens");
    // The old one still works.
    let resp = refresh(first.to_owned()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // And the new access token works against Graph.
    let (status, _, me) = send(
        srv.client
            .get(graph(&srv, "/me"))
            .bearer_auth(second["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["userPrincipalName"], ALICE);
}

#[tokio::test]
async fn oauth_without_offline_access_gives_no_refresh_token() {
    let srv = start_sandbox(2).await;
    srv.app(Provider::Microsoft, CLIENT, SECRET, REDIRECT).await;
    let verifier = "another-pkce-verifier-that-is-long-enough-0123456789abcdef";
    let challenge = pkce_challenge(verifier);
    let redirect = srv
        .consent(
            Provider::Microsoft,
            &[
                ("client_id", CLIENT),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("state", "s1"),
                ("scope", "Calendars.ReadWrite User.Read"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
            ALICE,
            "allow",
        )
        .await;
    let loc = location(&redirect);
    assert_eq!(query_param(&loc, "state").as_deref(), Some("s1"));
    let code = query_param(&loc, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
    ];
    let token_url = srv.url(SandboxServer::token_path(Provider::Microsoft));
    let resp = srv
        .client
        .post(&token_url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert!(v["access_token"].is_string());
    assert!(v.get("refresh_token").is_none(), "{v}");
    // Reusing the code → invalid_grant.
    let resp = srv
        .client
        .post(&token_url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "invalid_grant");
}

#[tokio::test]
async fn oauth_wrong_redirect_uri_shows_error_page_without_code() {
    let srv = start_sandbox(3).await;
    srv.app(Provider::Microsoft, CLIENT, SECRET, REDIRECT).await;
    let resp = srv
        .client
        .get(srv.url(SandboxServer::authorize_path(Provider::Microsoft)))
        .query(&[
            ("client_id", CLIENT),
            ("redirect_uri", "https://evil.example/cb"),
            ("response_type", "code"),
            ("scope", "offline_access Calendars.ReadWrite"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
    let html = resp.text().await.unwrap();
    assert!(html.contains("redirect_uri_mismatch"));
    assert!(!html.contains("code_"));
}

// ---------------------------------------------------------------- API

#[tokio::test]
async fn me_requires_a_valid_bearer_token() {
    let (srv, token) = setup().await;
    let (status, _, me) = send(srv.client.get(graph(&srv, "/me")).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["mail"], ALICE);
    assert_eq!(me["displayName"], "Alice Sandbox");
    assert!(me["id"].is_string());
    assert!(me["@odata.context"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/graph/v1.0/", srv.base)));
    let (status, _, err) = send(srv.client.get(graph(&srv, "/me"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"]["code"], "InvalidAuthenticationToken");
    let (status, _, _) = send(srv.client.get(graph(&srv, "/me")).bearer_auth("EwBforged")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn create_event_with_teams_link_and_idempotent_transaction_id() {
    let (srv, token) = setup().await;
    let mut body = event_body("Intro call", "2026-11-22T10:00:00", "2026-11-22T10:30:00");
    body["isOnlineMeeting"] = json!(true);
    body["onlineMeetingProvider"] = json!("teamsForBusiness");
    body["transactionId"] = json!("booking-42");
    let ev = create_event(&srv, &token, body.clone()).await;
    assert!(ev["id"].as_str().unwrap().len() > 10);
    assert_eq!(ev["subject"], "Intro call");
    assert_eq!(ev["start"]["dateTime"], "2026-11-22T10:00:00.0000000");
    assert_eq!(ev["start"]["timeZone"], "UTC");
    assert_eq!(ev["bodyPreview"], "Hello there");
    assert_eq!(ev["isOnlineMeeting"], true);
    assert_eq!(ev["onlineMeetingProvider"], "teamsForBusiness");
    assert!(ev["onlineMeeting"]["joinUrl"]
        .as_str()
        .unwrap()
        .starts_with("https://teams.microsoft.com/l/meetup-join/"));
    assert!(ev["@odata.etag"].as_str().unwrap().starts_with("W/\""));
    assert_eq!(ev["organizer"]["emailAddress"]["address"], ALICE);
    assert_eq!(
        ev["attendees"][0]["emailAddress"]["address"],
        "guest@example.com"
    );
    // Retrying with the same transactionId returns the same event.
    let again = create_event(&srv, &token, body).await;
    assert_eq!(again["id"], ev["id"]);
    let (status, _, list) = send(
        srv.client
            .get(graph(&srv, "/me/events"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    // A time zone other than UTC is converted.
    let mut berlin = event_body("Berlin", "2026-07-01T09:00:00", "2026-07-01T10:00:00");
    berlin["start"]["timeZone"] = json!("Europe/Berlin");
    berlin["end"]["timeZone"] = json!("W. Europe Standard Time");
    let b = create_event(&srv, &token, berlin).await;
    assert_eq!(b["start"]["dateTime"], "2026-07-01T07:00:00.0000000");
    assert_eq!(b["end"]["dateTime"], "2026-07-01T08:00:00.0000000");
    // Bad input → 400 in Graph's error shape.
    let (status, _, err) = send(
        srv.client
            .post(graph(&srv, "/me/events"))
            .bearer_auth(&token)
            .json(&event_body("x", "not-a-date", "2026-07-01T10:00:00")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["code"].is_string() && err["error"]["message"].is_string());
}

#[tokio::test]
async fn events_paging_if_match_delete_and_isolation() {
    let (srv, token) = setup().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let ev = create_event(
            &srv,
            &token,
            event_body(
                &format!("E{i}"),
                "2026-11-22T10:00:00",
                "2026-11-22T11:00:00",
            ),
        )
        .await;
        ids.push(ev["id"].as_str().unwrap().to_owned());
    }
    // $top paging with an absolute nextLink.
    let (_, _, page) = send(
        srv.client
            .get(graph(&srv, "/me/events?$top=2"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(page["value"].as_array().unwrap().len(), 2);
    let next = page["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with(&format!("{}/graph/v1.0/me/events", srv.base)));
    let (_, _, page2) = send(srv.client.get(next).bearer_auth(&token)).await;
    assert_eq!(page2["value"].as_array().unwrap().len(), 1);
    assert!(page2.get("@odata.nextLink").is_none());

    let url = graph(&srv, &format!("/me/events/{}", ids[0]));
    let (_, _, ev) = send(srv.client.get(&url).bearer_auth(&token)).await;
    let etag = ev["@odata.etag"].as_str().unwrap().to_owned();
    let (status, _, updated) = send(
        srv.client
            .patch(&url)
            .bearer_auth(&token)
            .header("If-Match", &etag)
            .json(&json!({ "subject": "Renamed" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["subject"], "Renamed");
    assert_ne!(updated["@odata.etag"].as_str().unwrap(), etag);
    // The old etag is stale now.
    let (status, _, err) = send(
        srv.client
            .patch(&url)
            .bearer_auth(&token)
            .header("If-Match", &etag)
            .json(&json!({ "subject": "Lost update" })),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert!(err["error"]["code"].is_string());
    let (status, _, _) = send(
        srv.client
            .delete(&url)
            .bearer_auth(&token)
            .header("If-Match", &etag),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);

    // Bob cannot see Alice's event.
    let bob = srv
        .connect(
            Provider::Microsoft,
            CLIENT,
            SECRET,
            REDIRECT,
            "bob@sandbox.test",
        )
        .await;
    let bob_token = bob["access_token"].as_str().unwrap();
    let (status, _, err) = send(srv.client.get(&url).bearer_auth(bob_token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "ErrorItemNotFound");
    let (status, _, _) = send(srv.client.delete(&url).bearer_auth(bob_token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let resp = srv
        .client
        .delete(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, _, err) = send(srv.client.get(&url).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "ErrorItemNotFound");
    let truth = srv
        .get_json(&format!(
            "/_control/truth?provider=microsoft&account={ALICE}"
        ))
        .await;
    let events = truth["microsoft"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events.iter().filter(|e| e["deleted"] == true).count(), 1);
}

async fn follow_delta(
    srv: &SandboxServer,
    token: &str,
    first: &str,
    page_size: usize,
) -> (Vec<Value>, usize, String) {
    let mut url = first.to_owned();
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let (status, _, page) = send(
            srv.client
                .get(&url)
                .bearer_auth(token)
                .header("Prefer", format!("odata.maxpagesize={page_size}")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        let value = page["value"].as_array().unwrap();
        assert!(value.len() <= page_size);
        items.extend(value.iter().cloned());
        if let Some(next) = page["@odata.nextLink"].as_str() {
            assert!(next.starts_with(&format!("{}/graph/v1.0/", srv.base)));
            assert!(page.get("@odata.deltaLink").is_none());
            url = next.to_owned();
        } else {
            let delta = page["@odata.deltaLink"].as_str().expect("deltaLink");
            assert!(delta.starts_with(&format!("{}/graph/v1.0/", srv.base)));
            return (items, pages, delta.to_owned());
        }
    }
}

#[tokio::test]
async fn delta_pages_then_returns_only_changes_and_410_after_invalidation() {
    let (srv, token) = setup().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let ev = owner_event(&srv, &format!("Owner {i}")).await;
        ids.push(ev["id"].as_str().unwrap().to_owned());
    }
    // One outside the window.
    srv.control(
        "/_control/microsoft/events",
        json!({ "owner_email": ALICE, "summary": "Far", "start": "2027-05-01T10:00:00Z", "end": "2027-05-01T11:00:00Z" }),
    )
    .await;
    let first = graph(
        &srv,
        "/me/calendarView/delta?startDateTime=2026-11-01T00:00:00Z&endDateTime=2026-12-01T00:00:00Z",
    );
    let (items, pages, delta_link) = follow_delta(&srv, &token, &first, 2).await;
    assert_eq!(pages, 3);
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|i| i.get("@removed").is_none()));

    // Nothing changed: empty.
    let (items, _, delta_link) = follow_delta(&srv, &token, &delta_link, 2).await;
    assert!(items.is_empty());

    // The owner edits one and deletes another in Outlook.
    let resp = srv
        .client
        .patch(srv.url(&format!("/_control/microsoft/events/{}", ids[1])))
        .json(&json!({ "owner_email": ALICE, "summary": "Moved", "start": "2026-11-23T10:00:00Z", "end": "2026-11-23T11:00:00Z" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = srv
        .client
        .delete(srv.url(&format!(
            "/_control/microsoft/events/{}?owner_email={ALICE}",
            ids[3]
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (items, _, delta_link) = follow_delta(&srv, &token, &delta_link, 10).await;
    assert_eq!(items.len(), 2, "{items:?}");
    let updated = items.iter().find(|i| i["id"] == ids[1].as_str()).unwrap();
    assert_eq!(updated["subject"], "Moved");
    assert_eq!(updated["start"]["dateTime"], "2026-11-23T10:00:00.0000000");
    let removed = items.iter().find(|i| i["id"] == ids[3].as_str()).unwrap();
    assert_eq!(removed["@removed"]["reason"], "deleted");
    assert_eq!(removed["@odata.type"], "#microsoft.graph.event");

    // Invalidated sync state → 410 SyncStateNotFound.
    srv.control(
        "/_control/microsoft/invalidate-sync-tokens",
        json!({ "owner_email": ALICE }),
    )
    .await;
    let (status, _, err) = send(srv.client.get(&delta_link).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(err["error"]["code"], "SyncStateNotFound");
    // A fresh initial sync works again.
    let (items, _, _) = follow_delta(&srv, &token, &first, 50).await;
    assert_eq!(items.len(), 4, "five created, one deleted");
    assert!(items.iter().all(|i| i["id"] != ids[3].as_str()));

    // Missing window → 400.
    let (status, _, _) = send(
        srv.client
            .get(graph(&srv, "/me/calendarView/delta"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn get_schedule_reports_busy_items() {
    let (srv, token) = setup().await;
    owner_event(&srv, "Busy block").await;
    let (status, _, v) = send(
        srv.client
            .post(graph(&srv, "/me/calendar/getSchedule"))
            .bearer_auth(&token)
            .json(&json!({
                "schedules": [ALICE, "nobody@nowhere.test"],
                "startTime": { "dateTime": "2026-11-22T09:00:00", "timeZone": "UTC" },
                "endTime": { "dateTime": "2026-11-22T12:00:00", "timeZone": "UTC" },
                "availabilityViewInterval": 30,
            })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let alice = &v["value"][0];
    assert_eq!(alice["scheduleId"], ALICE);
    assert_eq!(alice["availabilityView"], "002000");
    let items = alice["scheduleItems"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "busy");
    assert_eq!(items[0]["start"]["dateTime"], "2026-11-22T10:00:00.0000000");
    assert_eq!(items[0]["end"]["dateTime"], "2026-11-22T10:30:00.0000000");
    assert!(v["value"][1]["error"].is_object());
}

// ---------------------------------------------------------------- subscriptions

async fn subscribe(
    srv: &SandboxServer,
    token: &str,
    notification_url: &str,
    lifecycle_url: Option<&str>,
    minutes: i64,
) -> (StatusCode, Value) {
    let now = sandbox_now(srv).await;
    let mut body = json!({
        "changeType": "created,updated,deleted",
        "notificationUrl": notification_url,
        "resource": "me/events",
        "expirationDateTime": (now + ChronoDuration::minutes(minutes)).to_rfc3339(),
        "clientState": "s3cr3t-client-state",
    });
    if let Some(l) = lifecycle_url {
        body["lifecycleNotificationUrl"] = json!(l);
    }
    let (status, _, v) = send(
        srv.client
            .post(graph(srv, "/subscriptions"))
            .bearer_auth(token)
            .json(&body),
    )
    .await;
    (status, v)
}

fn is_notification(r: &Received) -> bool {
    r.path == "/hooks/graph" && r.query.is_none()
}

#[tokio::test]
async fn subscription_handshake_notifications_and_renewal() {
    let (srv, token) = setup().await;
    let rx = start_receiver().await;
    let hook = rx.url("/hooks/graph");
    let (status, sub) = subscribe(&srv, &token, &hook, None, 60).await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    // The handshake reached the receiver before creation.
    let handshakes: Vec<Received> = rx
        .received()
        .into_iter()
        .filter(|r| {
            r.query
                .as_deref()
                .is_some_and(|q| q.contains("validationToken="))
        })
        .collect();
    assert_eq!(handshakes.len(), 1);
    assert_eq!(handshakes[0].path, "/hooks/graph");
    assert_eq!(sub["resource"], "me/events");
    assert_eq!(sub["applicationId"], CLIENT);
    assert_eq!(sub["clientState"], "s3cr3t-client-state");
    assert_eq!(sub["notificationUrl"], hook.as_str());
    let id = sub["id"].as_str().unwrap().to_owned();

    // The owner changes the calendar: created, updated, deleted.
    let ev = owner_event(&srv, "Notified").await;
    let ev_id = ev["id"].as_str().unwrap();
    let got = rx
        .wait_for(1, is_notification, Duration::from_secs(5))
        .await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].headers["content-type"].to_str().unwrap(),
        "application/json"
    );
    let n: Value = serde_json::from_slice(&got[0].body).unwrap();
    let n = &n["value"][0];
    assert_eq!(n["subscriptionId"], id.as_str());
    assert_eq!(n["clientState"], "s3cr3t-client-state");
    assert_eq!(n["changeType"], "created");
    assert_eq!(n["resourceData"]["id"], ev_id);
    assert_eq!(n["resourceData"]["@odata.etag"], ev["@odata.etag"]);
    assert!(n["resource"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/Events/{ev_id}")));
    assert!(n["tenantId"].is_string());

    let resp = srv
        .client
        .patch(srv.url(&format!("/_control/microsoft/events/{ev_id}")))
        .json(&json!({ "owner_email": ALICE, "summary": "Renamed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    srv.client
        .delete(srv.url(&format!(
            "/_control/microsoft/events/{ev_id}?owner_email={ALICE}"
        )))
        .send()
        .await
        .unwrap();
    let got = rx
        .wait_for(3, is_notification, Duration::from_secs(5))
        .await;
    let mut kinds: Vec<String> = got
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            v["value"][0]["changeType"].as_str().unwrap().to_owned()
        })
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["created", "deleted", "updated"]);

    // Renewal moves the expiration.
    let url = graph(&srv, &format!("/subscriptions/{id}"));
    let now = sandbox_now(&srv).await;
    let (status, _, renewed) = send(
        srv.client
            .patch(&url)
            .bearer_auth(&token)
            .json(&json!({ "expirationDateTime": (now + ChronoDuration::days(3)).to_rfc3339() })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(renewed["expirationDateTime"], sub["expirationDateTime"]);
    let (status, _, got) = send(srv.client.get(&url).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["expirationDateTime"], renewed["expirationDateTime"]);
    // Renewal beyond the limit → 400.
    let (status, _, _) = send(
        srv.client
            .patch(&url)
            .bearer_auth(&token)
            .json(&json!({ "expirationDateTime": (now + ChronoDuration::days(8)).to_rfc3339() })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Delete → 204, then 404.
    let resp = srv
        .client
        .delete(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, _, _) = send(srv.client.get(&url).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn subscription_validation_failures_and_limits() {
    let (srv, token) = setup().await;
    srv.control(
        "/_control/settings",
        json!({ "validation_timeout_ms": 500 }),
    )
    .await;
    // An endpoint that answers 200 but does not echo the token.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let wrong = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(|| async { "not the token" });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // The sandbox never posts to the internet, not even the handshake.
    for outside in ["https://evil.test/hook", "http://10.1.2.3/hook"] {
        let (status, err) = subscribe(&srv, &token, outside, None, 60).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{outside}: {err}");
        let (status, err) = subscribe(&srv, &token, &wrong, Some(outside), 60).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{outside}: {err}");
    }
    let (status, err) = subscribe(&srv, &token, &wrong, None, 60).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["code"], "ValidationError");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Subscription validation request failed."));

    // A closed port.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let (status, err) = subscribe(&srv, &token, &closed, None, 60).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "ValidationError");

    // A lifecycle URL that fails validation fails the creation too.
    let rx = start_receiver().await;
    let (status, err) = subscribe(&srv, &token, &rx.url("/hooks/graph"), Some(&closed), 60).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "ValidationError");

    // Expiration beyond 10,080 minutes or in the past.
    let (status, _) = subscribe(&srv, &token, &rx.url("/hooks/graph"), None, 10_081).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = subscribe(&srv, &token, &rx.url("/hooks/graph"), None, -5).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // clientState over 128 chars.
    let now = sandbox_now(&srv).await;
    let (status, _, _) = send(
        srv.client
            .post(graph(&srv, "/subscriptions"))
            .bearer_auth(&token)
            .json(&json!({
                "changeType": "created",
                "notificationUrl": rx.url("/hooks/graph"),
                "resource": "me/events",
                "expirationDateTime": (now + ChronoDuration::hours(1)).to_rfc3339(),
                "clientState": "x".repeat(129),
            })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // None of the rejected requests created a subscription.
    let (_, _, list) = send(
        srv.client
            .get(graph(&srv, "/subscriptions"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(list["value"].as_array().unwrap().len(), 0);
    // Without a token → 401.
    let (status, _, _) = send(
        srv.client
            .post(graph(&srv, "/subscriptions"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_subscription_stops_notifying() {
    let (srv, token) = setup().await;
    let rx = start_receiver().await;
    let (status, _) = subscribe(&srv, &token, &rx.url("/hooks/graph"), None, 60).await;
    assert_eq!(status, StatusCode::CREATED);
    srv.control("/_control/clock", json!({ "advance_secs": 3700 }))
        .await;
    owner_event(&srv, "After expiry").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(rx.received().iter().all(|r| !is_notification(r)));

    // expire-channels also stops a live one.
    let (status, _) = subscribe(&srv, &token, &rx.url("/hooks/graph"), None, 60).await;
    assert_eq!(status, StatusCode::CREATED);
    srv.control(
        "/_control/microsoft/expire-channels",
        json!({ "owner_email": ALICE }),
    )
    .await;
    owner_event(&srv, "After expire-channels").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(rx.received().iter().all(|r| !is_notification(r)));
}

#[tokio::test]
async fn lifecycle_notifications_reach_the_lifecycle_url() {
    let (srv, token) = setup().await;
    let rx = start_receiver().await;
    let (status, sub) = subscribe(
        &srv,
        &token,
        &rx.url("/hooks/graph"),
        Some(&rx.url("/hooks/lifecycle")),
        60,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    assert_eq!(sub["lifecycleNotificationUrl"], rx.url("/hooks/lifecycle"));
    let id = sub["id"].as_str().unwrap();
    // Both URLs were validated.
    let handshakes = rx
        .received()
        .into_iter()
        .filter(|r| r.query.is_some())
        .count();
    assert_eq!(handshakes, 2);
    srv.control(
        "/_control/microsoft/lifecycle",
        json!({ "subscription_id": id, "kind": "reauthorizationRequired" }),
    )
    .await;
    let is_lifecycle = |r: &Received| r.path == "/hooks/lifecycle" && r.query.is_none();
    let got = rx.wait_for(1, is_lifecycle, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    let v: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(v["value"][0]["lifecycleEvent"], "reauthorizationRequired");
    assert_eq!(v["value"][0]["subscriptionId"], id);
    assert_eq!(v["value"][0]["clientState"], "s3cr3t-client-state");

    srv.control(
        "/_control/microsoft/lifecycle",
        json!({ "subscription_id": id, "kind": "subscriptionRemoved" }),
    )
    .await;
    let got = rx.wait_for(2, is_lifecycle, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 2);
    let (status, _, _) = send(
        srv.client
            .get(graph(&srv, &format!("/subscriptions/{id}")))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Unknown subscription → 404; bad kind → 400.
    let resp = srv
        .client
        .post(srv.url("/_control/microsoft/lifecycle"))
        .json(&json!({ "subscription_id": "nope", "kind": "missed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = srv
        .client
        .post(srv.url("/_control/microsoft/lifecycle"))
        .json(&json!({ "subscription_id": id, "kind": "bogus" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn injected_429_has_graph_error_body_and_retry_after() {
    let (srv, token) = setup().await;
    srv.control(
        "/_control/faults",
        json!({ "provider": "microsoft", "endpoint": "me/events", "error_rate": 1.0, "status": 429 }),
    )
    .await;
    let (status, headers, err) = send(
        srv.client
            .get(graph(&srv, "/me/events"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(err["error"]["code"], "TooManyRequests");
    assert!(headers.get("retry-after").is_some());
    // Other endpoints are unaffected.
    let (status, _, _) = send(srv.client.get(graph(&srv, "/me")).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn control_routes_reject_bad_input_and_change_nothing() {
    let (srv, _token) = setup().await;
    let post = |body: Value| {
        srv.client
            .post(srv.url("/_control/microsoft/events"))
            .json(&body)
            .send()
    };
    let resp =
        post(json!({ "owner_email": ALICE, "summary": "x", "start": "soon", "end": "later" }))
            .await
            .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = post(json!({ "owner_email": ALICE, "summary": "x", "start": "2026-11-22T11:00:00Z", "end": "2026-11-22T10:00:00Z" }))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = post(json!({ "owner_email": "ghost@sandbox.test", "summary": "x", "start": "2026-11-22T10:00:00Z", "end": "2026-11-22T11:00:00Z" }))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = srv
        .client
        .patch(srv.url("/_control/microsoft/events/unknown"))
        .json(&json!({ "owner_email": ALICE, "summary": "y" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let ev = owner_event(&srv, "Keep").await;
    let resp = srv
        .client
        .patch(srv.url(&format!(
            "/_control/microsoft/events/{}",
            ev["id"].as_str().unwrap()
        )))
        .json(&json!({ "owner_email": ALICE, "end": "2026-11-22T09:00:00Z" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let truth = srv
        .get_json(&format!(
            "/_control/truth?provider=microsoft&account={ALICE}"
        ))
        .await;
    let events = truth["microsoft"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["subject"], "Keep");
    assert_eq!(events[0]["@odata.etag"], ev["@odata.etag"]);
}
