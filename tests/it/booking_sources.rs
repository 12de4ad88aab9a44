//! More of a host's availability over real HTTP with the sandbox: `host=any`
//! gives each slot to the least-booked host free then, and books that one;
//! an all-day event in the host's Google calendar closes its dates, read
//! from the mirror and live; the host's Calendly meetings are busy time.
//! Both backends.

use crate::common;
use crate::common::Expect;

use calbridge::model::ApiScope;
use common::booking::{alice_at, api, demo_tenant, json_of, key_for, next_monday, seed_demo};
use common::connect::{
    connect, control, eventually, instant, meetings, sandboxed, stamp, syncs_settled,
};
use common::{location, log_in, post_form, TestApp, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn availability(agent: &reqwest::Client, app: &TestApp, host: &str) -> Value {
    let monday = next_monday();
    let (status, body) = json_of(
        agent
            .get(app.url(&format!(
                "/api/v1/availability?host={host}&event_type=intro&start={monday}&end={monday}&time_zone=UTC"
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The slots' starts (unix ms) and hosts.
fn starts(body: &Value) -> Vec<(i64, String)> {
    body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                instant(s["start"].as_str().unwrap()),
                s["host"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn any_host_gets_the_least_booked_free_one(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    // Bob (New York, 10:00–16:00) offers an intro too: 15:00–16:00 UTC on
    // the Monday is the hour both of them work (Alice: 09:00–17:00 Berlin).
    let bob = app.client();
    log_in(&app, &bob, "bob@demo.test", PASSWORD).await;
    let saved = post_form(
        &bob,
        &app.url("/settings/booking/event-types"),
        &[
            ("slug", "intro"),
            ("name", "Intro call"),
            ("duration", "30"),
            ("location", "phone"),
            ("window_days", "60"),
            ("slot_interval", "30"),
        ],
    )
    .await;
    assert!(
        location(&saved).contains("notice=event_type_saved"),
        "{}",
        location(&saved)
    );
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);
    let monday = next_monday();
    let both_at = instant(&format!("{monday}T15:00:00Z"));

    let any = starts(&availability(&agent, &app, "any").await);
    let alice = starts(&availability(&agent, &app, "alice").await);
    let bob_alone = starts(&availability(&agent, &app, "bob").await);
    assert!(alice.iter().all(|(_, h)| h == "alice"));
    assert!(bob_alone.iter().all(|(_, h)| h == "bob"));
    // Every start either offers, once, and nothing else.
    let mut expected: Vec<i64> = alice.iter().chain(&bob_alone).map(|(s, _)| *s).collect();
    expected.sort();
    expected.dedup();
    let offered: Vec<i64> = any.iter().map(|(s, _)| *s).collect();
    assert_eq!(offered, expected);
    assert!(offered.contains(&both_at));

    let book = |email: &'static str| {
        let (agent, app, start) = (&agent, &app, stamp(both_at));
        async move {
            json_of(
                agent
                    .post(app.url("/api/v1/bookings"))
                    .json(
                        &json!({"host": "any", "event_type": "intro", "start": start,
                                  "attendee": {"name": "Guest", "email": email}}),
                    )
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    // Alice has a booking elsewhere that day: the first any-host booking at
    // the shared hour goes to Bob, the second to Alice, the third finds
    // nobody.
    let (status, earlier) = json_of(
        agent
            .post(app.url("/api/v1/bookings"))
            .json(&json!({"host": "alice", "event_type": "intro",
                          "start": stamp(alice_at(9, 0)),
                          "attendee": {"name": "Early", "email": "early@example.com"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{earlier}");
    let (status, first) = book("one@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["host"], "bob", "the least-booked host");
    let (status, second) = book("two@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["host"], "alice", "the other host free then");
    let (status, third) = book("three@example.com").await;
    assert_eq!(status, StatusCode::CONFLICT, "{third}");
    assert_eq!(third["error"], "slot_taken");
    assert!(!starts(&availability(&agent, &app, "any").await)
        .iter()
        .any(|(s, _)| *s == both_at));
    app.stop().await;
}

async fn an_all_day_event_and_calendly_meetings_are_busy(backend: common::Backend) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    let alice = app.client();
    log_in(&app, &alice, "alice@demo.test", PASSWORD).await;
    let agent = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);
    let monday = next_monday();
    assert!(!starts(&availability(&agent, &app, "alice").await).is_empty());

    // A Calendly meeting at 10:00 Berlin: that hour is busy.
    connect(&app, &alice, "calendly", "alice@sandbox.test").await;
    control(
        &app,
        Method::POST,
        "calendly/bookings",
        json!({"host_email": "alice@sandbox.test", "invitee_name": "Cal", "invitee_email": "cal@example.com",
               "start_time": stamp(alice_at(10, 0)), "end_time": stamp(alice_at(11, 0)), "event_name": "Calendly call"}),
    )
    .await;
    eventually("the Calendly meeting arrives", || async {
        meetings(&app, &alice)
            .await
            .iter()
            .any(|m| m["title"] == "Calendly call")
    })
    .await;
    let open: Vec<i64> = starts(&availability(&agent, &app, "alice").await)
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert!(!open.contains(&alice_at(10, 0)), "{open:?}");
    assert!(!open.contains(&alice_at(10, 30)), "{open:?}");
    assert!(open.contains(&alice_at(11, 0)), "{open:?}");

    // An all-day event on the Monday in her Google calendar closes the day,
    // read from the mirror once it is pushed, and live when it is not.
    connect(&app, &alice, "google", "alice@sandbox.test").await;
    syncs_settled(&app).await;
    control(
        &app,
        Method::POST,
        "google/events",
        json!({"owner_email": "alice@sandbox.test", "summary": "Holiday", "all_day": true,
               "start": format!("{monday}T00:00:00Z"),
               "end": format!("{}T00:00:00Z", monday.succ_opt().unwrap())}),
    )
    .await;
    eventually("the day closes", || async {
        starts(&availability(&agent, &app, "alice").await).is_empty()
    })
    .await;
    sqlx::query("UPDATE connections SET last_sync_at = 0 WHERE provider = 'google'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert!(
        starts(&availability(&agent, &app, "alice").await).is_empty(),
        "read live, the all-day event still closes the day"
    );
    let tuesday = monday.succ_opt().unwrap();
    let body = agent
            .get(app.url(&format!(
                "/api/v1/availability?host=alice&event_type=intro&start={tuesday}&end={tuesday}&time_zone=UTC"
            )))
        .expect_json(StatusCode::OK)
        .await;
    assert!(
        !body["slots"].as_array().unwrap().is_empty(),
        "the day after (its exclusive end) is open"
    );
    app.stop().await;
}

on_both_backends!(
    any_host_gets_the_least_booked_free_one,
    an_all_day_event_and_calendly_meetings_are_busy,
);
