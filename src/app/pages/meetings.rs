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
            <div class="empty-icon" aria-hidden="true">"📅"</div>
            <h2>"No meetings yet"</h2>
            <p class="muted">
                "Meetings booked through Calendly, Google Calendar or Outlook appear here the moment they are made, once a calendar is connected."
            </p>
            <p><a class="button primary" href="/settings">"Go to settings"</a></p>
        </section>
    }
}
