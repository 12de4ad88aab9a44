//! Google Calendar API v3 emulator (`/google/...`, standing for
//! `https://www.googleapis.com`) and its control routes
//! (`/_control/google/...`).
//!
//! What a real client relies on is kept: `primary` alias, events paging
//! (`nextSyncToken` only on the last page), incremental sync through sync
//! tokens (deleted events come back as `status: "cancelled"`, an unknown or
//! invalidated token is `410 fullSyncRequired`), etags with `If-Match`
//! (`412 conditionNotMet`), idempotent inserts with a client-supplied id
//! (`409 duplicate`), Meet links through `conferenceData.createRequest`,
//! free/busy, and push channels (`events.watch`, `channels.stop`) whose
//! notifications have an empty body and the `X-Goog-*` headers.
//!
//! Sync tokens are a per-calendar change sequence: every insert, update and
//! delete bumps the calendar's counter and stamps the event with it.

use super::delivery::{Outbound, Retry};
use super::{control, oauth, Account, OwnerEvent, Sandbox, World};
use crate::model::Provider;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use rand::Rng;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

/// Channels live at most this long (Google: 7 days for events).
const MAX_CHANNEL_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
const DEFAULT_MAX_RESULTS: usize = 250;
const MAX_MAX_RESULTS: usize = 2500;
const ETAG_BASE: u64 = 3_412_000_000_000_000;
const BASE32HEX: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
/// Page tokens kept before old ones are forgotten.
const MAX_PAGE_TOKENS: usize = 20_000;
/// Event fields stored and returned as given.
const PASSTHROUGH: &[&str] = &[
    "reminders",
    "colorId",
    "visibility",
    "transparency",
    "extendedProperties",
    "source",
    "guestsCanInviteOthers",
    "guestsCanModify",
    "guestsCanSeeOtherGuests",
    "anyoneCanAddSelf",
];

#[derive(Default)]
pub struct State {
    calendars: Vec<Calendar>,
    channels: Vec<Channel>,
    sync_tokens: HashMap<String, SyncToken>,
    page_tokens: HashMap<String, PageState>,
    etag_counter: u64,
}

struct Calendar {
    id: String,
    account_id: String,
    summary: String,
    time_zone: String,
    primary: bool,
    /// Change sequence: bumped by every insert, update and delete.
    seq: u64,
    updated: DateTime<Utc>,
    events: Vec<Event>,
    index: HashMap<String, usize>,
}

#[derive(Clone, Debug)]
struct When {
    json: Value,
    at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
struct Event {
    id: String,
    status: String,
    summary: Option<String>,
    description: Option<String>,
    location: Option<String>,
    start: When,
    end: When,
    attendees: Vec<Value>,
    conference: Option<Value>,
    hangout_link: Option<String>,
    creator: String,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    sequence: i64,
    etag: u64,
    /// The calendar's change sequence when this event last changed.
    changed: u64,
    extra: Map<String, Value>,
}

impl Event {
    fn new(id: String, creator: String, now: DateTime<Utc>) -> Event {
        let placeholder = When {
            json: Value::Null,
            at: now,
        };
        Event {
            id,
            status: "confirmed".into(),
            summary: None,
            description: None,
            location: None,
            start: placeholder.clone(),
            end: placeholder,
            attendees: Vec::new(),
            conference: None,
            hangout_link: None,
            creator,
            created: now,
            updated: now,
            sequence: 0,
            etag: 0,
            changed: 0,
            extra: Map::new(),
        }
    }
}

#[derive(Clone, Debug)]
struct Channel {
    id: String,
    resource_id: String,
    resource_uri: String,
    account_id: String,
    calendar_id: String,
    address: String,
    token: Option<String>,
    expires_at: DateTime<Utc>,
    stopped: bool,
    message_number: u64,
}

struct SyncToken {
    calendar_id: String,
    seq: u64,
    valid: bool,
}

#[derive(Clone)]
struct PageState {
    calendar_id: String,
    ids: Arc<Vec<String>>,
    offset: usize,
    max_results: usize,
    next_sync_seq: u64,
}

// ---------------------------------------------------------------------------
// Contract with the sandbox core
// ---------------------------------------------------------------------------

pub fn on_account_added(world: &mut World, account: &Account) {
    let now = world.now();
    let calendar = |id: String, summary: String, primary: bool| Calendar {
        id,
        account_id: account.id.clone(),
        summary,
        time_zone: account.time_zone.clone(),
        primary,
        seq: 0,
        updated: now,
        events: Vec::new(),
        index: HashMap::new(),
    };
    world
        .google
        .calendars
        .push(calendar(account.email.clone(), account.email.clone(), true));
    world
        .google
        .calendars
        .push(calendar(team_calendar_id(account), "Team".into(), false));
}

pub fn routes() -> Router<Sandbox> {
    const CAL: &str = "/google/calendar/v3/calendars/{calendar_id}";
    Router::new()
        .route("/google/oauth2/v3/userinfo", get(userinfo))
        .route("/google/oauth2/v2/userinfo", get(userinfo))
        .route(
            "/google/calendar/v3/users/me/calendarList",
            get(calendar_list),
        )
        .route(
            "/google/calendar/v3/users/me/calendarList/{calendar_id}",
            get(calendar_list_entry),
        )
        .route(CAL, get(calendar_get))
        .route(
            &format!("{CAL}/events"),
            get(list_events).post(insert_event),
        )
        .route(&format!("{CAL}/events/watch"), post(watch))
        .route(
            &format!("{CAL}/events/{{event_id}}"),
            get(get_event)
                .put(put_event)
                .patch(patch_event)
                .delete(delete_event),
        )
        .route("/google/calendar/v3/freeBusy", post(free_busy))
        .route("/google/calendar/v3/channels/stop", post(stop_channel))
        .route("/_control/google/events", post(control_create))
        .route(
            "/_control/google/events/{event_id}",
            patch(control_patch).delete(control_delete),
        )
        .route(
            "/_control/google/invalidate-sync-tokens",
            post(control_invalidate),
        )
        .route("/_control/google/expire-channels", post(control_expire))
        .route("/_control/google/channels", get(control_channels))
}

pub fn account_extras(world: &World, account: &Account) -> Value {
    let calendars: Vec<Value> = world
        .google
        .calendars
        .iter()
        .filter(|c| c.account_id == account.id)
        .map(|c| json!({ "id": c.id, "summary": c.summary, "primary": c.primary }))
        .collect();
    json!({ "calendar_id": account.email, "calendars": calendars })
}

pub fn truth(world: &World, account: &Account) -> Value {
    let calendars: Vec<Value> = world
        .google
        .calendars
        .iter()
        .filter(|c| c.account_id == account.id)
        .map(|c| {
            let events: Vec<Value> = c
                .events
                .iter()
                .map(|e| {
                    let mut v = json!({
                        "id": e.id,
                        "summary": e.summary,
                        "status": e.status,
                        "start": when_string(&e.start),
                        "end": when_string(&e.end),
                        "etag": etag(e.etag),
                        "updated": ts(e.updated),
                    });
                    if let Some(link) = &e.hangout_link {
                        v["hangoutLink"] = json!(link);
                    }
                    v
                })
                .collect();
            json!({ "id": c.id, "summary": c.summary, "primary": c.primary, "events": events })
        })
        .collect();
    json!({ "calendars": calendars })
}

/// The owner adds an event in Google Calendar's own UI: watch channels on
/// that calendar are notified.
pub fn create_owner_event(sandbox: &Sandbox, event: OwnerEvent) -> Result<Value, Response> {
    let mut guard = sandbox.world();
    let world = &mut *guard;
    let account = world
        .account_by_email(Provider::Google, event.owner_email.trim())
        .cloned()
        .ok_or_else(|| control_not_found("no Google account with that owner_email"))?;
    let ci = calendar_index(
        &world.google,
        &account,
        event.calendar_id.as_deref().unwrap_or("primary"),
    )
    .ok_or_else(|| control_not_found("the owner has no calendar with that calendar_id"))?;
    let start = DateTime::parse_from_rfc3339(event.start.trim())
        .map_err(|_| control::bad_request("start must be an RFC 3339 date-time"))?;
    let end = DateTime::parse_from_rfc3339(event.end.trim())
        .map_err(|_| control::bad_request("end must be an RFC 3339 date-time"))?;
    if end <= start {
        return Err(control::bad_request("end must be after start"));
    }
    if let Some(bad) = event.attendees.iter().find(|a| !a.contains('@')) {
        return Err(control::bad_request(format!(
            "attendee '{bad}' is not an email address"
        )));
    }
    let attendees: Vec<Value> = event
        .attendees
        .iter()
        .map(|a| json!({ "email": a.trim() }))
        .collect();
    let body = json!({
        "summary": event.summary,
        "start": { "dateTime": event.start.trim() },
        "end": { "dateTime": event.end.trim() },
        "attendees": attendees,
    });
    let now = world.now();
    let id = new_event_id(world);
    let mut e = Event::new(id, account.email.clone(), now);
    let tz = world.google.calendars[ci].time_zone.clone();
    apply_fields(&mut e, body.as_object().expect("literal object"), true, &tz)
        .map_err(|(_, m)| control::bad_request(m))?;
    if event.online_meeting {
        let request_id = world.uuid();
        attach_meet(world, &mut e, &request_id);
    }
    let value = store(&mut world.google, ci, e, now);
    let calendar_id = world.google.calendars[ci].id.clone();
    let outbound = notify(world, &calendar_id);
    drop(guard);
    send_all(sandbox, outbound);
    Ok(value)
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// An error in Google's JSON shape with an explicit `reason`.
fn gerr(status: StatusCode, reason: &str, message: &str) -> Response {
    let grpc = match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        410 | 412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        _ => "UNAVAILABLE",
    };
    (
        status,
        Json(json!({ "error": {
            "code": status.as_u16(),
            "message": message,
            "errors": [{ "domain": "global", "reason": reason, "message": message }],
            "status": grpc,
        }})),
    )
        .into_response()
}

fn bad(message: &str) -> Response {
    gerr(StatusCode::BAD_REQUEST, "invalid", message)
}

fn not_found() -> Response {
    gerr(StatusCode::NOT_FOUND, "notFound", "Not Found")
}

fn control_not_found(message: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": message }))).into_response()
}

macro_rules! authenticate {
    ($world:expr, $headers:expr) => {
        match oauth::authenticate(&$world, Provider::Google, &$headers) {
            Ok(account) => account,
            Err(response) => return response,
        }
    };
}

fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn etag(n: u64) -> String {
    format!("\"{}\"", ETAG_BASE + n * 1000)
}

fn rfc1123(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn when_string(w: &When) -> Value {
    w.json
        .get("dateTime")
        .or_else(|| w.json.get("date"))
        .cloned()
        .unwrap_or(Value::Null)
}

fn team_calendar_id(account: &Account) -> String {
    format!(
        "c_{}@group.calendar.google.com",
        account.id.replace('-', "")
    )
}

fn calendar_index(state: &State, account: &Account, id: &str) -> Option<usize> {
    state.calendars.iter().position(|c| {
        c.account_id == account.id
            && if id == "primary" {
                c.primary
            } else {
                c.id.eq_ignore_ascii_case(id)
            }
    })
}

fn random_chars(world: &mut World, alphabet: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| alphabet[world.rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

fn new_event_id(world: &mut World) -> String {
    random_chars(world, BASE32HEX, 26)
}

fn valid_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|b| BASE32HEX.contains(&b))
}

fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("The request body must be a JSON object.".into()),
        Err(e) => Err(format!("Parse Error: {e}")),
    }
}

fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn parse_when(v: &Value, calendar_tz: &str) -> Result<When, String> {
    let obj = v.as_object().ok_or("start and end must be objects")?;
    let tz_name = obj.get("timeZone").and_then(Value::as_str);
    let tz = match tz_name {
        Some(name) => Some(
            name.parse::<chrono_tz::Tz>()
                .map_err(|_| format!("Invalid time zone definition: {name}"))?,
        ),
        None => None,
    };
    let mut json = Map::new();
    let at = if let Some(dt) = obj.get("dateTime").and_then(Value::as_str) {
        let (at, text) = match DateTime::parse_from_rfc3339(dt) {
            Ok(d) => (
                d.with_timezone(&Utc),
                d.to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
            Err(_) => {
                let tz = tz.ok_or("A time zone offset is required unless timeZone is given.")?;
                let naive = NaiveDateTime::parse_from_str(dt, "%Y-%m-%dT%H:%M:%S")
                    .map_err(|_| format!("Invalid dateTime value: {dt}"))?;
                let local = tz
                    .from_local_datetime(&naive)
                    .earliest()
                    .ok_or_else(|| format!("Invalid local time: {dt}"))?
                    .fixed_offset();
                (
                    local.with_timezone(&Utc),
                    local.to_rfc3339_opts(SecondsFormat::Secs, true),
                )
            }
        };
        json.insert("dateTime".into(), json!(text));
        at
    } else if let Some(d) = obj.get("date").and_then(Value::as_str) {
        let date = NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| format!("Invalid date value: {d}"))?;
        let zone = tz
            .or_else(|| calendar_tz.parse::<chrono_tz::Tz>().ok())
            .unwrap_or(chrono_tz::UTC);
        let at = zone
            .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
            .earliest()
            .map(|d| d.with_timezone(&Utc))
            .ok_or_else(|| format!("Invalid date value: {d}"))?;
        json.insert("date".into(), json!(date.format("%Y-%m-%d").to_string()));
        at
    } else {
        return Err("Missing time: start and end need dateTime or date.".into());
    };
    if let Some(name) = tz_name {
        json.insert("timeZone".into(), json!(name));
    }
    Ok(When {
        json: Value::Object(json),
        at,
    })
}

type FieldError = (&'static str, String);

/// Applies an insert (`full`), update (`full`) or patch body to an event.
/// Works on the caller's copy: nothing is stored on error.
fn apply_fields(
    e: &mut Event,
    body: &Map<String, Value>,
    full: bool,
    calendar_tz: &str,
) -> Result<(), FieldError> {
    let invalid = |m: String| ("invalid", m);
    for (key, slot) in [
        ("summary", &mut e.summary),
        ("description", &mut e.description),
        ("location", &mut e.location),
    ] {
        match body.get(key) {
            None if full => *slot = None,
            None => {}
            Some(Value::Null) => *slot = None,
            Some(Value::String(s)) => *slot = Some(s.clone()),
            Some(_) => return Err(invalid(format!("Invalid value for field '{key}'."))),
        }
    }
    for (key, slot) in [("start", &mut e.start), ("end", &mut e.end)] {
        match body.get(key) {
            Some(v) => *slot = parse_when(v, calendar_tz).map_err(invalid)?,
            None if full => return Err(("required", format!("Missing {key} time."))),
            None => {}
        }
    }
    if e.start.json.get("date").is_some() != e.end.json.get("date").is_some() {
        return Err(invalid(
            "start and end must both be dates or both be date-times.".into(),
        ));
    }
    if e.end.at < e.start.at {
        return Err((
            "timeRangeEmpty",
            "The specified time range is empty.".into(),
        ));
    }
    match body.get("attendees") {
        None if full => e.attendees.clear(),
        None => {}
        Some(Value::Null) => e.attendees.clear(),
        Some(Value::Array(list)) => {
            let mut attendees = Vec::with_capacity(list.len());
            for a in list {
                let email = a
                    .get("email")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|m| m.contains('@'))
                    .ok_or_else(|| invalid("Invalid attendee email.".into()))?;
                let mut out = Map::new();
                out.insert("email".into(), json!(email.to_lowercase()));
                if let Some(name) = a.get("displayName").and_then(Value::as_str) {
                    out.insert("displayName".into(), json!(name));
                }
                if let Some(optional) = a.get("optional").and_then(Value::as_bool) {
                    out.insert("optional".into(), json!(optional));
                }
                let status = a
                    .get("responseStatus")
                    .and_then(Value::as_str)
                    .filter(|s| matches!(*s, "needsAction" | "declined" | "tentative" | "accepted"))
                    .unwrap_or("needsAction");
                out.insert("responseStatus".into(), json!(status));
                attendees.push(Value::Object(out));
            }
            e.attendees = attendees;
        }
        Some(_) => return Err(invalid("attendees must be a list.".into())),
    }
    if let Some(v) = body.get("status") {
        match v.as_str() {
            Some(s @ ("confirmed" | "tentative" | "cancelled")) => e.status = s.to_owned(),
            _ => return Err(invalid("Invalid status value.".into())),
        }
    }
    if let Some(v) = body.get("transparency") {
        if !matches!(v.as_str(), Some("opaque" | "transparent")) && !v.is_null() {
            return Err(invalid("Invalid transparency value.".into()));
        }
    }
    for key in PASSTHROUGH {
        match body.get(*key) {
            Some(Value::Null) => {
                e.extra.remove(*key);
            }
            Some(v) => {
                e.extra.insert((*key).to_owned(), v.clone());
            }
            None if full => {
                e.extra.remove(*key);
            }
            None => {}
        }
    }
    Ok(())
}

/// Handles `conferenceData` for `conferenceDataVersion=1` requests.
fn apply_conference(
    world: &mut World,
    e: &mut Event,
    body: &Map<String, Value>,
    version: u8,
) -> Result<(), FieldError> {
    if version < 1 {
        return Ok(());
    }
    match body.get("conferenceData") {
        None => Ok(()),
        Some(Value::Null) => {
            e.conference = None;
            e.hangout_link = None;
            Ok(())
        }
        Some(cd) => {
            let Some(create) = cd.get("createRequest") else {
                return Ok(());
            };
            let kind = create
                .pointer("/conferenceSolutionKey/type")
                .and_then(Value::as_str)
                .unwrap_or("");
            if kind != "hangoutsMeet" {
                return Err(("invalid", "Invalid conference type value.".into()));
            }
            let request_id = create
                .get("requestId")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
                .ok_or(("required", "Missing conference requestId.".into()))?;
            let same_request = e
                .conference
                .as_ref()
                .and_then(|c| c.pointer("/createRequest/requestId"))
                .and_then(Value::as_str)
                == Some(request_id);
            if !same_request {
                attach_meet(world, e, request_id);
            }
            Ok(())
        }
    }
}

fn attach_meet(world: &mut World, e: &mut Event, request_id: &str) {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    let code = format!(
        "{}-{}-{}",
        random_chars(world, LETTERS, 3),
        random_chars(world, LETTERS, 4),
        random_chars(world, LETTERS, 3)
    );
    let uri = format!("https://meet.google.com/{code}");
    e.conference = Some(json!({
        "createRequest": {
            "requestId": request_id,
            "conferenceSolutionKey": { "type": "hangoutsMeet" },
            "status": { "statusCode": "success" },
        },
        "entryPoints": [{
            "entryPointType": "video",
            "uri": uri,
            "label": format!("meet.google.com/{code}"),
        }],
        "conferenceSolution": {
            "key": { "type": "hangoutsMeet" },
            "name": "Google Meet",
            "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
        },
        "conferenceId": code,
    }));
    e.hangout_link = Some(uri);
}

fn event_json(cal: &Calendar, e: &Event) -> Value {
    let eid = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{} {}", e.id, cal.id).as_bytes());
    let mut organizer = json!({ "email": cal.id, "self": true });
    if !cal.primary {
        organizer["displayName"] = json!(cal.summary);
    }
    let mut v = json!({
        "kind": "calendar#event",
        "etag": etag(e.etag),
        "id": e.id,
        "status": e.status,
        "htmlLink": format!("https://www.google.com/calendar/event?eid={eid}"),
        "created": ts(e.created),
        "updated": ts(e.updated),
        "creator": { "email": e.creator, "self": true },
        "organizer": organizer,
        "start": e.start.json,
        "end": e.end.json,
        "iCalUID": format!("{}@google.com", e.id),
        "sequence": e.sequence,
        "reminders": { "useDefault": true },
        "eventType": "default",
    });
    for (key, value) in [
        ("summary", &e.summary),
        ("description", &e.description),
        ("location", &e.location),
        ("hangoutLink", &e.hangout_link),
    ] {
        if let Some(value) = value {
            v[key] = json!(value);
        }
    }
    if !e.attendees.is_empty() {
        v["attendees"] = json!(e.attendees);
    }
    if let Some(cd) = &e.conference {
        v["conferenceData"] = cd.clone();
    }
    for (key, value) in &e.extra {
        v[key.as_str()] = value.clone();
    }
    v
}

/// Stores a changed (or new) event: new etag, change stamp and `updated`.
fn store(state: &mut State, ci: usize, mut e: Event, now: DateTime<Utc>) -> Value {
    state.etag_counter += 1;
    let cal = &mut state.calendars[ci];
    cal.seq += 1;
    cal.updated = now;
    e.etag = state.etag_counter;
    e.changed = cal.seq;
    e.updated = now;
    let i = match cal.index.get(&e.id) {
        Some(&i) => {
            cal.events[i] = e;
            i
        }
        None => {
            cal.index.insert(e.id.clone(), cal.events.len());
            cal.events.push(e);
            cal.events.len() - 1
        }
    };
    event_json(cal, &cal.events[i])
}

fn outbound(c: &Channel, state: &str) -> Outbound {
    let mut headers = vec![
        ("X-Goog-Channel-ID".to_owned(), c.id.clone()),
        (
            "X-Goog-Channel-Expiration".to_owned(),
            rfc1123(c.expires_at),
        ),
        ("X-Goog-Resource-ID".to_owned(), c.resource_id.clone()),
        ("X-Goog-Resource-URI".to_owned(), c.resource_uri.clone()),
        ("X-Goog-Resource-State".to_owned(), state.to_owned()),
        (
            "X-Goog-Message-Number".to_owned(),
            c.message_number.to_string(),
        ),
    ];
    if let Some(token) = &c.token {
        headers.push(("X-Goog-Channel-Token".to_owned(), token.clone()));
    }
    Outbound {
        provider: Provider::Google,
        url: c.address.clone(),
        headers,
        body: Vec::new(),
        label: state.to_owned(),
        retry: Retry::Attempts(3),
        calendly_signing_key: None,
    }
}

/// `exists` notifications for every live channel on a calendar.
fn notify(world: &mut World, calendar_id: &str) -> Vec<Outbound> {
    let now = world.now();
    world
        .google
        .channels
        .iter_mut()
        .filter(|c| !c.stopped && c.expires_at > now && c.calendar_id == calendar_id)
        .map(|c| {
            c.message_number += 1;
            outbound(c, "exists")
        })
        .collect()
}

fn send_all(sandbox: &Sandbox, outbound: Vec<Outbound>) {
    for o in outbound {
        sandbox.deliveries().send(o);
    }
}

fn if_match_fails(headers: &HeaderMap, e: &Event) -> bool {
    let Some(value) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let current = etag(e.etag);
    !value.split(',').map(str::trim).any(|candidate| {
        candidate == "*"
            || candidate.trim_start_matches("W/").trim_matches('"') == current.trim_matches('"')
    })
}

fn bool_param(q: &HashMap<String, String>, key: &str) -> Result<bool, Response> {
    match q.get(key).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(bad(&format!("Invalid boolean value for {key}."))),
    }
}

fn time_param(q: &HashMap<String, String>, key: &str) -> Result<Option<DateTime<Utc>>, Response> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => parse_time(v).map(Some).ok_or_else(|| {
            bad(&format!(
                "Invalid value for {key}: expected RFC 3339 with offset."
            ))
        }),
    }
}

fn conference_version(q: &HashMap<String, String>) -> Result<u8, Response> {
    match q.get("conferenceDataVersion") {
        None => Ok(0),
        Some(v) => match v.parse::<u8>() {
            Ok(n) if n <= 1 => Ok(n),
            _ => Err(bad("conferenceDataVersion must be 0 or 1.")),
        },
    }
}

fn calendar_entry_json(cal: &Calendar) -> Value {
    let mut v = json!({
        "kind": "calendar#calendarListEntry",
        "etag": etag(cal.seq),
        "id": cal.id,
        "summary": cal.summary,
        "timeZone": cal.time_zone,
        "colorId": if cal.primary { "14" } else { "7" },
        "backgroundColor": if cal.primary { "#9fe1e7" } else { "#42d692" },
        "foregroundColor": "#000000",
        "selected": true,
        "accessRole": "owner",
        "defaultReminders": [{ "method": "popup", "minutes": 10 }],
        "conferenceProperties": { "allowedConferenceSolutionTypes": ["hangoutsMeet"] },
    });
    if cal.primary {
        v["primary"] = json!(true);
    }
    v
}

// ---------------------------------------------------------------------------
// API handlers
// ---------------------------------------------------------------------------

async fn userinfo(AxState(s): AxState<Sandbox>, headers: HeaderMap) -> Response {
    let world = s.world();
    let account = authenticate!(world, headers);
    let digest = Sha256::digest(account.id.as_bytes());
    let sub: String = std::iter::once('1')
        .chain(digest.iter().take(20).map(|b| char::from(b'0' + b % 10)))
        .collect();
    let given = account.name.split_whitespace().next().unwrap_or("");
    let family = account
        .name
        .split_whitespace()
        .skip(1)
        .collect::<Vec<_>>()
        .join(" ");
    Json(json!({
        "sub": sub,
        "email": account.email,
        "email_verified": true,
        "name": account.name,
        "given_name": given,
        "family_name": family,
        "picture": "https://lh3.googleusercontent.com/a/default-user=s96-c",
        "locale": "en",
    }))
    .into_response()
}

async fn calendar_list(AxState(s): AxState<Sandbox>, headers: HeaderMap) -> Response {
    let world = s.world();
    let account = authenticate!(world, headers);
    let items: Vec<Value> = world
        .google
        .calendars
        .iter()
        .filter(|c| c.account_id == account.id)
        .map(calendar_entry_json)
        .collect();
    let version: u64 = world
        .google
        .calendars
        .iter()
        .filter(|c| c.account_id == account.id)
        .map(|c| c.seq)
        .sum();
    Json(json!({
        "kind": "calendar#calendarList",
        "etag": etag(version),
        "nextSyncToken": format!("CL{}", version),
        "items": items,
    }))
    .into_response()
}

async fn calendar_list_entry(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(calendar_id): Path<String>,
) -> Response {
    let world = s.world();
    let account = authenticate!(world, headers);
    match calendar_index(&world.google, &account, &calendar_id) {
        Some(ci) => Json(calendar_entry_json(&world.google.calendars[ci])).into_response(),
        None => not_found(),
    }
}

async fn calendar_get(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(calendar_id): Path<String>,
) -> Response {
    let world = s.world();
    let account = authenticate!(world, headers);
    let Some(ci) = calendar_index(&world.google, &account, &calendar_id) else {
        return not_found();
    };
    let cal = &world.google.calendars[ci];
    Json(json!({
        "kind": "calendar#calendar",
        "etag": etag(cal.seq),
        "id": cal.id,
        "summary": cal.summary,
        "timeZone": cal.time_zone,
        "conferenceProperties": { "allowedConferenceSolutionTypes": ["hangoutsMeet"] },
    }))
    .into_response()
}

async fn list_events(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(calendar_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = s.world();
    let account = authenticate!(guard, headers);
    let world = &mut *guard;
    let Some(ci) = calendar_index(&world.google, &account, &calendar_id) else {
        return not_found();
    };
    let page = if let Some(token) = q.get("pageToken") {
        match world.google.page_tokens.get(token) {
            Some(p) if p.calendar_id == world.google.calendars[ci].id => p.clone(),
            _ => return bad("Invalid pageToken value."),
        }
    } else {
        match first_page(&world.google, ci, &q) {
            Ok(page) => page,
            Err(response) => return response,
        }
    };
    let end = (page.offset + page.max_results).min(page.ids.len());
    let cal = &world.google.calendars[ci];
    let items: Vec<Value> = page.ids[page.offset..end]
        .iter()
        .filter_map(|id| cal.index.get(id).map(|&i| event_json(cal, &cal.events[i])))
        .collect();
    let mut body = json!({
        "kind": "calendar#events",
        "etag": etag(cal.seq),
        "summary": cal.summary,
        "updated": ts(cal.updated),
        "timeZone": cal.time_zone,
        "accessRole": "owner",
        "defaultReminders": [{ "method": "popup", "minutes": 10 }],
        "items": items,
    });
    let calendar_key = cal.id.clone();
    if end < page.ids.len() {
        let token = world.token("EiAK");
        if world.google.page_tokens.len() >= MAX_PAGE_TOKENS {
            world.google.page_tokens.clear();
        }
        world.google.page_tokens.insert(
            token.clone(),
            PageState {
                offset: end,
                ..page
            },
        );
        body["nextPageToken"] = json!(token);
    } else {
        let token = world.token("CPD");
        world.google.sync_tokens.insert(
            token.clone(),
            SyncToken {
                calendar_id: calendar_key,
                seq: page.next_sync_seq,
                valid: true,
            },
        );
        body["nextSyncToken"] = json!(token);
    }
    Json(body).into_response()
}

/// Evaluates a list request (full or incremental) into a snapshot of ids.
fn first_page(
    state: &State,
    ci: usize,
    q: &HashMap<String, String>,
) -> Result<PageState, Response> {
    let max_results = match q.get("maxResults") {
        None => DEFAULT_MAX_RESULTS,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_MAX_RESULTS),
            _ => return Err(bad("Invalid value for maxResults.")),
        },
    };
    let cal = &state.calendars[ci];
    let ids: Vec<String> = if let Some(token) = q.get("syncToken") {
        const EXCLUSIVE: &[&str] = &[
            "timeMin",
            "timeMax",
            "updatedMin",
            "orderBy",
            "iCalUID",
            "q",
            "privateExtendedProperty",
            "sharedExtendedProperty",
        ];
        if EXCLUSIVE.iter().any(|k| q.contains_key(*k)) {
            return Err(bad(
                "syncToken cannot be combined with timeMin, timeMax, updatedMin, orderBy, iCalUID, q or extended property filters.",
            ));
        }
        let since = match state.sync_tokens.get(token) {
            Some(t) if t.valid && t.calendar_id == cal.id => t.seq,
            _ => {
                return Err(gerr(
                    StatusCode::GONE,
                    "fullSyncRequired",
                    "Sync token is no longer valid, a full sync is required.",
                ))
            }
        };
        let mut changed: Vec<&Event> = cal.events.iter().filter(|e| e.changed > since).collect();
        changed.sort_by_key(|e| e.changed);
        changed.into_iter().map(|e| e.id.clone()).collect()
    } else {
        let show_deleted = bool_param(q, "showDeleted")?;
        let single_events = bool_param(q, "singleEvents")?;
        let time_min = time_param(q, "timeMin")?;
        let time_max = time_param(q, "timeMax")?;
        let updated_min = time_param(q, "updatedMin")?;
        if let (Some(min), Some(max)) = (time_min, time_max) {
            if max <= min {
                return Err(gerr(
                    StatusCode::BAD_REQUEST,
                    "timeRangeEmpty",
                    "The specified time range is empty.",
                ));
            }
        }
        let by_updated = match q.get("orderBy").map(String::as_str) {
            None => false,
            Some("startTime") if single_events => false,
            Some("startTime") => {
                return Err(bad(
                    "The requested ordering is not available for the particular query.",
                ))
            }
            Some("updated") => true,
            Some(_) => return Err(bad("Invalid value for orderBy.")),
        };
        let text = q.get("q").map(|t| t.to_lowercase());
        let ical = q.get("iCalUID");
        let mut matching: Vec<&Event> = cal
            .events
            .iter()
            .filter(|e| e.status != "cancelled" || show_deleted || updated_min.is_some())
            .filter(|e| time_min.is_none_or(|min| e.end.at > min))
            .filter(|e| time_max.is_none_or(|max| e.start.at < max))
            .filter(|e| updated_min.is_none_or(|min| e.updated >= min))
            .filter(|e| ical.is_none_or(|u| format!("{}@google.com", e.id) == *u))
            .filter(|e| {
                text.as_ref().is_none_or(|t| {
                    [&e.summary, &e.description, &e.location]
                        .iter()
                        .any(|f| f.as_ref().is_some_and(|f| f.to_lowercase().contains(t)))
                })
            })
            .collect();
        if by_updated {
            matching.sort_by(|a, b| a.updated.cmp(&b.updated).then(a.changed.cmp(&b.changed)));
        } else {
            matching.sort_by(|a, b| a.start.at.cmp(&b.start.at).then(a.id.cmp(&b.id)));
        }
        matching.into_iter().map(|e| e.id.clone()).collect()
    };
    Ok(PageState {
        calendar_id: cal.id.clone(),
        ids: Arc::new(ids),
        offset: 0,
        max_results,
        next_sync_seq: cal.seq,
    })
}

async fn insert_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(calendar_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    bytes: Bytes,
) -> Response {
    let mut guard = s.world();
    let account = authenticate!(guard, headers);
    let world = &mut *guard;
    let Some(ci) = calendar_index(&world.google, &account, &calendar_id) else {
        return not_found();
    };
    let body = match parse_object(&bytes) {
        Ok(b) => b,
        Err(m) => return gerr(StatusCode::BAD_REQUEST, "parseError", &m),
    };
    let version = match conference_version(&q) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id = match body.get("id") {
        None | Some(Value::Null) => new_event_id(world),
        Some(Value::String(id)) if valid_event_id(id) => {
            if world.google.calendars[ci].index.contains_key(id) {
                return gerr(
                    StatusCode::CONFLICT,
                    "duplicate",
                    "The requested identifier already exists.",
                );
            }
            id.clone()
        }
        Some(_) => return bad("Invalid resource id value."),
    };
    let now = world.now();
    let mut e = Event::new(id, account.email.clone(), now);
    let tz = world.google.calendars[ci].time_zone.clone();
    if let Err((reason, m)) = apply_fields(&mut e, &body, true, &tz)
        .and_then(|()| apply_conference(world, &mut e, &body, version))
    {
        return gerr(StatusCode::BAD_REQUEST, reason, &m);
    }
    let value = store(&mut world.google, ci, e, now);
    let calendar_key = world.google.calendars[ci].id.clone();
    let outbound = notify(world, &calendar_key);
    drop(guard);
    send_all(&s, outbound);
    Json(value).into_response()
}

async fn get_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path((calendar_id, event_id)): Path<(String, String)>,
) -> Response {
    let world = s.world();
    let account = authenticate!(world, headers);
    let Some(ci) = calendar_index(&world.google, &account, &calendar_id) else {
        return not_found();
    };
    let cal = &world.google.calendars[ci];
    match cal.index.get(&event_id) {
        Some(&i) => Json(event_json(cal, &cal.events[i])).into_response(),
        None => not_found(),
    }
}

async fn put_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    bytes: Bytes,
) -> Response {
    update_event(&s, &headers, &calendar_id, &event_id, &q, &bytes, true)
}

async fn patch_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    bytes: Bytes,
) -> Response {
    update_event(&s, &headers, &calendar_id, &event_id, &q, &bytes, false)
}

fn update_event(
    s: &Sandbox,
    headers: &HeaderMap,
    calendar_id: &str,
    event_id: &str,
    q: &HashMap<String, String>,
    bytes: &[u8],
    full: bool,
) -> Response {
    let mut guard = s.world();
    let account = authenticate!(guard, headers);
    let world = &mut *guard;
    let Some(ci) = calendar_index(&world.google, &account, calendar_id) else {
        return not_found();
    };
    let body = match parse_object(bytes) {
        Ok(b) => b,
        Err(m) => return gerr(StatusCode::BAD_REQUEST, "parseError", &m),
    };
    let version = match conference_version(q) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let cal = &world.google.calendars[ci];
    let Some(&i) = cal.index.get(event_id) else {
        return not_found();
    };
    let mut e = cal.events[i].clone();
    if if_match_fails(headers, &e) {
        return gerr(
            StatusCode::PRECONDITION_FAILED,
            "conditionNotMet",
            "Precondition Failed",
        );
    }
    let tz = cal.time_zone.clone();
    if let Err((reason, m)) = apply_fields(&mut e, &body, full, &tz)
        .and_then(|()| apply_conference(world, &mut e, &body, version))
    {
        return gerr(StatusCode::BAD_REQUEST, reason, &m);
    }
    e.sequence += 1;
    let now = world.now();
    let value = store(&mut world.google, ci, e, now);
    let calendar_key = world.google.calendars[ci].id.clone();
    let outbound = notify(world, &calendar_key);
    drop(guard);
    send_all(s, outbound);
    Json(value).into_response()
}

async fn delete_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path((calendar_id, event_id)): Path<(String, String)>,
) -> Response {
    let mut guard = s.world();
    let account = authenticate!(guard, headers);
    let world = &mut *guard;
    let Some(ci) = calendar_index(&world.google, &account, &calendar_id) else {
        return not_found();
    };
    let cal = &world.google.calendars[ci];
    let Some(&i) = cal.index.get(&event_id) else {
        return not_found();
    };
    let mut e = cal.events[i].clone();
    if e.status == "cancelled" {
        return gerr(StatusCode::GONE, "deleted", "Resource has been deleted");
    }
    if if_match_fails(&headers, &e) {
        return gerr(
            StatusCode::PRECONDITION_FAILED,
            "conditionNotMet",
            "Precondition Failed",
        );
    }
    e.status = "cancelled".into();
    e.sequence += 1;
    let now = world.now();
    store(&mut world.google, ci, e, now);
    let calendar_key = world.google.calendars[ci].id.clone();
    let outbound = notify(world, &calendar_key);
    drop(guard);
    send_all(&s, outbound);
    StatusCode::NO_CONTENT.into_response()
}

async fn free_busy(AxState(s): AxState<Sandbox>, headers: HeaderMap, bytes: Bytes) -> Response {
    let world = s.world();
    let account = authenticate!(world, headers);
    let body = match parse_object(&bytes) {
        Ok(b) => b,
        Err(m) => return gerr(StatusCode::BAD_REQUEST, "parseError", &m),
    };
    let time = |key: &str| body.get(key).and_then(Value::as_str).and_then(parse_time);
    let (Some(min), Some(max)) = (time("timeMin"), time("timeMax")) else {
        return gerr(
            StatusCode::BAD_REQUEST,
            "required",
            "timeMin and timeMax are required RFC 3339 date-times.",
        );
    };
    if max <= min {
        return gerr(
            StatusCode::BAD_REQUEST,
            "timeRangeEmpty",
            "The specified time range is empty.",
        );
    }
    let zone = match body.get("timeZone").and_then(Value::as_str) {
        None => None,
        Some(name) => match name.parse::<chrono_tz::Tz>() {
            Ok(z) => Some(z),
            Err(_) => return bad("Invalid timeZone value."),
        },
    };
    let format = |at: DateTime<Utc>| match zone {
        Some(z) => at
            .with_timezone(&z)
            .fixed_offset()
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        None => at.to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    let Some(items) = body.get("items").and_then(Value::as_array) else {
        return gerr(StatusCode::BAD_REQUEST, "required", "items is required.");
    };
    if items.len() > 50 {
        return gerr(
            StatusCode::BAD_REQUEST,
            "tooManyCalendarsRequested",
            "Too many calendars requested.",
        );
    }
    let mut calendars = Map::new();
    for item in items {
        let Some(id) = item.get("id").and_then(Value::as_str) else {
            return gerr(
                StatusCode::BAD_REQUEST,
                "required",
                "items[].id is required.",
            );
        };
        let Some(ci) = calendar_index(&world.google, &account, id) else {
            calendars.insert(
                id.to_owned(),
                json!({ "errors": [{ "domain": "global", "reason": "notFound" }], "busy": [] }),
            );
            continue;
        };
        let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = world.google.calendars[ci]
            .events
            .iter()
            .filter(|e| e.status != "cancelled")
            .filter(|e| e.extra.get("transparency").and_then(Value::as_str) != Some("transparent"))
            .filter(|e| e.start.at < max && e.end.at > min)
            .map(|e| (e.start.at.max(min), e.end.at.min(max)))
            .collect();
        spans.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        for (start, end) in spans {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let busy: Vec<Value> = merged
            .into_iter()
            .map(|(a, b)| json!({ "start": format(a), "end": format(b) }))
            .collect();
        calendars.insert(id.to_owned(), json!({ "busy": busy }));
    }
    Json(json!({
        "kind": "calendar#freeBusy",
        "timeMin": format(min),
        "timeMax": format(max),
        "calendars": calendars,
    }))
    .into_response()
}

async fn watch(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(calendar_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let mut guard = s.world();
    let account = authenticate!(guard, headers);
    let world = &mut *guard;
    let Some(ci) = calendar_index(&world.google, &account, &calendar_id) else {
        return not_found();
    };
    let body = match parse_object(&bytes) {
        Ok(b) => b,
        Err(m) => return gerr(StatusCode::BAD_REQUEST, "parseError", &m),
    };
    let str_field = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let Some(id) = str_field("id").filter(|i| !i.is_empty() && i.len() <= 64) else {
        return gerr(
            StatusCode::BAD_REQUEST,
            "required",
            "Missing or invalid channel id.",
        );
    };
    if !matches!(str_field("type").as_deref(), Some("web_hook" | "webhook")) {
        return bad("Invalid channel type: only web_hook is supported.");
    }
    let Some(address) = str_field("address")
        .filter(|a| url::Url::parse(a).is_ok_and(|u| matches!(u.scheme(), "https" | "http")))
    else {
        return bad("Invalid address: an absolute http(s) URL is required.");
    };
    if !s.callback_allowed(&address) {
        return bad(
            "Invalid address: the sandbox delivers notifications only to the app it serves.",
        );
    }
    let token = str_field("token");
    if token.as_ref().is_some_and(|t| t.len() > 256) {
        return bad("The channel token must be at most 256 characters.");
    }
    let now = world.now();
    let latest = now + Duration::milliseconds(MAX_CHANNEL_TTL_MS);
    let requested = match body.get("expiration") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let ms = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|t| t.parse::<i64>().ok()));
            match ms.and_then(DateTime::from_timestamp_millis) {
                Some(at) if at > now => Some(at),
                _ => {
                    return bad("Invalid expiration: milliseconds since the epoch, in the future.")
                }
            }
        }
    };
    let ttl = body
        .get("params")
        .and_then(|p| p.get("ttl"))
        .and_then(|v| {
            v.as_str()
                .and_then(|t| t.parse::<i64>().ok())
                .or(v.as_i64())
        })
        .filter(|t| *t > 0)
        .map(|secs| now + Duration::seconds(secs.min(MAX_CHANNEL_TTL_MS / 1000)));
    let expires_at = requested.or(ttl).unwrap_or(latest).min(latest);
    if world
        .google
        .channels
        .iter()
        .any(|c| c.id == id && !c.stopped && c.expires_at > now)
    {
        return gerr(
            StatusCode::BAD_REQUEST,
            "channelIdNotUnique",
            "Channel id not unique.",
        );
    }
    let cal = &world.google.calendars[ci];
    let resource_id = hex::encode(&Sha256::digest(cal.id.as_bytes())[..14]);
    let encoded: String = url::form_urlencoded::byte_serialize(cal.id.as_bytes()).collect();
    let resource_uri = format!(
        "{}/google/calendar/v3/calendars/{encoded}/events?alt=json",
        s.base()
    );
    let channel = Channel {
        id,
        resource_id,
        resource_uri,
        account_id: account.id.clone(),
        calendar_id: cal.id.clone(),
        address,
        token,
        expires_at,
        stopped: false,
        message_number: 1,
    };
    let mut response = json!({
        "kind": "api#channel",
        "id": channel.id,
        "resourceId": channel.resource_id,
        "resourceUri": channel.resource_uri,
        "expiration": expires_at.timestamp_millis().to_string(),
    });
    if let Some(t) = &channel.token {
        response["token"] = json!(t);
    }
    let sync = outbound(&channel, "sync");
    world.google.channels.push(channel);
    drop(guard);
    s.deliveries().send(sync);
    Json(response).into_response()
}

async fn stop_channel(AxState(s): AxState<Sandbox>, headers: HeaderMap, bytes: Bytes) -> Response {
    let mut guard = s.world();
    let account = authenticate!(guard, headers);
    let body = match parse_object(&bytes) {
        Ok(b) => b,
        Err(m) => return gerr(StatusCode::BAD_REQUEST, "parseError", &m),
    };
    let field = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or("");
    let (id, resource_id) = (field("id"), field("resourceId"));
    if id.is_empty() || resource_id.is_empty() {
        return gerr(
            StatusCode::BAD_REQUEST,
            "required",
            "id and resourceId are required.",
        );
    }
    match guard.google.channels.iter_mut().find(|c| {
        c.id == id && c.resource_id == resource_id && c.account_id == account.id && !c.stopped
    }) {
        Some(channel) => {
            channel.stopped = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => gerr(
            StatusCode::NOT_FOUND,
            "notFound",
            &format!("Channel '{id}' not found for project."),
        ),
    }
}

// ---------------------------------------------------------------------------
// Control routes
// ---------------------------------------------------------------------------

fn control_body(bytes: &[u8]) -> Result<Map<String, Value>, Response> {
    parse_object(bytes).map_err(control::bad_request)
}

fn owner_account(world: &World, email: Option<&str>) -> Result<Account, Response> {
    let email = email
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| control::bad_request("owner_email is required"))?;
    world
        .account_by_email(Provider::Google, email)
        .cloned()
        .ok_or_else(|| control_not_found("no Google account with that owner_email"))
}

/// Finds an event in any of the owner's calendars: (calendar, event) indices.
fn find_owned_event(state: &State, account: &Account, event_id: &str) -> Option<(usize, usize)> {
    state.calendars.iter().enumerate().find_map(|(ci, c)| {
        (c.account_id == account.id)
            .then(|| c.index.get(event_id).map(|&i| (ci, i)))
            .flatten()
    })
}

async fn control_create(AxState(s): AxState<Sandbox>, bytes: Bytes) -> Response {
    let event: OwnerEvent = match serde_json::from_slice(&bytes) {
        Ok(e) => e,
        Err(e) => return control::bad_request(format!("invalid owner event: {e}")),
    };
    match create_owner_event(&s, event) {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(r) => r,
    }
}

async fn control_patch(
    AxState(s): AxState<Sandbox>,
    Path(event_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let body = match control_body(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut guard = s.world();
    let world = &mut *guard;
    let account = match owner_account(world, body.get("owner_email").and_then(Value::as_str)) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some((ci, i)) = find_owned_event(&world.google, &account, &event_id) else {
        return control_not_found("the owner has no event with that id");
    };
    let mut patch = Map::new();
    if let Some(v) = body.get("summary") {
        if !v.is_string() {
            return control::bad_request("summary must be a string");
        }
        patch.insert("summary".into(), v.clone());
    }
    for key in ["start", "end"] {
        if let Some(v) = body.get(key) {
            match v.as_str().and_then(parse_time) {
                Some(_) => {
                    patch.insert(key.into(), json!({ "dateTime": v }));
                }
                None => {
                    return control::bad_request(format!("{key} must be an RFC 3339 date-time"))
                }
            }
        }
    }
    let cal = &world.google.calendars[ci];
    let mut e = cal.events[i].clone();
    if e.status == "cancelled" {
        return (
            StatusCode::CONFLICT,
            Json(json!({ "error": "the event is cancelled" })),
        )
            .into_response();
    }
    let tz = cal.time_zone.clone();
    if let Err((_, m)) = apply_fields(&mut e, &patch, false, &tz) {
        return control::bad_request(m);
    }
    e.sequence += 1;
    let now = world.now();
    let value = store(&mut world.google, ci, e, now);
    let calendar_key = world.google.calendars[ci].id.clone();
    let outbound = notify(world, &calendar_key);
    drop(guard);
    send_all(&s, outbound);
    Json(value).into_response()
}

async fn control_delete(
    AxState(s): AxState<Sandbox>,
    Path(event_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = s.world();
    let world = &mut *guard;
    let account = match owner_account(world, q.get("owner_email").map(String::as_str)) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some((ci, i)) = find_owned_event(&world.google, &account, &event_id) else {
        return control_not_found("the owner has no event with that id");
    };
    let mut e = world.google.calendars[ci].events[i].clone();
    if e.status == "cancelled" {
        return (
            StatusCode::CONFLICT,
            Json(json!({ "error": "the event is already cancelled" })),
        )
            .into_response();
    }
    e.status = "cancelled".into();
    e.sequence += 1;
    let now = world.now();
    store(&mut world.google, ci, e, now);
    let calendar_key = world.google.calendars[ci].id.clone();
    let outbound = notify(world, &calendar_key);
    drop(guard);
    send_all(&s, outbound);
    StatusCode::NO_CONTENT.into_response()
}

/// The calendar ids of one owner (or of everyone when no email is given).
fn scoped_calendars(world: &World, body: &Map<String, Value>) -> Result<Vec<String>, Response> {
    let account = match body.get("owner_email") {
        None | Some(Value::Null) => None,
        Some(Value::String(email)) => Some(owner_account(world, Some(email))?),
        Some(_) => return Err(control::bad_request("owner_email must be a string")),
    };
    Ok(world
        .google
        .calendars
        .iter()
        .filter(|c| account.as_ref().is_none_or(|a| a.id == c.account_id))
        .map(|c| c.id.clone())
        .collect())
}

async fn control_invalidate(AxState(s): AxState<Sandbox>, bytes: Bytes) -> Response {
    let body = match control_body(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut world = s.world();
    let calendars = match scoped_calendars(&world, &body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut invalidated = 0;
    for token in world.google.sync_tokens.values_mut() {
        if token.valid && calendars.contains(&token.calendar_id) {
            token.valid = false;
            invalidated += 1;
        }
    }
    Json(json!({ "invalidated": invalidated })).into_response()
}

async fn control_expire(AxState(s): AxState<Sandbox>, bytes: Bytes) -> Response {
    let body = match control_body(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut guard = s.world();
    let world = &mut *guard;
    let calendars = match scoped_calendars(world, &body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let now = world.now();
    let mut expired = 0;
    for channel in world.google.channels.iter_mut() {
        if !channel.stopped && channel.expires_at > now && calendars.contains(&channel.calendar_id)
        {
            channel.expires_at = now;
            expired += 1;
        }
    }
    Json(json!({ "expired": expired })).into_response()
}

async fn control_channels(AxState(s): AxState<Sandbox>) -> Response {
    let world = s.world();
    let now = world.now();
    let channels: Vec<Value> = world
        .google
        .channels
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "resourceId": c.resource_id,
                "calendar_id": c.calendar_id,
                "address": c.address,
                "expiration": c.expires_at.timestamp_millis().to_string(),
                "state": if c.stopped { "stopped" } else if c.expires_at <= now { "expired" } else { "active" },
                "messages": c.message_number,
            })
        })
        .collect();
    Json(json!({ "channels": channels })).into_response()
}
