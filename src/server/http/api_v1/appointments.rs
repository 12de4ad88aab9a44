//! `/api/v1/appointments`: create, list, read, change and cancel a team
//! member's appointments (kept in two-way sync with their calendar), and
//! settle a conflict. Same keys, tenant rules and error shapes as the
//! booking API.

use super::failure::ApiFailure;
use super::{idempotency_key, require, start_of, ApiJson};
use crate::model::{ApiScope, AppointmentId, AuditAction, EventContent, UserId};
use crate::server::api_keys::KeyCaller;
use crate::server::app_state::AppState;
use crate::server::appointments::{self, Access, Draft};
use crate::server::audit;
use crate::server::booking::error::BookError;
use crate::server::platform::db::appointments::Appointment;
use crate::server::platform::db::ms_to_rfc3339;
use crate::server::platform::db::users as users_repo;
use crate::server::sync::plan::Keep;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/appointments", post(create).get(list))
        .route(
            "/api/v1/appointments/{id}",
            get(read).patch(change).delete(cancel),
        )
        .route("/api/v1/appointments/{id}/resolve", post(resolve))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentIn {
    /// The team member's booking page slug or email address.
    pub host: String,
    pub title: String,
    /// RFC 3339 with an offset.
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub attendees: Vec<String>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub idempotency_key: Option<String>,
}

/// Present and `null` clears the field; absent keeps it.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentPatch {
    pub title: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub attendees: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveIn {
    /// `calbridge` or `calendar`: whose version stays.
    pub keep: String,
}

#[derive(Serialize, ToSchema)]
pub struct ContentOut {
    pub title: String,
    pub start: String,
    pub end: String,
    pub attendees: Vec<String>,
    pub location: Option<String>,
    /// `confirmed` or `canceled`.
    pub status: String,
}

impl ContentOut {
    fn new(c: &EventContent) -> Self {
        ContentOut {
            title: c.title.clone(),
            start: ms_to_rfc3339(c.starts_at),
            end: ms_to_rfc3339(c.ends_at),
            attendees: c.attendees.clone(),
            location: c.location.clone(),
            status: if c.canceled { "canceled" } else { "confirmed" }.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SyncOut {
    /// synced, pending, conflict or error.
    pub state: String,
    /// The event in the calendar (`https:`), once written.
    pub external_link: Option<String>,
    /// google or microsoft, once written.
    pub provider: Option<String>,
    pub error: Option<String>,
    pub last_synced_at: Option<String>,
    /// In a conflict: the calendar's version, beside calbridge's.
    pub calendar_version: Option<ContentOut>,
}

#[derive(Serialize, ToSchema)]
pub struct AppointmentOut {
    pub id: String,
    /// The owner's email.
    pub host: String,
    #[serde(flatten)]
    pub content: ContentOut,
    pub notes: Option<String>,
    pub sync: SyncOut,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct AppointmentsOut {
    pub data: Vec<AppointmentOut>,
}

/// The owners' emails, read once per user.
struct Owners<'a> {
    state: &'a AppState,
    emails: HashMap<UserId, String>,
}

impl Owners<'_> {
    async fn out(&mut self, a: &Appointment) -> Result<AppointmentOut, ApiFailure> {
        let owner = a.owner.user_id();
        if !self.emails.contains_key(&owner) {
            let user = users_repo::get(self.state.db.pool(), &a.owner.tenant, owner)
                .await
                .map_err(BookError::from)?;
            self.emails.insert(owner, user.email);
        }
        let provider = match &a.link {
            Some(link) => crate::server::platform::db::connections::get_in_tenant(
                self.state.db.pool(),
                &a.owner.tenant,
                link.connection,
            )
            .await
            .ok()
            .map(|c| c.provider.as_str().to_owned()),
            None => None,
        };
        Ok(AppointmentOut {
            id: a.id.to_string(),
            host: self.emails[&owner].clone(),
            content: ContentOut::new(&a.content),
            notes: a.notes.clone(),
            sync: SyncOut {
                state: appointments::sync_state(a).as_str().to_owned(),
                external_link: a.link.as_ref().and_then(|l| l.external_link.clone()),
                provider,
                error: a.link.as_ref().and_then(|l| l.error.clone()),
                last_synced_at: a.link.as_ref().map(|l| ms_to_rfc3339(l.last_synced_at)),
                calendar_version: a
                    .link
                    .as_ref()
                    .and_then(|l| l.calendar_version.as_ref())
                    .map(ContentOut::new),
            },
            updated_at: ms_to_rfc3339(a.updated_at),
        })
    }
}

fn owners(state: &AppState) -> Owners<'_> {
    Owners {
        state,
        emails: HashMap::new(),
    }
}

fn appointment_id(text: &str) -> Result<AppointmentId, ApiFailure> {
    text.parse().map_err(|_| BookError::NotFound.into())
}

fn read_scope(key: &KeyCaller) -> Result<(), ApiFailure> {
    require(key, ApiScope::AppointmentsRead)
}

#[utoipa::path(post, path = "/api/v1/appointments", tag = "appointments", request_body = AppointmentIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "A repeat with the same key returns the first result")),
    responses((status = 201, body = AppointmentOut), (status = 404, body = super::wire::ErrorOut, description = "no such host"),
        (status = 409, body = super::wire::ErrorOut, description = "slot_taken: the host has a booking or appointment then"),
        (status = 422, body = super::wire::ErrorOut)),
    security(("api_key" = [])))]
/// Creates an appointment for a team member; it is written to their calendar.
pub async fn create(
    State(state): State<AppState>,
    key: KeyCaller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AppointmentIn>,
) -> Result<Response, ApiFailure> {
    require(&key, ApiScope::AppointmentsWrite)?;
    let header_key = match headers.get("idempotency-key") {
        Some(v) => Some(v.to_str().map_err(|_| {
            ApiFailure::invalid("idempotency_key", "Use a key of 1 to 200 characters.")
        })?),
        None => None,
    };
    let idempotency_key = idempotency_key(header_key, body.idempotency_key.as_deref())?;
    let owner = appointments::owner_named(&state.appointments, &key.tenant, &body.host).await?;
    let draft = Draft {
        title: Some(&body.title),
        start: Some(start_of(&body.start, "start")?),
        end: Some(start_of(&body.end, "end")?),
        attendees: Some(&body.attendees),
        location: Some(body.location.as_deref()),
        notes: Some(body.notes.as_deref()),
    };
    let made = appointments::create(
        &state.appointments,
        &owner,
        &draft,
        idempotency_key.as_deref(),
    )
    .await?;
    let out = owners(&state).out(&made).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// A booking page slug or email: that member's only.
    pub host: Option<String>,
    /// RFC 3339; the range is at most 366 days.
    pub start: Option<String>,
    pub end: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/appointments", tag = "appointments", params(ListQuery),
    responses((status = 200, body = AppointmentsOut), (status = 422, body = super::wire::ErrorOut)),
    security(("api_key" = [])))]
/// The team's appointments (or one member's) overlapping a range, by start.
pub async fn list(
    State(state): State<AppState>,
    key: KeyCaller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AppointmentsOut>, ApiFailure> {
    read_scope(&key)?;
    let Query(q) =
        query.map_err(|_| ApiFailure::invalid("query", "Check the query parameters."))?;
    let owner = match q.host.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
        Some(host) => Some(
            appointments::owner_named(&state.appointments, &key.tenant, host)
                .await?
                .user_id(),
        ),
        None => None,
    };
    let now = state.appointments.clock.now_ms();
    let from = match q.start.as_deref() {
        Some(s) => start_of(s, "start")?,
        None => now - 30 * 24 * 3_600_000,
    };
    let to = match q.end.as_deref() {
        Some(e) => start_of(e, "end")?,
        None => from + 90 * 24 * 3_600_000,
    };
    let found = appointments::list(
        &state.appointments,
        Access::Tenant(&key.tenant),
        owner,
        from,
        to,
    )
    .await?;
    let mut owners = owners(&state);
    let mut data = Vec::with_capacity(found.len());
    for a in &found {
        data.push(owners.out(a).await?);
    }
    Ok(Json(AppointmentsOut { data }))
}

#[utoipa::path(get, path = "/api/v1/appointments/{id}", tag = "appointments",
    params(("id" = String, Path, description = "The appointment's id")),
    responses((status = 200, body = AppointmentOut), (status = 404, body = super::wire::ErrorOut)),
    security(("api_key" = [])))]
/// One appointment of the team, with its sync state.
pub async fn read(
    State(state): State<AppState>,
    key: KeyCaller,
    Path(id): Path<String>,
) -> Result<Json<AppointmentOut>, ApiFailure> {
    read_scope(&key)?;
    let a = appointments::get(
        &state.appointments,
        Access::Tenant(&key.tenant),
        appointment_id(&id)?,
    )
    .await?;
    Ok(Json(owners(&state).out(&a).await?))
}

#[utoipa::path(patch, path = "/api/v1/appointments/{id}", tag = "appointments", request_body = AppointmentPatch,
    params(("id" = String, Path, description = "The appointment's id")),
    responses((status = 200, body = AppointmentOut), (status = 404, body = super::wire::ErrorOut),
        (status = 409, body = super::wire::ErrorOut, description = "slot_taken, or booking_canceled for a canceled appointment"),
        (status = 422, body = super::wire::ErrorOut)),
    security(("api_key" = [])))]
/// Changes any of the fields; the calendar event follows.
pub async fn change(
    State(state): State<AppState>,
    key: KeyCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AppointmentPatch>,
) -> Result<Json<AppointmentOut>, ApiFailure> {
    require(&key, ApiScope::AppointmentsWrite)?;
    let id = appointment_id(&id)?;
    let draft = Draft {
        title: body.title.as_deref(),
        start: body
            .start
            .as_deref()
            .map(|s| start_of(s, "start"))
            .transpose()?,
        end: body
            .end
            .as_deref()
            .map(|e| start_of(e, "end"))
            .transpose()?,
        attendees: body.attendees.as_deref(),
        location: body.location.as_ref().map(|l| l.as_deref()),
        notes: body.notes.as_ref().map(|n| n.as_deref()),
    };
    let a =
        appointments::update(&state.appointments, Access::Tenant(&key.tenant), id, &draft).await?;
    Ok(Json(owners(&state).out(&a).await?))
}

#[utoipa::path(delete, path = "/api/v1/appointments/{id}", tag = "appointments",
    params(("id" = String, Path, description = "The appointment's id")),
    responses((status = 200, body = AppointmentOut), (status = 404, body = super::wire::ErrorOut)),
    security(("api_key" = [])))]
/// Cancels the appointment; its calendar event is deleted.
pub async fn cancel(
    State(state): State<AppState>,
    key: KeyCaller,
    Path(id): Path<String>,
) -> Result<Json<AppointmentOut>, ApiFailure> {
    require(&key, ApiScope::AppointmentsWrite)?;
    let a = appointments::cancel(
        &state.appointments,
        Access::Tenant(&key.tenant),
        appointment_id(&id)?,
    )
    .await?;
    Ok(Json(owners(&state).out(&a).await?))
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/resolve", tag = "appointments", request_body = ResolveIn,
    params(("id" = String, Path, description = "The appointment's id")),
    responses((status = 200, body = AppointmentOut), (status = 404, body = super::wire::ErrorOut),
        (status = 422, body = super::wire::ErrorOut, description = "no conflict to settle, or keep is not calbridge or calendar")),
    security(("api_key" = [])))]
/// Settles a conflict: keep calbridge's version or the calendar's.
pub async fn resolve(
    State(state): State<AppState>,
    key: KeyCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveIn>,
) -> Result<Json<AppointmentOut>, ApiFailure> {
    require(&key, ApiScope::AppointmentsWrite)?;
    let keep = match body.keep.as_str() {
        "calbridge" => Keep::Calbridge,
        "calendar" => Keep::Calendar,
        _ => return Err(ApiFailure::invalid("keep", "Say calbridge or calendar.")),
    };
    let id = appointment_id(&id)?;
    let a =
        appointments::resolve(&state.appointments, Access::Tenant(&key.tenant), id, keep).await?;
    audit::record_after(
        &state.db,
        &key.tenant,
        audit::Actor::ApiKey {
            id: key.id,
            name: &key.name,
        },
        AuditAction::ConflictDecided,
        audit::Target::named(&id.to_string(), "appointment"),
        keep.decision(),
    )
    .await;
    Ok(Json(owners(&state).out(&a).await?))
}
