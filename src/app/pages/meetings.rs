use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn MeetingsPage() -> impl IntoView {
    view! {
        <Title text="Meetings"/>
        <div class="page-head">
            <h1>"Meetings"</h1>
        </div>
        <section class="card empty-state">
            <svg class="empty-icon" viewBox="0 0 24 24" width="48" height="48" aria-hidden="true">
                <rect x="3" y="4.5" width="18" height="16" rx="3" fill="none" stroke="currentColor" stroke-width="1.6"/>
                <path d="M3 9.5h18M8 2.8v3.4M16 2.8v3.4" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/>
                <circle cx="8.5" cy="14" r="1.1" fill="currentColor"/>
                <circle cx="12" cy="14" r="1.1" fill="currentColor"/>
                <circle cx="15.5" cy="14" r="1.1" fill="currentColor"/>
            </svg>
            <h2>"No meetings yet"</h2>
            <p class="muted">
                "Meetings booked through Calendly, Google Calendar or Outlook appear here the moment they are made, once a calendar is connected."
            </p>
            <p><a class="button primary" href="/settings/calendars">"Connect a calendar"</a></p>
        </section>
    }
}
