//! The Google Calendar v3 emulator over real HTTP: OAuth semantics, events
//! paging and incremental sync, etags, Meet links, idempotent inserts,
//! free/busy, push channels and fault injection.

use calbridge_sandbox::testing::*;
use calbridge_sandbox::Provider;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const CLIENT_ID: &str = "google-client.apps.googleusercontent.com";
const SECRET: &str = "google-secret";
const REDIRECT: &str = "http://127.0.0.1:9/oauth/google/callback";
const ALICE: &str = "alice@sandbox.test";

struct Google {
    sb: SandboxServer,
    token: String,
}

async fn setup(seed: u64) -> Google {
    let sb = start_sandbox(seed).await;
    sb.app(Provider::Google, CLIENT_ID, SECRET, REDIRECT).await;
    let grant = sb
        .connect(Provider::Google, CLIENT_ID, SECRET, REDIRECT, ALICE)
        .await;
    let token = grant["access_token"].as_str().unwrap().to_owned();
    Google { sb, token }
}

impl Google {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_with(method, path, body, &[]).await
    }

    async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = self
            .sb
            .client
            .request(method, self.sb.url(&format!("/google{path}")))
            .bearer_auth(&self.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn insert(&self, summary: &str, start: &str, end: &str) -> Value {
        let (status, event) = self
            .call(
                Method::POST,
                "/calendar/v3/calendars/primary/events",
                Some(json!({
                    "summary": summary,
                    "start": { "dateTime": start },
                    "end": { "dateTime": end },
                })),
            )
            .await;
        assert_eq!(status, 200, "insert: {event}");
        event
    }

    async fn list(&self, query: &str) -> (u16, Value) {
        self.call(
            Method::GET,
            &format!("/calendar/v3/calendars/primary/events?{query}"),
            None,
        )
        .await
    }

    /// A control request with any method; returns status and JSON.
    async fn control(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.sb.client.request(method, self.sb.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn reason(body: &Value) -> &str {
    body["error"]["errors"][0]["reason"].as_str().unwrap_or("")
}

async fn token_request(sb: &SandboxServer, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = sb
        .client
        .post(sb.url("/google-oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn oauth_refresh_token_only_on_offline_consent_and_never_rotated() {
    let g = setup(1).await;
    let sb = &g.sb;
    let first = sb
        .connect(Provider::Google, CLIENT_ID, SECRET, REDIRECT, ALICE)
        .await;
    let refresh = first["refresh_token"]
        .as_str()
        .expect("offline + consent gives a refresh token")
        .to_owned();

    // The same grant without access_type=offline&prompt=consent.
    let verifier = "another-pkce-verifier-long-enough-0123456789-abcdefghijk";
    let challenge = pkce_challenge(verifier);
    let redirect = sb
        .consent(
            Provider::Google,
            &[
                ("client_id", CLIENT_ID),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("state", "s2"),
                ("scope", "https://www.googleapis.com/auth/calendar"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
            ALICE,
            "allow",
        )
        .await;
    let code = query_param(&location(&redirect), "code").unwrap();
    let (status, online) = token_request(
        sb,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(status, 200, "{online}");
    assert!(online["access_token"].is_string());
    assert!(online.get("refresh_token").is_none(), "{online}");

    // Refresh: new access token, no new refresh token, old one keeps working.
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
    ];
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let (status, body) = token_request(sb, &refresh_form).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("refresh_token").is_none(), "{body}");
        tokens.push(body["access_token"].as_str().unwrap().to_owned());
    }
    assert_ne!(tokens[0], tokens[1]);
    assert_ne!(tokens[0], g.token);

    // Client credentials must be form fields: HTTP Basic alone is rejected.
    let resp = sb
        .client
        .post(sb.url("/google-oauth/token"))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    // The refreshed token works; userinfo has the account.
    let info: Value = sb
        .client
        .get(sb.url("/google/oauth2/v3/userinfo"))
        .bearer_auth(&tokens[1])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], ALICE);
    assert_eq!(info["email_verified"], true);
    assert!(info["sub"]
        .as_str()
        .unwrap()
        .chars()
        .all(|c| c.is_ascii_digit()));
    assert_eq!(info["given_name"], "Alice");

    // Revoke (token in the form): API calls answer 401 afterwards.
    let resp = sb
        .client
        .post(sb.url("/google-oauth/revoke"))
        .form(&[("token", tokens[1].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    for path in [
        "/google/oauth2/v3/userinfo",
        "/google/calendar/v3/users/me/calendarList",
    ] {
        let resp = sb
            .client
            .get(sb.url(path))
            .bearer_auth(&tokens[1])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], 401);
    }
    let (status, _) = token_request(sb, &refresh_form).await;
    assert_eq!(status, 400, "revoked refresh token");
}

#[tokio::test]
async fn calendar_list_primary_alias_and_isolation() {
    let g = setup(2).await;
    let (status, list) = g
        .call(Method::GET, "/calendar/v3/users/me/calendarList", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["kind"], "calendar#calendarList");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let primary = items.iter().find(|c| c["primary"] == true).unwrap();
    assert_eq!(primary["id"], ALICE);
    assert_eq!(primary["accessRole"], "owner");
    assert_eq!(primary["kind"], "calendar#calendarListEntry");
    assert_eq!(primary["timeZone"], "Europe/Berlin");
    let team = items.iter().find(|c| c["summary"] == "Team").unwrap();
    let team_id = team["id"].as_str().unwrap().to_owned();

    // `primary` and the email name the same calendar.
    let event = g
        .insert("Alias", "2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z")
        .await;
    let id = event["id"].as_str().unwrap();
    let (status, same) = g
        .call(
            Method::GET,
            &format!("/calendar/v3/calendars/alice%40sandbox.test/events/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(same["etag"], event["etag"]);
    assert_eq!(same["organizer"]["email"], ALICE);
    assert_eq!(same["organizer"]["self"], true);
    assert_eq!(same["kind"], "calendar#event");
    assert_eq!(same["iCalUID"], format!("{id}@google.com"));

    // The second calendar is separate.
    let (status, team_events) = g
        .call(
            Method::GET,
            &format!("/calendar/v3/calendars/{team_id}/events"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(team_events["items"].as_array().unwrap().len(), 0);

    // Another user's calendar is 404 notFound, for reading and writing.
    for (method, path, body) in [
        (
            Method::GET,
            "/calendar/v3/calendars/bob@sandbox.test/events",
            None,
        ),
        (
            Method::POST,
            "/calendar/v3/calendars/bob@sandbox.test/events",
            Some(
                json!({"start": {"dateTime": "2030-01-07T10:00:00Z"}, "end": {"dateTime": "2030-01-07T11:00:00Z"}}),
            ),
        ),
        (
            Method::GET,
            "/calendar/v3/calendars/bob@sandbox.test/events/abcdefghij",
            None,
        ),
    ] {
        let (status, body) = g.call(method, path, body).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(reason(&body), "notFound");
    }

    // No token → 401.
    let resp =
        g.sb.client
            .get(g.sb.url("/google/calendar/v3/users/me/calendarList"))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn events_pagination_gives_sync_token_only_on_last_page() {
    let g = setup(3).await;
    for i in 0..30 {
        g.insert(
            &format!("Event {i}"),
            &format!("2030-02-01T{:02}:00:00Z", i % 24),
            &format!("2030-02-01T{:02}:30:00Z", i % 24),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut query = "maxResults=10&singleEvents=true&orderBy=startTime".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = g.list(&query).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["kind"], "calendar#events");
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 10);
        seen.extend(items.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match page["nextPageToken"].as_str() {
            Some(token) => {
                assert!(page.get("nextSyncToken").is_none(), "page {pages}");
                query = format!("maxResults=10&pageToken={token}");
            }
            None => {
                assert!(page["nextSyncToken"].is_string(), "last page");
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 30);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 30, "no duplicates across pages");

    // timeMin/timeMax window and defaults.
    let (_, window) = g
        .list("timeMin=2030-02-01T05:00:00Z&timeMax=2030-02-01T08:00:00Z&singleEvents=true&orderBy=startTime")
        .await;
    let starts: Vec<&str> = window["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["start"]["dateTime"].as_str().unwrap())
        .collect();
    assert_eq!(starts.len(), 4, "{starts:?}"); // 05 (twice: i=5, i=29), 06, 07
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    let (status, body) = g.list("orderBy=startTime").await;
    assert_eq!(status, 400, "orderBy=startTime needs singleEvents: {body}");
    let (status, _) = g.list("pageToken=nonsense").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn incremental_sync_returns_changes_including_deletions() {
    let g = setup(4).await;
    let a = g
        .insert("A", "2030-03-01T10:00:00Z", "2030-03-01T11:00:00Z")
        .await;
    let b = g
        .insert("B", "2030-03-02T10:00:00Z", "2030-03-02T11:00:00Z")
        .await;
    g.insert("C", "2030-03-03T10:00:00Z", "2030-03-03T11:00:00Z")
        .await;
    let (_, full) = g.list("").await;
    assert_eq!(full["items"].as_array().unwrap().len(), 3);
    let token = full["nextSyncToken"].as_str().unwrap().to_owned();

    // Nothing changed: empty, with a fresh token.
    let (status, empty) = g.list(&format!("syncToken={token}")).await;
    assert_eq!(status, 200);
    assert_eq!(empty["items"].as_array().unwrap().len(), 0);

    let a_id = a["id"].as_str().unwrap();
    let b_id = b["id"].as_str().unwrap();
    let (status, _) = g
        .call(
            Method::PATCH,
            &format!("/calendar/v3/calendars/primary/events/{a_id}"),
            Some(json!({ "summary": "A (moved)" })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = g
        .call(
            Method::DELETE,
            &format!("/calendar/v3/calendars/primary/events/{b_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);

    let (status, changes) = g.list(&format!("syncToken={token}")).await;
    assert_eq!(status, 200, "{changes}");
    let items = changes["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{changes}");
    let changed_a = items.iter().find(|e| e["id"] == a_id).unwrap();
    assert_eq!(changed_a["summary"], "A (moved)");
    assert_eq!(changed_a["status"], "confirmed");
    let deleted_b = items.iter().find(|e| e["id"] == b_id).unwrap();
    assert_eq!(deleted_b["status"], "cancelled");
    let next = changes["nextSyncToken"].as_str().unwrap().to_owned();
    assert_ne!(next, token);
    let (_, after) = g.list(&format!("syncToken={next}")).await;
    assert_eq!(after["items"].as_array().unwrap().len(), 0);

    // A full listing hides the deleted event unless showDeleted=true.
    let (_, visible) = g.list("").await;
    assert_eq!(visible["items"].as_array().unwrap().len(), 2);
    let (_, all) = g.list("showDeleted=true").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);

    // syncToken cannot be combined with time bounds.
    let (status, body) = g
        .list(&format!("syncToken={next}&timeMin=2030-01-01T00:00:00Z"))
        .await;
    assert_eq!(status, 400, "{body}");

    // Unknown token → 410 fullSyncRequired.
    let (status, body) = g.list("syncToken=CPDunknown").await;
    assert_eq!(status, 410);
    assert_eq!(reason(&body), "fullSyncRequired");

    // Invalidated tokens → 410 fullSyncRequired; a full sync recovers.
    let (status, inv) = g
        .control(
            Method::POST,
            "/_control/google/invalidate-sync-tokens",
            Some(json!({ "owner_email": ALICE })),
        )
        .await;
    assert_eq!(status, 200);
    assert!(inv["invalidated"].as_u64().unwrap() >= 2);
    let (status, body) = g.list(&format!("syncToken={next}")).await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(reason(&body), "fullSyncRequired");
    assert_eq!(body["error"]["code"], 410);
    let (_, fresh) = g.list("").await;
    let fresh_token = fresh["nextSyncToken"].as_str().unwrap();
    let (status, _) = g.list(&format!("syncToken={fresh_token}")).await;
    assert_eq!(status, 200);

    // Unknown owner for the control call → 404.
    let (status, _) = g
        .control(
            Method::POST,
            "/_control/google/invalidate-sync-tokens",
            Some(json!({ "owner_email": "nobody@sandbox.test" })),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn if_match_with_stale_etag_is_412_and_delete_is_soft() {
    let g = setup(5).await;
    let event = g
        .insert("Etag", "2030-04-01T10:00:00Z", "2030-04-01T11:00:00Z")
        .await;
    let id = event["id"].as_str().unwrap();
    let path = format!("/calendar/v3/calendars/primary/events/{id}");
    let old = event["etag"].as_str().unwrap().to_owned();
    assert!(old.starts_with('"') && old.ends_with('"'));

    let (status, updated) = g
        .call_with(
            Method::PATCH,
            &path,
            Some(json!({ "summary": "Etag 2" })),
            &[("If-Match", &old)],
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    let current = updated["etag"].as_str().unwrap().to_owned();
    assert_ne!(current, old, "etag changes on every change");
    assert_eq!(updated["sequence"], 1);

    let (status, body) = g
        .call_with(
            Method::PUT,
            &path,
            Some(json!({
                "summary": "Lost update",
                "start": { "dateTime": "2030-04-01T12:00:00Z" },
                "end": { "dateTime": "2030-04-01T13:00:00Z" },
            })),
            &[("If-Match", &old)],
        )
        .await;
    assert_eq!(status, 412);
    assert_eq!(reason(&body), "conditionNotMet");
    let (_, unchanged) = g.call(Method::GET, &path, None).await;
    assert_eq!(unchanged["summary"], "Etag 2");
    assert_eq!(unchanged["etag"], current.as_str());

    // PUT with the current etag replaces the event.
    let (status, put) = g
        .call_with(
            Method::PUT,
            &path,
            Some(json!({
                "summary": "Replaced",
                "start": { "dateTime": "2030-04-01T14:00:00+02:00" },
                "end": { "dateTime": "2030-04-01T15:00:00+02:00" },
            })),
            &[("If-Match", &current)],
        )
        .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["start"]["dateTime"], "2030-04-01T14:00:00+02:00");
    let latest = put["etag"].as_str().unwrap().to_owned();

    // End before start is rejected, nothing changes.
    let (status, body) = g
        .call(
            Method::PATCH,
            &path,
            Some(json!({ "end": { "dateTime": "2030-04-01T09:00:00Z" } })),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = g
        .call_with(Method::DELETE, &path, None, &[("If-Match", &current)])
        .await;
    assert_eq!(status, 412);
    assert_eq!(reason(&body), "conditionNotMet");
    let (status, _) = g
        .call_with(Method::DELETE, &path, None, &[("If-Match", &latest)])
        .await;
    assert_eq!(status, 204);
    let (status, gone) = g.call(Method::GET, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(gone["status"], "cancelled");
    let (status, body) = g.call(Method::DELETE, &path, None).await;
    assert_eq!(status, 410);
    assert_eq!(reason(&body), "deleted");

    // Ground truth keeps the cancelled event.
    let truth =
        g.sb.get_json("/_control/truth?account=alice@sandbox.test&provider=google")
            .await;
    let events = truth["google"]["calendars"][0]["events"]
        .as_array()
        .unwrap();
    let e = events.iter().find(|e| e["id"] == id).unwrap();
    assert_eq!(e["status"], "cancelled");
}

#[tokio::test]
async fn meet_links_and_idempotent_insert_with_client_id() {
    let g = setup(6).await;
    let body = json!({
        "summary": "With Meet",
        "start": { "dateTime": "2030-05-01T10:00:00Z" },
        "end": { "dateTime": "2030-05-01T10:30:00Z" },
        "attendees": [{ "email": "Guest@Example.com" }],
        "conferenceData": { "createRequest": {
            "requestId": "req-1",
            "conferenceSolutionKey": { "type": "hangoutsMeet" },
        }},
    });
    let (status, created) = g
        .call(
            Method::POST,
            "/calendar/v3/calendars/primary/events?conferenceDataVersion=1&sendUpdates=all",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    // Like Google: the Meet is still being made; a later read has it.
    assert_eq!(
        created["conferenceData"]["createRequest"]["status"]["statusCode"],
        "pending"
    );
    assert!(created.get("hangoutLink").is_none());
    let id = created["id"].as_str().unwrap();
    let (status, event) = g
        .call(
            Method::GET,
            &format!("/calendar/v3/calendars/primary/events/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{event}");
    let link = event["hangoutLink"].as_str().unwrap();
    let re = regex::Regex::new(r"^https://meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}$").unwrap();
    assert!(re.is_match(link), "{link}");
    let cd = &event["conferenceData"];
    assert_eq!(cd["entryPoints"][0]["entryPointType"], "video");
    assert_eq!(cd["entryPoints"][0]["uri"], link);
    assert_eq!(cd["conferenceSolution"]["key"]["type"], "hangoutsMeet");
    assert_eq!(cd["createRequest"]["status"]["statusCode"], "success");
    assert!(cd["conferenceId"].is_string());
    assert_eq!(event["attendees"][0]["email"], "guest@example.com");
    assert_eq!(event["attendees"][0]["responseStatus"], "needsAction");
    // sendUpdates=all mails the attendees.
    let mails = g.sb.get_json("/_control/google/invitations").await;
    assert_eq!(
        mails["invitations"],
        json!([{"event_id": id, "kind": "created", "to": ["guest@example.com"]}])
    );

    // Without conferenceDataVersion=1 the request is ignored.
    let (_, plain) = g
        .call(
            Method::POST,
            "/calendar/v3/calendars/primary/events",
            Some(body),
        )
        .await;
    assert!(plain.get("hangoutLink").is_none());

    // A client-supplied id makes the insert idempotent.
    let with_id = json!({
        "id": "calbridge0booking0001",
        "summary": "Booking",
        "start": { "dateTime": "2030-05-02T10:00:00Z" },
        "end": { "dateTime": "2030-05-02T10:30:00Z" },
    });
    let (status, first) = g
        .call(
            Method::POST,
            "/calendar/v3/calendars/primary/events",
            Some(with_id.clone()),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["id"], "calbridge0booking0001");
    let (status, again) = g
        .call(
            Method::POST,
            "/calendar/v3/calendars/primary/events",
            Some(with_id),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(reason(&again), "duplicate");
    let (_, list) = g.list("q=Booking").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Ids must be base32hex (a-v, 0-9), 5 to 1024 characters.
    for bad in ["UPPER_CASE", "abc", "xyz-not-base32"] {
        let (status, body) = g
            .call(
                Method::POST,
                "/calendar/v3/calendars/primary/events",
                Some(json!({
                    "id": bad,
                    "start": { "dateTime": "2030-05-02T10:00:00Z" },
                    "end": { "dateTime": "2030-05-02T10:30:00Z" },
                })),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

#[tokio::test]
async fn free_busy_merges_busy_times_and_reports_foreign_calendars() {
    let g = setup(7).await;
    g.insert("One", "2030-06-01T10:00:00Z", "2030-06-01T11:00:00Z")
        .await;
    g.insert("Two", "2030-06-01T10:30:00Z", "2030-06-01T12:00:00Z")
        .await;
    g.insert("Three", "2030-06-01T14:00:00Z", "2030-06-01T15:00:00Z")
        .await;
    let cancelled = g
        .insert("Gone", "2030-06-01T16:00:00Z", "2030-06-01T17:00:00Z")
        .await;
    let (status, _) = g
        .call(
            Method::DELETE,
            &format!(
                "/calendar/v3/calendars/primary/events/{}",
                cancelled["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, fb) = g
        .call(
            Method::POST,
            "/calendar/v3/freeBusy",
            Some(json!({
                "timeMin": "2030-06-01T09:00:00Z",
                "timeMax": "2030-06-01T14:30:00Z",
                "items": [{ "id": "primary" }, { "id": ALICE }, { "id": "bob@sandbox.test" }],
            })),
        )
        .await;
    assert_eq!(status, 200, "{fb}");
    assert_eq!(fb["kind"], "calendar#freeBusy");
    let expected = json!([
        { "start": "2030-06-01T10:00:00Z", "end": "2030-06-01T12:00:00Z" },
        { "start": "2030-06-01T14:00:00Z", "end": "2030-06-01T14:30:00Z" },
    ]);
    assert_eq!(fb["calendars"][ALICE]["busy"], expected);
    assert_eq!(fb["calendars"]["primary"]["busy"], expected);
    assert_eq!(
        fb["calendars"]["bob@sandbox.test"]["errors"][0]["reason"],
        "notFound"
    );

    // timeZone formats the answer in that zone.
    let (_, zoned) = g
        .call(
            Method::POST,
            "/calendar/v3/freeBusy",
            Some(json!({
                "timeMin": "2030-06-01T09:00:00Z",
                "timeMax": "2030-06-01T11:00:00Z",
                "timeZone": "Europe/Berlin",
                "items": [{ "id": "primary" }],
            })),
        )
        .await;
    assert_eq!(
        zoned["calendars"]["primary"]["busy"][0]["start"],
        "2030-06-01T12:00:00+02:00"
    );
    let (status, _) = g
        .call(
            Method::POST,
            "/calendar/v3/freeBusy",
            Some(json!({ "items": [{ "id": "primary" }] })),
        )
        .await;
    assert_eq!(status, 400);
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

async fn owner_event(g: &Google, summary: &str) -> Value {
    let (status, event) = g
        .control(
            Method::POST,
            "/_control/google/events",
            Some(json!({
                "owner_email": ALICE,
                "summary": summary,
                "start": "2030-07-01T10:00:00Z",
                "end": "2030-07-01T11:00:00Z",
                "attendees": ["ivy@example.com"],
                "online_meeting": true,
            })),
        )
        .await;
    assert_eq!(status, 201, "{event}");
    event
}

#[tokio::test]
async fn watch_channel_notifies_sync_then_exists_until_stopped() {
    let g = setup(8).await;
    // The sandbox never posts to the internet.
    for outside in ["https://evil.test/webhooks/google", "http://10.1.2.3/x"] {
        let (status, err) = g
            .call(
                Method::POST,
                "/calendar/v3/calendars/primary/events/watch",
                Some(json!({"id": "channel-0", "type": "web_hook", "address": outside})),
            )
            .await;
        assert_eq!(status, 400, "{outside}: {err}");
    }
    let receiver = start_receiver().await;
    let address = receiver.url("/webhooks/google");
    let (status, channel) = g
        .call(
            Method::POST,
            "/calendar/v3/calendars/primary/events/watch",
            Some(json!({
                "id": "channel-1",
                "type": "web_hook",
                "address": address,
                "token": "secret-channel-token",
            })),
        )
        .await;
    assert_eq!(status, 200, "{channel}");
    assert_eq!(channel["kind"], "api#channel");
    assert_eq!(channel["id"], "channel-1");
    assert_eq!(channel["token"], "secret-channel-token");
    let resource_id = channel["resourceId"].as_str().unwrap().to_owned();
    let expiration: i64 = channel["expiration"].as_str().unwrap().parse().unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let week_ms = 7 * 24 * 3600 * 1000;
    assert!(expiration > now_ms + week_ms - 60_000 && expiration <= now_ms + week_ms + 60_000);

    let got = receiver.wait_for(1, |_| true, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    let sync = &got[0];
    assert_eq!(sync.path, "/webhooks/google");
    assert!(sync.body.is_empty());
    assert_eq!(header(sync, "X-Goog-Resource-State"), "sync");
    assert_eq!(header(sync, "X-Goog-Message-Number"), "1");
    assert_eq!(header(sync, "X-Goog-Channel-ID"), "channel-1");
    assert_eq!(header(sync, "X-Goog-Channel-Token"), "secret-channel-token");
    assert_eq!(header(sync, "X-Goog-Resource-ID"), resource_id);
    assert_eq!(
        header(sync, "X-Goog-Resource-URI"),
        channel["resourceUri"].as_str().unwrap()
    );
    let exp_header =
        chrono::DateTime::parse_from_rfc2822(header(sync, "X-Goog-Channel-Expiration")).unwrap();
    assert_eq!(exp_header.timestamp(), expiration / 1000);

    // The owner adds an event in Google's UI → `exists`.
    let event = owner_event(&g, "Owner event").await;
    assert!(event["hangoutLink"]
        .as_str()
        .unwrap()
        .starts_with("https://meet.google.com/"));
    let got = receiver.wait_for(2, |_| true, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 2);
    assert_eq!(header(&got[1], "X-Goog-Resource-State"), "exists");
    assert_eq!(header(&got[1], "X-Goog-Message-Number"), "2");
    assert!(got[1].body.is_empty());

    // The owner edits and deletes it; an API change notifies too.
    let id = event["id"].as_str().unwrap();
    let (status, patched) = g
        .control(
            Method::PATCH,
            &format!("/_control/google/events/{id}"),
            Some(json!({ "owner_email": ALICE, "summary": "Renamed" })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["summary"], "Renamed");
    receiver.wait_for(3, |_| true, Duration::from_secs(5)).await;
    let (status, _) = g
        .control(
            Method::DELETE,
            &format!("/_control/google/events/{id}?owner_email={ALICE}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    receiver.wait_for(4, |_| true, Duration::from_secs(5)).await;
    g.insert("Via API", "2030-07-02T10:00:00Z", "2030-07-02T11:00:00Z")
        .await;
    let got = receiver.wait_for(5, |_| true, Duration::from_secs(5)).await;
    let mut numbers: Vec<u64> = got
        .iter()
        .map(|r| header(r, "X-Goog-Message-Number").parse().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5]);
    assert!(got[1..]
        .iter()
        .all(|r| header(r, "X-Goog-Resource-State") == "exists"));

    // The incremental sync a client runs on `exists` sees the deletion.
    let (_, full) = g.list("showDeleted=true").await;
    let gone = full["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap();
    assert_eq!(gone["status"], "cancelled");

    // A duplicate live channel id is refused.
    let (status, _) = g
        .call(
            Method::POST,
            "/calendar/v3/calendars/primary/events/watch",
            Some(json!({ "id": "channel-1", "type": "web_hook", "address": address })),
        )
        .await;
    assert_eq!(status, 400);

    // channels.stop: the wrong resourceId is 404; then no more notifications.
    let (status, body) = g
        .call(
            Method::POST,
            "/calendar/v3/channels/stop",
            Some(json!({ "id": "channel-1", "resourceId": "wrong" })),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = g
        .call(
            Method::POST,
            "/calendar/v3/channels/stop",
            Some(json!({ "id": "channel-1", "resourceId": resource_id })),
        )
        .await;
    assert_eq!(status, 204);
    owner_event(&g, "After stop").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), 5);
}

#[tokio::test]
async fn expired_channels_stop_notifying_and_expiration_is_capped() {
    let g = setup(9).await;
    let receiver = start_receiver().await;
    let far = chrono::Utc::now().timestamp_millis() + 30 * 24 * 3600 * 1000;
    let (status, channel) = g
        .call(
            Method::POST,
            "/calendar/v3/calendars/primary/events/watch",
            Some(json!({
                "id": "channel-exp",
                "type": "web_hook",
                "address": receiver.url("/hook"),
                "expiration": far,
            })),
        )
        .await;
    assert_eq!(status, 200, "{channel}");
    let expiration: i64 = channel["expiration"].as_str().unwrap().parse().unwrap();
    assert!(expiration <= chrono::Utc::now().timestamp_millis() + 7 * 24 * 3600 * 1000 + 1000);
    assert!(channel.get("token").is_none());
    let got = receiver.wait_for(1, |_| true, Duration::from_secs(5)).await;
    assert_eq!(header(&got[0], "X-Goog-Resource-State"), "sync");
    assert!(got[0].headers.get("X-Goog-Channel-Token").is_none());

    let (status, body) = g
        .control(
            Method::POST,
            "/_control/google/expire-channels",
            Some(json!({ "owner_email": ALICE })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["expired"], 1);
    owner_event(&g, "After expiry").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), 1);

    // An expired channel id can be reused for a new channel.
    let (status, _) = g
        .call(
            Method::POST,
            "/calendar/v3/calendars/primary/events/watch",
            Some(json!({ "id": "channel-exp", "type": "web_hook", "address": receiver.url("/hook") })),
        )
        .await;
    assert_eq!(status, 200);
    receiver.wait_for(2, |_| true, Duration::from_secs(5)).await;
    owner_event(&g, "New channel").await;
    let got = receiver.wait_for(3, |_| true, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 3);
}

#[tokio::test]
async fn injected_faults_use_google_error_body_and_reset() {
    let g = setup(10).await;
    let (status, _) = g
        .control(
            Method::POST,
            "/_control/faults",
            Some(json!({ "provider": "google", "endpoint": "events", "error_rate": 1.0, "status": 503 })),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = g.list("").await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["code"], 503);
    assert_eq!(reason(&body), "backendError");
    let (status, _) = g
        .call(Method::GET, "/calendar/v3/users/me/calendarList", None)
        .await;
    assert_eq!(status, 200, "other endpoints are unaffected");
    let (status, _) = g.control(Method::DELETE, "/_control/faults", None).await;
    assert_eq!(status, 204);
    let (status, _) = g.list("").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn control_routes_validate_input_and_change_nothing_on_error() {
    let g = setup(11).await;
    let cases = [
        (
            json!({ "owner_email": ALICE, "summary": "x", "start": "tomorrow", "end": "2030-01-01T10:00:00Z" }),
            400,
        ),
        (
            json!({ "owner_email": ALICE, "summary": "x", "start": "2030-01-01T11:00:00Z", "end": "2030-01-01T10:00:00Z" }),
            400,
        ),
        (
            json!({ "owner_email": "nobody@sandbox.test", "summary": "x", "start": "2030-01-01T10:00:00Z", "end": "2030-01-01T11:00:00Z" }),
            404,
        ),
        (
            json!({ "owner_email": ALICE, "summary": "x", "start": "2030-01-01T10:00:00Z", "end": "2030-01-01T11:00:00Z", "calendar_id": "bob@sandbox.test" }),
            404,
        ),
        (json!({ "summary": "missing owner" }), 400),
    ];
    for (body, expected) in cases {
        let (status, answer) = g
            .control(Method::POST, "/_control/google/events", Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{body} → {answer}");
        assert!(answer["error"].is_string());
    }
    let (status, _) = g
        .control(
            Method::PATCH,
            "/_control/google/events/doesnotexist",
            Some(json!({ "owner_email": ALICE, "summary": "x" })),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = g
        .control(Method::DELETE, "/_control/google/events/doesnotexist", None)
        .await;
    assert_eq!(status, 400, "owner_email is required");

    // Bob cannot edit Alice's event through the control API either.
    let event = owner_event(&g, "Alice's").await;
    let id = event["id"].as_str().unwrap();
    let (status, _) = g
        .control(
            Method::PATCH,
            &format!("/_control/google/events/{id}"),
            Some(json!({ "owner_email": "bob@sandbox.test", "summary": "hijack" })),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = g
        .control(
            Method::PATCH,
            &format!("/_control/google/events/{id}"),
            Some(json!({ "owner_email": ALICE, "start": "not a time" })),
        )
        .await;
    assert_eq!(status, 400);
    let (_, list) = g.list("").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["summary"], "Alice's");
    assert_eq!(items[0]["etag"], event["etag"]);

    let accounts = g.sb.get_json("/_control/accounts?provider=google").await;
    let alice = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == ALICE)
        .unwrap();
    assert_eq!(alice["calendar_id"], ALICE);
    assert_eq!(alice["calendars"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_series_lists_as_instances_with_single_events_and_as_master_and_exceptions_without() {
    let g = setup(31).await;
    let series =
        g.sb.control(
            "/_control/google/events",
            json!({"owner_email": ALICE, "summary": "Standup",
                   "start": "2026-03-27T08:00:00+01:00", "end": "2026-03-27T08:15:00+01:00",
                   "time_zone": "Europe/Berlin", "repeat": {"frequency": "daily", "count": 3}}),
        )
        .await;
    let master = series["id"].as_str().unwrap().to_owned();
    let list = |single: bool| {
        let g = &g;
        async move {
            let (status, body) = g
                .call(
                    Method::GET,
                    &format!(
                        "/calendar/v3/calendars/primary/events?singleEvents={single}&showDeleted=true"
                    ),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body["items"].as_array().unwrap().clone()
        }
    };
    let instances = list(true).await;
    let starts: Vec<&str> = instances
        .iter()
        .map(|e| e["start"]["dateTime"].as_str().unwrap())
        .collect();
    // 08:00 Berlin each day, across the spring-forward night of the 29th.
    assert_eq!(
        starts,
        [
            "2026-03-27T08:00:00+01:00",
            "2026-03-28T08:00:00+01:00",
            "2026-03-29T08:00:00+02:00"
        ]
    );
    for e in &instances {
        assert_eq!(e["recurringEventId"], master.as_str());
        assert_eq!(e["originalStartTime"], e["start"]);
        assert!(e["id"].as_str().unwrap().starts_with(&format!("{master}_")));
    }
    assert_eq!(instances[0]["id"], format!("{master}_20260327T070000Z"));
    let masters = list(false).await;
    assert_eq!(masters.len(), 1, "only the master: {masters:?}");
    assert_eq!(
        masters[0]["recurrence"],
        json!(["RRULE:FREQ=DAILY;COUNT=3"])
    );

    // Cancelling one instance makes it an exception, listed with the master.
    let resp =
        g.sb.client
            .delete(g.sb.url(&format!(
                "/_control/google/events/{master}_20260328T070000Z?owner_email={ALICE}"
            )))
            .send()
            .await
            .unwrap();
    assert!(resp.status().is_success());
    let without = list(false).await;
    assert_eq!(without.len(), 2, "{without:?}");
    assert_eq!(without[1]["status"], "cancelled");
    assert_eq!(without[1]["recurringEventId"], master.as_str());
    let listed = list(true).await;
    let cancelled: Vec<&Value> = listed
        .iter()
        .filter(|e| e["status"] == "cancelled")
        .collect();
    assert_eq!((listed.len(), cancelled.len()), (3, 1));

    // Deleting the series cancels every instance.
    let resp =
        g.sb.client
            .delete(g.sb.url(&format!(
                "/_control/google/events/{master}?owner_email={ALICE}"
            )))
            .send()
            .await
            .unwrap();
    assert!(resp.status().is_success());
    assert!(list(true).await.iter().all(|e| e["status"] == "cancelled"));
}
