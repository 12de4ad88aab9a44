//! The public booking pages' reads: a host, an event type's month of free
//! times, and one booking through its manage link (no account needed; the
//! form posts are in `forms`); and the host's own `/settings/booking`
//! (its posts in `settings`).

use crate::model::{ApiError, BookingSettingsPage, BookingView, HostPage, SchedulePage};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[server(endpoint = "book_host", input = GetUrl)]
pub async fn get_host_page(host: String) -> Result<HostPage, ApiError> {
    let state = super::context::state();
    Ok(crate::server::booking::pages::host_page(&state.bookings, &host).await?)
}

/// The schedule page's query string, as the page passes it on.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScheduleParams {
    pub tz: Option<String>,
    pub month: Option<String>,
    pub date: Option<String>,
    pub start: Option<String>,
    pub reschedule: Option<String>,
    pub token: Option<String>,
}

#[server(endpoint = "book_schedule", input = GetUrl)]
pub async fn get_schedule(
    host: String,
    event_type: String,
    params: ScheduleParams,
) -> Result<SchedulePage, ApiError> {
    use crate::server::booking::pages::{schedule_page, ScheduleQuery};
    let state = super::context::state();
    let reschedule = match (&params.reschedule, &params.token) {
        (Some(id), Some(token)) => {
            Some((id.parse().map_err(|_| ApiError::NotFound)?, token.as_str()))
        }
        _ => None,
    };
    let query = ScheduleQuery {
        time_zone: params.tz.as_deref(),
        month: params.month.as_deref(),
        date: params.date.as_deref(),
        start: params.start.as_deref(),
        reschedule,
    };
    Ok(schedule_page(&state.bookings, &host, &event_type, &query).await?)
}

#[server(endpoint = "booking", input = GetUrl)]
pub async fn get_booking(id: String, token: String) -> Result<BookingView, ApiError> {
    let state = super::context::state();
    let id = id.parse().map_err(|_| ApiError::NotFound)?;
    Ok(crate::server::booking::pages::booking_view(&state.bookings, id, &token).await?)
}

/// The caller's booking page, hours and event types.
#[server(endpoint = "booking_settings", input = GetUrl)]
pub async fn get_booking_settings() -> Result<BookingSettingsPage, ApiError> {
    let caller = super::context::require_caller().await?;
    let state = super::context::state();
    Ok(crate::server::booking::settings::page(
        &state.db,
        &state.config,
        &caller.user,
        &caller.email,
        &caller.time_zone,
    )
    .await?)
}

#[cfg(feature = "ssr")]
pub mod forms;
#[cfg(feature = "ssr")]
pub mod settings;
