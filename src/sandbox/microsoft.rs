//! Microsoft Graph v1.0 (Outlook calendar) emulator: `/me`, events with
//! `If-Match` and `transactionId`, `calendarView` and its delta query,
//! `getSchedule`, change-notification subscriptions with the validation
//! handshake and lifecycle notifications, and the control routes that let
//! a test act as the calendar owner editing in Outlook.
//!
//! Paths mirror `https://graph.microsoft.com/v1.0` under `{base}/graph/v1.0`;
//! every `@odata.*` link is absolute. Each user's mailbox keeps a change
//! sequence: every create, update and delete bumps it, and delta tokens are
//! cursors over that sequence.

use super::delivery::{Outbound, Retry};
use super::{control::bad_request, oauth, Account, OwnerEvent, Sandbox, World};
use crate::model::Provider;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The directory (tenant) every sandbox user belongs to.
pub const TENANT_ID: &str = "6f1c4b9e-2d3a-4e5f-8a7b-0c1d2e3f4a5b";
/// Outlook subscriptions live at most 7 days.
pub const MAX_SUBSCRIPTION_MINUTES: i64 = 10_080;
const DEFAULT_PAGE_SIZE: usize = 10;
const MAX_PAGE_SIZE: usize = 1000;
const MAX_CLIENT_STATE: usize = 128;

#[derive(Clone, Debug)]
pub struct Attendee {
    pub address: String,
    pub name: String,
    /// `required`, `optional` or `resource`.
    pub kind: String,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    /// The mailbox change sequence at this event's last change.
    pub seq: u64,
    pub deleted: bool,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub change_key: String,
    pub subject: String,
    /// `text` or `html`.
    pub body_type: String,
    pub body: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub start_tz: String,
    pub end_tz: String,
    pub location: String,
    pub attendees: Vec<Attendee>,
    pub organizer_name: String,
    pub organizer_email: String,
    pub is_cancelled: bool,
    pub is_online_meeting: bool,
    pub online_meeting_provider: String,
    pub join_url: Option<String>,
    pub transaction_id: Option<String>,
}

impl Event {
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.change_key)
    }
}

/// One user's calendar.
#[derive(Clone, Debug, Default)]
pub struct Mailbox {
    pub calendar_id: String,
    /// Last change sequence number handed out.
    pub seq: u64,
    /// Bumped to invalidate every delta token of this mailbox.
    pub sync_epoch: u64,
    /// Including deleted events (tombstones, for delta queries).
    pub events: Vec<Event>,
}

#[derive(Clone, Debug)]
pub struct Subscription {
    pub id: String,
    pub user_id: String,
    pub application_id: String,
    pub resource: String,
    pub change_type: String,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub client_state: Option<String>,
    pub expires: DateTime<Utc>,
}

impl Subscription {
    fn notifies(&self, change: &str) -> bool {
        self.change_type.split(',').any(|c| c.trim() == change)
    }
}

/// Where a delta query stands: changes with `from < seq <= upto` that come
/// after `after` (the last sequence already paged out).
#[derive(Clone, Debug)]
struct DeltaCursor {
    user_id: String,
    epoch: u64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    from: u64,
    /// `None` for a deltaLink: fixed when it is followed.
    upto: Option<u64>,
    after: u64,
}

#[derive(Default)]
pub struct State {
    pub mailboxes: HashMap<String, Mailbox>,
    pub subscriptions: Vec<Subscription>,
    cursors: HashMap<String, DeltaCursor>,
}

// ---------------------------------------------------------------- contract

pub fn on_account_added(world: &mut World, account: &Account) {
    mailbox_mut(world, &account.id);
}

pub fn account_extras(world: &World, account: &Account) -> Value {
    let calendar_id = world
        .microsoft
        .mailboxes
        .get(&account.id)
        .map(|m| m.calendar_id.clone());
    json!({
        "id": account.id,
        "userPrincipalName": account.email,
        "tenantId": TENANT_ID,
        "calendarId": calendar_id,
    })
}

pub fn truth(world: &World, account: &Account) -> Value {
    let events: Vec<Value> = world
        .microsoft
        .mailboxes
        .get(&account.id)
        .map(|m| m.events.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let mut v = json!({
                "id": e.id,
                "subject": e.subject,
                "start": e.start.to_rfc3339(),
                "end": e.end.to_rfc3339(),
                "isCancelled": e.is_cancelled,
                "deleted": e.deleted,
                "@odata.etag": e.etag(),
                "lastModifiedDateTime": graph_ts(e.modified),
                "transactionId": e.transaction_id,
            });
            if let Some(url) = &e.join_url {
                v["onlineMeeting"] = json!({ "joinUrl": url });
            }
            v
        })
        .collect();
    json!({ "events": events })
}

pub fn create_owner_event(sandbox: &Sandbox, event: OwnerEvent) -> Result<Value, Response> {
    let start = parse_query_time(&event.start)
        .ok_or_else(|| bad_request("start must be an RFC 3339 date-time"))?;
    let end = parse_query_time(&event.end)
        .ok_or_else(|| bad_request("end must be an RFC 3339 date-time"))?;
    if end <= start {
        return Err(bad_request("end must be after start"));
    }
    if event.attendees.iter().any(|a| !a.contains('@')) {
        return Err(bad_request("attendees must be email addresses"));
    }
    let mut world = sandbox.world();
    let account = owner(&world, &event.owner_email)?;
    let input = EventInput {
        subject: Some(event.summary),
        start: Some((start, "UTC".into())),
        end: Some((end, "UTC".into())),
        attendees: Some(
            event
                .attendees
                .iter()
                .map(|a| Attendee {
                    address: a.to_lowercase(),
                    name: a.clone(),
                    kind: "required".into(),
                })
                .collect(),
        ),
        is_online_meeting: Some(event.online_meeting),
        online_meeting_provider: event.online_meeting.then(|| "teamsForBusiness".into()),
        ..EventInput::default()
    };
    let created = create(sandbox, &mut world, &account, input)?;
    Ok(render_event(sandbox.base(), &account.id, &created, &utc()))
}

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/graph/v1.0/me", get(me))
        .route("/graph/v1.0/me/calendar", get(calendar))
        .route("/graph/v1.0/me/calendars", get(calendars))
        .route("/graph/v1.0/me/events", get(list_events).post(create_event))
        .route(
            "/graph/v1.0/me/calendar/events",
            get(list_events).post(create_event),
        )
        .route(
            "/graph/v1.0/me/events/{id}",
            get(get_event).patch(patch_event).delete(delete_event),
        )
        .route("/graph/v1.0/me/calendarView", get(calendar_view))
        .route("/graph/v1.0/me/calendarView/delta", get(delta))
        .route("/graph/v1.0/me/calendar/calendarView/delta", get(delta))
        .route("/graph/v1.0/me/calendar/getSchedule", post(get_schedule))
        .route(
            "/graph/v1.0/subscriptions",
            post(create_subscription).get(list_subscriptions),
        )
        .route(
            "/graph/v1.0/subscriptions/{id}",
            get(get_subscription)
                .patch(patch_subscription)
                .delete(delete_subscription),
        )
        .route("/_control/microsoft/events", post(control_create))
        .route(
            "/_control/microsoft/events/{id}",
            patch(control_patch).delete(control_delete),
        )
        .route(
            "/_control/microsoft/invalidate-sync-tokens",
            post(control_invalidate),
        )
        .route("/_control/microsoft/expire-channels", post(control_expire))
        .route("/_control/microsoft/lifecycle", post(control_lifecycle))
}

// ---------------------------------------------------------------- helpers

fn graph_root(base: &str) -> String {
    format!("{base}/graph/v1.0")
}

/// An error in Graph's shape, with a specific code.
fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let now = Utc::now();
    (
        status,
        Json(json!({ "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": now.format("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": uuid::Uuid::now_v7().to_string(),
                "client-request-id": uuid::Uuid::now_v7().to_string(),
            },
        }})),
    )
        .into_response()
}

fn invalid(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "ErrorInvalidRequest", message)
}

fn not_found() -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

fn control_not_found(message: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": message }))).into_response()
}

fn unwrap(result: Result<Response, Response>) -> Response {
    result.unwrap_or_else(|e| e)
}

fn authenticate(world: &World, headers: &HeaderMap) -> Result<Account, Response> {
    oauth::authenticate(world, Provider::Microsoft, headers)
}

/// The OAuth client the bearer token was issued to.
fn application_id(world: &World, headers: &HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| world.oauth.access_tokens.get(t.trim()))
        .map(|g| g.client_id.clone())
        .unwrap_or_default()
}

fn parse_body(body: &Bytes) -> Result<Value, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(invalid("The request body must be a JSON object.")),
        Err(e) => Err(graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Unable to read JSON request payload: {e}"),
        )),
    }
}

fn parse_control_body(body: &Bytes) -> Result<Value, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(bad_request("the body must be a JSON object")),
        Err(e) => Err(bad_request(format!("malformed JSON: {e}"))),
    }
}

fn owner(world: &World, email: &str) -> Result<Account, Response> {
    if email.trim().is_empty() {
        return Err(bad_request("owner_email is required"));
    }
    world
        .account_by_email(Provider::Microsoft, email.trim())
        .cloned()
        .ok_or_else(|| control_not_found("no Microsoft account with that owner_email"))
}

fn mailbox_mut<'a>(world: &'a mut World, user_id: &str) -> &'a mut Mailbox {
    if !world.microsoft.mailboxes.contains_key(user_id) {
        let calendar_id = format!("AAMkAGI{}", hex::encode(world.rng.gen::<[u8; 16]>()));
        world.microsoft.mailboxes.insert(
            user_id.to_owned(),
            Mailbox {
                calendar_id,
                ..Mailbox::default()
            },
        );
    }
    world
        .microsoft
        .mailboxes
        .get_mut(user_id)
        .expect("inserted above")
}

fn live_event<'a>(world: &'a World, user_id: &str, id: &str) -> Option<&'a Event> {
    world
        .microsoft
        .mailboxes
        .get(user_id)?
        .events
        .iter()
        .find(|e| e.id == id && !e.deleted)
}

fn change_key(world: &mut World) -> String {
    let bytes: [u8; 21] = world.rng.gen();
    let mut raw = vec![0x0F, 0, 0, 0, 0x16, 0, 0, 0];
    raw.extend_from_slice(&bytes);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// Bumps the mailbox sequence; returns (seq, new change key, now).
fn next_version(world: &mut World, user_id: &str) -> (u64, String, DateTime<Utc>) {
    let key = change_key(world);
    let now = world.now();
    let mailbox = mailbox_mut(world, user_id);
    mailbox.seq += 1;
    (mailbox.seq, key, now)
}

/// `2026-11-22T10:00:00.0000000` (Graph's dateTimeTimeZone format).
fn graph_local(dt: NaiveDateTime) -> String {
    format!(
        "{}.{:07}",
        dt.format("%Y-%m-%dT%H:%M:%S"),
        dt.and_utc().timestamp_subsec_nanos() / 100
    )
}

/// `2026-11-22T10:00:00.0000000Z`.
fn graph_ts(dt: DateTime<Utc>) -> String {
    format!("{}Z", graph_local(dt.naive_utc()))
}

fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()
}

/// A query date-time (`startDateTime=2026-01-01T00:00:00Z`, or without an
/// offset, meaning UTC).
fn parse_query_time(s: &str) -> Option<DateTime<Utc>> {
    parse_rfc3339(s).or_else(|| parse_naive(s).map(|n| n.and_utc()))
}

/// IANA names, `UTC` and the common Windows zone names Outlook uses.
fn resolve_tz(name: &str) -> Option<Tz> {
    let name = name.trim();
    let windows = match name {
        "UTC" | "Etc/UTC" | "Coordinated Universal Time" | "GMT" => Some("UTC"),
        "W. Europe Standard Time" => Some("Europe/Berlin"),
        "Romance Standard Time" => Some("Europe/Paris"),
        "Central Europe Standard Time" => Some("Europe/Budapest"),
        "Central European Standard Time" => Some("Europe/Warsaw"),
        "GMT Standard Time" => Some("Europe/London"),
        "E. Europe Standard Time" => Some("Europe/Chisinau"),
        "FLE Standard Time" => Some("Europe/Kiev"),
        "Russian Standard Time" => Some("Europe/Moscow"),
        "Eastern Standard Time" => Some("America/New_York"),
        "Central Standard Time" => Some("America/Chicago"),
        "Mountain Standard Time" => Some("America/Denver"),
        "US Mountain Standard Time" => Some("America/Phoenix"),
        "Pacific Standard Time" => Some("America/Los_Angeles"),
        "Alaskan Standard Time" => Some("America/Anchorage"),
        "Hawaiian Standard Time" => Some("Pacific/Honolulu"),
        "E. South America Standard Time" => Some("America/Sao_Paulo"),
        "India Standard Time" => Some("Asia/Kolkata"),
        "China Standard Time" => Some("Asia/Shanghai"),
        "Tokyo Standard Time" => Some("Asia/Tokyo"),
        "Singapore Standard Time" => Some("Asia/Singapore"),
        "AUS Eastern Standard Time" => Some("Australia/Sydney"),
        "New Zealand Standard Time" => Some("Pacific/Auckland"),
        _ => None,
    };
    windows.unwrap_or(name).parse::<Tz>().ok()
}

fn to_utc(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .map(|d| d.with_timezone(&Utc))
}

/// The zone responses are given in: `Prefer: outlook.timezone="…"`, else UTC.
#[derive(Clone)]
struct OutTz {
    name: String,
    tz: Tz,
}

fn utc() -> OutTz {
    OutTz {
        name: "UTC".into(),
        tz: Tz::UTC,
    }
}

fn preferences(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect()
}

fn out_tz(headers: &HeaderMap) -> OutTz {
    preferences(headers)
        .into_iter()
        .find(|(k, _)| k == "outlook.timezone")
        .and_then(|(_, name)| resolve_tz(&name).map(|tz| OutTz { name, tz }))
        .unwrap_or_else(utc)
}

fn max_page_size(headers: &HeaderMap) -> Option<usize> {
    preferences(headers)
        .into_iter()
        .find(|(k, _)| k == "odata.maxpagesize")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .map(|n| n.min(MAX_PAGE_SIZE))
}

fn date_time_tz(dt: DateTime<Utc>, tz: &OutTz) -> Value {
    json!({
        "dateTime": graph_local(dt.with_timezone(&tz.tz).naive_local()),
        "timeZone": tz.name,
    })
}

fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn render_event(base: &str, user_id: &str, e: &Event, tz: &OutTz) -> Value {
    let preview: String = if e.body_type == "html" {
        strip_html(&e.body)
    } else {
        e.body.clone()
    }
    .chars()
    .take(255)
    .collect();
    let attendees: Vec<Value> = e
        .attendees
        .iter()
        .map(|a| {
            json!({
                "type": a.kind,
                "status": { "response": "none", "time": "0001-01-01T00:00:00Z" },
                "emailAddress": { "name": a.name, "address": a.address },
            })
        })
        .collect();
    let mut v = json!({
        "@odata.context": format!("{}/$metadata#users('{user_id}')/events/$entity", graph_root(base)),
        "@odata.etag": e.etag(),
        "id": e.id,
        "createdDateTime": graph_ts(e.created),
        "lastModifiedDateTime": graph_ts(e.modified),
        "changeKey": e.change_key,
        "categories": [],
        "transactionId": e.transaction_id,
        "originalStartTimeZone": e.start_tz,
        "originalEndTimeZone": e.end_tz,
        "iCalUId": format!("040000008200E00074C5B7101A82E008{}", hex::encode(e.id.as_bytes()).chars().take(32).collect::<String>().to_uppercase()),
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": true,
        "hasAttachments": false,
        "subject": e.subject,
        "bodyPreview": preview,
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": false,
        "isCancelled": e.is_cancelled,
        "isOrganizer": true,
        "responseRequested": true,
        "seriesMasterId": null,
    });
    let more = json!({
        "showAs": "busy",
        "type": "singleInstance",
        "webLink": format!("https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item", e.id),
        "onlineMeetingUrl": null,
        "isOnlineMeeting": e.is_online_meeting,
        "onlineMeetingProvider": e.online_meeting_provider,
        "allowNewTimeProposals": true,
        "isDraft": false,
        "hideAttendees": false,
        "responseStatus": { "response": "organizer", "time": "0001-01-01T00:00:00Z" },
        "body": { "contentType": e.body_type, "content": e.body },
        "start": date_time_tz(e.start, tz),
        "end": date_time_tz(e.end, tz),
        "location": {
            "displayName": e.location,
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        },
        "locations": if e.location.is_empty() { json!([]) } else { json!([{ "displayName": e.location, "locationType": "default" }]) },
        "recurrence": null,
        "attendees": attendees,
        "organizer": { "emailAddress": { "name": e.organizer_name, "address": e.organizer_email } },
        "onlineMeeting": e.join_url.as_ref().map(|u| json!({ "joinUrl": u })),
    });
    if let (Some(obj), Value::Object(rest)) = (v.as_object_mut(), more) {
        obj.extend(rest);
    }
    v
}

/// An event inside a collection: no per-entity `@odata.context`.
fn render_item(base: &str, user_id: &str, e: &Event, tz: &OutTz) -> Value {
    let mut v = render_event(base, user_id, e, tz);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("@odata.context");
    }
    v
}

// ---------------------------------------------------------------- event changes

/// What a create or PATCH body says (`None`: not given).
#[derive(Default)]
struct EventInput {
    subject: Option<String>,
    body: Option<(String, String)>,
    start: Option<(DateTime<Utc>, String)>,
    end: Option<(DateTime<Utc>, String)>,
    location: Option<String>,
    attendees: Option<Vec<Attendee>>,
    is_online_meeting: Option<bool>,
    online_meeting_provider: Option<String>,
    transaction_id: Option<String>,
}

fn opt_str(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("Property '{key}' must be a string.")),
    }
}

fn parse_date_time_tz(v: &Value, key: &str) -> Result<Option<(DateTime<Utc>, String)>, String> {
    let Some(obj) = v.get(key).filter(|x| !x.is_null()) else {
        return Ok(None);
    };
    let date_time = obj
        .get("dateTime")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("Property '{key}.dateTime' is required."))?;
    let zone = obj
        .get("timeZone")
        .and_then(Value::as_str)
        .unwrap_or("UTC")
        .to_owned();
    if let Some(dt) = parse_rfc3339(date_time) {
        return Ok(Some((dt, zone)));
    }
    let naive = parse_naive(date_time)
        .ok_or_else(|| format!("Cannot convert the literal '{date_time}' to a date-time."))?;
    let tz = resolve_tz(&zone)
        .ok_or_else(|| format!("A valid TimeZone value must be specified. '{zone}' is not."))?;
    let dt = to_utc(naive, tz).ok_or_else(|| format!("'{date_time}' does not exist in {zone}."))?;
    Ok(Some((dt, zone)))
}

fn parse_input(v: &Value) -> Result<EventInput, String> {
    let body = match v.get("body").filter(|b| !b.is_null()) {
        None => None,
        Some(b) => {
            let kind = b
                .get("contentType")
                .and_then(Value::as_str)
                .unwrap_or("text")
                .to_ascii_lowercase();
            if kind != "text" && kind != "html" {
                return Err("body.contentType must be 'text' or 'html'.".into());
            }
            let content = b
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Some((kind, content))
        }
    };
    let location = v.get("location").filter(|l| !l.is_null()).map(|l| {
        l.get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    });
    let attendees = match v.get("attendees").filter(|a| !a.is_null()) {
        None => None,
        Some(Value::Array(list)) => {
            let mut out = Vec::new();
            for a in list {
                let address = a
                    .pointer("/emailAddress/address")
                    .and_then(Value::as_str)
                    .filter(|s| s.contains('@'))
                    .ok_or("Each attendee needs emailAddress.address.")?;
                let kind = a
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("required")
                    .to_ascii_lowercase();
                if !matches!(kind.as_str(), "required" | "optional" | "resource") {
                    return Err(format!("Attendee type '{kind}' is not valid."));
                }
                let name = a
                    .pointer("/emailAddress/name")
                    .and_then(Value::as_str)
                    .unwrap_or(address);
                out.push(Attendee {
                    address: address.to_owned(),
                    name: name.to_owned(),
                    kind,
                });
            }
            Some(out)
        }
        Some(_) => return Err("Property 'attendees' must be an array.".into()),
    };
    let is_online_meeting = match v.get("isOnlineMeeting") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err("Property 'isOnlineMeeting' must be a boolean.".into()),
    };
    let online_meeting_provider = opt_str(v, "onlineMeetingProvider")?;
    if let Some(p) = &online_meeting_provider {
        if !matches!(
            p.as_str(),
            "teamsForBusiness" | "skypeForBusiness" | "skypeForConsumer" | "unknown"
        ) {
            return Err(format!("onlineMeetingProvider '{p}' is not valid."));
        }
    }
    Ok(EventInput {
        subject: opt_str(v, "subject")?,
        body,
        start: parse_date_time_tz(v, "start")?,
        end: parse_date_time_tz(v, "end")?,
        location,
        attendees,
        is_online_meeting,
        online_meeting_provider,
        transaction_id: opt_str(v, "transactionId")?,
    })
}

fn join_url(world: &mut World, user_id: &str) -> String {
    let meeting = hex::encode(world.rng.gen::<[u8; 18]>());
    format!(
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{meeting}%40thread.v2/0?context=%7b%22Tid%22%3a%22{TENANT_ID}%22%2c%22Oid%22%3a%22{user_id}%22%7d"
    )
}

fn create(
    sandbox: &Sandbox,
    world: &mut World,
    account: &Account,
    input: EventInput,
) -> Result<Event, Response> {
    if let Some(tx) = input.transaction_id.as_deref() {
        let existing = mailbox_mut(world, &account.id)
            .events
            .iter()
            .find(|e| !e.deleted && e.transaction_id.as_deref() == Some(tx))
            .cloned();
        if let Some(existing) = existing {
            return Ok(existing);
        }
    }
    let (Some((start, start_tz)), Some((end, end_tz))) = (input.start, input.end) else {
        return Err(invalid("Both 'start' and 'end' are required."));
    };
    if end < start {
        return Err(invalid("The event's end must not be before its start."));
    }
    let online = input.is_online_meeting.unwrap_or(false);
    let id = format!("AAMkAGI{}", hex::encode(world.rng.gen::<[u8; 20]>()));
    let join = online.then(|| join_url(world, &account.id));
    let (seq, change_key, now) = next_version(world, &account.id);
    let event = Event {
        id,
        seq,
        deleted: false,
        created: now,
        modified: now,
        change_key,
        subject: input.subject.unwrap_or_default(),
        body_type: input
            .body
            .as_ref()
            .map(|b| b.0.clone())
            .unwrap_or_else(|| "html".into()),
        body: input.body.map(|b| b.1).unwrap_or_default(),
        start,
        end,
        start_tz,
        end_tz,
        location: input.location.unwrap_or_default(),
        attendees: input.attendees.unwrap_or_default(),
        organizer_name: account.name.clone(),
        organizer_email: account.email.clone(),
        is_cancelled: false,
        is_online_meeting: online,
        online_meeting_provider: if online {
            input
                .online_meeting_provider
                .unwrap_or_else(|| "teamsForBusiness".into())
        } else {
            "unknown".into()
        },
        join_url: join,
        transaction_id: input.transaction_id,
    };
    mailbox_mut(world, &account.id).events.push(event.clone());
    notify(sandbox, world, &account.id, &event, "created");
    Ok(event)
}

fn check_if_match(event: &Event, if_match: Option<&str>) -> Result<(), Response> {
    match if_match.map(str::trim) {
        None | Some("*") => Ok(()),
        Some(tag) if tag == event.etag() || tag.trim_start_matches("W/") == event.etag().trim_start_matches("W/") => Ok(()),
        Some(_) => Err(graph_error(
            StatusCode::PRECONDITION_FAILED,
            "ErrorIrresolvableConflict",
            "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
        )),
    }
}

fn update(
    sandbox: &Sandbox,
    world: &mut World,
    user_id: &str,
    event_id: &str,
    input: EventInput,
    if_match: Option<&str>,
) -> Result<Event, Response> {
    let current = live_event(world, user_id, event_id)
        .cloned()
        .ok_or_else(not_found)?;
    check_if_match(&current, if_match)?;
    let mut e = current;
    if let Some((start, tz)) = input.start {
        e.start = start;
        e.start_tz = tz;
    }
    if let Some((end, tz)) = input.end {
        e.end = end;
        e.end_tz = tz;
    }
    if e.end < e.start {
        return Err(invalid("The event's end must not be before its start."));
    }
    if let Some(s) = input.subject {
        e.subject = s;
    }
    if let Some((kind, content)) = input.body {
        e.body_type = kind;
        e.body = content;
    }
    if let Some(l) = input.location {
        e.location = l;
    }
    if let Some(a) = input.attendees {
        e.attendees = a;
    }
    if let Some(p) = input.online_meeting_provider {
        e.online_meeting_provider = p;
    }
    match input.is_online_meeting {
        Some(true) if e.join_url.is_none() => {
            e.is_online_meeting = true;
            if e.online_meeting_provider == "unknown" {
                e.online_meeting_provider = "teamsForBusiness".into();
            }
            e.join_url = Some(join_url(world, user_id));
        }
        Some(false) => {
            e.is_online_meeting = false;
            e.online_meeting_provider = "unknown".into();
            e.join_url = None;
        }
        _ => {}
    }
    let (seq, change_key, now) = next_version(world, user_id);
    e.seq = seq;
    e.change_key = change_key;
    e.modified = now;
    store(world, user_id, &e);
    notify(sandbox, world, user_id, &e, "updated");
    Ok(e)
}

fn remove(
    sandbox: &Sandbox,
    world: &mut World,
    user_id: &str,
    event_id: &str,
    if_match: Option<&str>,
) -> Result<Event, Response> {
    let mut e = live_event(world, user_id, event_id)
        .cloned()
        .ok_or_else(not_found)?;
    check_if_match(&e, if_match)?;
    let (seq, change_key, now) = next_version(world, user_id);
    e.seq = seq;
    e.change_key = change_key;
    e.modified = now;
    e.deleted = true;
    store(world, user_id, &e);
    notify(sandbox, world, user_id, &e, "deleted");
    Ok(e)
}

fn store(world: &mut World, user_id: &str, event: &Event) {
    let mailbox = mailbox_mut(world, user_id);
    if let Some(slot) = mailbox.events.iter_mut().find(|x| x.id == event.id) {
        *slot = event.clone();
    }
}

// ---------------------------------------------------------------- notifications

fn is_active(world: &World, sub: &Subscription) -> bool {
    sub.expires > world.now()
}

/// Sends a change notification to every live subscription of the user that
/// asked for this change type.
fn notify(sandbox: &Sandbox, world: &World, user_id: &str, event: &Event, change: &str) {
    let resource = format!("Users/{user_id}/Events/{}", event.id);
    for sub in world
        .microsoft
        .subscriptions
        .iter()
        .filter(|s| s.user_id == user_id && s.notifies(change) && is_active(world, s))
    {
        let body = json!({ "value": [{
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_ts(sub.expires),
            "changeType": change,
            "resource": resource,
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": resource,
                "@odata.etag": event.etag(),
                "id": event.id,
            },
            "clientState": sub.client_state,
            "tenantId": TENANT_ID,
        }]});
        sandbox.deliveries().send(Outbound {
            provider: Provider::Microsoft,
            url: sub.notification_url.clone(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            label: change.to_owned(),
            retry: Retry::Attempts(4),
            calendly_signing_key: None,
        });
    }
}

fn send_lifecycle(sandbox: &Sandbox, sub: &Subscription, kind: &str) -> Option<u64> {
    let url = sub.lifecycle_url.clone()?;
    let body = json!({ "value": [{
        "subscriptionId": sub.id,
        "subscriptionExpirationDateTime": graph_ts(sub.expires),
        "lifecycleEvent": kind,
        "resource": sub.resource,
        "clientState": sub.client_state,
        "tenantId": TENANT_ID,
    }]});
    Some(sandbox.deliveries().send(Outbound {
        provider: Provider::Microsoft,
        url,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
        label: kind.to_owned(),
        retry: Retry::Attempts(4),
        calendly_signing_key: None,
    }))
}

// ---------------------------------------------------------------- API handlers

async fn me(AxState(s): AxState<Sandbox>, headers: HeaderMap) -> Response {
    let world = s.world();
    let account = match authenticate(&world, &headers) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let mut names = account.name.split_whitespace();
    let given = names.next().map(str::to_owned);
    let rest: Vec<&str> = names.collect();
    let surname = (!rest.is_empty()).then(|| rest.join(" "));
    Json(json!({
        "@odata.context": format!("{}/$metadata#users/$entity", graph_root(s.base())),
        "businessPhones": [],
        "displayName": account.name,
        "givenName": given,
        "jobTitle": null,
        "mail": account.email,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": "en-US",
        "surname": surname,
        "userPrincipalName": account.email,
        "id": account.id,
    }))
    .into_response()
}

fn calendar_json(base: &str, account: &Account, calendar_id: &str) -> Value {
    json!({
        "id": calendar_id,
        "name": "Calendar",
        "color": "auto",
        "isDefaultCalendar": true,
        "canShare": true,
        "canViewPrivateItems": true,
        "canEdit": true,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": { "name": account.name, "address": account.email },
        "@odata.context": format!("{}/$metadata#users('{}')/calendars/$entity", graph_root(base), account.id),
    })
}

async fn calendar(AxState(s): AxState<Sandbox>, headers: HeaderMap) -> Response {
    let mut world = s.world();
    let account = match authenticate(&world, &headers) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let calendar_id = mailbox_mut(&mut world, &account.id).calendar_id.clone();
    Json(calendar_json(s.base(), &account, &calendar_id)).into_response()
}

/// Every mailbox here has exactly one calendar, the default one.
async fn calendars(AxState(s): AxState<Sandbox>, headers: HeaderMap) -> Response {
    let mut world = s.world();
    let account = match authenticate(&world, &headers) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let calendar_id = mailbox_mut(&mut world, &account.id).calendar_id.clone();
    let mut entry = calendar_json(s.base(), &account, &calendar_id);
    if let Some(o) = entry.as_object_mut() {
        o.remove("@odata.context");
    }
    Json(json!({
        "@odata.context": format!("{}/$metadata#users('{}')/calendars", graph_root(s.base()), account.id),
        "value": [entry],
    }))
    .into_response()
}

fn paging(q: &HashMap<String, String>) -> Result<(usize, usize), Response> {
    let top = match q.get("$top") {
        None => DEFAULT_PAGE_SIZE,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|t| *t > 0)
            .ok_or_else(|| invalid("Invalid value for $top."))?
            .min(MAX_PAGE_SIZE),
    };
    let skip = match q.get("$skip") {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| invalid("Invalid value for $skip."))?,
    };
    Ok((top, skip))
}

fn collection(context: String, items: Vec<Value>, next: Option<String>) -> Response {
    let mut body = json!({ "@odata.context": context, "value": items });
    if let Some(n) = next {
        body["@odata.nextLink"] = json!(n);
    }
    Json(body).into_response()
}

async fn list_events(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let world = s.world();
        let account = authenticate(&world, &headers)?;
        let (top, skip) = paging(&q)?;
        let tz = out_tz(&headers);
        let live: Vec<&Event> = world
            .microsoft
            .mailboxes
            .get(&account.id)
            .map(|m| m.events.iter().filter(|e| !e.deleted).collect())
            .unwrap_or_default();
        let root = graph_root(s.base());
        let items = live
            .iter()
            .skip(skip)
            .take(top)
            .map(|e| render_item(s.base(), &account.id, e, &tz))
            .collect();
        let next = (live.len() > skip + top)
            .then(|| format!("{root}/me/events?$top={top}&$skip={}", skip + top));
        Ok(collection(
            format!("{root}/$metadata#users('{}')/events", account.id),
            items,
            next,
        ))
    })())
}

async fn calendar_view(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let world = s.world();
        let account = authenticate(&world, &headers)?;
        let (start, end) = window(&q)?;
        let (top, skip) = paging(&q)?;
        let tz = out_tz(&headers);
        let mut live: Vec<&Event> = world
            .microsoft
            .mailboxes
            .get(&account.id)
            .map(|m| {
                m.events
                    .iter()
                    .filter(|e| !e.deleted && overlaps(e, start, end))
                    .collect()
            })
            .unwrap_or_default();
        live.sort_by_key(|e| (e.start, e.seq));
        let root = graph_root(s.base());
        let items = live
            .iter()
            .skip(skip)
            .take(top)
            .map(|e| render_item(s.base(), &account.id, e, &tz))
            .collect();
        let next = (live.len() > skip + top).then(|| {
            let mut url = url::Url::parse(&format!("{root}/me/calendarView")).expect("valid");
            url.query_pairs_mut()
                .append_pair("startDateTime", &start.to_rfc3339())
                .append_pair("endDateTime", &end.to_rfc3339())
                .append_pair("$top", &top.to_string())
                .append_pair("$skip", &(skip + top).to_string());
            url.to_string()
        });
        Ok(collection(
            format!("{root}/$metadata#users('{}')/calendarView", account.id),
            items,
            next,
        ))
    })())
}

fn window(q: &HashMap<String, String>) -> Result<(DateTime<Utc>, DateTime<Utc>), Response> {
    let (Some(start), Some(end)) = (q.get("startDateTime"), q.get("endDateTime")) else {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        ));
    };
    let (Some(start), Some(end)) = (parse_query_time(start), parse_query_time(end)) else {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "startDateTime and endDateTime must be ISO 8601 date-times.",
        ));
    };
    if end <= start {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "endDateTime must be after startDateTime.",
        ));
    }
    Ok((start, end))
}

fn overlaps(e: &Event, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    e.start < end && (e.end > start || (e.end == e.start && e.start >= start))
}

async fn create_event(AxState(s): AxState<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        let v = parse_body(&body)?;
        let input = parse_input(&v).map_err(|m| invalid(&m))?;
        let event = create(&s, &mut world, &account, input)?;
        let tz = out_tz(&headers);
        Ok((
            StatusCode::CREATED,
            Json(render_event(s.base(), &account.id, &event, &tz)),
        )
            .into_response())
    })())
}

async fn get_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let world = s.world();
        let account = authenticate(&world, &headers)?;
        let event = live_event(&world, &account.id, &id).ok_or_else(not_found)?;
        let tz = out_tz(&headers);
        Ok(Json(render_event(s.base(), &account.id, event, &tz)).into_response())
    })())
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn patch_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        let v = parse_body(&body)?;
        let input = parse_input(&v).map_err(|m| invalid(&m))?;
        if input.transaction_id.is_some() {
            return Err(invalid("Property 'transactionId' cannot be updated."));
        }
        let event = update(
            &s,
            &mut world,
            &account.id,
            &id,
            input,
            if_match(&headers).as_deref(),
        )?;
        let tz = out_tz(&headers);
        Ok(Json(render_event(s.base(), &account.id, &event, &tz)).into_response())
    })())
}

async fn delete_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        remove(
            &s,
            &mut world,
            &account.id,
            &id,
            if_match(&headers).as_deref(),
        )?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

fn sync_state_not_found() -> Response {
    graph_error(
        StatusCode::GONE,
        "SyncStateNotFound",
        "The sync state generation is not found. Restart the sync with a fresh delta query.",
    )
}

async fn delta(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        let epoch = mailbox_mut(&mut world, &account.id).sync_epoch;
        let current_seq = mailbox_mut(&mut world, &account.id).seq;
        let token = q.get("$skiptoken").or_else(|| q.get("$deltatoken"));
        let mut cursor = match token {
            Some(t) => {
                let c = world
                    .microsoft
                    .cursors
                    .get(t)
                    .cloned()
                    .ok_or_else(sync_state_not_found)?;
                if c.user_id != account.id || c.epoch != epoch {
                    return Err(sync_state_not_found());
                }
                c
            }
            None => {
                let (start, end) = window(&q)?;
                DeltaCursor {
                    user_id: account.id.clone(),
                    epoch,
                    start,
                    end,
                    from: 0,
                    upto: None,
                    after: 0,
                }
            }
        };
        let upto = *cursor.upto.get_or_insert(current_seq);
        let page_size = max_page_size(&headers).unwrap_or(DEFAULT_PAGE_SIZE);
        let tz = out_tz(&headers);
        let initial = cursor.from == 0;
        let mut changed: Vec<&Event> = world
            .microsoft
            .mailboxes
            .get(&account.id)
            .map(|m| {
                m.events
                    .iter()
                    .filter(|e| e.seq > cursor.from.max(cursor.after) && e.seq <= upto)
                    .collect()
            })
            .unwrap_or_default();
        changed.sort_by_key(|e| e.seq);
        let items: Vec<(u64, Value)> = changed
            .into_iter()
            .filter_map(|e| {
                let visible = !e.deleted && overlaps(e, cursor.start, cursor.end);
                if visible {
                    Some((e.seq, render_item(s.base(), &account.id, e, &tz)))
                } else if initial {
                    None
                } else {
                    Some((
                        e.seq,
                        json!({
                            "@odata.type": "#microsoft.graph.event",
                            "id": e.id,
                            "@removed": { "reason": "deleted" },
                        }),
                    ))
                }
            })
            .collect();
        let more = items.len() > page_size;
        let page: Vec<(u64, Value)> = items.into_iter().take(page_size).collect();
        let root = graph_root(s.base());
        let link_token = world.token("");
        let link_token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(link_token);
        let mut body = json!({
            "@odata.context": format!("{root}/$metadata#Collection(event)"),
            "value": page.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        });
        if more {
            cursor.after = page.last().map(|(seq, _)| *seq).unwrap_or(cursor.after);
            world.microsoft.cursors.insert(link_token.clone(), cursor);
            body["@odata.nextLink"] = json!(format!(
                "{root}/me/calendarView/delta?$skiptoken={link_token}"
            ));
        } else {
            let next = DeltaCursor {
                from: upto,
                upto: None,
                after: 0,
                ..cursor
            };
            world.microsoft.cursors.insert(link_token.clone(), next);
            body["@odata.deltaLink"] = json!(format!(
                "{root}/me/calendarView/delta?$deltatoken={link_token}"
            ));
        }
        let mut response = Json(body).into_response();
        if let Some(n) = max_page_size(&headers) {
            if let Ok(v) = HeaderValue::from_str(&format!("odata.maxpagesize={n}")) {
                response.headers_mut().insert("Preference-Applied", v);
            }
        }
        Ok(response)
    })())
}

async fn get_schedule(AxState(s): AxState<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let world = s.world();
        authenticate(&world, &headers)?;
        let v = parse_body(&body)?;
        let schedules: Vec<String> = v
            .get("schedules")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .filter(|a: &Vec<String>| !a.is_empty())
            .ok_or_else(|| invalid("'schedules' must be a non-empty array of email addresses."))?;
        if schedules.len() > 100 {
            return Err(invalid("At most 100 schedules can be requested."));
        }
        let (start, _) = parse_date_time_tz(&v, "startTime")
            .map_err(|m| invalid(&m))?
            .ok_or_else(|| invalid("'startTime' is required."))?;
        let (end, _) = parse_date_time_tz(&v, "endTime")
            .map_err(|m| invalid(&m))?
            .ok_or_else(|| invalid("'endTime' is required."))?;
        if end <= start {
            return Err(invalid("'endTime' must be after 'startTime'."));
        }
        if end - start > Duration::days(62) {
            return Err(graph_error(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidTimeInterval",
                "The requested time window must not exceed 62 days.",
            ));
        }
        let interval = match v.get("availabilityViewInterval") {
            None | Some(Value::Null) => 30,
            Some(x) => x
                .as_i64()
                .filter(|n| (5..=1440).contains(n))
                .ok_or_else(|| invalid("availabilityViewInterval must be between 5 and 1440."))?,
        };
        let tz = out_tz(&headers);
        let value: Vec<Value> = schedules
            .iter()
            .map(|email| {
                let Some(account) = world.account_by_email(Provider::Microsoft, email) else {
                    return json!({
                        "scheduleId": email,
                        "error": {
                            "message": "The mailbox could not be found.",
                            "responseCode": "ErrorMailRecipientNotFound",
                        },
                    });
                };
                let mut busy: Vec<&Event> = world
                    .microsoft
                    .mailboxes
                    .get(&account.id)
                    .map(|m| {
                        m.events
                            .iter()
                            .filter(|e| {
                                !e.deleted && !e.is_cancelled && e.start < end && e.end > start
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                busy.sort_by_key(|e| e.start);
                let mut view = String::new();
                let mut slot = start;
                while slot < end {
                    let slot_end = slot + Duration::minutes(interval);
                    let taken = busy.iter().any(|e| e.start < slot_end && e.end > slot);
                    view.push(if taken { '2' } else { '0' });
                    slot = slot_end;
                }
                let items: Vec<Value> = busy
                    .iter()
                    .map(|e| {
                        json!({
                            "isPrivate": false,
                            "status": "busy",
                            "subject": e.subject,
                            "location": e.location,
                            "start": date_time_tz(e.start, &tz),
                            "end": date_time_tz(e.end, &tz),
                        })
                    })
                    .collect();
                json!({
                    "scheduleId": email,
                    "availabilityView": view,
                    "scheduleItems": items,
                    "workingHours": {
                        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                        "startTime": "08:00:00.0000000",
                        "endTime": "17:00:00.0000000",
                        "timeZone": { "name": account.time_zone },
                    },
                })
            })
            .collect();
        Ok(Json(json!({
            "@odata.context": format!("{}/$metadata#Collection(microsoft.graph.scheduleInformation)", graph_root(s.base())),
            "value": value,
        }))
        .into_response())
    })())
}

// ---------------------------------------------------------------- subscriptions

fn render_subscription(base: &str, sub: &Subscription) -> Value {
    json!({
        "@odata.context": format!("{}/$metadata#subscriptions/$entity", graph_root(base)),
        "id": sub.id,
        "resource": sub.resource,
        "applicationId": sub.application_id,
        "changeType": sub.change_type,
        "clientState": sub.client_state,
        "notificationUrl": sub.notification_url,
        "notificationQueryOptions": null,
        "lifecycleNotificationUrl": sub.lifecycle_url,
        "expirationDateTime": graph_ts(sub.expires),
        "creatorId": sub.user_id,
        "includeResourceData": null,
        "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": null,
        "encryptionCertificateId": null,
        "notificationUrlAppId": null,
    })
}

fn check_expiration(world: &World, v: &Value) -> Result<DateTime<Utc>, Response> {
    let expires = v
        .get("expirationDateTime")
        .and_then(Value::as_str)
        .and_then(parse_query_time)
        .ok_or_else(|| {
            invalid("expirationDateTime is required and must be an ISO 8601 date-time.")
        })?;
    let now = world.now();
    if expires <= now {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "ExtensionError",
            "Subscription expiration must be in the future.",
        ));
    }
    if expires > now + Duration::minutes(MAX_SUBSCRIPTION_MINUTES) {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "ExtensionError",
            "Subscription expiration can only be 10080 minutes in the future.",
        ));
    }
    Ok(expires)
}

fn normalize_resource(resource: &str, account: &Account) -> Option<String> {
    let r = resource.trim().trim_start_matches('/');
    let lower = r.to_ascii_lowercase();
    let ok = lower == "me/events"
        || lower == "me/calendar/events"
        || lower == format!("users/{}/events", account.id)
        || lower == format!("users/{}/events", account.email);
    ok.then(|| r.to_owned())
}

fn check_url(sandbox: &Sandbox, url: &str, what: &str) -> Result<(), Response> {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {
            if sandbox.callback_allowed(url) {
                Ok(())
            } else {
                Err(invalid(&format!(
                    "{what} must point at the app the sandbox serves."
                )))
            }
        }
        _ => Err(invalid(&format!("{what} must be an absolute http(s) URL."))),
    }
}

/// Graph's handshake: POST `url?validationToken=…`; the endpoint must answer
/// 200 with the token as the body within the timeout.
async fn validate_endpoint(
    sandbox: &Sandbox,
    url: &str,
    token: &str,
    timeout_ms: u64,
) -> Result<(), String> {
    let mut target = url::Url::parse(url).map_err(|e| e.to_string())?;
    target
        .query_pairs_mut()
        .append_pair("validationToken", token);
    let target = super::delivery::target_url(sandbox, target.as_str());
    let response = sandbox
        .http()
        .post(target)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .timeout(std::time::Duration::from_millis(timeout_ms.max(1)))
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request within the timeout.".to_owned()
            } else {
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.".to_owned()
            }
        })?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!(
            "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. Response status code does not indicate success: {}.",
            response.status().as_u16()
        ));
    }
    let text = tokio::time::timeout(
        std::time::Duration::from_millis(timeout_ms.max(1)),
        response.text(),
    )
    .await
    .map_err(|_| "Subscription validation request failed. Timed out reading the response.")?
    .map_err(|_| "Subscription validation request failed. Could not read the response.")?;
    if text != token {
        return Err(
            "Subscription validation request failed. Response must exactly match validationToken query parameter."
                .into(),
        );
    }
    Ok(())
}

async fn create_subscription(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Checks under the lock, the handshake without it, then the insert.
    let prepared = (|| -> Result<(Subscription, String, u64), Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        let v = parse_body(&body)?;
        let change_type = v
            .get("changeType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let kinds: Vec<&str> = change_type.split(',').map(str::trim).collect();
        if change_type.is_empty()
            || kinds
                .iter()
                .any(|k| !matches!(*k, "created" | "updated" | "deleted"))
        {
            return Err(invalid(
                "changeType must be a comma-separated list of created, updated and deleted.",
            ));
        }
        let notification_url = v
            .get("notificationUrl")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        check_url(&s, &notification_url, "notificationUrl")?;
        let lifecycle_url = opt_str(&v, "lifecycleNotificationUrl").map_err(|m| invalid(&m))?;
        if let Some(u) = &lifecycle_url {
            check_url(&s, u, "lifecycleNotificationUrl")?;
        }
        let resource = v
            .get("resource")
            .and_then(Value::as_str)
            .and_then(|r| normalize_resource(r, &account))
            .ok_or_else(|| {
                graph_error(
                    StatusCode::BAD_REQUEST,
                    "ExtensionError",
                    "Operation: Create; Exception: [Status Code: BadRequest; Reason: The resource is not supported. Use 'me/events'.]",
                )
            })?;
        let client_state = opt_str(&v, "clientState").map_err(|m| invalid(&m))?;
        if client_state
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_CLIENT_STATE)
        {
            return Err(invalid(
                "clientState must not be longer than 128 characters.",
            ));
        }
        let expires = check_expiration(&world, &v)?;
        let token = format!(
            "Validation: Testing client application reachability for subscription Request-Id: {}",
            world.uuid()
        );
        let sub = Subscription {
            id: String::new(),
            user_id: account.id.clone(),
            application_id: application_id(&world, &headers),
            resource,
            change_type: kinds.join(","),
            notification_url,
            lifecycle_url,
            client_state,
            expires,
        };
        Ok((sub, token, world.tunables.validation_timeout_ms))
    })();
    let (mut sub, token, timeout_ms) = match prepared {
        Ok(p) => p,
        Err(e) => return e,
    };
    let mut urls = vec![sub.notification_url.clone()];
    urls.extend(sub.lifecycle_url.clone());
    for url in urls {
        if let Err(message) = validate_endpoint(&s, &url, &token, timeout_ms).await {
            return graph_error(StatusCode::BAD_REQUEST, "ValidationError", &message);
        }
    }
    let mut world = s.world();
    sub.id = world.uuid();
    world.microsoft.subscriptions.push(sub.clone());
    (
        StatusCode::CREATED,
        Json(render_subscription(s.base(), &sub)),
    )
        .into_response()
}

fn subscription_index(world: &World, user_id: &str, id: &str) -> Result<usize, Response> {
    world
        .microsoft
        .subscriptions
        .iter()
        .position(|sub| sub.id == id && sub.user_id == user_id && is_active(world, sub))
        .ok_or_else(|| {
            graph_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!(
                    "The object was not found. Subscription '{id}' does not exist or has expired."
                ),
            )
        })
}

async fn list_subscriptions(AxState(s): AxState<Sandbox>, headers: HeaderMap) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let world = s.world();
        let account = authenticate(&world, &headers)?;
        let items: Vec<Value> = world
            .microsoft
            .subscriptions
            .iter()
            .filter(|sub| sub.user_id == account.id && is_active(&world, sub))
            .map(|sub| {
                let mut v = render_subscription(s.base(), sub);
                if let Some(o) = v.as_object_mut() {
                    o.remove("@odata.context");
                }
                v
            })
            .collect();
        Ok(collection(
            format!("{}/$metadata#subscriptions", graph_root(s.base())),
            items,
            None,
        ))
    })())
}

async fn get_subscription(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let world = s.world();
        let account = authenticate(&world, &headers)?;
        let i = subscription_index(&world, &account.id, &id)?;
        Ok(Json(render_subscription(
            s.base(),
            &world.microsoft.subscriptions[i],
        ))
        .into_response())
    })())
}

async fn patch_subscription(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        let i = subscription_index(&world, &account.id, &id)?;
        let v = parse_body(&body)?;
        let expires = check_expiration(&world, &v)?;
        let sub = &mut world.microsoft.subscriptions[i];
        sub.expires = expires;
        Ok(Json(render_subscription(s.base(), sub)).into_response())
    })())
}

async fn delete_subscription(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        let i = subscription_index(&world, &account.id, &id)?;
        world.microsoft.subscriptions.remove(i);
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

// ---------------------------------------------------------------- control routes

async fn control_create(AxState(s): AxState<Sandbox>, body: Bytes) -> Response {
    let event: OwnerEvent = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => return bad_request(format!("invalid owner event: {e}")),
    };
    match create_owner_event(&s, event) {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => e,
    }
}

async fn control_patch(
    AxState(s): AxState<Sandbox>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let v = parse_control_body(&body)?;
        let email = v
            .get("owner_email")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let text = |key: &str| -> Result<Option<String>, Response> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(x)) => Ok(Some(x.clone())),
                Some(_) => Err(bad_request(format!("{key} must be a string"))),
            }
        };
        let time = |key: &str| -> Result<Option<(DateTime<Utc>, String)>, Response> {
            match text(key)? {
                None => Ok(None),
                Some(x) => parse_query_time(&x)
                    .map(|d| Some((d, "UTC".to_owned())))
                    .ok_or_else(|| bad_request(format!("{key} must be an RFC 3339 date-time"))),
            }
        };
        let input = EventInput {
            subject: text("summary")?,
            start: time("start")?,
            end: time("end")?,
            ..EventInput::default()
        };
        let mut world = s.world();
        let account = owner(&world, email)?;
        let current = live_event(&world, &account.id, &id)
            .ok_or_else(|| control_not_found("no such event in that owner's calendar"))?;
        let start = input.start.as_ref().map_or(current.start, |x| x.0);
        let end = input.end.as_ref().map_or(current.end, |x| x.0);
        if end <= start {
            return Err(bad_request("end must be after start"));
        }
        let event = update(&s, &mut world, &account.id, &id, input, None)?;
        Ok(Json(render_event(s.base(), &account.id, &event, &utc())).into_response())
    })())
}

async fn control_delete(
    AxState(s): AxState<Sandbox>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = owner(&world, q.get("owner_email").map_or("", String::as_str))?;
        if live_event(&world, &account.id, &id).is_none() {
            return Err(control_not_found("no such event in that owner's calendar"));
        }
        remove(&s, &mut world, &account.id, &id, None)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

/// The accounts a control call targets: one owner, or every Microsoft user.
fn targets(world: &World, body: &Bytes) -> Result<Vec<Account>, Response> {
    let v = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        parse_control_body(body)?
    };
    match v.get("owner_email") {
        None | Some(Value::Null) => Ok(world
            .accounts
            .iter()
            .filter(|a| a.provider == Provider::Microsoft)
            .cloned()
            .collect()),
        Some(Value::String(email)) => Ok(vec![owner(world, email)?]),
        Some(_) => Err(bad_request("owner_email must be a string")),
    }
}

async fn control_invalidate(AxState(s): AxState<Sandbox>, body: Bytes) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let mut world = s.world();
        let accounts = targets(&world, &body)?;
        for a in &accounts {
            mailbox_mut(&mut world, &a.id).sync_epoch += 1;
        }
        let ids: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
        world
            .microsoft
            .cursors
            .retain(|_, c| !ids.contains(&c.user_id.as_str()));
        Ok(Json(json!({ "invalidated": accounts.len() })).into_response())
    })())
}

async fn control_expire(AxState(s): AxState<Sandbox>, body: Bytes) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let mut world = s.world();
        let accounts = targets(&world, &body)?;
        let now = world.now();
        let mut expired = 0;
        for sub in world.microsoft.subscriptions.iter_mut() {
            if accounts.iter().any(|a| a.id == sub.user_id) && sub.expires > now {
                sub.expires = now - Duration::seconds(1);
                expired += 1;
            }
        }
        Ok(Json(json!({ "expired": expired })).into_response())
    })())
}

async fn control_lifecycle(AxState(s): AxState<Sandbox>, body: Bytes) -> Response {
    unwrap((|| -> Result<Response, Response> {
        let v = parse_control_body(&body)?;
        let id = v
            .get("subscription_id")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_request("subscription_id is required"))?;
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or_default();
        if !matches!(
            kind,
            "reauthorizationRequired" | "subscriptionRemoved" | "missed"
        ) {
            return Err(bad_request(
                "kind must be reauthorizationRequired, subscriptionRemoved or missed",
            ));
        }
        let mut world = s.world();
        let i = world
            .microsoft
            .subscriptions
            .iter()
            .position(|sub| sub.id == id)
            .ok_or_else(|| control_not_found("no such subscription"))?;
        let sub = world.microsoft.subscriptions[i].clone();
        if sub.lifecycle_url.is_none() {
            return Err(bad_request(
                "the subscription has no lifecycleNotificationUrl",
            ));
        }
        let delivery = send_lifecycle(&s, &sub, kind);
        if kind == "subscriptionRemoved" {
            world.microsoft.subscriptions.remove(i);
        }
        Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "delivery_id": delivery, "subscription_id": id, "kind": kind })),
        )
            .into_response())
    })())
}
