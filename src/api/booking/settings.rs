//! The host's `/settings/booking` posts: the profile with its hours, and
//! event types saved or deleted.

use crate::api::form::{fail, settle, IdPath};
use crate::model::{paths, EventTypeId, Flash};
use crate::server::app_state::AppState;
use crate::server::auth::Caller;
use crate::server::booking::settings::{self, EventTypeInput, ProfileInput};
use crate::server::error::AppError;
use axum::extract::State;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ProfileForm {
    slug: String,
    time_zone: String,
    mon: String,
    tue: String,
    wed: String,
    thu: String,
    fri: String,
    sat: String,
    sun: String,
    overrides: String,
    /// Absent from a form older than the field: the default.
    public_daily_limit: Option<String>,
}

pub async fn save_profile(
    State(state): State<AppState>,
    caller: Caller,
    Form(f): Form<ProfileForm>,
) -> Response {
    let input = ProfileInput {
        slug: &f.slug,
        time_zone: &f.time_zone,
        weekly: [&f.mon, &f.tue, &f.wed, &f.thu, &f.fri, &f.sat, &f.sun].map(String::as_str),
        overrides: &f.overrides,
        public_daily_limit: f.public_daily_limit.as_deref(),
    };
    settle(
        settings::save_profile(&state.db, &caller.user, &input).await,
        paths::BOOKING_SETTINGS,
        Flash::BookingProfileSaved,
    )
}

#[derive(Deserialize)]
pub struct EventTypeForm {
    /// Empty for a new one.
    #[serde(default)]
    id: String,
    slug: String,
    name: String,
    duration: String,
    location: String,
    #[serde(default)]
    location_detail: String,
    #[serde(default)]
    buffer_before: String,
    #[serde(default)]
    buffer_after: String,
    #[serde(default)]
    minimum_notice: String,
    window_days: String,
    #[serde(default)]
    slot_interval: String,
    #[serde(default)]
    daily_limit: String,
}

pub async fn save_event_type(
    State(state): State<AppState>,
    caller: Caller,
    Form(f): Form<EventTypeForm>,
) -> Response {
    let id = match f.id.trim() {
        "" => None,
        id => match id.parse::<EventTypeId>() {
            Ok(id) => Some(id),
            Err(_) => return fail(AppError::NotFound, paths::BOOKING_SETTINGS),
        },
    };
    let input = EventTypeInput {
        id,
        slug: &f.slug,
        name: &f.name,
        duration: &f.duration,
        location: &f.location,
        location_detail: &f.location_detail,
        buffer_before: &f.buffer_before,
        buffer_after: &f.buffer_after,
        minimum_notice: &f.minimum_notice,
        window_days: &f.window_days,
        slot_interval: &f.slot_interval,
        daily_limit: &f.daily_limit,
    };
    settle(
        settings::save_event_type(&state.db, &caller.user, &input).await,
        paths::BOOKING_SETTINGS,
        Flash::EventTypeSaved,
    )
}

pub async fn delete_event_type(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<EventTypeId>,
) -> Response {
    settle(
        settings::delete_event_type(&state.db, &caller.user, id).await,
        paths::BOOKING_SETTINGS,
        Flash::EventTypeDeleted,
    )
}
