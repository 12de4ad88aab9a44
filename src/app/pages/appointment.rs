//! `/meetings/new` and `/meetings/appointments/{id}`: the owner creates,
//! changes and deletes an appointment (its calendar event follows), and
//! settles it when it changed on both sides. Plain form posts; no island.
//! After a refused post the query string carries what was typed, and the
//! form shows that instead of the stored values.

use crate::api::appointments::get_appointment_form;
use crate::app::components::conflicts::ConflictFields;
use crate::app::components::provider_icon::ProviderIcon;
use crate::model::{paths, AppointmentForm, AppointmentId, SyncState};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The form's values, the typed ones from a refused post first.
fn with_typed(mut form: AppointmentForm) -> AppointmentForm {
    let query = use_query_map();
    query.with_untracked(|q| {
        if q.get("title").is_none() {
            return;
        }
        let typed = |k: &str| q.get(k).unwrap_or_default();
        form.title = typed("title");
        form.start = typed("start");
        form.end = typed("end");
        form.attendees = typed("attendees");
        form.location = typed("location");
        form.notes = typed("notes");
    });
    form
}

#[component]
pub fn NewAppointmentPage() -> impl IntoView {
    let form = Resource::new(|| (), |_| get_appointment_form(None));
    view! {
        <Title text="New appointment"/>
        <div class="page-head">
            <h1>"New appointment"</h1>
            <a href=paths::MEETINGS>"← Meetings"</a>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match form.await {
                    Ok(form) => view! { <AppointmentFields form=with_typed(form)/> }.into_any(),
                    Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn AppointmentPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").and_then(|id| id.parse::<AppointmentId>().ok()));
    let form = Resource::new(
        move || id,
        |id| async move {
            match id {
                Some(id) => get_appointment_form(Some(id)).await,
                None => Err(crate::model::ApiError::NotFound),
            }
        },
    );
    view! {
        <Title text="Appointment"/>
        <div class="page-head">
            <h1>"Appointment"</h1>
            <a href=paths::MEETINGS>"← Meetings"</a>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match form.await {
                    Ok(form) => view! {
                        <SyncStatus form=form.clone()/>
                        <AppointmentFields form=with_typed(form)/>
                    }.into_any(),
                    Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Where the appointment stands with its calendar, and both versions with
/// the two ways out while in conflict.
#[component]
fn SyncStatus(form: AppointmentForm) -> impl IntoView {
    let (Some(id), Some(state)) = (form.id, form.sync_state) else {
        return ().into_any();
    };
    let words = match (state, form.provider) {
        (SyncState::Synced, Some(p)) => format!("In step with {}.", p.label()),
        (SyncState::Pending, Some(p)) => format!("Being written to {}…", p.label()),
        (SyncState::Pending, None) => "Waiting for a calendar to write to.".to_owned(),
        (SyncState::Conflict, _) => {
            "Changed here and in the calendar since they last agreed: keep one version.".to_owned()
        }
        (SyncState::Error, _) => "The calendar refused the last change; it is retried.".to_owned(),
        (SyncState::Synced, None) => "In step with the calendar.".to_owned(),
    };
    view! {
        <section class="card sync-status" data-sync-state=state.as_str()>
            <p>
                <span class=format!("badge badge-appointment-{}", state.as_str())>{state.label()}</span>
                " "
                {form.provider.map(|p| view! { <ProviderIcon provider=p/>" " })}
                {words}
                {form.external_link.clone().map(|href| view! {
                    " "<a href=href target="_blank" rel="noopener noreferrer">"Open in calendar"</a>
                })}
            </p>
            {form.sync_error.clone().filter(|_| state == SyncState::Error).map(|e| view! { <p class="muted small">{e}</p> })}
            {(!form.conflict.is_empty()).then(|| view! {
                <ConflictFields fields=form.conflict.clone()/>
                <form method="post" action=paths::KEEP_CONFLICT.to(id) class="inline-form conflict-actions">
                    <input type="hidden" name="back" value="appointment"/>
                    <button type="submit" name="keep" value="calbridge" class="button">"Keep calbridge"</button>
                    <button type="submit" name="keep" value="calendar" class="button">"Keep calendar"</button>
                </form>
            })}
        </section>
    }
    .into_any()
}

/// The fields; a new appointment's create, an existing one's save and
/// delete. A deleted appointment is shown, not edited.
#[component]
fn AppointmentFields(form: AppointmentForm) -> impl IntoView {
    let (action, submit) = match form.id {
        Some(id) => (paths::SAVE_APPOINTMENT.to(id), "Save"),
        None => (paths::CREATE_APPOINTMENT.to_owned(), "Create appointment"),
    };
    let locked = form.canceled;
    view! {
        <section class="card">
            {locked.then(|| view! { <p class="flash flash-error">"This appointment was deleted."</p> })}
            <form method="post" action=action class="stack-form appointment-form" data-testid="appointment-form">
                <label>"Title"
                    <input name="title" required maxlength="200" value=form.title disabled=locked placeholder="Quarterly review"/>
                </label>
                <div class="form-pair">
                    <label>"Starts"
                        <input type="datetime-local" name="start" required value=form.start disabled=locked/>
                    </label>
                    <label>"Ends"
                        <input type="datetime-local" name="end" required value=form.end disabled=locked/>
                    </label>
                </div>
                <p class="muted small">"Times in "{form.time_zone}"."</p>
                <label>"Attendees"
                    <input name="attendees" value=form.attendees disabled=locked placeholder="ada@example.com, bo@example.com" autocomplete="off"/>
                    <span class="muted small">"Email addresses, separated by commas. Your calendar invites them."</span>
                </label>
                <label>"Location"
                    <input name="location" maxlength="500" value=form.location disabled=locked placeholder="Room 4, a video link or an address"/>
                </label>
                <label>"Notes"
                    <textarea name="notes" rows="4" maxlength="5000" disabled=locked>{form.notes}</textarea>
                </label>
                {(!locked).then(|| view! {
                    <div><button type="submit" class="button primary">{submit}</button></div>
                })}
            </form>
            {form.id.filter(|_| !locked).map(|id| view! {
                <form method="post" action=paths::DELETE_APPOINTMENT.to(id) class="delete-appointment">
                    <button type="submit" class="button danger-outline">"Delete appointment"</button>
                </form>
            })}
        </section>
    }
}
