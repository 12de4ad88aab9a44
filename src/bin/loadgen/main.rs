//! Load generator for calbridge, run against a live server with the
//! sandbox on (see BENCHMARKS.md). `--mode webhooks` (the default):
//!
//! 1. signs up (or logs in) one user and connects N sandbox Calendly
//!    accounts through the real OAuth popup flow, so each connection gets
//!    its own webhook subscription and signing key;
//! 2. fires signed `invitee.created` deliveries at those connections with a
//!    concurrency, an optional rate and a share of duplicate deliveries, and
//!    reports throughput and latency percentiles;
//! 3. optionally probes live latency: a real sandbox booking is delivered
//!    while an SSE client listens as the user, and the time from sending the
//!    webhook to the `meeting` event (detail fetch included) is measured.
//!
//! `--mode availability` and `--mode bookings`: the booking API, see
//! [`booking`]; `--mode sync`: a large calendar's first import and single
//! changes, see [`sync`]; `--mode export`: many appointments written to a
//! rate-limited calendar, see [`export`]; `--mode overview`: the admin
//! overview's reads, timed (fill the database first, see BENCHMARKS.md).

mod booking;
mod export;
mod sync;

use calbridge::server::providers::calendly::webhook as signature;
use clap::Parser;
use rand::Rng;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// Signed Calendly deliveries at the webhook endpoints.
    Webhooks,
    /// `GET /api/v1/availability` against a host with a trusted mirror.
    Availability,
    /// Bookings one at a time, each answered with its Meet link.
    Bookings,
    /// A Google calendar of `--busy-events` events imported, then
    /// `--requests` single edits followed to the live stream.
    Sync,
    /// `--requests` appointments exported to a Google calendar limited to
    /// `--rate-limit` calls a minute.
    Export,
    /// `--requests` reads of the admin overview (`/api/overview` for 24 h
    /// and 7 d, and the `/admin` page) one after another, timed.
    Overview,
}

#[derive(Parser)]
#[command(about = "Load generator for calbridge (sandbox mode)")]
struct Args {
    #[arg(long, value_enum, default_value = "webhooks")]
    mode: Mode,
    /// The running calbridge server (sandbox enabled).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    base: String,
    /// Calendly connections to create and spread deliveries over.
    #[arg(long, default_value_t = 20)]
    connections: usize,
    /// Deliveries (or availability questions) to send.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Busy events in the host's calendar (availability, bookings).
    #[arg(long, default_value_t = 300)]
    busy_events: usize,
    /// Bookings to make and time (bookings).
    #[arg(long, default_value_t = 40)]
    bookings: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Target requests per second (default: as fast as the server answers).
    #[arg(long)]
    rate: Option<f64>,
    /// Share of deliveries that repeat an earlier one (0.0–1.0).
    #[arg(long, default_value_t = 0.1)]
    duplicates: f64,
    /// The sandbox Google account's calls a minute (export).
    #[arg(long, default_value_t = 1200)]
    rate_limit: u32,
    /// Live-latency probes to run after the load (0 = none).
    #[arg(long, default_value_t = 0)]
    live_probes: usize,
    #[arg(long, default_value = "loadgen@bench.test")]
    email: String,
    #[arg(long, default_value = "loadgen-password-123")]
    password: String,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// A browser-like session: cookies by hand, our Origin on every request.
struct Session {
    http: reqwest::Client,
    base: String,
    cookies: Mutex<Vec<(String, String)>>,
}

impl Session {
    fn cookie_header(&self) -> String {
        let cookies = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
        cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&self, resp: &reqwest::Response) {
        let mut cookies = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
        for value in resp.headers().get_all(SET_COOKIE) {
            let Some((pair, _)) = value.to_str().unwrap_or("").split_once(';') else {
                continue;
            };
            if let Some((name, val)) = pair.split_once('=') {
                cookies.retain(|(n, _)| n != name);
                cookies.push((name.to_owned(), val.to_owned()));
            }
        }
    }

    async fn get(&self, url: &str) -> Result<reqwest::Response, Failure> {
        let resp = self
            .http
            .get(url)
            .header(COOKIE, self.cookie_header())
            .send()
            .await?;
        self.keep_cookies(&resp);
        Ok(resp)
    }

    async fn post_form(
        &self,
        url: &str,
        form: &[(String, String)],
    ) -> Result<reqwest::Response, Failure> {
        let resp = self
            .http
            .post(url)
            .header(COOKIE, self.cookie_header())
            .header(ORIGIN, &self.base)
            .form(form)
            .send()
            .await?;
        self.keep_cookies(&resp);
        Ok(resp)
    }

    async fn control(&self, path: &str, body: Value) -> Result<Value, Failure> {
        let resp = self
            .http
            .post(format!("{}/sandbox/_control/{path}", self.base))
            .json(&body)
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(format!("sandbox {path}: HTTP {}", resp.status()).into());
        }
        Ok(resp.json().await.unwrap_or(Value::Null))
    }
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn log_in(s: &Session, args: &Args) -> Result<(), Failure> {
    let signup = pairs(&[
        ("tenant_name", "Load test"),
        ("name", "Load Generator"),
        ("email", &args.email),
        ("password", &args.password),
        ("time_zone", "UTC"),
    ]);
    let resp = s
        .post_form(&format!("{}/auth/signup", s.base), &signup)
        .await?;
    if location(&resp).starts_with("/meetings") {
        return Ok(());
    }
    let login = pairs(&[("email", &args.email), ("password", &args.password)]);
    let resp = s
        .post_form(&format!("{}/auth/login", s.base), &login)
        .await?;
    if location(&resp).starts_with("/meetings") {
        Ok(())
    } else {
        Err("could not sign up or log in (is this a fresh data dir?)".into())
    }
}

/// Start → consent as `account` → callback, as a browser would.
async fn connect(s: &Session, provider: &str, account: &str) -> Result<(), Failure> {
    let start = s.get(&format!("{}/oauth/{provider}/start", s.base)).await?;
    if !start.status().is_redirection() {
        return Err(format!("connect start: HTTP {} (not logged in?)", start.status()).into());
    }
    let authorize = url::Url::parse(&location(&start))?;
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("account".into(), account.into()));
    form.push(("decision".into(), "allow".into()));
    let mut endpoint = authorize.clone();
    endpoint.set_query(None);
    let decided = s.post_form(endpoint.as_str(), &form).await?;
    if !decided.status().is_redirection() {
        let status = decided.status();
        let text = decided.text().await.unwrap_or_default();
        return Err(format!("consent for {account}: HTTP {status}: {text}").into());
    }
    let callback = s.get(&location(&decided)).await?;
    if !callback.status().is_success() {
        return Err(format!("callback for {account}: HTTP {}", callback.status()).into());
    }
    Ok(())
}

struct Hook {
    url: String,
    key: String,
    created_by: String,
}

async fn hooks(s: &Session, wanted: usize) -> Result<Vec<Hook>, Failure> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list: Value = s
            .http
            .get(format!(
                "{}/sandbox/_control/calendly/subscriptions",
                s.base
            ))
            .send()
            .await?
            .json()
            .await?;
        let found: Vec<Hook> = list["collection"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|h| h["state"] == "active")
            .map(|h| Hook {
                url: h["callback_url"].as_str().unwrap_or_default().to_owned(),
                key: h["signing_key"].as_str().unwrap_or_default().to_owned(),
                created_by: h["created_by"].as_str().unwrap_or_default().to_owned(),
            })
            .collect();
        if found.len() >= wanted {
            return Ok(found);
        }
        if Instant::now() > deadline {
            return Err(format!("only {} of {wanted} subscriptions appeared", found.len()).into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A realistic `invitee.created` delivery for a made-up booking.
fn synthetic_body(sandbox: &str, created_by: &str) -> String {
    let (event, invitee) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let event_uri = format!("{sandbox}/calendly/scheduled_events/{event}");
    json!({
        "event": "invitee.created",
        "created_at": chrono::Utc::now().to_rfc3339(),
        "created_by": created_by,
        "payload": {
            "uri": format!("{event_uri}/invitees/{invitee}"),
            "email": format!("guest-{invitee}@example.com"),
            "name": "Load Guest",
            "status": "active",
            "timezone": "Europe/Berlin",
            "event": event_uri,
            "rescheduled": false,
            "old_invitee": null,
            "new_invitee": null,
            "questions_and_answers": [],
            "scheduled_event": {
                "uri": event_uri,
                "name": "Intro call",
                "status": "active",
                "start_time": "2026-12-01T10:00:00.000000Z",
                "end_time": "2026-12-01T10:30:00.000000Z",
                "location": {"type": "google_conference", "join_url": "https://meet.google.com/abc-defg-hij"}
            },
            "cancel_url": "https://calendly.com/cancellations/x",
            "reschedule_url": "https://calendly.com/reschedulings/x"
        }
    })
    .to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label}: n={} p50={:.2} ms p90={:.2} ms p99={:.2} ms p99.9={:.2} ms max={:.2} ms",
        samples.len(),
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.90)),
        ms(percentile(&samples, 0.99)),
        ms(percentile(&samples, 0.999)),
        ms(samples.last().copied().unwrap_or_default()),
    );
}

/// What a load run saw, shared by its workers: each answer's status (0:
/// no answer) and latency.
#[derive(Default)]
struct Tally {
    statuses: Mutex<std::collections::BTreeMap<u16, usize>>,
    latencies: Mutex<Vec<Duration>>,
}

impl Tally {
    fn record(&self, status: u16, elapsed: Duration) {
        self.latencies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(elapsed);
        *self
            .statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(status)
            .or_default() += 1;
    }

    /// Prints the statuses and the latency percentiles.
    fn print(&self) {
        println!(
            "statuses: {:?}",
            self.statuses.lock().unwrap_or_else(|p| p.into_inner())
        );
        let samples =
            std::mem::take(&mut *self.latencies.lock().unwrap_or_else(|p| p.into_inner()));
        report("latency", samples);
    }
}

async fn load(s: Arc<Session>, args: &Args, hooks: Arc<Vec<Hook>>) {
    let sandbox = format!("{}/sandbox", s.base);
    let next = Arc::new(AtomicUsize::new(0));
    let sent: Arc<Mutex<Vec<(usize, String, String)>>> = Arc::default();
    let tally: Arc<Tally> = Arc::default();
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (s, hooks, next, sent, tally) = (
            s.clone(),
            hooks.clone(),
            next.clone(),
            sent.clone(),
            tally.clone(),
        );
        let (total, rate, dup, sandbox) =
            (args.requests, args.rate, args.duplicates, sandbox.clone());
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
                let repeat = {
                    let sent = sent.lock().unwrap_or_else(|p| p.into_inner());
                    (!sent.is_empty() && rand::thread_rng().gen_bool(dup))
                        .then(|| sent[rand::thread_rng().gen_range(0..sent.len())].clone())
                };
                let (h, body, header) = repeat.unwrap_or_else(|| {
                    let h = i % hooks.len();
                    let body = synthetic_body(&sandbox, &hooks[h].created_by);
                    let header = signature::sign(
                        hooks[h].key.as_bytes(),
                        chrono::Utc::now().timestamp(),
                        body.as_bytes(),
                    );
                    let mut sent = sent.lock().unwrap_or_else(|p| p.into_inner());
                    if sent.len() < 10_000 {
                        sent.push((h, body.clone(), header.clone()));
                    }
                    (h, body, header)
                });
                let t0 = Instant::now();
                let status = s
                    .http
                    .post(&hooks[h].url)
                    .header("content-type", "application/json")
                    .header("Calendly-Webhook-Signature", header)
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                tally.record(status, t0.elapsed());
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed();
    println!(
        "ingest: {} requests in {:.2} s = {:.0} req/s (concurrency {}, target rate {}, duplicates {:.0}%)",
        args.requests,
        elapsed.as_secs_f64(),
        args.requests as f64 / elapsed.as_secs_f64(),
        args.concurrency,
        args.rate.map_or("unlimited".to_owned(), |r| format!("{r:.0}/s")),
        args.duplicates * 100.0
    );
    tally.print();
}

/// The session's `/api/live` stream, past its opening `hello`.
async fn live_stream(s: &Session) -> Result<reqwest::Response, Failure> {
    let mut stream = s
        .http
        .get(format!("{}/api/live", s.base))
        .header(COOKIE, s.cookie_header())
        .send()
        .await?;
    stream.chunk().await?;
    Ok(stream)
}

/// Reads the live stream up to its next `meeting` event (10 s at most).
async fn next_meeting_event(stream: &mut reqwest::Response) -> Result<(), Failure> {
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .map_err(|_| "no live event within 10 s")??
            .ok_or("the live stream ended")?;
        if String::from_utf8_lossy(&chunk).contains("event: meeting") {
            return Ok(());
        }
    }
}

/// Delivers real bookings one at a time while listening on `/api/live`.
async fn live_probes(s: &Session, args: &Args, hooks: &[Hook], host: &str) -> Result<(), Failure> {
    let mut stream = live_stream(s).await?;
    let mut samples = Vec::new();
    for i in 0..args.live_probes {
        let booking = s
            .control(
                "calendly/bookings",
                json!({
                    "host_email": host,
                    "invitee_name": format!("Probe {i}"),
                    "invitee_email": format!("probe{i}@example.com"),
                    "start_time": format!("2026-12-{:02}T{:02}:00:00Z", 1 + i % 28, 8 + i % 10),
                    "end_time": format!("2026-12-{:02}T{:02}:30:00Z", 1 + i % 28, 8 + i % 10),
                    "event_name": "Live probe",
                }),
            )
            .await?;
        // The host's connection is the one whose subscription it created.
        let host_uri = &booking["event"]["event_memberships"][0]["user"];
        let hook = hooks
            .iter()
            .find(|h| *host_uri == h.created_by.as_str())
            .ok_or("no subscription for the probe's host")?;
        let body = json!({
            "event": "invitee.created",
            "created_at": chrono::Utc::now().to_rfc3339(),
            "created_by": hook.created_by,
            "payload": booking["invitee"],
        })
        .to_string();
        let header = signature::sign(
            hook.key.as_bytes(),
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        );
        let t0 = Instant::now();
        let resp = s
            .http
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("Calendly-Webhook-Signature", header)
            .body(body)
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(format!("probe delivery: HTTP {}", resp.status()).into());
        }
        next_meeting_event(&mut stream).await?;
        samples.push(t0.elapsed());
    }
    report("live (webhook sent → SSE event)", samples);
    Ok(())
}

/// Times `requests` reads of each of the overview's ways in.
async fn overview(s: &Session, requests: usize) -> Result<(), Failure> {
    for path in [
        "/api/overview?range=24h",
        "/api/overview?range=7d",
        "/admin",
        "/admin?range=7d",
    ] {
        let url = format!("{}{path}", s.base);
        let mut samples = Vec::with_capacity(requests);
        for _ in 0..requests.max(1) {
            let t0 = Instant::now();
            let resp = s.get(&url).await?;
            let status = resp.status();
            let body = resp.bytes().await?;
            if !status.is_success() {
                return Err(format!("{path}: HTTP {status}").into());
            }
            samples.push(t0.elapsed());
            if samples.len() == 1 {
                eprintln!("{path}: {} bytes", body.len());
            }
        }
        report(path, samples);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args = Args::parse();
    let base = args.base.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(args.concurrency.max(1))
        .timeout(Duration::from_secs(30))
        .build()?;
    let session = Arc::new(Session {
        http,
        base: base.clone(),
        cookies: Mutex::default(),
    });
    log_in(&session, &args).await?;
    let run = uuid::Uuid::now_v7().simple().to_string();
    match args.mode {
        Mode::Sync => return sync::run(session, &args, &run[24..]).await,
        Mode::Export => return export::run(session, &args, &run[24..]).await,
        Mode::Overview => return overview(&session, args.requests).await,
        _ => {}
    }
    if args.mode != Mode::Webhooks {
        let bench = booking::set_up(&session, &args, &run[24..]).await?;
        if args.mode == Mode::Availability {
            booking::availability(&session, &args, &bench).await;
        } else {
            booking::bookings(&session, &args, &bench).await?;
        }
        return Ok(());
    }
    let accounts: Vec<String> = (0..args.connections.max(1))
        .map(|i| format!("bench{i}-{}@sandbox.test", &run[..8]))
        .collect();
    for account in &accounts {
        session
            .control(
                "accounts",
                json!({"provider": "calendly", "email": account, "name": "Bench Host", "plan": "paid"}),
            )
            .await?;
        connect(&session, "calendly", account).await?;
    }
    let hooks = Arc::new(hooks(&session, accounts.len()).await?);
    eprintln!(
        "{} connections with webhook subscriptions ready",
        hooks.len()
    );
    // The sandbox's own deliveries would compete with ours.
    session
        .control("faults", json!({"provider": "calendly", "drop_rate": 1.0}))
        .await?;
    if args.requests > 0 {
        load(session.clone(), &args, hooks.clone()).await;
    }
    if args.live_probes > 0 {
        let host = accounts.last().ok_or("no account")?;
        live_probes(&session, &args, &hooks, host).await?;
    }
    session
        .http
        .delete(format!("{base}/sandbox/_control/faults"))
        .send()
        .await?;
    Ok(())
}
