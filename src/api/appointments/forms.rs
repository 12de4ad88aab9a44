//! The owner's appointment posts on `/meetings` (create, change, delete)
//! and settling a conflict: the admin's on `/admin/sync`, the owner's on
//! `/settings/calendars` or the appointment's own page. A refused form
//! goes back to its page with what was typed in the query string, so
//! nothing typed is lost.

use crate::api::form::{error, fail, notice, IdPath};
use crate::model::{paths, with_flash, AppointmentId, AuditAction, BookingId, Flash, FlashKind};
use crate::server::app_state::AppState;
use crate::server::appointments::{self, form, Access};
use crate::server::audit;
use crate::server::auth::{AdminCaller, Caller};
use crate::server::booking::{self, error::BookError};
use crate::server::error::AppError;
use crate::server::platform::db::UserScope;
use crate::server::sync::plan::Keep;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono_tz::Tz;
use serde::Deserialize;

/// The appointment form's fields, as posted.
#[derive(Deserialize)]
pub struct AppointmentFields {
    #[serde(default)]
    title: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    attendees: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    notes: String,
}

/// The message for a refused appointment.
fn flash_of(e: &BookError) -> Flash {
    match e {
        BookError::Invalid { field: "title", .. } => Flash::AppointmentTitle,
        BookError::Invalid {
            field: "attendees", ..
        } => Flash::AppointmentAttendees,
        BookError::Invalid {
            field: "location" | "notes",
            ..
        } => Flash::AppointmentTooLong,
        BookError::SlotTaken { .. } => Flash::AppointmentOverlaps,
        BookError::Canceled => Flash::AppointmentWasDeleted,
        _ => Flash::AppointmentTime,
    }
}

/// Back to the form at `page` with the refusal and what was typed.
fn again(page: &str, fields: &AppointmentFields, e: BookError) -> Response {
    match e {
        BookError::NotFound => fail(AppError::NotFound, paths::MEETINGS),
        BookError::App(e) => fail(e, page),
        e => {
            let typed = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("title", &fields.title)
                .append_pair("start", &fields.start)
                .append_pair("end", &fields.end)
                .append_pair("attendees", &fields.attendees)
                .append_pair("location", &fields.location)
                .append_pair("notes", &fields.notes)
                .finish();
            let back = format!("{page}?{typed}");
            Redirect::to(&with_flash(&back, FlashKind::Error, flash_of(&e))).into_response()
        }
    }
}

impl AppointmentFields {
    fn posted<'a>(&'a self, attendees: &'a [String]) -> form::Posted<'a> {
        form::Posted {
            title: &self.title,
            start: &self.start,
            end: &self.end,
            attendees,
            location: &self.location,
            notes: &self.notes,
        }
    }
}

fn zone_of(caller: &Caller) -> Tz {
    caller.time_zone.parse().unwrap_or(chrono_tz::UTC)
}

pub async fn create_appointment(
    State(state): State<AppState>,
    caller: Caller,
    Form(fields): Form<AppointmentFields>,
) -> Response {
    let attendees = form::attendee_list(&fields.attendees);
    let posted = fields.posted(&attendees);
    let made = match form::draft(&posted, zone_of(&caller)) {
        Ok(draft) => appointments::create(&state.appointments, &caller.user, &draft, None).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(_) => notice(paths::MEETINGS, Flash::AppointmentCreated),
        Err(e) => again(paths::NEW_APPOINTMENT, &fields, e),
    }
}

pub async fn save_appointment(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<AppointmentId>,
    Form(fields): Form<AppointmentFields>,
) -> Response {
    let page = paths::APPOINTMENT.to(id);
    let attendees = form::attendee_list(&fields.attendees);
    let posted = fields.posted(&attendees);
    let access = Access::Owner(&caller.user);
    let saved = match form::draft(&posted, zone_of(&caller)) {
        Ok(draft) => appointments::update(&state.appointments, access, id, &draft).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => notice(&page, Flash::AppointmentSaved),
        Err(e) => again(&page, &fields, e),
    }
}

pub async fn delete_appointment(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<AppointmentId>,
) -> Response {
    match appointments::cancel(&state.appointments, Access::Owner(&caller.user), id).await {
        Ok(_) => notice(paths::MEETINGS, Flash::AppointmentDeleted),
        Err(BookError::NotFound) => fail(AppError::NotFound, paths::MEETINGS),
        Err(BookError::App(e)) => fail(e, paths::MEETINGS),
        Err(e) => error(&paths::APPOINTMENT.to(id), flash_of(&e)),
    }
}

/// Which version the person keeps (`calbridge` or `calendar`), and, from
/// the appointment's own page, `back=appointment`.
#[derive(Deserialize)]
pub struct KeepForm {
    keep: String,
    #[serde(default)]
    back: String,
}

fn keep_of(form: &KeepForm) -> Option<Keep> {
    match form.keep.as_str() {
        "calbridge" => Some(Keep::Calbridge),
        "calendar" => Some(Keep::Calendar),
        _ => None,
    }
}

/// Where a Keep goes back to, with what came of it.
fn settled(result: Result<(), BookError>, back_to: &str) -> Response {
    match result {
        Ok(()) => notice(back_to, Flash::ConflictSettled),
        Err(BookError::NotFound) => fail(AppError::NotFound, back_to),
        Err(BookError::App(e)) => fail(e, back_to),
        Err(_) => error(back_to, Flash::NoConflict),
    }
}

/// Records who kept which side of what.
async fn audit_decision(state: &AppState, caller: &Caller, what: &str, id: &str, keep: Keep) {
    audit::record_after(
        &state.db,
        caller.scope(),
        audit::Actor::of(caller),
        AuditAction::ConflictDecided,
        audit::Target::named(id, what),
        keep.decision(),
    )
    .await;
}

async fn settle_conflict(
    state: &AppState,
    caller: &Caller,
    access: Access<'_>,
    id: AppointmentId,
    form: &KeepForm,
    back_to: &str,
) -> Response {
    let Some(keep) = keep_of(form) else {
        return error(back_to, Flash::NoConflict);
    };
    let result = appointments::resolve(&state.appointments, access, id, keep).await;
    if result.is_ok() {
        audit_decision(state, caller, "appointment", &id.to_string(), keep).await;
    }
    settled(result.map(|_| ()), back_to)
}

async fn settle_booking_conflict(
    state: &AppState,
    caller: &Caller,
    host: Option<&UserScope>,
    id: BookingId,
    form: &KeepForm,
    back_to: &str,
) -> Response {
    let Some(keep) = keep_of(form) else {
        return error(back_to, Flash::NoConflict);
    };
    let tenant = caller.scope();
    let result = booking::conflicts::settle(&state.bookings, tenant, host, id, keep).await;
    if result.is_ok() {
        audit_decision(state, caller, "booking", &id.to_string(), keep).await;
    }
    settled(result, back_to)
}

/// An admin keeps one side of any booking of the tenant.
pub async fn admin_keep_booking(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<BookingId>,
    Form(form): Form<KeepForm>,
) -> Response {
    settle_booking_conflict(&state, &admin.0, None, id, &form, paths::ADMIN_SYNC).await
}

/// The host keeps one side of their own booking.
pub async fn keep_booking(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<BookingId>,
    Form(form): Form<KeepForm>,
) -> Response {
    let host = &caller.user;
    settle_booking_conflict(&state, &caller, Some(host), id, &form, paths::CALENDARS).await
}

/// An admin keeps one version of any appointment of the tenant.
pub async fn admin_keep(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<AppointmentId>,
    Form(form): Form<KeepForm>,
) -> Response {
    let access = Access::Tenant(admin.0.scope());
    settle_conflict(&state, &admin.0, access, id, &form, paths::ADMIN_SYNC).await
}

/// The owner keeps one version of their own appointment.
pub async fn keep(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<AppointmentId>,
    Form(form): Form<KeepForm>,
) -> Response {
    let back_to = match form.back.as_str() {
        "appointment" => paths::APPOINTMENT.to(id),
        _ => paths::CALENDARS.to_owned(),
    };
    let access = Access::Owner(&caller.user);
    settle_conflict(&state, &caller, access, id, &form, &back_to).await
}
