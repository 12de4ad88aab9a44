pub mod apps;
pub mod connections;
pub mod jobs;
pub mod users;
pub mod webhooks;

use leptos::prelude::*;
use leptos_router::components::A;

/// Tabs across the admin area.
#[component]
pub fn AdminTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Admin">
            <A href="/admin/users">"Users"</A>
            <A href="/admin/connections">"Connections"</A>
            <A href="/admin/webhooks">"Webhooks"</A>
            <A href="/admin/jobs">"Jobs"</A>
            <A href="/admin/apps">"OAuth apps"</A>
        </nav>
    }
}
