//! The Calendar API: user info, calendars, events (list with paging and
//! sync tokens, insert, get, update, patch, delete) and free/busy.

use super::channels::{notify, send_all};
use super::events::{
    apply_conference, apply_fields, new_event_id, settle_meet, store, valid_event_id,
};
use super::state::{calendar_index, Event, Invitation, PageState, State, SyncToken};
use super::wire::{
    authenticate, bad, bool_param, calendar_entry_json, conference_version, etag, event_json, gerr,
    if_match_fails, not_found, parse_object, parse_time, time_param, ts,
};
use crate::Sandbox;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

const DEFAULT_MAX_RESULTS: usize = 250;
const MAX_MAX_RESULTS: usize = 2500;
/// Page tokens kept before old ones are forgotten.
const MAX_PAGE_TOKENS: usize = 20_000;

pub(super) async fn userinfo(AxState(s): AxState<Sandbox>, headers: HeaderMap) -> Response {
    let mut world = s.world();
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

pub(super) async fn calendar_list(AxState(s): AxState<Sandbox>, headers: HeaderMap) -> Response {
    let mut world = s.world();
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

pub(super) async fn calendar_list_entry(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(calendar_id): Path<String>,
) -> Response {
    let mut world = s.world();
    let account = authenticate!(world, headers);
    match calendar_index(&world.google, &account, &calendar_id) {
        Some(ci) => Json(calendar_entry_json(&world.google.calendars[ci])).into_response(),
        None => not_found(),
    }
}

pub(super) async fn calendar_get(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(calendar_id): Path<String>,
) -> Response {
    let mut world = s.world();
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

pub(super) async fn list_events(
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
        let single_events = bool_param(q, "singleEvents")?;
        let mut changed: Vec<&Event> = cal
            .events
            .iter()
            .filter(|e| e.changed > since && e.listed(single_events))
            .collect();
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
            .filter(|e| e.listed(single_events))
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

pub(super) async fn insert_event(
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
    record_invitation(&mut world.google, &q, &e, "created");
    let value = store(&mut world.google, ci, e, now);
    let calendar_key = world.google.calendars[ci].id.clone();
    let outbound = notify(world, &calendar_key);
    drop(guard);
    send_all(&s, outbound);
    Json(value).into_response()
}

/// What `sendUpdates` asks Google to mail the attendees (`none`, the
/// default, mails no one).
fn record_invitation(
    state: &mut State,
    q: &HashMap<String, String>,
    e: &Event,
    kind: &'static str,
) {
    let mails = matches!(
        q.get("sendUpdates").map(String::as_str),
        Some("all" | "externalOnly")
    );
    let to: Vec<String> = e
        .attendees
        .iter()
        .filter_map(|a| a.get("email").and_then(Value::as_str).map(str::to_owned))
        .collect();
    if mails && !to.is_empty() {
        state.invitations.push(Invitation {
            event_id: e.id.clone(),
            kind,
            to,
        });
    }
}

pub(super) async fn get_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path((calendar_id, event_id)): Path<(String, String)>,
) -> Response {
    let mut world = s.world();
    let account = authenticate!(world, headers);
    let Some(ci) = calendar_index(&world.google, &account, &calendar_id) else {
        return not_found();
    };
    let cal = &mut world.google.calendars[ci];
    match cal.index.get(&event_id).copied() {
        Some(i) => {
            settle_meet(&mut cal.events[i]);
            Json(event_json(cal, &cal.events[i])).into_response()
        }
        None => not_found(),
    }
}

pub(super) async fn put_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    bytes: Bytes,
) -> Response {
    update_event(&s, &headers, &calendar_id, &event_id, &q, &bytes, true)
}

pub(super) async fn patch_event(
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
    record_invitation(&mut world.google, q, &e, "updated");
    let value = store(&mut world.google, ci, e, now);
    let calendar_key = world.google.calendars[ci].id.clone();
    let outbound = notify(world, &calendar_key);
    drop(guard);
    send_all(s, outbound);
    Json(value).into_response()
}

pub(super) async fn delete_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
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
    record_invitation(&mut world.google, &q, &e, "cancelled");
    store(&mut world.google, ci, e, now);
    let calendar_key = world.google.calendars[ci].id.clone();
    let outbound = notify(world, &calendar_key);
    drop(guard);
    send_all(&s, outbound);
    StatusCode::NO_CONTENT.into_response()
}

pub(super) async fn free_busy(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let mut world = s.world();
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
