//! Calendly's wire format: resource URIs, timestamps and the JSON shape of
//! every resource.

use super::state::{Cancellation, EventType, Invitee, InviteeRef, ScheduledEvent, Subscription};
use crate::core::Account;
use crate::Provider;
use crate::World;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// `https://api.calendly.com/users/{uuid}` in the sandbox.
pub fn user_uri(base: &str, user_id: &str) -> String {
    format!("{base}/calendly/users/{user_id}")
}

pub fn organization_uri(base: &str, world: &World, account: &Account) -> String {
    let org = world
        .calendly
        .org_of(&account.id)
        .unwrap_or(account.id.as_str());
    org_uri(base, org)
}

pub(super) fn org_uri(base: &str, uuid: &str) -> String {
    format!("{base}/calendly/organizations/{uuid}")
}
pub(super) fn event_uri(base: &str, uuid: &str) -> String {
    format!("{base}/calendly/scheduled_events/{uuid}")
}
pub(super) fn invitee_uri(base: &str, event: &str, uuid: &str) -> String {
    format!("{base}/calendly/scheduled_events/{event}/invitees/{uuid}")
}
fn event_type_uri(base: &str, uuid: &str) -> String {
    format!("{base}/calendly/event_types/{uuid}")
}
fn subscription_uri(base: &str, uuid: &str) -> String {
    format!("{base}/calendly/webhook_subscriptions/{uuid}")
}
fn no_show_uri(base: &str, uuid: &str) -> String {
    format!("{base}/calendly/invitee_no_shows/{uuid}")
}
/// Booking pages are not served by the sandbox; `.test` never resolves.
pub(super) const PAGES: &str = "https://calendly.sandbox.test";

/// The last path segment after `/{kind}/` in a resource URI.
pub(super) fn uuid_in<'a>(uri: &'a str, kind: &str) -> Option<&'a str> {
    let (_, rest) = uri.rsplit_once(&format!("/{kind}/"))?;
    (!rest.is_empty() && !rest.contains('/')).then_some(rest)
}

/// Calendly's timestamps: RFC 3339, UTC, microseconds.
pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

pub(super) fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "user".to_owned()
    } else {
        slug
    }
}

pub(super) fn user_json(base: &str, world: &World, account: &Account) -> Value {
    let user = world.calendly.users.get(&account.id);
    let slug = user.map(|u| u.slug.clone()).unwrap_or_default();
    let created = user.map(|u| ts(u.created_at));
    json!({
        "uri": user_uri(base, &account.id),
        "name": account.name,
        "slug": slug,
        "email": account.email,
        "scheduling_url": format!("{PAGES}/{slug}"),
        "timezone": account.time_zone,
        "time_notation": "24h",
        "avatar_url": null,
        "locale": "en",
        "resource_type": "User",
        "created_at": created,
        "updated_at": created,
        "current_organization": organization_uri(base, world, account),
    })
}

pub(super) fn event_type_json(base: &str, world: &World, et: &EventType) -> Value {
    let owner = world.account(Provider::Calendly, &et.owner);
    let slug = world
        .calendly
        .users
        .get(&et.owner)
        .map(|u| u.slug.clone())
        .unwrap_or_default();
    json!({
        "uri": event_type_uri(base, &et.uuid),
        "name": et.name,
        "active": true,
        "booking_method": "instant",
        "slug": et.slug,
        "scheduling_url": format!("{PAGES}/{slug}/{}", et.slug),
        "duration": et.duration,
        "duration_options": null,
        "kind": "solo",
        "pooling_type": null,
        "type": "StandardEventType",
        "color": "#0069ff",
        "created_at": ts(et.created_at),
        "updated_at": ts(et.created_at),
        "internal_note": null,
        "description_plain": null,
        "description_html": null,
        "profile": {
            "type": "User",
            "name": owner.map(|a| a.name.clone()),
            "owner": user_uri(base, &et.owner),
        },
        "secret": false,
        "deleted_at": null,
        "admin_managed": false,
        "locations": [{ "kind": et.location_kind }],
        "custom_questions": [],
    })
}

pub(super) fn cancellation_json(c: &Cancellation) -> Value {
    json!({
        "canceled_by": c.canceled_by,
        "reason": c.reason,
        "canceler_type": c.canceler_type,
        "created_at": ts(c.created_at),
    })
}

pub(super) fn event_json(base: &str, world: &World, ev: &ScheduledEvent) -> Value {
    let host = world.account(Provider::Calendly, &ev.host);
    let invitees: Vec<&Invitee> = ev
        .invitees
        .iter()
        .filter_map(|i| world.calendly.invitees.get(i))
        .collect();
    let active = invitees.iter().filter(|i| i.status == "active").count();
    let mut v = json!({
        "uri": event_uri(base, &ev.uuid),
        "name": ev.name,
        "meeting_notes_plain": null,
        "meeting_notes_html": null,
        "status": ev.status,
        "start_time": ts(ev.start_time),
        "end_time": ts(ev.end_time),
        "event_type": event_type_uri(base, &ev.event_type),
        "location": ev.location,
        "invitees_counter": { "total": invitees.len(), "active": active, "limit": 1 },
        "created_at": ts(ev.created_at),
        "updated_at": ts(ev.updated_at),
        "event_memberships": std::iter::once(&ev.host)
            .chain(&ev.co_hosts)
            .map(|id| {
                let member = if *id == ev.host { host } else { world.account(Provider::Calendly, id) };
                json!({
                    "user": user_uri(base, id),
                    "user_email": member.map(|a| a.email.clone()),
                    "user_name": member.map(|a| a.name.clone()),
                })
            })
            .collect::<Vec<_>>(),
        "event_guests": [],
    });
    if let Some(c) = &ev.cancellation {
        v["cancellation"] = cancellation_json(c);
    }
    v
}

pub(super) fn invitee_json(base: &str, inv: &Invitee) -> Value {
    let reference = |r: &Option<InviteeRef>| {
        r.as_ref()
            .map(|(event, uuid)| invitee_uri(base, event, uuid))
    };
    let mut v = json!({
        "uri": invitee_uri(base, &inv.event, &inv.uuid),
        "email": inv.email,
        "first_name": null,
        "last_name": null,
        "name": inv.name,
        "status": inv.status,
        "questions_and_answers": [],
        "timezone": inv.timezone,
        "event": event_uri(base, &inv.event),
        "created_at": ts(inv.created_at),
        "updated_at": ts(inv.updated_at),
        "tracking": {
            "utm_campaign": null, "utm_source": null, "utm_medium": null,
            "utm_content": null, "utm_term": null, "salesforce_uuid": null,
        },
        "text_reminder_number": null,
        "rescheduled": inv.rescheduled,
        "old_invitee": reference(&inv.old_invitee),
        "new_invitee": reference(&inv.new_invitee),
        "cancel_url": format!("{PAGES}/cancellations/{}", inv.uuid),
        "reschedule_url": format!("{PAGES}/reschedulings/{}", inv.uuid),
        "routing_form_submission": null,
        "payment": null,
        "no_show": inv.no_show.as_ref().map(|n| json!({
            "uri": no_show_uri(base, &n.uuid),
            "created_at": ts(n.created_at),
        })),
        "reconfirmation": null,
        "scheduling_method": null,
        "invitee_scheduled_by": null,
    });
    if let Some(c) = &inv.cancellation {
        v["cancellation"] = cancellation_json(c);
    }
    v
}

pub(super) fn subscription_json(base: &str, sub: &Subscription) -> Value {
    json!({
        "uri": subscription_uri(base, &sub.uuid),
        "callback_url": sub.callback_url,
        "created_at": ts(sub.created_at),
        "updated_at": ts(sub.updated_at),
        "retry_started_at": sub.retry_started_at.map(ts),
        "state": sub.state,
        "events": sub.events,
        "scope": sub.scope,
        "organization": org_uri(base, &sub.organization),
        "user": sub.user.as_ref().map(|u| user_uri(base, u)),
        "group": null,
        "creator": user_uri(base, &sub.creator),
    })
}
