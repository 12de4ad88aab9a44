//! Appointments in two-way sync with their owner's calendar, over real
//! HTTP with the sandbox: created, changed and canceled through
//! `/api/v1/appointments` → the event in the sandbox's truth; moved,
//! renamed and deleted in the sandbox as the owner → the appointment
//! follows; both sides changed → the connection's policy (the conflict
//! queue under `ask`, with both ways to settle it). Both backends.

use crate::common;
use crate::common::Expect;

use calbridge::model::{ApiScope, ConflictPolicy, ConnectionId};
use calbridge::server::providers::google::writes::event_id;
use common::booking::{alice_at, api, demo_tenant, json_of, key_for, next_monday, seed_demo};
use common::connect::{
    clear_faults, connected, connections, control, eventually, google_truth, hold_notifications,
    instant, meetings, sandbox_get, sandboxed, syncs_settled,
};
use common::{location, page, post_form, signed_in, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ALICE_SANDBOX: &str = "alice@sandbox.test";
const BOB_SANDBOX: &str = "bob@sandbox.test";

/// Berlin time on next Monday, as RFC 3339.
fn berlin(hh_mm: &str) -> String {
    format!("{}T{hh_mm}:00+01:00", next_monday())
}

async fn send(
    agent: &reqwest::Client,
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = agent.request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    json_of(request.send().await.unwrap()).await
}

async fn create(agent: &reqwest::Client, app: &TestApp, body: Value) -> Value {
    let (status, made) = send(agent, app, Method::POST, "/api/v1/appointments", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made
}

async fn read(agent: &reqwest::Client, app: &TestApp, id: &str) -> Value {
    let (status, found) = send(
        agent,
        app,
        Method::GET,
        &format!("/api/v1/appointments/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found
}

async fn patch(agent: &reqwest::Client, app: &TestApp, id: &str, body: Value) -> Value {
    let (status, changed) = send(
        agent,
        app,
        Method::PATCH,
        &format!("/api/v1/appointments/{id}"),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    changed
}

async fn resolve(agent: &reqwest::Client, app: &TestApp, id: &str, keep: &str) -> Value {
    let (status, settled) = send(
        agent,
        app,
        Method::POST,
        &format!("/api/v1/appointments/{id}/resolve"),
        Some(json!({ "keep": keep })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{settled}");
    settled
}

fn review(start: &str, end: &str) -> Value {
    json!({"host": "alice@demo.test", "title": "Quarterly review", "start": berlin(start),
           "end": berlin(end), "attendees": ["Ada@Example.com"], "location": "Room 4",
           "notes": "Bring the numbers"})
}

/// The calendar event an appointment is mapped to.
async fn external_id(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT external_id FROM appointment_events WHERE appointment_id = $1")
        .bind(id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

/// Edits the event in the sandbox as its owner (a person in Google).
async fn edit_in_google(app: &TestApp, event: &str, changes: Value) {
    let mut body = changes;
    body["owner_email"] = json!(ALICE_SANDBOX);
    control(app, Method::PATCH, &format!("google/events/{event}"), body).await;
}

/// The owner picks the connection's policy on `/settings/calendars`.
async fn set_policy(
    app: &TestApp,
    owner: &reqwest::Client,
    connection: ConnectionId,
    policy: ConflictPolicy,
) {
    let saved = post_form(
        owner,
        &app.url(&format!("/settings/calendars/{connection}/conflict-policy")),
        &[("policy", policy.as_str())],
    )
    .await;
    assert_eq!(
        location(&saved),
        "/settings/calendars?notice=conflict_policy_saved"
    );
    let shown = connections(app, owner).await;
    assert_eq!(shown[0]["conflict_policy"], policy.as_str());
}

async fn google_round_trip(backend: common::Backend) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    let alice = connected(&app, "alice@demo.test", "google", ALICE_SANDBOX).await;
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);

    let made = create(&agent, &app, review("10:00", "11:00")).await;
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["host"], "alice@demo.test");
    assert_eq!(made["title"], "Quarterly review");
    assert_eq!(made["attendees"], json!(["ada@example.com"]));
    assert_eq!(made["status"], "confirmed");
    assert_eq!(made["sync"]["state"], "synced", "{made}");
    assert_eq!(made["sync"]["provider"], "google");
    assert!(made["sync"]["external_link"]
        .as_str()
        .is_some_and(|l| l.starts_with("https://")));
    assert_eq!(instant(made["start"].as_str().unwrap()), alice_at(10, 0));

    // The event: its id derived from the appointment's, so a retry after a
    // crash finds it instead of making a second.
    let event = external_id(&app, &id).await;
    assert_eq!(event, event_id(&id));
    let truth = &google_truth(&app, &event).await[0];
    assert_eq!(truth["summary"], "Quarterly review");
    assert_eq!(truth["location"], "Room 4");
    assert_eq!(truth["description"], "Bring the numbers");
    assert_eq!(instant(truth["start"].as_str().unwrap()), alice_at(10, 0));
    assert_eq!(instant(truth["end"].as_str().unwrap()), alice_at(11, 0));
    let invited: Vec<&str> = truth["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["email"].as_str())
        .collect();
    assert!(invited.contains(&"ada@example.com"), "{truth}");

    // On Alice's meetings page once, as the appointment, even after her
    // calendar (which now holds its event) has been read.
    syncs_settled(&app).await;
    let listed: Vec<Value> = meetings(&app, &alice)
        .await
        .into_iter()
        .filter(|m| instant(m["starts_at"].as_str().unwrap()) == alice_at(10, 0))
        .collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["source"], "calbridge");
    assert_eq!(listed[0]["title"], "Quarterly review");
    assert_eq!(listed[0]["location"], "Room 4");

    // Changed in calbridge: the event follows.
    let changed = patch(
        &agent,
        &app,
        &id,
        json!({"title": "Quarterly review (moved)", "start": berlin("12:00"), "end": berlin("13:00"), "location": null}),
    )
    .await;
    assert_eq!(changed["sync"]["state"], "synced", "{changed}");
    assert_eq!(changed["location"], Value::Null);
    assert_eq!(changed["notes"], "Bring the numbers", "kept: not named");
    let truth = &google_truth(&app, &event).await[0];
    assert_eq!(truth["summary"], "Quarterly review (moved)");
    assert_eq!(instant(truth["start"].as_str().unwrap()), alice_at(12, 0));
    assert!(truth["location"].is_null() || truth["location"] == "");

    // Moved and renamed in Google by Alice: the appointment follows.
    edit_in_google(
        &app,
        &event,
        json!({"summary": "Review with finance", "start": berlin("14:00"), "end": berlin("15:30")}),
    )
    .await;
    eventually("the appointment follows the calendar", || async {
        read(&agent, &app, &id).await["title"] == "Review with finance"
    })
    .await;
    let followed = read(&agent, &app, &id).await;
    assert_eq!(
        instant(followed["start"].as_str().unwrap()),
        alice_at(14, 0)
    );
    assert_eq!(instant(followed["end"].as_str().unwrap()), alice_at(15, 30));
    assert_eq!(followed["sync"]["state"], "synced", "{followed}");
    assert_eq!(followed["attendees"], json!(["ada@example.com"]));
    // Taking the calendar's version wrote nothing back.
    assert_eq!(
        google_truth(&app, &event).await[0]["summary"],
        "Review with finance"
    );

    // Deleted in Google: the appointment is canceled, and stays one row.
    control(
        &app,
        Method::DELETE,
        &format!("google/events/{event}?owner_email={ALICE_SANDBOX}"),
        json!({}),
    )
    .await;
    eventually("the appointment is canceled", || async {
        read(&agent, &app, &id).await["status"] == "canceled"
    })
    .await;

    // Canceled in calbridge: the event is deleted.
    let second = create(&agent, &app, review("16:00", "16:30")).await;
    let second_id = second["id"].as_str().unwrap();
    let second_event = external_id(&app, second_id).await;
    let (status, canceled) = send(
        &agent,
        &app,
        Method::DELETE,
        &format!("/api/v1/appointments/{second_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{canceled}");
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(canceled["sync"]["state"], "synced", "{canceled}");
    assert_eq!(
        google_truth(&app, &second_event).await[0]["status"],
        "cancelled"
    );

    // The sync log holds an export run per write.
    let (runs, exported, deleted): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(exported), 0) AS BIGINT), CAST(COALESCE(SUM(deleted), 0) AS BIGINT) FROM sync_runs \
         WHERE trigger = 'export' AND outcome = 'succeeded'",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!((runs, exported, deleted), (4, 2, 1));
    // The list: both, by start; the owner's alone with host=.
    let (status, listed) = send(
        &agent,
        &app,
        Method::GET,
        &format!(
            "/api/v1/appointments?host=alice&start={}&end={}",
            urlencoding(&berlin("00:00")),
            urlencoding(&berlin("23:59"))
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str(), second_id]);
    app.stop().await;
}

fn urlencoding(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

async fn outlook_round_trip(backend: common::Backend) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    let bob = connected(&app, "bob@demo.test", "microsoft", BOB_SANDBOX).await;
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);
    let eastern = |hh_mm: &str| format!("{}T{hh_mm}:00-05:00", next_monday());

    let made = create(
        &agent,
        &app,
        json!({"host": "bob", "title": "Site visit", "start": eastern("09:00"),
               "end": eastern("10:00"), "attendees": ["carol@example.com"]}),
    )
    .await;
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["sync"]["state"], "synced", "{made}");
    assert_eq!(made["sync"]["provider"], "microsoft");
    let mine = || async {
        let truth = sandbox_get(&app, "truth?account=bob@sandbox.test&provider=microsoft").await;
        truth["microsoft"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["transactionId"] == id.as_str())
            .cloned()
            .collect::<Vec<Value>>()
    };
    let events = mine().await;
    assert_eq!(
        events.len(),
        1,
        "one event, keyed by transactionId: {events:?}"
    );
    assert_eq!(events[0]["subject"], "Site visit");
    assert_eq!(
        instant(events[0]["start"].as_str().unwrap()),
        instant(&eastern("09:00"))
    );
    let event = external_id(&app, &id).await;
    assert_eq!(events[0]["id"], event.as_str());

    // Changed in calbridge (with the stored @odata.etag): the event follows.
    let changed = patch(
        &agent,
        &app,
        &id,
        json!({"start": eastern("11:00"), "end": eastern("12:00")}),
    )
    .await;
    assert_eq!(changed["sync"]["state"], "synced", "{changed}");
    let events = mine().await;
    assert_eq!(
        instant(events[0]["start"].as_str().unwrap()),
        instant(&eastern("11:00"))
    );

    // Renamed and moved in Outlook by Bob: the appointment follows.
    control(
        &app,
        Method::PATCH,
        &format!("microsoft/events/{event}"),
        json!({"owner_email": BOB_SANDBOX, "summary": "Site visit (north gate)",
               "start": eastern("13:00"), "end": eastern("14:00")}),
    )
    .await;
    eventually("the appointment follows Outlook", || async {
        read(&agent, &app, &id).await["title"] == "Site visit (north gate)"
    })
    .await;
    let followed = read(&agent, &app, &id).await;
    assert_eq!(
        instant(followed["start"].as_str().unwrap()),
        instant(&eastern("13:00"))
    );

    // Canceled in calbridge: the event is deleted.
    let (status, _) = send(
        &agent,
        &app,
        Method::DELETE,
        &format!("/api/v1/appointments/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let events = mine().await;
    assert!(
        events.is_empty() || events[0]["deleted"] == true || events[0]["isCancelled"] == true,
        "{events:?}"
    );

    // Deleted in Outlook: a second appointment is canceled.
    let other = create(
        &agent,
        &app,
        json!({"host": "bob@demo.test", "title": "Follow-up", "start": eastern("15:00"),
               "end": eastern("15:30")}),
    )
    .await;
    let other_id = other["id"].as_str().unwrap();
    let other_event = external_id(&app, other_id).await;
    control(
        &app,
        Method::DELETE,
        &format!("microsoft/events/{other_event}?owner_email={BOB_SANDBOX}"),
        json!({}),
    )
    .await;
    eventually("the appointment is canceled", || async {
        read(&agent, &app, other_id).await["status"] == "canceled"
    })
    .await;

    // Deleted while no notification arrives, then read again from scratch
    // (a Full resync): Graph's fresh delta lists no deleted events, so the
    // appointment's unlisted event is looked up, found gone, and the
    // appointment is canceled all the same.
    let third = create(
        &agent,
        &app,
        json!({"host": "bob", "title": "Audit", "start": eastern("14:00"), "end": eastern("15:00")}),
    )
    .await;
    let third_id = third["id"].as_str().unwrap();
    let third_event = external_id(&app, third_id).await;
    hold_notifications(&app, "microsoft").await;
    control(
        &app,
        Method::DELETE,
        &format!("microsoft/events/{third_event}?owner_email={BOB_SANDBOX}"),
        json!({}),
    )
    .await;
    let admin = signed_in(&app, "admin@demo.test").await;
    let connection = connections(&app, &bob).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resync = post_form(
        &admin,
        &app.url(&format!("/admin/connections/{connection}/resync")),
        &[],
    )
    .await;
    assert_eq!(location(&resync), "/admin/sync?notice=resync_queued");
    eventually(
        "the appointment of the unlisted event is canceled",
        || async { read(&agent, &app, third_id).await["status"] == "canceled" },
    )
    .await;
    clear_faults(&app).await;
    app.stop().await;
}

async fn both_sides_changed_goes_to_the_conflict_queue_and_either_side_can_be_kept(
    backend: common::Backend,
) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    let alice = connected(&app, "alice@demo.test", "google", ALICE_SANDBOX).await;
    let admin = signed_in(&app, "admin@demo.test").await;
    let bob = signed_in(&app, "bob@demo.test").await;
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);

    let first = create(&agent, &app, review("09:00", "09:30")).await;
    let second = create(&agent, &app, review("10:00", "10:30")).await;
    let deleted = create(&agent, &app, review("11:00", "11:30")).await;
    let (first, second, deleted) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
        deleted["id"].as_str().unwrap(),
    );
    let first_event = external_id(&app, first).await;
    let second_event = external_id(&app, second).await;
    let deleted_event = external_id(&app, deleted).await;

    // Alice edits the events in Google; calbridge does not hear of it yet.
    hold_notifications(&app, "google").await;
    for event in [&first_event, &second_event] {
        edit_in_google(
            &app,
            event,
            json!({"summary": "Changed in Google", "start": berlin("13:00"), "end": berlin("13:30")}),
        )
        .await;
    }
    control(
        &app,
        Method::DELETE,
        &format!("google/events/{deleted_event}?owner_email={ALICE_SANDBOX}"),
        json!({}),
    )
    .await;

    // Calbridge's edits meet a 412 (the etag moved): both versions are kept
    // for a person, field by field.
    for id in [first, second, deleted] {
        let changed = patch(&agent, &app, id, json!({"title": "Changed in calbridge"})).await;
        assert_eq!(changed["sync"]["state"], "conflict", "{changed}");
        assert_eq!(changed["title"], "Changed in calbridge");
    }
    let waiting = read(&agent, &app, first).await;
    let calendar = &waiting["sync"]["calendar_version"];
    assert_eq!(calendar["title"], "Changed in Google");
    assert_eq!(
        instant(calendar["start"].as_str().unwrap()),
        alice_at(13, 0)
    );
    assert_eq!(instant(waiting["start"].as_str().unwrap()), alice_at(9, 0));
    assert_eq!(
        read(&agent, &app, deleted).await["sync"]["calendar_version"]["status"],
        "canceled",
        "a delete against an edit is a conflict, not a loss"
    );
    // Nothing was written over either side meanwhile.
    assert_eq!(
        google_truth(&app, &first_event).await[0]["summary"],
        "Changed in Google"
    );
    let queued: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM appointment_events WHERE state = 'conflict'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(queued, 3);
    clear_faults(&app).await;

    // The admin's sync page and Alice's calendar settings show the queue,
    // both versions side by side; Bob has nothing to settle.
    let admin_page = page(&app, &admin, "/admin/sync").await;
    for id in [first, second, deleted] {
        assert!(
            admin_page.contains(&format!("data-appointment=\"{id}\"")),
            "{admin_page}"
        );
    }
    assert!(admin_page.contains("alice@demo.test"));
    let alice_page = page(&app, &alice, "/settings/calendars").await;
    let card = conflict_card(&alice_page, first);
    assert!(
        card.contains(
            "<td data-label=\"In calbridge\" data-side=\"calbridge\">Changed in calbridge</td>"
        ),
        "{card}"
    );
    assert!(
        card.contains(
            "<td data-label=\"In the calendar\" data-side=\"calendar\">Changed in Google</td>"
        ),
        "{card}"
    );
    assert!(
        card.contains("Mon ") && card.contains("09:00–09:30 (Europe/Berlin)"),
        "{card}"
    );
    assert!(card.contains("13:00–13:30 (Europe/Berlin)"), "{card}");
    let status = conflict_card(&alice_page, deleted);
    assert!(
        status.contains("<td data-label=\"In the calendar\" data-side=\"calendar\">Deleted</td>"),
        "{status}"
    );
    let bob_page = page(&app, &bob, "/settings/calendars").await;
    assert!(!bob_page.contains("data-appointment="), "{bob_page}");
    // Bob cannot settle Alice's conflict.
    let refused = post_form(
        &bob,
        &app.url(&format!("/settings/calendars/conflicts/{first}/keep")),
        &[("keep", "calbridge")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);

    // Keep calendar, by the admin on /admin/sync: the appointment takes
    // Google's version.
    let done = post_form(
        &admin,
        &app.url(&format!("/admin/sync/conflicts/{first}/keep")),
        &[("keep", "calendar")],
    )
    .await;
    assert_eq!(location(&done), "/admin/sync?notice=conflict_settled");
    let kept = read(&agent, &app, first).await;
    assert_eq!(kept["title"], "Changed in Google");
    assert_eq!(instant(kept["start"].as_str().unwrap()), alice_at(13, 0));
    assert_eq!(kept["sync"]["state"], "synced", "{kept}");
    assert!(kept["sync"]["calendar_version"].is_null());

    // Keep calbridge, by Alice on her settings page: Google gets
    // calbridge's version back.
    let done = post_form(
        &alice,
        &app.url(&format!("/settings/calendars/conflicts/{second}/keep")),
        &[("keep", "calbridge")],
    )
    .await;
    assert_eq!(
        location(&done),
        "/settings/calendars?notice=conflict_settled"
    );
    let kept = read(&agent, &app, second).await;
    assert_eq!(kept["sync"]["state"], "synced", "{kept}");
    let again = post_form(
        &alice,
        &app.url(&format!("/settings/calendars/conflicts/{second}/keep")),
        &[("keep", "calendar")],
    )
    .await;
    assert_eq!(location(&again), "/settings/calendars?error=no_conflict");
    let truth = &google_truth(&app, &second_event).await[0];
    assert_eq!(truth["summary"], "Changed in calbridge");
    assert_eq!(instant(truth["start"].as_str().unwrap()), alice_at(10, 0));

    // Keep calbridge against a delete: a new event, exactly one.
    let kept = resolve(&agent, &app, deleted, "calbridge").await;
    assert_eq!(kept["sync"]["state"], "synced", "{kept}");
    assert_eq!(kept["status"], "confirmed");
    let replacement = external_id(&app, deleted).await;
    assert_ne!(replacement, deleted_event);
    let truth = &google_truth(&app, &replacement).await[0];
    assert_eq!(truth["status"], "confirmed");
    assert_eq!(truth["summary"], "Changed in calbridge");
    let (status, refused) = send(
        &agent,
        &app,
        Method::POST,
        &format!("/api/v1/appointments/{deleted}/resolve"),
        Some(json!({"keep": "calendar"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing left to settle: {refused}"
    );
    let conflicts: i64 = sqlx::query_scalar(
        "SELECT CAST(SUM(conflicts) AS BIGINT) FROM sync_runs WHERE trigger = 'export'",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(conflicts, 3, "each conflict is in the sync log");
    app.stop().await;
}

/// A page's HTML as `client` sees it.
/// The conflict card of appointment `id` on a page.
fn conflict_card<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("data-appointment=\"{id}\""))
        .unwrap_or_else(|| panic!("no conflict card for {id}: {html}"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

async fn a_conflict_seen_by_the_import_follows_the_policy(backend: common::Backend) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    let alice = connected(&app, "alice@demo.test", "google", ALICE_SANDBOX).await;
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);
    let google: ConnectionId = connections(&app, &alice).await[0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    for (policy, start, expected_title) in [
        (ConflictPolicy::Ask, "09:00", None),
        (
            ConflictPolicy::CalendarWins,
            "10:00",
            Some("Changed in Google"),
        ),
        (
            ConflictPolicy::CalbridgeWins,
            "11:00",
            Some("Changed in calbridge"),
        ),
    ] {
        set_policy(&app, &alice, google, policy).await;
        let made = create(&agent, &app, review(start, &start.replace(":00", ":30"))).await;
        let id = made["id"].as_str().unwrap();
        let event = external_id(&app, id).await;
        // Calbridge's write cannot reach Google for now...
        control(
            &app,
            Method::POST,
            "faults",
            json!({"provider": "google", "endpoint": format!("events/{event}"),
                   "error_rate": 1.0, "status": 503}),
        )
        .await;
        let pending = patch(&agent, &app, id, json!({"title": "Changed in calbridge"})).await;
        assert_ne!(pending["sync"]["state"], "synced", "{pending}");
        // ...while Alice edits the event in Google, and the push arrives.
        edit_in_google(&app, &event, json!({"summary": "Changed in Google"})).await;
        clear_faults(&app).await;
        let settled = |title: Option<&'static str>| {
            let (agent, app, id, event) = (&agent, &app, id, &event);
            async move {
                let a = read(agent, app, id).await;
                match title {
                    None => a["sync"]["state"] == "conflict",
                    Some(title) => {
                        a["sync"]["state"] == "synced"
                            && a["title"] == title
                            && google_truth(app, event).await[0]["summary"] == title
                    }
                }
            }
        };
        eventually(policy.as_str(), || settled(expected_title)).await;
    }
    app.stop().await;
}

async fn the_api_checks_input_keys_overlaps_and_tenants(backend: common::Backend) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    let tenant = demo_tenant(&app).await;
    let agent = api(&key_for(&app, &tenant, &ApiScope::ALL).await);
    let reader = api(&key_for(&app, &tenant, &[ApiScope::AppointmentsRead]).await);
    let availability_only = api(&key_for(&app, &tenant, &[ApiScope::AvailabilityRead]).await);

    // Without a calendar the appointment waits to be written.
    let first = send(
        &agent,
        &app,
        Method::POST,
        "/api/v1/appointments",
        Some(
            json!({"host": "alice", "title": "Planning", "start": berlin("10:00"),
                    "end": berlin("11:00"), "idempotency_key": "plan-1"}),
        ),
    )
    .await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    assert_eq!(first.1["sync"]["state"], "pending");
    let id = first.1["id"].as_str().unwrap();
    // The same key: the first result; another body with it: 422.
    let again = send(
        &agent,
        &app,
        Method::POST,
        "/api/v1/appointments",
        Some(
            json!({"host": "alice", "title": "Planning", "start": berlin("10:00"),
                    "end": berlin("11:00"), "idempotency_key": "plan-1"}),
        ),
    )
    .await;
    assert_eq!(
        (again.0, again.1["id"].as_str()),
        (StatusCode::CREATED, Some(id))
    );
    let reused = send(
        &agent,
        &app,
        Method::POST,
        "/api/v1/appointments",
        Some(
            json!({"host": "alice", "title": "Other", "start": berlin("10:00"),
                    "end": berlin("11:00"), "idempotency_key": "plan-1"}),
        ),
    )
    .await;
    assert_eq!(reused.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", reused.1);

    // Alice takes bookings: no overlapping appointment, and no booking then.
    let overlap = send(
        &agent,
        &app,
        Method::POST,
        "/api/v1/appointments",
        Some(
            json!({"host": "alice", "title": "Clash", "start": berlin("10:30"),
                    "end": berlin("11:30")}),
        ),
    )
    .await;
    assert_eq!(overlap.0, StatusCode::CONFLICT, "{}", overlap.1);
    assert_eq!(overlap.1["error"], "slot_taken");
    let booking = send(
        &agent,
        &app,
        Method::POST,
        "/api/v1/bookings",
        Some(
            json!({"host": "alice", "event_type": "intro", "start": berlin("10:30"),
                    "attendee": {"name": "Vera", "email": "vera@example.com"}}),
        ),
    )
    .await;
    assert_eq!(booking.0, StatusCode::CONFLICT, "{}", booking.1);
    let moved_onto = send(
        &agent,
        &app,
        Method::POST,
        "/api/v1/appointments",
        Some(
            json!({"host": "alice", "title": "Later", "start": berlin("12:00"),
                    "end": berlin("12:30")}),
        ),
    )
    .await;
    let later = moved_onto.1["id"].as_str().unwrap();
    let (status, refused) = send(
        &agent,
        &app,
        Method::PATCH,
        &format!("/api/v1/appointments/{later}"),
        Some(json!({"start": berlin("10:45"), "end": berlin("11:15")})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(
        read(&agent, &app, later).await["start"],
        moved_onto.1["start"]
    );

    // Bad input: a clear 422 naming the field, and nothing stored.
    for (body, field) in [
        (
            json!({"host": "alice", "title": "", "start": berlin("14:00"), "end": berlin("15:00")}),
            "title",
        ),
        (
            json!({"host": "alice", "title": "X", "start": "tomorrow", "end": berlin("15:00")}),
            "start",
        ),
        (
            json!({"host": "alice", "title": "X", "start": berlin("15:00"), "end": berlin("14:00")}),
            "end",
        ),
        (
            json!({"host": "alice", "title": "X", "start": berlin("14:00"), "end": berlin("15:00"),
                "attendees": ["not an address"]}),
            "attendees",
        ),
    ] {
        let (status, error) = send(
            &agent,
            &app,
            Method::POST,
            "/api/v1/appointments",
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["field"], field, "{error}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM appointments")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 2);

    // A read-only key reads but cannot write; a key for free slots reads
    // no appointments (their attendees and notes are not its to see); no
    // key: 401.
    assert_eq!(read(&reader, &app, id).await["title"], "Planning");
    for path in [
        format!("/api/v1/appointments/{id}"),
        "/api/v1/appointments?host=alice&start=2026-01-01&end=2026-01-02".to_owned(),
    ] {
        let (status, body) = send(&availability_only, &app, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(body["error"], "insufficient_scope");
    }
    let (status, _) = send(
        &reader,
        &app,
        Method::DELETE,
        &format!("/api/v1/appointments/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    reqwest::Client::new()
        .get(app.url(&format!("/api/v1/appointments/{id}")))
        .expect_status(StatusCode::UNAUTHORIZED)
        .await;

    // Another tenant's key: the appointment and the host do not exist.
    let other = calbridge::server::accounts::create_admin(
        &app.state.accounts,
        "Rival Co",
        "eve@rival.test",
        "Eve",
        common::PASSWORD,
        "UTC",
    )
    .await
    .unwrap();
    let rival_key = api(&key_for(&app, &other.tenant, &ApiScope::ALL).await);
    for (method, path) in [
        (Method::GET, format!("/api/v1/appointments/{id}")),
        (Method::DELETE, format!("/api/v1/appointments/{id}")),
    ] {
        let (status, _) = send(&rival_key, &app, method, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = send(
        &rival_key,
        &app,
        Method::POST,
        "/api/v1/appointments",
        Some(
            json!({"host": "alice@demo.test", "title": "Spy", "start": berlin("14:00"),
                    "end": berlin("15:00")}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = send(&rival_key, &app, Method::GET, "/api/v1/appointments", None).await;
    assert_eq!(listed["data"], json!([]));
    assert_eq!(read(&agent, &app, id).await["status"], "confirmed");
    app.stop().await;
}

/// Outlook, like Google: a change in calbridge meets a 412 (the
/// `@odata.etag` moved), both versions wait for a person, and either can
/// be kept.
async fn an_outlook_412_is_a_conflict_and_either_side_can_be_kept(backend: common::Backend) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    connected(&app, "bob@demo.test", "microsoft", BOB_SANDBOX).await;
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);
    let eastern = |hh_mm: &str| format!("{}T{hh_mm}:00-05:00", next_monday());
    let make = |title: &'static str, hh_mm: &'static str, until: &'static str| {
        let (agent, app) = (&agent, &app);
        let (start, end) = (eastern(hh_mm), eastern(until));
        async move {
            let made = create(
                agent,
                app,
                json!({"host": "bob@demo.test", "title": title, "start": start, "end": end}),
            )
            .await;
            made["id"].as_str().unwrap().to_owned()
        }
    };
    let first = make("Audit", "09:00", "09:30").await;
    let second = make("Review", "10:00", "10:30").await;
    let second_event = external_id(&app, &second).await;

    hold_notifications(&app, "microsoft").await;
    for id in [&first, &second] {
        let event = external_id(&app, id).await;
        control(
            &app,
            Method::PATCH,
            &format!("microsoft/events/{event}"),
            json!({"owner_email": BOB_SANDBOX, "summary": "Changed in Outlook"}),
        )
        .await;
        let changed = patch(&agent, &app, id, json!({"title": "Changed in calbridge"})).await;
        assert_eq!(changed["sync"]["state"], "conflict", "{changed}");
        assert_eq!(
            changed["sync"]["calendar_version"]["title"],
            "Changed in Outlook"
        );
    }
    clear_faults(&app).await;

    let kept = resolve(&agent, &app, &first, "calendar").await;
    assert_eq!(kept["title"], "Changed in Outlook");
    assert_eq!(kept["sync"]["state"], "synced", "{kept}");
    let kept = resolve(&agent, &app, &second, "calbridge").await;
    assert_eq!(kept["sync"]["state"], "synced", "{kept}");
    let truth = sandbox_get(&app, "truth?account=bob@sandbox.test&provider=microsoft").await;
    let event = truth["microsoft"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == second_event.as_str())
        .cloned()
        .unwrap();
    assert_eq!(event["subject"], "Changed in calbridge", "{event}");
    app.stop().await;
}

on_both_backends!(an_outlook_412_is_a_conflict_and_either_side_can_be_kept);
on_both_backends!(google_round_trip);
on_both_backends!(outlook_round_trip);
on_both_backends!(both_sides_changed_goes_to_the_conflict_queue_and_either_side_can_be_kept);
on_both_backends!(a_conflict_seen_by_the_import_follows_the_policy);
on_both_backends!(the_api_checks_input_keys_overlaps_and_tenants);
