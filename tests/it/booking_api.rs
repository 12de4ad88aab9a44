//! The machine API over real HTTP: API keys (shown once, hashed, scoped to
//! a tenant, revocable; the operator's CLI), hosts, availability in the
//! caller's zone, bookings (201, 409 with alternatives, 422 naming the
//! field, idempotency), cancel and reschedule, and the 100-way race. Both
//! backends.

use crate::common;
use crate::common::Expect;

use calbridge::model::ApiScope;
use calbridge::server::accounts;
use common::booking::{alice_at, api, demo_tenant, json_of, key_for, next_monday, seed_demo};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339()
}

fn booking_body(start: i64, email: &str) -> Value {
    json!({
        "host": "alice",
        "event_type": "intro",
        "start": rfc3339(start),
        "attendee": {"name": "Vera Visitor", "email": email, "phone": "+1 212 555 0100", "time_zone": "America/New_York"},
        "purpose": "A first talk",
    })
}

async fn hosts_and_availability_read_in_the_callers_zone(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let key = key_for(
        &app,
        &demo_tenant(&app).await,
        &[ApiScope::AvailabilityRead],
    )
    .await;
    let client = api(&key);

    let (status, hosts) = json_of(client.get(app.url("/api/v1/hosts")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        hosts,
        json!({"data": [
            {"slug": "alice", "name": "Alice Example", "time_zone": "Europe/Berlin",
             "event_types": [{"slug": "intro", "name": "Intro call", "duration_minutes": 30, "location": "google_meet"}]},
            {"slug": "bob", "name": "Bob Example", "time_zone": "America/New_York",
             "event_types": [{"slug": "consult", "name": "Consultation", "duration_minutes": 60, "location": "microsoft_teams"}]},
        ]})
    );

    // The API describes itself, from the same types, to anyone.
    let (status, spec) =
        json_of(reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "{spec}"
    );
    for (path, method) in [
        ("/api/v1/hosts", "get"),
        ("/api/v1/availability", "get"),
        ("/api/v1/bookings", "post"),
        ("/api/v1/bookings/{id}/reschedule", "post"),
        ("/api/v1/appointments/{id}", "patch"),
    ] {
        assert!(spec["paths"][path][method].is_object(), "{path} {method}");
    }
    let booking_in = spec["components"]["schemas"]["BookingIn"]["properties"]
        .as_object()
        .expect("the booking request's schema");
    for field in ["host", "event_type", "start", "attendee", "idempotency_key"] {
        assert!(booking_in.contains_key(field), "{field}");
    }

    // Monday in New York: Alice's 09:00–17:00 Berlin day is 03:00–11:00 there.
    let monday = next_monday();
    let url = app.url(&format!(
        "/api/v1/availability?host=alice&event_type=intro&start={monday}&end={monday}&time_zone=America/New_York"
    ));
    let (status, body) = json_of(client.get(&url).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["time_zone"], "America/New_York");
    let slots = body["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 16, "{body}");
    assert_eq!(slots[0]["start"], format!("{monday}T03:00:00-05:00"));
    assert_eq!(slots[0]["end"], format!("{monday}T03:30:00-05:00"));
    assert_eq!(slots[0]["host"], "alice");
    let weekday_date = monday.format("%A %-d %B").to_string();
    assert_eq!(slots[0]["speakable"], format!("{weekday_date} at 3:00 AM"));
    assert_eq!(slots[15]["start"], format!("{monday}T10:30:00-05:00"));

    // Any host offering "intro": only Alice does.
    let any = app.url(&format!(
        "/api/v1/availability?host=any&event_type=intro&start={monday}&end={monday}&time_zone=Europe/Berlin"
    ));
    let (_, body) = json_of(client.get(&any).send().await.unwrap()).await;
    let any_slots = body["slots"].as_array().unwrap();
    assert_eq!(any_slots.len(), 16);
    assert_eq!(any_slots[0]["start"], format!("{monday}T09:00:00+01:00"));

    // Bad parameters name themselves.
    for (query, field) in [
        (
            format!("event_type=intro&start={monday}&end={monday}"),
            "host",
        ),
        (
            format!("host=alice&event_type=intro&start=tomorrow&end={monday}"),
            "start",
        ),
        (
            format!("host=alice&event_type=intro&start={monday}&end={monday}&time_zone=Mars/Base"),
            "time_zone",
        ),
        (
            format!("host=alice&event_type=intro&start={monday}&end=2020-01-01"),
            "end",
        ),
    ] {
        let (status, body) = json_of(
            client
                .get(app.url(&format!("/api/v1/availability?{query}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(body["field"], field, "{query}");
        assert!(body["message"].as_str().unwrap().len() > 10);
    }
    let (status, body) = json_of(
        client
            .get(app.url(&format!(
                "/api/v1/availability?host=carol&event_type=intro&start={monday}&end={monday}"
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    app.stop().await;
}

async fn a_booking_over_the_api(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let tenant = demo_tenant(&app).await;
    let client = api(&key_for(&app, &tenant, &ApiScope::ALL).await);
    let bookings = app.url("/api/v1/bookings");
    let start = alice_at(10, 0);

    let resp = client
        .post(&bookings)
        .header("Idempotency-Key", "call-42")
        .json(&booking_body(start, "vera@example.com"))
        .send()
        .await
        .unwrap();
    let (status, made) = json_of(resp).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["status"], "confirmed");
    assert_eq!(made["host"], "alice");
    assert_eq!(made["event_type"], "intro");
    assert_eq!(made["time_zone"], "America/New_York");
    let monday = next_monday();
    assert_eq!(made["start"], format!("{monday}T04:00:00-05:00"));
    assert_eq!(made["end"], format!("{monday}T04:30:00-05:00"));
    assert_eq!(
        made["speakable"],
        format!("{} at 4:00 AM", monday.format("%A %-d %B"))
    );
    let id = made["id"].as_str().unwrap().to_owned();
    let manage_url = made["manage_url"].as_str().unwrap().to_owned();
    assert!(
        manage_url.starts_with(&app.url(&format!("/booking/{id}?token="))),
        "{manage_url}"
    );
    let token = manage_url.split("token=").nth(1).unwrap();
    let stored: Vec<(String,)> = sqlx::query_as("SELECT manage_token_hash FROM bookings")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].0, token, "only the token's hash is stored");

    // The same key and body: the first result again, nothing new.
    let again = client
        .post(&bookings)
        .header("Idempotency-Key", "call-42")
        .json(&booking_body(start, "vera@example.com"))
        .expect_json(StatusCode::CREATED)
        .await;
    assert_eq!(again, made);
    // The same key for another request: refused, nothing booked.
    let body = client
        .post(&bookings)
        .header("Idempotency-Key", "call-42")
        .json(&booking_body(alice_at(11, 0), "vera@example.com"))
        .expect_json(StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(body["error"], "idempotency_key_reused");

    // Someone else asks for the same time: 409 with free alternatives.
    let (status, body) = json_of(
        client
            .post(&bookings)
            .json(&booking_body(start, "other@example.com"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "slot_taken");
    let alternatives = body["alternatives"].as_array().unwrap();
    assert_eq!(alternatives.len(), 3);
    assert!(alternatives
        .iter()
        .all(|a| a["start"] != made["start"] && a["host"] == "alice"));
    assert!(
        alternatives[0]["start"]
            .as_str()
            .unwrap()
            .ends_with("-05:00"),
        "in the attendee's zone"
    );

    // Off the grid, and in the past: not a slot, with alternatives.
    for start in [alice_at(10, 10), alice_at(10, 0) - 14 * 86_400_000] {
        let (status, body) = json_of(
            client
                .post(&bookings)
                .json(&booking_body(start, "x@example.com"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"], "not_a_slot");
        assert!(body["alternatives"].is_array());
    }

    // Bad input: 422 naming the field, nothing booked.
    let free = alice_at(15, 0);
    let mut cases: Vec<(Value, &str)> = Vec::new();
    cases.push((booking_body(free, "not-an-email"), "attendee.email"));
    let mut bad_phone = booking_body(free, "p@example.com");
    bad_phone["attendee"]["phone"] = json!("call me maybe");
    cases.push((bad_phone, "attendee.phone"));
    let mut bad_zone = booking_body(free, "z@example.com");
    bad_zone["attendee"]["time_zone"] = json!("Mars/Olympus");
    cases.push((bad_zone, "attendee.time_zone"));
    let mut bad_start = booking_body(free, "s@example.com");
    bad_start["start"] = json!("next Monday at ten");
    cases.push((bad_start, "start"));
    let mut no_email = booking_body(free, "n@example.com");
    no_email["attendee"]
        .as_object_mut()
        .unwrap()
        .remove("email");
    cases.push((no_email, "attendee.email"));
    let mut extra = booking_body(free, "e@example.com");
    extra["colour"] = json!("blue");
    cases.push((extra, "colour"));
    for (body, field) in cases {
        let (status, answer) =
            json_of(client.post(&bookings).json(&body).send().await.unwrap()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {answer}"
        );
        assert_eq!(answer["error"], "invalid_request");
        assert_eq!(answer["field"], field, "{answer}");
    }
    let count: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bookings")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(count.0, 1, "no bad request booked anything");

    // Read, reschedule, cancel.
    let one = app.url(&format!("/api/v1/bookings/{id}"));
    let (status, read) = json_of(client.get(&one).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["start"], made["start"]);
    let (status, moved) = json_of(
        client
            .post(format!("{one}/reschedule"))
            .json(&json!({"start": rfc3339(alice_at(13, 30))}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["start"], format!("{monday}T07:30:00-05:00"));
    // The old time is free again.
    client
        .post(&bookings)
        .json(&booking_body(start, "other@example.com"))
        .expect_status(StatusCode::CREATED)
        .await;
    let (status, canceled) =
        json_of(client.post(format!("{one}/cancel")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(canceled["status"], "canceled");
    let (status, body) = json_of(
        client
            .post(format!("{one}/reschedule"))
            .json(&json!({"start": rfc3339(alice_at(14, 0))}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("booking_canceled"))
    );
    app.stop().await;
}

async fn keys_act_in_their_tenant_and_scope_only(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let demo = demo_tenant(&app).await;
    let writer = api(&key_for(&app, &demo, &ApiScope::ALL).await);
    let made = writer
        .post(app.url("/api/v1/bookings"))
        .json(&booking_body(alice_at(9, 0), "vera@example.com"))
        .expect_json(StatusCode::CREATED)
        .await;
    let id = made["id"].as_str().unwrap();

    let other = accounts::create_admin(
        &app.state.accounts,
        "Other team",
        "eve@other.test",
        "Eve",
        common::PASSWORD,
        "UTC",
    )
    .await
    .unwrap();
    let stranger = api(&key_for(&app, &other.tenant, &ApiScope::ALL).await);
    let monday = next_monday();
    let (status, hosts) =
        json_of(stranger.get(app.url("/api/v1/hosts")).send().await.unwrap()).await;
    assert_eq!((status, hosts), (StatusCode::OK, json!({"data": []})));
    for resp in [
        stranger
            .get(app.url(&format!(
                "/api/v1/availability?host=alice&event_type=intro&start={monday}&end={monday}"
            )))
            .send()
            .await
            .unwrap(),
        stranger
            .post(app.url("/api/v1/bookings"))
            .json(&booking_body(alice_at(9, 30), "eve@other.test"))
            .send()
            .await
            .unwrap(),
        stranger
            .get(app.url(&format!("/api/v1/bookings/{id}")))
            .send()
            .await
            .unwrap(),
        stranger
            .post(app.url(&format!("/api/v1/bookings/{id}/cancel")))
            .send()
            .await
            .unwrap(),
        stranger
            .get(app.url("/api/v1/bookings/not-an-id"))
            .send()
            .await
            .unwrap(),
    ] {
        let (status, body) = json_of(resp).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"], "not_found");
    }
    let (_, still) = json_of(
        writer
            .get(app.url(&format!("/api/v1/bookings/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        still["status"], "confirmed",
        "the other tenant changed nothing"
    );

    // A read-only key cannot book; no key, a made-up key: 401.
    let reader = api(&key_for(&app, &demo, &[ApiScope::AvailabilityRead]).await);
    let (status, body) = json_of(
        reader
            .post(app.url("/api/v1/bookings"))
            .json(&booking_body(alice_at(9, 30), "r@example.com"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    // Reading a booking: bookings:read sees it without the manage link
    // (which itself cancels and reschedules); bookings:write with it;
    // availability:read not at all.
    let read_with = |scopes: &'static [ApiScope]| {
        let (app, demo, id) = (&app, &demo, id.to_owned());
        async move {
            let client = api(&key_for(app, demo, scopes).await);
            json_of(
                client
                    .get(app.url(&format!("/api/v1/bookings/{id}")))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, seen) = read_with(&[ApiScope::BookingsRead]).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["id"], id);
    assert!(seen["manage_url"].is_null(), "{seen}");
    let (status, seen) = read_with(&[ApiScope::BookingsWrite]).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert!(seen["manage_url"]
        .as_str()
        .is_some_and(|url| url.contains("token=")));
    let (status, seen) = read_with(&[ApiScope::AvailabilityRead]).await;
    assert_eq!(
        (status, seen["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    let writer = api(&key_for(&app, &demo, &[ApiScope::BookingsWrite]).await);
    let (status, body) = json_of(
        writer
            .get(app.url(&format!(
                "/api/v1/availability?host=alice&event_type=intro&start={}&end={}",
                next_monday(),
                next_monday()
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    for client in [
        reqwest::Client::new(),
        api("cbk_not-a-real-key"),
        api("anything"),
    ] {
        let resp = client.get(app.url("/api/v1/hosts")).send().await.unwrap();
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let (status, body) = json_of(resp).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized"))
        );
    }
    app.stop().await;
}

async fn an_admin_creates_a_key_once_and_revokes_it(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let admin = app.client();
    common::log_in(&app, &admin, "admin@demo.test", common::PASSWORD).await;
    let resp = common::post_form(
        &admin,
        &app.url("/admin/api-keys"),
        &[("name", "Voice agent"), ("scope_availability_read", "on")],
    )
    .await;
    let to = common::location(&resp);
    assert!(to.starts_with("/admin/api-keys?created="), "{to}");
    assert!(to.ends_with("notice=api_key_created"), "{to}");
    let page = admin
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = regex::Regex::new(r#"value="(cbk_[A-Za-z0-9_-]{43})""#)
        .unwrap()
        .captures(&page)
        .expect("the new key on the page")[1]
        .to_owned();
    assert!(page.contains("Voice agent"));
    let again = admin
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!again.contains(&key), "shown once");
    assert!(
        again.contains(&key[..10]),
        "its prefix stays to tell keys apart"
    );
    let stored: Vec<(String, String)> = sqlx::query_as("SELECT key_hash, scopes FROM api_keys")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].0, key);
    assert_eq!(stored[0].1, "availability:read");
    let secrets: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM secrets WHERE owner_kind = 'api_key'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(secrets.0, 0, "no copy of the key is kept once shown");

    let client = api(&key);
    assert_eq!(
        client
            .get(app.url("/api/v1/hosts"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    common::connect::eventually("its last use is recorded", || async {
        let used: Option<i64> = sqlx::query_scalar("SELECT last_used_at FROM api_keys")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        used.is_some()
    })
    .await;
    let listed = admin
        .get(app.url("/admin/api-keys"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let row = &listed[listed.find("data-api-key=").unwrap()..];
    assert!(
        !row[..row.find("</tr>").unwrap()].contains("never"),
        "{row}"
    );
    // A member cannot see or make keys.
    let member = app.client();
    common::log_in(&app, &member, "alice@demo.test", common::PASSWORD).await;
    let resp = member.get(app.url("/admin/api-keys")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = common::post_form(
        &member,
        &app.url("/admin/api-keys"),
        &[("name", "x"), ("scope_bookings_write", "on")],
    )
    .await;
    assert!(
        resp.status() == StatusCode::FORBIDDEN || common::location(&resp).contains("error"),
        "{}",
        resp.status()
    );

    // Revoked: refused from then on; the page says so.
    let id = to
        .split("created=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let resp = common::post_form(
        &admin,
        &app.url(&format!("/admin/api-keys/{id}/revoke")),
        &[],
    )
    .await;
    assert_eq!(
        common::location(&resp),
        "/admin/api-keys?notice=api_key_revoked"
    );
    assert_eq!(
        client
            .get(app.url("/api/v1/hosts"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let page = admin
        .get(app.url("/admin/api-keys"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("revoked"));
    // No scope, no name: refused with a message.
    let resp = common::post_form(&admin, &app.url("/admin/api-keys"), &[("name", "Nothing")]).await;
    assert_eq!(
        common::location(&resp),
        "/admin/api-keys?error=invalid_scopes"
    );
    app.stop().await;
}

async fn a_hundred_api_requests_for_one_slot_make_one_booking(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let client = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);
    let start = alice_at(10, 0);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (client, url) = (client.clone(), app.url("/api/v1/bookings"));
            tokio::spawn(async move {
                let body = booking_body(start, &format!("caller{i}@example.com"));
                client.post(url).json(&body).send().await.unwrap().status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let taken = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, taken), (1, 99), "{statuses:?}");
    let count: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bookings WHERE status = 'confirmed'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(count.0, 1);
    app.stop().await;
}

/// Keys stored before the scopes were split keep exactly what they could
/// do: the migration's update, run over such rows, gives the equivalent
/// scopes.
async fn keys_from_before_the_scope_split_keep_what_they_could_do(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let demo = demo_tenant(&app).await;
    let pool = app.state.db.pool();
    let cases = [
        (
            "availability:read",
            "availability:read bookings:read appointments:read",
        ),
        (
            "bookings:write",
            "bookings:read bookings:write appointments:read appointments:write",
        ),
        (
            "availability:read bookings:write",
            "availability:read bookings:read bookings:write appointments:read appointments:write",
        ),
    ];
    for (n, (old, _)) in cases.iter().enumerate() {
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, name, scopes, key_hash, key_prefix, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'cbk_old', 0)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(demo.tenant_id().to_string())
        .bind(format!("old {n}"))
        .bind(*old)
        .bind(format!("hash-{n}"))
        .execute(pool)
        .await
        .unwrap();
    }
    let folder = match backend {
        common::Backend::Sqlite => "sqlite",
        common::Backend::Postgres => "postgres",
    };
    let migration = std::fs::read_to_string(format!(
        "{}/migrations/{folder}/0017_public_limits.sql",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let start = migration.find("UPDATE api_keys").unwrap();
    let update = &migration[start..start + migration[start..].find(';').unwrap()];
    sqlx::query(update).execute(pool).await.unwrap();
    let keys = calbridge::server::platform::db::api_keys::list(pool, &demo)
        .await
        .unwrap();
    for (n, (old, new)) in cases.iter().enumerate() {
        let key = keys.iter().find(|k| k.name == format!("old {n}")).unwrap();
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        assert_eq!(scopes.join(" "), *new, "from {old}");
    }
    app.stop().await;
}

on_both_backends!(
    keys_from_before_the_scope_split_keep_what_they_could_do,
    hosts_and_availability_read_in_the_callers_zone,
    a_booking_over_the_api,
    keys_act_in_their_tenant_and_scope_only,
    an_admin_creates_a_key_once_and_revokes_it,
    a_hundred_api_requests_for_one_slot_make_one_booking
);

/// The operator's command prints only the key, which then works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_creates_a_key_on_the_command_line() {
    let app = start_app!(common::Backend::Sqlite);
    seed_demo(&app).await;
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_calbridge"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app.database_url)
            .env("CALBRIDGE_DATA_DIR", app.dir.path())
            .env("CALBRIDGE_DEMO", "0")
            .output()
            .unwrap()
    };
    let out = cli(&[
        "api-key",
        "create",
        "--email",
        "Admin@Demo.test",
        "--name",
        "Ops agent",
        "--scopes",
        "availability:read,bookings:write",
        "--rate-limit",
        "7",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.trim_end_matches('\n');
    assert!(
        !key.contains('\n') && key.starts_with("cbk_"),
        "only the key: {stdout:?}"
    );
    let resp = api(key).get(app.url("/api/v1/hosts")).send().await.unwrap();
    assert_eq!(resp.headers()["ratelimit-limit"], "7");
    let (status, hosts) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hosts["data"][0]["slug"], "alice");

    for (args, says) in [
        (
            vec![
                "api-key",
                "create",
                "--email",
                "alice@demo.test",
                "--name",
                "x",
            ],
            "no admin",
        ),
        (
            vec![
                "api-key",
                "create",
                "--email",
                "admin@demo.test",
                "--name",
                "x",
                "--scopes",
                "calendar:delete",
            ],
            "unknown scope",
        ),
    ] {
        let out = cli(&args);
        assert!(!out.status.success());
        assert!(out.stdout.is_empty());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    app.stop().await;
}
