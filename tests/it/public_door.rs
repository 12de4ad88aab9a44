//! The public booking page as an attacker uses it, over real HTTP: a
//! burst of bookings from one address, one attendee holding a host's
//! calendar, a host's day filled by strangers, a cancel/reschedule loop,
//! a start that is no slot (no provider call), the live reads' budget, and
//! names with line breaks, and the `.ics` a visitor downloads as calendar
//! apps read it. Each attack is refused with 429 and `Retry-After` (or
//! a field error), what was typed is kept, and nothing is written. Both
//! backends.

use crate::common;
use crate::common::Expect;

use calbridge::model::ApiScope;
use common::booking::{
    alice_at, api, demo_tenant, json_of, key_for, manage_parts, next_monday, seed_demo,
};
use common::connect::{connect, connections, control, eventually, sandboxed};
use common::location;
use reqwest::StatusCode;
use serde_json::json;

fn start_param(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Posts the booking form for Alice's intro at `start` as `name <email>`.
async fn book(
    app: &common::TestApp,
    client: &reqwest::Client,
    start: i64,
    name: &str,
    email: &str,
) -> reqwest::Response {
    let start = start_param(start);
    client
        .post(app.url(&format!(
            "/book/alice/intro?tz=Europe/Berlin&date={}",
            next_monday()
        )))
        .form(&[
            ("start", start.as_str()),
            ("tz", "Europe/Berlin"),
            ("name", name),
            ("email", email),
            ("purpose", "Talk about the offer"),
        ])
        .send()
        .await
        .unwrap()
}

/// Books Alice's intro at `start` over the API, as the team's own agent.
async fn book_over_api(
    app: &common::TestApp,
    start: i64,
    name: &str,
    email: &str,
) -> (StatusCode, serde_json::Value) {
    let agent = api(&key_for(app, &demo_tenant(app).await, &ApiScope::ALL).await);
    json_of(
        agent
            .post(app.url("/api/v1/bookings"))
            .json(
                &json!({"host": "alice", "event_type": "intro", "start": start_param(start),
                "attendee": {"name": name, "email": email}}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Alice's Monday slots, every half hour from 09:00.
fn slot(n: u16) -> i64 {
    alice_at(9 + n / 2, (n % 2) * 30)
}

async fn count(app: &common::TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

async fn refused(app: &common::TestApp, limit: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(refused), 0) AS BIGINT) FROM rate_limits WHERE limit_name = $1",
    )
    .bind(limit)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap()
}

/// A 429 that says when to try again (within `retry_within` seconds) and
/// keeps what was typed.
async fn assert_limited(resp: reqwest::Response, retry_within: u64, typed: &[&str]) {
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=retry_within).contains(&after), "Retry-After {after}");
    let page = resp.text().await.unwrap();
    assert!(page.contains("try again"), "{page}");
    for value in typed {
        assert!(
            page.contains(&format!("value=\"{value}\"")),
            "{value}: {page}"
        );
    }
}

async fn a_burst_from_one_address_is_refused(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let visitor = app.client();
    for n in 0..5 {
        let resp = book(
            &app,
            &visitor,
            slot(n),
            "Mallory",
            &format!("m{n}@example.com"),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "booking {n}");
    }
    let resp = book(&app, &visitor, slot(5), "Mallory Sixth", "m5@example.com").await;
    assert_limited(resp, 3_600, &["Mallory Sixth", "m5@example.com"]).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM bookings").await, 5);
    assert_eq!(refused(&app, "bookings_per_address_hour").await, 1);

    // The admin sees what was refused; /metrics counts it.
    let admin = app.client();
    common::log_in(&app, &admin, "admin@demo.test", common::PASSWORD).await;
    let overview = admin
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        overview.contains("Bookings from one address in an hour"),
        "{overview}"
    );
    // And on the audit trail, one entry a minute however many were refused.
    for n in 6..9 {
        let resp = book(
            &app,
            &visitor,
            slot(n),
            "Mallory",
            &format!("m{n}@example.com"),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let trail: serde_json::Value = admin
        .get(app.url("/api/audit?action=limit.tripped"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = trail["entries"].as_array().unwrap();
    assert!((1..=2).contains(&entries.len()), "{trail}");
    let counted: i64 = entries.iter().map(|e| e["count"].as_i64().unwrap()).sum();
    assert_eq!(counted, 4, "{trail}");
    assert_eq!(entries[0]["target"], "Bookings from one address in an hour");
    assert_eq!(entries[0]["actor_kind"], "visitor");
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("calbridge_rate_limited_total{limit=\"bookings_per_address_hour\"}"),
        "{metrics}"
    );
    app.stop().await;
}

async fn one_attendee_and_strangers_cannot_fill_a_hosts_calendar(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    sqlx::query("UPDATE booking_profiles SET public_daily_limit = 4 WHERE slug = 'alice'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let visitor = app.client();
    for n in 0..3 {
        let resp = book(&app, &visitor, slot(n), "Mallory", "mallory@example.com").await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "booking {n}");
    }
    // A fourth upcoming booking for the same e-mail: possible once the
    // first has begun.
    let resp = book(&app, &visitor, slot(3), "Mallory", "mallory@example.com").await;
    let until_first = (slot(0) - app.state.clock.now_ms()) / 1000 + 1;
    assert_limited(resp, until_first as u64, &["mallory@example.com"]).await;
    assert_eq!(refused(&app, "upcoming_per_attendee").await, 1);
    // Another e-mail fills the host's public day (4), then nobody else.
    let resp = book(&app, &visitor, slot(3), "Trudy", "trudy@example.com").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = book(&app, &visitor, slot(4), "Peggy", "peggy@example.com").await;
    assert_limited(resp, 86_400, &["peggy@example.com"]).await;
    assert_eq!(refused(&app, "public_bookings_per_host_day").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM bookings").await, 4);

    // The host's own integrations are not strangers: the API still books.
    let (status, body) = book_over_api(&app, slot(5), "Victor", "victor@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}

async fn a_cancel_and_rebook_loop_is_cut_short(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let visitor = app.client();
    let resp = book(&app, &visitor, slot(0), "Mallory", "mallory@example.com").await;
    let manage = location(&resp);
    let (id, token) = manage_parts(&manage);
    let move_to = |n: u16| {
        let (app, visitor, id, token) = (&app, &visitor, id.clone(), token.clone());
        async move {
            visitor
                .post(app.url(&format!("/booking/{id}/reschedule")))
                .form(&[
                    ("token", token.as_str()),
                    ("start", start_param(slot(n)).as_str()),
                    ("back", "/book/alice/intro"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    for n in 1..=5 {
        let resp = move_to(n).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "move {n}");
        assert!(location(&resp).contains("notice=booking_moved"));
    }
    let resp = move_to(6).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    // Nor can it be canceled and rebooked to go round again.
    visitor
        .post(app.url(&format!("/booking/{id}/cancel")))
        .form(&[("token", token.as_str())])
        .expect_status(StatusCode::TOO_MANY_REQUESTS)
        .await;
    let starts: i64 = count(
        &app,
        "SELECT starts_at FROM bookings WHERE status = 'confirmed'",
    )
    .await;
    assert_eq!(starts, slot(5), "the refused move changed nothing");
    assert_eq!(refused(&app, "changes_per_manage_link_day").await, 2);
    app.stop().await;
}

async fn names_must_be_one_line(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let visitor = app.client();
    for name in [
        "Mallory\r\nBCC: all@example.com",
        "Mallory\rX",
        "Mal\u{2028}lory",
    ] {
        let resp = book(&app, &visitor, slot(0), name, "mallory@example.com").await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        let page = resp.text().await.unwrap();
        assert!(page.contains("on one line"), "{page}");
        assert!(page.contains("value=\"mallory@example.com\""));
    }
    let (status, body) = book_over_api(&app, slot(0), "Eve\nEvil", "eve@example.com").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "attendee.name");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM bookings").await, 0);

    // A host's own names too: event types and their account.
    let alice = app.client();
    common::log_in(&app, &alice, "alice@demo.test", common::PASSWORD).await;
    let resp = common::post_form(
        &alice,
        &app.url("/settings/profile"),
        &[("name", "Alice\nExample"), ("time_zone", "Europe/Berlin")],
    )
    .await;
    assert!(location(&resp).contains("error=invalid_name"), "{resp:?}");
    app.stop().await;
}

/// Alice with her sandbox Google calendar connected and synced.
async fn alice_with_google(app: &common::TestApp) {
    seed_demo(app).await;
    let alice = app.client();
    common::log_in(app, &alice, "alice@demo.test", common::PASSWORD).await;
    connect(app, &alice, "google", "alice@sandbox.test").await;
    eventually("subscribed and first import done", || async {
        connections(app, &alice).await.iter().any(|c| {
            c["provider"] == "google"
                && c["subscription"]["active"] == 1
                && c["last_sync_at"].is_string()
        })
    })
    .await;
}

async fn a_start_that_is_no_slot_costs_no_provider_call(backend: common::Backend) {
    let app = start_app!(backend, sandboxed());
    alice_with_google(&app).await;
    // Any live read of Alice's calendar would now fail (503): a refusal
    // that comes back as 422 or 409 made none.
    control(
        &app,
        reqwest::Method::POST,
        "faults",
        json!({"provider": "google", "endpoint": "freeBusy", "error_rate": 1.0, "status": 500}),
    )
    .await;
    let visitor = app.client();
    let off_grid = alice_at(9, 10);
    let resp = book(&app, &visitor, off_grid, "Mallory", "m@example.com").await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let night = alice_at(3, 0);
    let resp = book(&app, &visitor, night, "Mallory", "m@example.com").await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A slot already booked is taken without asking Google.
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);
    control(&app, reqwest::Method::DELETE, "faults", json!({})).await;
    let (status, body) = json_of(
        agent
            .post(app.url("/api/v1/bookings"))
            .json(&json!({"host": "alice", "event_type": "intro",
                "start": start_param(slot(0)),
                "attendee": {"name": "Victor", "email": "victor@example.com"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    control(
        &app,
        reqwest::Method::POST,
        "faults",
        json!({"provider": "google", "endpoint": "freeBusy", "error_rate": 1.0, "status": 500}),
    )
    .await;
    let resp = book(&app, &visitor, slot(0), "Mallory", "m@example.com").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    // A real free slot is read live (and fails closed here).
    let resp = book(&app, &visitor, slot(2), "Mallory", "m@example.com").await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM bookings").await, 1);
    control(&app, reqwest::Method::DELETE, "faults", json!({})).await;

    // The live reads of one host are bounded per minute, whoever asks:
    // an untrusted mirror makes each availability read a live one.
    sqlx::query("UPDATE connections SET last_sync_at = 0")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let availability = app.url(&format!(
        "/api/v1/availability?host=alice&event_type=intro&start={}",
        next_monday()
    ));
    // A minute on (the reads above were in an earlier window), and well
    // inside that minute, so the count is one window's.
    app.state.clock.advance(std::time::Duration::from_secs(60));
    let into_minute = app.state.clock.now_ms().rem_euclid(60_000);
    if into_minute > 40_000 {
        tokio::time::sleep(std::time::Duration::from_millis(
            (60_000 - into_minute + 50) as u64,
        ))
        .await;
    }
    let budget = calbridge::server::booking::busy::LIVE_READS_PER_HOST_MINUTE;
    let mut read = 0;
    let resp = loop {
        let resp = agent.get(&availability).send().await.unwrap();
        if resp.status() != StatusCode::OK || read > budget {
            break resp;
        }
        read += 1;
    };
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    // The budget, less any read the app's own work made in the window.
    assert!((budget - 2..=budget).contains(&read), "{read} reads");
    assert!(resp.headers().contains_key("retry-after"));
    let (_, body) = json_of(resp).await;
    assert_eq!(body["error"], "rate_limited");
    assert!(body["retry_after_secs"].as_u64().is_some_and(|s| s <= 60));
    // The public page offers no times meanwhile, and says why.
    let page = visitor
        .get(app.url(&format!(
            "/book/alice/intro?tz=Europe/Berlin&date={}",
            next_monday()
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("class=\"slot\""), "no time is offered");
    assert_eq!(refused(&app, "live_reads_per_host_minute").await, 2);
    app.stop().await;
}

/// The visitor's `.ics`, parsed by an iCalendar parser that is not the
/// one calbridge writes with: its calendar's properties, and its one
/// event's.
async fn invite_file(
    app: &common::TestApp,
    id: &str,
    token: &str,
) -> (Vec<ical::property::Property>, Vec<ical::property::Property>) {
    let body = reqwest::get(app.url(&format!("/booking/{id}/invite.ics?token={token}")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (n, byte) in body.bytes().enumerate() {
        if byte == b'\r' {
            assert_eq!(
                body.as_bytes().get(n + 1),
                Some(&b'\n'),
                "a bare CR: {body:?}"
            );
        }
    }
    let mut calendars = ical::IcalParser::new(std::io::BufReader::new(body.as_bytes()));
    let calendar = calendars.next().expect("one calendar").expect("it parses");
    assert!(calendars.next().is_none());
    assert_eq!(calendar.events.len(), 1, "{body}");
    (calendar.properties, calendar.events[0].properties.clone())
}

fn value<'a>(properties: &'a [ical::property::Property], name: &str) -> &'a str {
    properties
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_deref())
        .unwrap_or_else(|| panic!("no {name} in {properties:?}"))
}

fn param<'a>(properties: &'a [ical::property::Property], name: &str, key: &str) -> &'a str {
    properties
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.params.as_ref())
        .and_then(|params| params.iter().find(|(k, _)| k == key))
        .and_then(|(_, values)| values.first())
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no {name};{key} in {properties:?}"))
}

async fn the_ics_reads_right_in_calendar_apps(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let visitor = app.client();
    let resp = book(&app, &visitor, slot(0), "Vera Visitor", "vera@example.com").await;
    let manage = location(&resp);
    let (id, token) = manage_parts(&manage);
    let uid = format!("{id}@calbridge");
    let stamp = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .format("%Y%m%dT%H%M%SZ")
            .to_string()
    };

    let (calendar, event) = invite_file(&app, &id, &token).await;
    assert_eq!(value(&calendar, "METHOD"), "REQUEST");
    assert_eq!(value(&event, "UID"), uid);
    assert_eq!(value(&event, "SEQUENCE"), "0");
    assert_eq!(value(&event, "STATUS"), "CONFIRMED");
    assert_eq!(value(&event, "DTSTART"), stamp(slot(0)));
    assert_eq!(value(&event, "ORGANIZER"), "mailto:alice@demo.test");
    assert_eq!(value(&event, "ATTENDEE"), "mailto:vera@example.com");
    assert_eq!(param(&event, "ATTENDEE", "CN"), "Vera Visitor");

    // Moved: the same UID, a higher SEQUENCE, the new time.
    let resp = visitor
        .post(app.url(&format!("/booking/{id}/reschedule")))
        .form(&[
            ("token", token.as_str()),
            ("start", start_param(slot(4)).as_str()),
            ("back", "/book/alice/intro"),
        ])
        .send()
        .await
        .unwrap();
    assert!(location(&resp).contains("notice=booking_moved"));
    let (calendar, event) = invite_file(&app, &id, &token).await;
    assert_eq!(value(&calendar, "METHOD"), "REQUEST");
    assert_eq!(value(&event, "UID"), uid);
    assert_eq!(value(&event, "SEQUENCE"), "1");
    assert_eq!(value(&event, "DTSTART"), stamp(slot(4)));

    // A name stored with a carriage return (from before names were
    // checked) cannot break the file.
    sqlx::query("UPDATE bookings SET attendee_name = $1")
        .bind("Vera\rVisitor\r\nBCC:x@evil.test")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let (_, event) = invite_file(&app, &id, &token).await;
    assert!(!param(&event, "ATTENDEE", "CN").contains(['\r', '\n']));
    assert!(!event.iter().any(|p| p.name == "BCC"), "{event:?}");

    // Canceled: METHOD:CANCEL, STATUS:CANCELLED, higher again.
    let resp = visitor
        .post(app.url(&format!("/booking/{id}/cancel")))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(location(&resp).contains("notice=booking_canceled"));
    let (calendar, event) = invite_file(&app, &id, &token).await;
    assert_eq!(value(&calendar, "METHOD"), "CANCEL");
    assert_eq!(value(&event, "STATUS"), "CANCELLED");
    assert_eq!(value(&event, "UID"), uid);
    assert_eq!(value(&event, "SEQUENCE"), "2");
    app.stop().await;
}

on_both_backends!(
    the_ics_reads_right_in_calendar_apps,
    a_burst_from_one_address_is_refused,
    one_attendee_and_strangers_cannot_fill_a_hosts_calendar,
    a_cancel_and_rebook_loop_is_cut_short,
    names_must_be_one_line,
    a_start_that_is_no_slot_costs_no_provider_call
);
