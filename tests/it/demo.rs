//! The demo on a fresh dev instance: Alice's sandbox Calendly and Google
//! accounts connected through the real OAuth flow, and the meetings booked
//! in them on her meetings page, as a newcomer's first look. Both backends.

use crate::common;

use common::booking::seed_demo;
use common::connect::{connections, eventually, meetings, sandboxed};
use common::{log_in, PASSWORD};

async fn a_fresh_demo_has_alices_calendars_connected_and_meetings_booked(backend: common::Backend) {
    let app = start_app!(backend, sandboxed());
    seed_demo(&app).await;
    calbridge::server::demo::bring_to_life(&app.url(""), PASSWORD)
        .await
        .unwrap();

    let alice = app.client();
    log_in(&app, &alice, "alice@demo.test", PASSWORD).await;
    let mut providers: Vec<String> = connections(&app, &alice)
        .await
        .iter()
        .map(|c| {
            assert_eq!(c["state"], "connected", "{c}");
            c["provider"].as_str().unwrap().to_owned()
        })
        .collect();
    providers.sort();
    assert_eq!(providers, ["calendly", "google"]);
    eventually("the demo's meetings arrive", || async {
        meetings(&app, &alice).await.len() == 3
    })
    .await;
    let list = meetings(&app, &alice).await;
    let titled = |title: &str| list.iter().filter(|m| m["title"] == title).count();
    assert_eq!(titled("Design review"), 1, "{list:?}");
    assert_eq!(
        list.iter()
            .filter(|m| m["source"] == "calendly" && m["status"] == "scheduled")
            .count(),
        2,
        "{list:?}"
    );
    // Bob and the admin start with nothing connected.
    let bob = app.client();
    log_in(&app, &bob, "bob@demo.test", PASSWORD).await;
    assert!(connections(&app, &bob).await.is_empty());
    app.stop().await;
}

on_both_backends!(a_fresh_demo_has_alices_calendars_connected_and_meetings_booked);
