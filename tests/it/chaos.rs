//! Chaos: the calbridge server runs as its own process against a standalone
//! sandbox; while bookings, cancellations and reschedules happen across many
//! Calendly hosts, the sandbox duplicates and reorders deliveries and fails
//! detail fetches with 503 and 429, and the server is `kill -9`ed and
//! restarted several times. At the end every meeting equals the sandbox's
//! truth: nothing lost, nothing duplicated, no job left running.
//!
//! CI-sized by default; `CHAOS_OPERATIONS`, `CHAOS_HOSTS` and `CHAOS_KILLS`
//! make a larger run (see README).

use crate::common;

use calbridge::model::Provider;
use common::process::{connect, database_url, start_signed_up};
use common::sandbox::{start_sandbox, SandboxServer};
use common::*;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the sandbox holds: invitee URI → meeting status.
async fn truth(sandbox: &SandboxServer, hosts: &[String]) -> BTreeMap<String, String> {
    let mut expected = BTreeMap::new();
    for host in hosts {
        let t = sandbox
            .get_json(&format!("/_control/truth?account={host}&provider=calendly"))
            .await;
        for event in t["calendly"]["events"].as_array().unwrap() {
            for invitee in event["invitees"].as_array().unwrap() {
                let status = match (invitee["status"].as_str(), invitee["rescheduled"].as_bool()) {
                    (Some("active"), _) if event["status"] == "active" => "scheduled",
                    (_, Some(true)) => "rescheduled",
                    _ => "canceled",
                };
                expected.insert(
                    invitee["uri"].as_str().unwrap().to_owned(),
                    status.to_owned(),
                );
            }
        }
    }
    expected
}

async fn kill_9_during_a_storm_loses_and_duplicates_nothing(backend: Backend) {
    let _storm = common::process::one_storm_at_a_time().await;
    let operations = setting("CHAOS_OPERATIONS", 240);
    let host_count = setting("CHAOS_HOSTS", 6);
    let kills = setting("CHAOS_KILLS", 3);
    let dir = tempfile::tempdir().unwrap();
    let Some(database_url) = database_url(backend, dir.path()).await else {
        return;
    };
    let sandbox = start_sandbox(7).await;
    let (mut server, client) = start_signed_up(
        dir.path(),
        &database_url,
        &sandbox,
        Provider::Calendly,
        "ada@chaos.test",
    )
    .await;
    let hosts: Vec<String> = (0..host_count)
        .map(|i| format!("host{i}@chaos.test"))
        .collect();
    for host in &hosts {
        sandbox
            .control(
                "/_control/accounts",
                json!({"provider": "calendly", "email": host, "name": host, "plan": "paid"}),
            )
            .await;
        connect(&server, &sandbox, &client, host).await;
    }
    let connections = || async {
        client
            .get(format!("{}/api/connections", server.base()))
            .send()
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !connections()
        .await
        .iter()
        .all(|c| c["subscription"]["active"] == 1 && c["last_sync_at"].is_string())
        || connections().await.len() != hosts.len()
    {
        assert!(
            Instant::now() < deadline,
            "connections did not get their webhooks"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The storm: duplicates, reordering, flaky detail fetches.
    sandbox
        .control("/_control/faults", json!({"provider": "calendly", "duplicate_delivery_rate": 0.3, "reorder_deliveries": true}))
        .await;
    sandbox
        .control("/_control/faults", json!({"provider": "calendly", "endpoint": "scheduled_events", "error_rate": 0.15, "status": 503}))
        .await;
    sandbox
        .control("/_control/faults", json!({"provider": "calendly", "endpoint": "invitees", "error_rate": 0.1, "status": 429}))
        .await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut active: Vec<String> = Vec::new();
    let kill_every = (operations / (kills + 1)).max(1);
    for op in 0..operations {
        if op > 0 && op % kill_every == 0 && op / kill_every <= kills {
            server.kill();
            tokio::time::sleep(Duration::from_millis(rng.gen_range(100..600))).await;
            server.start().await;
        }
        let roll: f64 = rng.gen();
        if active.is_empty() || roll < 0.6 {
            let host = &hosts[rng.gen_range(0..hosts.len())];
            let day = 1 + (op % 28) as u32;
            let hour = 6 + (op / 28) % 14;
            let booking = sandbox
                .control(
                    "/_control/calendly/bookings",
                    json!({
                        "host_email": host,
                        "invitee_name": format!("Guest {op}"),
                        "invitee_email": format!("guest{op}@example.com"),
                        "start_time": common::days_ahead(day, &format!("{hour:02}:00")),
                        "end_time": common::days_ahead(day, &format!("{hour:02}:30")),
                        "event_name": "Chaos call",
                    }),
                )
                .await;
            active.push(booking["invitee"]["uuid"].as_str().unwrap().to_owned());
        } else {
            let invitee = active.swap_remove(rng.gen_range(0..active.len()));
            if roll < 0.8 {
                sandbox
                    .control(
                        &format!("/_control/calendly/bookings/{invitee}/cancel"),
                        json!({"reason": "chaos"}),
                    )
                    .await;
            } else {
                let day = 1 + ((op + 7) % 28) as u32;
                let moved = sandbox
                    .control(
                        &format!("/_control/calendly/bookings/{invitee}/reschedule"),
                        json!({"start_time": common::days_ahead(day, "20:00"), "end_time": common::days_ahead(day, "20:30")}),
                    )
                    .await;
                if let Some(new) = moved["invitee"]["uuid"].as_str() {
                    active.push(new.to_owned());
                }
            }
        }
    }

    // Let the sandbox finish delivering and calbridge finish processing.
    let expected = truth(&sandbox, &hosts).await;
    let db = calbridge::server::platform::db::Db::connect(&database_url)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let pending = sandbox.get_json("/_control/deliveries").await["pending"]
            .as_u64()
            .unwrap_or(0);
        let unfinished: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running') AND kind <> 'scheduler.tick'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT provider_event_id, status FROM meetings")
                .fetch_all(db.pool())
                .await
                .unwrap();
        let got: BTreeMap<String, String> = rows.iter().cloned().collect();
        if pending == 0 && unfinished == 0 && got == expected {
            assert_eq!(rows.len(), expected.len(), "no duplicate meetings");
            break;
        }
        if Instant::now() > deadline {
            let missing: Vec<_> = expected
                .keys()
                .filter(|k| !got.contains_key(*k))
                .take(5)
                .collect();
            let wrong: Vec<_> = expected
                .iter()
                .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
                .take(5)
                .collect();
            panic!(
                "calbridge never matched the sandbox: {} expected, {} stored, pending deliveries {pending}, \
                 unfinished jobs {unfinished}, missing {missing:?}, wrong status {wrong:?}",
                expected.len(),
                got.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let dead: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'dead'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(dead, 0, "no job gave up");
    assert!(
        expected.len() >= operations / 2,
        "the storm really happened"
    );
    db.close().await;
    server.kill();
}

on_both_backends!(kill_9_during_a_storm_loses_and_duplicates_nothing);
