//! The booking API under load: a host with a pushed, synced sandbox Google
//! calendar full of busy events (so availability reads the trusted mirror,
//! as it does in production between syncs), an API key made on the admin
//! page, then either `GET /api/v1/availability` as fast as it answers or
//! bookings one after another, timed from the request to the answer that
//! carries the Meet link.

use super::{connect, location, pairs, report, Args, Failure, Session, Tally};
use chrono::{Datelike, Duration as Days, Utc, Weekday};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ZONE: &str = "Europe/Berlin";
/// Days ahead the load spreads its questions over.
const DAYS: i64 = 28;

/// What the load needs: the host's public slug and an API key.
pub struct Bench {
    slug: String,
    key: String,
}

/// Signs the session's user up as a host with a Google calendar holding
/// `args.busy_events` busy events, waits until its mirror is trusted, and
/// makes an API key.
pub async fn set_up(s: &Session, args: &Args, run: &str) -> Result<Bench, Failure> {
    let account = format!("host-{run}@sandbox.test");
    s.control(
        "accounts",
        json!({"provider": "google", "email": account, "name": "Bench Host"}),
    )
    .await?;
    let today = Utc::now().date_naive();
    for i in 0..args.busy_events {
        // Spread over the next weeks' working hours in UTC: each takes one
        // half hour, so most days keep some free times.
        let day = today + Days::days(1 + (i as i64 % DAYS));
        let half_hour = (i / DAYS as usize * 7) % 20;
        let start = day.and_hms_opt(7 + half_hour as u32 / 2, 30 * (half_hour as u32 % 2), 0);
        let start = start.ok_or("bad hour")?;
        let stamp = |t: chrono::NaiveDateTime| format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S"));
        s.control(
            "google/events",
            json!({"owner_email": account, "summary": format!("Busy {i}"),
                   "start": stamp(start), "end": stamp(start + Days::minutes(30))}),
        )
        .await?;
    }
    connect(s, "google", &account).await?;
    let slug = format!("bench{run}");
    let weekday = "09:00-17:00";
    let profile = pairs(&[
        ("slug", &slug),
        ("time_zone", ZONE),
        ("mon", weekday),
        ("tue", weekday),
        ("wed", weekday),
        ("thu", weekday),
        ("fri", weekday),
        ("sat", ""),
        ("sun", ""),
        ("overrides", ""),
    ]);
    saved(s, "/settings/booking/profile", &profile).await?;
    let event_type = pairs(&[
        ("slug", "intro"),
        ("name", "Intro call"),
        ("duration", "30"),
        ("location", "google_meet"),
        ("window_days", "60"),
    ]);
    saved(s, "/settings/booking/event-types", &event_type).await?;
    mirror_ready(s).await?;
    let key = api_key(s).await?;
    eprintln!(
        "host /book/{slug} with {} busy events mirrored; API key ready",
        args.busy_events
    );
    Ok(Bench { slug, key })
}

/// Posts a settings form; a success redirects back with a notice.
async fn saved(s: &Session, path: &str, form: &[(String, String)]) -> Result<(), Failure> {
    let resp = s.post_form(&format!("{}{path}", s.base), form).await?;
    let back = location(&resp);
    if back.contains("error") || !resp.status().is_redirection() {
        return Err(format!("{path}: HTTP {} → {back}", resp.status()).into());
    }
    Ok(())
}

/// Waits for the Google connection's push subscription and first import.
pub(super) async fn mirror_ready(s: &Session) -> Result<(), Failure> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let list: Value = s
            .get(&format!("{}/api/connections", s.base))
            .await?
            .json()
            .await?;
        let ready = list.as_array().into_iter().flatten().any(|c| {
            c["provider"] == "google"
                && c["subscription"]["active"].as_u64().unwrap_or(0) > 0
                && c["last_sync_at"].is_string()
        });
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("the Google connection did not finish its first import".into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Creates a key on `/admin/api-keys` and reads it off the page it is
/// shown on, once.
pub(super) async fn api_key(s: &Session) -> Result<String, Failure> {
    let form = pairs(&[
        ("name", "loadgen"),
        ("scope_availability_read", "on"),
        ("scope_bookings_read", "on"),
        ("scope_bookings_write", "on"),
        ("scope_appointments_read", "on"),
        ("scope_appointments_write", "on"),
        // A load generator's key, not an integration's.
        ("rate_limit", "1000000"),
    ]);
    let resp = s
        .post_form(&format!("{}/admin/api-keys", s.base), &form)
        .await?;
    let shown = s
        .get(&format!("{}{}", s.base, location(&resp)))
        .await?
        .text()
        .await?;
    let field = shown
        .split("<input id=\"new-api-key\"")
        .nth(1)
        .ok_or("the new key is not on the page")?;
    let value = field
        .split("value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("the new key has no value")?;
    Ok(value.to_owned())
}

fn dates() -> Vec<String> {
    let today = Utc::now().date_naive();
    (1..=DAYS)
        .map(|d| today + Days::days(d))
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect()
}

/// `GET /api/v1/availability` for one day at a time, spread over the
/// weeks ahead, with the concurrency and rate asked for.
pub async fn availability(s: &Session, args: &Args, bench: &Bench) {
    let dates = Arc::new(dates());
    let next = Arc::new(AtomicUsize::new(0));
    let tally: Arc<Tally> = Arc::default();
    let slots = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (http, dates, next, tally, slots) = (
            s.http.clone(),
            dates.clone(),
            next.clone(),
            tally.clone(),
            slots.clone(),
        );
        let base = format!(
            "{}/api/v1/availability?host={}&event_type=intro&time_zone={ZONE}&start=",
            s.base, bench.slug
        );
        let (key, total, rate) = (bench.key.clone(), args.requests, args.rate);
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                if let Some(rate) = rate {
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let url = format!("{base}{}", dates[i % dates.len()]);
                let t0 = Instant::now();
                let answer = http.get(url).bearer_auth(&key).send().await;
                let status = match answer {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let body: Value = resp.json().await.unwrap_or_default();
                        let n = body["slots"].as_array().map_or(0, Vec::len);
                        slots.fetch_add(n, Ordering::Relaxed);
                        status
                    }
                    Err(_) => 0,
                };
                tally.record(status, t0.elapsed());
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed();
    println!(
        "availability: {} requests in {:.2} s = {:.0} req/s (concurrency {}, target rate {}), {:.1} slots per answer",
        args.requests,
        elapsed.as_secs_f64(),
        args.requests as f64 / elapsed.as_secs_f64(),
        args.concurrency,
        args.rate.map_or("unlimited".to_owned(), |r| format!("{r:.0}/s")),
        slots.load(Ordering::Relaxed) as f64 / args.requests.max(1) as f64,
    );
    tally.print();
}

/// Books `args.bookings` free slots one after another; each answer must
/// carry the Meet link (the event made on the host's calendar, the Meet
/// created and read back).
pub async fn bookings(s: &Session, args: &Args, bench: &Bench) -> Result<(), Failure> {
    let mut samples = Vec::new();
    let mut without_link = 0;
    'days: for date in dates() {
        let free: Value = s
            .http
            .get(format!(
                "{}/api/v1/availability?host={}&event_type=intro&time_zone={ZONE}&start={date}",
                s.base, bench.slug
            ))
            .bearer_auth(&bench.key)
            .send()
            .await?
            .json()
            .await?;
        for slot in free["slots"].as_array().into_iter().flatten() {
            if samples.len() >= args.bookings {
                break 'days;
            }
            let n = samples.len();
            let body = json!({"host": bench.slug, "event_type": "intro", "start": slot["start"],
                "attendee": {"name": format!("Guest {n}"), "email": format!("guest{n}@example.com")}});
            let (status, booked) = loop {
                let t0 = Instant::now();
                let resp = s
                    .http
                    .post(format!("{}/api/v1/bookings", s.base))
                    .bearer_auth(&bench.key)
                    .json(&body)
                    .send()
                    .await?;
                let status = resp.status();
                let booked: Value = resp.json().await?;
                // One host's calendar is read live at most 30 times a
                // minute: wait as told, and time the booking that follows.
                if let Some(secs) = booked["retry_after_secs"]
                    .as_u64()
                    .filter(|_| status == 429)
                {
                    tokio::time::sleep(Duration::from_secs(secs)).await;
                    continue;
                }
                samples.push(t0.elapsed());
                break (status, booked);
            };
            if status.as_u16() != 201 {
                return Err(format!("booking {n}: HTTP {status}: {booked}").into());
            }
            if !booked["meeting_url"].is_string() {
                without_link += 1;
            }
        }
    }
    println!(
        "bookings: {} made, {without_link} answered without the Meet link",
        samples.len()
    );
    report("booking → answer with the Meet link", samples);
    Ok(())
}
