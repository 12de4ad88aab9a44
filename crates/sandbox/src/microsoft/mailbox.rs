//! Changing a mailbox: every create, update and delete bumps its change
//! sequence, gets a new change key and notifies the subscriptions.

use super::input::EventInput;
use super::notifications::notify;
use super::state::{Event, EventKind, Mailbox, TENANT_ID};
use super::wire::{graph_error, invalid, not_found};
use crate::core::Account;
use crate::{Sandbox, World};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::Rng;

pub(super) fn mailbox_mut<'a>(world: &'a mut World, user_id: &str) -> &'a mut Mailbox {
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

pub(super) fn live_event<'a>(world: &'a World, user_id: &str, id: &str) -> Option<&'a Event> {
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

fn join_url(world: &mut World, user_id: &str) -> String {
    let meeting = hex::encode(world.rng.gen::<[u8; 18]>());
    format!(
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{meeting}%40thread.v2/0?context=%7b%22Tid%22%3a%22{TENANT_ID}%22%2c%22Oid%22%3a%22{user_id}%22%7d"
    )
}

pub(super) fn create(
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
    let is_all_day = input.is_all_day.unwrap_or(false);
    let midnight = |t: DateTime<Utc>| t.time() == chrono::NaiveTime::MIN;
    if is_all_day && (end == start || !midnight(start) || !midnight(end)) {
        return Err(invalid(
            "An all-day event starts and ends at midnight, on different dates.",
        ));
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
        kind: EventKind::SingleInstance,
        is_all_day,
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

pub(super) fn update(
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

pub(super) fn remove(
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
