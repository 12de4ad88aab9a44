//! Exporting many appointments under the provider's rate limit: a sandbox
//! Google account limited to `--rate-limit` calls a minute is connected,
//! `--requests` appointments are created over the API with `--concurrency`
//! in flight, and the run is timed until every one is synced to the
//! calendar; the Google calls calbridge made and the 429s it met are read
//! off its `/metrics`.

use super::booking::{api_key, mirror_ready};
use super::{connect, Args, Failure, Session};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The Google calls calbridge has made so far and how many were answered
/// 429 (`provider_requests_total` by status).
async fn google_calls(s: &Session) -> Result<(f64, f64), Failure> {
    let text = s.get(&format!("{}/metrics", s.base)).await?.text().await?;
    let mut all = 0.0;
    let mut limited = 0.0;
    for line in text
        .lines()
        .filter(|l| l.starts_with("provider_requests_total{") && l.contains("provider=\"google\""))
    {
        let value: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        all += value;
        if line.contains("status=\"429\"") {
            limited += value;
        }
    }
    Ok((all, limited))
}

pub async fn run(s: Arc<Session>, args: &Args, run: &str) -> Result<(), Failure> {
    let account = format!("export-{run}@sandbox.test");
    s.control(
        "accounts",
        json!({"provider": "google", "email": account, "name": "Export Bench"}),
    )
    .await?;
    connect(&s, "google", &account).await?;
    mirror_ready(&s).await?;
    let key = api_key(&s).await?;
    s.control(
        "settings",
        json!({"google_rate_limit_per_minute": args.rate_limit}),
    )
    .await?;
    let (calls_before, limited_before) = google_calls(&s).await?;

    let next = Arc::new(AtomicUsize::new(0));
    let ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let started = Instant::now();
    let today = chrono::Utc::now().date_naive();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (s, next, ids, key, total, email) = (
            s.clone(),
            next.clone(),
            ids.clone(),
            key.clone(),
            args.requests,
            args.email.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, Failure>(());
                }
                let day = today + chrono::Days::new(1 + (i % 90) as u64);
                let minute = (i / 90) * 20;
                let start = format!("{day}T{:02}:{:02}:00Z", 6 + minute / 60, minute % 60);
                let end = format!(
                    "{day}T{:02}:{:02}:00Z",
                    6 + (minute + 15) / 60,
                    (minute + 15) % 60
                );
                let resp = s
                    .http
                    .post(format!("{}/api/v1/appointments", s.base))
                    .bearer_auth(&key)
                    .json(&json!({"host": email, "title": format!("Export {i}"),
                                  "start": start, "end": end}))
                    .send()
                    .await?;
                if resp.status().as_u16() != 201 {
                    return Err(format!("create {i}: HTTP {}", resp.status()).into());
                }
                let made: Value = resp.json().await?;
                let id = made["id"].as_str().ok_or("no id")?.to_owned();
                ids.lock().unwrap_or_else(|p| p.into_inner()).push(id);
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    let created = started.elapsed();
    let mut waiting: Vec<String> =
        std::mem::take(&mut *ids.lock().unwrap_or_else(|p| p.into_inner()));
    let deadline = Instant::now() + Duration::from_secs(600);
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for id in waiting {
            let got: Value = s
                .http
                .get(format!("{}/api/v1/appointments/{id}", s.base))
                .bearer_auth(&key)
                .send()
                .await?
                .json()
                .await?;
            if got["sync"]["state"] != "synced" {
                still.push(id);
            }
        }
        waiting = still;
        if Instant::now() > deadline {
            return Err(format!("{} appointments never synced", waiting.len()).into());
        }
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let all_synced = started.elapsed();
    let (calls_after, limited_after) = google_calls(&s).await?;
    s.control("settings", json!({"google_rate_limit_per_minute": 0}))
        .await?;
    println!(
        "export: {} appointments created in {:.1} s, all synced to Google after {:.1} s ({:.1}/s); \
         Google calls {:.0}, answered 429 {:.0} (limit {}/min, concurrency {})",
        args.requests,
        created.as_secs_f64(),
        all_synced.as_secs_f64(),
        args.requests as f64 / all_synced.as_secs_f64(),
        calls_after - calls_before,
        limited_after - limited_before,
        args.rate_limit,
        args.concurrency
    );
    Ok(())
}
