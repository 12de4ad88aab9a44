//! The UI: document shell, router and layouts.

mod components;
mod pages;

/// The admin overview's figures, rendered again for its live stream.
pub use pages::admin::overview::OverviewFigures;

use crate::api::accounts::get_shell;
use crate::model::paths;
use crate::model::ShellInfo;
use components::layout::{AppLayout, AuthLayout, PublicLayout};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                {loads_wasm().then(|| view! { <HydrationScripts options islands=true/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Whether this response's page has islands to hydrate (see
/// [`paths::WITHOUT_ISLANDS`]); the shell renders only on the server.
#[cfg(feature = "ssr")]
fn loads_wasm() -> bool {
    use_context::<axum::http::request::Parts>()
        .is_none_or(|parts| paths::loads_wasm(parts.uri.path()))
}

#[cfg(not(feature = "ssr"))]
fn loads_wasm() -> bool {
    true
}

/// The logged-in user (or none), loaded once per page and shared by context.
pub type ShellResource = Resource<Result<ShellInfo, crate::model::ApiError>>;

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let shell: ShellResource = Resource::new(|| (), |_| get_shell());
    provide_context(shell);

    view! {
        <Stylesheet id="leptos" href="/pkg/calbridge.css"/>
        <Title formatter=|text: String| if text.is_empty() { "calbridge".to_owned() } else { format!("{text} · calbridge") }/>
        // The router runs on the server only (islands mode): every link is a
        // page load, and the browser hydrates just the islands on the page.
        <Router>
            <Routes fallback=|| view! { <AppLayout><pages::not_found::NotFound/></AppLayout> }>
                <ParentRoute path=path!("") view=AuthLayout>
                    <Route path=path!("login") view=pages::login::LoginPage/>
                    <Route path=path!("signup") view=pages::signup::SignupPage/>
                </ParentRoute>
                <ParentRoute path=path!("") view=PublicLayout>
                    // Rendered whole before sending, so a link that does not
                    // open gets its 404 status (these pages load no WASM).
                    <Route path=path!("book/:slug") view=pages::book::HostBookingPage ssr=SsrMode::Async/>
                    <Route path=path!("book/:slug/:event_type") view=pages::book::ScheduleBookingPage ssr=SsrMode::Async/>
                    <Route path=path!("booking/:id") view=pages::book::ManageBookingPage ssr=SsrMode::Async/>
                </ParentRoute>
                <ParentRoute path=path!("") view=|| view! { <AppLayout><leptos_router::components::Outlet/></AppLayout> }>
                    <Route path=path!("") view=|| view! { <Redirect path=paths::MEETINGS/> }/>
                    <Route path=path!("meetings") view=pages::meetings::MeetingsPage/>
                    <Route path=path!("meetings/new") view=pages::appointment::NewAppointmentPage/>
                    <Route path=path!("meetings/appointments/:id") view=pages::appointment::AppointmentPage/>
                    <Route path=path!("settings") view=pages::settings::SettingsPage/>
                    <Route path=path!("settings/calendars") view=pages::calendars::CalendarsPage/>
                    <Route path=path!("settings/booking") view=pages::booking_settings::BookingSettingsPage/>
                    <Route path=path!("admin") view=pages::admin::overview::AdminOverviewPage/>
                    <Route path=path!("admin/users") view=pages::admin::users::AdminUsersPage/>
                    <Route path=path!("admin/apps") view=pages::admin::apps::AdminAppsPage/>
                    <Route path=path!("admin/connections") view=pages::admin::connections::AdminConnectionsPage/>
                    <Route path=path!("admin/jobs") view=pages::admin::jobs::AdminJobsPage/>
                    <Route path=path!("admin/webhooks") view=pages::admin::webhooks::AdminWebhooksPage/>
                    <Route path=path!("admin/api-keys") view=pages::admin::api_keys::AdminApiKeysPage/>
                    <Route path=path!("admin/sync") view=pages::admin::sync::AdminSyncPage/>
                    <Route path=path!("admin/audit") view=pages::admin::audit::AdminAuditPage/>
                    <Route path=path!("admin/sync/runs/:id") view=pages::admin::sync::AdminSyncRunPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
