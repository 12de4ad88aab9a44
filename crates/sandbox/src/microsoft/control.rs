//! Control routes under `/_control/microsoft/`: the calendar owner editing
//! in Outlook, and tests invalidating delta tokens, expiring subscriptions
//! and sending lifecycle notifications.

use super::input::EventInput;
use super::mailbox::{create, live_event, mailbox_mut, remove, update};
use super::notifications::send_lifecycle;
use super::state::{Attendee, EventKind};
use super::wire::{parse_query_time, render_event, utc};
use crate::core::{bad_request, control_error, respond, Account, OwnerEvent, Repeat};
use crate::Provider;
use crate::{Sandbox, World};
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The owner adds an event (or a recurring series: its master and one
/// event per occurrence) in Outlook: subscriptions on their mailbox are
/// notified.
pub fn create_owner_event(sandbox: &Sandbox, event: OwnerEvent) -> Result<Value, Response> {
    let start = parse_query_time(&event.start)
        .ok_or_else(|| bad_request("start must be an RFC 3339 date-time"))?;
    let end = parse_query_time(&event.end)
        .ok_or_else(|| bad_request("end must be an RFC 3339 date-time"))?;
    if end <= start {
        return Err(bad_request("end must be after start"));
    }
    if event.all_day && event.repeat.is_some() {
        return Err(bad_request(
            "the Outlook emulator repeats timed events only",
        ));
    }
    if event.attendees.iter().any(|a| !a.contains('@')) {
        return Err(bad_request("attendees must be email addresses"));
    }
    let zone: Tz = match event.time_zone.as_deref() {
        None => chrono_tz::UTC,
        Some(name) => name
            .parse()
            .map_err(|_| bad_request("time_zone must be an IANA zone"))?,
    };
    if let Some(repeat) = event.repeat {
        if !(1..=Repeat::MAX_COUNT).contains(&repeat.count) {
            return Err(bad_request("a series has 1 to 366 instances"));
        }
    }
    let step = event.repeat.map_or(0, |r| r.step_days());
    // The `k`th occurrence's time: the same wall time in the zone `k` steps on.
    let at = |t: DateTime<Utc>, k: u64| -> Result<DateTime<Utc>, Response> {
        let local = t.with_timezone(&zone).naive_local() + chrono::Days::new(k * step);
        zone.from_local_datetime(&local)
            .earliest()
            .map(|l| l.with_timezone(&Utc))
            .ok_or_else(|| bad_request("an occurrence falls into a skipped hour"))
    };
    // An all-day event's dates: those of `start` and `end` as written.
    let date_of = |text: &str, t: DateTime<Utc>| {
        DateTime::parse_from_rfc3339(text).map_or(t.date_naive(), |d| d.date_naive())
    };
    let (first_day, after_last) = (date_of(&event.start, start), date_of(&event.end, end));
    if event.all_day && first_day >= after_last {
        return Err(bad_request("an all-day event ends on a later date"));
    }
    let input = |k: u64| -> Result<EventInput, Response> {
        let (from, to) = match event.all_day {
            true => (
                first_day.and_time(chrono::NaiveTime::MIN).and_utc(),
                after_last.and_time(chrono::NaiveTime::MIN).and_utc(),
            ),
            false => (at(start, k)?, at(end, k)?),
        };
        Ok(EventInput {
            subject: Some(event.summary.clone()),
            start: Some((from, zone.name().to_owned())),
            end: Some((to, zone.name().to_owned())),
            is_all_day: Some(event.all_day),
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
        })
    };
    let mut world = sandbox.world();
    let account = owner(&world, &event.owner_email)?;
    let mut created = create(sandbox, &mut world, &account, input(0)?)?;
    if let Some(repeat) = event.repeat {
        let recurrence = json!({
            "pattern": {"type": match repeat.step_days() { 1 => "daily", _ => "weekly" }, "interval": 1},
            "range": {"type": "numbered", "numberOfOccurrences": repeat.count,
                      "startDate": start.with_timezone(&zone).format("%Y-%m-%d").to_string(),
                      "recurrenceTimeZone": zone.name()},
        });
        created.kind = EventKind::SeriesMaster { recurrence };
        set_kind(&mut world, &account.id, &created.id, created.kind.clone());
        for k in 0..u64::from(repeat.count) {
            let occurrence = create(sandbox, &mut world, &account, input(k)?)?;
            let kind = EventKind::Occurrence {
                master: created.id.clone(),
            };
            set_kind(&mut world, &account.id, &occurrence.id, kind);
        }
    }
    Ok(render_event(sandbox.base(), &account.id, &created, &utc()))
}

fn set_kind(world: &mut World, user_id: &str, id: &str, kind: EventKind) {
    if let Some(e) = mailbox_mut(world, user_id)
        .events
        .iter_mut()
        .find(|e| e.id == id)
    {
        e.kind = kind;
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
        .ok_or_else(|| {
            control_error(
                StatusCode::NOT_FOUND,
                "no Microsoft account with that owner_email",
            )
        })
}

pub(super) async fn control_create(AxState(s): AxState<Sandbox>, body: Bytes) -> Response {
    let event: OwnerEvent = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => return bad_request(format!("invalid owner event: {e}")),
    };
    match create_owner_event(&s, event) {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => e,
    }
}

pub(super) async fn control_patch(
    AxState(s): AxState<Sandbox>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    respond((|| -> Result<Response, Response> {
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
        let current = live_event(&world, &account.id, &id).ok_or_else(|| {
            control_error(
                StatusCode::NOT_FOUND,
                "no such event in that owner's calendar",
            )
        })?;
        let start = input.start.as_ref().map_or(current.start, |x| x.0);
        let end = input.end.as_ref().map_or(current.end, |x| x.0);
        if end <= start {
            return Err(bad_request("end must be after start"));
        }
        if matches!(current.kind, EventKind::SeriesMaster { .. }) {
            return Err(control_error(
                StatusCode::CONFLICT,
                "change one occurrence of a series here, not the whole series",
            ));
        }
        let mut event = update(&s, &mut world, &account.id, &id, input, None)?;
        // An occurrence changed on its own is an exception.
        if let EventKind::Occurrence { master } = event.kind.clone() {
            event.kind = EventKind::Exception { master };
            set_kind(&mut world, &account.id, &id, event.kind.clone());
        }
        Ok(Json(render_event(s.base(), &account.id, &event, &utc())).into_response())
    })())
}

pub(super) async fn control_delete(
    AxState(s): AxState<Sandbox>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = owner(&world, q.get("owner_email").map_or("", String::as_str))?;
        let Some(current) = live_event(&world, &account.id, &id).cloned() else {
            return Err(control_error(
                StatusCode::NOT_FOUND,
                "no such event in that owner's calendar",
            ));
        };
        // Deleting a series deletes its occurrences with it.
        if let EventKind::SeriesMaster { .. } = current.kind {
            let occurrences: Vec<String> = mailbox_mut(&mut world, &account.id)
                .events
                .iter()
                .filter(|e| !e.deleted)
                .filter(|e| match &e.kind {
                    EventKind::Occurrence { master } | EventKind::Exception { master } => {
                        *master == id
                    }
                    _ => false,
                })
                .map(|e| e.id.clone())
                .collect();
            for occurrence in occurrences {
                remove(&s, &mut world, &account.id, &occurrence, None)?;
            }
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

pub(super) async fn control_invalidate(AxState(s): AxState<Sandbox>, body: Bytes) -> Response {
    respond((|| -> Result<Response, Response> {
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

pub(super) async fn control_expire(AxState(s): AxState<Sandbox>, body: Bytes) -> Response {
    respond((|| -> Result<Response, Response> {
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

pub(super) async fn control_lifecycle(AxState(s): AxState<Sandbox>, body: Bytes) -> Response {
    respond((|| -> Result<Response, Response> {
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
            .ok_or_else(|| control_error(StatusCode::NOT_FOUND, "no such subscription"))?;
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
