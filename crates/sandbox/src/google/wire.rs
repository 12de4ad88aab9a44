//! Google Calendar's wire format: errors, timestamps and etags, event times,
//! query parameters and the JSON of events and calendars.

use super::state::{Calendar, Event, When};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const ETAG_BASE: u64 = 3_412_000_000_000_000;

/// An error in Google's JSON shape with an explicit `reason`.
pub(super) fn gerr(status: StatusCode, reason: &str, message: &str) -> Response {
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

pub(super) fn bad(message: &str) -> Response {
    gerr(StatusCode::BAD_REQUEST, "invalid", message)
}

pub(super) fn not_found() -> Response {
    gerr(StatusCode::NOT_FOUND, "notFound", "Not Found")
}

/// The caller behind the bearer token, or the provider's 401 returned from
/// the handler.
macro_rules! authenticate {
    ($world:expr, $headers:expr) => {
        match $crate::oauth::authenticate(&$world, $crate::Provider::Google, &$headers) {
            Ok(account) => {
                let limit = $world.tunables.google_rate_limit_per_minute;
                let key = format!("google:{}", account.id);
                if let Some(reset) = $world.rate_limited(&key, limit) {
                    return $crate::google::wire::rate_limit_exceeded(reset.1);
                }
                account
            }
            Err(response) => return response,
        }
    };
}

/// Google's answer past a user's per-minute quota: 429
/// `rateLimitExceeded`, with when to come back.
pub(crate) fn rate_limit_exceeded(reset_secs: i64) -> Response {
    let mut response = gerr(
        StatusCode::TOO_MANY_REQUESTS,
        "rateLimitExceeded",
        "Rate Limit Exceeded",
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&reset_secs.max(1).to_string()) {
        response.headers_mut().insert("Retry-After", v);
    }
    response
}
pub(super) use authenticate;

pub(super) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(super) fn etag(n: u64) -> String {
    format!("\"{}\"", ETAG_BASE + n * 1000)
}

pub(super) fn rfc1123(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

pub(super) fn when_string(w: &When) -> Value {
    w.json
        .get("dateTime")
        .or_else(|| w.json.get("date"))
        .cloned()
        .unwrap_or(Value::Null)
}

pub(super) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("The request body must be a JSON object.".into()),
        Err(e) => Err(format!("Parse Error: {e}")),
    }
}

pub(super) fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

pub(super) fn parse_when(v: &Value, calendar_tz: &str) -> Result<When, String> {
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

pub(super) fn event_json(cal: &Calendar, e: &Event) -> Value {
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

pub(super) fn if_match_fails(headers: &HeaderMap, e: &Event) -> bool {
    let Some(value) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let current = etag(e.etag);
    !value.split(',').map(str::trim).any(|candidate| {
        candidate == "*"
            || candidate.trim_start_matches("W/").trim_matches('"') == current.trim_matches('"')
    })
}

pub(super) fn bool_param(q: &HashMap<String, String>, key: &str) -> Result<bool, Response> {
    match q.get(key).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(bad(&format!("Invalid boolean value for {key}."))),
    }
}

pub(super) fn time_param(
    q: &HashMap<String, String>,
    key: &str,
) -> Result<Option<DateTime<Utc>>, Response> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => parse_time(v).map(Some).ok_or_else(|| {
            bad(&format!(
                "Invalid value for {key}: expected RFC 3339 with offset."
            ))
        }),
    }
}

pub(super) fn conference_version(q: &HashMap<String, String>) -> Result<u8, Response> {
    match q.get("conferenceDataVersion") {
        None => Ok(0),
        Some(v) => match v.parse::<u8>() {
            Ok(n) if n <= 1 => Ok(n),
            _ => Err(bad("conferenceDataVersion must be 0 or 1.")),
        },
    }
}

pub(super) fn calendar_entry_json(cal: &Calendar) -> Value {
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
