//! Control routes under `/_control/google/`: the calendar owner editing in
//! Google Calendar's own UI, and tests invalidating sync tokens and
//! expiring channels.

use super::channels::{notify, send_all};
use super::events::{apply_fields, attach_meet, new_event_id, store};
use super::state::{calendar_index, Event, Series, State};
use super::wire::{parse_object, parse_time};
use crate::core::{bad_request, control_error, Account, OwnerEvent, Repeat};
use crate::Provider;
use crate::{Sandbox, World};
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, FixedOffset};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// An instance changed on its own becomes an exception: listed even
/// without `singleEvents`, as Google lists a series' exceptions.
fn mark_exception(e: &mut Event) {
    if let Some(Series::Instance { .. }) = e.series {
        e.series = Some(Series::Instance { exception: true });
    }
}

/// An instance's id suffix: its original start (`20261224T100000Z`, or
/// `20261224` all day).
fn instance_stamp(e: &Event) -> String {
    match e.start.json.get("date") {
        Some(_) => e.start.at.format("%Y%m%d").to_string(),
        None => e.start.at.format("%Y%m%dT%H%M%SZ").to_string(),
    }
}

/// The owner adds an event (or a recurring series, stored as its master and
/// its instances) in Google Calendar's own UI: watch channels on that
/// calendar are notified.
pub fn create_owner_event(sandbox: &Sandbox, event: OwnerEvent) -> Result<Value, Response> {
    let mut guard = sandbox.world();
    let world = &mut *guard;
    let account = world
        .account_by_email(Provider::Google, event.owner_email.trim())
        .cloned()
        .ok_or_else(|| {
            control_error(
                StatusCode::NOT_FOUND,
                "no Google account with that owner_email",
            )
        })?;
    let ci = calendar_index(
        &world.google,
        &account,
        event.calendar_id.as_deref().unwrap_or("primary"),
    )
    .ok_or_else(|| {
        control_error(
            StatusCode::NOT_FOUND,
            "the owner has no calendar with that calendar_id",
        )
    })?;
    let start = DateTime::parse_from_rfc3339(event.start.trim())
        .map_err(|_| bad_request("start must be an RFC 3339 date-time"))?;
    let end = DateTime::parse_from_rfc3339(event.end.trim())
        .map_err(|_| bad_request("end must be an RFC 3339 date-time"))?;
    if end <= start {
        return Err(bad_request("end must be after start"));
    }
    if let Some(bad) = event.attendees.iter().find(|a| !a.contains('@')) {
        return Err(bad_request(format!(
            "attendee '{bad}' is not an email address"
        )));
    }
    let zone = match event.time_zone.as_deref() {
        None => None,
        Some(name) => Some(
            name.parse::<chrono_tz::Tz>()
                .map_err(|_| bad_request("time_zone must be an IANA zone"))?,
        ),
    };
    if event.all_day && start.date_naive() >= end.date_naive() {
        return Err(bad_request("an all-day event ends on a later date"));
    }
    if let Some(repeat) = event.repeat {
        if !(1..=Repeat::MAX_COUNT).contains(&repeat.count) {
            return Err(bad_request("a series has 1 to 366 instances"));
        }
    }
    let attendees: Vec<Value> = event
        .attendees
        .iter()
        .map(|a| json!({ "email": a.trim() }))
        .collect();
    let step = event.repeat.map_or(0, |r| r.step_days());
    // The `k`th instance's start or end: the same wall time `k` steps on.
    let when = |t: DateTime<FixedOffset>, k: u64| -> Value {
        let days = chrono::Days::new(k * step);
        if event.all_day {
            return json!({ "date": (t.date_naive() + days).format("%Y-%m-%d").to_string() });
        }
        match zone {
            Some(z) => {
                let local = t.with_timezone(&z).naive_local() + days;
                json!({ "dateTime": local.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": z.name() })
            }
            None => json!({ "dateTime": (t + days).to_rfc3339() }),
        }
    };
    let body = |k: u64| {
        json!({
            "summary": event.summary,
            "start": when(start, k),
            "end": when(end, k),
            "attendees": attendees,
            "transparency": if event.free { "transparent" } else { "opaque" },
        })
    };
    let now = world.now();
    let tz = world.google.calendars[ci].time_zone.clone();
    let made = |world: &mut World, id: String, k: u64| -> Result<Event, Response> {
        let mut e = Event::new(id, account.email.clone(), now);
        apply_fields(
            &mut e,
            body(k).as_object().expect("literal object"),
            true,
            &tz,
        )
        .map_err(|(_, m)| bad_request(m))?;
        if event.online_meeting {
            let request_id = world.uuid();
            attach_meet(world, &mut e, &request_id);
        }
        Ok(e)
    };
    let id = new_event_id(world);
    let mut e = made(world, id.clone(), 0)?;
    if let Some(repeat) = event.repeat {
        e.series = Some(Series::Master);
        e.extra.insert("recurrence".into(), json!([repeat.rrule()]));
        for k in 0..u64::from(repeat.count) {
            let mut instance = made(world, String::new(), k)?;
            instance.id = format!("{id}_{}", instance_stamp(&instance));
            instance.series = Some(Series::Instance { exception: false });
            instance.extra.insert("recurringEventId".into(), json!(id));
            instance
                .extra
                .insert("originalStartTime".into(), instance.start.json.clone());
            store(&mut world.google, ci, instance, now);
        }
    }
    let value = store(&mut world.google, ci, e, now);
    let calendar_id = world.google.calendars[ci].id.clone();
    let outbound = notify(world, &calendar_id);
    drop(guard);
    send_all(sandbox, outbound);
    Ok(value)
}

fn control_body(bytes: &[u8]) -> Result<Map<String, Value>, Response> {
    parse_object(bytes).map_err(bad_request)
}

fn owner_account(world: &World, email: Option<&str>) -> Result<Account, Response> {
    let email = email
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| bad_request("owner_email is required"))?;
    world
        .account_by_email(Provider::Google, email)
        .cloned()
        .ok_or_else(|| {
            control_error(
                StatusCode::NOT_FOUND,
                "no Google account with that owner_email",
            )
        })
}

/// Finds an event in any of the owner's calendars: (calendar, event) indices.
fn find_owned_event(state: &State, account: &Account, event_id: &str) -> Option<(usize, usize)> {
    state.calendars.iter().enumerate().find_map(|(ci, c)| {
        (c.account_id == account.id)
            .then(|| c.index.get(event_id).map(|&i| (ci, i)))
            .flatten()
    })
}

pub(super) async fn control_create(AxState(s): AxState<Sandbox>, bytes: Bytes) -> Response {
    let event: OwnerEvent = match serde_json::from_slice(&bytes) {
        Ok(e) => e,
        Err(e) => return bad_request(format!("invalid owner event: {e}")),
    };
    match create_owner_event(&s, event) {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(r) => r,
    }
}

pub(super) async fn control_patch(
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
        return control_error(StatusCode::NOT_FOUND, "the owner has no event with that id");
    };
    let mut patch = Map::new();
    if let Some(v) = body.get("summary") {
        if !v.is_string() {
            return bad_request("summary must be a string");
        }
        patch.insert("summary".into(), v.clone());
    }
    for key in ["start", "end"] {
        if let Some(v) = body.get(key) {
            match v.as_str().and_then(parse_time) {
                Some(_) => {
                    patch.insert(key.into(), json!({ "dateTime": v }));
                }
                None => return bad_request(format!("{key} must be an RFC 3339 date-time")),
            }
        }
    }
    let cal = &world.google.calendars[ci];
    let mut e = cal.events[i].clone();
    if e.status == "cancelled" {
        return control_error(StatusCode::CONFLICT, "the event is cancelled");
    }
    if e.series == Some(Series::Master) {
        return control_error(
            StatusCode::CONFLICT,
            "change one instance of a series here, not the whole series",
        );
    }
    mark_exception(&mut e);
    let tz = cal.time_zone.clone();
    if let Err((_, m)) = apply_fields(&mut e, &patch, false, &tz) {
        return bad_request(m);
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

pub(super) async fn control_delete(
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
        return control_error(StatusCode::NOT_FOUND, "the owner has no event with that id");
    };
    let mut e = world.google.calendars[ci].events[i].clone();
    if e.status == "cancelled" {
        return control_error(StatusCode::CONFLICT, "the event is already cancelled");
    }
    e.status = "cancelled".into();
    e.sequence += 1;
    mark_exception(&mut e);
    let now = world.now();
    // Deleting a series deletes every instance with it.
    let instances: Vec<Event> = match e.series {
        Some(Series::Master) => world.google.calendars[ci]
            .events
            .iter()
            .filter(|i| {
                i.extra.get("recurringEventId") == Some(&json!(e.id)) && i.status != "cancelled"
            })
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    for mut instance in instances {
        instance.status = "cancelled".into();
        instance.sequence += 1;
        store(&mut world.google, ci, instance, now);
    }
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
        Some(_) => return Err(bad_request("owner_email must be a string")),
    };
    Ok(world
        .google
        .calendars
        .iter()
        .filter(|c| account.as_ref().is_none_or(|a| a.id == c.account_id))
        .map(|c| c.id.clone())
        .collect())
}

pub(super) async fn control_invalidate(AxState(s): AxState<Sandbox>, bytes: Bytes) -> Response {
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

pub(super) async fn control_expire(AxState(s): AxState<Sandbox>, bytes: Bytes) -> Response {
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

/// The mails `sendUpdates` asked for, oldest first.
pub(super) async fn control_invitations(AxState(s): AxState<Sandbox>) -> Response {
    let world = s.world();
    let invitations: Vec<Value> = world
        .google
        .invitations
        .iter()
        .map(|i| json!({ "event_id": i.event_id, "kind": i.kind, "to": i.to }))
        .collect();
    Json(json!({ "invitations": invitations })).into_response()
}

pub(super) async fn control_channels(AxState(s): AxState<Sandbox>) -> Response {
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
