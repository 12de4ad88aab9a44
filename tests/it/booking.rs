//! Booking profiles and event types, stored and read back as availability
//! sees them; bookings: only offered slots, exactly one winner of a race,
//! idempotency keys, checked attendee details. Both backends.

use crate::common;

use common::booking::{alice_at, host, next_monday, seed_demo};

use calbridge::model::EventLocation;
use calbridge::server::booking::availability::{self, Query};
use calbridge::server::booking::book::{book, Attendee, BookingRequest, Placed};
use calbridge::server::booking::error::BookError;
use calbridge::server::booking::profiles;
use calbridge::server::booking::Bookings;
use calbridge::server::platform::db::booking_profiles as repo;
use calbridge::server::platform::db::bookings;
use chrono::{Duration, NaiveDate, Utc};

async fn demo_hosts_can_be_booked_at_once(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
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
    seed_demo(&app).await;
    let pool = app.state.db.pool();
    let alice = host(pool, "alice").await;
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
    assert!(profiles::save_profile(
        pool,
        &alice.owner,
        "bob",
        &hours,
        profiles::DEFAULT_PUBLIC_DAILY_LIMIT
    )
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

fn request<'a>(start: i64, email: &'a str, key: Option<&'a str>) -> BookingRequest<'a> {
    BookingRequest {
        host: "alice",
        event_type: "intro",
        start,
        attendee: Attendee {
            name: "Visitor",
            email,
            phone: Some("+1 212 555 0100"),
            time_zone: Some("America/New_York"),
        },
        purpose: Some("A first talk"),
        idempotency_key: key,
        visitor: None,
    }
}

/// Books alice's intro at `start` for `email`, now, from the public page.
async fn book_alice(
    bookings: &Bookings,
    start: i64,
    email: &str,
    key: Option<&str>,
) -> Result<Placed, BookError> {
    book(bookings, None, &request(start, email, key)).await
}

async fn a_hundred_requests_for_one_slot_make_one_booking(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let start = alice_at(10, 0);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let bookings = app.state.bookings.clone();
            tokio::spawn(async move {
                let email = format!("visitor{i}@example.com");
                book(&bookings, None, &request(start, &email, None)).await
            })
        })
        .collect();
    let (mut made, mut taken) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(confirmed) => {
                made += 1;
                assert_eq!(confirmed.booking.starts_at, start);
                assert_eq!(confirmed.booking.ends_at - start, 30 * 60_000);
                assert!(confirmed.manage.is_some());
            }
            Err(BookError::SlotTaken { alternatives }) => {
                taken += 1;
                assert!(!alternatives.is_empty());
                assert!(alternatives.iter().all(|s| s.span.start != start));
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((made, taken), (1, 99));
    let alice = host(app.state.db.pool(), "alice").await;
    let stored = bookings::confirmed_between(app.state.db.pool(), &alice.owner, start, start + 1)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    app.stop().await;
}

async fn only_offered_slots_can_be_booked(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let db = &app.state.bookings;
    let off_grid = alice_at(10, 10);
    match book_alice(db, off_grid, "a@example.com", None).await {
        Err(BookError::NotASlot { alternatives }) => {
            let starts: Vec<i64> = alternatives.iter().map(|s| s.span.start).collect();
            assert_eq!(
                starts,
                vec![alice_at(9, 30), alice_at(10, 0), alice_at(10, 30)]
            );
        }
        other => panic!("expected not_a_slot, got {other:?}"),
    }
    for outside in [
        alice_at(8, 30),
        alice_at(16, 45),
        alice_at(10, 0) - 2 * 86_400_000,
    ] {
        let result = book_alice(db, outside, "a@example.com", None).await;
        assert!(
            matches!(result, Err(BookError::NotASlot { .. })),
            "{outside}: {result:?}"
        );
    }
    // In the past, though on the grid of a working day.
    let two_weeks_earlier = alice_at(10, 0) - 14 * 86_400_000;
    let result = book_alice(db, two_weeks_earlier, "a@example.com", None).await;
    assert!(matches!(result, Err(BookError::NotASlot { .. })));
    let unknown = BookingRequest {
        event_type: "nope",
        ..request(alice_at(10, 0), "a@example.com", None)
    };
    assert!(matches!(
        book(db, None, &unknown).await,
        Err(BookError::NotFound)
    ));

    // A booked slot is taken; the one after it is still free.
    book_alice(db, alice_at(11, 0), "a@example.com", None)
        .await
        .unwrap();
    let result = book_alice(db, alice_at(11, 0), "b@example.com", None).await;
    assert!(matches!(result, Err(BookError::SlotTaken { .. })));
    book_alice(db, alice_at(11, 30), "b@example.com", None)
        .await
        .unwrap();
    app.stop().await;
}

async fn a_repeated_idempotency_key_returns_the_first_booking(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let db = &app.state.bookings;
    let first = book_alice(db, alice_at(14, 0), "a@example.com", Some("k-1"))
        .await
        .unwrap();
    let again = book_alice(db, alice_at(14, 0), "a@example.com", Some("k-1"))
        .await
        .unwrap();
    assert_eq!(again.booking.id, first.booking.id);
    let url =
        |p: &calbridge::server::booking::book::Placed| p.manage.as_ref().map(|m| m.url.clone());
    assert!(url(&first).is_some());
    assert_eq!(url(&again), url(&first), "the same manage link again");
    let different = book_alice(db, alice_at(15, 0), "a@example.com", Some("k-1")).await;
    assert!(
        matches!(different, Err(BookError::KeyReused)),
        "{different:?}"
    );
    let alice = host(db.db.pool(), "alice").await;
    let day =
        bookings::confirmed_between(db.db.pool(), &alice.owner, alice_at(0, 0), alice_at(23, 0))
            .await
            .unwrap();
    assert_eq!(
        day.len(),
        1,
        "nothing booked twice, nothing booked for the changed request"
    );
    app.stop().await;
}

async fn bad_attendee_details_name_their_field(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let db = &app.state.bookings;
    let base = || request(alice_at(9, 0), "a@example.com", None);
    let cases: [(BookingRequest<'_>, &str); 5] = [
        (
            BookingRequest {
                attendee: Attendee {
                    email: "not-an-email",
                    ..base().attendee
                },
                ..base()
            },
            "attendee.email",
        ),
        (
            BookingRequest {
                attendee: Attendee {
                    name: " ",
                    ..base().attendee
                },
                ..base()
            },
            "attendee.name",
        ),
        (
            BookingRequest {
                attendee: Attendee {
                    phone: Some("call me"),
                    ..base().attendee
                },
                ..base()
            },
            "attendee.phone",
        ),
        (
            BookingRequest {
                attendee: Attendee {
                    time_zone: Some("Mars/Olympus"),
                    ..base().attendee
                },
                ..base()
            },
            "attendee.time_zone",
        ),
        (
            BookingRequest {
                idempotency_key: Some(""),
                ..base()
            },
            "idempotency_key",
        ),
    ];
    for (bad, expected) in cases {
        match book(db, None, &bad).await {
            Err(BookError::Invalid { field, .. }) => assert_eq!(field, expected),
            other => panic!("{expected}: {other:?}"),
        }
    }
    let alice = host(db.db.pool(), "alice").await;
    let day =
        bookings::confirmed_between(db.db.pool(), &alice.owner, alice_at(0, 0), alice_at(23, 0))
            .await
            .unwrap();
    assert!(day.is_empty(), "bad input books nothing");
    app.stop().await;
}

on_both_backends!(
    a_hundred_requests_for_one_slot_make_one_booking,
    only_offered_slots_can_be_booked,
    a_repeated_idempotency_key_returns_the_first_booking,
    bad_attendee_details_name_their_field
);
