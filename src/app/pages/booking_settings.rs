//! `/settings/booking`: the host's public booking page (address, zone,
//! weekly hours, dates that differ) and their event types. Plain forms.

use super::settings::SettingsHead;
use crate::api::booking::get_booking_settings;
use crate::app::components::copy_field::CopyField;
use crate::app::components::time_zone::TimeZoneInput;
use crate::model::{paths, BookingSettingsPage, EventLocation, EventTypeSettings};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn BookingSettingsPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| get_booking_settings());
    view! {
        <Title text="Booking settings"/>
        <SettingsHead/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <Settings page/> }.into_any(),
                    Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Settings(page: BookingSettingsPage) -> impl IntoView {
    let exists = page.exists;
    view! {
        <section class="card">
            <h2>"Your booking page"</h2>
            {match page.page_url.clone() {
                Some(url) => view! {
                    <p class="muted">"Anyone with this link can book you, without an account. Times come from your working hours minus what your busy calendars show."</p>
                    <CopyField value=url.clone() label="Booking page link".to_owned()/>
                    <p><a class="button small" href=paths::BOOK_HOST.to(&page.slug)>"Open your booking page"</a></p>
                }.into_any(),
                None => view! {
                    <p class="muted">"Choose an address and your hours to start taking bookings."</p>
                }.into_any(),
            }}
            <form method="post" action=paths::SAVE_BOOKING_PROFILE class="stack-form">
                <label>
                    "Address"
                    <span class="slug-field"><span class="muted">"/book/"</span><input name="slug" required minlength="2" maxlength="40" pattern="[a-z0-9][a-z0-9-]*[a-z0-9]" value=page.slug.clone()/></span>
                    <small class="hint">"Lower-case letters, digits and dashes."</small>
                </label>
                <TimeZoneInput initial=page.time_zone.clone()/>
                <fieldset class="hours">
                    <legend class="field-label">"Weekly hours"</legend>
                    <p class="hint">"Like 09:00-12:00, 13:00-17:00. Leave a day empty when you do not work."</p>
                    {page.weekly.iter().zip(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]).map(|(day, name)| view! {
                        <label class="hours-row">
                            <span>{day.day.clone()}</span>
                            <input name=name value=day.hours.clone() placeholder="closed" autocomplete="off"/>
                        </label>
                    }).collect_view()}
                </fieldset>
                <label>
                    "Dates that differ"
                    <textarea name="overrides" rows="3" placeholder="2026-12-24 closed\n2026-12-31 10:00-14:00">{page.overrides.clone()}</textarea>
                    <small class="hint">"One a line: the date, then closed or that day's hours."</small>
                </label>
                <label>
                    "Public bookings a day"
                    <input name="public_daily_limit" type="number" inputmode="numeric" required min="1" max="1000" value=page.public_daily_limit.to_string()/>
                    <small class="hint">"How many bookings people without an account may make on your page in a day (1 to 1,000). Bookings over the API do not count."</small>
                </label>
                <div><button type="submit" class="button primary">{if exists { "Save booking page" } else { "Create booking page" }}</button></div>
            </form>
        </section>
        {exists.then(|| view! {
            <section class="card">
                <h2>"Event types"</h2>
                {if page.event_types.is_empty() {
                    view! { <p class="muted">"Nothing can be booked yet. Add an event type below."</p> }.into_any()
                } else {
                    view! {
                        <ul class="event-type-list">
                            {page.event_types.clone().into_iter().map(|e| view! { <EventTypeItem event_type=e/> }).collect_view()}
                        </ul>
                    }.into_any()
                }}
                <details class="new-event-type">
                    <summary class="button">"New event type"</summary>
                    <EventTypeForm event_type=None/>
                </details>
            </section>
        })}
    }
}

#[component]
fn EventTypeItem(event_type: EventTypeSettings) -> impl IntoView {
    let e = event_type;
    view! {
        <li class="event-type-item">
            <div class="event-type-summary">
                <strong>{e.name.clone()}</strong>
                <span class="muted">{format!("{} min · {}", e.duration, e.location.label())}</span>
                <a href=e.path.clone()>{e.path.clone()}</a>
            </div>
            <details>
                <summary class="button small">"Edit"</summary>
                <EventTypeForm event_type=Some(e.clone())/>
                <form method="post" action=paths::DELETE_EVENT_TYPE.to(e.id) class="delete-event-type">
                    <button type="submit" class="button small danger-outline">"Delete this event type"</button>
                </form>
            </details>
        </li>
    }
}

#[component]
fn NumberField(
    label: &'static str,
    name: &'static str,
    value: Option<u32>,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <input type="number" name=name min="0" value=value.map(|v| v.to_string()).unwrap_or_default() required=required/>
            {(!hint.is_empty()).then(|| view! { <small class="hint">{hint}</small> })}
        </label>
    }
}

#[component]
fn EventTypeForm(event_type: Option<EventTypeSettings>) -> impl IntoView {
    let e = event_type;
    let location = e.as_ref().map_or(EventLocation::GoogleMeet, |e| e.location);
    view! {
        <form method="post" action=paths::SAVE_EVENT_TYPE class="event-type-form">
            <input type="hidden" name="id" value=e.as_ref().map(|e| e.id.to_string()).unwrap_or_default()/>
            <label>"Name"<input name="name" required maxlength="100" value=e.as_ref().map(|e| e.name.clone()).unwrap_or_default() placeholder="Intro call"/></label>
            <label>"Address"<input name="slug" required maxlength="40" value=e.as_ref().map(|e| e.slug.clone()).unwrap_or_default() placeholder="intro"/></label>
            <NumberField label="Duration (minutes)" name="duration" value=Some(e.as_ref().map_or(30, |e| e.duration)) required=true/>
            <label>
                "Location"
                <select name="location">
                    {EventLocation::ALL.map(|l| view! { <option value=l.as_str() selected=l == location>{l.label()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Location details"<input name="location_detail" maxlength="200" value=e.as_ref().map(|e| e.location_detail.clone()).unwrap_or_default() placeholder="Address or phone number"/></label>
            <NumberField label="Buffer before" name="buffer_before" value=Some(e.as_ref().map_or(0, |e| e.buffer_before)) hint="Minutes kept free before."/>
            <NumberField label="Buffer after" name="buffer_after" value=Some(e.as_ref().map_or(0, |e| e.buffer_after)) hint="Minutes kept free after."/>
            <NumberField label="Minimum notice" name="minimum_notice" value=Some(e.as_ref().map_or(60, |e| e.minimum_notice)) hint="Minutes before the start."/>
            <NumberField label="Booking window (days)" name="window_days" value=Some(e.as_ref().map_or(60, |e| e.window_days)) required=true/>
            <NumberField label="Slot interval" name="slot_interval" value=e.as_ref().map(|e| e.slot_interval) hint="Minutes between starts; empty: the duration."/>
            <NumberField label="Daily limit" name="daily_limit" value=e.as_ref().and_then(|e| e.daily_limit) hint="Bookings a day; empty: no limit."/>
            <div class="form-end"><button type="submit" class="button primary">{if e.is_some() { "Save event type" } else { "Add event type" }}</button></div>
        </form>
    }
}
