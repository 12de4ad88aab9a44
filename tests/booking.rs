//! Booking profiles and event types, stored and read back as availability
//! sees them.

mod common;

use calbridge::model::EventLocation;
use calbridge::server::accounts;
use calbridge::server::booking::availability::{self, Query};
use calbridge::server::booking::profiles;
use calbridge::server::platform::db::booking as repo;
use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};

/// The Monday at least a week from now.
fn next_monday() -> NaiveDate {
    let mut day = Utc::now().date_naive() + Duration::days(7);
    while day.weekday() != Weekday::Mon {
        day = day.succ_opt().unwrap();
    }
    day
}

async fn demo_hosts_can_be_booked_at_once(backend: common::Backend) {
    let app = start_app!(backend);
    accounts::seed_demo(&app.state.accounts, Some(common::PASSWORD))
        .await
        .unwrap();
    let pool = app.state.db.pool();

    let alice = profiles::host_by_slug(pool, "Alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.slug, "alice");
    assert_eq!(alice.time_zone, "Europe/Berlin");
    let types = repo::event_types_of(pool, &alice.owner).await.unwrap();
    assert_eq!(types.len(), 1);
    assert_eq!((types[0].slug.as_str(), types[0].duration), ("intro", 30));
    assert_eq!(types[0].location, EventLocation::GoogleMeet);

    let bob = profiles::host_by_slug(pool, "bob").await.unwrap().unwrap();
    assert_eq!(bob.time_zone, "America/New_York");
    let bob_types = repo::event_types_of(pool, &bob.owner).await.unwrap();
    assert_eq!(
        (bob_types[0].slug.as_str(), bob_types[0].duration),
        ("consult", 60)
    );
    assert_eq!(bob_types[0].location, EventLocation::MicrosoftTeams);
    assert!(profiles::host_by_slug(pool, "carol")
        .await
        .unwrap()
        .is_none());

    // Both hosts belong to the demo tenant and are its only ones.
    let hosts = repo::profiles_in_tenant(pool, &alice.owner.tenant)
        .await
        .unwrap();
    let slugs: Vec<_> = hosts.iter().map(|h| h.slug.as_str()).collect();
    assert_eq!(slugs, ["alice", "bob"]);

    // Alice's stored week gives a full Monday of 30-minute slots from 09:00
    // to 17:00 Berlin time, and nothing on the weekend.
    let schedule = profiles::schedule(&alice).unwrap();
    let rules = profiles::rules(&types[0]);
    let monday = next_monday();
    let tz = schedule.time_zone;
    let slots_on = |day: NaiveDate| {
        availability::slots(&Query {
            schedule: &schedule,
            rules: &rules,
            from: availability::instant(tz, day, 0),
            to: availability::instant(tz, day.succ_opt().unwrap(), 0),
            busy: &[],
            booked: &[],
            now: Utc::now().timestamp_millis(),
        })
    };
    let slots = slots_on(monday);
    assert_eq!(slots.len(), 16);
    assert_eq!(slots[0].start, availability::instant(tz, monday, 9 * 60));
    assert_eq!(slots[15].end, availability::instant(tz, monday, 17 * 60));
    assert!(slots_on(monday - Duration::days(1)).is_empty());
    app.stop().await;
}

async fn event_types_are_edited_only_by_their_host(backend: common::Backend) {
    let app = start_app!(backend);
    accounts::seed_demo(&app.state.accounts, Some(common::PASSWORD))
        .await
        .unwrap();
    let pool = app.state.db.pool();
    let alice = profiles::host_by_slug(pool, "alice")
        .await
        .unwrap()
        .unwrap();
    let bob = profiles::host_by_slug(pool, "bob").await.unwrap().unwrap();
    let intro = repo::event_types_of(pool, &alice.owner)
        .await
        .unwrap()
        .remove(0);

    // Alice edits hers: stored as sent.
    let longer = repo::EventType {
        duration: 45,
        name: "Longer intro".into(),
        ..intro.clone()
    };
    repo::save_event_type(pool, &alice.owner, &longer)
        .await
        .unwrap();
    let stored = repo::event_types_of(pool, &alice.owner).await.unwrap();
    assert_eq!(stored, vec![longer.clone()]);

    // Bob cannot overwrite it by its id, and nothing changes.
    let hijack = repo::EventType {
        name: "Mine now".into(),
        ..longer.clone()
    };
    assert!(repo::save_event_type(pool, &bob.owner, &hijack)
        .await
        .is_err());
    assert_eq!(
        repo::event_types_of(pool, &alice.owner).await.unwrap(),
        vec![longer.clone()]
    );
    assert!(repo::delete_event_type(pool, &bob.owner, intro.id)
        .await
        .is_err());

    // A second event type with the same slug is a conflict.
    let twin = profiles::NewEventType {
        id: None,
        slug: "intro",
        name: "Twin",
        duration: 30,
        location: EventLocation::Phone,
        location_detail: Some("+49 30 1234567"),
        buffer_before: 0,
        buffer_after: 0,
        minimum_notice: 0,
        window_days: 30,
        slot_interval: None,
        daily_limit: None,
    };
    assert!(profiles::save_event_type(pool, &alice.owner, &twin)
        .await
        .is_err());

    // Alice cannot take Bob's slug.
    let hours = profiles::Hours::weekdays(chrono_tz::UTC, "09:00", "12:00").unwrap();
    assert!(profiles::save_profile(pool, &alice.owner, "bob", &hours)
        .await
        .is_err());
    assert_eq!(
        profiles::host_by_slug(pool, "bob")
            .await
            .unwrap()
            .unwrap()
            .owner,
        bob.owner
    );
    repo::delete_event_type(pool, &alice.owner, intro.id)
        .await
        .unwrap();
    assert!(repo::event_types_of(pool, &alice.owner)
        .await
        .unwrap()
        .is_empty());
    app.stop().await;
}

on_both_backends!(
    demo_hosts_can_be_booked_at_once,
    event_types_are_edited_only_by_their_host
);
