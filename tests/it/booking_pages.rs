//! The public booking pages over real HTTP, as a browser without
//! JavaScript uses them: a host's event types, the month with the day's
//! free times in the visitor's zone, the form (a refusal keeps what was
//! typed and says what to fix), the confirmation in both zones with its
//! `.ics`, and the manage link's reschedule and cancel. Both backends.

use crate::common;
use crate::common::Expect;

use common::booking::{alice_at, next_monday, seed_demo};
use common::location;
use reqwest::StatusCode;

fn utc(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap()
}

/// A start as the page's links and forms carry it.
fn start_param(ms: i64) -> String {
    utc(ms).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

async fn page(client: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let resp = client.get(url).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

fn visitor_form<'a>(start: &'a str, email: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("start", start),
        ("tz", "America/New_York"),
        ("name", "Vera Visitor"),
        ("email", email),
        ("phone", "+1 212 555 0100"),
        ("purpose", "A first talk"),
    ]
}

async fn a_visitor_books_reschedules_and_cancels_on_the_pages(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let visitor = app.client();

    let (status, host) = page(&visitor, &app.url("/book/alice")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(host.contains("Alice Example") && host.contains("href=\"/book/alice/intro\""));
    assert!(
        !host.contains("/pkg/calbridge.js"),
        "no WASM on a booking page"
    );

    // Monday in New York: Alice's 09:00 Berlin is early morning there.
    let monday = next_monday();
    let nine = alice_at(9, 0);
    let ny_nine = utc(nine)
        .with_timezone(&chrono_tz::America::New_York)
        .format("%H:%M")
        .to_string();
    let day_url = app.url(&format!(
        "/book/alice/intro?tz=America/New_York&date={monday}"
    ));
    let (status, day) = page(&visitor, &day_url).await;
    assert_eq!(status, StatusCode::OK);
    let encoded_nine = start_param(nine).replace(':', "%3A");
    assert!(day.contains(&format!("start={encoded_nine}")), "{day}");
    assert!(day.contains(&format!(">{ny_nine}</a>")), "{day}");
    assert!(
        day.contains(&format!("date={monday}")),
        "the month links the day"
    );

    // A bad email: 422, the message at its field, what was typed kept.
    let start = start_param(nine);
    let form_url = app.url(&format!(
        "/book/alice/intro?tz=America/New_York&date={monday}&start={encoded_nine}"
    ));
    let (status, picked) = page(&visitor, &form_url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(picked.contains("Book this time"), "{picked}");
    let resp = visitor
        .post(&form_url)
        .form(&visitor_form(&start, "vera-at-example"))
        .expect_status(StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    let again = resp.text().await.unwrap();
    assert!(again.contains("Enter a valid email address."), "{again}");
    assert!(
        again.contains("value=\"Vera Visitor\""),
        "the name survives"
    );
    assert!(
        again.contains("value=\"vera-at-example\""),
        "the email survives"
    );
    assert!(
        again.contains("A first talk</textarea>"),
        "the purpose survives"
    );

    // Booked: on to the attendee's page, the time in both zones.
    let resp = visitor
        .post(&form_url)
        .form(&visitor_form(&start, "vera@example.com"))
        .expect_status(StatusCode::SEE_OTHER)
        .await;
    let manage = location(&resp);
    assert!(
        manage.starts_with("/booking/") && manage.contains("token="),
        "{manage}"
    );
    let (status, booked) = page(&visitor, &app.url(&manage)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(booked.contains("You are booked"), "{booked}");
    assert!(booked.contains("Intro call with Alice Example"));
    assert!(booked.contains(&format!("{ny_nine}–")), "attendee's zone");
    assert!(
        booked.contains("09:00–09:30") && booked.contains("Europe/Berlin"),
        "host's zone"
    );
    assert!(
        booked.contains("Google Meet link is on its way"),
        "{booked}"
    );

    // The .ics carries the booking in UTC under a stable UID.
    let id = manage
        .trim_start_matches("/booking/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let token = manage
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let resp = visitor
        .get(app.url(&format!("/booking/{id}/invite.ics?token={token}")))
        .expect_status(StatusCode::OK)
        .await;
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let ics = resp.text().await.unwrap();
    assert!(ics.contains("BEGIN:VEVENT"), "{ics}");
    assert!(ics.contains(&format!("UID:{id}@calbridge")));
    assert!(
        ics.contains(&format!("DTSTART:{}", utc(nine).format("%Y%m%dT%H%M%SZ"))),
        "{ics}"
    );
    assert!(ics.contains("STATUS:CONFIRMED"));

    // Someone else picks the same time: 409, what they typed kept, and
    // free times nearby to choose from.
    let other = app.client();
    let resp = other
        .post(&form_url)
        .form(&visitor_form(&start, "otto@example.com"))
        .expect_status(StatusCode::CONFLICT)
        .await;
    let taken = resp.text().await.unwrap();
    assert!(taken.contains("just booked by someone else"), "{taken}");
    assert!(taken.contains("value=\"otto@example.com\""));
    assert!(taken.contains("type=\"radio\" name=\"start\""), "{taken}");
    assert!(
        !taken.contains(&format!("value=\"{start}\"")),
        "not the taken time"
    );

    // Another link cannot open it.
    let (status, _) = page(&visitor, &app.url(&format!("/booking/{id}?token=nope"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = page(&visitor, &app.url("/book/nobody")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Reschedule from the manage page to 11:00.
    let reschedule = booked
        .split("href=\"")
        .find(|s| s.contains("reschedule="))
        .and_then(|s| s.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let eleven = alice_at(11, 0);
    let (status, moving) = page(
        &visitor,
        &app.url(&format!(
            "{reschedule}&start={}",
            start_param(eleven).replace(':', "%3A")
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(moving.contains("Move my booking"), "{moving}");
    let resp = visitor
        .post(app.url(&format!("/booking/{id}/reschedule")))
        .form(&[
            ("token", token.as_str()),
            ("start", &start_param(eleven)),
            ("back", &reschedule),
        ])
        .expect_status(StatusCode::SEE_OTHER)
        .await;
    assert!(location(&resp).contains("notice=booking_moved"));
    let (_, moved) = page(&visitor, &app.url(&manage)).await;
    assert!(moved.contains("11:00–11:30"), "{moved}");

    // 09:00 is free again; cancel frees 11:00 too.
    let (_, day) = page(&visitor, &day_url).await;
    assert!(day.contains(&format!("start={encoded_nine}")));
    visitor
        .post(app.url(&format!("/booking/{id}/cancel")))
        .form(&[("token", token.as_str())])
        .expect_status(StatusCode::SEE_OTHER)
        .await;
    let (_, canceled) = page(&visitor, &app.url(&manage)).await;
    assert!(canceled.contains("Booking canceled"), "{canceled}");
    assert!(
        !canceled.contains("Cancel booking"),
        "nothing left to cancel"
    );
    let (_, day) = page(&visitor, &day_url).await;
    let encoded_eleven = start_param(eleven).replace(':', "%3A");
    assert!(day.contains(&format!("start={encoded_eleven}")));
    app.stop().await;
}

fn profile_form<'a>(
    slug: &'a str,
    monday: &'a str,
    overrides: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("slug", slug),
        ("time_zone", "Asia/Tokyo"),
        ("mon", monday),
        ("tue", "09:00-17:00"),
        ("wed", ""),
        ("thu", ""),
        ("fri", ""),
        ("sat", ""),
        ("sun", ""),
        ("overrides", overrides),
    ]
}

async fn a_host_sets_up_their_booking_page(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let host = app.client();
    common::log_in(&app, &host, "admin@demo.test", common::PASSWORD).await;
    let (status, empty) = page(&host, &app.url("/settings/booking")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(empty.contains("Create booking page"), "{empty}");
    let save = |form: Vec<(&'static str, String)>| {
        let host = host.clone();
        let url = app.url("/settings/booking/profile");
        async move { location(&host.post(url).form(&form).send().await.unwrap()) }
    };
    let owned = |form: Vec<(&'static str, &str)>| -> Vec<(&'static str, String)> {
        form.into_iter().map(|(k, v)| (k, v.to_owned())).collect()
    };

    // Hours that end before they start, and a taken address, change nothing.
    let monday = next_monday();
    let tuesday = monday.succ_opt().unwrap().to_string();
    let closed = format!("{tuesday} closed");
    assert!(save(owned(profile_form("carol", "17:00-09:00", "")))
        .await
        .contains("error=invalid_hours"));
    assert!(save(owned(profile_form("alice", "09:00-12:00", "")))
        .await
        .contains("error=booking_slug_taken"));
    let (_, still_empty) = page(&host, &app.url("/settings/booking")).await;
    assert!(still_empty.contains("Create booking page"));

    // Two spans on Mondays, Tuesday closed by a date override.
    let done = save(owned(profile_form(
        "carol",
        "09:00-10:00, 13:00-14:00",
        &closed,
    )))
    .await;
    assert!(done.contains("notice=booking_profile_saved"), "{done}");
    let resp = host
        .post(app.url("/settings/booking/event-types"))
        .form(&[
            ("id", ""),
            ("name", "Quick chat"),
            ("slug", "chat"),
            ("duration", "30"),
            ("location", "phone"),
            ("location_detail", "+81 3 1234 5678"),
            ("buffer_before", "0"),
            ("buffer_after", "0"),
            ("minimum_notice", "60"),
            ("window_days", "30"),
            ("slot_interval", ""),
            ("daily_limit", ""),
        ])
        .send()
        .await
        .unwrap();
    assert!(location(&resp).contains("notice=event_type_saved"));
    let (_, saved) = page(&host, &app.url("/settings/booking")).await;
    assert!(saved.contains("09:00-10:00, 13:00-14:00"), "{saved}");
    assert!(saved.contains(&closed), "{saved}");
    assert!(saved.contains("/book/carol/chat"));

    let (status, day) = page(
        &host,
        &app.url(&format!("/book/carol/chat?tz=Asia/Tokyo&date={monday}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let times: Vec<&str> = day
        .split("class=\"slot\"")
        .skip(1)
        .filter_map(|s| s.split('>').nth(1)?.split('<').next())
        .collect();
    assert_eq!(times, ["09:00", "09:30", "13:00", "13:30"], "{day}");
    assert!(
        !day.contains(&format!("date={tuesday}\"")),
        "Tuesday is closed"
    );

    // Deleting the event type takes its page down.
    let id = saved
        .split("/settings/booking/event-types/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_owned();
    let resp = host
        .post(app.url(&format!("/settings/booking/event-types/{id}/delete")))
        .send()
        .await
        .unwrap();
    assert!(location(&resp).contains("notice=event_type_deleted"));
    let (status, _) = page(&host, &app.url("/book/carol/chat")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

on_both_backends!(
    a_visitor_books_reschedules_and_cancels_on_the_pages,
    a_host_sets_up_their_booking_page
);
