//! Calendar sync timings: a sandbox Google calendar holding
//! `--busy-events` events (10,000 for the target) is connected, and the
//! first import is timed — the sync run's own duration from the sync log
//! and the wall time from the OAuth callback to the import's end; then
//! `--requests` single edits in the sandbox are timed from the edit to the
//! `meeting` event on the owner's live stream (the push notification, the
//! incremental sync and the store included).

use super::{connect, live_stream, next_meeting_event, report, Args, Failure, Session};
use chrono::{Duration as Days, Utc};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many control calls seed the calendar at once.
const SEEDERS: usize = 16;

pub async fn run(s: Arc<Session>, args: &Args, run: &str) -> Result<(), Failure> {
    let account = format!("sync-{run}@sandbox.test");
    s.control(
        "accounts",
        json!({"provider": "google", "email": account, "name": "Sync Bench"}),
    )
    .await?;
    let ids = seed(&s, &account, args.busy_events).await?;
    eprintln!("{} events in the sandbox calendar", ids.len());

    let t0 = Instant::now();
    connect(&s, "google", &account).await?;
    let setup = first_import(&s).await?;
    let wall = t0.elapsed();
    println!(
        "initial import: {} events imported; sync run {} ms; callback → import done {:.0} ms",
        setup["counts"]["imported"],
        setup["duration_ms"],
        wall.as_secs_f64() * 1000.0
    );

    let mut stream = live_stream(&s).await?;
    let mut samples = Vec::new();
    for (i, id) in ids.iter().take(args.requests).enumerate() {
        let t0 = Instant::now();
        let resp = s
            .http
            .patch(format!("{}/sandbox/_control/google/events/{id}", s.base))
            .json(&json!({"owner_email": account, "summary": format!("Edited {i}")}))
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(format!("edit {id}: HTTP {}", resp.status()).into());
        }
        next_meeting_event(&mut stream).await?;
        samples.push(t0.elapsed());
    }
    report(
        "incremental (edit in the calendar → stored and live)",
        samples,
    );
    Ok(())
}

/// Creates `count` half-hour events over the next weeks; their ids.
async fn seed(s: &Arc<Session>, account: &str, count: usize) -> Result<Vec<String>, Failure> {
    let next = Arc::new(AtomicUsize::new(0));
    let today = Utc::now().date_naive();
    let mut workers = Vec::new();
    for _ in 0..SEEDERS {
        let (s, next, account) = (s.clone(), next.clone(), account.to_owned());
        workers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, Failure>(ids);
                }
                let day = today + Days::days(1 + (i as i64 % 150));
                let slot = (i / 150) % 40;
                let start = day
                    .and_hms_opt(2 + slot as u32 / 2, 30 * (slot as u32 % 2), 0)
                    .ok_or("bad hour")?;
                let stamp =
                    |t: chrono::NaiveDateTime| format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S"));
                let event: Value = s
                    .control(
                        "google/events",
                        json!({"owner_email": account, "summary": format!("Event {i}"),
                               "start": stamp(start), "end": stamp(start + Days::minutes(30))}),
                    )
                    .await?;
                let id = event["id"].as_str().ok_or("an event without an id")?;
                ids.push(id.to_owned());
            }
        }));
    }
    let mut ids = Vec::new();
    for w in workers {
        ids.extend(w.await??);
    }
    Ok(ids)
}

/// Waits for the connection's first import to end; its sync run.
async fn first_import(s: &Session) -> Result<Value, Failure> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let runs: Value = s
            .get(&format!("{}/api/my_sync_runs", s.base))
            .await?
            .json()
            .await?;
        let done = runs.as_array().into_iter().flatten().find(|r| {
            r["trigger"] == "setup" && r["outcome"] != "running" && r["provider"] == "google"
        });
        if let Some(run) = done {
            if run["outcome"] != "succeeded" {
                return Err(format!("the first import ended {}", run["outcome"]).into());
            }
            return Ok(run.clone());
        }
        if Instant::now() > deadline {
            return Err("the first import did not finish in 5 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
