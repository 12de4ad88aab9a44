//! Graph's conventions: errors, the caller, bodies and paging, date-times
//! and time zones (IANA and Windows names, `Prefer: outlook.timezone`), and
//! the JSON of events.

use super::state::{Event, EventKind};
use crate::core::Account;
use crate::Provider;
use crate::{oauth, World};
use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};
use std::collections::HashMap;

pub(super) const DEFAULT_PAGE_SIZE: usize = 10;
const MAX_PAGE_SIZE: usize = 1000;

pub(super) fn graph_root(base: &str) -> String {
    format!("{base}/graph/v1.0")
}

/// An error in Graph's shape, with a specific code.
pub(super) fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
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

pub(super) fn invalid(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "ErrorInvalidRequest", message)
}

pub(super) fn not_found() -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

pub(super) fn authenticate(world: &World, headers: &HeaderMap) -> Result<Account, Response> {
    oauth::authenticate(world, Provider::Microsoft, headers)
}

/// The OAuth client the bearer token was issued to.
pub(super) fn application_id(world: &World, headers: &HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| world.oauth.access_tokens.get(t.trim()))
        .map(|g| g.client_id.clone())
        .unwrap_or_default()
}

pub(super) fn parse_body(body: &Bytes) -> Result<Value, Response> {
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

pub(super) fn paging(q: &HashMap<String, String>) -> Result<(usize, usize), Response> {
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

pub(super) fn collection(context: String, items: Vec<Value>, next: Option<String>) -> Response {
    let mut body = json!({ "@odata.context": context, "value": items });
    if let Some(n) = next {
        body["@odata.nextLink"] = json!(n);
    }
    Json(body).into_response()
}

/// `2026-11-22T10:00:00.0000000` (Graph's dateTimeTimeZone format).
pub(super) fn graph_local(dt: NaiveDateTime) -> String {
    format!(
        "{}.{:07}",
        dt.format("%Y-%m-%dT%H:%M:%S"),
        dt.and_utc().timestamp_subsec_nanos() / 100
    )
}

/// `2026-11-22T10:00:00.0000000Z`.
pub(super) fn graph_ts(dt: DateTime<Utc>) -> String {
    format!("{}Z", graph_local(dt.naive_utc()))
}

pub(super) fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

pub(super) fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()
}

/// A query date-time (`startDateTime=2026-01-01T00:00:00Z`, or without an
/// offset, meaning UTC).
pub(super) fn parse_query_time(s: &str) -> Option<DateTime<Utc>> {
    parse_rfc3339(s).or_else(|| parse_naive(s).map(|n| n.and_utc()))
}

/// IANA names, `UTC` and the common Windows zone names Outlook uses.
pub(super) fn resolve_tz(name: &str) -> Option<Tz> {
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

pub(super) fn to_utc(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
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
pub(super) struct OutTz {
    name: String,
    tz: Tz,
}

pub(super) fn utc() -> OutTz {
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

pub(super) fn out_tz(headers: &HeaderMap) -> OutTz {
    preferences(headers)
        .into_iter()
        .find(|(k, _)| k == "outlook.timezone")
        .and_then(|(_, name)| resolve_tz(&name).map(|tz| OutTz { name, tz }))
        .unwrap_or_else(utc)
}

pub(super) fn max_page_size(headers: &HeaderMap) -> Option<usize> {
    preferences(headers)
        .into_iter()
        .find(|(k, _)| k == "odata.maxpagesize")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .map(|n| n.min(MAX_PAGE_SIZE))
}

pub(super) fn date_time_tz(dt: DateTime<Utc>, tz: &OutTz) -> Value {
    json!({
        "dateTime": graph_local(dt.with_timezone(&tz.tz).naive_local()),
        "timeZone": tz.name,
    })
}

/// An event's time as the reader's zone shows it; an all-day event's
/// dates are the same in every zone (midnight, as Graph gives them).
fn when(dt: DateTime<Utc>, all_day: bool, tz: &OutTz) -> Value {
    match all_day {
        true => json!({ "dateTime": graph_local(dt.naive_utc()), "timeZone": tz.name }),
        false => date_time_tz(dt, tz),
    }
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

pub(super) fn render_event(base: &str, user_id: &str, e: &Event, tz: &OutTz) -> Value {
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
        "isAllDay": e.is_all_day,
        "isCancelled": e.is_cancelled,
        "isOrganizer": true,
        "responseRequested": true,
        "seriesMasterId": match &e.kind {
            EventKind::Occurrence { master } | EventKind::Exception { master } => json!(master),
            _ => Value::Null,
        },
    });
    let more = json!({
        "showAs": "busy",
        "type": match e.kind {
            EventKind::SingleInstance => "singleInstance",
            EventKind::SeriesMaster { .. } => "seriesMaster",
            EventKind::Occurrence { .. } => "occurrence",
            EventKind::Exception { .. } => "exception",
        },
        "webLink": format!("https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item", e.id),
        "onlineMeetingUrl": null,
        "isOnlineMeeting": e.is_online_meeting,
        "onlineMeetingProvider": e.online_meeting_provider,
        "allowNewTimeProposals": true,
        "isDraft": false,
        "hideAttendees": false,
        "responseStatus": { "response": "organizer", "time": "0001-01-01T00:00:00Z" },
        "body": { "contentType": e.body_type, "content": e.body },
        "start": when(e.start, e.is_all_day, tz),
        "end": when(e.end, e.is_all_day, tz),
        "location": {
            "displayName": e.location,
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        },
        "locations": if e.location.is_empty() { json!([]) } else { json!([{ "displayName": e.location, "locationType": "default" }]) },
        "recurrence": match &e.kind {
            EventKind::SeriesMaster { recurrence } => recurrence.clone(),
            _ => Value::Null,
        },
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
pub(super) fn render_item(base: &str, user_id: &str, e: &Event, tz: &OutTz) -> Value {
    let mut v = render_event(base, user_id, e, tz);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("@odata.context");
    }
    v
}
