//! Two-way sync chaos: the calbridge process against a standalone sandbox
//! Google calendar, and again against an Outlook mailbox. Appointments are
//! created, changed and deleted over the API while their owner edits and
//! deletes the same events in the calendar; the sandbox fails API calls
//! (the change feeds' too) with 503 and 429, duplicates and reorders its
//! push notifications, and the server is `kill -9`ed and restarted. Once
//! the storm is over and a Sync now has run, every appointment equals its
//! event in the sandbox, except those recorded as conflicts; no event
//! exists twice and none is shown as a second meeting. Both backends.
//!
//! CI-sized by default; `SYNC_CHAOS_OPERATIONS` and `SYNC_CHAOS_KILLS` make
//! a larger run.

use crate::common;

use calbridge::model::Provider;
use common::connect::{instant, stamp};
use common::process::{
    api_key, connect_provider, connection_ready, database_url, start_signed_up, Server,
};
use common::sandbox::{start_sandbox, SandboxServer};
use common::*;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "alice@sandbox.test";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The owner's events by id: (title, start, end, cancelled); a series'
/// master stands for its occurrences and is left out.
async fn calendar_events(
    sandbox: &SandboxServer,
    provider: Provider,
) -> BTreeMap<String, (String, i64, i64, bool)> {
    let events = sandbox.events_of(ACCOUNT, provider).await;
    events
        .iter()
        .filter(|e| e["type"] != "seriesMaster")
        .map(|e| {
            let title = e["summary"].as_str().or(e["subject"].as_str());
            (
                e["id"].as_str().unwrap().to_owned(),
                (
                    title.unwrap_or_default().to_owned(),
                    instant(e["start"].as_str().unwrap()),
                    instant(e["end"].as_str().unwrap()),
                    e["status"] == "cancelled" || e["deleted"] == true || e["isCancelled"] == true,
                ),
            )
        })
        .collect()
}

/// An appointment with its mapping: id, title, start, end, status,
/// external id, sync state.
type AppointmentRow = (
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
);

struct Storm<'a> {
    server: &'a Server,
    sandbox: &'a SandboxServer,
    db: calbridge::server::platform::db::Db,
    key: String,
    http: reqwest::Client,
    provider: Provider,
}

impl Storm<'_> {
    /// An API call; its status (a refusal is part of the storm, a 5xx is
    /// not).
    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.server.base()))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let resp = request.send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(Value::Null);
        assert!(status < 500, "{path}: {status} {body}");
        (status, body)
    }

    async fn mapped_event(&self, id: &str) -> Option<String> {
        sqlx::query_scalar("SELECT external_id FROM appointment_events WHERE appointment_id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await
            .unwrap()
    }

    /// The owner changes the event in their calendar.
    async fn in_calendar(&self, method: reqwest::Method, event: &str, body: Value) {
        let url = self.sandbox.url(&format!(
            "/_control/{}/events/{event}?owner_email={ACCOUNT}",
            self.provider.as_str()
        ));
        let resp = self
            .http
            .request(method, url)
            .json(&body)
            .send()
            .await
            .unwrap();
        // A cancelled event refuses more changes; that is fine here.
        assert!(resp.status().as_u16() < 500, "{}", resp.status());
    }
}

/// An appointment that never settled: id, version, and its link's state,
/// synced version and error.
type StuckAppointment = (String, i64, Option<String>, Option<i64>, Option<String>);

async fn settled(storm: &Storm<'_>) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let pending = storm.sandbox.get_json("/_control/deliveries").await["pending"]
            .as_u64()
            .unwrap_or(0);
        let unfinished: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running') AND kind <> 'scheduler.tick'",
        )
        .fetch_one(storm.db.pool())
        .await
        .unwrap();
        let unsynced: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM appointments a LEFT JOIN appointment_events m ON m.appointment_id = a.id \
             WHERE m.appointment_id IS NULL OR m.state NOT IN ('synced', 'conflict') \
             OR (m.state = 'synced' AND a.version > m.synced_version)",
        )
        .fetch_one(storm.db.pool())
        .await
        .unwrap();
        if pending == 0 && unfinished == 0 && unsynced == 0 {
            return;
        }
        if Instant::now() >= deadline {
            let stuck: Vec<StuckAppointment> = sqlx::query_as(
                "SELECT a.id, a.version, m.state, m.synced_version, m.error FROM appointments a \
                 LEFT JOIN appointment_events m ON m.appointment_id = a.id \
                 WHERE m.appointment_id IS NULL OR m.state NOT IN ('synced', 'conflict') \
                 OR (m.state = 'synced' AND a.version > m.synced_version)",
            )
            .fetch_all(storm.db.pool())
            .await
            .unwrap();
            let dead: Vec<(String, Option<String>)> =
                sqlx::query_as("SELECT payload, last_error FROM jobs WHERE status = 'dead'")
                    .fetch_all(storm.db.pool())
                    .await
                    .unwrap();
            panic!(
                "never settled: {pending} deliveries pending, {unfinished} jobs unfinished, \
                 {unsynced} appointments unsynced {stuck:?}; dead jobs {dead:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn appointments_equal_their_events_through_a_storm(backend: Backend, provider: Provider) {
    let _storm = common::process::one_storm_at_a_time().await;
    let operations = setting("SYNC_CHAOS_OPERATIONS", 80);
    let kills = setting("SYNC_CHAOS_KILLS", 2);
    let dir = tempfile::tempdir().unwrap();
    let Some(database_url) = database_url(backend, dir.path()).await else {
        return;
    };
    let sandbox = start_sandbox(23).await;
    sandbox
        .control(
            "/_control/accounts",
            json!({"provider": provider.as_str(), "email": ACCOUNT, "name": "Alice"}),
        )
        .await;
    let (mut server, client) = start_signed_up(
        dir.path(),
        &database_url,
        &sandbox,
        provider,
        "ada@chaos.test",
    )
    .await;
    connect_provider(&server, &sandbox, &client, provider, ACCOUNT).await;
    let connection = connection_ready(&server, &client).await;
    let key = api_key(&database_url, dir.path(), "ada@chaos.test");
    let db = calbridge::server::platform::db::Db::connect(&database_url)
        .await
        .unwrap();

    // The provider fails one call in eight (503, and 429 on events), and
    // duplicates and reorders its push notifications.
    let name = provider.as_str();
    for rule in [
        json!({"provider": name, "error_rate": 0.12, "status": 503,
               "duplicate_delivery_rate": 0.3, "reorder_deliveries": true}),
        json!({"provider": name, "endpoint": "/events", "error_rate": 0.12, "status": 429}),
    ] {
        sandbox.control("/_control/faults", rule).await;
    }

    let mut rng = rand::rngs::StdRng::seed_from_u64(4242);
    let day = 86_400_000_i64;
    let today = chrono::Utc::now().timestamp_millis() / day * day;
    let mut ids: Vec<String> = Vec::new();
    let kill_every = operations / (kills + 1);
    for op in 0..operations {
        if op > 0 && op % kill_every == 0 && op / kill_every <= kills {
            server.kill();
            server.start().await;
        }
        let storm = Storm {
            server: &server,
            sandbox: &sandbox,
            db: db.clone(),
            key: key.clone(),
            http: reqwest::Client::new(),
            provider,
        };
        let start = today + rng.gen_range(2..20) * day + rng.gen_range(16..36) * 1_800_000;
        let roll: u32 = rng.gen_range(0..100);
        let pick = (!ids.is_empty()).then(|| ids[rng.gen_range(0..ids.len())].clone());
        match (roll, pick) {
            (0..=29, _) | (_, None) => {
                let (status, made) = storm
                    .api(
                        reqwest::Method::POST,
                        "/api/v1/appointments",
                        Some(json!({"host": "ada@chaos.test", "title": format!("A{op}"),
                                    "start": stamp(start), "end": stamp(start + 1_800_000)})),
                    )
                    .await;
                assert_eq!(status, 201, "{made}");
                ids.push(made["id"].as_str().unwrap().to_owned());
            }
            (30..=54, Some(id)) => {
                let body = if rng.gen_bool(0.5) {
                    json!({"title": format!("A{op} (calbridge)")})
                } else {
                    json!({"start": stamp(start), "end": stamp(start + 3_600_000)})
                };
                storm
                    .api(
                        reqwest::Method::PATCH,
                        &format!("/api/v1/appointments/{id}"),
                        Some(body),
                    )
                    .await;
            }
            (55..=64, Some(id)) => {
                storm
                    .api(
                        reqwest::Method::DELETE,
                        &format!("/api/v1/appointments/{id}"),
                        None,
                    )
                    .await;
            }
            (65..=89, Some(id)) => {
                if let Some(event) = storm.mapped_event(&id).await {
                    let body = if rng.gen_bool(0.5) {
                        json!({"owner_email": ACCOUNT, "summary": format!("A{op} ({name})")})
                    } else {
                        json!({"owner_email": ACCOUNT, "start": stamp(start),
                               "end": stamp(start + 2_700_000)})
                    };
                    storm
                        .in_calendar(reqwest::Method::PATCH, &event, body)
                        .await;
                }
            }
            (_, Some(id)) => {
                if let Some(event) = storm.mapped_event(&id).await {
                    storm
                        .in_calendar(reqwest::Method::DELETE, &event, json!({}))
                        .await;
                }
            }
        }
    }

    // The storm is over: the provider answers again, a Sync now picks up
    // whatever a notification lost while the server was down.
    let injected = sandbox.get_json("/_control/faults").await["injected_errors"]
        .as_u64()
        .unwrap_or(0);
    assert!(injected > 0, "the provider really failed calls");
    client
        .delete(sandbox.url("/_control/faults"))
        .send()
        .await
        .unwrap();
    let storm = Storm {
        server: &server,
        sandbox: &sandbox,
        db: db.clone(),
        key,
        http: reqwest::Client::new(),
        provider,
    };
    settled(&storm).await;
    let synced = client
        .post(format!(
            "{}/settings/calendars/{connection}/sync",
            server.base()
        ))
        .send()
        .await
        .unwrap();
    assert!(
        location(&synced).contains("notice=sync_queued"),
        "{}",
        location(&synced)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    settled(&storm).await;

    let rows: Vec<AppointmentRow> = sqlx::query_as(
        "SELECT a.id, a.title, a.starts_at, a.ends_at, a.status, m.external_id, m.state \
             FROM appointments a LEFT JOIN appointment_events m ON m.appointment_id = a.id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), ids.len());
    let events = calendar_events(&sandbox, provider).await;
    let mut conflicts = 0;
    let mut live_events = BTreeSet::new();
    for (id, title, starts_at, ends_at, status, external_id, state) in &rows {
        let external_id = external_id
            .as_deref()
            .unwrap_or_else(|| panic!("{id} never reached {name}"));
        if state.as_deref() == Some("conflict") {
            conflicts += 1;
            continue;
        }
        assert_eq!(state.as_deref(), Some("synced"), "{id}");
        let event = events.get(external_id);
        if status == "canceled" {
            assert!(
                event.is_none_or(|e| e.3),
                "{id} is canceled but its event is not: {event:?}"
            );
        } else {
            live_events.insert(external_id.to_owned());
            let (summary, start, end, cancelled) = event.expect("its event exists");
            assert_eq!(
                (summary, start, end, cancelled),
                (title, starts_at, ends_at, &false),
                "appointment {id} and its event differ"
            );
        }
    }
    // Nothing exists twice: every live event stands for a live appointment
    // (or one in conflict), and none is also imported as a meeting.
    let stray: Vec<_> = events
        .iter()
        .filter(|(id, e)| !e.3 && !live_events.contains(*id))
        .filter(|(id, _)| {
            !rows
                .iter()
                .any(|r| r.6.as_deref() == Some("conflict") && r.5.as_deref() == Some(id.as_str()))
        })
        .collect();
    assert!(
        stray.is_empty(),
        "events without their appointment: {stray:?}"
    );
    let imported: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meetings")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(imported, 0, "no event calbridge wrote is a second meeting");
    let dead: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'dead'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(dead, 0, "no job gave up");
    let canceled = rows.iter().filter(|r| r.4 == "canceled").count();
    eprintln!(
        "{} appointments ({canceled} canceled, {conflicts} in conflict), {} events, {injected} provider errors injected",
        rows.len(),
        events.len()
    );
    assert!(
        conflicts < rows.len() && canceled > 0,
        "the storm was not all conflicts ({conflicts} of {}) and deleted some ({canceled})",
        rows.len()
    );
    db.close().await;
    server.kill();
}

async fn appointments_equal_their_google_events_through_a_storm(backend: Backend) {
    appointments_equal_their_events_through_a_storm(backend, Provider::Google).await;
}

async fn appointments_equal_their_outlook_events_through_a_storm(backend: Backend) {
    appointments_equal_their_events_through_a_storm(backend, Provider::Microsoft).await;
}

on_both_backends!(
    appointments_equal_their_google_events_through_a_storm,
    appointments_equal_their_outlook_events_through_a_storm,
);
