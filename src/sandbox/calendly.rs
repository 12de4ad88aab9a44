//! Calendly API v2 emulator (`/calendly/...`) and its control routes
//! (`/_control/calendly/...`).
//!
//! Every user gets their own organization (with a signing key) and two event
//! types. Scheduled events and invitees are created through the control API
//! or the panel (people booking as invitees); hosts read and cancel them
//! through the API. Webhook deliveries follow Calendly's wire format and are
//! signed with the subscription's signing key.

use super::delivery::{Outbound, Retry};
use super::{oauth, Account, Sandbox, World};
use crate::model::Provider;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;

/// Webhook events a subscription can ask for.
pub const WEBHOOK_EVENTS: [&str; 4] = [
    "invitee.created",
    "invitee.canceled",
    "invitee_no_show.created",
    "invitee_no_show.deleted",
];

const DEFAULT_PAGE_SIZE: usize = 20;
const MAX_PAGE_SIZE: usize = 100;
/// `user_busy_times` accepts at most one week.
const MAX_BUSY_RANGE_DAYS: i64 = 7;

#[derive(Clone, Debug)]
pub struct User {
    pub account_id: String,
    pub slug: String,
    pub organization: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Organization {
    pub uuid: String,
    pub owner: String,
    /// Used for subscriptions created without their own `signing_key`.
    pub signing_key: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct EventType {
    pub uuid: String,
    pub owner: String,
    pub name: String,
    pub slug: String,
    pub duration: i64,
    /// `zoom_conference` or `physical`.
    pub location_kind: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Cancellation {
    pub canceled_by: String,
    pub reason: Option<String>,
    /// `host` or `invitee`.
    pub canceler_type: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct ScheduledEvent {
    pub uuid: String,
    /// Account id of the host.
    pub host: String,
    /// Further hosts of a collective event (account ids): each sees the
    /// event and its invitees and gets its own deliveries.
    pub co_hosts: Vec<String>,
    pub event_type: String,
    pub name: String,
    /// `active` or `canceled`.
    pub status: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub location: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancellation: Option<Cancellation>,
    /// Invitee uuids, in booking order.
    pub invitees: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct NoShow {
    pub uuid: String,
    pub created_at: DateTime<Utc>,
}

/// (scheduled event uuid, invitee uuid)
pub type InviteeRef = (String, String);

#[derive(Clone, Debug)]
pub struct Invitee {
    pub uuid: String,
    /// Scheduled event uuid.
    pub event: String,
    pub name: String,
    pub email: String,
    /// `active` or `canceled`.
    pub status: String,
    pub timezone: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub rescheduled: bool,
    pub old_invitee: Option<InviteeRef>,
    pub new_invitee: Option<InviteeRef>,
    pub cancellation: Option<Cancellation>,
    pub no_show: Option<NoShow>,
}

#[derive(Clone, Debug)]
pub struct Subscription {
    pub uuid: String,
    pub callback_url: String,
    pub events: Vec<String>,
    /// `user` or `organization`.
    pub scope: String,
    /// Organization uuid.
    pub organization: String,
    /// Account id, for user scope.
    pub user: Option<String>,
    /// Account id of the user who created it.
    pub creator: String,
    pub signing_key: String,
    /// `active` or `disabled`.
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub retry_started_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct State {
    /// By account id.
    pub users: HashMap<String, User>,
    pub organizations: Vec<Organization>,
    pub event_types: Vec<EventType>,
    /// In creation order.
    pub events: Vec<ScheduledEvent>,
    /// By invitee uuid.
    pub invitees: HashMap<String, Invitee>,
    pub subscriptions: Vec<Subscription>,
}

impl ScheduledEvent {
    pub fn hosted_by(&self, account_id: &str) -> bool {
        self.host == account_id || self.co_hosts.iter().any(|h| h == account_id)
    }
}

impl State {
    fn event(&self, uuid: &str) -> Option<&ScheduledEvent> {
        self.events.iter().find(|e| e.uuid == uuid)
    }
    fn event_mut(&mut self, uuid: &str) -> Option<&mut ScheduledEvent> {
        self.events.iter_mut().find(|e| e.uuid == uuid)
    }
    fn org_of(&self, account_id: &str) -> Option<&str> {
        self.users.get(account_id).map(|u| u.organization.as_str())
    }
}

// ---------------------------------------------------------------- URIs

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

fn org_uri(base: &str, uuid: &str) -> String {
    format!("{base}/calendly/organizations/{uuid}")
}
fn event_uri(base: &str, uuid: &str) -> String {
    format!("{base}/calendly/scheduled_events/{uuid}")
}
fn invitee_uri(base: &str, event: &str, uuid: &str) -> String {
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
const PAGES: &str = "https://calendly.sandbox.test";

/// The last path segment after `/{kind}/` in a resource URI.
fn uuid_in<'a>(uri: &'a str, kind: &str) -> Option<&'a str> {
    let (_, rest) = uri.rsplit_once(&format!("/{kind}/"))?;
    (!rest.is_empty() && !rest.contains('/')).then_some(rest)
}

/// Calendly's timestamps: RFC 3339, UTC, microseconds.
fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

// ---------------------------------------------------------------- signing

/// `Calendly-Webhook-Signature` for a body sent at unix time `t`:
/// `t=<t>,v1=<hex HMAC-SHA256(key, "{t}.{body}")>`.
pub fn signature_header(key: &str, t: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

// ---------------------------------------------------------------- accounts

fn slugify(name: &str) -> String {
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

pub fn on_account_added(world: &mut World, account: &Account) {
    let now = world.now();
    let org = world.uuid();
    let signing_key = world.token("");
    world.calendly.organizations.push(Organization {
        uuid: org.clone(),
        owner: account.id.clone(),
        signing_key,
        created_at: now,
    });
    let wanted = slugify(&account.name);
    let mut slug = wanted.clone();
    let mut n = 1;
    while world.calendly.users.values().any(|u| u.slug == slug) {
        n += 1;
        slug = format!("{wanted}-{n}");
    }
    world.calendly.users.insert(
        account.id.clone(),
        User {
            account_id: account.id.clone(),
            slug,
            organization: org,
            created_at: now,
        },
    );
    for (name, duration, kind) in [
        ("30 Minute Meeting", 30, "zoom_conference"),
        ("60 Minute Meeting", 60, "physical"),
    ] {
        let uuid = world.uuid();
        world.calendly.event_types.push(EventType {
            uuid,
            owner: account.id.clone(),
            name: name.to_owned(),
            slug: slugify(name),
            duration,
            location_kind: kind.to_owned(),
            created_at: now,
        });
    }
}

pub fn disable_subscription(world: &mut World, subscription_uuid: &str) {
    let now = world.now();
    if let Some(sub) = world
        .calendly
        .subscriptions
        .iter_mut()
        .find(|s| s.uuid == subscription_uuid)
    {
        sub.state = "disabled".to_owned();
        sub.updated_at = now;
        sub.retry_started_at.get_or_insert(now);
    }
}

/// Whether deliveries for this subscription should still be attempted (it
/// exists and is active). For the deliverer to stop retrying deliveries of
/// deleted or disabled subscriptions.
pub fn subscription_active(world: &World, subscription_uuid: &str) -> bool {
    world
        .calendly
        .subscriptions
        .iter()
        .any(|s| s.uuid == subscription_uuid && s.state == "active")
}

pub fn account_extras(base: &str, world: &World, account: &Account) -> Value {
    let slug = world
        .calendly
        .users
        .get(&account.id)
        .map(|u| u.slug.clone())
        .unwrap_or_default();
    json!({
        "uri": user_uri(base, &account.id),
        "organization": organization_uri(base, world, account),
        "slug": slug,
        "scheduling_url": format!("{PAGES}/{slug}"),
    })
}

pub fn truth(base: &str, world: &World, account: &Account) -> Value {
    let mut events: Vec<&ScheduledEvent> = world
        .calendly
        .events
        .iter()
        .filter(|e| e.host == account.id)
        .collect();
    events.sort_by_key(|e| e.start_time);
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| {
            let invitees: Vec<Value> = e
                .invitees
                .iter()
                .filter_map(|i| world.calendly.invitees.get(i))
                .map(|i| {
                    json!({
                        "uuid": i.uuid,
                        "uri": invitee_uri(base, &e.uuid, &i.uuid),
                        "name": i.name,
                        "email": i.email,
                        "status": i.status,
                        "rescheduled": i.rescheduled,
                    })
                })
                .collect();
            json!({
                "uuid": e.uuid,
                "uri": event_uri(base, &e.uuid),
                "name": e.name,
                "status": e.status,
                "start_time": ts(e.start_time),
                "end_time": ts(e.end_time),
                "invitees": invitees,
            })
        })
        .collect();
    json!({ "events": events })
}

// ---------------------------------------------------------------- JSON shapes

fn user_json(base: &str, world: &World, account: &Account) -> Value {
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

fn event_type_json(base: &str, world: &World, et: &EventType) -> Value {
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

fn cancellation_json(c: &Cancellation) -> Value {
    json!({
        "canceled_by": c.canceled_by,
        "reason": c.reason,
        "canceler_type": c.canceler_type,
        "created_at": ts(c.created_at),
    })
}

fn event_json(base: &str, world: &World, ev: &ScheduledEvent) -> Value {
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

fn invitee_json(base: &str, inv: &Invitee) -> Value {
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

fn subscription_json(base: &str, sub: &Subscription) -> Value {
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

// ---------------------------------------------------------------- errors

fn api_error(status: StatusCode, title: &str, message: &str) -> Response {
    (status, Json(json!({ "title": title, "message": message }))).into_response()
}

/// Calendly's 400: `Invalid Argument` with per-parameter details.
fn invalid(parameter: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "title": "Invalid Argument",
            "message": "The supplied parameters are invalid.",
            "details": [{ "parameter": parameter, "message": message }],
        })),
    )
        .into_response()
}

fn not_found() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "Resource Not Found",
        "The server could not find the requested resource.",
    )
}

fn forbidden(message: &str) -> Response {
    api_error(StatusCode::FORBIDDEN, "Permission Denied", message)
}

fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn too_many_requests(limit: u32, reset_secs: i64) -> Response {
    let mut response = api_error(
        StatusCode::TOO_MANY_REQUESTS,
        "Too Many Requests",
        "You have exceeded the rate limit. Please try again later.",
    );
    let headers = response.headers_mut();
    for (name, value) in [
        ("X-RateLimit-Limit", limit.to_string()),
        ("X-RateLimit-Remaining", "0".to_owned()),
        ("X-RateLimit-Reset", reset_secs.max(0).to_string()),
        ("Retry-After", reset_secs.max(1).to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    response
}

/// The caller behind the bearer token, counted against the rate limit.
fn caller(world: &mut World, headers: &HeaderMap) -> Result<Account, Response> {
    let account = oauth::authenticate(world, Provider::Calendly, headers)?;
    let limit = world.tunables.calendly_rate_limit_per_minute;
    if let Some((limit, reset)) = world.rate_limited(&format!("calendly:{}", account.id), limit) {
        return Err(too_many_requests(limit, reset));
    }
    Ok(account)
}

fn json_body(body: &Bytes) -> Result<Value, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(invalid("body", "The request body must be a JSON object.")),
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------- pagination

fn encode_page_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("sandbox-offset:{offset}"))
}

fn decode_page_token(token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("sandbox-offset:")?
        .parse()
        .ok()
}

type Params = HashMap<String, String>;

/// One page of `items` as Calendly returns collections.
fn paginate(base: &str, path: &str, q: &Params, items: Vec<Value>) -> Result<Value, Response> {
    let count = match q.get("count") {
        None => DEFAULT_PAGE_SIZE,
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|c| (1..=MAX_PAGE_SIZE).contains(c))
            .ok_or_else(|| invalid("count", "count must be between 1 and 100"))?,
    };
    let offset = match q.get("page_token").map(String::as_str) {
        None | Some("") => 0,
        // A token past the end (the data shrank meanwhile) is an empty page.
        Some(t) => decode_page_token(t)
            .ok_or_else(|| invalid("page_token", "The page token is invalid."))?,
    };
    let next = (offset + count < items.len()).then(|| encode_page_token(offset + count));
    let previous = (offset > 0).then(|| encode_page_token(offset.saturating_sub(count)));
    let link = |token: &str| {
        let mut url = url::Url::parse(&format!("{base}/calendly/{path}")).ok()?;
        {
            let mut keys: Vec<&String> = q
                .keys()
                .filter(|k| k.as_str() != "page_token" && k.as_str() != "count")
                .collect();
            keys.sort();
            let mut pairs = url.query_pairs_mut();
            for k in keys {
                pairs.append_pair(k, &q[k]);
            }
            pairs.append_pair("count", &count.to_string());
            pairs.append_pair("page_token", token);
        }
        Some(url.to_string())
    };
    let page: Vec<Value> = items.into_iter().skip(offset).take(count).collect();
    Ok(json!({
        "collection": page,
        "pagination": {
            "count": count,
            "next_page": next.as_deref().and_then(link),
            "previous_page": previous.as_deref().and_then(link),
            "next_page_token": next,
            "previous_page_token": previous,
        },
    }))
}

// ---------------------------------------------------------------- routes

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/calendly/users/me", get(users_me))
        .route("/calendly/users/{uuid}", get(users_get))
        .route("/calendly/organizations/{uuid}", get(organization_get))
        .route("/calendly/event_types", get(event_types_list))
        .route("/calendly/event_types/{uuid}", get(event_type_get))
        .route("/calendly/scheduled_events", get(events_list))
        .route("/calendly/scheduled_events/{uuid}", get(event_get))
        .route(
            "/calendly/scheduled_events/{uuid}/invitees",
            get(invitees_list),
        )
        .route(
            "/calendly/scheduled_events/{uuid}/invitees/{invitee}",
            get(invitee_get),
        )
        .route(
            "/calendly/scheduled_events/{uuid}/cancellation",
            post(event_cancel),
        )
        .route("/calendly/user_busy_times", get(busy_times))
        .route(
            "/calendly/webhook_subscriptions",
            post(subscription_create).get(subscription_list),
        )
        .route(
            "/calendly/webhook_subscriptions/{uuid}",
            get(subscription_get).delete(subscription_delete),
        )
        .route("/_control/calendly/bookings", post(control_book))
        .route(
            "/_control/calendly/bookings/{uuid}/cancel",
            post(control_cancel),
        )
        .route(
            "/_control/calendly/bookings/{uuid}/reschedule",
            post(control_reschedule),
        )
        .route(
            "/_control/calendly/invitees/{uuid}/no_show",
            post(control_no_show).delete(control_no_show_delete),
        )
        .route(
            "/_control/calendly/subscriptions/{uuid}/disable",
            post(control_disable),
        )
        .route(
            "/_control/calendly/subscriptions",
            get(control_subscriptions),
        )
}

type S = AxState<Sandbox>;

fn ok(v: Value) -> Response {
    Json(v).into_response()
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

fn merge(result: Result<Response, Response>) -> Response {
    result.unwrap_or_else(|e| e)
}

async fn users_me(AxState(s): S, headers: HeaderMap) -> Response {
    let mut world = s.world();
    merge((|| {
        let me = caller(&mut world, &headers)?;
        Ok(ok(json!({ "resource": user_json(s.base(), &world, &me) })))
    })())
}

async fn users_get(AxState(s): S, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    let mut world = s.world();
    merge((|| {
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

async fn organization_get(AxState(s): S, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    let mut world = s.world();
    merge((|| {
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

async fn event_types_list(AxState(s): S, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    let mut world = s.world();
    merge((|| {
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

async fn event_type_get(AxState(s): S, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    let mut world = s.world();
    merge((|| {
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

async fn events_list(AxState(s): S, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    let mut world = s.world();
    merge((|| {
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

async fn event_get(AxState(s): S, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    let mut world = s.world();
    merge((|| {
        let me = caller(&mut world, &headers)?;
        let ev = visible_event(&world, &me, &uuid)?;
        Ok(ok(json!({ "resource": event_json(s.base(), &world, ev) })))
    })())
}

async fn invitees_list(
    AxState(s): S,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    let mut world = s.world();
    merge((|| {
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

async fn invitee_get(
    AxState(s): S,
    headers: HeaderMap,
    Path((uuid, invitee)): Path<(String, String)>,
) -> Response {
    let mut world = s.world();
    merge((|| {
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

async fn event_cancel(
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

async fn busy_times(AxState(s): S, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    let mut world = s.world();
    merge((|| {
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

// ---------------------------------------------------------------- webhook subscriptions

async fn subscription_create(AxState(s): S, headers: HeaderMap, body: Bytes) -> Response {
    let mut world = s.world();
    merge((|| {
        let me = caller(&mut world, &headers)?;
        if me.plan == "free" {
            return Err(forbidden(
                "Please upgrade your Calendly account to Standard",
            ));
        }
        let body = json_body(&body)?;
        let url = str_field(&body, "url").ok_or_else(|| invalid("url", "url is required"))?;
        let parsed = url::Url::parse(url).ok();
        if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
            return Err(invalid("url", "url must be a valid http(s) URL"));
        }
        if !s.callback_allowed(url) {
            return Err(invalid(
                "url",
                "the sandbox delivers webhooks only to the app it serves",
            ));
        }
        let events: Vec<String> = match body.get("events").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => list
                .iter()
                .map(|e| {
                    e.as_str()
                        .filter(|e| WEBHOOK_EVENTS.contains(e))
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            invalid("events", &format!("{e} is not a valid webhook event"))
                        })
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(invalid("events", "events must be a non-empty list")),
        };
        let org = str_field(&body, "organization")
            .ok_or_else(|| invalid("organization", "organization is required"))?;
        let org = uuid_in(org, "organizations")
            .ok_or_else(|| invalid("organization", "organization must be an organization URI"))?;
        let my_org = world.calendly.org_of(&me.id).unwrap_or_default().to_owned();
        if org != my_org {
            return Err(forbidden(
                "You do not have permission to manage webhooks of this organization.",
            ));
        }
        let scope =
            str_field(&body, "scope").ok_or_else(|| invalid("scope", "scope is required"))?;
        let user = match scope {
            "user" => {
                let user = str_field(&body, "user")
                    .ok_or_else(|| invalid("user", "user is required for scope user"))?;
                let id = uuid_in(user, "users")
                    .ok_or_else(|| invalid("user", "user must be a user URI"))?;
                if world.calendly.org_of(id) != Some(my_org.as_str()) {
                    return Err(forbidden(
                        "You do not have permission to manage webhooks of this user.",
                    ));
                }
                Some(id.to_owned())
            }
            "organization" => None,
            _ => return Err(invalid("scope", "scope must be user or organization")),
        };
        let signing_key = match body.get("signing_key") {
            None | Some(Value::Null) => None,
            Some(Value::String(k)) if !k.trim().is_empty() => Some(k.clone()),
            Some(_) => {
                return Err(invalid(
                    "signing_key",
                    "signing_key must be a non-empty string",
                ))
            }
        };
        let conflict = world.calendly.subscriptions.iter().any(|sub| {
            sub.organization == my_org
                && sub.callback_url == url
                && sub.scope == scope
                && sub.user == user
        });
        if conflict {
            return Err(api_error(
                StatusCode::CONFLICT,
                "Already Exists",
                "Hook with this url already exists",
            ));
        }
        let signing_key = signing_key.unwrap_or_else(|| {
            world
                .calendly
                .organizations
                .iter()
                .find(|o| o.uuid == my_org)
                .map(|o| o.signing_key.clone())
                .unwrap_or_default()
        });
        let now = world.now();
        let sub = Subscription {
            uuid: world.uuid(),
            callback_url: url.to_owned(),
            events,
            scope: scope.to_owned(),
            organization: my_org,
            user,
            creator: me.id.clone(),
            signing_key,
            state: "active".to_owned(),
            created_at: now,
            updated_at: now,
            retry_started_at: None,
        };
        let body = json!({ "resource": subscription_json(s.base(), &sub) });
        world.calendly.subscriptions.push(sub);
        Ok(created(body))
    })())
}

async fn subscription_list(AxState(s): S, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    let mut world = s.world();
    merge((|| {
        let me = caller(&mut world, &headers)?;
        let org = q
            .get("organization")
            .ok_or_else(|| invalid("organization", "organization is required"))?;
        let org = uuid_in(org, "organizations")
            .ok_or_else(|| invalid("organization", "organization must be an organization URI"))?;
        if world.calendly.org_of(&me.id) != Some(org) {
            return Err(forbidden(
                "You do not have permission to access this organization's data.",
            ));
        }
        let scope = q
            .get("scope")
            .map(String::as_str)
            .ok_or_else(|| invalid("scope", "scope is required"))?;
        if scope != "user" && scope != "organization" {
            return Err(invalid("scope", "scope must be user or organization"));
        }
        let user = match q.get("user") {
            None if scope == "user" => {
                return Err(invalid("user", "user is required for scope user"))
            }
            None => None,
            Some(u) => Some(
                uuid_in(u, "users").ok_or_else(|| invalid("user", "user must be a user URI"))?,
            ),
        };
        let mut subs: Vec<&Subscription> = world
            .calendly
            .subscriptions
            .iter()
            .filter(|sub| sub.organization == org && sub.scope == scope)
            .filter(|sub| user.is_none_or(|u| sub.user.as_deref() == Some(u)))
            .collect();
        if q.get("sort").is_some_and(|s| s == "created_at:desc") {
            subs.reverse();
        }
        let items = subs
            .into_iter()
            .map(|sub| subscription_json(s.base(), sub))
            .collect();
        Ok(ok(paginate(s.base(), "webhook_subscriptions", &q, items)?))
    })())
}

fn visible_subscription<'a>(
    world: &'a World,
    me: &Account,
    uuid: &str,
) -> Result<&'a Subscription, Response> {
    let my_org = world.calendly.org_of(&me.id);
    world
        .calendly
        .subscriptions
        .iter()
        .find(|sub| sub.uuid == uuid && Some(sub.organization.as_str()) == my_org)
        .ok_or_else(not_found)
}

async fn subscription_get(AxState(s): S, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    let mut world = s.world();
    merge((|| {
        let me = caller(&mut world, &headers)?;
        let sub = visible_subscription(&world, &me, &uuid)?;
        Ok(ok(json!({ "resource": subscription_json(s.base(), sub) })))
    })())
}

async fn subscription_delete(
    AxState(s): S,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let mut world = s.world();
    merge((|| {
        let me = caller(&mut world, &headers)?;
        visible_subscription(&world, &me, &uuid)?;
        world.calendly.subscriptions.retain(|sub| sub.uuid != uuid);
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

// ---------------------------------------------------------------- deliveries

/// Deliveries of `event` about one invitee to every active subscription
/// that covers the invitee's host.
fn notify(base: &str, world: &World, event: &str, invitee_uuid: &str) -> Vec<Outbound> {
    let Some(inv) = world.calendly.invitees.get(invitee_uuid) else {
        return Vec::new();
    };
    let Some(ev) = world.calendly.event(&inv.event) else {
        return Vec::new();
    };
    let host_org = world.calendly.org_of(&ev.host);
    let mut payload = invitee_json(base, inv);
    payload["scheduled_event"] = event_json(base, world, ev);
    let created_at = ts(world.now());
    world
        .calendly
        .subscriptions
        .iter()
        .filter(|sub| sub.state == "active" && sub.events.iter().any(|e| e == event))
        .filter(|sub| match sub.scope.as_str() {
            "user" => sub.user.as_deref().is_some_and(|u| ev.hosted_by(u)),
            _ => Some(sub.organization.as_str()) == host_org,
        })
        .map(|sub| {
            let body = json!({
                "event": event,
                "created_at": created_at,
                "created_by": user_uri(base, &sub.creator),
                "payload": payload,
            });
            Outbound {
                provider: Provider::Calendly,
                url: sub.callback_url.clone(),
                headers: vec![
                    ("Content-Type".to_owned(), "application/json".to_owned()),
                    ("User-Agent".to_owned(), "Calendly".to_owned()),
                ],
                body: serde_json::to_vec(&body).unwrap_or_default(),
                label: event.to_owned(),
                retry: Retry::CalendlyWindow {
                    subscription: sub.uuid.clone(),
                },
                calendly_signing_key: Some(sub.signing_key.clone()),
            }
        })
        .collect()
}

fn dispatch(sandbox: &Sandbox, out: Vec<Outbound>) {
    for outbound in out {
        sandbox.deliveries().send(outbound);
    }
}

// ---------------------------------------------------------------- mutations

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
fn cancel_event(
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
    let start = parse_time(start)
        .ok_or_else(|| super::control::bad_request("start_time must be an RFC 3339 timestamp"))?;
    let end = parse_time(end)
        .ok_or_else(|| super::control::bad_request("end_time must be an RFC 3339 timestamp"))?;
    if end <= start {
        return Err(super::control::bad_request(
            "end_time must be after start_time",
        ));
    }
    if end - start > chrono::Duration::hours(24) {
        return Err(super::control::bad_request(
            "a booking can last at most 24 hours",
        ));
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
            return Err(super::control::bad_request("invitee_name is required"));
        }
        if !invitee_email.contains('@') || invitee_email.contains(char::is_whitespace) {
            return Err(super::control::bad_request(
                "invitee_email must be an email address",
            ));
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
                return Err(super::control::bad_request("the event is already canceled"));
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
                return Err(super::control::bad_request(
                    "the invitee is already canceled",
                ));
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
            return Err(super::control::bad_request(
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
            (true, true) => {
                return Err(super::control::bad_request(
                    "the invitee is already marked as a no-show",
                ))
            }
            (false, false) => {
                return Err(super::control::bad_request(
                    "the invitee is not marked as a no-show",
                ))
            }
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

// ---------------------------------------------------------------- control routes

fn control_body(body: &Bytes) -> Result<Value, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(super::control::bad_request(
            "the body must be a JSON object",
        )),
    }
}

async fn control_book(AxState(s): S, body: Bytes) -> Response {
    merge((|| {
        let body = control_body(&body)?;
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let mut missing = Vec::new();
        let mut required = |k: &str| {
            field(k).unwrap_or_else(|| {
                missing.push(k.to_owned());
                String::new()
            })
        };
        let req = BookingRequest {
            host_email: required("host_email"),
            invitee_name: required("invitee_name"),
            invitee_email: required("invitee_email"),
            start_time: required("start_time"),
            end_time: required("end_time"),
            event_name: field("event_name").unwrap_or_default(),
            location: body.get("location").filter(|l| l.is_object()).cloned(),
            co_host_emails: body
                .get("co_host_emails")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        };
        if !missing.is_empty() {
            return Err(super::control::bad_request(format!(
                "missing fields: {}",
                missing.join(", ")
            )));
        }
        Ok(created(book(&s, req)?))
    })())
}

async fn control_cancel(AxState(s): S, Path(uuid): Path<String>, body: Bytes) -> Response {
    merge((|| {
        let body = control_body(&body)?;
        let reason = body.get("reason").and_then(Value::as_str).unwrap_or("");
        Ok(ok(cancel(&s, &uuid, reason)?))
    })())
}

async fn control_reschedule(AxState(s): S, Path(uuid): Path<String>, body: Bytes) -> Response {
    merge((|| {
        let body = control_body(&body)?;
        let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let reason = body
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(created(reschedule(
            &s,
            &uuid,
            &field("start_time"),
            &field("end_time"),
            reason,
        )?))
    })())
}

async fn control_no_show(AxState(s): S, Path(uuid): Path<String>) -> Response {
    merge(set_no_show(&s, &uuid, true).map(created))
}

async fn control_no_show_delete(AxState(s): S, Path(uuid): Path<String>) -> Response {
    merge(set_no_show(&s, &uuid, false).map(ok))
}

/// Every webhook subscription with its signing key, so a load tool can sign
/// deliveries the way Calendly would.
async fn control_subscriptions(AxState(s): S) -> Response {
    let world = s.world();
    let list: Vec<Value> = world
        .calendly
        .subscriptions
        .iter()
        .map(|sub| {
            json!({
                "uuid": sub.uuid,
                "callback_url": sub.callback_url,
                "signing_key": sub.signing_key,
                "state": sub.state,
                "created_by": user_uri(s.base(), &sub.creator),
            })
        })
        .collect();
    ok(json!({ "collection": list }))
}

async fn control_disable(AxState(s): S, Path(uuid): Path<String>) -> Response {
    let mut world = s.world();
    if !world
        .calendly
        .subscriptions
        .iter()
        .any(|sub| sub.uuid == uuid)
    {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("no webhook subscription '{uuid}'"),
        );
    }
    disable_subscription(&mut world, &uuid);
    let sub = world
        .calendly
        .subscriptions
        .iter()
        .find(|sub| sub.uuid == uuid)
        .expect("checked above");
    ok(json!({ "resource": subscription_json(s.base(), sub) }))
}
