pub mod api_keys;
pub mod apps;
pub mod audit;
pub mod connections;
pub mod jobs;
pub mod overview;
pub mod sync;
pub mod users;
pub mod webhooks;

use crate::model::paths;
use leptos::prelude::*;
use leptos_router::components::A;

/// Tabs across the admin area.
#[component]
pub fn AdminTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Admin">
            <A href=paths::ADMIN exact=true>"Overview"</A>
            <A href=paths::ADMIN_USERS>"Users"</A>
            <A href=paths::ADMIN_CONNECTIONS>"Connections"</A>
            <A href=paths::ADMIN_WEBHOOKS>"Webhooks"</A>
            <A href=paths::ADMIN_JOBS>"Jobs"</A>
            <A href=paths::ADMIN_SYNC>"Sync"</A>
            <A href=paths::ADMIN_APPS>"OAuth apps"</A>
            <A href=paths::ADMIN_API_KEYS>"API keys"</A>
            <A href=paths::ADMIN_AUDIT>"Audit"</A>
        </nav>
    }
}
