//! Changing events: ids, the fields a body sets, Meet links, and storing a
//! change with a new etag and change stamp.

use super::state::{Event, State};
use super::wire::{event_json, parse_when};
use crate::World;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{json, Map, Value};

const BASE32HEX: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
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

fn random_chars(world: &mut World, alphabet: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| alphabet[world.rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

pub(super) fn new_event_id(world: &mut World) -> String {
    random_chars(world, BASE32HEX, 26)
}

pub(super) fn valid_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|b| BASE32HEX.contains(&b))
}

pub(super) type FieldError = (&'static str, String);

/// Applies an insert (`full`), update (`full`) or patch body to an event.
/// Works on the caller's copy: nothing is stored on error.
pub(super) fn apply_fields(
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
pub(super) fn apply_conference(
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
            e.pending_meet = None;
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
                request_meet(world, e, request_id);
            }
            Ok(())
        }
    }
}

/// A Meet ready at once (an event the owner made in the sandbox).
pub(super) fn attach_meet(world: &mut World, e: &mut Event, request_id: &str) {
    let code = meet_code(world);
    e.conference = Some(meet_conference(request_id, Some(&code)));
    e.hangout_link = Some(meet_uri(&code));
}

/// A Meet asked for through the API: like Google, the answer says
/// `pending`; a later read of the event finds it done ([`settle_meet`]).
fn request_meet(world: &mut World, e: &mut Event, request_id: &str) {
    let code = meet_code(world);
    e.conference = Some(meet_conference(request_id, None));
    e.hangout_link = None;
    e.pending_meet = Some(code);
}

/// Finishes a pending Meet; whether one was pending.
pub(super) fn settle_meet(e: &mut Event) -> bool {
    let Some(code) = e.pending_meet.take() else {
        return false;
    };
    let request_id = e
        .conference
        .as_ref()
        .and_then(|c| c.pointer("/createRequest/requestId"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    e.conference = Some(meet_conference(&request_id, Some(&code)));
    e.hangout_link = Some(meet_uri(&code));
    true
}

fn meet_code(world: &mut World) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    format!(
        "{}-{}-{}",
        random_chars(world, LETTERS, 3),
        random_chars(world, LETTERS, 4),
        random_chars(world, LETTERS, 3)
    )
}

fn meet_uri(code: &str) -> String {
    format!("https://meet.google.com/{code}")
}

/// `conferenceData`: `pending` without a link, `success` with its code.
fn meet_conference(request_id: &str, code: Option<&str>) -> Value {
    let create_request = |status: &str| {
        json!({
            "requestId": request_id,
            "conferenceSolutionKey": { "type": "hangoutsMeet" },
            "status": { "statusCode": status },
        })
    };
    let Some(code) = code else {
        return json!({ "createRequest": create_request("pending") });
    };
    json!({
        "createRequest": create_request("success"),
        "entryPoints": [{
            "entryPointType": "video",
            "uri": meet_uri(code),
            "label": format!("meet.google.com/{code}"),
        }],
        "conferenceSolution": {
            "key": { "type": "hangoutsMeet" },
            "name": "Google Meet",
            "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
        },
        "conferenceId": code,
    })
}

/// Stores a changed (or new) event: new etag, change stamp and `updated`.
pub(super) fn store(state: &mut State, ci: usize, mut e: Event, now: DateTime<Utc>) -> Value {
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
