//! The read API (users, organizations, event types, scheduled events,
//! invitees, busy times) and a host canceling an event.

use super::bookings::cancel_event;
use super::request::{
    caller, created, forbidden, invalid, json_body, not_found, ok, paginate, str_field, Params, S,
};
use super::state::{Cancellation, Invitee, ScheduledEvent};
use super::webhooks::dispatch;
use super::wire::{
    cancellation_json, event_json, event_type_json, event_uri, invitee_json, org_uri, parse_time,
    ts, user_json, uuid_in,
};
use crate::core::{respond, Account};
use crate::Provider;
use crate::World;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// `user_busy_times` accepts at most one week.
const MAX_BUSY_RANGE_DAYS: i64 = 7;

pub(super) async fn users_me(AxState(s): S, headers: HeaderMap) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        Ok(ok(json!({ "resource": user_json(s.base(), &world, &me) })))
    })())
}

pub(super) async fn users_get(
    AxState(s): S,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        let Some(user) = world.account(Provider::Calendly, &uuid).cloned() else {
            return Err(not_found());
        };
        if world.calendly.org_of(&user.id) != world.calendly.org_of(&me.id) {
            return Err(forbidden(
                "You do not have permission to access this resource.",
            ));
        }
        Ok(ok(
            json!({ "resource": user_json(s.base(), &world, &user) }),
        ))
    })())
}

pub(super) async fn organization_get(
    AxState(s): S,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        let Some(org) = world.calendly.organizations.iter().find(|o| o.uuid == uuid) else {
            return Err(not_found());
        };
        if world.calendly.org_of(&me.id) != Some(org.uuid.as_str()) {
            return Err(forbidden(
                "You do not have permission to access this resource.",
            ));
        }
        let paid = me.plan != "free";
        Ok(ok(json!({ "resource": {
            "uri": org_uri(s.base(), &org.uuid),
            "name": format!("{}'s organization", me.name),
            "slug": world.calendly.users.get(&me.id).map(|u| u.slug.clone()),
            "plan": if paid { "standard" } else { "basic" },
            "stage": if paid { "paid" } else { "free" },
            "created_at": ts(org.created_at),
            "updated_at": ts(org.created_at),
        }})))
    })())
}

/// The account ids a `user=` / `organization=` filter selects, checked
/// against what the caller may see.
fn scope_filter(world: &World, me: &Account, q: &Params) -> Result<Vec<String>, Response> {
    let my_org = world.calendly.org_of(&me.id).unwrap_or_default().to_owned();
    if let Some(user) = q.get("user") {
        let Some(id) = uuid_in(user, "users") else {
            return Err(invalid("user", "user must be a user URI"));
        };
        if world.account(Provider::Calendly, id).is_none() {
            return Err(invalid("user", "The user was not found."));
        }
        if world.calendly.org_of(id) != Some(my_org.as_str()) {
            return Err(forbidden(
                "You do not have permission to access this user's data.",
            ));
        }
        return Ok(vec![id.to_owned()]);
    }
    if let Some(org) = q.get("organization") {
        let Some(id) = uuid_in(org, "organizations") else {
            return Err(invalid(
                "organization",
                "organization must be an organization URI",
            ));
        };
        if id != my_org {
            return Err(forbidden(
                "You do not have permission to access this organization's data.",
            ));
        }
        return Ok(world
            .calendly
            .users
            .values()
            .filter(|u| u.organization == my_org)
            .map(|u| u.account_id.clone())
            .collect());
    }
    Err(invalid(
        "user",
        "One of user or organization must be provided.",
    ))
}

pub(super) async fn event_types_list(
    AxState(s): S,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        let owners = scope_filter(&world, &me, &q)?;
        let items: Vec<Value> = world
            .calendly
            .event_types
            .iter()
            .filter(|et| owners.contains(&et.owner))
            .map(|et| event_type_json(s.base(), &world, et))
            .collect();
        Ok(ok(paginate(s.base(), "event_types", &q, items)?))
    })())
}

pub(super) async fn event_type_get(
    AxState(s): S,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        let my_org = world.calendly.org_of(&me.id);
        let et = world
            .calendly
            .event_types
            .iter()
            .find(|et| et.uuid == uuid && world.calendly.org_of(&et.owner) == my_org)
            .ok_or_else(not_found)?;
        Ok(ok(
            json!({ "resource": event_type_json(s.base(), &world, et) }),
        ))
    })())
}

/// A scheduled event the caller's organization hosts.
fn visible_event<'a>(
    world: &'a World,
    me: &Account,
    uuid: &str,
) -> Result<&'a ScheduledEvent, Response> {
    let my_org = world.calendly.org_of(&me.id);
    world
        .calendly
        .event(uuid)
        .filter(|e| world.calendly.org_of(&e.host) == my_org || e.hosted_by(&me.id))
        .ok_or_else(not_found)
}

fn time_param(q: &Params, key: &str) -> Result<Option<DateTime<Utc>>, Response> {
    match q.get(key).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse_time(v)
            .map(Some)
            .ok_or_else(|| invalid(key, &format!("{key} must be an ISO 8601 timestamp"))),
    }
}

pub(super) async fn events_list(
    AxState(s): S,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        let hosts = scope_filter(&world, &me, &q)?;
        let status = q.get("status").filter(|v| !v.is_empty());
        if status.is_some_and(|st| st != "active" && st != "canceled") {
            return Err(invalid("status", "status must be active or canceled"));
        }
        let min = time_param(&q, "min_start_time")?;
        let max = time_param(&q, "max_start_time")?;
        let descending = match q.get("sort").map(String::as_str) {
            None | Some("") | Some("start_time:asc") => false,
            Some("start_time:desc") => true,
            Some(_) => {
                return Err(invalid(
                    "sort",
                    "sort must be start_time:asc or start_time:desc",
                ))
            }
        };
        let invitee_email = q.get("invitee_email").map(|e| e.to_lowercase());
        let mut events: Vec<&ScheduledEvent> = world
            .calendly
            .events
            .iter()
            .filter(|e| hosts.iter().any(|h| e.hosted_by(h)))
            .filter(|e| status.is_none_or(|st| &e.status == st))
            .filter(|e| min.is_none_or(|m| e.start_time >= m))
            .filter(|e| max.is_none_or(|m| e.start_time < m))
            .filter(|e| {
                invitee_email.as_ref().is_none_or(|email| {
                    e.invitees.iter().any(|i| {
                        world
                            .calendly
                            .invitees
                            .get(i)
                            .is_some_and(|i| &i.email == email)
                    })
                })
            })
            .collect();
        events.sort_by_key(|e| e.start_time);
        if descending {
            events.reverse();
        }
        let items = events
            .into_iter()
            .map(|e| event_json(s.base(), &world, e))
            .collect();
        Ok(ok(paginate(s.base(), "scheduled_events", &q, items)?))
    })())
}

pub(super) async fn event_get(
    AxState(s): S,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        let ev = visible_event(&world, &me, &uuid)?;
        Ok(ok(json!({ "resource": event_json(s.base(), &world, ev) })))
    })())
}

pub(super) async fn invitees_list(
    AxState(s): S,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        let ev = visible_event(&world, &me, &uuid)?;
        let status = q.get("status").filter(|v| !v.is_empty());
        if status.is_some_and(|st| st != "active" && st != "canceled") {
            return Err(invalid("status", "status must be active or canceled"));
        }
        let email = q.get("email").map(|e| e.to_lowercase());
        let mut invitees: Vec<&Invitee> = ev
            .invitees
            .iter()
            .filter_map(|i| world.calendly.invitees.get(i))
            .filter(|i| status.is_none_or(|st| &i.status == st))
            .filter(|i| email.as_ref().is_none_or(|e| &i.email == e))
            .collect();
        if q.get("sort").is_some_and(|s| s == "created_at:desc") {
            invitees.reverse();
        }
        let items = invitees
            .into_iter()
            .map(|i| invitee_json(s.base(), i))
            .collect();
        let path = format!("scheduled_events/{uuid}/invitees");
        Ok(ok(paginate(s.base(), &path, &q, items)?))
    })())
}

pub(super) async fn invitee_get(
    AxState(s): S,
    headers: HeaderMap,
    Path((uuid, invitee)): Path<(String, String)>,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        visible_event(&world, &me, &uuid)?;
        let inv = world
            .calendly
            .invitees
            .get(&invitee)
            .filter(|i| i.event == uuid)
            .ok_or_else(not_found)?;
        Ok(ok(json!({ "resource": invitee_json(s.base(), inv) })))
    })())
}

pub(super) async fn event_cancel(
    AxState(s): S,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    body: Bytes,
) -> Response {
    let (response, out) = {
        let mut world = s.world();
        let result = (|| {
            let me = caller(&mut world, &headers)?;
            let body = json_body(&body)?;
            let ev = visible_event(&world, &me, &uuid)?;
            if ev.host != me.id {
                return Err(forbidden("Only the host can cancel this event."));
            }
            if ev.status == "canceled" {
                return Err(forbidden("This event has already been canceled."));
            }
            let cancellation = Cancellation {
                canceled_by: me.name.clone(),
                reason: str_field(&body, "reason").map(str::to_owned),
                canceler_type: "host".to_owned(),
                created_at: world.now(),
            };
            let out = cancel_event(s.base(), &mut world, &uuid, &cancellation);
            Ok((
                created(json!({ "resource": cancellation_json(&cancellation) })),
                out,
            ))
        })();
        match result {
            Ok(pair) => pair,
            Err(e) => (e, Vec::new()),
        }
    };
    dispatch(&s, out);
    response
}

pub(super) async fn busy_times(
    AxState(s): S,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        if !q.contains_key("user") {
            return Err(invalid("user", "user is required"));
        }
        let hosts = scope_filter(&world, &me, &q)?;
        let start = time_param(&q, "start_time")?
            .ok_or_else(|| invalid("start_time", "start_time is required"))?;
        let end = time_param(&q, "end_time")?
            .ok_or_else(|| invalid("end_time", "end_time is required"))?;
        if end <= start {
            return Err(invalid("end_time", "end_time must be after start_time"));
        }
        if end - start > chrono::Duration::days(MAX_BUSY_RANGE_DAYS) {
            return Err(invalid(
                "end_time",
                "The date range can be no greater than 1 week (7 days).",
            ));
        }
        let mut events: Vec<&ScheduledEvent> = world
            .calendly
            .events
            .iter()
            .filter(|e| hosts.iter().any(|h| e.hosted_by(h)) && e.status == "active")
            .filter(|e| e.start_time < end && e.end_time > start)
            .collect();
        events.sort_by_key(|e| e.start_time);
        let collection: Vec<Value> = events
            .into_iter()
            .map(|e| {
                json!({
                    "type": "calendly",
                    "start_time": ts(e.start_time),
                    "end_time": ts(e.end_time),
                    "buffered_start_time": ts(e.start_time),
                    "buffered_end_time": ts(e.end_time),
                    "event": { "uri": event_uri(s.base(), &e.uuid) },
                })
            })
            .collect();
        Ok(ok(json!({ "collection": collection })))
    })())
}
