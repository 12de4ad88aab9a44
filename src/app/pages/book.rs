//! The public booking pages: a host's event types, an event type's month
//! of free times with the booking form, and the attendee's booking page.
//! Server-rendered without islands: every step is a link or a form post.

use crate::api::booking::{get_booking, get_host_page, get_schedule, ScheduleParams};
use crate::app::components::time_zone::COMMON_ZONES;
use crate::model::{
    paths, ApiError, BookFormFailure, BookFormValues, BookingView, CalendarDay, EventLocation,
    EventTypeCard, SchedulePage, SlotChoice,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The page for a host, event type or booking link that does not open,
/// with its status.
fn not_found(e: &ApiError) -> AnyView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(match e {
            ApiError::NotFound => axum::http::StatusCode::NOT_FOUND,
            _ => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        });
    }
    let (title, text) = match e {
        ApiError::NotFound => (
            "Not found",
            "This booking page does not exist, or the link is no longer valid.",
        ),
        _ => ("Something went wrong", "Please try again in a moment."),
    };
    view! {
        <Title text=title/>
        <section class="card empty-state">
            <h1>{title}</h1>
            <p class="muted">{text}</p>
        </section>
    }
    .into_any()
}

fn duration_text(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// `/book/{slug}`.
#[component]
pub fn HostBookingPage() -> impl IntoView {
    let params = use_params_map();
    let host = Resource::new(
        move || params.get().get("slug").unwrap_or_default(),
        get_host_page,
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match host.await {
                    Ok(host) => view! {
                        <Title text=format!("Book {}", host.name)/>
                        <section class="card book-host">
                            <p class="muted">"Book a time with"</p>
                            <h1>{host.name.clone()}</h1>
                            <p class="muted small">{format!("Times are in your time zone; {} works in {}.", host.name, host.time_zone)}</p>
                            {if host.event_types.is_empty() {
                                view! { <p>"Nothing can be booked here right now."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="event-types">
                                        {host.event_types.into_iter().map(|e| view! { <EventTypeLink event_type=e/> }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                    }
                    .into_any(),
                    Err(e) => not_found(&e),
                }
            })}
        </Suspense>
    }
}

#[component]
fn EventTypeLink(event_type: EventTypeCard) -> impl IntoView {
    view! {
        <li>
            <a class="event-type" href=event_type.path.clone()>
                <strong>{event_type.name.clone()}</strong>
                <span class="muted">{format!("{} · {}", duration_text(event_type.duration_minutes), event_type.location.label())}</span>
            </a>
        </li>
    }
}

/// `/book/{slug}/{event-type}`.
#[component]
pub fn ScheduleBookingPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let failure = use_context::<BookFormFailure>();
    let page = Resource::new(
        move || {
            let p = params.get();
            let q = query.get();
            (
                p.get("slug").unwrap_or_default(),
                p.get("event_type").unwrap_or_default(),
                ScheduleParams {
                    tz: q.get("tz"),
                    month: q.get("month"),
                    date: q.get("date"),
                    start: q.get("start"),
                    reschedule: q.get("reschedule"),
                    token: q.get("token"),
                },
            )
        },
        |(host, event_type, params)| get_schedule(host, event_type, params),
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let failure = failure.clone();
                Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! { <Schedule page failure/> }.into_any(),
                        Err(e) => not_found(&e),
                    }
                })
            }}
        </Suspense>
    }
}

/// Asks the browser for its zone once, when the link did not say one.
const DETECT_ZONE: &str =
    "(function(){var u=new URL(location.href);if(u.searchParams.has('tz'))return;\
var z=Intl.DateTimeFormat().resolvedOptions().timeZone;if(!z)return;\
u.searchParams.set('tz',z);location.replace(u.href);})();";

#[component]
fn Schedule(page: SchedulePage, failure: Option<BookFormFailure>) -> impl IntoView {
    let title = format!("{} with {}", page.event_type.name, page.host_name);
    let show_form = page.chosen.is_some() || failure.is_some();
    view! {
        <Title text=title.clone()/>
        {(!page.zone_given).then(|| view! { <script nonce=leptos::nonce::use_nonce()>{DETECT_ZONE}</script> })}
        <div class="book">
            <section class="card book-summary">
                <p class="muted"><a href=paths::BOOK_HOST.to(&page.host_slug)>{page.host_name.clone()}</a></p>
                <h1>{page.event_type.name.clone()}</h1>
                <ul class="book-facts">
                    <li>{duration_text(page.event_type.duration_minutes)}</li>
                    <li>{page.event_type.location.label()}</li>
                    <li>{format!("Times in {}", page.time_zone)}</li>
                </ul>
                {page.rescheduling.as_ref().map(|r| view! {
                    <div class="flash flash-notice" role="note">
                        <strong>"Moving your booking. "</strong>
                        {format!("It is now on {}. Pick a new time.", r.current)}
                    </div>
                })}
                <ZoneSwitch time_zone=page.time_zone.clone() keep=page.keep.clone()/>
            </section>
            <section class="card book-picker" aria-label="Pick a time">
                {page.unavailable.then(|| view! {
                    <div class="flash flash-error" role="alert">
                        <strong>"Calendar temporarily unavailable. "</strong>
                        {format!("{}'s calendar cannot be read right now, so no time is offered. Try again in a few minutes.", page.host_name)}
                    </div>
                })}
                {(page.start_gone && failure.is_none()).then(|| view! {
                    <div class="flash flash-error" role="alert">"That time is no longer free. Pick another one."</div>
                })}
                <Month page=page.clone()/>
                <DaySlots page=page.clone()/>
            </section>
            {show_form.then(|| view! { <BookingForm page=page.clone() failure=failure.clone()/> })}
        </div>
    }
}

#[component]
fn ZoneSwitch(time_zone: String, keep: Vec<(String, String)>) -> impl IntoView {
    view! {
        <form method="get" class="zone-switch">
            {keep.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
            <label for="tz" class="field-label">"Time zone"</label>
            <div class="zone-row">
                <input id="tz" name="tz" list="book-zones" value=time_zone autocomplete="off" required/>
                <button type="submit" class="button">"Change"</button>
            </div>
            <datalist id="book-zones">
                {COMMON_ZONES.iter().map(|z| view! { <option value=*z></option> }).collect_view()}
            </datalist>
        </form>
    }
}

#[component]
fn Month(page: SchedulePage) -> impl IntoView {
    view! {
        <div class="month-head">
            {match page.prev_month.clone() {
                Some(href) => view! { <a class="button month-step" href=href aria-label="Previous month">"‹"</a> }.into_any(),
                None => view! { <span class="button month-step" aria-disabled="true">"‹"</span> }.into_any(),
            }}
            <h2>{page.month_label.clone()}</h2>
            {match page.next_month.clone() {
                Some(href) => view! { <a class="button month-step" href=href aria-label="Next month">"›"</a> }.into_any(),
                None => view! { <span class="button month-step" aria-disabled="true">"›"</span> }.into_any(),
            }}
        </div>
        <table class="month">
            <thead>
                <tr>
                    {["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map(|d| view! { <th scope="col" abbr=d>{&d[..2]}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {page.weeks.into_iter().map(|week| view! {
                    <tr>{week.into_iter().map(|cell| view! { <td>{cell.map(|day| view! { <Day day/> })}</td> }).collect_view()}</tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn Day(day: CalendarDay) -> impl IntoView {
    let mut class = String::from("day");
    if day.selected {
        class.push_str(" selected");
    }
    if day.today {
        class.push_str(" today");
    }
    match day.href {
        Some(href) => view! {
            <a class=format!("{class} open") href=href aria-current=day.selected.then_some("date")
                aria-label=format!("{} (free times)", day.date)>{day.day}</a>
        }
        .into_any(),
        None => view! { <span class=class>{day.day}</span> }.into_any(),
    }
}

#[component]
fn DaySlots(page: SchedulePage) -> impl IntoView {
    let chosen = page.chosen.as_ref().map(|c| c.start.clone());
    view! {
        <div class="day-slots">
            {match page.date_label.clone() {
                Some(label) => view! { <h3>{label}</h3> }.into_any(),
                None if !page.unavailable => view! { <p class="muted">"No free times this month. Try the next one."</p> }.into_any(),
                None => ().into_any(),
            }}
            {(page.date_label.is_some() && page.slots.is_empty()).then(|| view! {
                <p class="muted">"No free times on this day."</p>
            })}
            <ul class="slots">
                {page.slots.into_iter().map(|choice| {
                    let picked = chosen.as_deref() == Some(choice.start.as_str());
                    view! { <li><SlotLink choice picked/></li> }
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn SlotLink(choice: SlotChoice, picked: bool) -> impl IntoView {
    view! {
        <a class=if picked { "slot picked" } else { "slot" } href=choice.href aria-current=picked.then_some("true")>
            {choice.label}
        </a>
    }
}

/// The form for a picked time: the attendee's details (or, moving a
/// booking, just the confirmation).
#[component]
fn BookingForm(page: SchedulePage, failure: Option<BookFormFailure>) -> impl IntoView {
    let values = failure
        .as_ref()
        .map(|f| f.values.clone())
        .unwrap_or_default();
    let field_error = {
        let failure = failure.clone();
        move |field: &str| {
            failure
                .as_ref()
                .filter(|f| f.field.as_deref() == Some(field))
                .map(
                    |f| view! { <span class="field-error" role="alert">{f.message.clone()}</span> },
                )
        }
    };
    let general = failure
        .as_ref()
        .filter(|f| f.field.is_none())
        .map(|f| (f.message.clone(), f.alternatives.clone()));
    let time = match (&page.chosen, &general) {
        (_, Some((_, alternatives))) if !alternatives.is_empty() => view! {
            <fieldset class="alternatives">
                <legend>"Free times nearby"</legend>
                {alternatives.iter().enumerate().map(|(i, a)| view! {
                    <label class="check"><input type="radio" name="start" value=a.start.clone() checked=i == 0/>{a.long_label.clone()}</label>
                }).collect_view()}
            </fieldset>
        }
        .into_any(),
        (Some(chosen), _) => view! {
            <input type="hidden" name="start" value=chosen.start.clone()/>
            <p class="chosen-time">
                <strong>{chosen.label.clone()}</strong>
                <span class="muted">{format!(" ({})", page.time_zone)}</span>
                {chosen.host_label.clone().map(|h| view! { <br/><span class="muted small">{format!("{h} for {} ({})", page.host_name, page.host_time_zone)}</span> })}
            </p>
        }
        .into_any(),
        (None, _) => ().into_any(),
    };
    let general_message = general.as_ref().map(|(message, _)| {
        view! { <div class="flash flash-error" role="alert">{message.clone()}</div> }
    });
    if let Some(r) = page.rescheduling.clone() {
        return view! {
            <section class="card book-form" aria-label="Confirm the new time">
                <h2>"Move your booking here?"</h2>
                {general_message}
                <form method="post" action=paths::RESCHEDULE_BOOKING.to(r.booking) class="stack">
                    <input type="hidden" name="token" value=r.token.clone()/>
                    <input type="hidden" name="back" value=page.href.clone()/>
                    {time}
                    <div><button type="submit" class="button primary">"Move my booking"</button></div>
                </form>
            </section>
        }
        .into_any();
    }
    let BookFormValues {
        name,
        email,
        phone,
        purpose,
    } = values;
    view! {
        <section class="card book-form" aria-label="Your details">
            <h2>"Your details"</h2>
            {general_message}
            <form method="post" action=page.href.clone() class="stack" novalidate>
                <input type="hidden" name="tz" value=page.time_zone.clone()/>
                {time}
                <label>
                    "Name"
                    <input name="name" required maxlength="100" autocomplete="name" value=name/>
                    {field_error("name")}
                </label>
                <label>
                    "Email"
                    <input type="email" name="email" required autocomplete="email" value=email/>
                    {field_error("email")}
                    <small class="hint">"The invitation and your link to change or cancel go here."</small>
                </label>
                <label>
                    "Phone " <span class="hint">"(optional)"</span>
                    <input type="tel" name="phone" autocomplete="tel" value=phone/>
                    {field_error("phone")}
                </label>
                <label>
                    "What is it about? " <span class="hint">"(optional)"</span>
                    <textarea name="purpose" rows="3" maxlength="1000">{purpose}</textarea>
                    {field_error("purpose")}
                </label>
                <div><button type="submit" class="button primary">"Book this time"</button></div>
            </form>
        </section>
    }
    .into_any()
}

/// `/booking/{id}?token=…`: the attendee's confirmation and manage page.
#[component]
pub fn ManageBookingPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let booking = Resource::new(
        move || {
            (
                params.get().get("id").unwrap_or_default(),
                query.get().get("token").unwrap_or_default(),
            )
        },
        |(id, token)| get_booking(id, token),
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match booking.await {
                    Ok(b) => view! { <Booking booking=b/> }.into_any(),
                    Err(e) => not_found(&e),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Booking(booking: BookingView) -> impl IntoView {
    let b = booking;
    let heading = if b.canceled {
        "Booking canceled"
    } else if b.started {
        "Your booking"
    } else {
        "You are booked"
    };
    let video = matches!(
        b.location,
        EventLocation::GoogleMeet | EventLocation::MicrosoftTeams
    );
    let link = match (&b.meeting_url, video && b.invite_pending, b.canceled) {
        (Some(url), _, false) => view! {
            <dt>"Join"</dt>
            <dd><a href=url.clone() rel="noopener noreferrer" target="_blank">{url.clone()}</a></dd>
        }
        .into_any(),
        (None, true, false) => view! {
            <dt>"Join"</dt>
            <dd class="muted">{format!("The {} link is on its way with the calendar invitation.", b.location.label())}</dd>
        }
        .into_any(),
        _ => ().into_any(),
    };
    view! {
        <Title text=heading/>
        <section class=if b.canceled { "card booking canceled" } else { "card booking" }>
            <h1>{heading}</h1>
            <p class="booking-what">{format!("{} with {}", b.event_name, b.host_name)}</p>
            <dl class="facts">
                <dt>"When"</dt>
                <dd>
                    <strong>{b.when.clone()}</strong>
                    <span class="muted">{format!(" ({})", b.attendee_time_zone)}</span>
                    {b.when_host.clone().map(|h| view! { <br/><span class="muted small">{format!("{h} for {} ({})", b.host_name, b.host_time_zone)}</span> })}
                </dd>
                <dt>"Where"</dt>
                <dd>{b.location_detail.clone().unwrap_or_else(|| b.location.label().to_owned())}</dd>
                {link}
                <dt>"Who"</dt>
                <dd>{format!("{} <{}>", b.attendee_name, b.attendee_email)}</dd>
            </dl>
            {(!b.canceled).then(|| view! {
                <p class="booking-links">
                    <a class="button" href=b.ics_path.clone() download="booking.ics">"Add to calendar (.ics)"</a>
                </p>
            })}
            <div class="manage-link">
                <label for="manage-url" class="field-label">"Your link to this page"</label>
                <input id="manage-url" class="code-input" readonly value=b.manage_url.clone()/>
                <small class="hint">"Keep it: with it you can change or cancel. Anyone with the link can."</small>
            </div>
            {(!b.canceled && !b.started).then(|| view! {
                <div class="booking-actions">
                    {b.reschedule_path.clone().map(|href| view! { <a class="button" href=href>"Reschedule"</a> })}
                    <details class="confirm">
                        <summary class="button">"Cancel booking"</summary>
                        <form method="post" action=paths::CANCEL_BOOKING.to(b.id) class="confirm-panel">
                            <input type="hidden" name="token" value=b.token.clone()/>
                            <span>"Cancel this booking? The host is told."</span>
                            <button type="submit" class="button danger-outline">"Yes, cancel it"</button>
                        </form>
                    </details>
                </div>
            })}
        </section>
    }
}
