//! Appointments in the UI: the owner's form on `/meetings/new` and
//! `/meetings/appointments/{id}`, the conflict queue's reads (the whole
//! tenant's on `/admin/sync`, a user's own on `/settings/calendars`) and,
//! in `forms`, the posts that create, change, delete and settle them.

use crate::model::{ApiError, AppointmentForm, AppointmentId, ConflictView};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
pub mod forms;

/// Every conflict of the tenant (admins only).
#[server(endpoint = "conflict_queue", input = GetUrl)]
pub async fn get_conflict_queue() -> Result<Vec<ConflictView>, ApiError> {
    let admin = super::context::require_admin().await?;
    let state = super::context::state();
    Ok(
        crate::server::appointments::conflicts::queue(&state.appointments, admin.0.scope(), None)
            .await?,
    )
}

/// The caller's own conflicts.
#[server(endpoint = "my_conflicts", input = GetUrl)]
pub async fn get_my_conflicts() -> Result<Vec<ConflictView>, ApiError> {
    let caller = super::context::require_caller().await?;
    let state = super::context::state();
    Ok(crate::server::appointments::conflicts::queue(
        &state.appointments,
        &caller.user.tenant,
        Some(&caller.user),
    )
    .await?)
}

/// The caller's appointment as their form shows it; a blank one for none.
#[server(endpoint = "appointment_form", input = GetUrl)]
pub async fn get_appointment_form(id: Option<AppointmentId>) -> Result<AppointmentForm, ApiError> {
    use crate::server::appointments::form;
    let caller = super::context::require_caller().await?;
    let state = super::context::state();
    match id {
        None => Ok(form::blank(&caller.time_zone, state.clock.now_ms())),
        Some(id) => Ok(form::of(&state.appointments, &caller.user, &caller.time_zone, id).await?),
    }
}
