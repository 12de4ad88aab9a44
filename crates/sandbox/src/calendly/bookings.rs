//! Bookings as people make them: an invitee books, cancels, reschedules or
//! is marked a no-show (control API and panel), firing the webhooks.

use super::state::{Cancellation, EventType, Invitee, InviteeRef, NoShow, ScheduledEvent};
use super::webhooks::{dispatch, notify};
use super::wire::{event_json, invitee_json, parse_time, slugify};
use crate::core::delivery::Outbound;
use crate::core::{bad_request, control_error};
use crate::Provider;
use crate::{Sandbox, World};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

/// Cancels one invitee; the event follows when no active invitee is left.
fn cancel_invitee(
    base: &str,
    world: &mut World,
    invitee_uuid: &str,
    cancellation: &Cancellation,
    new_invitee: Option<InviteeRef>,
) -> Vec<Outbound> {
    let now = world.now();
    let Some(inv) = world.calendly.invitees.get_mut(invitee_uuid) else {
        return Vec::new();
    };
    if inv.status != "active" {
        return Vec::new();
    }
    inv.status = "canceled".to_owned();
    inv.updated_at = now;
    inv.cancellation = Some(cancellation.clone());
    inv.rescheduled = new_invitee.is_some();
    inv.new_invitee = new_invitee;
    let event_uuid = inv.event.clone();
    let still_active = world
        .calendly
        .event(&event_uuid)
        .map(|e| {
            e.invitees.iter().any(|i| {
                world
                    .calendly
                    .invitees
                    .get(i)
                    .is_some_and(|i| i.status == "active")
            })
        })
        .unwrap_or(false);
    if let Some(ev) = world.calendly.event_mut(&event_uuid) {
        ev.updated_at = now;
        if !still_active && ev.status == "active" {
            ev.status = "canceled".to_owned();
            ev.cancellation = Some(cancellation.clone());
        }
    }
    notify(base, world, "invitee.canceled", invitee_uuid)
}

/// Cancels an event and every active invitee of it.
pub(super) fn cancel_event(
    base: &str,
    world: &mut World,
    event_uuid: &str,
    cancellation: &Cancellation,
) -> Vec<Outbound> {
    let now = world.now();
    let Some(ev) = world.calendly.event_mut(event_uuid) else {
        return Vec::new();
    };
    ev.status = "canceled".to_owned();
    ev.updated_at = now;
    ev.cancellation = Some(cancellation.clone());
    let invitees = ev.invitees.clone();
    let mut out = Vec::new();
    for i in invitees {
        out.extend(cancel_invitee(base, world, &i, cancellation, None));
    }
    out
}

/// The host's event type called `name`, or one of the right length, or a
/// new one with that name.
fn event_type_for(world: &mut World, host: &str, name: &str, minutes: i64) -> String {
    let types = || {
        world
            .calendly
            .event_types
            .iter()
            .filter(|t| t.owner == host)
    };
    if let Some(t) = types().find(|t| t.name.eq_ignore_ascii_case(name)) {
        return t.uuid.clone();
    }
    if name.is_empty() {
        if let Some(t) = types()
            .find(|t| t.duration == minutes)
            .or_else(|| types().next())
        {
            return t.uuid.clone();
        }
    }
    let uuid = world.uuid();
    let now = world.now();
    let name = if name.is_empty() {
        format!("{minutes} Minute Meeting")
    } else {
        name.to_owned()
    };
    world.calendly.event_types.push(EventType {
        uuid: uuid.clone(),
        owner: host.to_owned(),
        slug: slugify(&name),
        name,
        duration: minutes,
        location_kind: "zoom_conference".to_owned(),
        created_at: now,
    });
    uuid
}

fn location_for(world: &mut World, kind: &str) -> Value {
    if kind == "physical" {
        return json!({ "type": "physical", "location": "Sandbox HQ, Room 1" });
    }
    let meeting: u64 = rand::Rng::gen_range(&mut world.rng, 10_000_000_000..99_999_999_999);
    let join_url = format!("https://zoom.sandbox.test/j/{meeting}");
    json!({ "type": "zoom", "status": "pushed", "location": join_url, "join_url": join_url })
}

struct NewEvent {
    host: String,
    co_hosts: Vec<String>,
    event_type: String,
    name: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    location: Value,
}

fn create_event(world: &mut World, new: NewEvent) -> String {
    let uuid = world.uuid();
    let now = world.now();
    world.calendly.events.push(ScheduledEvent {
        uuid: uuid.clone(),
        host: new.host,
        co_hosts: new.co_hosts,
        event_type: new.event_type,
        name: new.name,
        status: "active".to_owned(),
        start_time: new.start,
        end_time: new.end,
        location: new.location,
        created_at: now,
        updated_at: now,
        cancellation: None,
        invitees: Vec::new(),
    });
    uuid
}

fn add_invitee(
    world: &mut World,
    event: &str,
    name: &str,
    email: &str,
    timezone: &str,
    old_invitee: Option<InviteeRef>,
) -> String {
    let uuid = world.uuid();
    let now = world.now();
    world.calendly.invitees.insert(
        uuid.clone(),
        Invitee {
            uuid: uuid.clone(),
            event: event.to_owned(),
            name: name.to_owned(),
            email: email.to_lowercase(),
            status: "active".to_owned(),
            timezone: timezone.to_owned(),
            created_at: now,
            updated_at: now,
            rescheduled: false,
            old_invitee,
            new_invitee: None,
            cancellation: None,
            no_show: None,
        },
    );
    if let Some(ev) = world.calendly.event_mut(event) {
        ev.invitees.push(uuid.clone());
        ev.updated_at = now;
    }
    uuid
}

/// `{event, invitee}` as the control API answers bookings.
fn booking_json(base: &str, world: &World, event: &str, invitee: &str) -> Value {
    let mut ev = world
        .calendly
        .event(event)
        .map(|e| event_json(base, world, e))
        .unwrap_or(Value::Null);
    ev["uuid"] = json!(event);
    let mut inv = world
        .calendly
        .invitees
        .get(invitee)
        .map(|i| invitee_json(base, i))
        .unwrap_or(Value::Null);
    inv["uuid"] = json!(invitee);
    json!({ "event": ev, "invitee": inv })
}

fn check_times(start: &str, end: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), Response> {
    let start =
        parse_time(start).ok_or_else(|| bad_request("start_time must be an RFC 3339 timestamp"))?;
    let end =
        parse_time(end).ok_or_else(|| bad_request("end_time must be an RFC 3339 timestamp"))?;
    if end <= start {
        return Err(bad_request("end_time must be after start_time"));
    }
    if end - start > chrono::Duration::hours(24) {
        return Err(bad_request("a booking can last at most 24 hours"));
    }
    Ok((start, end))
}

#[derive(Clone, Debug, Deserialize)]
pub struct BookingRequest {
    pub host_email: String,
    pub invitee_name: String,
    pub invitee_email: String,
    pub start_time: String,
    pub end_time: String,
    pub event_name: String,
    /// The event's `location` object as the host set it up (any shape
    /// Calendly allows, e.g. a custom text); the event type's when absent.
    #[serde(default)]
    pub location: Option<Value>,
    /// A collective event: these Calendly accounts host it too.
    #[serde(default)]
    pub co_host_emails: Vec<String>,
}

/// An invitee books a meeting with `host_email`: a new scheduled event with
/// one invitee; fires `invitee.created`.
pub fn book(sandbox: &Sandbox, req: BookingRequest) -> Result<Value, Response> {
    let base = sandbox.base();
    let (result, out) = {
        let mut world = sandbox.world();
        let (start, end) = check_times(&req.start_time, &req.end_time)?;
        let invitee_name = req.invitee_name.trim();
        let invitee_email = req.invitee_email.trim();
        if invitee_name.is_empty() {
            return Err(bad_request("invitee_name is required"));
        }
        if !invitee_email.contains('@') || invitee_email.contains(char::is_whitespace) {
            return Err(bad_request("invitee_email must be an email address"));
        }
        let host = world
            .account_by_email(Provider::Calendly, req.host_email.trim())
            .cloned()
            .ok_or_else(|| {
                control_error(
                    StatusCode::NOT_FOUND,
                    format!("no Calendly account with email '{}'", req.host_email),
                )
            })?;
        let minutes = (end - start).num_minutes();
        let event_type = event_type_for(&mut world, &host.id, req.event_name.trim(), minutes);
        let (name, kind) = world
            .calendly
            .event_types
            .iter()
            .find(|t| t.uuid == event_type)
            .map(|t| (t.name.clone(), t.location_kind.clone()))
            .unwrap_or_default();
        let location = match req.location {
            Some(location) => location,
            None => location_for(&mut world, &kind),
        };
        let mut co_hosts = Vec::new();
        for email in &req.co_host_emails {
            let co_host = world
                .account_by_email(Provider::Calendly, email.trim())
                .ok_or_else(|| {
                    control_error(
                        StatusCode::NOT_FOUND,
                        format!("no Calendly account with email '{email}'"),
                    )
                })?;
            co_hosts.push(co_host.id.clone());
        }
        let event = create_event(
            &mut world,
            NewEvent {
                host: host.id.clone(),
                co_hosts,
                event_type,
                name,
                start,
                end,
                location,
            },
        );
        let invitee = add_invitee(
            &mut world,
            &event,
            invitee_name,
            invitee_email,
            &host.time_zone,
            None,
        );
        let out = notify(base, &world, "invitee.created", &invitee);
        (booking_json(base, &world, &event, &invitee), out)
    };
    dispatch(sandbox, out);
    Ok(result)
}

/// Cancels a scheduled event (as its host) or, given an invitee uuid, that
/// invitee's booking (as the invitee).
pub fn cancel(sandbox: &Sandbox, uuid: &str, reason: &str) -> Result<Value, Response> {
    let base = sandbox.base();
    let (result, out) = {
        let mut world = sandbox.world();
        let now = world.now();
        let reason = Some(reason.trim().to_owned()).filter(|r| !r.is_empty());
        let out = if let Some(ev) = world.calendly.event(uuid) {
            if ev.status != "active" {
                return Err(bad_request("the event is already canceled"));
            }
            let host_name = world
                .account(Provider::Calendly, &ev.host)
                .map(|a| a.name.clone())
                .unwrap_or_default();
            let cancellation = Cancellation {
                canceled_by: host_name,
                reason,
                canceler_type: "host".to_owned(),
                created_at: now,
            };
            cancel_event(base, &mut world, uuid, &cancellation)
        } else if let Some(inv) = world.calendly.invitees.get(uuid) {
            if inv.status != "active" {
                return Err(bad_request("the invitee is already canceled"));
            }
            let cancellation = Cancellation {
                canceled_by: inv.name.clone(),
                reason,
                canceler_type: "invitee".to_owned(),
                created_at: now,
            };
            cancel_invitee(base, &mut world, uuid, &cancellation, None)
        } else {
            return Err(control_error(
                StatusCode::NOT_FOUND,
                format!("no scheduled event or invitee '{uuid}'"),
            ));
        };
        let event_uuid = world
            .calendly
            .event(uuid)
            .map(|e| e.uuid.clone())
            .or_else(|| world.calendly.invitees.get(uuid).map(|i| i.event.clone()))
            .unwrap_or_default();
        let event = world
            .calendly
            .event(&event_uuid)
            .map(|e| {
                let mut v = event_json(base, &world, e);
                v["uuid"] = json!(e.uuid);
                v
            })
            .unwrap_or(Value::Null);
        (json!({ "event": event }), out)
    };
    dispatch(sandbox, out);
    Ok(result)
}

/// The invitee(s) of an event (or one invitee) move to a new time: each old
/// invitee is canceled with `rescheduled: true` and points at a new invitee
/// on a new scheduled event. Fires `invitee.canceled` then `invitee.created`.
pub fn reschedule(
    sandbox: &Sandbox,
    uuid: &str,
    start_time: &str,
    end_time: &str,
    reason: Option<String>,
) -> Result<Value, Response> {
    let base = sandbox.base();
    let (result, out) = {
        let mut world = sandbox.world();
        let (start, end) = check_times(start_time, end_time)?;
        let (event_uuid, targets): (String, Vec<String>) =
            if let Some(ev) = world.calendly.event(uuid) {
                let active: Vec<String> = ev
                    .invitees
                    .iter()
                    .filter(|i| {
                        world
                            .calendly
                            .invitees
                            .get(*i)
                            .is_some_and(|i| i.status == "active")
                    })
                    .cloned()
                    .collect();
                (ev.uuid.clone(), active)
            } else if let Some(inv) = world.calendly.invitees.get(uuid) {
                let active = if inv.status == "active" {
                    vec![inv.uuid.clone()]
                } else {
                    Vec::new()
                };
                (inv.event.clone(), active)
            } else {
                return Err(control_error(
                    StatusCode::NOT_FOUND,
                    format!("no scheduled event or invitee '{uuid}'"),
                ));
            };
        if targets.is_empty() {
            return Err(bad_request(
                "nothing to reschedule: the booking is canceled",
            ));
        }
        let old = world
            .calendly
            .event(&event_uuid)
            .cloned()
            .expect("invitees belong to events");
        let new_event = create_event(
            &mut world,
            NewEvent {
                host: old.host.clone(),
                co_hosts: old.co_hosts.clone(),
                event_type: old.event_type.clone(),
                name: old.name.clone(),
                start,
                end,
                location: old.location.clone(),
            },
        );
        let now = world.now();
        let mut canceled = Vec::new();
        let mut created_out = Vec::new();
        let mut first_new = None;
        for target in targets {
            let Some(inv) = world.calendly.invitees.get(&target).cloned() else {
                continue;
            };
            let new_invitee = add_invitee(
                &mut world,
                &new_event,
                &inv.name,
                &inv.email,
                &inv.timezone,
                Some((inv.event.clone(), inv.uuid.clone())),
            );
            first_new.get_or_insert(new_invitee.clone());
            let cancellation = Cancellation {
                canceled_by: inv.name.clone(),
                reason: reason.clone(),
                canceler_type: "invitee".to_owned(),
                created_at: now,
            };
            canceled.extend(cancel_invitee(
                base,
                &mut world,
                &target,
                &cancellation,
                Some((new_event.clone(), new_invitee.clone())),
            ));
            created_out.push(new_invitee);
        }
        let mut out = canceled;
        for invitee in created_out {
            out.extend(notify(base, &world, "invitee.created", &invitee));
        }
        let result = booking_json(
            base,
            &world,
            &new_event,
            first_new.as_deref().unwrap_or_default(),
        );
        (result, out)
    };
    dispatch(sandbox, out);
    Ok(result)
}

/// Marks (or unmarks) an invitee as a no-show; fires
/// `invitee_no_show.created` / `invitee_no_show.deleted`.
pub fn set_no_show(sandbox: &Sandbox, invitee: &str, no_show: bool) -> Result<Value, Response> {
    let base = sandbox.base();
    let (result, out) = {
        let mut world = sandbox.world();
        let now = world.now();
        let new_uuid = world.uuid();
        let Some(inv) = world.calendly.invitees.get_mut(invitee) else {
            return Err(control_error(
                StatusCode::NOT_FOUND,
                format!("no invitee '{invitee}'"),
            ));
        };
        match (no_show, inv.no_show.is_some()) {
            (true, true) => return Err(bad_request("the invitee is already marked as a no-show")),
            (false, false) => return Err(bad_request("the invitee is not marked as a no-show")),
            (true, false) => {
                inv.no_show = Some(NoShow {
                    uuid: new_uuid,
                    created_at: now,
                })
            }
            (false, true) => inv.no_show = None,
        }
        inv.updated_at = now;
        let label = if no_show {
            "invitee_no_show.created"
        } else {
            "invitee_no_show.deleted"
        };
        let out = notify(base, &world, label, invitee);
        let inv = world.calendly.invitees.get(invitee).expect("found above");
        let mut v = invitee_json(base, inv);
        v["uuid"] = json!(inv.uuid);
        (json!({ "invitee": v }), out)
    };
    dispatch(sandbox, out);
    Ok(result)
}
