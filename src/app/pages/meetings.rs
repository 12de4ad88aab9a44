use crate::api::meetings::get_meetings;
use crate::app::components::dates::Day;
use crate::app::components::provider_icon::SourceIcon;
use crate::model::paths;
use crate::model::{MeetingDay, MeetingSource, MeetingStatus, MeetingView, MeetingsPage};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/meetings`: the user's meetings, rendered on the server with the list
/// for the chosen tab; the list itself is an island that stays live.
#[component]
pub fn MeetingsPage() -> impl IntoView {
    let query = use_query_map();
    let past = query.with_untracked(|q| q.get("tab").as_deref() == Some("past"));
    let week = query.with_untracked(|q| q.get("view").as_deref() == Some("week"));
    let meetings = Resource::new(move || past, get_meetings);
    view! {
        <Title text="Meetings"/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match meetings.await {
                    Ok(page) => view! { <LiveMeetings page past week/> }.into_any(),
                    Err(e) => view! {
                        <div class="page-head"><h1>"Meetings"</h1></div>
                        <p class="flash flash-error">{e.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The meetings of one tab, live: once hydrated, an EventSource on
/// `/api/live` fetches the list again whenever a meeting changes (and after
/// every reconnect, so nothing is missed).
#[island]
fn LiveMeetings(page: MeetingsPage, past: bool, week: bool) -> impl IntoView {
    let page = RwSignal::new(page);
    let failed = RwSignal::new(None::<String>);
    let live = RwSignal::new(false);
    let provider = RwSignal::new(String::new());
    let search = RwSignal::new(String::new());
    // The filters are the DOM's: once hydrated, pick up whatever was chosen
    // or typed before, and never write the fields back.
    let provider_field = NodeRef::<leptos::html::Select>::new();
    let search_field = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(field) = provider_field.get() {
            provider.set(field.value());
        }
        if let Some(field) = search_field.get() {
            search.set(field.value());
        }
    });
    #[cfg(feature = "hydrate")]
    {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::Arc;
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        // Fetches can finish out of order: only the latest one is shown.
        let latest = Arc::new(AtomicU64::new(0));
        let refetch = move || {
            let latest = latest.clone();
            let mine = latest.fetch_add(1, Ordering::Relaxed) + 1;
            leptos::task::spawn_local(async move {
                let result = get_meetings(past).await;
                if latest.load(Ordering::Relaxed) != mine {
                    return;
                }
                match result {
                    Ok(fresh) => {
                        page.set(fresh);
                        failed.set(None);
                    }
                    Err(e) => failed.set(Some(e.to_string())),
                }
            });
        };
        if let Ok(source) = web_sys::EventSource::new(paths::LIVE) {
            let refetch = Closure::<dyn Fn()>::new(refetch);
            for kind in ["hello", "meeting", "resync"] {
                let _ =
                    source.add_event_listener_with_callback(kind, refetch.as_ref().unchecked_ref());
            }
            let opened = Closure::<dyn Fn()>::new(move || live.set(true));
            source.set_onopen(Some(opened.as_ref().unchecked_ref()));
            // The browser reconnects by itself; show that we are not live meanwhile.
            let lost = Closure::<dyn Fn()>::new(move || live.set(false));
            source.set_onerror(Some(lost.as_ref().unchecked_ref()));
            let source = send_wrapper::SendWrapper::new((source, refetch, opened, lost));
            on_cleanup(move || source.0.close());
        }
    }
    let current = |tab: bool| tab.then_some("page");
    view! {
        <div class="page-head">
            <h1>"Meetings"</h1>
            <div class="page-head-actions">
                <a class="button small primary" href=paths::NEW_APPOINTMENT>"New appointment"</a>
                {page.with_untracked(|p| p.booking_page.clone()).map(|href| view! {
                    <a class="button small" href=href>"Your booking page"</a>
                })}
                <span class="live" class:on=move || live.get() data-testid="live-indicator">
                    <span class="dot"></span>
                    {move || if live.get() { "Live" } else { "Connecting…" }}
                </span>
            </div>
        </div>
        <nav class="tabs" aria-label="Meetings">
            <a href=paths::MEETINGS aria-current=current(!past && !week)>"Upcoming"</a>
            <a href=format!("{}?tab=past", paths::MEETINGS) aria-current=current(past)>"Past"</a>
            <a href=format!("{}?view=week", paths::MEETINGS) aria-current=current(week)>"Week"</a>
        </nav>
        <div class="inline-form filters">
            <label>
                "Source"
                <select node_ref=provider_field on:change=move |ev| provider.set(event_target_value(&ev))>
                    <option value="">"All sources"</option>
                    {MeetingSource::ALL.into_iter().map(|p| view! { <option value=p.as_str()>{p.label()}</option> }).collect_view()}
                </select>
            </label>
            <label>
                "Invitee"
                <input node_ref=search_field type="search" placeholder="Name or email" on:input=move |ev| search.set(event_target_value(&ev))/>
            </label>
        </div>
        {move || failed.get().map(|e| view! { <p class="flash flash-error">{e}</p> })}
        {if week {
            (move || view! { <WeekView page=page.get() provider search/> }).into_any()
        } else {
            // Rendered once: the keyed lists inside update in place, so
            // only what changed moves (and only new meetings slide in).
            view! { <MeetingList page=page.into() provider search/> }.into_any()
        }}
    }
}

fn matches(m: &MeetingView, provider: &str, search: &str) -> bool {
    let search = search.trim().to_lowercase();
    (provider.is_empty() || m.source.as_str() == provider)
        && (search.is_empty()
            || [&m.invitee_name, &m.invitee_email]
                .into_iter()
                .flatten()
                .any(|v| v.to_lowercase().contains(&search)))
}

#[component]
fn MeetingList(
    page: Signal<MeetingsPage>,
    provider: RwSignal<String>,
    search: RwSignal<String>,
) -> impl IntoView {
    let shown = Memo::new(move |_| {
        let (p, s) = (provider.get(), search.get());
        page.get()
            .days
            .into_iter()
            .map(|d| MeetingDay {
                meetings: d
                    .meetings
                    .iter()
                    .filter(|m| matches(m, &p, &s))
                    .cloned()
                    .collect(),
                ..d
            })
            .filter(|d| !d.meetings.is_empty())
            .collect::<Vec<_>>()
    });
    let nothing = move || page.with(|p| p.days.is_empty());
    let has_connections = move || page.with(|p| p.has_connections);
    let time_zone = move || page.with(|p| p.time_zone.clone());
    let headings = move || {
        shown
            .get()
            .into_iter()
            .map(|d| (d.date, d.label))
            .collect::<Vec<_>>()
    };
    view! {
        <Show when=nothing>
            {move || view! { <Empty has_connections=has_connections()/> }}
        </Show>
        <Show when=move || !nothing()>
            <p class="muted small">"Times in "{time_zone}"."</p>
        </Show>
        <For
            each=headings
            key=|(date, _)| date.clone()
            children=move |(date, label)| {
                let day = date.clone();
                let meetings = move || shown.get().into_iter().find(|d| d.date == day).map(|d| d.meetings).unwrap_or_default();
                view! {
                    <section class="card day" data-day=date>
                        <h2>{label}</h2>
                        <ul class="meetings">
                            <For each=meetings key=|m| m.clone() let:m>
                                <MeetingItem m/>
                            </For>
                        </ul>
                    </section>
                }
            }
        />
    }
}

/// Hours shown in the week view.
const WEEK_FIRST_HOUR: u32 = 7;
const WEEK_LAST_HOUR: u32 = 21;
/// Whole pixels: formatting a float would pull the float printer into the WASM.
const PX_PER_HOUR: u32 = 56;

fn minutes(hhmm: &str) -> u32 {
    let (h, m) = hhmm.split_once(':').unwrap_or(("0", "0"));
    h.parse::<u32>().unwrap_or(0) * 60 + m.parse::<u32>().unwrap_or(0)
}

/// The next seven days as columns, meetings placed by time.
#[component]
fn WeekView(
    page: MeetingsPage,
    provider: RwSignal<String>,
    search: RwSignal<String>,
) -> impl IntoView {
    let start = Day::parse(&page.today).unwrap_or_default();
    let days: Vec<Day> = (0..7).map(|i| start.add_days(i)).collect();
    let all = page.days;
    let top_min = WEEK_FIRST_HOUR * 60;
    let height = (WEEK_LAST_HOUR - WEEK_FIRST_HOUR) * PX_PER_HOUR;
    view! {
        <p class="muted small">"Times in "{page.time_zone}"."</p>
        <section class="card week" style=format!("--week-height: {height}px")>
            <div class="week-hours">
                {(WEEK_FIRST_HOUR..WEEK_LAST_HOUR).map(|h| view! { <div class="hour" style=format!("height: {PX_PER_HOUR}px")>{format!("{h:02}:00")}</div> }).collect_view()}
            </div>
            {days.into_iter().map(|day| {
                let date = day.iso();
                let label = day.weekday_and_day();
                let meetings = all.iter().find(|d| d.date == date).map(|d| d.meetings.clone()).unwrap_or_default();
                let blocks = move || {
                    let (p, s) = (provider.get(), search.get());
                    meetings.iter().filter(|m| matches(m, &p, &s)).map(|m| {
                        let from = minutes(&m.local_start).clamp(top_min, WEEK_LAST_HOUR * 60);
                        let to = minutes(&m.local_end).max(from + 15).min(WEEK_LAST_HOUR * 60);
                        let top = (from - top_min) * PX_PER_HOUR / 60;
                        let h = (to.saturating_sub(from) * PX_PER_HOUR / 60).max(32);
                        view! {
                            <div class=format!("block status-{}", m.status.as_str()) style=format!("top: {top}px; height: {h}px") title=m.title.clone() data-meeting=m.id.to_string()>
                                <strong>{m.local_start.clone()}</strong>" "{m.title.clone()}
                                {m.invitee_name.clone().map(|n| view! { <br/><span class="small">{n}</span> })}
                            </div>
                        }
                    }).collect_view()
                };
                view! {
                    <div class="week-day" data-day=date>
                        <div class="week-label">{label}</div>
                        <div class="week-column">{blocks}</div>
                    </div>
                }
            }).collect_view()}
        </section>
    }
}

#[component]
fn MeetingItem(m: MeetingView) -> impl IntoView {
    let status = m.status;
    view! {
        <li class=format!("meeting status-{}", status.as_str()) data-meeting=m.id.to_string()>
            <div class="when">{m.local_start.clone()}" – "{m.local_end.clone()}</div>
            <div class="what">
                <div class="title"><SourceIcon source=m.source/>" "{match m.edit_url.clone() {
                    Some(href) => view! { <a href=href>{m.title.clone()}</a> }.into_any(),
                    None => view! { <span>{m.title.clone()}</span> }.into_any(),
                }}</div>
                <div class="muted small">{who_and_where(&m)}</div>
            </div>
            <div class="meeting-actions">
                {(status != MeetingStatus::Scheduled).then(|| view! {
                    <span class=format!("badge badge-meeting-{}", status.as_str())>{status.as_str()}</span>
                })}
                {m.join_url.clone().filter(|_| status == MeetingStatus::Scheduled).map(|url| view! {
                    <a class="button small" href=url target="_blank" rel="noopener">"Join"</a>
                })}
            </div>
        </li>
    }
}

#[component]
fn Empty(has_connections: bool) -> impl IntoView {
    view! {
        <section class="card empty-state">
            <svg class="empty-icon" viewBox="0 0 24 24" width="48" height="48" aria-hidden="true">
                <rect x="3" y="4.5" width="18" height="16" rx="3" fill="none" stroke="currentColor" stroke-width="1.6"/>
                <path d="M3 9.5h18M8 2.8v3.4M16 2.8v3.4" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/>
                <circle cx="8.5" cy="14" r="1.1" fill="currentColor"/>
                <circle cx="12" cy="14" r="1.1" fill="currentColor"/>
                <circle cx="15.5" cy="14" r="1.1" fill="currentColor"/>
            </svg>
            <h2>"No meetings yet"</h2>
            {if has_connections {
                view! { <p class="muted">"New bookings appear here the moment they are made."</p> }.into_any()
            } else {
                view! {
                    <p class="muted">"Meetings booked through Calendly, Google Calendar or Outlook appear here the moment they are made, once a calendar is connected."</p>
                    <p><a class="button primary" href=paths::CALENDARS>"Connect a calendar"</a></p>
                }.into_any()
            }}
        </section>
    }
}

/// "Name · email · place": the parts the meeting has (the place only when
/// there is no link to join).
fn who_and_where(m: &MeetingView) -> String {
    [
        m.invitee_name.as_deref(),
        m.invitee_email.as_deref(),
        m.location.as_deref().filter(|_| m.join_url.is_none()),
    ]
    .into_iter()
    .flatten()
    .filter(|part| !part.trim().is_empty())
    .collect::<Vec<_>>()
    .join(" · ")
}
