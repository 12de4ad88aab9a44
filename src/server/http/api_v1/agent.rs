//! The booking API as tools an AI agent calls: one definition per tool
//! (name, description, strict JSON schema, scope, behaviour hints), served
//! to function-calling clients at `GET /api/v1/agent/tools`, callable at
//! `POST /api/v1/agent/tools/{name}`, and the same tools over MCP
//! (`http::mcp`). A call runs the REST handler's own code, and its result
//! is short and says in words what happened.

use super::failure::ApiFailure;
use super::wire::{BookingIn, BookingOut, HostsOut};
use super::{ApiJson, AvailabilityQuery};
use crate::model::ApiScope;
use crate::server::api_keys::KeyCaller;
use crate::server::app_state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// An agent reads out a handful of times, not a month of them.
const MAX_SLOTS: usize = 12;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    ListHosts,
    CheckAvailability,
    CreateBooking,
    CancelBooking,
    RescheduleBooking,
}

/// What a tool does to the world, as MCP's annotations state it.
pub struct Hints {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
}

impl Tool {
    pub const ALL: [Tool; 5] = [
        Tool::ListHosts,
        Tool::CheckAvailability,
        Tool::CreateBooking,
        Tool::CancelBooking,
        Tool::RescheduleBooking,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::ListHosts => "list_hosts",
            Tool::CheckAvailability => "check_availability",
            Tool::CreateBooking => "create_booking",
            Tool::CancelBooking => "cancel_booking",
            Tool::RescheduleBooking => "reschedule_booking",
        }
    }

    pub fn named(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn title(self) -> &'static str {
        match self {
            Tool::ListHosts => "List hosts",
            Tool::CheckAvailability => "Check availability",
            Tool::CreateBooking => "Book an appointment",
            Tool::CancelBooking => "Cancel a booking",
            Tool::RescheduleBooking => "Reschedule a booking",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Tool::ListHosts => "List the people who take bookings in this team, with their time zone and the event types (slug, name, minutes, location) each offers. Call this first to learn the host and event_type slugs.",
            Tool::CheckAvailability => "Find free appointment times of a host (or host \"any\": whichever host is free) for an event type between two dates. Returns at most 12 times, each with a phrase to say aloud; book one of them exactly as returned.",
            Tool::CreateBooking => "Book a free time returned by check_availability for an attendee. The attendee receives a calendar invitation and a link to manage the booking. If the time was taken meanwhile, the error lists the nearest free times.",
            Tool::CancelBooking => "Cancel a booking by its id. Canceling a canceled booking changes nothing.",
            Tool::RescheduleBooking => "Move a booking to another free time of the same event type (from check_availability). The attendee's calendar event follows.",
        }
    }

    pub fn scope(self) -> ApiScope {
        match self {
            Tool::ListHosts | Tool::CheckAvailability => ApiScope::AvailabilityRead,
            Tool::CreateBooking | Tool::CancelBooking | Tool::RescheduleBooking => {
                ApiScope::BookingsWrite
            }
        }
    }

    pub fn hints(self) -> Hints {
        let (read_only, destructive, idempotent) = match self {
            Tool::ListHosts | Tool::CheckAvailability => (true, false, true),
            // A repeat books again unless it carries the same idempotency key.
            Tool::CreateBooking => (false, false, false),
            Tool::CancelBooking | Tool::RescheduleBooking => (false, true, true),
        };
        Hints {
            read_only,
            destructive,
            idempotent,
        }
    }

    /// The arguments' JSON schema in the strict form function-calling
    /// clients require: every property listed as required, the optional
    /// ones nullable, no other properties.
    pub fn input_schema(self) -> Value {
        match self {
            Tool::ListHosts => object(vec![]),
            Tool::CheckAvailability => object(vec![
                ("host", text("A host's slug from list_hosts, or \"any\" for whichever host is free.")),
                ("event_type", text("The event type's slug from list_hosts.")),
                ("start", text("First day, YYYY-MM-DD, in time_zone.")),
                ("end", nullable("Last day (included), YYYY-MM-DD, at most 62 days after start; null for just the first day.")),
                ("time_zone", nullable("IANA time zone the days and the returned times are in, e.g. America/New_York; null for UTC.")),
            ]),
            Tool::CreateBooking => object(vec![
                ("host", text("The host's slug, as the chosen time from check_availability names it, or \"any\".")),
                ("event_type", text("The event type's slug.")),
                ("start", text("The chosen start exactly as check_availability returned it (RFC 3339 with offset).")),
                ("attendee", described("The person the appointment is for.", object(vec![
                    ("name", text("The attendee's full name.")),
                    ("email", text("The attendee's email address; the invitation goes there.")),
                    ("phone", nullable("The attendee's phone number, e.g. +1 312 555 0100; null if not given.")),
                    ("time_zone", nullable("IANA zone the attendee reads times in; null for the host's.")),
                ]))),
                ("purpose", nullable("What the appointment is about, in the attendee's words; null if not given.")),
                ("idempotency_key", nullable("A key unique to this booking request; a retry with the same key returns the first result instead of booking twice.")),
            ]),
            Tool::CancelBooking => object(vec![("booking_id", text("The booking's id."))]),
            Tool::RescheduleBooking => object(vec![
                ("booking_id", text("The booking's id.")),
                ("start", text("The new start exactly as check_availability returned it (RFC 3339 with offset).")),
            ]),
        }
    }
}

fn text(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn nullable(description: &str) -> Value {
    json!({"type": ["string", "null"], "description": description})
}

fn described(description: &str, mut schema: Value) -> Value {
    schema["description"] = description.into();
    schema
}

fn object(properties: Vec<(&str, Value)>) -> Value {
    let required: Vec<&str> = properties.iter().map(|(name, _)| *name).collect();
    let properties: Map<String, Value> = properties
        .into_iter()
        .map(|(name, schema)| (name.to_owned(), schema))
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// `GET /api/v1/agent/tools`: the definitions in the function-calling
/// format (`{"type":"function","function":{…,"strict":true}}`).
pub async fn definitions() -> Json<Value> {
    let tools: Vec<Value> = Tool::ALL
        .into_iter()
        .map(|tool| {
            json!({
                "type": "function",
                "function": {
                    "name": tool.name(),
                    "description": tool.description(),
                    "parameters": tool.input_schema(),
                    "strict": true,
                }
            })
        })
        .collect();
    Json(json!({ "tools": tools }))
}

/// `POST /api/v1/agent/tools/{name}` with the arguments as the body.
pub async fn call_over_http(
    State(state): State<AppState>,
    key: KeyCaller,
    Path(name): Path<String>,
    ApiJson(arguments): ApiJson<Value>,
) -> Result<Json<Value>, ApiFailure> {
    let tool = Tool::named(&name).ok_or(ApiFailure::UnknownTool)?;
    call(&state, &key, tool, arguments).await.map(Json)
}

#[derive(Deserialize)]
struct BookingRef {
    booking_id: String,
}

#[derive(Deserialize)]
struct RescheduleArgs {
    booking_id: String,
    start: String,
}

/// Runs `tool` for `key` with `arguments` (a JSON object; null for none).
pub async fn call(
    state: &AppState,
    key: &KeyCaller,
    tool: Tool,
    arguments: Value,
) -> Result<Value, ApiFailure> {
    let arguments = checked_fields(tool, arguments)?;
    match tool {
        Tool::ListHosts => {
            let hosts = super::list_hosts(state, key).await?;
            Ok(hosts_result(&hosts))
        }
        Tool::CheckAvailability => {
            let query: AvailabilityQuery = super::from_value(arguments)?;
            let found = super::find_availability(state, key, &query).await?;
            let total = found.slots.len();
            let summary = match found.slots.as_slice() {
                [] => "No free times in that range; try other days or another host.".to_owned(),
                slots => {
                    let first: Vec<&str> =
                        slots.iter().take(3).map(|s| s.speakable.as_str()).collect();
                    format!(
                        "{total} free time{} ({}); the first: {}.",
                        if total == 1 { "" } else { "s" },
                        found.time_zone,
                        first.join(", ")
                    )
                }
            };
            let slots: Vec<_> = found.slots.into_iter().take(MAX_SLOTS).collect();
            Ok(json!({
                "summary": summary,
                "time_zone": found.time_zone,
                "slots": slots,
                "more_slots": total.saturating_sub(MAX_SLOTS),
            }))
        }
        Tool::CreateBooking => {
            let booking: BookingIn = super::from_value(arguments)?;
            let booked = super::place_booking(state, key, None, &booking).await?;
            let summary = format!(
                "Booked for {} ({}) with {}. {} gets the invitation and a link to cancel or reschedule.",
                booked.speakable, booked.time_zone, booked.host, booked.attendee_email
            );
            Ok(booking_result(summary, &booked))
        }
        Tool::CancelBooking => {
            let target: BookingRef = super::from_value(arguments)?;
            let canceled = super::cancel(state, key, &target.booking_id).await?;
            let summary = format!("The booking for {} is canceled.", canceled.speakable);
            Ok(booking_result(summary, &canceled))
        }
        Tool::RescheduleBooking => {
            let args: RescheduleArgs = super::from_value(arguments)?;
            let moved = super::reschedule(state, key, &args.booking_id, &args.start).await?;
            let summary = format!(
                "The booking is now {} ({}).",
                moved.speakable, moved.time_zone
            );
            Ok(booking_result(summary, &moved))
        }
    }
}

/// The arguments as an object holding only the tool's properties: the
/// schema's `additionalProperties: false`, kept by the server too.
fn checked_fields(tool: Tool, arguments: Value) -> Result<Value, ApiFailure> {
    let arguments = match arguments {
        Value::Null => Map::new(),
        Value::Object(map) => map,
        _ => {
            return Err(ApiFailure::BadJson {
                field: "arguments".into(),
                message: "Send the arguments as a JSON object.".into(),
            })
        }
    };
    let schema = tool.input_schema();
    let known = schema["properties"].as_object();
    if let Some(unknown) = arguments
        .keys()
        .find(|name| !known.is_some_and(|k| k.contains_key(*name)))
    {
        let allowed: Vec<&str> = known
            .map(|k| k.keys().map(String::as_str).collect())
            .unwrap_or_default();
        return Err(ApiFailure::BadJson {
            field: unknown.clone(),
            message: format!(
                "{} takes no `{unknown}`; its arguments are: {}.",
                tool.name(),
                if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed.join(", ")
                }
            ),
        });
    }
    Ok(Value::Object(arguments))
}

fn hosts_result(hosts: &HostsOut) -> Value {
    let names: Vec<String> = hosts
        .data
        .iter()
        .map(|h| {
            let offers: Vec<String> = h
                .event_types
                .iter()
                .map(|e| format!("{} ({} min)", e.name, e.duration_minutes))
                .collect();
            format!("{} [{}]: {}", h.name, h.slug, offers.join(", "))
        })
        .collect();
    let summary = match names.len() {
        0 => "Nobody in this team takes bookings yet.".to_owned(),
        n => format!(
            "{n} host{}: {}.",
            if n == 1 { "" } else { "s" },
            names.join("; ")
        ),
    };
    json!({ "summary": summary, "hosts": hosts.data })
}

fn booking_result(summary: String, booking: &BookingOut) -> Value {
    json!({ "summary": summary, "booking": booking })
}
