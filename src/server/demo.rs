//! A demo that is alive on first start: on a fresh dev instance with the
//! built-in sandbox, Alice connects her sandbox Calendly and Google
//! accounts through the same OAuth flow a person clicks through (log in,
//! Connect, the sandbox's consent page, the callback), and a few meetings
//! are booked later this week in those accounts; the webhooks and syncs bring
//! them to her meetings page like any other. Acts over HTTP against the
//! running server, as a browser would, so nothing here is a shortcut.

use chrono::{Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Berlin;
use reqwest::{header, redirect, Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration as Wait;

const ALICE: &str = "alice@demo.test";
const ALICE_SANDBOX: &str = "alice@sandbox.test";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the server did not answer: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Step(String),
}

fn step(what: &str, status: StatusCode) -> DemoError {
    DemoError::Step(format!("{what}: unexpected {status}"))
}

fn location(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get(header::LOCATION)?
        .to_str()
        .ok()
        .map(str::to_owned)
}

/// Connects Alice's sandbox accounts and books this week's meetings, once
/// the server at `base` (its public URL) answers. `password` is the demo
/// accounts' password.
pub async fn bring_to_life(base: &str, password: &str) -> Result<(), DemoError> {
    let base = base.trim_end_matches('/');
    // A browser: cookies kept, redirects looked at one by one, our Origin
    // on every form post.
    let browser = Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .default_headers(header::HeaderMap::from_iter([(
            header::ORIGIN,
            header::HeaderValue::from_str(base).map_err(|e| DemoError::Step(e.to_string()))?,
        )]))
        .timeout(Wait::from_secs(30))
        .build()?;
    log_in(&browser, base, password).await?;
    for provider in ["calendly", "google"] {
        connect(&browser, base, provider).await?;
    }
    set_up(&browser, base).await?;
    book_this_week(&browser, base).await?;
    tracing::info!("demo: Alice's Calendly and Google are connected and this week has meetings");
    Ok(())
}

async fn log_in(browser: &Client, base: &str, password: &str) -> Result<(), DemoError> {
    let mut tries = 0;
    loop {
        let answer = browser
            .post(format!("{base}/auth/login"))
            .form(&[("email", ALICE), ("password", password)])
            .send()
            .await;
        match answer {
            Ok(r) if r.status() == StatusCode::SEE_OTHER => return Ok(()),
            Ok(r) => return Err(step("logging in as Alice", r.status())),
            // Not listening yet.
            Err(_) if tries < 100 => {
                tries += 1;
                tokio::time::sleep(Wait::from_millis(100)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Connect → the sandbox's consent page, allowed as Alice's sandbox
/// account → the callback.
async fn connect(browser: &Client, base: &str, provider: &str) -> Result<(), DemoError> {
    let start = browser
        .get(format!("{base}/oauth/{provider}/start"))
        .send()
        .await?;
    let authorize = location(&start).ok_or_else(|| step("starting OAuth", start.status()))?;
    let mut consent = url::Url::parse(&authorize).map_err(|e| DemoError::Step(e.to_string()))?;
    let mut form: Vec<(String, String)> = consent.query_pairs().into_owned().collect();
    form.push(("account".into(), ALICE_SANDBOX.into()));
    form.push(("decision".into(), "allow".into()));
    consent.set_query(None);
    let decided = browser.post(consent).form(&form).send().await?;
    let callback = location(&decided).ok_or_else(|| step("consenting", decided.status()))?;
    let done = browser.get(callback).send().await?;
    if !(done.status().is_success() || done.status().is_redirection()) {
        return Err(step("the OAuth callback", done.status()));
    }
    Ok(())
}

/// Waits until both connections finished setting up (subscribed, first
/// sync done), so the bookings arrive as webhooks and pushes.
async fn set_up(browser: &Client, base: &str) -> Result<(), DemoError> {
    for _ in 0..200 {
        let connections: Vec<Value> = browser
            .get(format!("{base}/api/connections"))
            .send()
            .await?
            .json()
            .await?;
        if connections.len() == 2 && connections.iter().all(|c| !c["last_sync_at"].is_null()) {
            return Ok(());
        }
        tokio::time::sleep(Wait::from_millis(100)).await;
    }
    Err(DemoError::Step(
        "Alice's connections did not finish setting up in 20 s".into(),
    ))
}

/// Two days for the demo's meetings, in this week (Monday to Sunday, in
/// Alice's zone) and after today, so they show both under Upcoming and in
/// the week view: the next two weekdays, else a weekend day; when only one
/// day is left, both are that day. On a Sunday nothing of this week is
/// left, so next Monday and Tuesday.
fn demo_days(today: chrono::NaiveDate) -> [chrono::NaiveDate; 2] {
    let left = 6 - i64::from(today.weekday().num_days_from_monday());
    let mut days: Vec<_> = (1..=left).map(|d| today + Duration::days(d)).collect();
    days.sort_by_key(|d| matches!(d.weekday(), Weekday::Sat | Weekday::Sun));
    match days.as_slice() {
        [] => [today + Duration::days(1), today + Duration::days(2)],
        [only] => [*only, *only],
        [first, second, ..] => {
            let mut two = [*first, *second];
            two.sort();
            two
        }
    }
}

fn at(day: chrono::NaiveDate, hour: u32, minutes: i64) -> (String, String) {
    let start = Berlin
        .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default()))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    let end = start + Duration::minutes(minutes);
    (start.to_rfc3339(), end.to_rfc3339())
}

/// A call of the sandbox's control API, as its panel makes them.
async fn control(browser: &Client, base: &str, path: &str, body: Value) -> Result<(), DemoError> {
    let r = browser
        .post(format!("{base}/sandbox/_control/{path}"))
        .json(&body)
        .send()
        .await?;
    if r.status().is_success() {
        Ok(())
    } else {
        Err(step(
            &format!("booking in the sandbox ({path})"),
            r.status(),
        ))
    }
}

async fn book_this_week(browser: &Client, base: &str) -> Result<(), DemoError> {
    let today = Utc::now().with_timezone(&Berlin).date_naive();
    let [first, second] = demo_days(today);
    for (day, hour, invitee, email) in [
        (first, 10, "Grace Hopper", "grace@example.com"),
        (second, 14, "Katherine Johnson", "katherine@example.com"),
    ] {
        let (start, end) = at(day, hour, 30);
        control(
            browser,
            base,
            "calendly/bookings",
            json!({"host_email": ALICE_SANDBOX, "invitee_name": invitee, "invitee_email": email,
                   "start_time": start, "end_time": end, "event_name": "Intro call"}),
        )
        .await?;
    }
    let (start, end) = at(first, 15, 60);
    control(
        browser,
        base,
        "google/events",
        json!({"owner_email": ALICE_SANDBOX, "summary": "Design review", "start": start, "end": end,
               "time_zone": "Europe/Berlin", "attendees": ["bob@example.com"]}),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_books_later_this_week() {
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        // Mon 7 Dec → Tue, Wed; Thu 10 → Fri, Sat; Fri 11 → Sat, Sun;
        // Sat 12 → Sun twice; Sun 13 → next Mon, Tue.
        assert_eq!(demo_days(day(7)), [day(8), day(9)]);
        assert_eq!(demo_days(day(9)), [day(10), day(11)]);
        assert_eq!(demo_days(day(10)), [day(11), day(12)]);
        assert_eq!(demo_days(day(11)), [day(12), day(13)]);
        assert_eq!(demo_days(day(12)), [day(13), day(13)]);
        assert_eq!(demo_days(day(13)), [day(14), day(15)]);
    }

    #[test]
    fn times_are_alices_wall_clock() {
        let (start, end) = at(
            chrono::NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(),
            10,
            30,
        );
        assert_eq!(start, "2026-12-08T09:00:00+00:00");
        assert_eq!(end, "2026-12-08T09:30:00+00:00");
    }
}
