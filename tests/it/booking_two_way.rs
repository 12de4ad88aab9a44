//! A booking in two-way sync with its event on the host's calendar, over
//! real HTTP with the sandbox: the host moving the event moves the booking,
//! deleting it cancels the booking; the attendee moving the booking while
//! the host moved or deleted the event is a conflict — the connection's
//! policy decides, and under `ask` a person keeps one side on `/admin/sync`
//! or `/settings/calendars`, never a silent loss. Both backends.

use crate::common;

use calbridge::model::ApiScope;
use common::booking::{alice_at, api, demo_tenant, json_of, key_for, next_monday, seed_demo};
use common::connect::{
    clear_faults, connected, connections, control, eventually, google_truth, hold_notifications,
    instant, sandbox_get, sandboxed,
};
use common::{location, page, post_form, signed_in, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ALICE_SANDBOX: &str = "alice@sandbox.test";
const BOB_SANDBOX: &str = "bob@sandbox.test";

fn berlin(hh_mm: &str) -> String {
    format!("{}T{hh_mm}:00+01:00", next_monday())
}

fn eastern(hh_mm: &str) -> String {
    format!("{}T{hh_mm}:00-05:00", next_monday())
}

async fn post(agent: &reqwest::Client, app: &TestApp, path: &str, body: Value) -> Value {
    let (status, answer) =
        json_of(agent.post(app.url(path)).json(&body).send().await.unwrap()).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

async fn book(
    agent: &reqwest::Client,
    app: &TestApp,
    host: &str,
    kind: &str,
    start: String,
) -> String {
    let booked = post(
        agent,
        app,
        "/api/v1/bookings",
        json!({"host": host, "event_type": kind, "start": start,
               "attendee": {"name": "Vera", "email": "vera@example.com"}}),
    )
    .await;
    booked["id"].as_str().unwrap().to_owned()
}

async fn reschedule(agent: &reqwest::Client, app: &TestApp, id: &str, start: String) {
    post(
        agent,
        app,
        &format!("/api/v1/bookings/{id}/reschedule"),
        json!({ "start": start }),
    )
    .await;
}

async fn read(agent: &reqwest::Client, app: &TestApp, id: &str) -> Value {
    let (status, found) = json_of(
        agent
            .get(app.url(&format!("/api/v1/bookings/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found
}

async fn starts_at(agent: &reqwest::Client, app: &TestApp, id: &str) -> i64 {
    instant(read(agent, app, id).await["start"].as_str().unwrap())
}

/// The booking's event id and the calendar's side of a waiting conflict.
async fn export_of(app: &TestApp, id: &str) -> (String, Option<i64>, Option<i64>) {
    sqlx::query_as(
        "SELECT export_event_id, conflict_starts_at, conflict_canceled FROM bookings WHERE id = $1",
    )
    .bind(id)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap()
}

/// The sync log's entries for one event, as (action, detail).
async fn log_of(app: &TestApp, event: &str) -> Vec<(String, Option<String>)> {
    sqlx::query_as(
        "SELECT action, detail FROM sync_items WHERE external_id = $1 ORDER BY run_id, seq",
    )
    .bind(event)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap()
}

async fn edit_in_google(app: &TestApp, event: &str, start: String, end: String) {
    control(
        app,
        Method::PATCH,
        &format!("google/events/{event}"),
        json!({"owner_email": ALICE_SANDBOX, "start": start, "end": end}),
    )
    .await;
}

async fn delete_in_google(app: &TestApp, event: &str) {
    control(
        app,
        Method::DELETE,
        &format!("google/events/{event}?owner_email={ALICE_SANDBOX}"),
        json!({}),
    )
    .await;
}

/// The conflict card of booking `id` on a page.
fn conflict_card<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("data-booking=\"{id}\""))
        .unwrap_or_else(|| panic!("no conflict card for booking {id}: {html}"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

async fn the_host_moving_or_deleting_the_event_moves_or_cancels_the_booking(
    backend: common::Backend,
) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    connected(&app, "alice@demo.test", "google", ALICE_SANDBOX).await;
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);
    let id = book(&agent, &app, "alice", "intro", berlin("15:00")).await;
    let (event, ..) = export_of(&app, &id).await;
    let link = read(&agent, &app, &id).await["meeting_url"].clone();
    assert!(link.is_string(), "the Meet link");

    // Alice drags the event to 16:30 in Google: the booking follows.
    edit_in_google(&app, &event, berlin("16:30"), berlin("17:00")).await;
    eventually("the booking follows the calendar", || async {
        starts_at(&agent, &app, &id).await == alice_at(16, 30)
    })
    .await;
    let moved = read(&agent, &app, &id).await;
    assert_eq!(instant(moved["end"].as_str().unwrap()), alice_at(17, 0));
    assert_eq!(moved["status"], "confirmed");
    assert_eq!(moved["meeting_url"], link, "the same Meet");
    // Nothing was written back, and the event is still the one event.
    let truth = google_truth(&app, &event).await;
    assert_eq!(truth.len(), 1);
    assert_eq!(
        instant(truth[0]["start"].as_str().unwrap()),
        alice_at(16, 30)
    );
    assert!(
        log_of(&app, &event)
            .await
            .iter()
            .any(|(action, detail)| action == "updated"
                && detail.as_deref() == Some("moved in the calendar: the booking moved")),
        "{:?}",
        log_of(&app, &event).await
    );

    // Alice deletes it in Google: the booking is canceled, not recreated.
    delete_in_google(&app, &event).await;
    eventually("the booking is canceled", || async {
        read(&agent, &app, &id).await["status"] == "canceled"
    })
    .await;
    assert_eq!(google_truth(&app, &event).await[0]["status"], "cancelled");
    let (still, conflict_start, _) = export_of(&app, &id).await;
    assert_eq!((still.as_str(), conflict_start), (event.as_str(), None));
    assert!(log_of(&app, &event)
        .await
        .iter()
        .any(|(action, detail)| action == "deleted"
            && detail.as_deref() == Some("deleted in the calendar: the booking is canceled")));
    // The freed time can be booked again.
    let again = book(&agent, &app, "alice", "intro", berlin("16:30")).await;
    assert_ne!(again, id);
    app.stop().await;
}

async fn both_sides_changing_a_booking_waits_for_a_person_and_either_side_can_be_kept(
    backend: common::Backend,
) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    let alice = connected(&app, "alice@demo.test", "google", ALICE_SANDBOX).await;
    let admin = signed_in(&app, "admin@demo.test").await;
    let bob = signed_in(&app, "bob@demo.test").await;
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);
    let id = book(&agent, &app, "alice", "intro", berlin("15:00")).await;
    let (event, ..) = export_of(&app, &id).await;

    // Alice moves the event to 12:00 while Vera moves the booking to 16:00.
    hold_notifications(&app, "google").await;
    edit_in_google(&app, &event, berlin("12:00"), berlin("12:30")).await;
    reschedule(&agent, &app, &id, berlin("16:00")).await;
    eventually("the move meets the calendar's change", || async {
        export_of(&app, &id).await.1 == Some(alice_at(12, 0))
    })
    .await;
    clear_faults(&app).await;
    assert_eq!(starts_at(&agent, &app, &id).await, alice_at(16, 0));
    let truth = &google_truth(&app, &event).await[0];
    assert_eq!(
        instant(truth["start"].as_str().unwrap()),
        alice_at(12, 0),
        "not overwritten"
    );
    let admin_page = page(&app, &admin, "/admin/sync").await;
    let card = conflict_card(&admin_page, &id);
    assert!(card.contains("Booking with Vera"), "{card}");
    assert!(
        card.contains("data-field=\"time\" class=\"differs\""),
        "{card}"
    );
    assert!(
        card.contains("16:00–16:30") && card.contains("12:00–12:30"),
        "{card}"
    );
    assert!(conflict_card(&page(&app, &alice, "/settings/calendars").await, &id).contains("12:00"));
    assert!(!page(&app, &bob, "/settings/calendars").await.contains(&id));
    let refused = post_form(
        &bob,
        &app.url(&format!("/settings/calendars/booking-conflicts/{id}/keep")),
        &[("keep", "calendar")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND, "not Bob's booking");

    // The admin keeps the calendar's: the booking moves to 12:00.
    let done = post_form(
        &admin,
        &app.url(&format!("/admin/sync/booking-conflicts/{id}/keep")),
        &[("keep", "calendar")],
    )
    .await;
    assert_eq!(location(&done), "/admin/sync?notice=conflict_settled");
    assert_eq!(starts_at(&agent, &app, &id).await, alice_at(12, 0));
    assert_eq!(export_of(&app, &id).await.1, None);
    let again = post_form(
        &admin,
        &app.url(&format!("/admin/sync/booking-conflicts/{id}/keep")),
        &[("keep", "calendar")],
    )
    .await;
    assert_eq!(location(&again), "/admin/sync?error=no_conflict");

    // Again both move; Alice keeps calbridge's: the event goes to 16:00.
    hold_notifications(&app, "google").await;
    edit_in_google(&app, &event, berlin("11:00"), berlin("11:30")).await;
    reschedule(&agent, &app, &id, berlin("16:00")).await;
    eventually("the second conflict", || async {
        export_of(&app, &id).await.1 == Some(alice_at(11, 0))
    })
    .await;
    clear_faults(&app).await;
    let done = post_form(
        &alice,
        &app.url(&format!("/settings/calendars/booking-conflicts/{id}/keep")),
        &[("keep", "calbridge")],
    )
    .await;
    assert_eq!(
        location(&done),
        "/settings/calendars?notice=conflict_settled"
    );
    eventually("the calendar takes calbridge's time", || async {
        let truth = &google_truth(&app, &event).await[0];
        instant(truth["start"].as_str().unwrap()) == alice_at(16, 0)
    })
    .await;
    assert_eq!(starts_at(&agent, &app, &id).await, alice_at(16, 0));

    // Alice deletes the event while Vera moves the booking: a conflict too.
    hold_notifications(&app, "google").await;
    delete_in_google(&app, &event).await;
    reschedule(&agent, &app, &id, berlin("15:00")).await;
    eventually("the delete meets the move", || async {
        export_of(&app, &id).await.2 == Some(1)
    })
    .await;
    clear_faults(&app).await;
    let card_page = page(&app, &admin, "/admin/sync").await;
    let card = conflict_card(&card_page, &id);
    assert!(
        card.contains("data-field=\"status\" class=\"differs\""),
        "{card}"
    );
    assert!(
        card.contains("Deleted") && card.contains("Scheduled"),
        "{card}"
    );
    // Keeping calbridge's side makes a new event: the booking stands.
    let done = post_form(
        &admin,
        &app.url(&format!("/admin/sync/booking-conflicts/{id}/keep")),
        &[("keep", "calbridge")],
    )
    .await;
    assert_eq!(location(&done), "/admin/sync?notice=conflict_settled");
    eventually("a new event for the booking", || async {
        export_of(&app, &id).await.0 != event
    })
    .await;
    let (replacement, ..) = export_of(&app, &id).await;
    assert!(
        replacement.starts_with(&format!("cb{}", id.replace('-', ""))),
        "{replacement}"
    );
    let made = &google_truth(&app, &replacement).await[0];
    assert_eq!(made["status"], "confirmed");
    assert_eq!(instant(made["start"].as_str().unwrap()), alice_at(15, 0));
    assert_eq!(google_truth(&app, &event).await[0]["status"], "cancelled");
    let booking = read(&agent, &app, &id).await;
    assert_eq!(booking["status"], "confirmed");
    assert_eq!(instant(booking["start"].as_str().unwrap()), alice_at(15, 0));
    app.stop().await;
}

/// Bob's Outlook under `calendar_wins`: his moves and his delete stand,
/// also against Vera's reschedule at the same time.
async fn under_calendar_wins_the_hosts_outlook_side_stands(backend: common::Backend) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    let bob = connected(&app, "bob@demo.test", "microsoft", BOB_SANDBOX).await;
    let connection = connections(&app, &bob).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let saved = post_form(
        &bob,
        &app.url(&format!("/settings/calendars/{connection}/conflict-policy")),
        &[("policy", "calendar_wins")],
    )
    .await;
    assert_eq!(
        location(&saved),
        "/settings/calendars?notice=conflict_policy_saved"
    );
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);
    let id = book(&agent, &app, "bob", "consult", eastern("11:00")).await;
    let (event, ..) = export_of(&app, &id).await;
    let move_in_outlook = |start: &'static str, end: &'static str| {
        let app = &app;
        let event = event.clone();
        async move {
            control(
                app,
                Method::PATCH,
                &format!("microsoft/events/{event}"),
                json!({"owner_email": BOB_SANDBOX, "start": eastern(start), "end": eastern(end)}),
            )
            .await;
        }
    };

    move_in_outlook("13:00", "14:00").await;
    eventually("the booking follows Outlook", || async {
        starts_at(&agent, &app, &id).await == instant(&eastern("13:00"))
    })
    .await;

    hold_notifications(&app, "microsoft").await;
    move_in_outlook("14:00", "15:00").await;
    reschedule(&agent, &app, &id, eastern("10:00")).await;
    eventually("the calendar's time wins", || async {
        starts_at(&agent, &app, &id).await == instant(&eastern("14:00"))
    })
    .await;
    clear_faults(&app).await;
    assert_eq!(export_of(&app, &id).await.1, None, "nothing queued");
    let truth = sandbox_get(&app, "truth?account=bob@sandbox.test&provider=microsoft").await;
    let outlook = truth["microsoft"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == event.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        instant(outlook["start"].as_str().unwrap()),
        instant(&eastern("14:00"))
    );

    control(
        &app,
        Method::DELETE,
        &format!("microsoft/events/{event}?owner_email={BOB_SANDBOX}"),
        json!({}),
    )
    .await;
    eventually("the booking is canceled", || async {
        read(&agent, &app, &id).await["status"] == "canceled"
    })
    .await;
    app.stop().await;
}

on_both_backends!(
    the_host_moving_or_deleting_the_event_moves_or_cancels_the_booking,
    both_sides_changing_a_booking_waits_for_a_person_and_either_side_can_be_kept,
    under_calendar_wins_the_hosts_outlook_side_stands,
);
