//! The machine API for integrations and AI agents, under `/api/v1`: hosts,
//! availability and bookings, authenticated by a tenant's API key. Thin
//! handlers: parse, check the key's scope, call the booking service, shape
//! the JSON (`wire`). `openapi` describes it.

pub mod agent;
pub mod appointments;
pub mod failure;
pub mod openapi;
pub mod wire;

use crate::model::{ApiScope, BookingId};
use crate::server::api_keys::KeyCaller;
use crate::server::app_state::AppState;
use crate::server::booking::availability;
use crate::server::booking::book::{self, Access, Attendee, BookingRequest};
use crate::server::booking::slots;
use crate::server::booking::speak;
use crate::server::validate::check_time_zone;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use chrono_tz::Tz;
use failure::ApiFailure;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use wire::{AvailabilityOut, BookingIn, BookingOut, HostOut, HostsOut, RescheduleIn, SlotOut};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hosts", get(hosts))
        .route("/api/v1/availability", get(availability))
        .route("/api/v1/bookings", post(create_booking))
        .route("/api/v1/bookings/{id}", get(get_booking))
        .route("/api/v1/bookings/{id}/cancel", post(cancel_booking))
        .route("/api/v1/bookings/{id}/reschedule", post(reschedule_booking))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/agent/tools", get(agent::definitions))
        .route("/api/v1/agent/tools/{name}", post(agent::call_over_http))
        .merge(appointments::routes())
}

/// A JSON body whose faults come back as our 422 with the field named.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiFailure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiFailure::invalid("body", "Send a JSON body of at most 256 KB."))?;
        let mut json = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut json)
            .map(ApiJson)
            .map_err(bad_json)
    }
}

/// JSON already parsed (an agent tool's arguments) into `T`, its faults
/// reported like a body's.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiFailure> {
    serde_path_to_error::deserialize(value).map_err(bad_json)
}

fn bad_json(e: serde_path_to_error::Error<serde_json::Error>) -> ApiFailure {
    // serde_json appends " at line 1 column 9": the field says where.
    let text = e.inner().to_string();
    let message = match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    };
    ApiFailure::BadJson {
        field: faulty_field(&e.path().to_string(), &message),
        message,
    }
}

/// The field a serde error is about: its path, and for a missing field
/// that field under it.
fn faulty_field(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (path, Some(name)) => format!("{path}.{name}"),
        (".", None) => "body".to_owned(),
        (path, None) => path.to_owned(),
    }
}

fn require(key: &KeyCaller, scope: ApiScope) -> Result<(), ApiFailure> {
    if key.may(scope) {
        Ok(())
    } else {
        Err(ApiFailure::MissingScope(scope))
    }
}

fn zone(text: Option<&str>, field: &'static str) -> Result<Option<Tz>, ApiFailure> {
    text.map(str::trim)
        .filter(|z| !z.is_empty())
        .map(|z| {
            check_time_zone(z)
                .ok()
                .and_then(|z| z.parse::<Tz>().ok())
                .ok_or_else(|| {
                    ApiFailure::invalid(field, "Use an IANA time zone like Europe/Berlin.")
                })
        })
        .transpose()
}

fn start_of(text: &str, field: &'static str) -> Result<i64, ApiFailure> {
    speak::parse_rfc3339(text).ok_or_else(|| {
        ApiFailure::invalid(
            field,
            "Give the start as RFC 3339 with an offset, like 2026-12-02T14:00:00+01:00.",
        )
    })
}

#[utoipa::path(get, path = "/api/v1/hosts", tag = "booking",
    responses((status = 200, body = HostsOut), (status = 401, body = wire::ErrorOut), (status = 403, body = wire::ErrorOut)),
    security(("api_key" = [])))]
/// The team's hosts and the event types each offers.
pub async fn hosts(
    State(state): State<AppState>,
    key: KeyCaller,
) -> Result<Json<HostsOut>, ApiFailure> {
    list_hosts(&state, &key).await.map(Json)
}

pub async fn list_hosts(state: &AppState, key: &KeyCaller) -> Result<HostsOut, ApiFailure> {
    require(key, ApiScope::AvailabilityRead)?;
    let hosts = slots::hosts(&state.bookings, &key.tenant).await?;
    Ok(HostsOut {
        data: hosts.into_iter().map(HostOut::from).collect(),
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// A host's slug, or "any" for every host of the team.
    pub host: Option<String>,
    pub event_type: Option<String>,
    /// First day, YYYY-MM-DD, in `time_zone`.
    pub start: Option<String>,
    /// Last day (included), YYYY-MM-DD; at most 62 days after `start`.
    /// The first day when absent.
    pub end: Option<String>,
    /// IANA zone the days and the returned times are in (default UTC).
    pub time_zone: Option<String>,
}

fn date(text: Option<&str>, field: &'static str) -> Result<NaiveDate, ApiFailure> {
    text.and_then(|t| NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok())
        .ok_or_else(|| ApiFailure::invalid(field, "Give a date as YYYY-MM-DD."))
}

fn required<'a>(text: &'a Option<String>, field: &'static str) -> Result<&'a str, ApiFailure> {
    text.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiFailure::invalid(field, "This parameter is required."))
}

#[utoipa::path(get, path = "/api/v1/availability", tag = "booking", params(AvailabilityQuery),
    responses((status = 200, body = AvailabilityOut), (status = 404, body = wire::ErrorOut), (status = 422, body = wire::ErrorOut),
        (status = 503, body = wire::ErrorOut, description = "calendar_unavailable: the host's calendar cannot be read, so no times are offered")),
    security(("api_key" = [])))]
/// The free slots of a host (or of any host) between two dates.
pub async fn availability(
    State(state): State<AppState>,
    key: KeyCaller,
    query: Result<Query<AvailabilityQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AvailabilityOut>, ApiFailure> {
    let Query(q) =
        query.map_err(|_| ApiFailure::invalid("query", "Check the query parameters."))?;
    find_availability(&state, &key, &q).await.map(Json)
}

pub async fn find_availability(
    state: &AppState,
    key: &KeyCaller,
    q: &AvailabilityQuery,
) -> Result<AvailabilityOut, ApiFailure> {
    require(key, ApiScope::AvailabilityRead)?;
    let host = required(&q.host, "host")?;
    let event_type = required(&q.event_type, "event_type")?;
    let tz = zone(q.time_zone.as_deref(), "time_zone")?.unwrap_or(chrono_tz::UTC);
    let first = date(q.start.as_deref(), "start")?;
    let last = match q.end.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(end) => date(Some(end), "end")?,
        None => first,
    };
    let from = availability::instant(tz, first, 0);
    let to = last
        .succ_opt()
        .map(|next| availability::instant(tz, next, 0))
        .ok_or_else(|| ApiFailure::invalid("end", "Give a date as YYYY-MM-DD."))?;
    let found = slots::free_slots(
        &state.bookings,
        Some(&key.tenant),
        host,
        event_type,
        from,
        to,
    )
    .await?;
    Ok(AvailabilityOut {
        time_zone: tz.name().to_owned(),
        slots: found.iter().map(|s| SlotOut::new(s, tz)).collect(),
    })
}

fn idempotency_key(header: Option<&str>, body: Option<&str>) -> Result<Option<String>, ApiFailure> {
    match (header, body) {
        (Some(h), Some(b)) if h != b => Err(ApiFailure::invalid(
            "idempotency_key",
            "The Idempotency-Key header and the idempotency_key field differ; send one.",
        )),
        (h, b) => Ok(h.or(b).map(str::to_owned)),
    }
}

#[utoipa::path(post, path = "/api/v1/bookings", tag = "booking", request_body = BookingIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "A repeat with the same key returns the first result")),
    responses((status = 201, body = BookingOut), (status = 409, body = wire::ErrorOut, description = "slot_taken, with alternatives"),
        (status = 503, body = wire::ErrorOut, description = "calendar_unavailable"),
        (status = 422, body = wire::ErrorOut, description = "invalid_request (with field), not_a_slot, idempotency_key_reused")),
    security(("api_key" = [])))]
/// Books a free slot for an attendee.
pub async fn create_booking(
    State(state): State<AppState>,
    key: KeyCaller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BookingIn>,
) -> Result<Response, ApiFailure> {
    let header_key = match headers.get("idempotency-key") {
        Some(v) => Some(v.to_str().map_err(|_| {
            ApiFailure::invalid("idempotency_key", "Use a key of 1 to 200 characters.")
        })?),
        None => None,
    };
    let booked = place_booking(&state, &key, header_key, &body).await?;
    Ok((StatusCode::CREATED, Json(booked)).into_response())
}

/// Books `body`; `header_key` is the `Idempotency-Key` header, if sent.
pub async fn place_booking(
    state: &AppState,
    key: &KeyCaller,
    header_key: Option<&str>,
    body: &BookingIn,
) -> Result<BookingOut, ApiFailure> {
    require(key, ApiScope::BookingsWrite)?;
    let tz = zone(body.attendee.time_zone.as_deref(), "attendee.time_zone")?;
    let result = async {
        let idempotency_key = idempotency_key(header_key, body.idempotency_key.as_deref())?;
        let request = BookingRequest {
            host: &body.host,
            event_type: &body.event_type,
            start: start_of(&body.start, "start")?,
            attendee: Attendee {
                name: &body.attendee.name,
                email: &body.attendee.email,
                phone: body.attendee.phone.as_deref(),
                time_zone: body.attendee.time_zone.as_deref(),
            },
            purpose: body.purpose.as_deref(),
            idempotency_key: idempotency_key.as_deref(),
            visitor: None,
        };
        Ok::<_, ApiFailure>(book::book(&state.bookings, Some(&key.tenant), &request).await?)
    }
    .await;
    result
        .map(|placed| BookingOut::new(&placed, key))
        .map_err(|e| e.in_zone(tz.unwrap_or(chrono_tz::UTC)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only what this actor did (an e-mail, a key's name, …).
    pub actor: Option<String>,
    /// Only this action, e.g. api_key.created.
    pub action: Option<String>,
    /// First day, YYYY-MM-DD (UTC).
    pub from: Option<String>,
    /// Last day (included), YYYY-MM-DD (UTC).
    pub to: Option<String>,
    /// The `next` of the previous page.
    pub before: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = wire::AuditOut)),
    security(("api_key" = [])))]
/// The team's audit trail, newest first, 50 entries a page.
pub async fn audit(
    State(state): State<AppState>,
    key: KeyCaller,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<wire::AuditOut>, ApiFailure> {
    require(&key, ApiScope::AuditRead)?;
    let Query(q) =
        query.map_err(|_| ApiFailure::invalid("query", "Check the query parameters."))?;
    let query = crate::server::audit::Query {
        actor: q.actor.as_deref(),
        action: q.action.as_deref(),
        from: q.from.as_deref(),
        to: q.to.as_deref(),
        before: q.before.as_deref(),
    };
    let page = crate::server::audit::page(&state.db, &key.tenant, &query).await?;
    Ok(Json(page.into()))
}

fn booking_id(text: &str) -> Result<BookingId, ApiFailure> {
    text.parse()
        .map_err(|_| crate::server::booking::error::BookError::NotFound.into())
}

#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "booking",
    params(("id" = String, Path, description = "The booking's id")),
    responses((status = 200, body = BookingOut), (status = 404, body = wire::ErrorOut)),
    security(("api_key" = [])))]
/// One booking of the team.
pub async fn get_booking(
    State(state): State<AppState>,
    key: KeyCaller,
    Path(id): Path<String>,
) -> Result<Json<BookingOut>, ApiFailure> {
    require(&key, ApiScope::BookingsRead).or_else(|_| require(&key, ApiScope::BookingsWrite))?;
    let placed = book::get(
        &state.bookings,
        Access::Tenant(&key.tenant),
        booking_id(&id)?,
    )
    .await?;
    Ok(Json(BookingOut::new(&placed, &key)))
}

#[utoipa::path(post, path = "/api/v1/bookings/{id}/cancel", tag = "booking",
    params(("id" = String, Path, description = "The booking's id")),
    responses((status = 200, body = BookingOut), (status = 404, body = wire::ErrorOut)),
    security(("api_key" = [])))]
/// Cancels a booking (again: no change).
pub async fn cancel_booking(
    State(state): State<AppState>,
    key: KeyCaller,
    Path(id): Path<String>,
) -> Result<Json<BookingOut>, ApiFailure> {
    cancel(&state, &key, &id).await.map(Json)
}

pub async fn cancel(state: &AppState, key: &KeyCaller, id: &str) -> Result<BookingOut, ApiFailure> {
    require(key, ApiScope::BookingsWrite)?;
    let placed = book::cancel(
        &state.bookings,
        Access::Tenant(&key.tenant),
        booking_id(id)?,
    )
    .await?;
    Ok(BookingOut::new(&placed, key))
}

#[utoipa::path(post, path = "/api/v1/bookings/{id}/reschedule", tag = "booking", request_body = RescheduleIn,
    params(("id" = String, Path, description = "The booking's id")),
    responses((status = 200, body = BookingOut), (status = 404, body = wire::ErrorOut),
        (status = 409, body = wire::ErrorOut, description = "slot_taken or booking_canceled"), (status = 422, body = wire::ErrorOut),
        (status = 503, body = wire::ErrorOut, description = "calendar_unavailable: the host's calendar cannot be read, so the new time cannot be checked")),
    security(("api_key" = [])))]
/// Moves a booking to another free slot of its event type.
pub async fn reschedule_booking(
    State(state): State<AppState>,
    key: KeyCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RescheduleIn>,
) -> Result<Json<BookingOut>, ApiFailure> {
    reschedule(&state, &key, &id, &body.start).await.map(Json)
}

pub async fn reschedule(
    state: &AppState,
    key: &KeyCaller,
    id: &str,
    start: &str,
) -> Result<BookingOut, ApiFailure> {
    require(key, ApiScope::BookingsWrite)?;
    let start = start_of(start, "start")?;
    let id = booking_id(id)?;
    match book::reschedule(&state.bookings, Access::Tenant(&key.tenant), id, start).await {
        Ok(placed) => Ok(BookingOut::new(&placed, key)),
        Err(error) => {
            // The alternatives read in the attendee's zone, like the booking.
            let tz = book::get(&state.bookings, Access::Tenant(&key.tenant), id)
                .await
                .ok()
                .and_then(|p| p.booking.attendee_time_zone.parse().ok())
                .unwrap_or(chrono_tz::UTC);
            Err(ApiFailure::from(error).in_zone(tz))
        }
    }
}
